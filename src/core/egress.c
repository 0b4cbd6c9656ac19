/* SPDX-License-Identifier: MIT */
/* The egress allowlist: entry parsing, and the loader of the BPF programs.
 * See egress.h.
 *
 * Two ways to run the same programs (src/bpf/egress.bpf.c):
 *   shared   one instance on the system kdc.slice, installed by the first
 *            run (open → set rodata → load → attach with BPF_F_ALLOW_MULTI,
 *            legacy attach, so it outlives us) and found by later runs
 *            (BPF_PROG_QUERY → program info → map ids); a session is an
 *            entry in its maps: ring buffer, frozen allowlist, flags
 *   private  the fallback: an instance for one session, attached to its
 *            cgroup through fd-owned links, holding that session alone
 * Either way the session is registered (session_register) before the
 * agent runs, and read (ring buffer, per-CPU counters) by its caller only. */

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
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/egress-event.h"
#include "bpf/egress.id.h"
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

/* Which hooks, in attach order: the packet wall first, so that nothing
 * slips between two hooks. */
#define N_PROGS 7

/* An instance's maps, by fd. */
typedef struct EgressMaps {
	int sessions_fd, allowlists_fd, rings_fd, owners_fd, ids_fd;
} EgressMaps;

#define EGRESS_MAPS_INIT                                                                                 \
	{                                                                                                \
		.sessions_fd = -EBADF, .allowlists_fd = -EBADF, .rings_fd = -EBADF, .owners_fd = -EBADF, \
		.ids_fd = -EBADF                                                                         \
	}

static void egress_maps_close(EgressMaps *m)
{
	m->sessions_fd = safe_close(m->sessions_fd);
	m->allowlists_fd = safe_close(m->allowlists_fd);
	m->rings_fd = safe_close(m->rings_fd);
	m->owners_fd = safe_close(m->owners_fd);
	m->ids_fd = safe_close(m->ids_fd);
}

struct Egress {
	struct egress_bpf *skel; /* private instance; NULL when shared */
	struct bpf_link *links[N_PROGS];
	EgressMaps maps; /* the instance's */
	int ring_fd;	 /* this session's ring buffer (from the pool) */
	int cgroup_fd;	 /* the session cgroup */
	uint64_t id;	 /* its cgroup id, the key of the session maps */
	uint64_t slot;	 /* its slot in the ring pool, if slot_held */
	bool shared, registered, slot_held, has_allowlist;
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

/* private_id != 0: a private instance for that session cgroup (every map
 * holds one session); 0: the shared instance for a kdc.slice at slice_level. */
static struct egress_bpf *skel_open(uint64_t private_id, unsigned slice_level, int *ret_r)
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
	skel->rodata->cfg_private_id = private_id;
	skel->rodata->cfg_slice_level = slice_level;
	r = 0;
	if (private_id) {
		r = bpf_map__set_max_entries(skel->maps.sessions, 1);
		if (r >= 0)
			r = bpf_map__set_max_entries(skel->maps.allowlists, 1);
		if (r >= 0)
			r = bpf_map__set_max_entries(skel->maps.rings, 1);
		if (r >= 0)
			r = bpf_map__set_max_entries(skel->maps.ring_owners, 1);
	}
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

	skel = skel_open(1, 0, &r);
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

	/* A ring from the pool may still hold what an earlier session, whose
	 * kdc-run was killed, did not read: not ours. */
	if (size < sizeof(*raw) || raw->session != e->id)
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

/* ---- cgroups, by id ----------------------------------------------------- */

#define FILEID_KERNFS 0xfe /* <linux/exportfs.h>, not UAPI: the handle of a cgroup2 directory */

typedef struct CgroupHandle {
	struct file_handle fh;
	uint64_t id;
} CgroupHandle;

/* The cgroup id of a cgroup2 directory: what bpf_get_current_cgroup_id()
 * says for the processes inside it. */
static int cgroup_id_of(int fd, uint64_t *ret)
{
	CgroupHandle h = {.fh.handle_bytes = sizeof(uint64_t)};
	int mnt_id;

	if (name_to_handle_at(fd, "", &h.fh, &mnt_id, AT_EMPTY_PATH) < 0)
		return negative_errno();
	if (h.fh.handle_type != FILEID_KERNFS || h.fh.handle_bytes != sizeof(uint64_t))
		return -EMEDIUMTYPE;
	memcpy(ret, h.fh.f_handle, sizeof(uint64_t));
	return 0;
}

/* 1 when the cgroup with this id still exists, 0 when it is gone (cgroup
 * ids are never reused), else -errno. mount_fd: any fd on the cgroup2 mount. */
static int cgroup_id_exists(int mount_fd, uint64_t id)
{
	CgroupHandle h = {.fh.handle_bytes = sizeof(uint64_t), .fh.handle_type = FILEID_KERNFS};
	int fd;

	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(mount_fd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void) close(fd);
		return 1;
	}
	return errno == ESTALE || errno == ENOENT ? 0 : negative_errno();
}

/* The level of a cgroup directory below the cgroup2 root (root = 0): what
 * bpf_get_current_ancestor_cgroup_id() counts. -EXDEV when the mount's root
 * is not the hierarchy's root (a cgroup namespace's mount). */
static int cgroup_level_of(int fd, unsigned *ret)
{
	_cleanup_close_ int cur = openat(fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	unsigned level = 0;

	if (cur < 0)
		return negative_errno();
	for (;;) {
		struct stat self, up;
		int next;

		if (fstat(cur, &self) < 0 || fstatat(cur, "..", &up, 0) < 0)
			return negative_errno();
		if (up.st_dev != self.st_dev || self.st_ino == up.st_ino)
			break; /* the mount's root */
		if (++level > 4096)
			return -ELOOP;
		next = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (next < 0)
			return negative_errno();
		(void) close(cur);
		cur = next;
	}
	{
		uint64_t root_id;
		int r = cgroup_id_of(cur, &root_id);
		if (r < 0)
			return r;
		if (root_id != 1) /* the root cgroup's id */
			return -EXDEV;
	}
	*ret = level;
	return 0;
}

/* Whether the cgroup still holds processes ("populated 1" in cgroup.events);
 * a removed cgroup holds none. When unsure, populated. */
static bool cgroup_populated(int fd, uint64_t id)
{
	uint64_t v = 1;

	if (read_keyed_u64_at(fd, "cgroup.events", "populated", &v) < 0)
		return cgroup_id_exists(fd, id) != 0;
	return v != 0;
}

/* ---- a session in an instance's maps ------------------------------------ */

/* A zeroed value of the per-CPU sessions map: one entry per possible CPU. */
static int session_values(struct egress_session **ret, int *ret_n)
{
	int n_cpus = libbpf_num_possible_cpus();

	if (n_cpus <= 0)
		return n_cpus < 0 ? n_cpus : -EIO;
	*ret = calloc((size_t) n_cpus, sizeof(**ret));
	if (!*ret)
		return -ENOMEM;
	*ret_n = n_cpus;
	return 0;
}

/* Writes the session's flags and ring slot on every CPU (and zeroes its
 * counters). */
static int session_write(int sessions_fd, uint64_t id, uint32_t flags, uint64_t slot, uint64_t map_flags)
{
	_cleanup_free_ struct egress_session *v = NULL;
	int n_cpus, r;

	r = session_values(&v, &n_cpus);
	if (r < 0)
		return r;
	for (int i = 0; i < n_cpus; i++) {
		v[i].flags = flags;
		v[i].ring = (uint32_t) slot;
	}
	if (bpf_map_update_elem(sessions_fd, &id, v, map_flags) < 0)
		return negative_errno();
	return 0;
}

/* Gives a slot of the ring pool back, if the session still holds it. Its
 * ring stays for the next session in the pool's lower slots; one in a higher
 * slot goes (taking it out waits for an RCU grace period on older kernels).
 * Only the holder or, once the holder's cgroup is gone, the sweep give a
 * slot back; the programs write into a ring only for the slot's holder, and
 * the reader keeps only its own session's events, so a slot handed on twice
 * by two racing sweeps can lose events but never mix them up. */
static void slot_release(const EgressMaps *m, uint64_t slot, uint64_t id)
{
	uint64_t owner;

	if (bpf_map_lookup_elem(m->owners_fd, &slot, &owner) < 0 || owner != id)
		return;
	if (slot >= EGRESS_RING_POOL)
		(void) bpf_map_delete_elem(m->rings_fd, &slot);
	(void) bpf_map_delete_elem(m->owners_fd, &slot);
}

/* allowlist: whether the session may have one (false only when it is known
 * to have none: a delete from a map of maps waits for an RCU grace period on
 * kernels before 6.9 even when there is nothing to delete). */
static void session_forget(const EgressMaps *m, uint64_t id, bool allowlist, const uint64_t *slot)
{
	/* The reverse order of session_register(): the slot last, so that
	 * the sweep (which walks the slots' holders) sees every half-removed
	 * session. */
	(void) bpf_map_delete_elem(m->sessions_fd, &id);
	if (allowlist)
		(void) bpf_map_delete_elem(m->allowlists_fd, &id);
	if (slot)
		slot_release(m, *slot, id);
}

/* Forgets the sessions whose cgroup no longer exists: left by a kdc-run that
 * was killed before it could unregister. Cheap: every live session holds a
 * slot of the ring pool, and the pool holds the live sessions only. */
static void sweep(int mount_fd, const EgressMaps *m)
{
	uint64_t key, next, owner, gone[64][2];
	size_t n = 0;
	void *prev = NULL;

	while (n < ARRAY_SIZE(gone) && bpf_map_get_next_key(m->owners_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(m->owners_fd, &key, &owner) >= 0 && cgroup_id_exists(mount_fd, owner) == 0) {
			gone[n][0] = key;
			gone[n++][1] = owner;
		}
	}
	for (size_t i = 0; i < n; i++)
		session_forget(m, gone[i][1], true, &gone[i][0]);
}

/* A session's own maps, made with the bare BPF_MAP_CREATE command:
 * libbpf's bpf_map_create() first loads a probe program in every new
 * process (to decide whether to raise RLIMIT_MEMLOCK, which kernels with
 * memcg accounting, 5.11 on, ignore): 0.5 ms or more per run, the JIT and
 * the program's RCU-deferred free included, for a map that needs one
 * system call. */
static int session_map_create(enum bpf_map_type type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
			      uint32_t map_flags)
{
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = type;
	attr.key_size = key_size;
	attr.value_size = value_size;
	attr.max_entries = max_entries;
	attr.map_flags = map_flags;
	fd = (int) syscall(__NR_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	if (fd < 0)
		return negative_errno();
	/* the kernel hands out O_CLOEXEC map fds (bpf_map_new_fd) */
	return fd;
}

/* A slot of the ring pool for the session, and its ring buffer: the lowest
 * free slot, whose ring is reused if it has one. Claiming is one atomic
 * insert (BPF_NOEXIST), so concurrent runs never share a slot. */
static int ring_claim(Egress *e)
{
	for (uint64_t slot = 0; slot < EGRESS_MAX_SESSIONS; slot++) {
		uint32_t k = (uint32_t) slot, ring_id = 0, zero = 0;
		bool pooled = slot < EGRESS_RING_POOL && e->maps.ids_fd >= 0;
		struct bpf_map_info info = {};
		uint32_t len = sizeof(info);

		if (bpf_map_update_elem(e->maps.owners_fd, &slot, &e->id, BPF_NOEXIST) < 0) {
			if (errno == EEXIST)
				continue;
			return negative_errno(); /* E2BIG: every slot taken */
		}
		e->slot = slot;
		e->slot_held = true;
		/* A pooled slot's ring, by the id ring_ids keeps: never the
		 * id of a freed map, as ring_ids is cleared before the ring
		 * in "rings" is replaced, and pooled rings leave "rings"
		 * only with the instance. */
		if (pooled && bpf_map_lookup_elem(e->maps.ids_fd, &k, &ring_id) < 0)
			return negative_errno();
		if (ring_id != 0) {
			e->ring_fd = bpf_map_get_fd_by_id(ring_id);
			if (e->ring_fd >= 0)
				return 0;
			if (errno != ENOENT)
				return negative_errno();
		}
		if (pooled && bpf_map_update_elem(e->maps.ids_fd, &k, &zero, BPF_ANY) < 0)
			return negative_errno();
		/* No ring in this slot yet. No map name: libbpf would first
		 * probe whether the kernel takes names by loading two
		 * programs (~0.5 ms on every run; a fresh process has no
		 * cache). bpftool shows the ring by id, in "rings". */
		e->ring_fd = session_map_create(BPF_MAP_TYPE_RINGBUF, 0, 0, EGRESS_RINGBUF_SIZE, 0);
		if (e->ring_fd < 0)
			return e->ring_fd;
		if (bpf_map_update_elem(e->maps.rings_fd, &slot, &e->ring_fd, BPF_ANY) < 0)
			return negative_errno();
		if (pooled && (bpf_obj_get_info_by_fd(e->ring_fd, &info, &len) < 0 ||
			       bpf_map_update_elem(e->maps.ids_fd, &k, &info.id, BPF_ANY) < 0))
			return negative_errno();
		return 0;
	}
	return -E2BIG;
}

/* Enters the session into the instance's maps: a slot of the ring pool and
 * its ring buffer, then its allowlist (filled, then frozen: from here on
 * nobody, not even this process, can change it), then its flags; the
 * programs see nothing of it before the last step. */
static int session_register(Egress *e, const EgressPlan *p, unsigned flags)
{
	_cleanup_close_ int trie_fd = -EBADF;
	bool deny_all = flags & EGRESS_DENY_ALL;
	int r;

	e->registered = true;
	r = ring_claim(e);
	if (r < 0)
		return r;

	if (!deny_all) {
		trie_fd =
		    session_map_create(BPF_MAP_TYPE_LPM_TRIE, sizeof(struct egress_key), sizeof(struct egress_value),
				       (uint32_t) MAX(p->n_rules, (size_t) 1), BPF_F_NO_PREALLOC);
		if (trie_fd < 0)
			return trie_fd;
		for (size_t i = 0; i < p->n_rules; i++) {
			struct egress_key k;
			struct egress_value v = {.rule = (uint32_t) i};

			if (p->rules[i].flags & EGRESS_OPENS_LOOPBACK)
				v.flags |= EGRESS_RULE_LOOPBACK;
			if (p->rules[i].flags & EGRESS_OPENS_METADATA)
				v.flags |= EGRESS_RULE_METADATA;
			rule_key(&p->rules[i], &k);
			if (bpf_map_update_elem(trie_fd, &k, &v, BPF_ANY) < 0)
				return negative_errno();
		}
		if (bpf_map_freeze(trie_fd) < 0)
			return negative_errno();
		e->has_allowlist = true;
		if (bpf_map_update_elem(e->maps.allowlists_fd, &e->id, &trie_fd, BPF_ANY) < 0)
			return negative_errno();
	}

	/* The ring is mapped into our memory (twice its size: libbpf maps
	 * the data area twice) only once it has something to say: most runs
	 * never connect anywhere (egress_consume). */
	return session_write(e->maps.sessions_fd, e->id, deny_all ? EGRESS_SESSION_DENY_ALL : 0, e->slot, BPF_ANY);
}

void egress_free(Egress *e)
{
	if (!e)
		return;
	ring_buffer__free(e->rb);
	for (size_t i = 0; i < ARRAY_SIZE(e->links); i++)
		(void) bpf_link__destroy(e->links[i]);
	if (e->registered && e->shared) {
		/* Closed first: if anything of the box is still alive it can
		 * send nothing from here on. The entry goes when the cgroup is
		 * empty (as it is once the box's pid 1 is reaped), else the
		 * sweep removes it with the cgroup. */
		(void) session_write(e->maps.sessions_fd, e->id, EGRESS_SESSION_CLOSED, e->slot, BPF_EXIST);
		if (!cgroup_populated(e->cgroup_fd, e->id))
			session_forget(&e->maps, e->id, e->has_allowlist, e->slot_held ? &e->slot : NULL);
	}
	egress_bpf__destroy(e->skel);
	egress_maps_close(&e->maps);
	safe_close(e->ring_fd);
	safe_close(e->cgroup_fd);
	free(e);
}

/* A session of the cgroup at cgroup_fd (kept open, and its id). */
static int egress_new(int cgroup_fd, Egress **ret)
{
	_cleanup_egress_free_ Egress *e = calloc(1, sizeof(*e));
	int r;

	if (!e)
		return -ENOMEM;
	e->maps = (EgressMaps) EGRESS_MAPS_INIT;
	e->ring_fd = e->cgroup_fd = -EBADF;
	e->cgroup_fd = fcntl(cgroup_fd, F_DUPFD_CLOEXEC, 3);
	if (e->cgroup_fd < 0)
		return negative_errno();
	r = cgroup_id_of(cgroup_fd, &e->id);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(e);
	return 0;
}

/* The private instance: loaded for this session alone, attached to its
 * cgroup through fd-owned links (gone with egress_free or the process). */
static int attach_private(const EgressPlan *p, int cgroup_fd, unsigned flags, Egress **ret)
{
	_cleanup_egress_free_ Egress *e = NULL;
	struct bpf_program *progs[N_PROGS];
	int r;

	r = egress_new(cgroup_fd, &e);
	if (r < 0)
		return r;
	e->skel = skel_open(e->id, 0, &r);
	if (!e->skel)
		return r;
	e->maps.sessions_fd = fcntl(bpf_map__fd(e->skel->maps.sessions), F_DUPFD_CLOEXEC, 3);
	e->maps.allowlists_fd = fcntl(bpf_map__fd(e->skel->maps.allowlists), F_DUPFD_CLOEXEC, 3);
	e->maps.rings_fd = fcntl(bpf_map__fd(e->skel->maps.rings), F_DUPFD_CLOEXEC, 3);
	e->maps.owners_fd = fcntl(bpf_map__fd(e->skel->maps.ring_owners), F_DUPFD_CLOEXEC, 3);
	if (e->maps.sessions_fd < 0 || e->maps.allowlists_fd < 0 || e->maps.rings_fd < 0 || e->maps.owners_fd < 0)
		return negative_errno();
	/* no ring_ids: the private instance's one ring goes with it */
	r = session_register(e, p, flags);
	if (r < 0)
		return r;

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

int egress_attach(const EgressPlan *p, int cgroup_fd, unsigned flags, Egress **ret)
{
	if (cgroup_fd < 0)
		return -EBADF;
	if (p->n_rules > MAX_RULES)
		return -E2BIG;
	return attach_private(p, cgroup_fd, flags, ret);
}

/* ---- the shared instance on kdc.slice ----------------------------------- */

/* The identity of this build's programs: 64 bits of the SHA-256 of the BPF
 * object the skeleton embeds, taken at build time (egress.id.h). An
 * instance installed by another build is left alone. */
static uint64_t build_id(void)
{
	static uint64_t id = 0;

	if (id)
		return id;
	id = EGRESS_BPF_BUILD_ID;
	/* KDC_EGRESS_BUILD_SALT makes this build count as another one: for
	 * the tests of instances_retire() only, not a user setting (FNV-1a
	 * steps over the salt). */
	for (const char *salt = secure_getenv("KDC_EGRESS_BUILD_SALT"); salt && *salt; salt++)
		id = (id ^ (uint8_t) *salt) * UINT64_C(0x100000001b3);
	id ^= EGRESS_MAX_SESSIONS; /* never 0 */
	return id ?: 1;
}

typedef struct Instance {
	EgressMaps maps;
	int meta_fd;
	uint32_t sessions_id; /* the sessions map's id: every program uses it */
	uint32_t prog_id;     /* its egress_skb program */
	bool ours, complete;  /* installed by this build; every program attached */
} Instance;

static void instance_done(Instance *in)
{
	egress_maps_close(&in->maps);
	in->meta_fd = safe_close(in->meta_fd);
}

#define INSTANCE_INIT                                       \
	{                                                   \
		.maps = EGRESS_MAPS_INIT, .meta_fd = -EBADF \
	}

/* Reads one program attached to the slice: is it our egress_skb, and of
 * which build? Fills *in with the maps' fds. 0 if not a kdc egress_skb. */
static int instance_read(uint32_t prog_id, Instance *in)
{
	_cleanup_close_ int prog_fd = bpf_prog_get_fd_by_id(prog_id);
	struct bpf_prog_info info = {};
	uint32_t map_ids[16] = {}, len = sizeof(info);
	struct egress_meta m = {};
	uint32_t zero = 0;

	if (prog_fd < 0)
		return errno == ENOENT ? 0 : negative_errno();
	info.nr_map_ids = ARRAY_SIZE(map_ids);
	info.map_ids = (uint64_t) (uintptr_t) map_ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0)
		return negative_errno();
	if (!streq(info.name, "egress_skb") || info.type != BPF_PROG_TYPE_CGROUP_SKB)
		return 0;
	for (uint32_t i = 0; i < MIN(info.nr_map_ids, (uint32_t) ARRAY_SIZE(map_ids)); i++) {
		struct bpf_map_info mi = {};
		uint32_t mlen = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(map_ids[i]), *slot = NULL;

		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &mi, &mlen) >= 0) {
			if (streq(mi.name, "sessions") && mi.type == BPF_MAP_TYPE_PERCPU_HASH &&
			    mi.value_size == sizeof(struct egress_session)) {
				slot = &in->maps.sessions_fd;
				in->sessions_id = mi.id;
			} else if (streq(mi.name, "allowlists") && mi.type == BPF_MAP_TYPE_HASH_OF_MAPS)
				slot = &in->maps.allowlists_fd;
			else if (streq(mi.name, "rings") && mi.type == BPF_MAP_TYPE_HASH_OF_MAPS)
				slot = &in->maps.rings_fd;
			else if (streq(mi.name, "ring_owners") && mi.type == BPF_MAP_TYPE_HASH)
				slot = &in->maps.owners_fd;
			else if (streq(mi.name, "ring_ids") && mi.type == BPF_MAP_TYPE_ARRAY &&
				 mi.max_entries == EGRESS_RING_POOL)
				slot = &in->maps.ids_fd;
			else if (streq(mi.name, "meta") && mi.type == BPF_MAP_TYPE_ARRAY &&
				 mi.value_size == sizeof(struct egress_meta))
				slot = &in->meta_fd;
		}
		if (slot && *slot < 0)
			*slot = fd;
		else
			(void) close(fd);
	}
	if (in->maps.sessions_fd < 0 || in->maps.allowlists_fd < 0 || in->maps.rings_fd < 0 || in->maps.owners_fd < 0 ||
	    in->maps.ids_fd < 0 || in->meta_fd < 0 || bpf_map_lookup_elem(in->meta_fd, &zero, &m) < 0) {
		instance_done(in);
		return 0;
	}
	in->prog_id = prog_id;
	in->ours = m.build == build_id();
	in->complete = m.complete == EGRESS_META_COMPLETE;
	return 1;
}

/* Finds this build's complete instance on the slice: 1 and *ret, or 0. With
 * ret_incomplete, the sessions map id of an incomplete instance of this
 * build (an installer that died half-way) is reported too. */
static int instance_find(int slice_fd, Instance *ret, uint32_t *ret_incomplete)
{
	uint32_t ids[64], n = ARRAY_SIZE(ids), attach_flags = 0;
	int r;

	if (bpf_prog_query(slice_fd, BPF_CGROUP_INET_EGRESS, 0, &attach_flags, ids, &n) < 0)
		return negative_errno();
	for (uint32_t i = 0; i < MIN(n, (uint32_t) ARRAY_SIZE(ids)); i++) {
		Instance in = INSTANCE_INIT;

		r = instance_read(ids[i], &in);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		if (in.ours && in.complete) {
			*ret = in;
			return 1;
		}
		if (in.ours && ret_incomplete)
			*ret_incomplete = in.sessions_id;
		instance_done(&in);
	}
	return 0;
}

static const enum bpf_attach_type attach_types[N_PROGS] = {
    BPF_CGROUP_INET_EGRESS,  BPF_CGROUP_INET4_CONNECT, BPF_CGROUP_INET6_CONNECT, BPF_CGROUP_UDP4_SENDMSG,
    BPF_CGROUP_UDP6_SENDMSG, BPF_CGROUP_INET4_BIND,    BPF_CGROUP_INET6_BIND,
};

/* The programs' names, in the order of attach_types. */
static const char *const prog_names[N_PROGS] = {
    "egress_skb", "connect4", "connect6", "sendmsg4", "sendmsg6", "bind4", "bind6",
};

#define EGRESS_PROG_MAPS_MAX 16 /* more than any of our programs uses */

/* The ids of the maps a program uses, and its name. */
static int prog_maps(int prog_fd, uint32_t map_ids[static EGRESS_PROG_MAPS_MAX], uint32_t *ret_n,
		     char name[static BPF_OBJ_NAME_LEN])
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);

	info.nr_map_ids = EGRESS_PROG_MAPS_MAX;
	info.map_ids = (uint64_t) (uintptr_t) map_ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0)
		return negative_errno();
	*ret_n = MIN(info.nr_map_ids, (uint32_t) EGRESS_PROG_MAPS_MAX);
	memcpy(name, info.name, BPF_OBJ_NAME_LEN);
	name[BPF_OBJ_NAME_LEN - 1] = '\0';
	return 0;
}

/* Walks the programs attached to hook t of the slice and detaches those
 * for which drop() says so, given each one's name and map ids. */
typedef bool (*DropFn)(size_t t, const char *name, const uint32_t *map_ids, uint32_t n_maps, const void *userdata);

static void hook_detach_if(int slice_fd, size_t t, DropFn drop, const void *userdata)
{
	uint32_t ids[64], n = ARRAY_SIZE(ids), attach_flags = 0;

	if (bpf_prog_query(slice_fd, attach_types[t], 0, &attach_flags, ids, &n) < 0)
		return;
	for (uint32_t i = 0; i < MIN(n, (uint32_t) ARRAY_SIZE(ids)); i++) {
		_cleanup_close_ int fd = bpf_prog_get_fd_by_id(ids[i]);
		uint32_t map_ids[EGRESS_PROG_MAPS_MAX] = {}, n_maps;
		char name[BPF_OBJ_NAME_LEN];

		if (fd >= 0 && prog_maps(fd, map_ids, &n_maps, name) >= 0 && drop(t, name, map_ids, n_maps, userdata))
			(void) bpf_prog_detach2(fd, slice_fd, attach_types[t]);
	}
}

static bool uses_map(const uint32_t *map_ids, uint32_t n_maps, uint32_t id)
{
	for (uint32_t j = 0; j < n_maps; j++)
		if (map_ids[j] == id)
			return true;
	return false;
}

static bool uses_sessions(size_t t, const char *name, const uint32_t *map_ids, uint32_t n_maps, const void *userdata)
{
	return uses_map(map_ids, n_maps, *(const uint32_t *) userdata);
}

/* Detaches every program of the slice that uses the map sessions_id: all
 * seven programs of one instance look sessions up (only egress_skb has the
 * meta map, so matching on meta left the other six attached). */
static void instance_detach(int slice_fd, uint32_t sessions_id)
{
	for (size_t t = 0; t < N_PROGS; t++)
		hook_detach_if(slice_fd, t, uses_sessions, &sessions_id);
}

typedef struct LiveMaps {
	uint32_t ids[64 * EGRESS_PROG_MAPS_MAX];
	uint32_t n;
} LiveMaps;

static bool orphaned(size_t t, const char *name, const uint32_t *map_ids, uint32_t n_maps, const void *userdata)
{
	const LiveMaps *live = userdata;

	if (!streq(name, prog_names[t]))
		return false; /* not one of ours */
	for (uint32_t k = 0; k < live->n; k++)
		if (uses_map(map_ids, n_maps, live->ids[k]))
			return false;
	return true;
}

/* Detaches programs of ours that no instance owns any more: a connect,
 * sendmsg or bind program that shares no map with any egress_skb attached
 * to the slice. Builds before this one detached only egress_skb when they
 * retired an instance and left the other six behind, until the slice's
 * 64 programs per hook were used up and every install failed. Called
 * under the slice lock taken exclusively: an install (under the same
 * lock) attaches egress_skb first, so no live instance looks orphaned. */
static void orphans_detach(int slice_fd)
{
	LiveMaps live = {.n = 0};
	uint32_t ids[64], n = ARRAY_SIZE(ids), attach_flags = 0;

	if (bpf_prog_query(slice_fd, attach_types[0], 0, &attach_flags, ids, &n) < 0)
		return;
	for (uint32_t i = 0; i < MIN(n, (uint32_t) ARRAY_SIZE(ids)); i++) {
		_cleanup_close_ int fd = bpf_prog_get_fd_by_id(ids[i]);
		uint32_t n_maps;
		char name[BPF_OBJ_NAME_LEN];

		/* an egress program we cannot read: keep everything */
		if (fd < 0 || prog_maps(fd, live.ids + live.n, &n_maps, name) < 0)
			return;
		live.n += n_maps;
	}
	for (size_t t = 1; t < N_PROGS; t++)
		hook_detach_if(slice_fd, t, orphaned, &live);
}

/* Loads the shared instance and attaches it to the slice with
 * BPF_F_ALLOW_MULTI through the legacy attach: it stays attached after this
 * process exits, until kdc.slice is removed. Called under the slice lock. */
static int instance_install(int slice_fd)
{
	struct egress_bpf *skel;
	struct bpf_program *progs[N_PROGS];
	struct egress_meta m = {.build = build_id()};
	uint32_t zero = 0;
	unsigned level;
	size_t i;
	int r;

	r = cgroup_level_of(slice_fd, &level);
	if (r < 0)
		return r;
	skel = skel_open(0, level, &r);
	if (!skel)
		return r;
	/* No program reads meta: bind it to egress_skb so that it lives as long
	 * as the program and is listed among its maps. */
	if (bpf_prog_bind_map(bpf_program__fd(skel->progs.egress_skb), bpf_map__fd(skel->maps.meta), NULL) < 0 ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.meta), &zero, &m, BPF_ANY) < 0) {
		r = negative_errno();
		goto out;
	}
	progs[0] = skel->progs.egress_skb;
	progs[1] = skel->progs.connect4;
	progs[2] = skel->progs.connect6;
	progs[3] = skel->progs.sendmsg4;
	progs[4] = skel->progs.sendmsg6;
	progs[5] = skel->progs.bind4;
	progs[6] = skel->progs.bind6;
	for (i = 0; i < N_PROGS; i++)
		if (bpf_prog_attach(bpf_program__fd(progs[i]), slice_fd, attach_types[i], BPF_F_ALLOW_MULTI) < 0) {
			r = negative_errno();
			while (i-- > 0)
				(void) bpf_prog_detach2(bpf_program__fd(progs[i]), slice_fd, attach_types[i]);
			goto out;
		}
	m.complete = EGRESS_META_COMPLETE;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.meta), &zero, &m, BPF_ANY) < 0) {
		r = negative_errno();
		for (i = 0; i < N_PROGS; i++)
			(void) bpf_prog_detach2(bpf_program__fd(progs[i]), slice_fd, attach_types[i]);
		goto out;
	}
	/* cgroup.c keeps a kdc.slice that carries this mark when it empties. */
	(void) fsetxattr(slice_fd, EGRESS_SLICE_XATTR, "1", 1, 0);
	r = 0;
out:
	egress_bpf__destroy(skel);
	return r;
}

/* Whether an instance holds no session at all (after its stale entries
 * are swept). */
static bool instance_idle(int slice_fd, const Instance *in)
{
	uint64_t key;

	sweep(slice_fd, &in->maps);
	return bpf_map_get_next_key(in->maps.owners_fd, NULL, &key) < 0 && errno == ENOENT &&
	       bpf_map_get_next_key(in->maps.sessions_fd, NULL, &key) < 0 && errno == ENOENT;
}

/* Detaches the instances of other builds (an upgrade, a rebuild) that hold
 * no session, so that they do not pile up on the slice. Called under the
 * slice lock taken exclusively: every build with this code registers its
 * sessions under the same lock taken shared, so an instance seen idle here
 * cannot gain a session before it is detached. One with sessions stays
 * until the next install finds it idle. */
static void instances_retire(int slice_fd)
{
	uint32_t ids[64], n = ARRAY_SIZE(ids), attach_flags = 0;

	if (bpf_prog_query(slice_fd, BPF_CGROUP_INET_EGRESS, 0, &attach_flags, ids, &n) < 0)
		return;
	for (uint32_t i = 0; i < MIN(n, (uint32_t) ARRAY_SIZE(ids)); i++) {
		Instance in = INSTANCE_INIT;

		if (instance_read(ids[i], &in) <= 0)
			continue;
		if (!in.ours && instance_idle(slice_fd, &in))
			instance_detach(slice_fd, in.sessions_id);
		instance_done(&in);
	}
	orphans_detach(slice_fd);
}

/* This build's instance on the slice, installed if missing. The caller
 * holds lock_fd (the slice directory) shared, and still does on return:
 * sessions are registered under it. */
static int instance_get(int slice_fd, int lock_fd, Instance *ret)
{
	uint32_t incomplete = 0;
	int r;

	r = instance_find(slice_fd, ret, NULL);
	if (r != 0)
		return r < 0 ? r : 0;

	/* Two first runs must not both install: one at a time, and look
	 * again. (flock converts the lock; others may come in between.) */
	if (flock(lock_fd, LOCK_EX) < 0)
		return negative_errno();
	r = instance_find(slice_fd, ret, &incomplete);
	if (r == 0) {
		if (incomplete)
			instance_detach(slice_fd, incomplete);
		instances_retire(slice_fd);
		r = instance_install(slice_fd);
		if (r >= 0) {
			r = instance_find(slice_fd, ret, NULL);
			if (r == 0)
				r = -ENOENT;
		}
	}
	if (flock(lock_fd, LOCK_SH) < 0 && r > 0) {
		instance_done(ret);
		return negative_errno();
	}
	return r < 0 ? r : 0;
}

/* KDC_EGRESS_SHARED=0 makes egress_attach_session() use the private path:
 * for the tests of that fallback only, not a user setting. */
static bool shared_enabled(void)
{
	const char *v = secure_getenv("KDC_EGRESS_SHARED");
	return !v || !streq(v, "0");
}

static int attach_shared(const EgressPlan *p, int slice_fd, int cgroup_fd, unsigned flags, Egress **ret)
{
	_cleanup_egress_free_ Egress *e = NULL;
	_cleanup_close_ int lock_fd = -EBADF;
	Instance in = INSTANCE_INIT;
	int r;

	libbpf_quiet();
	r = egress_new(cgroup_fd, &e);
	if (r < 0)
		return r;
	e->shared = true;
	/* The slice lock, shared: no install of another build retires our
	 * instance while we register (instances_retire). */
	lock_fd = openat(slice_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock_fd < 0)
		return negative_errno();
	if (flock(lock_fd, LOCK_SH) < 0)
		return negative_errno();
	r = instance_get(slice_fd, lock_fd, &in);
	if (r < 0)
		return r;
	e->maps = in.maps;
	safe_close(in.meta_fd);

	sweep(slice_fd, &e->maps);
	r = session_register(e, p, flags);
	if (r < 0) {
		/* nothing of the box runs yet: forget it at once */
		session_forget(&e->maps, e->id, e->has_allowlist, e->slot_held ? &e->slot : NULL);
		e->registered = false;
		return r;
	}
	*ret = TAKE_PTR(e);
	return 0;
}

int egress_attach_session(const EgressPlan *p, int slice_fd, int cgroup_fd, unsigned flags, Egress **ret)
{
	int r;

	if (cgroup_fd < 0)
		return -EBADF;
	if (p->n_rules > MAX_RULES)
		return -E2BIG;
	if (slice_fd >= 0 && shared_enabled()) {
		r = attach_shared(p, slice_fd, cgroup_fd, flags, ret);
		if (r >= 0)
			return 1;
	}
	r = attach_private(p, cgroup_fd, flags, ret);
	return r < 0 ? r : 0;
}

/* How many instances of other builds are attached to the slice. */
static unsigned instances_foreign(int slice_fd)
{
	uint32_t ids[64], n = ARRAY_SIZE(ids), attach_flags = 0;
	unsigned foreign = 0;

	if (bpf_prog_query(slice_fd, BPF_CGROUP_INET_EGRESS, 0, &attach_flags, ids, &n) < 0)
		return 0;
	for (uint32_t i = 0; i < MIN(n, (uint32_t) ARRAY_SIZE(ids)); i++) {
		Instance in = INSTANCE_INIT;
		if (instance_read(ids[i], &in) > 0 && !in.ours)
			foreign++;
		instance_done(&in);
	}
	return foreign;
}

int egress_shared_status(int slice_fd, char **ret_desc)
{
	Instance in = INSTANCE_INIT;
	uint32_t incomplete = 0;
	uint64_t key, next;
	void *prev = NULL;
	unsigned n = 0, foreign;
	char others[160] = "";
	int r;

	libbpf_quiet();
	foreign = instances_foreign(slice_fd);
	if (foreign)
		snprintf(others, sizeof(others),
			 "; %u instance%s of other kdc builds attached (removed by the next install that finds "
			 "them idle)",
			 foreign, foreign == 1 ? "" : "s");
	r = instance_find(slice_fd, &in, &incomplete);
	if (r < 0)
		return r;
	if (r == 0) {
		if (ret_desc &&
		    asprintf(ret_desc, "%s%s",
			     incomplete ? "half-installed (the next run replaces them)" : "not installed", others) < 0)
			return -ENOMEM;
		return 0;
	}
	while (bpf_map_get_next_key(in.maps.sessions_fd, prev, &next) == 0 && n < EGRESS_MAX_SESSIONS) {
		key = next;
		prev = &key;
		n++;
	}
	instance_done(&in);
	if (ret_desc && asprintf(ret_desc, "installed (program id %u), %u session%s registered%s", in.prog_id, n,
				 n == 1 ? "" : "s", others) < 0)
		return -ENOMEM;
	return 1;
}

bool egress_is_shared(Egress *e)
{
	return e && e->shared;
}

int egress_event_fd(Egress *e)
{
	/* a ring buffer's map fd polls readable while it holds data */
	return e->ring_fd;
}

int egress_consume(Egress *e, void (*cb)(const EgressEvent *ev, void *userdata), void *userdata)
{
	int r;

	if (!e->rb) {
		struct pollfd p = {.fd = e->ring_fd, .events = POLLIN};
		if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN))
			return 0;
		/* KDC_TEST_EGRESS_UNREADABLE=1: the ring cannot be mapped, for
		 * the test of the caller's handling of that (testing only). */
		const char *t = secure_getenv("KDC_TEST_EGRESS_UNREADABLE");
		if (t && streq(t, "1"))
			return -ENOMEM;
		e->rb = ring_buffer__new(e->ring_fd, handle_event, e, NULL);
		if (!e->rb)
			return negative_errno();
	}
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

static int stat_sums(Egress *e, uint64_t sums[_EGRESS_STAT_MAX])
{
	_cleanup_free_ struct egress_session *v = NULL;
	int n_cpus, r;

	r = session_values(&v, &n_cpus);
	if (r < 0)
		return r;
	if (bpf_map_lookup_elem(e->maps.sessions_fd, &e->id, v) < 0)
		return negative_errno();
	memset(sums, 0, sizeof(uint64_t) * _EGRESS_STAT_MAX);
	for (int i = 0; i < n_cpus; i++)
		for (size_t k = 0; k < _EGRESS_STAT_MAX; k++)
			sums[k] += v[i].stats[k];
	return 0;
}

int egress_stats(Egress *e, uint64_t *ret_bytes, uint64_t *ret_allowed, uint64_t *ret_denied)
{
	uint64_t s[_EGRESS_STAT_MAX];
	int r;

	r = stat_sums(e, s);
	if (r < 0)
		return r;
	if (ret_bytes)
		*ret_bytes = s[EGRESS_STAT_BYTES];
	if (ret_allowed)
		*ret_allowed = s[EGRESS_STAT_ALLOWED];
	if (ret_denied)
		*ret_denied = s[EGRESS_STAT_DENIED];
	return 0;
}

int egress_lost(Egress *e, uint64_t *ret_lost)
{
	uint64_t s[_EGRESS_STAT_MAX];
	int r;

	r = stat_sums(e, s);
	if (r < 0)
		return r;
	*ret_lost = s[EGRESS_STAT_LOST];
	return 0;
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

int egress_attach_session(const EgressPlan *p, int slice_fd, int cgroup_fd, unsigned flags, Egress **ret)
{
	return -EOPNOTSUPP;
}

int egress_shared_status(int slice_fd, char **ret_desc)
{
	return -EOPNOTSUPP;
}

bool egress_is_shared(Egress *e)
{
	return false;
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
