// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/* kdc egress allowlist: programs on the session cgroup.
 *
 *   connect4/6, sendmsg4/6   allow a destination only if an allowlist entry
 *                            (CIDR + port, or CIDR + any port) matches it;
 *                            a denied call fails with EPERM
 *   bind4/6                  refuse every bind (filtered mode)
 *   cgroup_skb/egress        drop what bypassed the socket hooks (raw
 *                            sockets, the host's own addresses reached over
 *                            lo, anything not allowed), count egress bytes
 *
 * Loopback (127.0.0.0/8, 0.0.0.0/8, ::1, ::) and the cloud metadata
 * addresses (169.254.169.254, 100.100.100.200, fd00:ec2::254, also spelled
 * IPv4-mapped or NAT64) are denied whatever the allowlist says, unless an
 * entry lying entirely inside them names them explicitly. IPv4-mapped IPv6
 * destinations are checked against the IPv4 rules.
 *
 * With EGRESS_SESSION_DENY_ALL (second wall in net = none / proxy, where the
 * box has its own network namespace) only the box's own loopback is allowed.
 *
 * One instance serves many sessions: the shared instance is attached once to
 * kdc.slice and finds each session's flags, counters, allowlist and ring
 * buffer in maps keyed by the session cgroup's id; a private instance is
 * attached to one session cgroup (the fallback, see egress.c).
 *
 * Every socket-level decision, and every dropped packet, is sent to the
 * loader through the ring buffer. Built against the UAPI <linux/bpf.h>: these
 * program types need neither vmlinux.h nor CO-RE. */

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/egress-event.h"

#define AF_INET 2
#define AF_INET6 10
#define SOCK_RAW 3
#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define LOOPBACK_IFINDEX 1

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Read-only data, set by the loader before loading:
 *   cfg_private_id  private instance (attached to one session cgroup): that
 *                   session's cgroup id; 0 for the shared instance
 *   cfg_slice_level shared instance: the level of the kdc.slice cgroup it is
 *                   attached to (the root cgroup is level 0) */
const volatile __u64 cfg_private_id = 0;
const volatile __u32 cfg_slice_level = 0;

/* The sessions, keyed by the session cgroup's id: flags and counters. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, __u64);
	__type(value, struct egress_session);
	__uint(max_entries, EGRESS_MAX_SESSIONS);
} sessions SEC(".maps");

/* Per session: the allowlist, one LPM trie (filled and frozen by the loader). */
struct allow_trie {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(key_size, sizeof(struct egress_key)); /* sizes: clang emits only a forward */
	__uint(value_size, sizeof(struct egress_value));
	__uint(max_entries, 1); /* each session's trie has its own size */
	__uint(map_flags, BPF_F_NO_PREALLOC);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__type(key, __u64);
	__uint(max_entries, EGRESS_MAX_SESSIONS);
	__array(values, struct allow_trie);
} allowlists SEC(".maps");

/* The ring pool: event ring buffers by slot. A session claims a free slot
 * in ring_owners and is the only writer of that slot's ring, and its kdc-run
 * the only reader, until it gives the slot back; the ring itself stays for
 * the next session (slots below EGRESS_RING_POOL). */
struct event_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EGRESS_RINGBUF_SIZE);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__type(key, __u64);
	__uint(max_entries, EGRESS_MAX_SESSIONS);
	__array(values, struct event_ring);
} rings SEC(".maps");

/* Pooled slot -> its ring's map id (0: none yet), kept by the loader: a
 * lookup in "rings" from user space waits for an RCU grace period on
 * kernels before 6.9 (bpf_map_copy_value), a lookup here does not. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, EGRESS_RING_POOL);
} ring_ids SEC(".maps");

/* Slot -> the session (cgroup id) that holds it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, __u64);
	__uint(max_entries, EGRESS_MAX_SESSIONS);
} ring_owners SEC(".maps");

/* Who installed the shared instance, and whether it is complete. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct egress_meta);
	__uint(max_entries, 1);
} meta SEC(".maps");

/* The session a decision is for. */
struct sess {
	__u64 id;
	struct egress_session *s;
};

/* A destination, normalised: IPv4-mapped IPv6 becomes IPv4. */
struct dest {
	__u32 addr[4]; /* network order; IPv4 in addr[0] */
	__u16 port;    /* host order */
	__u8 v4;
};

enum { SPECIAL_NONE = 0, SPECIAL_LOOPBACK, SPECIAL_METADATA };

static __always_inline void stat_add(struct sess *ss, __u32 slot, __u64 n)
{
	if (slot < _EGRESS_STAT_MAX)
		ss->s->stats[slot] += n; /* this CPU's copy */
}

/* The session of the current task (sock_addr hooks) or of the packet's
 * socket (cgroup_skb: ancestor != 0). A private instance has one session.
 * The shared instance, attached to kdc.slice, runs for every cgroup below
 * it: the session is the cgroup itself or, when the process sits in a
 * sub-cgroup of it, the shallowest registered ancestor below kdc.slice
 * (sessions never nest). Returns 0 when the cgroup has no entry. */
static __always_inline int find_session(struct sess *ss, struct __sk_buff *skb)
{
	__u64 id;

	if (cfg_private_id) {
		ss->id = cfg_private_id;
		ss->s = bpf_map_lookup_elem(&sessions, &ss->id);
		return ss->s != NULL;
	}
	id = skb ? bpf_skb_cgroup_id(skb) : bpf_get_current_cgroup_id();
	ss->s = bpf_map_lookup_elem(&sessions, &id);
	if (ss->s) {
		ss->id = id;
		return 1;
	}
#pragma unroll
	for (int i = 1; i <= EGRESS_MAX_DEPTH; i++) {
		id = skb ? bpf_skb_ancestor_cgroup_id(skb, (int) cfg_slice_level + i)
			 : bpf_get_current_ancestor_cgroup_id((int) cfg_slice_level + i);
		if (!id)
			return 0;
		ss->s = bpf_map_lookup_elem(&sessions, &id);
		if (ss->s) {
			ss->id = id;
			return 1;
		}
	}
	return 0;
}

/* What a cgroup without an entry gets. A private instance is attached to
 * its own session only, which is registered before the attach: a missing
 * entry cannot happen, and is denied. The shared instance abstains (allows,
 * counts nothing, says nothing) and leaves the decision to the other
 * programs on the cgroup; egress.c says why that opens no hole. */
static __always_inline int no_session(void)
{
	return cfg_private_id ? 0 : 1;
}

static __always_inline int special4(__u32 a /* network order */)
{
	__u32 h = bpf_ntohl(a);
	if ((h >> 24) == 127 || (h >> 24) == 0)
		return SPECIAL_LOOPBACK;
	if (h == 0xa9fea9feu /* 169.254.169.254 */ || h == 0x646464c8u /* 100.100.100.200 */)
		return SPECIAL_METADATA;
	return SPECIAL_NONE;
}

static __always_inline int special(const struct dest *d)
{
	if (d->v4)
		return special4(d->addr[0]);
	/* ::1 and :: */
	if (d->addr[0] == 0 && d->addr[1] == 0 && d->addr[2] == 0 && (d->addr[3] == 0 || d->addr[3] == bpf_htonl(1)))
		return SPECIAL_LOOPBACK;
	/* fd00:ec2::254 */
	if (d->addr[0] == bpf_htonl(0xfd000ec2) && d->addr[1] == 0 && d->addr[2] == 0 && d->addr[3] == bpf_htonl(0x254))
		return SPECIAL_METADATA;
	/* NAT64 well-known prefix 64:ff9b::/96 spells an IPv4 address. */
	if (d->addr[0] == bpf_htonl(0x0064ff9b) && d->addr[1] == 0 && d->addr[2] == 0)
		return special4(d->addr[3]);
	return SPECIAL_NONE;
}

static __always_inline void dest_set6(struct dest *d, __u32 a0, __u32 a1, __u32 a2, __u32 a3)
{
	if (a0 == 0 && a1 == 0 && a2 == bpf_htonl(0xffff)) {
		d->v4 = 1;
		d->addr[0] = a3;
		d->addr[1] = d->addr[2] = d->addr[3] = 0;
	} else {
		d->v4 = 0;
		d->addr[0] = a0;
		d->addr[1] = a1;
		d->addr[2] = a2;
		d->addr[3] = a3;
	}
}

static __always_inline const struct egress_value *lookup(void *allow, const struct dest *d, __u32 port_net)
{
	struct egress_key k = {
	    .prefixlen = EGRESS_KEY_BITS,
	    .port = port_net,
	    .family = bpf_htonl(d->v4 ? 4 : 6),
	};
	k.addr[0] = d->addr[0];
	k.addr[1] = d->addr[1];
	k.addr[2] = d->addr[2];
	k.addr[3] = d->addr[3];
	return bpf_map_lookup_elem(allow, &k);
}

static __always_inline int opens(const struct egress_value *v, int sp)
{
	if (!v)
		return 0;
	if (sp == SPECIAL_LOOPBACK)
		return !!(v->flags & EGRESS_RULE_LOOPBACK);
	if (sp == SPECIAL_METADATA)
		return !!(v->flags & EGRESS_RULE_METADATA);
	return 1;
}

/* The decision. sp is the destination's special class (the caller may force
 * SPECIAL_LOOPBACK for packets leaving through lo). Returns 1 to allow. */
static __always_inline int decide(struct sess *ss, const struct dest *d, int sp, __u8 *reason)
{
	const struct egress_value *v;
	void *allow;

	if (ss->s->flags & EGRESS_SESSION_DENY_ALL) {
		if (sp == SPECIAL_LOOPBACK) {
			*reason = EGRESS_REASON_OWN_NETNS;
			return 1;
		}
		*reason = EGRESS_REASON_DENY_ALL;
		return 0;
	}

	/* Longest match among the entries for this exact port, then among the
	 * any-port entries. CIDRs nest or are disjoint, so when an explicit
	 * loopback/metadata entry matches it is also the longest match. */
	allow = bpf_map_lookup_elem(&allowlists, &ss->id);
	v = allow ? lookup(allow, d, bpf_htonl(d->port)) : NULL;
	if (allow && !opens(v, sp))
		v = lookup(allow, d, 0);
	if (opens(v, sp)) {
		*reason = EGRESS_REASON_RULE;
		return 1;
	}
	*reason = sp == SPECIAL_LOOPBACK   ? EGRESS_REASON_LOOPBACK
		  : sp == SPECIAL_METADATA ? EGRESS_REASON_METADATA
					   : EGRESS_REASON_NO_RULE;
	return 0;
}

static __always_inline void emit(struct sess *ss, __u8 hook, __u8 allowed, __u8 reason, __u8 family, __u8 proto,
				 const __u32 *addr, __u16 port, __u32 pid)
{
	struct egress_event *e;
	__u64 slot, *owner;
	void *rb;

	stat_add(ss, allowed ? EGRESS_STAT_ALLOWED : EGRESS_STAT_DENIED, 1);
	/* Only into a ring the session holds: a slot given back (or never
	 * taken) says nothing, whatever ring it still has. */
	slot = ss->s->ring;
	owner = bpf_map_lookup_elem(&ring_owners, &slot);
	rb = owner && *owner == ss->id ? bpf_map_lookup_elem(&rings, &slot) : NULL;
	e = rb ? bpf_ringbuf_reserve(rb, sizeof(*e), 0) : NULL;
	if (!e) {
		stat_add(ss, EGRESS_STAT_LOST, 1);
		return;
	}
	e->session = ss->id;
	e->pad2 = 0;
	/* A branch no instance takes (no cgroup is that deep): it makes
	 * ring_ids one of the programs' maps, which is how the loader finds
	 * the maps of an attached instance. */
	if (cfg_slice_level == (__u32) -1)
		bpf_map_lookup_elem(&ring_ids, &e->pad2);
	e->addr[0] = addr[0];
	e->addr[1] = addr[1];
	e->addr[2] = addr[2];
	e->addr[3] = addr[3];
	e->pid = pid;
	e->port = port;
	e->family = family;
	e->proto = proto;
	e->hook = hook;
	e->allowed = allowed;
	e->reason = reason;
	e->pad = 0;
	/* A wakeup costs the caller microseconds (an IPI to the reader's CPU):
	 * allowed decisions do not wake the reader unless the buffer is half
	 * full; it collects them at its next poll. Denials wake it. */
	if (allowed && bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA) < EGRESS_RINGBUF_SIZE / 2)
		bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	else
		bpf_ringbuf_submit(e, 0);
}

static __always_inline int sock_addr4(struct bpf_sock_addr *ctx, __u8 hook)
{
	struct dest d = {};
	struct sess ss;
	__u32 raw[4] = {};
	__u8 reason = 0;
	int allowed;

	if (!find_session(&ss, NULL))
		return no_session();
	if (ss.s->flags & EGRESS_SESSION_CLOSED)
		return 0;
	raw[0] = ctx->user_ip4;
	d.v4 = 1;
	d.addr[0] = raw[0];
	d.port = bpf_ntohs((__u16) ctx->user_port);

	allowed = decide(&ss, &d, special(&d), &reason);
	emit(&ss, hook, allowed, reason, AF_INET, ctx->protocol, raw, d.port, bpf_get_current_pid_tgid() >> 32);
	return allowed;
}

static __always_inline int sock_addr6(struct bpf_sock_addr *ctx, __u8 hook)
{
	struct dest d = {};
	struct sess ss;
	__u32 raw[4];
	__u8 reason = 0;
	int allowed;

	if (!find_session(&ss, NULL))
		return no_session();
	if (ss.s->flags & EGRESS_SESSION_CLOSED)
		return 0;
	raw[0] = ctx->user_ip6[0];
	raw[1] = ctx->user_ip6[1];
	raw[2] = ctx->user_ip6[2];
	raw[3] = ctx->user_ip6[3];
	dest_set6(&d, raw[0], raw[1], raw[2], raw[3]);
	d.port = bpf_ntohs((__u16) ctx->user_port);

	allowed = decide(&ss, &d, special(&d), &reason);
	emit(&ss, hook, allowed, reason, AF_INET6, ctx->protocol, raw, d.port, bpf_get_current_pid_tgid() >> 32);
	return allowed;
}

SEC("cgroup/connect4")
int connect4(struct bpf_sock_addr *ctx)
{
	return sock_addr4(ctx, EGRESS_HOOK_CONNECT4);
}

SEC("cgroup/connect6")
int connect6(struct bpf_sock_addr *ctx)
{
	return sock_addr6(ctx, EGRESS_HOOK_CONNECT6);
}

SEC("cgroup/sendmsg4")
int sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_addr4(ctx, EGRESS_HOOK_SENDMSG4);
}

SEC("cgroup/sendmsg6")
int sendmsg6(struct bpf_sock_addr *ctx)
{
	return sock_addr6(ctx, EGRESS_HOOK_SENDMSG6);
}

/* Filtered mode refuses every bind: the box shares the caller's network
 * namespace and must not listen there. The second wall allows it: the box
 * then has a network namespace of its own. */
static __always_inline int bind_common(struct bpf_sock_addr *ctx, __u8 hook, __u8 family)
{
	__u32 raw[4] = {};
	struct sess ss;
	int allowed;

	if (!find_session(&ss, NULL))
		return no_session();
	if (ss.s->flags & EGRESS_SESSION_CLOSED)
		return 0;
	allowed = !!(ss.s->flags & EGRESS_SESSION_DENY_ALL);
	if (family == AF_INET) {
		raw[0] = ctx->user_ip4;
	} else {
		raw[0] = ctx->user_ip6[0];
		raw[1] = ctx->user_ip6[1];
		raw[2] = ctx->user_ip6[2];
		raw[3] = ctx->user_ip6[3];
	}
	emit(&ss, hook, allowed, allowed ? EGRESS_REASON_OWN_NETNS : EGRESS_REASON_BIND, family, ctx->protocol, raw,
	     bpf_ntohs((__u16) ctx->user_port), bpf_get_current_pid_tgid() >> 32);
	return allowed;
}

SEC("cgroup/bind4")
int bind4(struct bpf_sock_addr *ctx)
{
	return bind_common(ctx, EGRESS_HOOK_BIND4, AF_INET);
}

SEC("cgroup/bind6")
int bind6(struct bpf_sock_addr *ctx)
{
	return bind_common(ctx, EGRESS_HOOK_BIND6, AF_INET6);
}

/* Minimal header views, read with bpf_skb_load_bytes (the data of a
 * cgroup_skb program starts at the network header). */
struct ip4_hdr {
	__u8 vhl;
	__u8 tos;
	__u16 len;
	__u16 id;
	__u16 frag;
	__u8 ttl;
	__u8 proto;
	__u16 csum;
	__u32 saddr;
	__u32 daddr;
};

struct ip6_hdr {
	__u32 flow;
	__u16 plen;
	__u8 nexthdr;
	__u8 hlim;
	__u32 saddr[4];
	__u32 daddr[4];
};

SEC("cgroup_skb/egress")
int egress_skb(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct dest d = {};
	struct sess ss;
	__u32 raw[4] = {};
	__u16 ports[2];
	__u8 proto, family, reason = 0;
	int sp, allowed;

	if (!find_session(&ss, skb))
		return no_session();
	if (ss.s->flags & EGRESS_SESSION_CLOSED)
		return 0;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct ip4_hdr h;
		if (bpf_skb_load_bytes(skb, 0, &h, sizeof(h)) < 0)
			goto drop_malformed;
		family = AF_INET;
		proto = h.proto;
		raw[0] = h.daddr;
		d.v4 = 1;
		d.addr[0] = h.daddr;
		if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && !(h.frag & bpf_htons(0x1fff)) &&
		    bpf_skb_load_bytes(skb, (h.vhl & 0xf) * 4, ports, sizeof(ports)) == 0)
			d.port = bpf_ntohs(ports[1]);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ip6_hdr h;
		if (bpf_skb_load_bytes(skb, 0, &h, sizeof(h)) < 0)
			goto drop_malformed;
		family = AF_INET6;
		proto = h.nexthdr;
		raw[0] = h.daddr[0];
		raw[1] = h.daddr[1];
		raw[2] = h.daddr[2];
		raw[3] = h.daddr[3];
		dest_set6(&d, raw[0], raw[1], raw[2], raw[3]);
		if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) &&
		    bpf_skb_load_bytes(skb, sizeof(h), ports, sizeof(ports)) == 0)
			d.port = bpf_ntohs(ports[1]);
	} else
		return 1; /* not IP: nothing leaves through an inet socket */

	/* Fragments and other protocols carry no port: only any-port entries match them. */

	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (sk && sk->type == SOCK_RAW) {
		emit(&ss, EGRESS_HOOK_SKB, 0, EGRESS_REASON_RAW, family, proto, raw, d.port, 0);
		return 0;
	}

	/* A packet leaving through lo goes to this host, whatever its address
	 * says (the host's own public address reaches its local services). */
	sp = special(&d);
	if (skb->ifindex == LOOPBACK_IFINDEX && sp == SPECIAL_NONE)
		sp = SPECIAL_LOOPBACK;

	allowed = decide(&ss, &d, sp, &reason);
	if (allowed) {
		stat_add(&ss, EGRESS_STAT_BYTES, skb->len);
		return 1;
	}
	emit(&ss, EGRESS_HOOK_SKB, 0, reason, family, proto, raw, d.port, 0);
	return 0;

drop_malformed:
	emit(&ss, EGRESS_HOOK_SKB, 0, EGRESS_REASON_NO_RULE, 0, 0, raw, 0, 0);
	return 0;
}
