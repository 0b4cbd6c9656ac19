#!/bin/sh
# SPDX-License-Identifier: MIT
# 31-seccomp-attacks: the kernel-surface, terminal, process, device and
# socket attacks of TESTING.md's catalogue, one process each, as root and
# as uid 65534, three ways:
#   control   without the filter (seccomp-exec --no-filter): where the table
#             below says so for this user, the kernel must answer something
#             else than under the filter, proving the call reaches it
#   filtered  the default policy: the exact errno
#   kill      on_violation = kill: every EPERM becomes death by SIGSYS (exit
#             159) at the named syscall; ENOSYS and EAFNOSUPPORT stay errnos
# The probe's arguments keep even root's unfiltered control harmless
# (tests/hostile/seccomp-probe.c says how).

. "$top_srcdir/tests/lib/libtest.sh"

H="$top_builddir/tests/hostile"
[ "$(uname -m)" = x86_64 ] || skip_all "the policy is written for x86_64, this is $(uname -m)"
[ -x "$H/seccomp-probe" ] && [ -x "$H/seccomp-exec" ] || skip_all "tests/hostile not built (run 'make check')"

# attack            syscall           filtered        the control differs for
EXPECT='
tiocsti             ioctl             EPERM           root nobody
tiocsti-hi          ioctl             EPERM           root nobody
tioclinux           ioctl             EPERM           root nobody
tcgets              -                 ok              -
clone-newuser       clone             EPERM           root nobody
clone-newns         clone             EPERM           root
clone-newpid        clone             EPERM           root
clone-newnet        clone             EPERM           root
clone-newipc        clone             EPERM           root
clone-newuts        clone             EPERM           root
clone-newcgroup     clone             EPERM           root
clone-fork          -                 ok              -
clone3-newuser      clone3            ENOSYS          root nobody
unshare-user        unshare           EPERM           root nobody
setns               setns             EPERM           root
mount               mount             EPERM           root nobody
umount2             umount2           EPERM           root nobody
pivot_root          pivot_root        EPERM           root
chroot              chroot            EPERM           root nobody
open_tree           open_tree         EPERM           root nobody
move_mount          move_mount        EPERM           root
fsopen              fsopen            EPERM           root
fspick              fspick            EPERM           root
fsconfig            fsconfig          EPERM           root nobody
fsmount             fsmount           EPERM           root
mount_setattr       mount_setattr     EPERM           root nobody
ptrace              ptrace            EPERM           root nobody
process_vm_readv    process_vm_readv  EPERM           root nobody
pidfd_getfd         pidfd_getfd       EPERM           root nobody
kcmp                kcmp              EPERM           root nobody
bpf                 bpf               EPERM           root
userfaultfd         userfaultfd       EPERM           root nobody
io_uring_setup      io_uring_setup    EPERM           root nobody
perf_event_open     perf_event_open   EPERM           root
fanotify_init       fanotify_init     EPERM           root
keyctl              keyctl            EPERM           root nobody
add_key             add_key           EPERM           root nobody
request_key         request_key       EPERM           root nobody
name_to_handle_at   name_to_handle_at EPERM           root nobody
open_by_handle_at   open_by_handle_at EPERM           root
kexec_load          kexec_load        EPERM           root
kexec_file_load     kexec_file_load   EPERM           root
init_module         init_module       EPERM           root
finit_module        finit_module      EPERM           root
delete_module       delete_module     EPERM           root
reboot              reboot            EPERM           root
swapon              swapon            EPERM           root
swapoff             swapoff           EPERM           root
syslog              syslog            EPERM           root
acct                acct              EPERM           root
quotactl            quotactl          EPERM           root
iopl                iopl              EPERM           root
ioperm              ioperm            EPERM           root
settimeofday        settimeofday      EPERM           root nobody
clock_settime       clock_settime     EPERM           root nobody
adjtimex            adjtimex          EPERM           root nobody
clock_adjtime       clock_adjtime     EPERM           root nobody
sethostname         sethostname       EPERM           root
setdomainname       setdomainname     EPERM           root
uselib              uselib            EPERM           root nobody
lookup_dcookie      lookup_dcookie    EPERM           root nobody
nfsservctl          nfsservctl        EPERM           root nobody
_sysctl             _sysctl           EPERM           root nobody
modify_ldt          modify_ldt        ENOSYS          root nobody
socket-packet       socket            EPERM           root
socket-raw          socket            EPERM           root
socket-raw6         socket            EPERM           root
socket-icmp         socket            EPERM           root nobody
socket-badproto     socket            EPERM           root nobody
socket-netlink      socket            EAFNOSUPPORT    root nobody
socket-domain-hi    socket            EAFNOSUPPORT    root nobody
socket-tcp          -                 ok              -
socket-udp6         -                 ok              -
socket-unix         -                 ok              -
socketpair-inet     socketpair        EAFNOSUPPORT    root nobody
mknod-chr           mknodat           EPERM           root
mknodat-blk         mknodat           EPERM           root
mknod-fifo          -                 ok              -
personality-linux32 personality       EPERM           root nobody
personality-norandom personality      EPERM           root nobody
personality-linux   -                 ok              -
'

WORK="$TESTDIR/work"
mkdir -p "$WORK"
chmod 0777 "$WORK"

# probe MODE ATTACK: sets OUT (stdout), ERR (stderr), RC
probe() {
	mode=$1
	shift
	(cd "$WORK" && $AS "$H/seccomp-exec" $mode -- "$H/seccomp-probe" "$@") > "$TESTDIR/out" 2> "$TESTDIR/err"
	RC=$?
	OUT=$(cat "$TESTDIR/out")
	ERR=$(cat "$TESTDIR/err")
}

attack_as() {
	unchecked=$("$H/seccomp-probe" --list | awk -v expect="$EXPECT" '
		BEGIN { n = split(expect, l, "\n"); for (i = 1; i <= n; i++) { split(l[i], f, " "); if (f[1] != "") e[f[1]] = 1 } }
		!($1 in e) { printf "%s ", $1 }')
	is "$unchecked" "x32-getpid int80-getpid " "$WHO: every attack of the probe is checked here"

	while read -r attack syscall want users; do
		[ -n "$attack" ] || continue
		# control
		probe --no-filter "$attack"
		case " $users " in
		*" $WHO "*)
			if [ "$RC" -eq 0 ] && [ -n "$OUT" ] && [ "$OUT" != "$attack $want" ]; then
				ok "$WHO: $attack without the filter reaches the kernel: ${OUT#"$attack "}" true
			else
				ok "$WHO: $attack without the filter reaches the kernel" false
				diag "got '$OUT' (exit $RC) $ERR; under the filter it must be '$want'"
			fi
			;;
		*)
			[ "$RC" -eq 0 ] || diag "$WHO: $attack without the filter: exit $RC $ERR"
			;;
		esac
		# filtered
		probe "" "$attack"
		is "$OUT (exit $RC)" "$attack $want (exit 0)" "$WHO: $attack under the filter: $want"
		# kill mode
		probe --kill "$attack"
		if [ "$want" = EPERM ]; then
			is "$RC" 159 "$WHO: $attack in kill mode: killed by SIGSYS"
			like "$ERR" "killed: seccomp: forbidden system call '$syscall'" "$WHO: $attack in kill mode: names '$syscall'"
		else
			is "$OUT (exit $RC)" "$attack $want (exit 0)" "$WHO: $attack in kill mode: still $want, not killed"
		fi
	done <<EOF
$EXPECT
EOF

	# The x32 ABI (x86_64 arch, nr | 0x40000000) is killed in both modes.
	probe --no-filter x32-getpid
	is "$RC" 0 "$WHO: x32 getpid without the filter does not kill: ${OUT#x32-getpid }"
	probe "" x32-getpid
	is "$RC" 159 "$WHO: x32 getpid under the filter: killed by SIGSYS"
	probe --kill x32-getpid
	is "$RC" 159 "$WHO: x32 getpid in kill mode: killed by SIGSYS"
	like "$ERR" "x32 system call 1073741863" "$WHO: x32 getpid in kill mode: reported as x32"

	# i386 through int 0x80: only testable where the kernel has ia32
	# emulation; elsewhere the entry faults before seccomp runs, and the
	# arch check is proven by test-seccomp's evaluation of the program.
	probe --no-filter int80-getpid
	if [ "$RC" -eq 0 ]; then
		probe "" int80-getpid
		is "$RC" 159 "$WHO: i386 int 0x80 under the filter: killed by SIGSYS"
	else
		diag "$WHO: int 0x80 faults on this kernel without any filter (exit $RC): no ia32 emulation"
	fi
}

for_each_user attack_as

done_testing
