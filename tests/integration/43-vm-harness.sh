#!/bin/sh
# SPDX-License-Identifier: MIT
# The VM harness itself (tests/vm/kdc-vm): a guest still running at the
# timeout is examined before it is killed. Its vCPUs' registers (RIP, the
# privilege level, whether it halts) go to stderr, and an NMI panics the guest
# kernel (unknown_nmi_panic) with every task's state and stack on the console
# (panic_print=1): what a hung guest was doing is in the test's log, not lost.
# A guest that hangs in 'sleep' is the known case: its stack is named.
# A /dev/kvm that cannot run the guest (a nested host's: the guest says
# nothing) costs KDC_VM_KVM_WAIT seconds once: the guest is booted again
# under TCG, and KVM is not tried again until the host reboots.
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
# A KVM that keeps the guest silent: a stand-in device, and a qemu that
# hangs without a word when asked for KVM (the real one otherwise).
mkdir -p "$TESTDIR/bin"
cat >"$TESTDIR/bin/qemu-system-x86_64" <<EOS
#!/bin/sh
case " \$* " in *" -accel kvm "*) exec sleep 600 ;; esac
exec $(command -v qemu-system-x86_64) "\$@"
EOS
chmod 0755 "$TESTDIR/bin/qemu-system-x86_64"
: >"$TESTDIR/kvm"
add_cleanup "rm -f '${KDC_VM_CACHE:-/var/cache/kdc-vm}/kvm-broken.'*'$(printf '%s' "$TESTDIR/kvm" | tr / _)'"
cat >"$TESTDIR/hello.sh" <<'EOS'
#!/bin/sh
echo "guest: hello"
EOS
chmod 0755 "$TESTDIR/hello.sh"
vm_kvm() {
	PATH="$TESTDIR/bin:$PATH" KDC_VM_KVM_DEVICE="$TESTDIR/kvm" KDC_VM_KVM_WAIT=3 "$VM" --timeout 120 \
		--ro-share "$TESTDIR" "$TESTDIR/hello.sh" >"$TESTDIR/out" 2>&1
}
vm_kvm
is "$?" 0 "a guest that KVM keeps silent: booted again, it runs the script"
out=$(cat "$TESTDIR/out")
like "$out" "kdc-vm: KVM: no word from the guest after 3 s; booting it again under TCG" "... after saying so"
like "$out" "guest: hello" "... whose output comes back"
like "$out" "guest ran for [0-9]+ ms \(tcg\), rc=0" "... under TCG"
vm_kvm
is "$?" 0 "the next guest runs too"
unlike "$(cat "$TESTDIR/out")" "KVM: no word" "... without trying that KVM again"
like "$(cat "$TESTDIR/out")" "\(tcg\), rc=0" "... under TCG from the start"
KDC_VM_ACCEL=fast "$VM" "$TESTDIR/hello.sh" >"$TESTDIR/out" 2>&1
is "$?" 125 "KDC_VM_ACCEL=fast: refused (exit 125)"
like "$(cat "$TESTDIR/out")" "KDC_VM_ACCEL must be auto, kvm or tcg, not 'fast'" "... with the choices named"
done_testing
