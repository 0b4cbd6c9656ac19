#!/bin/sh
# SPDX-License-Identifier: MIT
# kdc-run's network mode 'filtered' on a kernel whose Landlock lacks the
# abstract-socket scope (ABI < 6): run in the 6.1 guest (Landlock ABI 2) by
# 62-egress-vm.sh. Without 'degrade = landlock' the run is refused with the
# reason and the fix; with it the run goes ahead with a warning, and the
# warning is true: the box reaches an abstract socket of the caller's
# network namespace (the guest's own; abstract names are per namespace).
# As root: the guest's cgroup2 root has every controller, so the profiles
# below degrade nothing but what they name. Few kdc-run calls: every exec is
# slow under TCG.
. "$top_srcdir/tests/lib/libtest.sh"
require_root
LRUN="$top_builddir/tests/egress/landlock-run"
NPROBE="$top_builddir/tests/hostile/net-probe"

ABI=$("$LRUN" --abi)
ok "the guest's Landlock has no abstract-socket scope (ABI $ABI, 1-5)" test "$ABI" -ge 1 -a "$ABI" -lt 6

CANARY="kdc-vcanary-$$"
"$NPROBE" abstract-serve "$CANARY" >"$TESTDIR/srv" 2>&1 &
add_cleanup "kill $!"
wait_for grep -q '^ready$' "$TESTDIR/srv"
is "$("$PROBE_DIR/box-probe" abstract "$CANARY")" ok "without kdc: @$CANARY answers"

# strict with only 'landlock' degradable, and strict itself: the pair differs
# in that line alone.
cat >"$TESTDIR/degraded.ini" <<EOT
[profile]
version = 1
include = strict

[sandbox]
degrade = landlock
EOT
mkdir -p "$TESTDIR/work"
run() { # PROFILE [OPTION...] -- COMMAND...: kdc-run in mode filtered, status file $TESTDIR/s.json
	p=$1
	shift
	"$KDC_RUN" --profile "$p" --net filtered --allow 198.51.100.1:80 --workdir "$TESTDIR/work" \
		--ro-bind "$PROBE_DIR:/probe" --json-status "$TESTDIR/s.json" "$@"
}

# The refusal is part of the plan: the ledger does not hear of the run (its
# tenant is not even made).
out=$(run strict -- /bin/true 2>&1)
is "$?" 125 "strict: filtered is refused (125)"
is "$out" "kdc-run: cannot use network mode 'filtered': Landlock ABI $ABI lacks the abstract-socket scope (ABI 6, Linux 6.12) that keeps the box off the host's abstract sockets; add 'degrade = landlock' to accept that" \
	"strict: ... with the reason and the fix, and nothing else"

out=$(run "$TESTDIR/degraded.ini" -- /probe/box-probe abstract "$CANARY" 2>"$TESTDIR/err")
is "$?" 0 "degrade = landlock: the run goes ahead"
is "$(cat "$TESTDIR/err")" "kdc-run: warning: Landlock ABI $ABI: the box can reach the host's abstract sockets (degraded by the profile)
kdc-run: created tenant 'root' in the ledger at $KDC_DB
kdc-run: exited: status 0" "degrade = landlock: ... with the warning, and no other (the tenant is made by this first admitted run)"
is "$out" ok "degrade = landlock: ... and, as warned, @$CANARY answers in the box"
like "$(tr -d ' \n' <"$TESTDIR/s.json")" '"degraded":\["landlock"\]' "degrade = landlock: --json-status lists the degradation"
done_testing
