#!/bin/bash
# Network mode 'none' (TESTING.md "Network", network rule): the box has its
# own network namespace with only loopback. Everything runs inside a private
# world this test builds: a test namespace with a veth to a "fake internet"
# namespace holding 198.51.100.1 and fd00:6b64::1, so no packet can reach any
# other host even if the box were broken.
. "$top_srcdir/tests/lib/libtest.sh"
require_root
require_cmd ip

NS=kdc-t$$
INET=kdc-i$$
private_world $NS $INET
# Listeners: on the fake internet (v4 + v6), on the test namespace's loopback
# (the caller's own loopback service) and an abstract Unix socket.
tcp_listener $INET 198.51.100.1 8080
tcp_listener $INET fd00:6b64::1 8080
tcp_listener $NS 127.0.0.1 8080
tcp_listener $NS ::1 8080
abstract_listener $NS kdc-canary-$$

# Runs a command in the test namespace as $WHO.
in_ns() {
	if [ "${WHO:-root}" = nobody ]; then
		ip netns exec $NS setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
			env HOME="$TESTDIR/nobody-home" XDG_CACHE_HOME="$TESTDIR/nobody-home/.cache" KDC_DB="$TESTDIR/nobody-state/kdc/kdc.db" "$@"
	else
		ip netns exec $NS "$@"
	fi
}
out_ns() { in_ns "$PROBE_DIR/box-probe" "$@"; }
box_ns() {
	in_ns "$KDC_RUN" --profile default --quiet --workdir "$(make_workdir)" --ro-bind "$PROBE_DIR:/probe" \
		-- /probe/box-probe "$@" 2>&1
}
# box-probe always exits 0: wait until it says "ok"
answers() { [ "$(WHO=root out_ns "$@")" = ok ]; }
wait_for answers tcp4 198.51.100.1 8080
wait_for answers tcp6 fd00:6b64::1 8080
wait_for answers tcp4 127.0.0.1 8080
wait_for answers tcp6 ::1 8080
wait_for answers abstract kdc-canary-$$

cases() {
	local w=$WHO
	# Positive controls from the test namespace, without kdc.
	is "$(out_ns tcp4 198.51.100.1 8080)" ok "$w: fake host reachable without kdc (v4)"
	is "$(out_ns tcp6 fd00:6b64::1 8080)" ok "$w: fake host reachable without kdc (v6)"
	is "$(out_ns tcp4 127.0.0.1 8080)" ok "$w: loopback service reachable without kdc"
	is "$(out_ns tcp6 ::1 8080)" ok "$w: loopback v6 service reachable without kdc"
	is "$(out_ns abstract kdc-canary-$$)" ok "$w: abstract socket reachable without kdc"

	# The same from inside the box.
	is "$(box_ns tcp4 198.51.100.1 8080)" \
		ENETUNREACH "$w: TCP v4 to the fake host: ENETUNREACH"
	is "$(box_ns tcp6 fd00:6b64::1 8080)" \
		ENETUNREACH "$w: TCP v6 to the fake host: ENETUNREACH"
	is "$(box_ns udp4 198.51.100.1 53)" \
		ENETUNREACH "$w: UDP connect to the fake host: ENETUNREACH"
	is "$(box_ns tcp4 127.0.0.1 8080)" \
		ECONNREFUSED "$w: the caller's loopback service is not the box's loopback"
	is "$(box_ns tcp6 ::1 8080)" \
		ECONNREFUSED "$w: ... nor over IPv6"
	is "$(box_ns abstract kdc-canary-$$)" \
		ECONNREFUSED "$w: the host's abstract socket is unreachable"
	is "$(in_ns "$KDC_RUN" --profile default --quiet --workdir "$(make_workdir)" -- /bin/ls /proc/sys/net/ipv4/conf 2>&1 | tr '\n' ' ')" \
		"all default lo " "$w: the box's only interface is lo"
}
for_each_user cases
done_testing
