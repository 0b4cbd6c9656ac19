/* SPDX-License-Identifier: MIT */
/* Allowlist parsing: every entry form, IPv4-mapped IPv6, the loopback and
 * metadata openings, host names through a stub resolver (and "localhost"
 * through the real one, which reads /etc/hosts), bad entries with their
 * exact errors, --print-profile formatting. No network traffic. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/egress.h"
#include "shared/macro.h"
#include "check-run.h"

static EgressPlan parse_ok(const char *entry)
{
	char *l[] = {(char *) entry, NULL};
	EgressPlan p = {};
	char *bad = NULL;
	int r = egress_plan_parse(l, &p, &bad);

	ck_assert_msg(r == 0, "'%s': %d (%s)", entry, r, r < 0 ? egress_plan_why(r) : "");
	ck_assert_ptr_null(bad);
	return p;
}

static void assert_rule(const EgressRule *r, int family, const char *addr, unsigned prefixlen, unsigned port,
			unsigned flags)
{
	uint8_t a[16] = {};

	ck_assert_int_eq(inet_pton(family, addr, a), 1);
	ck_assert_int_eq(r->family, family);
	ck_assert_mem_eq(r->addr, a, 16);
	ck_assert_uint_eq(r->prefixlen, prefixlen);
	ck_assert_uint_eq(r->port, port);
	ck_assert_uint_eq(r->flags, flags);
}

static void check_one(const char *entry, int family, const char *addr, unsigned prefixlen, unsigned port,
		      unsigned flags)
{
	_cleanup_egress_plan_done_ EgressPlan p = parse_ok(entry);

	ck_assert_uint_eq(p.n_rules, 1);
	assert_rule(&p.rules[0], family, addr, prefixlen, port, flags);
	ck_assert_str_eq(p.rules[0].source, entry);
	ck_assert(p.allow_loopback == !!(flags & EGRESS_OPENS_LOOPBACK));
	ck_assert(p.allow_metadata == !!(flags & EGRESS_OPENS_METADATA));
}

static void check_bad(const char *entry, int want)
{
	char *l[] = {"10.0.0.1:443", (char *) entry, NULL};
	EgressPlan p = {};
	char *bad = NULL;
	int r = egress_plan_parse(l, &p, &bad);

	ck_assert_msg(r == want, "'%s': got %d (%s), want %d", entry, r, strerror(-r), want);
	ck_assert_ptr_nonnull(bad);
	ck_assert_str_eq(bad, entry);
	ck_assert_ptr_null(p.rules);
	free(bad);
}

START_TEST(ipv4_forms)
{
	check_one("198.51.100.7", AF_INET, "198.51.100.7", 32, 0, 0);
	check_one("198.51.100.7:443", AF_INET, "198.51.100.7", 32, 443, 0);
	check_one("198.51.100.7:*", AF_INET, "198.51.100.7", 32, 0, 0);
	check_one("10.0.0.0/8:443", AF_INET, "10.0.0.0", 8, 443, 0);
	check_one("10.1.2.3/8", AF_INET, "10.0.0.0", 8, 0, 0); /* host bits cleared */
	check_one("198.51.100.128/25:65535", AF_INET, "198.51.100.128", 25, 65535, 0);
	check_one("0.0.0.0/0", AF_INET, "0.0.0.0", 0, 0, 0);
	check_one("0.0.0.0/0:1", AF_INET, "0.0.0.0", 0, 1, 0);
}
END_TEST

START_TEST(ipv6_forms)
{
	check_one("[2001:db8::7]:443", AF_INET6, "2001:db8::7", 128, 443, 0);
	check_one("[2001:db8::7]", AF_INET6, "2001:db8::7", 128, 0, 0);
	check_one("[2001:db8::/32]:443", AF_INET6, "2001:db8::", 32, 443, 0);
	check_one("[2001:db8::]/32:443", AF_INET6, "2001:db8::", 32, 443, 0);
	check_one("[2001:db8:ffff::1]/32", AF_INET6, "2001:db8::", 32, 0, 0);
	check_one("2001:db8::7", AF_INET6, "2001:db8::7", 128, 0, 0);
	check_one("2001:db8::/32", AF_INET6, "2001:db8::", 32, 0, 0);
	check_one("[::]/0", AF_INET6, "::", 0, 0, 0);
	check_one("[fd00:6b64::/64]:*", AF_INET6, "fd00:6b64::", 64, 0, 0);
	/* Without brackets there is no port: this is one address. */
	check_one("2001:db8::1:443", AF_INET6, "2001:db8::1:443", 128, 0, 0);
}
END_TEST

START_TEST(v4_mapped)
{
	/* IPv6 spellings of IPv4 are the IPv4 entries, so they match what
	 * connect6 sees for a v4-mapped destination, and what connect4 sees. */
	check_one("[::ffff:198.51.100.7]:443", AF_INET, "198.51.100.7", 32, 443, 0);
	check_one("[::ffff:10.0.0.0/104]", AF_INET, "10.0.0.0", 8, 0, 0);
	check_one("[::ffff:0:0]/96:80", AF_INET, "0.0.0.0", 0, 80, 0);
	check_one("::ffff:169.254.169.254", AF_INET, "169.254.169.254", 32, 0, EGRESS_OPENS_METADATA);
	check_one("[::ffff:127.0.0.1]:8080", AF_INET, "127.0.0.1", 32, 8080, EGRESS_OPENS_LOOPBACK);
	/* A shorter IPv6 prefix stays IPv6 (and never covers IPv4). */
	check_one("[::ffff:0:0/95]", AF_INET6, "::fffe:0:0", 95, 0, 0);
}
END_TEST

START_TEST(explicit_openings)
{
	check_one("127.0.0.1:8080", AF_INET, "127.0.0.1", 32, 8080, EGRESS_OPENS_LOOPBACK);
	check_one("127.0.0.0/8", AF_INET, "127.0.0.0", 8, 0, EGRESS_OPENS_LOOPBACK);
	check_one("0.0.0.0/8", AF_INET, "0.0.0.0", 8, 0, EGRESS_OPENS_LOOPBACK);
	check_one("[::1]:80", AF_INET6, "::1", 128, 80, EGRESS_OPENS_LOOPBACK);
	check_one("169.254.169.254:80", AF_INET, "169.254.169.254", 32, 80, EGRESS_OPENS_METADATA);
	check_one("100.100.100.200", AF_INET, "100.100.100.200", 32, 0, EGRESS_OPENS_METADATA);
	check_one("[fd00:ec2::254]:80", AF_INET6, "fd00:ec2::254", 128, 80, EGRESS_OPENS_METADATA);
	check_one("[64:ff9b::a9fe:a9fe]", AF_INET6, "64:ff9b::a9fe:a9fe", 128, 0, EGRESS_OPENS_METADATA);
	/* Ranges that merely contain them do not open them. */
	check_one("0.0.0.0/0", AF_INET, "0.0.0.0", 0, 0, 0);
	check_one("0.0.0.0/7", AF_INET, "0.0.0.0", 7, 0, 0);
	check_one("169.254.0.0/16", AF_INET, "169.254.0.0", 16, 0, 0);
	check_one("[fd00::/8]", AF_INET6, "fd00::", 8, 0, 0);
	check_one("[::/0]", AF_INET6, "::", 0, 0, 0);
	check_one("[::/127]", AF_INET6, "::", 127, 0, 0);
}
END_TEST

static int stub_resolver(const char *host, EgressAddress **ret, size_t *ret_n)
{
	EgressAddress *a = calloc(2, sizeof(*a));

	ck_assert_ptr_nonnull(a);
	if (strcmp(host, "api.example.com") == 0) {
		a[0].family = AF_INET;
		inet_pton(AF_INET, "198.51.100.7", a[0].addr);
		a[1].family = AF_INET6;
		inet_pton(AF_INET6, "2001:db8::7", a[1].addr);
		*ret_n = 2;
	} else if (strcmp(host, "rebind.example.com") == 0) {
		a[0].family = AF_INET;
		inet_pton(AF_INET, "169.254.169.254", a[0].addr);
		a[1].family = AF_INET6;
		inet_pton(AF_INET6, "::ffff:127.0.0.1", a[1].addr);
		*ret_n = 2;
	} else if (strcmp(host, "flaky.example.com") == 0) {
		free(a);
		return -EAGAIN;
	} else {
		free(a);
		return -ENXIO;
	}
	*ret = a;
	return 0;
}

START_TEST(hosts_stub)
{
	char *l[] = {"api.example.com:443", "rebind.example.com", "api.example.com:443", NULL};
	_cleanup_egress_plan_done_ EgressPlan p = {};
	_cleanup_free_ char *s = NULL;
	char *bad = NULL;

	egress_set_resolver(stub_resolver);
	ck_assert_int_eq(egress_plan_parse(l, &p, &bad), 0);
	ck_assert_uint_eq(p.n_rules, 4); /* the repeated entry adds nothing */
	assert_rule(&p.rules[0], AF_INET, "198.51.100.7", 32, 443, 0);
	assert_rule(&p.rules[1], AF_INET6, "2001:db8::7", 128, 443, 0);
	ck_assert_str_eq(p.rules[1].source, "api.example.com:443");
	/* What a resolver answers never opens metadata or loopback. */
	assert_rule(&p.rules[2], AF_INET, "169.254.169.254", 32, 0, 0);
	assert_rule(&p.rules[3], AF_INET, "127.0.0.1", 32, 0, 0);
	ck_assert(!p.allow_metadata);
	ck_assert(!p.allow_loopback);

	ck_assert_int_eq(egress_plan_format(&p, &s), 0);
	ck_assert_str_eq(s, "api.example.com:443 -> 198.51.100.7/32:443, [2001:db8::7/128]:443\n"
			    "rebind.example.com -> 169.254.169.254/32:* (metadata, stays denied), "
			    "127.0.0.1/32:* (loopback, stays denied)\n");

	check_bad("nonexistent.example.com:443", -ENXIO);
	check_bad("flaky.example.com", -EAGAIN);
	egress_set_resolver(NULL);
}
END_TEST

START_TEST(localhost_real_resolver)
{
	/* glibc answers "localhost" from /etc/hosts (or its built-in rule): no traffic. */
	_cleanup_egress_plan_done_ EgressPlan p = parse_ok("localhost:8080");
	bool saw_v4 = false;

	ck_assert_uint_ge(p.n_rules, 1);
	for (size_t i = 0; i < p.n_rules; i++) {
		ck_assert_uint_eq(p.rules[i].port, 8080);
		ck_assert_uint_eq(p.rules[i].flags, EGRESS_OPENS_LOOPBACK);
		if (p.rules[i].family == AF_INET) {
			assert_rule(&p.rules[i], AF_INET, "127.0.0.1", 32, 8080, EGRESS_OPENS_LOOPBACK);
			saw_v4 = true;
		}
	}
	ck_assert(saw_v4);
	ck_assert(p.allow_loopback);
	ck_assert(!p.allow_metadata);
}
END_TEST

START_TEST(bad_entries)
{
	egress_set_resolver(stub_resolver);
	check_bad("", -EINVAL);
	check_bad(":443", -EINVAL);
	check_bad("10.0.0.1:", -EINVAL);
	check_bad("10.0.0.1:0", -EDOM);
	check_bad("10.0.0.1:65536", -EDOM);
	check_bad("10.0.0.1:99999999", -EDOM);
	check_bad("10.0.0.1:http", -EDOM);
	check_bad("10.0.0.1:-1", -EDOM);
	check_bad("10.0.0.0/33", -ERANGE);
	check_bad("10.0.0.0/", -EINVAL);
	check_bad("10.0.0.0/x", -EINVAL);
	check_bad("10.0.0.0/08", -EINVAL);
	check_bad("10.0.0.0/8/8", -EINVAL);
	check_bad("300.1.1.1", -EINVAL);
	check_bad("10.1", -EINVAL); /* never "10.0.0.1" the way inet_aton reads it */
	check_bad("010.0.0.1", -EINVAL);
	check_bad("example.com/24", -EINVAL);
	check_bad("[2001:db8::1", -EINVAL);
	check_bad("[2001:db8::1]x", -EINVAL);
	check_bad("[2001:db8::1]:", -EINVAL);
	check_bad("[2001:db8::1]:0", -EDOM);
	check_bad("[2001:db8::/129]", -ERANGE);
	check_bad("[2001:db8::]/129:80", -ERANGE);
	check_bad("[2001:db8::/32]/32", -EINVAL);
	check_bad("[198.51.100.7]:443", -EINVAL);
	check_bad("[fe80::1%eth0]:443", -EINVAL);
	check_bad("2001:db8::zz", -EINVAL);
	check_bad("*.pythonhosted.org:443", -EOPNOTSUPP);
	check_bad("bad host:443", -EINVAL);
	check_bad("bad..host", -EINVAL);
	check_bad("host_with_a_very_long_label_that_goes_on_and_on_past_sixty_three_chars.example", -EINVAL);
	check_bad("nonexistent.example.com", -ENXIO);
	egress_set_resolver(NULL);

	ck_assert_str_eq(egress_plan_why(-EDOM), "port must be 1-65535 or '*'");
	ck_assert_str_eq(egress_plan_why(-ERANGE), "prefix length must be 0-32 for IPv4 and 0-128 for IPv6");
}
END_TEST

START_TEST(dedupe_and_empty)
{
	char *l[] = {"10.0.0.1", "10.0.0.1/32", "[::ffff:10.0.0.1]", "10.0.0.1:80", NULL};
	_cleanup_egress_plan_done_ EgressPlan p = {}, e = {};
	_cleanup_free_ char *s = NULL, *se = NULL;

	ck_assert_int_eq(egress_plan_parse(l, &p, NULL), 0);
	ck_assert_uint_eq(p.n_rules, 2);
	ck_assert_int_eq(egress_plan_format(&p, &s), 0);
	ck_assert_str_eq(s, "10.0.0.1 -> 10.0.0.1/32:*\n10.0.0.1:80 -> 10.0.0.1/32:80\n");

	ck_assert_int_eq(egress_plan_parse(NULL, &e, NULL), 0);
	ck_assert_uint_eq(e.n_rules, 0);
	ck_assert_int_eq(egress_plan_format(&e, &se), 0);
	ck_assert_str_eq(se, "(nothing: every destination denied)\n");
}
END_TEST

START_TEST(format_openings)
{
	char *l[] = {"127.0.0.1:8080", "169.254.169.254:80", "[fd00:6b64::/64]", NULL};
	_cleanup_egress_plan_done_ EgressPlan p = {};
	_cleanup_free_ char *s = NULL;

	ck_assert_int_eq(egress_plan_parse(l, &p, NULL), 0);
	ck_assert_int_eq(egress_plan_format(&p, &s), 0);
	ck_assert_str_eq(s, "127.0.0.1:8080 -> 127.0.0.1/32:8080 (opens loopback)\n"
			    "169.254.169.254:80 -> 169.254.169.254/32:80 (opens metadata)\n"
			    "[fd00:6b64::/64] -> [fd00:6b64::/64]:*\n");
}
END_TEST

START_TEST(format_roundtrip)
{
	/* What --print-profile shows parses back to the same rules. */
	char *l[] = {"10.1.2.3/8:443", "[2001:db8::1]/48", "[::ffff:198.51.100.7]:53", NULL};
	const char *shown[] = {"10.0.0.0/8:443", "[2001:db8::/48]:*", "198.51.100.7/32:53"};
	_cleanup_egress_plan_done_ EgressPlan p = {};

	ck_assert_int_eq(egress_plan_parse(l, &p, NULL), 0);
	ck_assert_uint_eq(p.n_rules, 3);
	for (size_t i = 0; i < 3; i++) {
		_cleanup_egress_plan_done_ EgressPlan q = parse_ok(shown[i]);
		ck_assert_uint_eq(q.n_rules, 1);
		ck_assert_int_eq(q.rules[0].family, p.rules[i].family);
		ck_assert_mem_eq(q.rules[0].addr, p.rules[i].addr, 16);
		ck_assert_uint_eq(q.rules[0].prefixlen, p.rules[i].prefixlen);
		ck_assert_uint_eq(q.rules[0].port, p.rules[i].port);
	}
}
END_TEST

START_TEST(event_format)
{
	EgressEvent ev = {.allowed = false,
			  .family = AF_INET,
			  .port = 80,
			  .proto = IPPROTO_TCP,
			  .hook = "connect4",
			  .reason = "metadata",
			  .pid = 42};
	_cleanup_free_ char *s = NULL, *s6 = NULL;

	inet_pton(AF_INET, "169.254.169.254", ev.addr);
	ck_assert_int_eq(egress_event_format(&ev, &s), 0);
	ck_assert_str_eq(s, "deny connect4 tcp 169.254.169.254:80 metadata pid 42");

	ev = (EgressEvent){.allowed = true,
			   .family = AF_INET6,
			   .port = 53,
			   .proto = IPPROTO_UDP,
			   .hook = "sendmsg6",
			   .reason = "rule",
			   .pid = 7};
	inet_pton(AF_INET6, "::ffff:198.51.100.1", ev.addr);
	ck_assert_int_eq(egress_event_format(&ev, &s6), 0);
	ck_assert_str_eq(s6, "allow sendmsg6 udp [::ffff:198.51.100.1]:53 rule pid 7");
}
END_TEST

START_TEST(without_bpf_fails_closed)
{
	/* Built without BPF, the feature refuses with a reason. */
	if (egress_supported())
		return;
	char *why = NULL;
	Egress *e = NULL;
	EgressPlan p = {};
	ck_assert_int_eq(egress_probe(&why), -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(why, "without eBPF support"));
	ck_assert_int_eq(egress_attach(&p, 0, 0, &e), -EOPNOTSUPP);
	ck_assert_ptr_null(e);
	free(why);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("egress");
	TCase *tc = tcase_create("plan");
	SRunner *sr;

	tcase_add_test(tc, ipv4_forms);
	tcase_add_test(tc, ipv6_forms);
	tcase_add_test(tc, v4_mapped);
	tcase_add_test(tc, explicit_openings);
	tcase_add_test(tc, hosts_stub);
	tcase_add_test(tc, localhost_real_resolver);
	tcase_add_test(tc, bad_entries);
	tcase_add_test(tc, dedupe_and_empty);
	tcase_add_test(tc, format_openings);
	tcase_add_test(tc, format_roundtrip);
	tcase_add_test(tc, event_format);
	tcase_add_test(tc, without_bpf_fails_closed);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	return check_run(sr);
}
