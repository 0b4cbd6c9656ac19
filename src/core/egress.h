/* SPDX-License-Identifier: MIT */
#pragma once

/* The egress allowlist: parsing of "[network] allow" / --allow entries into a
 * plan, and the eBPF programs that enforce it on the session cgroup
 * (src/bpf/egress.bpf.c): connect4/6 and sendmsg4/6 allow only the listed
 * CIDR:port destinations (a denied call fails with EPERM), bind4/6 refuse
 * every bind, cgroup_skb/egress drops what bypassed the socket hooks (raw
 * sockets, the host's own addresses over lo) and counts egress bytes.
 *
 * Loopback and the cloud metadata addresses (169.254.169.254,
 * 100.100.100.200, fd00:ec2::254, in every spelling) stay denied whatever
 * the list says, unless an entry lying entirely inside them names them
 * (127.0.0.1:8080, 169.254.169.254:80, localhost:8080). IPv4-mapped IPv6
 * destinations are checked against the IPv4 entries.
 *
 * Entry syntax (egress_plan_parse):
 *   CIDR[:PORT]            10.0.0.0/8, 10.0.0.0/8:443
 *   IP[:PORT]              198.51.100.7, 198.51.100.7:443
 *   [IPv6][:PORT]          [2001:db8::7]:443, [2001:db8::/32]:443, [2001:db8::]/32:443
 *   IPv6 or IPv6 CIDR      2001:db8::7, 2001:db8::/32   (no port without brackets)
 *   HOST[:PORT]            api.example.com:443 — resolved now (A and AAAA) and pinned
 *   PORT is 1-65535 or '*' (any port, the same as leaving it out).
 * Host bits below the prefix are cleared. An IPv6 entry inside ::ffff:0:0/96
 * becomes the IPv4 entry it spells; other IPv6 entries (even ::/0) never
 * cover IPv4. Wildcard host names (*.example.com) need net = proxy.
 *
 * Without BPF support (./configure --disable-bpf, or clang/bpftool/libbpf
 * missing) parsing still works; egress_probe() and egress_attach() fail with
 * -EOPNOTSUPP so that filtered mode fails closed. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* EgressRule.flags: the rule names loopback / a metadata address explicitly,
 * and so may open it. */
#define EGRESS_OPENS_LOOPBACK (1u << 0)
#define EGRESS_OPENS_METADATA (1u << 1)

typedef struct EgressRule {
	int family;	   /* AF_INET or AF_INET6 */
	uint8_t addr[16];  /* network order; IPv4 in the first 4 bytes; host bits cleared */
	uint8_t prefixlen; /* 0-32 or 0-128 */
	uint16_t port;	   /* host order; 0 = any */
	unsigned flags;	   /* EGRESS_OPENS_* */
	char *source;	   /* the entry as written */
} EgressRule;

typedef struct EgressPlan {
	EgressRule *rules;
	size_t n_rules;
	bool allow_loopback, allow_metadata; /* some entry names them explicitly */
} EgressPlan;

/* Parses every entry of the NULL-terminated allow list (NULL = empty list)
 * into *ret, resolving host names with getaddrinfo. Returns 0, or a negative
 * errno with *ret_bad_entry (if not NULL) set to a copy of the offending
 * entry; egress_plan_why(r) says what is wrong with it:
 *   -EINVAL       not one of the forms above
 *   -EDOM         port not 1-65535 or '*'
 *   -ERANGE       prefix length out of range for the family
 *   -EOPNOTSUPP   wildcard host name
 *   -ENXIO        host name has no address
 *   -EAGAIN       temporary resolver failure
 *   -E2BIG        more than 65536 rules
 *   -ENOMEM */
int egress_plan_parse(char *const *allow, EgressPlan *ret, char **ret_bad_entry);
const char *egress_plan_why(int r);
void egress_plan_done(EgressPlan *p);
#define _cleanup_egress_plan_done_ __attribute__((cleanup(egress_plan_done)))

/* For --print-profile, one line per entry:
 *   "api.example.com:443 -> 198.51.100.7/32:443, [2001:db8::7/128]:443"
 *   "10.0.0.0/8 -> 10.0.0.0/8:*"
 *   "127.0.0.1:8080 -> 127.0.0.1/32:8080 (opens loopback)"
 *   "evil.example:80 -> 169.254.169.254/32:80 (metadata, stays denied)"
 * Each line ends with '\n'; an empty plan gives "(nothing: every destination denied)\n". */
int egress_plan_format(const EgressPlan *p, char **ret);

/* Resolver used for HOST entries; tests install a stub. NULL restores
 * getaddrinfo. The function returns -errno (-ENXIO: no address) and a
 * malloc'ed array of addresses. */
typedef struct EgressAddress {
	int family;
	uint8_t addr[16];
} EgressAddress;
typedef int (*EgressResolver)(const char *host, EgressAddress **ret, size_t *ret_n);
void egress_set_resolver(EgressResolver fn);

/* Built with BPF support. */
bool egress_supported(void);

/* 0 if this caller can load the programs (attaching also needs a cgroup it
 * may attach to); otherwise -EPERM, -EOPNOTSUPP, ... and *ret_why (if not
 * NULL) a sentence saying why and what to do, for kdc-run's refusal and
 * kdc doctor. */
int egress_probe(char **ret_why);

/* egress_attach flags. */
#define EGRESS_DENY_ALL (1u << 0) /* none/proxy second wall: allow only the box's own loopback, allow bind */

typedef struct Egress Egress;

/* The private path: loads the programs for this session alone, with the
 * plan's allowlist (frozen after filling), and attaches them to the cgroup
 * directory cgroup_fd through fd-owned links; they stay attached until
 * egress_free() or until the process exits. Costs milliseconds (load,
 * verify, JIT, and the kernel's first attach of each hook type). */
int egress_attach(const EgressPlan *p, int cgroup_fd, unsigned flags, Egress **ret);

/* The shared path. One instance of the programs, loaded once and attached
 * once (legacy attach, BPF_F_ALLOW_MULTI) to slice_fd, the system kdc.slice
 * (<cgroup2 mount>/kdc.slice): it stays attached between runs, until
 * kdc.slice is removed. A later run finds it with BPF_PROG_QUERY on the
 * slice (program "egress_skb" whose "meta" map names this build, see
 * egress.c) and reaches its maps by id. A session is then a handful of map
 * updates keyed by the session cgroup's id: its flags and counters, its
 * allowlist (a per-session LPM trie, frozen) and its ring buffer (a
 * per-session RINGBUF, read by this session's caller alone). Installation
 * is serialised by flock() on the slice directory. Before registering,
 * entries whose cgroup no longer exists (a kdc-run killed before it could
 * unregister) are swept. egress_free() closes the entry and removes it once
 * the cgroup is empty.
 *
 * The rule for a cgroup below kdc.slice without an entry: the shared
 * programs abstain (allow, count and report nothing), so that instances of
 * two builds attached side by side after an upgrade, and private instances
 * (the fallback), each decide for their own sessions only. It opens no hole
 * because every session cgroup gets its wall before anything of the agent
 * runs: kdc-run starts the agent only after this function returned (the
 * entry exists, or private programs are attached to the session cgroup
 * itself), and the entry is removed only after the box's pid 1 is reaped
 * and the cgroup is empty; a cgroup still populated keeps a closed entry
 * (everything denied) until it is gone. Tenant levels and kdc.slice hold no
 * processes of kdc's.
 *
 * Falls back to the private path when the shared one cannot be used
 * (slice_fd < 0, an instance that cannot be installed or found, full maps,
 * the slice below a cgroup namespace's root). Returns 1 when shared, 0 when
 * private, or -errno. The environment variable KDC_EGRESS_SHARED=0 forces
 * the private path: for the tests of the fallback only. */
int egress_attach_session(const EgressPlan *p, int slice_fd, int cgroup_fd, unsigned flags, Egress **ret);

/* Whether the shared programs of this build are attached to slice_fd: 1
 * (*ret_desc "installed (program id N), M sessions registered"), 0 (not
 * installed, or half-installed), or -errno. For kdc-run doctor. */
int egress_shared_status(int slice_fd, char **ret_desc);

/* The session uses the shared programs. */
bool egress_is_shared(Egress *e);

/* The extended attribute the installer sets on kdc.slice: cgroup.c does not
 * remove a kdc.slice that carries it when the last session ends (removing
 * kdc.slice would detach the shared programs). */
#define EGRESS_SLICE_XATTR "user.kdc.keep"

/* The ring buffer's pollable (epoll) fd. A denial makes it readable at once;
 * allowed decisions do not wake the reader (a wakeup would add microseconds
 * to every connect() of the box) until the buffer is half full. So poll it
 * with a timeout and call egress_consume() every 100 ms or so, and once more
 * after the box ended. */
int egress_event_fd(Egress *e);

typedef struct EgressEvent {
	bool allowed;
	int family;	    /* AF_INET / AF_INET6 as the hook saw it (v4-mapped stays AF_INET6) */
	uint8_t addr[16];   /* network order; IPv4 in the first 4 bytes */
	uint16_t port;	    /* host order; 0 when unknown */
	int proto;	    /* IPPROTO_TCP, IPPROTO_UDP, ... */
	const char *hook;   /* "connect4", "connect6", "sendmsg4", "sendmsg6", "bind4", "bind6", "skb" */
	const char *reason; /* "rule", "no-rule", "loopback", "metadata", "bind", "raw", "deny-all", "own-netns" */
	uint32_t pid;	    /* initial pid namespace; 0 for packet-level decisions */
} EgressEvent;

/* Calls cb for every waiting event, without blocking; returns how many. */
int egress_consume(Egress *e, void (*cb)(const EgressEvent *ev, void *userdata), void *userdata);

/* Totals since attach: bytes of allowed egress packets, allowed and denied
 * decisions. Any argument may be NULL. */
int egress_stats(Egress *e, uint64_t *ret_bytes, uint64_t *ret_allowed, uint64_t *ret_denied);
/* Events dropped because the ring buffer was full (a flooding box). */
int egress_lost(Egress *e, uint64_t *ret_lost);

/* Formats an event as one line: "deny connect4 tcp 169.254.169.254:80 metadata pid 1234". */
int egress_event_format(const EgressEvent *ev, char **ret);

/* Detaches (private: the links are fd-owned) or unregisters (shared), and
 * frees. Call it after the box's pid 1 is reaped. Accepts NULL. */
void egress_free(Egress *e);
static inline void egress_freep(Egress **e)
{
	egress_free(*e);
}
#define _cleanup_egress_free_ __attribute__((cleanup(egress_freep)))
