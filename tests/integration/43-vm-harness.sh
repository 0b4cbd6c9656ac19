#!/bin/sh
# SPDX-License-Identifier: MIT
# The VM harness itself (tests/vm/kdc-vm): a guest still running at the
# timeout is examined before it is killed. Its vCPUs' registers (RIP, the
# privilege level, whether it halts) go to stderr, and an NMI panics the guest
# kernel (unknown_nmi_panic) with every task's state and stack on the console
# (panic_print=1): what a hung guest was doing is in the test's log, not lost.
# A guest that hangs in 'sleep' is the known case: its stack is named.
. "$top_srcdir/tests/lib/libtest.sh"

require_root
require_cmd python3
VM=$top_srcdir/tests/vm/kdc-vm
check=$("$VM" --check 2>&1) || skip_all "$check"

cat >"$TESTDIR/hang.sh" <<'EOS'
#!/bin/sh
echo "guest: sleeping"
exec sleep 1000
EOS
chmod 0755 "$TESTDIR/hang.sh"
"$VM" --timeout 25 --ro-share "$TESTDIR" "$TESTDIR/hang.sh" >"$TESTDIR/out" 2>&1
is "$?" 124 "a guest still running at the timeout: exit 124"
out=$(cat "$TESTDIR/out")
like "$out" "guest: sleeping" "... after the script's own output"
like "$out" "kdc-vm: timeout: CPU#0" "... its vCPUs' registers, named by CPU"
like "$out" "kdc-vm: timeout: RIP=[0-9a-f]+ .*CPL=[0-3] .*HLT=[01]" "... with RIP, privilege level and halt state"
like "$out" "Kernel panic - not syncing: NMI" "... then the NMI's panic in the guest"
like "$out" "task:sleep +state:S" "... with every task's state: the hung 'sleep'"
like "$out" "do_nanosleep" "... and its kernel stack"
like "$out" "kdc-vm: timeout: killed the guest after 25 s" "... and the timeout said last"
done_testing
