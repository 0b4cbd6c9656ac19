/* SPDX-License-Identifier: MIT */
/* The egress allowlist: entry parsing, and the loader of the BPF programs
 * (libbpf-bootstrap sequence: open → set rodata → load → fill map → attach →
 * ring buffer → consume → destroy). See egress.h. */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/egress.h"
#include "shared/fileio.h"
#include "shared/macro.h"

/* A bound on the rules (and so on the LPM trie's size). */
#define MAX_RULES 65536

#if HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/egress-event.h"
#include "bpf/egress.skel.h"
#endif

/* ---- addresses ---------------------------------------------------------- */

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
static const uint8_t nat64_prefix[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
static const uint8_t ec2_metadata6[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};

static void mask_addr(uint8_t *a, unsigned bytes, unsigned prefixlen)
{
	for (unsigned i = 0; i < bytes; i++) {
		unsigned bits = prefixlen > i * 8 ? prefixlen - i * 8 : 0;
		if (bits < 8)
			a[i] &= (uint8_t) (0xff00u >> bits);
	}
}

/* What an IPv4 range (a, prefixlen) lies inside, as EGRESS_OPENS_* bits. */
static unsigned special4(const uint8_t a[4], unsigned prefixlen)
{
	static const uint8_t metadata[][4] = {{169, 254, 169, 254}, {100, 100, 100, 200}};

	if (prefixlen >= 8 && (a[0] == 127 || a[0] == 0))
		return EGRESS_OPENS_LOOPBACK;
	for (size_t i = 0; i < ARRAY_SIZE(metadata); i++)
		if (prefixlen == 32 && memcmp(a, metadata[i], 4) == 0)
			return EGRESS_OPENS_METADATA;
	return 0;
}

static unsigned special6(const uint8_t a[16], unsigned prefixlen)
{
	static const uint8_t zero[16] = {};

	if (prefixlen == 128 && memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1))
		return EGRESS_OPENS_LOOPBACK;
	if (prefixlen == 128 && memcmp(a, ec2_metadata6, 16) == 0)
		return EGRESS_OPENS_METADATA;
	if (prefixlen >= 96 && memcmp(a, nat64_prefix, 12) == 0)
		return special4(a + 12, prefixlen - 96);
	return 0;
}

static unsigned rule_special(const EgressRule *r)
{
	return r->family == AF_INET ? special4(r->addr, r->prefixlen) : special6(r->addr, r->prefixlen);
}

/* ---- parsing ------------------------------------------------------------ */

static int resolve_getaddrinfo(const char *host, EgressAddress **ret, size_t *ret_n)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	_cleanup_free_ EgressAddress *list = NULL;
	size_t n = 0;
	int r;

	r = getaddrinfo(host, NULL, &hints, &res);
	switch (r) {
	case 0:
		break;
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
	case EAI_ADDRFAMILY:
#endif
		return -ENXIO;
	case EAI_AGAIN:
		return -EAGAIN;
	case EAI_MEMORY:
		return -ENOMEM;
	case EAI_SYSTEM:
		return negative_errno();
	default:
		return -EIO;
	}

	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		EgressAddress *l;

		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		l = reallocarray(list, n + 1, sizeof(*list));
		if (!l) {
			freeaddrinfo(res);
			return -ENOMEM;
		}
		list = l;
		list[n] = (EgressAddress){.family = ai->ai_family};
		if (ai->ai_family == AF_INET)
			memcpy(list[n].addr, &((struct sockaddr_in *) ai->ai_addr)->sin_addr, 4);
		else
			memcpy(list[n].addr, &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr, 16);
		n++;
	}
	freeaddrinfo(res);
	if (n == 0)
		return -ENXIO;
	*ret = TAKE_PTR(list);
	*ret_n = n;
	return 0;
}

static EgressResolver resolver = resolve_getaddrinfo;

void egress_set_resolver(EgressResolver fn)
{
	resolver = fn ?: resolve_getaddrinfo;
}

const char *egress_plan_why(int r)
{
	switch (r) {
	case -EINVAL:
		return "expected CIDR[:PORT], IP[:PORT], [IPv6][:PORT] or HOST[:PORT]";
	case -EDOM:
		return "port must be 1-65535 or '*'";
	case -ERANGE:
		return "prefix length must be 0-32 for IPv4 and 0-128 for IPv6";
	case -EOPNOTSUPP:
		return "wildcard host names work only with net = proxy";
	case -ENXIO:
		return "host name has no address";
	case -EAGAIN:
		return "temporary failure resolving host name";
	case -E2BIG:
		return "too many addresses (at most 65536 rules)";
	case -ENOMEM:
		return "out of memory";
	default:
		return "cannot resolve host name";
	}
}

static int parse_uint(const char *s, size_t len, unsigned max, unsigned *ret)
{
	unsigned v = 0;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char) s[i]))
			return -EINVAL;
		v = v * 10 + (unsigned) (s[i] - '0');
	}
	if (len > 1 && s[0] == '0')
		return -EINVAL; /* no octal-looking or padded numbers */
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

static int parse_port(const char *s, uint16_t *ret)
{
	unsigned v;
	int r;

	if (!s) {
		*ret = 0;
		return 0;
	}
	if (streq(s, "*")) {
		*ret = 0;
		return 0;
	}
	if (isempty(s))
		return -EINVAL;
	r = parse_uint(s, strlen(s), 65535, &v);
	if (r == -EINVAL && strspn(s, "0123456789") != strlen(s))
		return -EDOM;
	if (r < 0 || v == 0)
		return -EDOM;
	*ret = (uint16_t) v;
	return 0;
}

/* "ADDR[/LEN]" of the given family (no brackets, no port). */
static int parse_cidr(const char *s, size_t len, int family, EgressRule *ret)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	unsigned max = family == AF_INET ? 32 : 128, prefixlen = max;
	EgressRule r = {.family = family};
	int k;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = 0;
	slash = strchr(buf, '/');
	if (slash) {
		k = parse_uint(slash + 1, strlen(slash + 1), max, &prefixlen);
		if (k < 0)
			return k;
		buf[slash - buf] = 0;
	}
	if (inet_pton(family, buf, r.addr) != 1)
		return -EINVAL;

	/* An IPv6 spelling of IPv4 is that IPv4 entry. */
	if (family == AF_INET6 && prefixlen >= 96 && memcmp(r.addr, v4_mapped_prefix, 12) == 0) {
		memmove(r.addr, r.addr + 12, 4);
		memset(r.addr + 4, 0, 12);
		r.family = AF_INET;
		prefixlen -= 96;
	}
	r.prefixlen = (uint8_t) prefixlen;
	mask_addr(r.addr, r.family == AF_INET ? 4 : 16, prefixlen);
	*ret = r;
	return 0;
}

static bool is_hostname(const char *s)
{
	size_t label = 0, n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char) *p) && *p != '-' && *p != '_')
			return false;
		if (++label > 63)
			return false;
	}
	/* All digits and dots is a malformed IPv4 address, never a name:
	 * getaddrinfo would read "10.1" as 10.0.0.1. */
	return strspn(s, "0123456789.") != n;
}

static bool is_localhost(const char *host)
{
	size_t n = strlen(host);

	if (n > 0 && host[n - 1] == '.')
		n--;
	if (n == 9 && strncasecmp(host, "localhost", 9) == 0)
		return true;
	return n > 10 && strncasecmp(host + n - 10, ".localhost", 10) == 0;
}

static bool rule_same(const EgressRule *a, const EgressRule *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen && a->port == b->port &&
	       memcmp(a->addr, b->addr, 16) == 0;
}

static int plan_add(EgressPlan *p, const EgressRule *r, const char *source)
{
	EgressRule *l;

	for (size_t i = 0; i < p->n_rules; i++)
		if (rule_same(&p->rules[i], r))
			return 0;
	if (p->n_rules >= MAX_RULES)
		return -E2BIG;
	l = reallocarray(p->rules, p->n_rules + 1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	p->rules = l;
	p->rules[p->n_rules] = *r;
	p->rules[p->n_rules].source = strdup(source);
	if (!p->rules[p->n_rules].source)
		return -ENOMEM;
	p->n_rules++;
	if (r->flags & EGRESS_OPENS_LOOPBACK)
		p->allow_loopback = true;
	if (r->flags & EGRESS_OPENS_METADATA)
		p->allow_metadata = true;
	return 0;
}

static int parse_entry(EgressPlan *p, const char *entry)
{
	_cleanup_free_ char *host = NULL;
	const char *port_s = NULL;
	EgressRule rule = {};
	uint16_t port;
	int r;

	if (isempty(entry))
		return -EINVAL;

	if (entry[0] == '[') {
		/* [IPv6], [IPv6/LEN], [IPv6]/LEN, each optionally followed by :PORT */
		const char *close = strchr(entry, ']'), *rest;
		char buf[INET6_ADDRSTRLEN + 8];
		size_t inner;

		if (!close)
			return -EINVAL;
		inner = (size_t) (close - entry - 1);
		rest = close + 1;
		if (*rest == '/') {
			size_t plen = strcspn(rest, ":");
			if (memchr(entry + 1, '/', inner))
				return -EINVAL;
			if (inner + plen >= sizeof(buf))
				return -EINVAL;
			memcpy(buf, entry + 1, inner);
			memcpy(buf + inner, rest, plen);
			inner += plen;
			rest += plen;
		} else {
			if (inner >= sizeof(buf))
				return -EINVAL;
			memcpy(buf, entry + 1, inner);
		}
		buf[inner] = 0;
		if (*rest == ':')
			port_s = rest + 1;
		else if (*rest)
			return -EINVAL;
		r = parse_port(port_s, &port);
		if (r < 0)
			return r;
		r = parse_cidr(buf, inner, AF_INET6, &rule);
		if (r < 0)
			return r;
		rule.port = port;
		rule.flags = rule_special(&rule);
		return plan_add(p, &rule, entry);
	}

	if (strchr(entry, ':') != strrchr(entry, ':')) {
		/* Two or more colons: bare IPv6 address or CIDR, no port. */
		r = parse_cidr(entry, strlen(entry), AF_INET6, &rule);
		if (r < 0)
			return r;
		rule.flags = rule_special(&rule);
		return plan_add(p, &rule, entry);
	}

	port_s = strchr(entry, ':');
	host = port_s ? strndup(entry, (size_t) (port_s - entry)) : strdup(entry);
	if (!host)
		return -ENOMEM;
	if (port_s)
		port_s++;
	r = parse_port(port_s, &port);
	if (r < 0)
		return r;

	if (strchr(host, '/') || strspn(host, "0123456789.") == strlen(host)) {
		r = parse_cidr(host, strlen(host), AF_INET, &rule);
		if (r < 0)
			return r;
		rule.port = port;
		rule.flags = rule_special(&rule);
		return plan_add(p, &rule, entry);
	}

	if (strchr(host, '*'))
		return -EOPNOTSUPP;
	if (!is_hostname(host))
		return -EINVAL;

	{
		_cleanup_free_ EgressAddress *addrs = NULL;
		size_t n = 0;
		bool local = is_localhost(host);

		r = resolver(host, &addrs, &n);
		if (r < 0)
			return r;
		for (size_t i = 0; i < n; i++) {
			if (addrs[i].family == AF_INET6 && memcmp(addrs[i].addr, v4_mapped_prefix, 12) == 0) {
				rule = (EgressRule){.family = AF_INET, .prefixlen = 32};
				memcpy(rule.addr, addrs[i].addr + 12, 4);
			} else if (addrs[i].family == AF_INET || addrs[i].family == AF_INET6) {
				rule = (EgressRule){.family = addrs[i].family};
				rule.prefixlen = addrs[i].family == AF_INET ? 32 : 128;
				memcpy(rule.addr, addrs[i].addr, addrs[i].family == AF_INET ? 4 : 16);
			} else
				continue;
			rule.port = port;
			/* A name opens loopback only if it is "localhost", and
			 * never a metadata address: what a resolver answers
			 * must not open them (DNS rebinding). */
			rule.flags = local ? (rule_special(&rule) & EGRESS_OPENS_LOOPBACK) : 0;
			r = plan_add(p, &rule, entry);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

void egress_plan_done(EgressPlan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_rules; i++)
		free(p->rules[i].source);
	free(p->rules);
	*p = (EgressPlan){};
}

int egress_plan_parse(char *const *allow, EgressPlan *ret, char **ret_bad_entry)
{
	_cleanup_egress_plan_done_ EgressPlan p = {};
	int r;

	for (char *const *e = allow; e && *e; e++) {
		r = parse_entry(&p, *e);
		if (r < 0) {
			if (ret_bad_entry) {
				char *b = strdup(*e);
				if (!b)
					return -ENOMEM;
				*ret_bad_entry = b;
			}
			return r;
		}
	}
	*ret = p;
	p = (EgressPlan){};
	return 0;
}

/* ---- formatting --------------------------------------------------------- */

static int format_rule(FILE *f, const EgressRule *r)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(r->family, r->addr, a, sizeof(a)))
		return negative_errno();
	if (r->family == AF_INET)
		fprintf(f, "%s/%u", a, r->prefixlen);
	else
		fprintf(f, "[%s/%u]", a, r->prefixlen);
	if (r->port)
		fprintf(f, ":%u", r->port);
	else
		fputs(":*", f);
	return 0;
}

int egress_plan_format(const EgressPlan *p, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0;
	FILE *f;
	int r = 0;

	f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	if (p->n_rules == 0)
		fputs("(nothing: every destination denied)\n", f);
	for (size_t i = 0; i < p->n_rules; i++) {
		const EgressRule *rule = &p->rules[i];
		unsigned sp = rule_special(rule);

		if (i == 0 || !streq(p->rules[i - 1].source, rule->source))
			fprintf(f, "%s -> ", rule->source);
		else
			fputs(", ", f);
		r = format_rule(f, rule);
		if (r < 0)
			break;
		if (rule->flags & EGRESS_OPENS_LOOPBACK)
			fputs(" (opens loopback)", f);
		else if (rule->flags & EGRESS_OPENS_METADATA)
			fputs(" (opens metadata)", f);
		else if (sp & EGRESS_OPENS_LOOPBACK)
			fputs(" (loopback, stays denied)", f);
		else if (sp & EGRESS_OPENS_METADATA)
			fputs(" (metadata, stays denied)", f);
		if (i + 1 == p->n_rules || !streq(p->rules[i + 1].source, rule->source))
			fputc('\n', f);
	}
	if (fclose(f) != 0 && r >= 0)
		r = -ENOMEM;
	if (r < 0)
		return r;
	*ret = TAKE_PTR(buf);
	return 0;
}

int egress_event_format(const EgressEvent *ev, char **ret)
{
	char a[INET6_ADDRSTRLEN] = "?";
	const char *proto;
	char protobuf[16];
	char *s;
	int n;

	if (ev->family == AF_INET || ev->family == AF_INET6)
		(void) inet_ntop(ev->family, ev->addr, a, sizeof(a));
	switch (ev->proto) {
	case IPPROTO_TCP:
		proto = "tcp";
		break;
	case IPPROTO_UDP:
		proto = "udp";
		break;
	case IPPROTO_ICMP:
		proto = "icmp";
		break;
	case IPPROTO_ICMPV6:
		proto = "icmpv6";
		break;
	default:
		snprintf(protobuf, sizeof(protobuf), "proto-%d", ev->proto);
		proto = protobuf;
	}
	if (ev->family == AF_INET6)
		n = asprintf(&s, "%s %s %s [%s]:%u %s pid %u", ev->allowed ? "allow" : "deny", ev->hook, proto, a,
			     ev->port, ev->reason, ev->pid);
	else
		n = asprintf(&s, "%s %s %s %s:%u %s pid %u", ev->allowed ? "allow" : "deny", ev->hook, proto, a,
			     ev->port, ev->reason, ev->pid);
	if (n < 0)
		return -ENOMEM;
	*ret = s;
	return 0;
}

/* ---- the programs ------------------------------------------------------- */

#if HAVE_BPF

struct Egress {
	struct egress_bpf *skel;
	struct bpf_link *links[7];
	struct ring_buffer *rb;
	void (*cb)(const EgressEvent *ev, void *userdata);
	void *userdata;
	unsigned n_consumed;
};

static const char *const hook_names[_EGRESS_HOOK_MAX] = {
    [EGRESS_HOOK_CONNECT4] = "connect4", [EGRESS_HOOK_CONNECT6] = "connect6", [EGRESS_HOOK_SENDMSG4] = "sendmsg4",
    [EGRESS_HOOK_SENDMSG6] = "sendmsg6", [EGRESS_HOOK_BIND4] = "bind4",	      [EGRESS_HOOK_BIND6] = "bind6",
    [EGRESS_HOOK_SKB] = "skb",
};

static const char *const reason_names[_EGRESS_REASON_MAX] = {
    [EGRESS_REASON_RULE] = "rule",	   [EGRESS_REASON_NO_RULE] = "no-rule",
    [EGRESS_REASON_LOOPBACK] = "loopback", [EGRESS_REASON_METADATA] = "metadata",
    [EGRESS_REASON_BIND] = "bind",	   [EGRESS_REASON_RAW] = "raw",
    [EGRESS_REASON_DENY_ALL] = "deny-all", [EGRESS_REASON_OWN_NETNS] = "own-netns",
};

/* libbpf's messages: library code never logs, but the last warning is kept
 * to explain an unexpected load failure (a verifier complaint on an older
 * kernel, say). */
static char libbpf_last[512];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN) {
		char line[sizeof(libbpf_last)];
		size_t n;

		(void) vsnprintf(line, sizeof(line), fmt, ap);
		n = strlen(line);
		while (n > 0 && line[n - 1] == '\n')
			line[--n] = 0;
		if (n > 0)
			memcpy(libbpf_last, line, n + 1);
	}
	return 0;
}

static void libbpf_quiet(void)
{
	static bool done = false;
	if (!done) {
		(void) libbpf_set_print(libbpf_print);
		done = true;
	}
}

bool egress_supported(void)
{
	return true;
}

static struct egress_bpf *skel_open(unsigned flags, size_t n_rules, int *ret_r)
{
	struct egress_bpf *skel;
	int r;

	libbpf_quiet();
	libbpf_last[0] = 0;
	skel = egress_bpf__open();
	if (!skel) {
		*ret_r = negative_errno();
		return NULL;
	}
	skel->rodata->cfg_flags = (flags & EGRESS_DENY_ALL) ? EGRESS_CFG_DENY_ALL : 0;
	r = bpf_map__set_max_entries(skel->maps.allow, (uint32_t) MAX(n_rules, (size_t) 1));
	if (r >= 0)
		r = egress_bpf__load(skel);
	if (r < 0) {
		egress_bpf__destroy(skel);
		*ret_r = r;
		return NULL;
	}
	return skel;
}

int egress_probe(char **ret_why)
{
	struct egress_bpf *skel;
	char *why;
	int r = 0, k = -1;

	skel = skel_open(0, 1, &r);
	if (skel) {
		egress_bpf__destroy(skel);
		return 0;
	}
	if (r == -EPERM || r == -EACCES) {
		_cleanup_free_ char *s = NULL;
		if (read_full_file("/proc/sys/kernel/unprivileged_bpf_disabled", &s, NULL) >= 0)
			k = atoi(s);
		if (asprintf(&why,
			     "loading the eBPF egress programs needs CAP_BPF and CAP_NET_ADMIN in the initial user "
			     "namespace%s; run kdc-run as root or through the system supervisor, or use net = none or "
			     "net = proxy",
			     k > 0 ? " (kernel.unprivileged_bpf_disabled is set)" : "") < 0)
			return -ENOMEM;
	} else if (asprintf(&why, "cannot load the eBPF egress programs: %s%s%s", strerror(-r),
			    libbpf_last[0] ? ": " : "", libbpf_last) < 0)
		return -ENOMEM;
	if (ret_why)
		*ret_why = why;
	else
		free(why);
	return r;
}

static void rule_key(const EgressRule *rule, struct egress_key *k)
{
	*k = (struct egress_key){
	    .port = htonl(rule->port),
	    .family = htonl(rule->family == AF_INET ? 4 : 6),
	};
	memcpy(k->addr, rule->addr, rule->family == AF_INET ? 4 : 16);
	k->prefixlen = EGRESS_KEY_HEADER_BITS + rule->prefixlen;
}

static int handle_event(void *ctx, void *data, size_t size)
{
	Egress *e = ctx;
	const struct egress_event *raw = data;
	EgressEvent ev;

	if (size < sizeof(*raw))
		return 0;
	ev = (EgressEvent){
	    .allowed = raw->allowed,
	    .family = raw->family,
	    .port = raw->port,
	    .proto = raw->proto,
	    .hook = raw->hook < _EGRESS_HOOK_MAX && hook_names[raw->hook] ? hook_names[raw->hook] : "?",
	    .reason = raw->reason < _EGRESS_REASON_MAX && reason_names[raw->reason] ? reason_names[raw->reason] : "?",
	    .pid = raw->pid,
	};
	memcpy(ev.addr, raw->addr, 16);
	e->n_consumed++;
	if (e->cb)
		e->cb(&ev, e->userdata);
	return 0;
}

void egress_free(Egress *e)
{
	if (!e)
		return;
	ring_buffer__free(e->rb);
	for (size_t i = 0; i < ARRAY_SIZE(e->links); i++)
		(void) bpf_link__destroy(e->links[i]);
	egress_bpf__destroy(e->skel);
	free(e);
}

int egress_attach(const EgressPlan *p, int cgroup_fd, unsigned flags, Egress **ret)
{
	_cleanup_egress_free_ Egress *e = NULL;
	struct bpf_program *progs[7];
	int map_fd, r;

	if (cgroup_fd < 0)
		return -EBADF;
	if (p->n_rules > MAX_RULES)
		return -E2BIG;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->skel = skel_open(flags, p->n_rules, &r);
	if (!e->skel)
		return r;

	/* Fill the allowlist, then freeze it: from here on nobody, not even
	 * this process, can change it. */
	map_fd = bpf_map__fd(e->skel->maps.allow);
	for (size_t i = 0; i < p->n_rules; i++) {
		struct egress_key k;
		struct egress_value v = {.rule = (uint32_t) i};

		if (p->rules[i].flags & EGRESS_OPENS_LOOPBACK)
			v.flags |= EGRESS_RULE_LOOPBACK;
		if (p->rules[i].flags & EGRESS_OPENS_METADATA)
			v.flags |= EGRESS_RULE_METADATA;
		rule_key(&p->rules[i], &k);
		if (bpf_map_update_elem(map_fd, &k, &v, BPF_ANY) < 0)
			return negative_errno();
	}
	if (bpf_map_freeze(map_fd) < 0)
		return negative_errno();

	e->rb = ring_buffer__new(bpf_map__fd(e->skel->maps.events), handle_event, e, NULL);
	if (!e->rb)
		return negative_errno();

	/* The packet wall first, so that nothing slips between two hooks. */
	progs[0] = e->skel->progs.egress_skb;
	progs[1] = e->skel->progs.connect4;
	progs[2] = e->skel->progs.connect6;
	progs[3] = e->skel->progs.sendmsg4;
	progs[4] = e->skel->progs.sendmsg6;
	progs[5] = e->skel->progs.bind4;
	progs[6] = e->skel->progs.bind6;
	for (size_t i = 0; i < ARRAY_SIZE(progs); i++) {
		e->links[i] = bpf_program__attach_cgroup(progs[i], cgroup_fd);
		if (!e->links[i])
			return negative_errno();
	}

	*ret = TAKE_PTR(e);
	return 0;
}

int egress_event_fd(Egress *e)
{
	return ring_buffer__epoll_fd(e->rb);
}

int egress_consume(Egress *e, void (*cb)(const EgressEvent *ev, void *userdata), void *userdata)
{
	int r;

	e->cb = cb;
	e->userdata = userdata;
	e->n_consumed = 0;
	r = ring_buffer__consume(e->rb);
	e->cb = NULL;
	e->userdata = NULL;
	if (r < 0)
		return r;
	return (int) e->n_consumed;
}

static int stat_sum(Egress *e, uint32_t slot, uint64_t *ret)
{
	int n_cpus = libbpf_num_possible_cpus();
	_cleanup_free_ uint64_t *v = NULL;
	uint64_t sum = 0;

	if (n_cpus <= 0)
		return n_cpus < 0 ? n_cpus : -EIO;
	v = calloc((size_t) n_cpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.stats), &slot, v) < 0)
		return negative_errno();
	for (int i = 0; i < n_cpus; i++)
		sum += v[i];
	*ret = sum;
	return 0;
}

int egress_stats(Egress *e, uint64_t *ret_bytes, uint64_t *ret_allowed, uint64_t *ret_denied)
{
	uint64_t b, a, d;
	int r;

	r = stat_sum(e, EGRESS_STAT_BYTES, &b);
	if (r >= 0)
		r = stat_sum(e, EGRESS_STAT_ALLOWED, &a);
	if (r >= 0)
		r = stat_sum(e, EGRESS_STAT_DENIED, &d);
	if (r < 0)
		return r;
	if (ret_bytes)
		*ret_bytes = b;
	if (ret_allowed)
		*ret_allowed = a;
	if (ret_denied)
		*ret_denied = d;
	return 0;
}

int egress_lost(Egress *e, uint64_t *ret_lost)
{
	return stat_sum(e, EGRESS_STAT_LOST, ret_lost);
}

#else /* !HAVE_BPF: the feature refuses, so that filtered mode fails closed. */

struct Egress {
	int unused;
};

bool egress_supported(void)
{
	return false;
}

int egress_probe(char **ret_why)
{
	if (ret_why) {
		char *why = strdup("kdc was built without eBPF support; rebuild with clang, bpftool and libbpf-dev "
				   "installed (./configure --enable-bpf=yes), or use net = none or net = proxy");
		if (!why)
			return -ENOMEM;
		*ret_why = why;
	}
	return -EOPNOTSUPP;
}

int egress_attach(const EgressPlan *p, int cgroup_fd, unsigned flags, Egress **ret)
{
	return -EOPNOTSUPP;
}

int egress_event_fd(Egress *e)
{
	return -EOPNOTSUPP;
}

int egress_consume(Egress *e, void (*cb)(const EgressEvent *ev, void *userdata), void *userdata)
{
	return -EOPNOTSUPP;
}

int egress_stats(Egress *e, uint64_t *ret_bytes, uint64_t *ret_allowed, uint64_t *ret_denied)
{
	return -EOPNOTSUPP;
}

int egress_lost(Egress *e, uint64_t *ret_lost)
{
	return -EOPNOTSUPP;
}

void egress_free(Egress *e)
{
	free(e);
}

#endif
