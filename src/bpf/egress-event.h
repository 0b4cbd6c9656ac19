/* SPDX-License-Identifier: MIT */
#pragma once

/* What the egress BPF programs (src/bpf/egress.bpf.c) and their loader
 * (src/core/egress.c) share: the ring-buffer event, the allowlist key and
 * value, the statistics slots and the load-time flags. Both sides include
 * this file, so it uses only the UAPI fixed-width types. */

#include <linux/types.h>

/* struct egress_session.flags. */
#define EGRESS_SESSION_DENY_ALL (1u << 0) /* none/proxy second wall: only the box's own loopback */
#define EGRESS_SESSION_CLOSED (1u << 1)	  /* the session ended: deny everything, say nothing */

/* Which hook decided. */
enum {
	EGRESS_HOOK_CONNECT4 = 1,
	EGRESS_HOOK_CONNECT6,
	EGRESS_HOOK_SENDMSG4,
	EGRESS_HOOK_SENDMSG6,
	EGRESS_HOOK_BIND4,
	EGRESS_HOOK_BIND6,
	EGRESS_HOOK_SKB, /* cgroup_skb/egress: packets that bypassed the socket hooks */
	_EGRESS_HOOK_MAX,
};

/* Why. */
enum {
	EGRESS_REASON_RULE = 1,	 /* allowed: an allowlist entry matched */
	EGRESS_REASON_NO_RULE,	 /* denied: no allowlist entry matched */
	EGRESS_REASON_LOOPBACK,	 /* denied: loopback, not named explicitly */
	EGRESS_REASON_METADATA,	 /* denied: cloud metadata address, not named explicitly */
	EGRESS_REASON_BIND,	 /* denied: bind() is refused in filtered mode */
	EGRESS_REASON_RAW,	 /* denied: packet of a raw socket */
	EGRESS_REASON_DENY_ALL,	 /* denied: second wall (none/proxy), not the box's loopback */
	EGRESS_REASON_OWN_NETNS, /* allowed: second wall, the box's own loopback or bind */
	_EGRESS_REASON_MAX,
};

/* One decision, as it crosses the ring buffer. A ring serves one session
 * at a time but outlives it (the ring pool, egress.c): the reader takes only
 * the events of its own session. */
struct egress_event {
	__u64 session; /* the session's cgroup id */
	__u32 addr[4]; /* destination as the hook saw it, network order; IPv4 in addr[0] */
	__u32 pid;     /* thread-group id in the initial pid namespace; 0 for packets */
	__u16 port;    /* host order; 0 if none (ICMP, fragments) */
	__u8 family;   /* AF_INET / AF_INET6 */
	__u8 proto;    /* IPPROTO_* */
	__u8 hook;     /* EGRESS_HOOK_* */
	__u8 allowed;  /* 1 allowed, 0 denied */
	__u8 reason;   /* EGRESS_REASON_* */
	__u8 pad;
	__u32 pad2;
};

/* Allowlist: one LPM trie. The key's data is port, family, address, so a
 * prefix covers an exact port and then an address range; the wildcard port
 * is port 0. A lookup tries the destination port first and then port 0.
 * IPv4 addresses (and IPv4-mapped IPv6) are stored as family 4 with the
 * address in addr[0]; prefixlen counts from the start of the data, so an
 * IPv4 /24 on port 443 is 64 + 24 bits. */
struct egress_key {
	__u32 prefixlen;
	__u32 port;    /* bpf_htonl(port), 0 = any */
	__u32 family;  /* bpf_htonl(4) or bpf_htonl(6) */
	__u32 addr[4]; /* network order */
};
#define EGRESS_KEY_HEADER_BITS 64
#define EGRESS_KEY_BITS (EGRESS_KEY_HEADER_BITS + 128)

/* A rule lying entirely inside loopback or on a metadata address is an
 * explicit opening for that destination; no other rule can open it. */
#define EGRESS_RULE_LOOPBACK (1u << 0)
#define EGRESS_RULE_METADATA (1u << 1)

struct egress_value {
	__u32 rule;  /* index into the loader's rule list */
	__u32 flags; /* EGRESS_RULE_* */
};

/* Counters of a session (per CPU). */
enum {
	EGRESS_STAT_BYTES = 0, /* bytes of allowed egress packets */
	EGRESS_STAT_ALLOWED,   /* allowed decisions */
	EGRESS_STAT_DENIED,    /* denied decisions */
	EGRESS_STAT_LOST,      /* events dropped because the ring buffer was full */
	_EGRESS_STAT_MAX,
};

#define EGRESS_RINGBUF_SIZE (256 * 1024)

/* A session: the value of the per-CPU "sessions" hash, keyed by the session
 * cgroup's id. The loader writes flags (the same on every CPU) and sums the
 * counters. */
struct egress_session {
	__u32 flags; /* EGRESS_SESSION_* */
	__u32 ring;  /* its slot in the ring pool: the key of "rings" and "ring_owners" */
	__u64 stats[_EGRESS_STAT_MAX];
};

/* Ring buffers stay in the pool for reuse in slots below this one; a session
 * in a higher slot (more sessions at once) takes its ring out again. Each
 * costs EGRESS_RINGBUF_SIZE of kernel memory while the shared programs are
 * attached. Putting a ring into the "rings" map of maps and taking it out
 * each wait for an RCU grace period on kernels before 6.9 (Debian 12's 6.1:
 * 16-18 ms each in the TCG guest), which the pool spares every run. */
#define EGRESS_RING_POOL 16

/* Sessions one instance holds; cgroup levels below kdc.slice searched for
 * the session (tenant levels + the session + 1). */
#define EGRESS_MAX_SESSIONS 4096
#define EGRESS_MAX_DEPTH 8

/* The "meta" map of the shared instance (one entry). */
struct egress_meta {
	__u64 build;	/* identity of the build that installed it (hash of the BPF object) */
	__u32 complete; /* EGRESS_META_COMPLETE once every program is attached */
	__u32 pad;
};
#define EGRESS_META_COMPLETE 0x6b646301u
