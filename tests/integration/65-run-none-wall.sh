#!/bin/bash
# SPDX-License-Identifier: MIT
# Network mode 'none' through kdc-run: the second wall (DESIGN.md "Network
# modes"). The box has its own network namespace with only loopback; for a
# caller who may load BPF (root) the egress programs are attached to the
# session cgroup as well, allowing only the box's own loopback ("deny-all").
# What the wall adds is observable: a connect to an outside address fails
# with EPERM at the wall (and is counted, listed and audited) where the
# namespace alone answers ENETUNREACH (nobody, no wall, no counters).
# kdc-run runs in a private world (TESTING.md network rule): a test namespace
# joined by a veth to a fake internet holding 198.51.100.1 and fd00:6b64::1.
. "$top_srcdir/tests/lib/libtest.sh"
require_root
require_cmd ip nsenter setpriv python3

NS=kdc-n$$
INET=kdc-m$$
private_world $NS $INET
tcp_listener $INET 198.51.100.1 8080
tcp_listener $INET fd00:6b64::1 8080

# nsenter, not "ip netns exec": that remounts /sys and hides the cgroup2 mount
in_ns() { nsenter --net=/run/netns/$NS "$@"; }
answers() { [ "$(in_ns "$PROBE_DIR/box-probe" "$@")" = ok ]; }
wait_for answers tcp4 198.51.100.1 8080
wait_for answers tcp6 fd00:6b64::1 8080

# Positive controls: from the namespace kdc-run runs in, everything answers.
is "$(in_ns "$PROBE_DIR/box-probe" tcp4 198.51.100.1 8080)" ok "without kdc: 198.51.100.1:8080 answers"
is "$(in_ns "$PROBE_DIR/box-probe" tcp6 fd00:6b64::1 8080)" ok "without kdc: [fd00:6b64::1]:8080 answers"
is "$(in_ns "$PROBE_DIR/box-probe" udp4 198.51.100.1 53)" ok "without kdc: a UDP connect to 198.51.100.1:53 works"

# The agent: three attempts outward, then a listener on the box's own
# loopback and a connect to it (python3 accepts one connection and exits).
AGENT='for t in "tcp4 198.51.100.1 8080" "tcp6 fd00:6b64::1 8080" "udp4 198.51.100.1 53"; do /probe/box-probe $t; done
python3 -c "
import socket
s = socket.socket(); s.bind((\"127.0.0.1\", 8080)); s.listen(1)
open(\"/tmp/listening\", \"w\").close(); s.accept()" &
for i in $(seq 50); do [ -e /tmp/listening ] && break; sleep 0.1; done
/probe/box-probe tcp4 127.0.0.1 8080; wait'

run_as() { # WHO: runs the agent as root or nobody, output in $work/$WHO.out
	local work
	work=$(make_workdir)
	if [ "$WHO" = nobody ]; then
		in_ns setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all env HOME="$TESTDIR/nobody-home" \
			KDC_DB="$TESTDIR/nobody-state/kdc/kdc.db" "$KDC_RUN" --profile default --quiet --workdir "$work" \
			--ro-bind "$PROBE_DIR:/probe" --json-status "$work/s.json" -- /bin/sh -c "$AGENT" >"$work/out" 2>&1
	else
		in_ns "$KDC_RUN" --profile default --quiet --workdir "$work" \
			--ro-bind "$PROBE_DIR:/probe" --json-status "$work/s.json" -- /bin/sh -c "$AGENT" >"$work/out" 2>&1
	fi
	echo "$work"
}

# root: the wall.
work=$(WHO=root run_as)
is "$(tr '\n' ' ' <"$work/out")" "EPERM EPERM EPERM ok " \
	"root: outward connects fail with EPERM at the wall; the box's own loopback works"
json=$(cat "$work/s.json")
like "$json" '"network": "none",' "root: the run was in mode none"
like "$json" '"egress_denied": 3,' "root: 3 denials counted"
like "$json" '"egress_allowed": 2,' "root: 2 allowed (the bind and connect on the box's own loopback)"
is "$(printf '%s\n' "$json" | sed -n 's/^    "\(.*\) pid [0-9]*",\{0,1\}$/\1/p')" "deny connect4 tcp 198.51.100.1:8080 deny-all
deny connect6 tcp [fd00:6b64::1]:8080 deny-all
deny connect4 udp 198.51.100.1:53 deny-all" "root: --json-status lists the three first denials"
sid=$(sed -n 's/^  "session": "\([0-9a-f]*\)",$/\1/p' "$work/s.json")
like "$sid" '^[0-9a-f]{32}$' "root: --json-status names the session"
rows=$("$KDC_LEDGER" audit --session "$sid" --format csv |
	awk -F, '$7 == "bpf" { sub(/ pid [0-9]+$/, "", $9); print $8, $10, $11, $9 }')
is "$rows" "egress deny none connect4 tcp 198.51.100.1:8080 deny-all
egress deny none connect6 tcp [fd00:6b64::1]:8080 deny-all
egress deny none connect4 udp 198.51.100.1:53 deny-all
egress allow none bind4 tcp 127.0.0.1:8080 own-netns
egress allow none connect4 tcp 127.0.0.1:8080 own-netns" "root: the audit trail has exactly these five egress decisions"

# More decisions than the audit takes one by one (1,000 per session): all
# counted, the first 1,000 audited, the rest said in a warning.
work=$(make_workdir)
in_ns "$KDC_RUN" --profile default --workdir "$work" --json-status "$work/many.json" -- python3 -c '
import socket
n = 0
for i in range(1005):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("198.51.100.1", 53))
    except PermissionError:
        n += 1
    s.close()
print(n)' >"$work/many.out" 2>"$work/many.err"
is "$(cat "$work/many.out")" 1005 "root: 1,005 connects, each refused at the wall"
json=$(cat "$work/many.json")
like "$json" '"egress_denied": 1005,' "root: ... all counted"
lost=$(printf '%s\n' "$json" | sed -n 's/^  "egress_lost": \([0-9]*\),$/\1/p')
is "$lost" 0 "root: ... none lost to a full ring buffer"
sid=$(sed -n 's/^  "session": "\([0-9a-f]*\)",$/\1/p' "$work/many.json")
is "$("$KDC_LEDGER" audit --session "$sid" --format csv | awk -F, '$7 == "bpf"' | wc -l)" 1000 \
	"root: ... the first 1,000 audited one by one"
like "$(cat "$work/many.err")" "kdc-run: warning: egress: 5 decisions beyond the first 1000 are counted, not audited one by one" \
	"root: ... and the rest said in a warning"

# nobody: no BPF privilege, no wall; the namespace alone refuses.
work=$(WHO=nobody run_as)
is "$(tr '\n' ' ' <"$work/out")" "ENETUNREACH ENETUNREACH ENETUNREACH ok " \
	"nobody: without the wall the namespace answers ENETUNREACH; the box's own loopback works"
json=$(cat "$work/s.json")
like "$json" '"egress_denied": null,' "nobody: no counters without the wall"
like "$json" '"egress_first_denials": \[\],' "nobody: ... and no denials listed"
done_testing
