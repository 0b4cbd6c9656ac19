#!/bin/bash
# Privilege (TESTING.md "Privilege"): no capabilities in any set, no new
# privileges, seccomp on, and setuid binaries gain nothing.
. "$top_srcdir/tests/lib/libtest.sh"
require_root

cases() {
	local w=$WHO out uid
	out=$(probe_in status)
	uid=$([ "$w" = root ] && echo 0 || echo 65534)
	like "$out" "Uid:[[:space:]]+$uid[[:space:]]+$uid" "$w: the agent runs as the caller's uid"
	for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
		like "$out" "$cap:[[:space:]]+0000000000000000" "$w: $cap is empty"
	done
	like "$out" 'NoNewPrivs:[[:space:]]+1' "$w: no_new_privs is set"
	like "$out" 'Seccomp:[[:space:]]+2' "$w: a seccomp filter is installed"
}
for_each_user cases

# A setuid-root binary: the positive control shows it works outside the box
# (nobody gets euid 0), and inside nothing is gained.
mkdir -p "$TESTDIR/suid"
cp "$PROBE_DIR/box-probe" "$TESTDIR/suid/probe"
chown 0:0 "$TESTDIR/suid/probe"
chmod 4755 "$TESTDIR/suid/probe"
mkdir -p "$TESTDIR/nobody-home"
is "$(as_nobody "$TESTDIR/suid/probe" euid)" 0 "setuid-root gives euid 0 outside the box (positive control)"
is "$(WHO=nobody AS=as_nobody kdc_box --ro-bind "$TESTDIR/suid:/suid" -- /suid/probe euid 2>&1)" 65534 \
	"nobody: a setuid-root binary gains nothing in the box"

done_testing
