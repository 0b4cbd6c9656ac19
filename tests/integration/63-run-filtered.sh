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
# Landlock ABI >= 6 (the refusal below ABI 6 is proven in the 6.1 guest, 62).
is "$(box 0.0.0.0/0 -- abstract kdc-fcanary-$$)" EPERM "filtered: the host's abstract socket is out of reach (Landlock scope)"

# The audit trail holds exactly the decisions of the run: one row per
# attempt, with its destination and why (kdc-ledger audit --format csv:
# actor, action, object, decision are columns 7-10; the object ends in the pid).
in_ns "$KDC_RUN" --profile default --quiet --net filtered --allow 198.51.100.1:8080 --allow 0.0.0.0/0:80 \
	--workdir "$work" --ro-bind "$PROBE_DIR:/probe" --json-status "$work/a.json" -- /bin/sh -c '
	for t in "tcp4 198.51.100.1 8080" "tcp4 198.51.100.1 8081" "tcp4 169.254.169.254 80" \
		"tcp4 127.0.0.1 8080" "udp4 198.51.100.1 80"; do /probe/box-probe $t; done' >"$work/a.out" 2>&1
is "$(tr '\n' ' ' <"$work/a.out")" "ok EPERM EPERM EPERM ok " "audit run: the box saw allow, deny (port), deny (metadata), deny (loopback), allow (udp)"
sid=$(sed -n 's/^  "session": "\([0-9a-f]*\)",$/\1/p' "$work/a.json")
like "$sid" '^[0-9a-f]{32}$' "audit run: --json-status names the session"
like "$(cat "$work/a.json")" '"egress_allowed": 2,' "audit run: 2 allowed in the counters"
like "$(cat "$work/a.json")" '"egress_denied": 3,' "audit run: 3 denied in the counters"
rows=$("$KDC_LEDGER" audit --session "$sid" --format csv |
	awk -F, '$7 == "bpf" && $8 == "egress" { sub(/ pid [0-9]+$/, "", $9); print $10, $9 }')
is "$rows" "allow connect4 tcp 198.51.100.1:8080 rule
deny connect4 tcp 198.51.100.1:8081 no-rule
deny connect4 tcp 169.254.169.254:80 metadata
deny connect4 tcp 127.0.0.1:8080 loopback
allow connect4 udp 198.51.100.1:80 rule" "audit run: the audit trail has exactly these five egress decisions, in order"
is "$("$KDC_LEDGER" audit --session "$sid" --format csv | awk -F, '$7 == "bpf" { n++ } END { print n + 0 }')" 5 \
	"audit run: ... and no other row from the egress programs"

# A HOST entry, resolved when the run starts and pinned: 'localhost' names
# loopback explicitly, so it opens the caller's loopback service at that
# port (and only there; without the entry it is EPERM, above).
is "$(box localhost:8080 -- tcp4 127.0.0.1 8080)" ok "filtered: --allow localhost:8080 reaches the loopback listener"
like "$(cat "$work/f.json")" '"egress_denied": 0,' "filtered: ... with no denial"
is "$(box localhost:8081 -- tcp4 127.0.0.1 8080)" EPERM "filtered: --allow localhost:8081 does not open port 8080"
out=$(in_ns "$KDC_RUN" --profile default --net filtered --allow localhost:8080 --print-profile 2>&1)
like "$out" '^; egress allowlist, resolved now and pinned for the run:$' "--print-profile: the pinned allowlist is shown"
like "$out" '^;   localhost:8080 -> 127\.0\.0\.1/32:8080(, \[::1/128\]:8080)? \(opens loopback\)$' \
	"--print-profile: ... with the HOST entry resolved to loopback"

# A ring that cannot be read (KDC_TEST_EGRESS_UNREADABLE=1, testing only:
# mapping it fails) must not keep kdc-run's loop spinning while the box runs:
# one warning, the decisions counted, and kdc-run idle. The box is denied
# once, then sleeps 2 s; a spinning kdc-run would use about 2 s of CPU.
# nsenter and env exec: $! is kdc-run itself.
nsenter --net=/run/netns/$NS env KDC_TEST_EGRESS_UNREADABLE=1 "$KDC_RUN" --profile default --net filtered --allow 198.51.100.1:8080 \
	--workdir "$work" --ro-bind "$PROBE_DIR:/probe" --json-status "$work/u.json" -- /bin/sh -c \
	'/probe/box-probe tcp4 198.51.100.1 8081; sleep 2' >"$work/u.out" 2>&1 &
kr=$!
add_cleanup "kill -9 $kr 2>/dev/null"
sleep 1.5
ticks=$(awk '{ print $14 + $15 }' "/proc/$kr/stat" 2>/dev/null)
ok "unreadable ring: kdc-run does not spin while the box runs ($ticks ticks of CPU after 1.5 s)" \
	test -n "$ticks" -a "${ticks:-999}" -lt 30
wait $kr
is "$?" 0 "unreadable ring: the run ends normally"
is "$(grep -c "egress: cannot read the box's decisions" "$work/u.out")" 1 "unreadable ring: ... with one warning"
like "$(cat "$work/u.out")" "^EPERM" "unreadable ring: the box was denied"
like "$(cat "$work/u.json")" '"egress_denied": 1,' "unreadable ring: ... and the denial is counted"

# [network] from a profile file, not from the command line.
cat >"$TESTDIR/filtered.ini" <<EOT
[profile]
version = 1
include = default

[network]
mode = filtered
allow = 198.51.100.1:8081
EOT
pbox() { in_ns "$KDC_RUN" --profile "$TESTDIR/filtered.ini" --quiet --workdir "$work" --ro-bind "$PROBE_DIR:/probe" \
	-- /probe/box-probe "$@" 2>&1; }
is "$(pbox tcp4 198.51.100.1 8081)" ok "profile file: its allow entry is reachable"
is "$(pbox tcp4 198.51.100.1 8080)" EPERM "profile file: another port is EPERM"
out=$(in_ns "$KDC_RUN" --profile "$TESTDIR/filtered.ini" --print-profile 2>&1)
like "$out" "^mode = filtered ; from $TESTDIR/filtered.ini:6\$" "profile file: --print-profile names the file for the mode"
like "$out" "^allow = 198\.51\.100\.1:8081 ; from $TESTDIR/filtered.ini:7\$" "profile file: ... and for the entry"
like "$out" '^;   198\.51\.100\.1:8081 -> 198\.51\.100\.1/32:8081$' "profile file: ... and the pinned allowlist"

# Unprivileged callers cannot load the programs: refused with the fix.
out=$(in_ns setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$TESTDIR/nobody-home" \
	KDC_DB="$TESTDIR/nobody-state/kdc/kdc.db" "$KDC_RUN" --profile default --net filtered --allow 198.51.100.1:8080 \
	--workdir "$TESTDIR/nobody-home" -- /bin/true 2>&1)
is "$?" 125 "nobody: filtered is refused (125)"
# The default profile degrades the cgroup for nobody; filtered has nothing to attach to.
like "$out" "^kdc-run: cannot use network mode 'filtered' without a session cgroup to attach the egress programs to; run as root or through the system supervisor\$" \
	"nobody: ... saying why and the fix"
done_testing
