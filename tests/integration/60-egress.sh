#!/bin/sh
# SPDX-License-Identifier: MIT
# 60-egress: the eBPF egress allowlist (src/bpf/egress.bpf.c) against the
# network attack catalogue of TESTING.md, in a private network world:
#
#   netns "caller" (where the box runs, as in filtered mode)
#     lo: loopback services of the caller (127.0.0.1:8080, [::1]:8080)
#     veth0 198.51.100.2/24 fd00:6b64::2/64 (its own services on *:9090, *:5353)
#     abstract socket @kdc-canary-PID
#   netns "internet" (the fake internet, reached through veth)
#     veth1 198.51.100.1/24 fd00:6b64::1/64 and the metadata addresses
#     169.254.169.254, 100.100.100.200, fd00:ec2::254; tcp 80 and 443, udp 53
#
# No packet leaves these two namespaces, whatever the filter does. Every
# destination is first proven reachable without kdc (positive control), then
# the box (net-probe under tests/egress/egress-run, as root and as nobody)
# gets the exact errno, and the ring-buffer events match the attempt.
. "$top_srcdir/tests/lib/libtest.sh"

set -f # allowlist entries contain brackets: never glob them

require_root
require_cmd ip nsenter setpriv unshare
PROBE="$top_builddir/tests/hostile/net-probe"
ERUN="$top_builddir/tests/egress/egress-run"
LRUN="$top_builddir/tests/egress/landlock-run"
for b in "$PROBE" "$ERUN" "$LRUN"; do
	[ -x "$b" ] || skip_all "test helper $b is not built"
done
why=$("$ERUN" --probe 2>&1) || skip_all "eBPF egress programs unavailable: $why"

# ---- the private world ----------------------------------------------------

NS_C="kdc-t$$-caller"
NS_I="kdc-t$$-inet"
ip netns add "$NS_C" || bail_out "cannot create network namespace $NS_C"
add_cleanup "ip netns del $NS_C"
ip netns add "$NS_I" || bail_out "cannot create network namespace $NS_I"
add_cleanup "ip netns del $NS_I"

in_c() { nsenter --net="/run/netns/$NS_C" "$@"; }
in_i() { nsenter --net="/run/netns/$NS_I" "$@"; }

# In the VM guest the veth module comes from the guest kernel's package
# (62-egress-vm passes its path); elsewhere the kernel loads it on demand.
if [ -n "${KDC_VETH_KO:-}" ] && ! grep -q '^veth ' /proc/modules; then
	insmod "$KDC_VETH_KO" 2>/dev/null || busybox insmod "$KDC_VETH_KO"
fi
ip -n "$NS_C" link add veth0 type veth peer name veth1 netns "$NS_I" ||
	skip_all "cannot create a veth pair (is the veth module available?)"
set -e
ip -n "$NS_C" link set lo up
ip -n "$NS_I" link set lo up
ip -n "$NS_C" addr add 198.51.100.2/24 dev veth0
ip -n "$NS_C" addr add fd00:6b64::2/64 dev veth0 nodad
ip -n "$NS_C" link set veth0 up
ip -n "$NS_I" addr add 198.51.100.1/24 dev veth1
ip -n "$NS_I" addr add fd00:6b64::1/64 dev veth1 nodad
ip -n "$NS_I" addr add 169.254.169.254/32 dev veth1
ip -n "$NS_I" addr add 100.100.100.200/32 dev veth1
ip -n "$NS_I" addr add fd00:ec2::254/128 dev veth1 nodad
ip -n "$NS_I" link set veth1 up
ip -n "$NS_C" route add default via 198.51.100.1
ip -n "$NS_C" -6 route add default via fd00:6b64::1
# ICMP datagram ("ping") sockets for every group, in the caller's netns only.
in_c sysctl -qw net.ipv4.ping_group_range="0 2147483647"
set +e

n_srv=0
serve() { # NETNS ARGS...: starts a net-probe server there (wait_servers waits for them)
	local ns=$1
	shift
	# nsenter itself in the background (it execs the server), so that $!
	# is the server; a backgrounded shell function would be a subshell.
	nsenter --net="/run/netns/$ns" "$@" >"$TESTDIR/srv.$n_srv" 2>&1 &
	add_cleanup "kill $!"
	n_srv=$((n_srv + 1))
}
wait_servers() {
	local i j n
	for i in $(seq 100); do
		n=0
		j=0
		while [ $j -lt $n_srv ]; do
			grep -q '^ready$' "$TESTDIR/srv.$j" && n=$((n + 1))
			j=$((j + 1))
		done
		[ "$n" -eq "$n_srv" ] && return 0
		sleep 0.1
	done
	bail_out "servers did not start"
}
CANARY="kdc-canary-$$"
serve "$NS_I" "$PROBE" tcp-serve :: 80
serve "$NS_I" "$PROBE" tcp-serve :: 443
serve "$NS_I" "$PROBE" udp-serve :: 53
serve "$NS_C" "$PROBE" tcp-serve 127.0.0.1 8080
serve "$NS_C" "$PROBE" tcp-serve ::1 8080
serve "$NS_C" "$PROBE" tcp-serve 0.0.0.0 9090
serve "$NS_C" "$PROBE" udp-serve 0.0.0.0 5353
serve "$NS_C" "$PROBE" abstract-serve "$CANARY"
wait_servers

# The links settle (IPv6 neighbour discovery, carrier) before any case runs.
for i in $(seq 50); do
	[ "$(in_c "$PROBE" -t 200 tcp-connect fd00:6b64::1 80 2>/dev/null)" = ok ] &&
		[ "$(in_c "$PROBE" -t 200 tcp-connect 198.51.100.1 80 2>/dev/null)" = ok ] && break
	sleep 0.1
done

P="$PROBE -t 1000"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all"

# ---- helpers ---------------------------------------------------------------

# KDC_EGRESS_QUICK=1 (the run inside the 6.1 VM, where TCG makes each case
# slow): root only, and only the cases marked "core".
QUICK=${KDC_EGRESS_QUICK:-0}
CORE=0
core() {
	CORE=1
	"$@"
	CORE=0
}
skipq() { [ "$QUICK" = 1 ] && [ "$CORE" != 1 ]; }

# outside PROBE-ARGS...: net-probe as $WHO in the caller's netns, no kdc.
outside() {
	in_c $AS_BOX $P "$@" 2>/dev/null
}

# box EGRESS-RUN-ARGS... -- COMMAND...: COMMAND as $WHO under egress-run in the
# caller's netns. Sets OUT (COMMAND's stdout), EVENTS (the event lines, the
# command's pid written PID), STATS.
box() {
	local a="" pid="" line l
	while [ "$1" != "--" ]; do
		a="$a $1"
		shift
	done
	shift
	OUT=$(in_c "$ERUN" $MODE $a --events "$TESTDIR/ev" -- $AS_BOX "$@" 2>"$TESTDIR/box.err")
	# Shell builtins only: every process costs a lot in the VM guest.
	EVENTS=""
	STATS=""
	while IFS= read -r line; do
		case $line in
		"egress: cgroup "*) echo "${line#egress: cgroup }" >>"$TESTDIR/cgroups" ;;
		"egress: pid "*) pid=${line#egress: pid } ;;
		"egress: shared") ;;
		"egress: stats "*) STATS=${line#egress: stats } ;;
		"egress: "*)
			l=${line#egress: }
			case $l in *" pid $pid") l="${l% pid "$pid"} pid PID" ;; esac
			EVENTS="${EVENTS:+$EVENTS
}$l"
			;;
		esac
	done <"$TESTDIR/ev"
}

# expect DESC WANT-OUT WANT-EVENTS ALLOW-ARGS... -- PROBE-ARGS...
expect() {
	local desc=$1 want=$2 want_ev=$3
	skipq && return 0
	shift 3
	box "$@"
	is "$OUT" "$want" "$WHO$LABEL: $desc"
	is "$EVENTS" "$want_ev" "$WHO$LABEL: $desc: events"
}

# reachable DESC PROBE-ARGS...: positive control, without kdc.
reachable() {
	local desc=$1
	skipq && return 0
	shift
	is "$(outside "$@")" ok "$WHO: without kdc, $desc is reachable"
}

A="--allow 198.51.100.1:80 --allow [fd00:6b64::1]:80 --allow 198.51.100.1:53"
B="--allow 0.0.0.0/0 --allow [::/0]"
C="--allow 169.254.169.254:80 --allow 127.0.0.1:8080 --allow 0.0.0.0/0:443"
D="--deny-all"

# ---- the cases, for root and for nobody in the box -------------------------

cases() {
	if [ "$WHO" = root ]; then AS_BOX=""; else AS_BOX="$NOBODY"; fi

	# Positive controls: the fake internet, the metadata service on it, the
	# caller's loopback and own-address services, the abstract canary.
	core reachable "tcp 198.51.100.1:80" tcp-connect 198.51.100.1 80
	reachable "tcp 198.51.100.1:443" tcp-connect 198.51.100.1 443
	core reachable "tcp [fd00:6b64::1]:443" tcp-connect fd00:6b64::1 443
	reachable "tcp [::ffff:198.51.100.1]:443" tcp-connect ::ffff:198.51.100.1 443
	reachable "udp 198.51.100.1:53 (echo)" udp-connect 198.51.100.1 53
	core reachable "udp [fd00:6b64::1]:53 (echo, unconnected)" udp-sendto fd00:6b64::1 53
	reachable "TCP Fast Open to 198.51.100.1:443" tcp-fastopen 198.51.100.1 443
	core reachable "the metadata service 169.254.169.254:80" tcp-connect 169.254.169.254 80
	reachable "the metadata service as [::ffff:169.254.169.254]:80" tcp-connect ::ffff:169.254.169.254 80
	reachable "the metadata service 100.100.100.200:80" tcp-connect 100.100.100.200 80
	reachable "the metadata service [fd00:ec2::254]:80" tcp-connect fd00:ec2::254 80
	reachable "udp 169.254.169.254:53" udp-sendto 169.254.169.254 53
	reachable "ping 169.254.169.254" icmp 169.254.169.254
	reachable "ping 198.51.100.1" icmp 198.51.100.1
	core reachable "the caller's 127.0.0.1:8080" tcp-connect 127.0.0.1 8080
	reachable "the caller's [::1]:8080" tcp-connect ::1 8080
	reachable "the caller's udp 127.0.0.1:5353" udp-sendto 127.0.0.1 5353
	reachable "the caller's own address 198.51.100.2:9090" tcp-connect 198.51.100.2 9090
	core reachable "the caller's own address udp 198.51.100.2:5353" udp-sendto 198.51.100.2 5353
	reachable "bind 0.0.0.0:0" bind 0.0.0.0 0
	reachable "the abstract socket @$CANARY" abstract-connect "$CANARY"
	if [ "$WHO" = root ]; then
		core reachable "raw ICMP to 198.51.100.1" raw 198.51.100.1
		reachable "raw ICMPv6 to fd00:6b64::1" raw fd00:6b64::1
		reachable "an AF_PACKET frame out of veth0" packet veth0
	fi

	# A typical list: the allowed destinations work ...
	core expect "allowed tcp 198.51.100.1:80" ok "allow connect4 tcp 198.51.100.1:80 rule pid PID" \
		$A -- $P tcp-connect 198.51.100.1 80
	like "$STATS" "^bytes=[1-9][0-9]* allowed=1 denied=0 lost=0$" "$WHO: egress bytes are counted"
	expect "allowed tcp [fd00:6b64::1]:80" ok "allow connect6 tcp [fd00:6b64::1]:80 rule pid PID" \
		$A -- $P tcp-connect fd00:6b64::1 80
	core expect "allowed tcp v4-mapped [::ffff:198.51.100.1]:80 (through the IPv4 rule)" ok \
		"allow connect6 tcp [::ffff:198.51.100.1]:80 rule pid PID" $A -- $P tcp-connect ::ffff:198.51.100.1 80
	expect "allowed udp connected 198.51.100.1:53" ok "allow connect4 udp 198.51.100.1:53 rule pid PID" \
		$A -- $P udp-connect 198.51.100.1 53
	core expect "allowed udp unconnected 198.51.100.1:53" ok "allow sendmsg4 udp 198.51.100.1:53 rule pid PID" \
		$A -- $P udp-sendto 198.51.100.1 53
	expect "allowed TCP Fast Open 198.51.100.1:80" ok "allow connect4 tcp 198.51.100.1:80 rule pid PID" \
		$A -- $P tcp-fastopen 198.51.100.1 80

	# ... and nothing else: other ports, other hosts, UDP, v6, v4-mapped, TFO.
	core expect "tcp 198.51.100.1:443 (port not listed)" EPERM "deny connect4 tcp 198.51.100.1:443 no-rule pid PID" \
		$A -- $P tcp-connect 198.51.100.1 443
	expect "tcp [fd00:6b64::1]:443" EPERM "deny connect6 tcp [fd00:6b64::1]:443 no-rule pid PID" \
		$A -- $P tcp-connect fd00:6b64::1 443
	expect "tcp v4-mapped [::ffff:198.51.100.1]:443" EPERM \
		"deny connect6 tcp [::ffff:198.51.100.1]:443 no-rule pid PID" $A -- $P tcp-connect ::ffff:198.51.100.1 443
	core expect "TCP Fast Open 198.51.100.1:443" EPERM "deny connect4 tcp 198.51.100.1:443 no-rule pid PID" \
		$A -- $P tcp-fastopen 198.51.100.1 443
	expect "udp connected [fd00:6b64::1]:53" EPERM "deny connect6 udp [fd00:6b64::1]:53 no-rule pid PID" \
		$A -- $P udp-connect fd00:6b64::1 53
	core expect "udp unconnected [fd00:6b64::1]:53" EPERM "deny sendmsg6 udp [fd00:6b64::1]:53 no-rule pid PID" \
		$A -- $P udp-sendto fd00:6b64::1 53
	core expect "ping 198.51.100.1 (no socket hook: dropped as a packet)" EPERM \
		"deny skb icmp 198.51.100.1:0 no-rule pid 0" $A -- $P icmp 198.51.100.1

	# Metadata, in every spelling.
	core expect "tcp 169.254.169.254:80" EPERM "deny connect4 tcp 169.254.169.254:80 metadata pid PID" \
		$A -- $P tcp-connect 169.254.169.254 80
	core expect "tcp [::ffff:169.254.169.254]:80" EPERM \
		"deny connect6 tcp [::ffff:169.254.169.254]:80 metadata pid PID" $A -- $P tcp-connect ::ffff:169.254.169.254 80
	expect "tcp 100.100.100.200:80" EPERM "deny connect4 tcp 100.100.100.200:80 metadata pid PID" \
		$A -- $P tcp-connect 100.100.100.200 80
	expect "tcp [fd00:ec2::254]:80" EPERM "deny connect6 tcp [fd00:ec2::254]:80 metadata pid PID" \
		$A -- $P tcp-connect fd00:ec2::254 80
	expect "udp unconnected 169.254.169.254:53" EPERM "deny sendmsg4 udp 169.254.169.254:53 metadata pid PID" \
		$A -- $P udp-sendto 169.254.169.254 53
	# An unconnected v4-mapped send is handed to the IPv4 code (and hook) by udpv6_sendmsg.
	if ! skipq; then
		box $A -- $P udp-sendto ::ffff:169.254.169.254 53
		is "$OUT" EPERM "$WHO: udp unconnected [::ffff:169.254.169.254]:53"
		like "$EVENTS" \
			'^deny sendmsg(4 udp 169\.254\.169\.254|6 udp \[::ffff:169\.254\.169\.254\]):53 metadata pid PID$' \
			"$WHO: udp unconnected [::ffff:169.254.169.254]:53: events"
	fi
	expect "ping 169.254.169.254" EPERM "deny skb icmp 169.254.169.254:0 metadata pid 0" \
		$A -- $P icmp 169.254.169.254

	# The caller's loopback services and its own address.
	expect "tcp 127.0.0.1:8080" EPERM "deny connect4 tcp 127.0.0.1:8080 loopback pid PID" \
		$A -- $P tcp-connect 127.0.0.1 8080
	core expect "tcp [::1]:8080" EPERM "deny connect6 tcp [::1]:8080 loopback pid PID" $A -- $P tcp-connect ::1 8080
	expect "tcp [::ffff:127.0.0.1]:8080" EPERM "deny connect6 tcp [::ffff:127.0.0.1]:8080 loopback pid PID" \
		$A -- $P tcp-connect ::ffff:127.0.0.1 8080
	expect "tcp 0.0.0.0:8080 (this host)" EPERM "deny connect4 tcp 0.0.0.0:8080 loopback pid PID" \
		$A -- $P tcp-connect 0.0.0.0 8080
	expect "udp 127.0.0.1:5353" EPERM "deny sendmsg4 udp 127.0.0.1:5353 loopback pid PID" \
		$A -- $P udp-sendto 127.0.0.1 5353
	expect "tcp 198.51.100.2:9090 (own address)" EPERM "deny connect4 tcp 198.51.100.2:9090 no-rule pid PID" \
		$A -- $P tcp-connect 198.51.100.2 9090

	# Binding a port: refused, any family, protocol or address.
	expect "bind 0.0.0.0:0" EPERM "deny bind4 tcp 0.0.0.0:0 bind pid PID" $A -- $P bind 0.0.0.0 0
	core expect "bind udp [::]:0" EPERM "deny bind6 udp [::]:0 bind pid PID" $A -- $P bind :: 0 udp
	expect "bind 127.0.0.1:8099" EPERM "deny bind4 tcp 127.0.0.1:8099 bind pid PID" $A -- $P bind 127.0.0.1 8099

	# Raw and packet sockets. With CAP_NET_RAW (root) a raw socket opens,
	# and its packets are dropped by cgroup_skb/egress; without it (nobody,
	# or root without the capability, as in kdc's box) socket() fails.
	# AF_PACKET bypasses every cgroup hook (FACTS.md): seccomp and the
	# missing capability refuse it.
	if [ "$WHO" = root ]; then
		core expect "raw ICMP socket with CAP_NET_RAW" EPERM "deny skb icmp 198.51.100.1:0 raw pid 0" \
			$A -- $P raw 198.51.100.1
		expect "raw ICMPv6 socket with CAP_NET_RAW" EPERM "deny skb icmpv6 [fd00:6b64::1]:0 raw pid 0" \
			$A -- $P raw fd00:6b64::1
		expect "raw socket without CAP_NET_RAW" EPERM "" $A --drop-net-raw -- $P raw 198.51.100.1
		expect "packet socket without CAP_NET_RAW" EPERM "" $A --drop-net-raw -- $P packet veth0
	else
		expect "raw socket" EPERM "" $A -- $P raw 198.51.100.1
		expect "packet socket" EPERM "" $A -- $P packet veth0
	fi

	# The caller's abstract socket: BPF does not see Unix sockets (the
	# canary answers from inside the cgroup); Landlock's scope refuses it.
	expect "abstract @$CANARY inside the cgroup, without Landlock" ok "" $A -- $P abstract-connect "$CANARY"
	if skipq; then
		:
	elif [ "$(in_c "$LRUN" --abi)" -ge 6 ]; then
		expect "abstract @$CANARY with Landlock's abstract-socket scope" EPERM "" \
			$A -- "$LRUN" --scope-abstract -- $P abstract-connect "$CANARY"
	else
		skip "Landlock ABI < 6: no abstract-socket scope on this kernel" 2
	fi

	# An allow-everything list still blocks metadata and loopback.
	expect "allow-everything: tcp 198.51.100.1:443" ok "allow connect4 tcp 198.51.100.1:443 rule pid PID" \
		$B -- $P tcp-connect 198.51.100.1 443
	expect "allow-everything: tcp [fd00:6b64::1]:443" ok "allow connect6 tcp [fd00:6b64::1]:443 rule pid PID" \
		$B -- $P tcp-connect fd00:6b64::1 443
	expect "allow-everything: ping 198.51.100.1" ok "" $B -- $P icmp 198.51.100.1
	core expect "allow-everything: tcp 169.254.169.254:80" EPERM "deny connect4 tcp 169.254.169.254:80 metadata pid PID" \
		$B -- $P tcp-connect 169.254.169.254 80
	expect "allow-everything: tcp [::ffff:169.254.169.254]:80" EPERM \
		"deny connect6 tcp [::ffff:169.254.169.254]:80 metadata pid PID" $B -- $P tcp-connect ::ffff:169.254.169.254 80
	expect "allow-everything: tcp 100.100.100.200:80" EPERM \
		"deny connect4 tcp 100.100.100.200:80 metadata pid PID" $B -- $P tcp-connect 100.100.100.200 80
	expect "allow-everything: tcp [fd00:ec2::254]:80" EPERM "deny connect6 tcp [fd00:ec2::254]:80 metadata pid PID" \
		$B -- $P tcp-connect fd00:ec2::254 80
	expect "allow-everything: udp 169.254.169.254:53" EPERM \
		"deny sendmsg4 udp 169.254.169.254:53 metadata pid PID" $B -- $P udp-sendto 169.254.169.254 53
	expect "allow-everything: ping 169.254.169.254" EPERM "deny skb icmp 169.254.169.254:0 metadata pid 0" \
		$B -- $P icmp 169.254.169.254
	expect "allow-everything: tcp 127.0.0.1:8080" EPERM "deny connect4 tcp 127.0.0.1:8080 loopback pid PID" \
		$B -- $P tcp-connect 127.0.0.1 8080
	expect "allow-everything: tcp [::1]:8080" EPERM "deny connect6 tcp [::1]:8080 loopback pid PID" \
		$B -- $P tcp-connect ::1 8080
	# The caller's own address is local too: its packets leave through lo,
	# where cgroup_skb/egress drops them (no errno for TCP: the SYN is lost).
	core expect "allow-everything: udp 198.51.100.2:5353 (own address, over lo)" EPERM \
		"allow sendmsg4 udp 198.51.100.2:5353 rule pid PID
deny skb udp 198.51.100.2:5353 loopback pid 0" $B -- $P udp-sendto 198.51.100.2 5353
	if ! skipq; then
		box $B -- $P tcp-connect 198.51.100.2 9090
		is "$OUT" ETIMEDOUT "$WHO: allow-everything: tcp 198.51.100.2:9090 (own address, over lo) never connects"
		like "$EVENTS" "^allow connect4 tcp 198.51.100.2:9090 rule pid PID
deny skb tcp 198.51.100.2:9090 loopback pid 0" "$WHO: allow-everything: tcp to own address: events"
	fi

	# Named explicitly, loopback and metadata open (and only what is named).
	expect "explicit: tcp 169.254.169.254:80" ok "allow connect4 tcp 169.254.169.254:80 rule pid PID" \
		$C -- $P tcp-connect 169.254.169.254 80
	expect "explicit: udp 169.254.169.254:53" EPERM "deny sendmsg4 udp 169.254.169.254:53 metadata pid PID" \
		$C -- $P udp-sendto 169.254.169.254 53
	expect "explicit: tcp 100.100.100.200:80" EPERM "deny connect4 tcp 100.100.100.200:80 metadata pid PID" \
		$C -- $P tcp-connect 100.100.100.200 80
	core expect "explicit: tcp 127.0.0.1:8080" ok "allow connect4 tcp 127.0.0.1:8080 rule pid PID" \
		$C -- $P tcp-connect 127.0.0.1 8080
	expect "explicit: tcp [::1]:8080" EPERM "deny connect6 tcp [::1]:8080 loopback pid PID" \
		$C -- $P tcp-connect ::1 8080
	expect "explicit: 0.0.0.0/0:443 does not open 127.0.0.1:443" EPERM \
		"deny connect4 tcp 127.0.0.1:443 loopback pid PID" $C -- $P tcp-connect 127.0.0.1 443
	expect "explicit: tcp 198.51.100.1:443" ok "allow connect4 tcp 198.51.100.1:443 rule pid PID" \
		$C -- $P tcp-connect 198.51.100.1 443

	# The second wall (net = none / proxy): only the box's own loopback.
	core expect "deny-all: tcp 198.51.100.1:80" EPERM "deny connect4 tcp 198.51.100.1:80 deny-all pid PID" \
		$D -- $P tcp-connect 198.51.100.1 80
	expect "deny-all: udp [fd00:6b64::1]:53" EPERM "deny sendmsg6 udp [fd00:6b64::1]:53 deny-all pid PID" \
		$D -- $P udp-sendto fd00:6b64::1 53
	expect "deny-all: tcp 169.254.169.254:80" EPERM "deny connect4 tcp 169.254.169.254:80 deny-all pid PID" \
		$D -- $P tcp-connect 169.254.169.254 80
	expect "deny-all: ping 198.51.100.1" EPERM "deny skb icmp 198.51.100.1:0 deny-all pid 0" \
		$D -- $P icmp 198.51.100.1
	core expect "deny-all: loopback 127.0.0.1:8080" ok "allow connect4 tcp 127.0.0.1:8080 own-netns pid PID" \
		$D -- $P tcp-connect 127.0.0.1 8080
	expect "deny-all: bind 127.0.0.1:0" ok "allow bind4 tcp 127.0.0.1:0 own-netns pid PID" \
		$D -- $P bind 127.0.0.1 0
}

# Every case through the shared programs (one instance on a cgroup that
# plays kdc.slice, the session in its child: what kdc-run does as root),
# then the core cases through the private programs (the fallback).
MODE=--shared
LABEL=""
if [ "$QUICK" = 1 ]; then
	WHO=root cases
else
	for_each_user cases
fi
MODE=""
LABEL=" (private programs)"
QUICK=1 WHO=root cases

# ---- refusals ----------------------------------------------------------------

out=$(as_nobody "$ERUN" --allow 198.51.100.1:80 -- true 2>&1)
is "$?" 1 "nobody: loading the programs fails"
is "$out" "egress-run: cannot use the eBPF egress programs: loading the eBPF egress programs needs CAP_BPF and \
CAP_NET_ADMIN in the initial user namespace (kernel.unprivileged_bpf_disabled is set); run kdc-run as root or \
through the system supervisor, or use net = none or net = proxy" "nobody: the refusal names the fix"
if as_nobody unshare -Ur true 2>/dev/null; then
	out=$(as_nobody unshare -Ur "$ERUN" --probe 2>&1)
	like "$out" "needs CAP_BPF and CAP_NET_ADMIN in the initial user namespace" \
		"nobody as root of a user namespace: refused the same way"
else
	skip "unprivileged user namespaces are disabled here"
fi

out=$("$ERUN" --allow 10.0.0.0/33 -- true 2>&1)
is "$?" 2 "a bad allow entry is refused"
is "$out" "egress-run: invalid allow entry '10.0.0.0/33': prefix length must be 0-32 for IPv4 and 0-128 for IPv6" \
	"a bad allow entry: exact message"

# ---- the links are fd-owned: a killed loader leaves no program -------------

# Not through in_c: a backgrounded function would be a subshell, and $! its pid.
nsenter --net="/run/netns/$NS_C" "$ERUN" $A --events "$TESTDIR/ev.kill" -- sleep 30 &
erun=$!
add_cleanup "kill -9 $erun"
for i in $(seq 50); do
	grep -q '^egress: pid ' "$TESTDIR/ev.kill" 2>/dev/null && break
	sleep 0.1
done
cg=$(sed -n 's/^egress: cgroup //p' "$TESTDIR/ev.kill")
add_cleanup "echo 1 > '$cg/cgroup.kill'; sleep 0.2; rmdir '$cg'"
if command -v bpftool >/dev/null 2>&1 || [ -x /usr/sbin/bpftool ]; then
	BPFTOOL=$(command -v bpftool || echo /usr/sbin/bpftool)
	n=$("$BPFTOOL" cgroup show "$cg" 2>/dev/null | grep -c -E 'connect4|connect6|sendmsg4|sendmsg6|bind4|bind6|egress')
	is "$n" 7 "seven programs are attached while the loader runs"
	kill -9 "$erun"
	wait "$erun" 2>/dev/null
	sleep 0.2
	n=$("$BPFTOOL" cgroup show "$cg" 2>/dev/null | grep -c -E 'connect4|connect6|sendmsg4|sendmsg6|bind4|bind6|egress')
	is "$n" 0 "after SIGKILL of the loader, no program stays attached"
else
	skip "bpftool not installed" 2
fi
echo 1 >"$cg/cgroup.kill" 2>/dev/null
sleep 0.2
rmdir "$cg" 2>/dev/null

# Every cgroup egress-run made is gone.
left=""
while read -r cg; do
	[ -d "$cg" ] && left="$left $cg"
done <"$TESTDIR/cgroups"
is "$left" "" "no test cgroup is left behind"

done_testing
