#!/bin/bash
# Network mode 'filtered' through kdc-run (DESIGN.md "Network modes"): the
# box shares the caller's network namespace and the eBPF programs on the
# session cgroup decide. Everything runs in a private world this test
# builds (TESTING.md network rule): a test namespace where kdc-run runs,
# joined by a veth to a "fake internet" namespace that holds 198.51.100.1
# and the metadata address 169.254.169.254.
. "$top_srcdir/tests/lib/libtest.sh"
require_root
require_cmd ip

NS=kdc-f$$
INET=kdc-g$$
private_world $NS $INET 169.254.169.254
tcp_listener $INET 198.51.100.1 8080
tcp_listener $INET 198.51.100.1 8081
tcp_listener $INET 169.254.169.254 80
tcp_listener $NS 127.0.0.1 8080
abstract_listener $NS kdc-fcanary-$$

# nsenter, not "ip netns exec": that remounts /sys and hides the cgroup2 mount
in_ns() { nsenter --net=/run/netns/$NS "$@"; }
# box-probe always exits 0: wait until it says "ok"
answers() { [ "$(in_ns "$PROBE_DIR/box-probe" tcp4 "$1" "$2")" = ok ]; }
for t in "198.51.100.1 8080" "198.51.100.1 8081" "169.254.169.254 80" "127.0.0.1 8080"; do
	wait_for answers $t
done
wait_for sh -c "[ \"\$(nsenter --net=/run/netns/$NS '$PROBE_DIR/box-probe' abstract kdc-fcanary-$$)\" = ok ]"

work=$(WHO=root make_workdir)
box() { # ALLOW... -- PROBE ARGS
	local allow=()
	while [ "$1" != -- ]; do allow+=(--allow "$1"); shift; done
	shift
	in_ns "$KDC_RUN" --profile default --quiet --net filtered "${allow[@]}" --workdir "$work" \
		--ro-bind "$PROBE_DIR:/probe" --json-status "$work/f.json" -- /probe/box-probe "$@" 2>&1
}

# Positive controls: without kdc everything answers.
for t in "198.51.100.1 8080" "198.51.100.1 8081" "169.254.169.254 80" "127.0.0.1 8080"; do
	is "$(in_ns "$PROBE_DIR/box-probe" tcp4 $t)" ok "without kdc: $t answers"
done
is "$(in_ns "$PROBE_DIR/box-probe" abstract kdc-fcanary-$$)" ok "without kdc: the abstract socket answers"

is "$(box 198.51.100.1:8080 -- tcp4 198.51.100.1 8080)" ok "filtered: the allowed destination is reachable"
like "$(cat "$work/f.json")" '"egress_allowed": [1-9]' "filtered: ... and counted as allowed"
is "$(box 198.51.100.1:8080 -- tcp4 198.51.100.1 8081)" EPERM "filtered: another port of the same host: EPERM"
like "$(cat "$work/f.json")" '"egress_denied": [1-9]' "filtered: ... counted as denied"
like "$(cat "$work/f.json")" 'deny connect4 .*198.51.100.1:8081' "filtered: ... and listed among the first denials"
is "$(box 0.0.0.0/0 -- tcp4 169.254.169.254 80)" EPERM "filtered: the metadata address stays denied under an allow-everything list"
is "$(box 0.0.0.0/0 -- tcp4 127.0.0.1 8080)" EPERM "filtered: the caller's loopback service is denied"
is "$(box 0.0.0.0/0 -- udp4 198.51.100.1 8081)" ok "filtered: UDP connect to an allowed destination works"
is "$(box 198.51.100.1:8080 -- udp4 198.51.100.1 53)" EPERM "filtered: UDP connect elsewhere: EPERM"
is "$(box 0.0.0.0/0 -- bind4 0.0.0.0 9999)" EPERM "filtered: binding a port is refused"
is "$(box 0.0.0.0/0 -- raw4)" EPERM "filtered: raw sockets are refused"
like "$(box 0.0.0.0/0 -- abstract kdc-fcanary-$$)" '^(EPERM|ECONNREFUSED)$' "filtered: the host's abstract socket is out of reach (Landlock scope)"
ok "filtered: the egress decisions are in the audit trail" sh -c "'$KDC_LEDGER' audit | grep -q 'bpf .*egress'"

# Unprivileged callers cannot load the programs: refused with the fix.
out=$(in_ns setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$TESTDIR/nobody-home" \
	KDC_DB="$TESTDIR/nobody-state/kdc/kdc.db" "$KDC_RUN" --profile default --net filtered --allow 198.51.100.1:8080 \
	--workdir "$TESTDIR/nobody-home" -- /bin/true 2>&1)
is "$?" 125 "nobody: filtered is refused (125)"
like "$out" "cannot use network mode 'filtered'" "nobody: ... saying why and the fix"
done_testing
