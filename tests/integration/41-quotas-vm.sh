#!/bin/sh
# SPDX-License-Identifier: MIT
# The quota battery (TESTING.md "Resources", "Teardown") on a pure cgroup2
# hierarchy: memory.max, pids.max, cpu.max and cgroup.kill, as root and as an
# unprivileged user in a delegated subtree.
#
# The host here is hybrid (no memory/pids/cpu in its cgroup2 root), so the
# battery runs inside a qemu guest (tests/vm/kdc-vm: one boot, the whole
# battery); on a host whose cgroup2 root offers the controllers it runs on the
# host as well. In the guest this same script runs with KDC_IN_VM=1 and its
# TAP lines come back over the serial console, prefixed here with "vm:".
#
# Two launchers, per user: $KDC_LAUNCH (default: tests/vm/cg-run, which
# drives src/core/cgroup.c and clone3(CLONE_INTO_CGROUP) directly; launch()
# below is the one place that knows its options and its key=value report),
# and kdc-run itself with --profile strict (nothing may degrade) and
# --json-status: memory balloon, fork bomb, CPU spin, tmpfs fill, 5 s
# timeouts of SIGTERM-ignoring and self-stopping agents, daemon teardown and
# SIGKILL of kdc-run (tests/vm/kdc-cases.sh, shared with
# 42-teardown-host.sh).

. "$top_srcdir/tests/lib/libtest.sh"

: "${KDC_LAUNCH:=$top_builddir/tests/vm/cg-run}"
HOG=$top_builddir/tests/vm/cg-hog
VM=$top_srcdir/tests/vm/kdc-vm
export KDC_LAUNCH
# kdc-run's daemon-teardown runs per user: in the TCG guest each kdc-run costs
# 0.4-0.7 s (2 s on a loaded host), so 20 there (KDC_VM_DAEMON_RUNS=100 for the
# full count); 42-teardown-host.sh does 100 per user on the host.
KC_DAEMON_RUNS=${KDC_VM_DAEMON_RUNS:-20}
# How long the caller may wait for a 5 s timeout, kdc-run's own start-up and
# settling included (centiseconds). kdc-run's wall_seconds (clone to reap) is
# held to 5 +- 0.5 s; under TCG on a busy host kdc-run's start-up (exec,
# libraries, profile, cgroup) and settling add 1-2.5 s around it, so the
# caller's view is only bounded loosely here and tightly on the host (42).
KC_EXT_HI=1000

# launch OUT [--memory SIZE] [--pids N] [--cpu CORES] [--timeout DUR] -- CMD...
# Runs CMD in a fresh session cgroup; OUT gets the report. $AS runs it as
# another user (empty for the caller). Returns the launcher's exit status.
launch() {
	_out=$1
	shift
	$AS "$KDC_LAUNCH" "$@" >"$_out" 2>&1
}

# The helpers below use shell builtins only: in the TCG guest every exec
# costs about 0.1 s, and the battery reads hundreds of values. val KEY FILE
# comes from kdc-cases.sh, as do kdc-run's own cases.
. "$top_srcdir/tests/vm/kdc-cases.sh"

# How many KEY= lines a report has, and how many of the daemon=PID ones
# still run (a zombie waiting for init to reap it is dead).
count() {
	_n=0
	while IFS= read -r _l; do
		case $_l in "$1="*) _n=$((_n + 1)) ;; esac
	done <"$2"
	echo "$_n"
}
alive() {
	_n=0
	while IFS= read -r _l; do
		case $_l in daemon=*) ;; *) continue ;; esac
		_st=""
		{ read -r _ _ _st _ <"/proc/${_l#daemon=}/stat"; } 2>/dev/null
		case $_st in '' | Z | X) ;; *) _n=$((_n + 1)) ;; esac
	done <"$1"
	echo "$_n"
}

# For the unprivileged runs: a cgroup delegated to uid 65534 the way systemd's
# Delegate=yes does (directory, cgroup.procs, cgroup.subtree_control,
# cgroup.threads chowned), and a leaf in it where our nobody processes start.
# Only processes this script starts are moved.
delegate() {
	mkdir "$1" || return 1
	chown 65534:65534 "$1" "$1/cgroup.procs" "$1/cgroup.subtree_control" "$1/cgroup.threads"
}
setup_delegation() {
	DELEG=$1/kdc-test-deleg.$$
	add_cleanup "rmdir '$DELEG/shell' '$DELEG' 2>/dev/null"
	delegate "$DELEG" && delegate "$DELEG/shell"
}

# in_cgroup DIR CMD...: CMD as nobody, started in DIR.
in_cgroup() {
	# nobody's own ledger and cache, as libtest's as_nobody gives it. The
	# variable is this function's own: the cases keep theirs (_cg) across
	# calls.
	_in_cg=$1
	shift
	sh -c 'echo $$ >"$1/cgroup.procs" || exit 99; shift; exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"' \
		sh "$_in_cg" env HOME="$TESTDIR/nobody-home" XDG_STATE_HOME="$TESTDIR/nobody-state" \
		XDG_CACHE_HOME="$TESTDIR/nobody-home/.cache" KDC_DB="$TESTDIR/nobody-state/kdc/kdc.db" "$@"
}
run_nobody() {
	in_cgroup "$DELEG/shell" "$@"
}

# The battery, once per user. $P prefixes the descriptions, $CGBASE is where
# the launcher puts session cgroups (checked empty at the end).
battery() {
	o=$TESTDIR/$WHO
	mkdir -p "$o"

	# Memory: the hog works without a limit, and is killed with one.
	launch "$o/mem0" -- "$HOG" mem 64M
	is "$? $(val allocated "$o/mem0")" "0 67108864" "$P: without a limit a 64 MiB hog allocates it all"
	launch "$o/mem1" --memory 32M -- "$HOG" mem 16M
	is "$? $(val allocated "$o/mem1") $(val oom_kill "$o/mem1")" "0 16777216 0" \
		"$P: under memory.max 32M a 16 MiB process runs normally"
	launch "$o/mem2" --memory 32M -- "$HOG" mem 64M
	is "$? $(val allocated "$o/mem2")" "137 " "$P: under memory.max 32M a 64 MiB hog is killed (exit 137) before it is done"
	ok "$P: memory.events oom_kill > 0 ($(val oom_kill "$o/mem2")), memory.peak <= 32 MiB ($(val memory_peak "$o/mem2"))" \
		test "$(val oom_kill "$o/mem2")" -gt 0 -a "$(val memory_peak "$o/mem2")" -le 33554432

	# Pids: a counted fork storm (the fork bomb with the outside alive is
	# kdc-run's case, kc_bomb).
	launch "$o/fork0" -- "$HOG" fork 100
	is "$(val forked "$o/fork0") $(val failed "$o/fork0")" "100 0" "$P: without a limit 100 forks succeed"
	launch "$o/fork1" --pids 20 -- "$HOG" fork 100
	is "$(val forked "$o/fork1") $(val failed "$o/fork1") $(val errno "$o/fork1")" "19 81 EAGAIN" \
		"$P: pids.max 20 lets 19 forks through, 81 fail with EAGAIN"
	is "$(val pids_max "$o/fork1") $(val pids_peak "$o/fork1")" "81 20" "$P: pids.events max 81, pids.peak 20"

	# CPU: two spinners use more than half a core without a limit, and at
	# most 1.1 x quota x wall under cpu.max 0.5.
	launch "$o/cpu0" -- "$HOG" spin 1 2
	u=$(val cpu_usec "$o/cpu0")
	w=$(val wall_usec "$o/cpu0")
	ok "$P: without a limit two spinners use more than 0.55 cores ($u us in $w us)" test $((u * 100)) -gt $((w * 55))
	launch "$o/cpu1" --cpu 0.5 -- "$HOG" spin 1 2
	u=$(val cpu_usec "$o/cpu1")
	w=$(val wall_usec "$o/cpu1")
	ok "$P: under cpu.max 0.5 cores usage <= 1.1 x 0.5 x wall ($u us in $w us), nr_throttled > 0 ($(val nr_throttled "$o/cpu1"))" \
		test $((u * 100)) -le $((w * 55)) -a "$(val nr_throttled "$o/cpu1")" -gt 0

	# Teardown: 100 double-forked setsid daemons do not survive.
	launch "$o/daemons" -- "$HOG" daemons 100
	is "$? $(count daemon "$o/daemons") $(val procs_left "$o/daemons")" "0 100 100" \
		"$P: 100 double-forked daemons outlive their parent inside the cgroup"
	is "$(alive "$o/daemons") $(val emptied "$o/daemons") $(val removed "$o/daemons")" "0 yes yes" \
		"$P: cgroup.kill leaves none of the 100 alive and the cgroup is removed"

	ok "$P: no session cgroup of cg-run is left in $CGBASE" test ! -e "$CGBASE/kdc.slice/test"
}

# The unprivileged variant of the battery: nobody in a delegated cgroup.
battery_nobody() {
	AS=run_nobody CGBASE=$DELEG battery
	# systemd's Delegate=yes puts the process itself in the delegated cgroup:
	# the module moves itself to a leaf so the cgroup may enable controllers.
	D2=$1/kdc-test-deleg2.$$
	add_cleanup "rmdir '$D2/kdc.leaf' '$D2' 2>/dev/null"
	delegate "$D2"
	in_cgroup "$D2" "$KDC_LAUNCH" --pids 20 -- "$HOG" fork 30 >"$TESTDIR/d2" 2>&1
	is "$? $(val forked "$TESTDIR/d2") $(val failed "$TESTDIR/d2")" "0 19 11" \
		"$P: alone in a delegated cgroup, nobody gets pids.max by moving itself into kdc.leaf"
	is "$(cat "$D2/kdc.leaf/cgroup.procs" "$D2/cgroup.procs")" "" "$P: kdc.leaf is empty again once the launcher is gone"
	ok "$P: no session cgroup of cg-run is left in $D2" test ! -e "$D2/kdc.slice"
	# ... but it moves only itself: with another process there it refuses.
	D3=$1/kdc-test-deleg3.$$
	add_cleanup "rmdir '$D3' 2>/dev/null"
	delegate "$D3"
	sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 60' sh "$D3" &
	spid=$!
	add_cleanup "kill $spid"
	in_cgroup "$D3" "$KDC_LAUNCH" --pids 20 -- true >"$TESTDIR/d3" 2>&1
	like "$?: $(tr '\n' ' ' <"$TESTDIR/d3")" "^125: .*delegated cgroup $D3 holds other processes" \
		"$P: with another process in the delegated cgroup it refuses (exit 125) and says why"
	is "$(cat "$D3/cgroup.procs")" "$spid" "$P: ... and moved nothing"
	kill "$spid"
	wait "$spid" 2>/dev/null
}

# kdc-run's own cases (kdc-cases.sh) for one user: sets WHO, P, AS, CGBASE.
as_user() {
	WHO=$1
	P=$1
	case $1 in
	root) AS="" CGBASE=$KC_MNT ;;
	nobody) AS=run_nobody CGBASE=$DELEG ;;
	esac
	kc_setup
}
kdc_battery() {
	kc_memory
	kc_bomb
	kc_cpu
	kc_tmpfs
	kc_daemons "$KC_DAEMON_RUNS"
	kc_sigkill
}

# Both users, both launchers, in one boot (a boot costs 5-20 s under TCG).
quotas() {
	KC_MNT=$1
	if ! setup_delegation "$KC_MNT"; then
		bail_out "cannot delegate a cgroup to uid 65534 in $KC_MNT"
	fi
	# The wall-clock cases first, alone: nothing else loads the guest
	# while the 5 s run out. One user's three start while the other's
	# sleep, not all six at once.
	for u in root nobody; do
		as_user $u
		P="$u: kdc-run"
		kc_timeouts_start
		kc_timeouts_observe
	done
	for u in root nobody; do
		as_user $u
		P="$u: kdc-run"
		kc_timeouts_check "$KC_EXT_HI"
	done
	wait
	WHO=root P=root AS="" CGBASE=$KC_MNT battery
	WHO=nobody P=nobody battery_nobody "$KC_MNT"
	for u in root nobody; do
		as_user $u
		P="$u: kdc-run"
		kdc_battery
	done
	_left=""
	for _d in "$KC_MNT/kdc.slice/kdc-t$KC_ID-"* "$DELEG/kdc.slice"; do
		[ -e "$_d" ] && _left="$_left $_d"
	done
	is "$_left" "" "no session cgroup of kdc-run's cases is left in $KC_MNT/kdc.slice or $DELEG/kdc.slice"
	if [ "${KDC_IN_VM:-0}" = 1 ]; then
		# kdc.slice itself stays when it carries the shared egress
		# programs (the user.kdc.keep mark), and only then; nothing
		# below it may stay.
		_in=""
		if [ -e "$KC_MNT/kdc.slice" ]; then
			for _d in "$KC_MNT/kdc.slice"/*/; do [ -d "$_d" ] && _in="$_in ${_d%/}"; done
			ok "the guest's kdc.slice stays only with the keep mark of the shared egress programs" \
				python3 -c 'import os, sys; os.getxattr(sys.argv[1], "user.kdc.keep")' "$KC_MNT/kdc.slice"
		fi
		is "$_in" "" "no tenant or session cgroup at all is left under the guest's $KC_MNT/kdc.slice"
	fi
}

in_vm() {
	mnt=$("$KDC_LAUNCH" --find-mount) || bail_out "no cgroup2 mount in the guest"
	diag "guest cgroup2 at $mnt: $(cat "$mnt/cgroup.subtree_control")"
	quotas "$mnt"
	done_testing
}

if [ "${KDC_IN_VM:-0}" = 1 ]; then
	in_vm
fi

if [ ! -x "$KDC_LAUNCH" ] || [ ! -x "$HOG" ] || [ ! -x "$KDC_RUN" ] || [ ! -x "$JSONFLAT" ]; then
	bail_out "build first: $KDC_LAUNCH, $HOG, $KDC_RUN, $JSONFLAT"
fi

# The host's own controllers, when its cgroup2 root offers them (as root).
mnt=$("$KDC_LAUNCH" --find-mount 2>/dev/null)
has_controllers() {
	for c in memory pids cpu; do
		grep -qw "$c" "$1/cgroup.subtree_control" || return 1
	done
}
if [ "$(id -u)" = 0 ] && [ -n "$mnt" ] && [ -z "${KDC_CGROUP_ROOT:-}" ] && has_controllers "$mnt"; then
	diag "host cgroup2 at $mnt has memory, pids and cpu: running the battery on the host too"
	KC_DAEMON_RUNS=100 KC_EXT_HI=550
	quotas "$mnt"
else
	diag "host cgroup2${mnt:+ at $mnt} lacks memory/pids/cpu for its children: quotas are proven in the VM only"
fi

# The kernel download is cached across runs, never in the tree: root's in
# /var/cache/kdc-vm, a user's in ~/.cache/kdc-vm (libtest.sh points
# XDG_CACHE_HOME into TESTDIR, which would download it every time).
[ "$(id -u)" = 0 ] || : "${KDC_VM_CACHE:=$HOME/.cache/kdc-vm}"
export KDC_VM_CACHE
why=$("$VM" --check) || skip_all "$why"
"$VM" --timeout 420 --ro-share "$top_srcdir" --ro-share "$top_builddir" --env KDC_IN_VM=1 "$0" \
	>"$TESTDIR/vm.out" 2>"$TESTDIR/vm.err"
vm_rc=$?
plan=""
while IFS= read -r line; do
	case $line in
	"ok "*"# SKIP"*) skip "vm: ${line#*# SKIP }" ;;
	"ok "*" # TODO "* | "not ok "*" # TODO "*)
		_d=${line#*ok [0-9]* - }
		_ok=true
		case $line in "not ok"*) _ok=false ;; esac
		TODO=${line##* # TODO } ok "vm: ${_d% # TODO *}" $_ok
		TODO= ;;
	"ok "*) ok "vm: ${line#ok [0-9]* - }" true ;;
	"not ok "*) ok "vm: ${line#not ok [0-9]* - }" false ;;
	1..*) plan=${line#1..} ;;
	"#"*) echo "$line" ;;
	*) diag "$line" ;;
	esac
done <"$TESTDIR/vm.out"
diag "$(cat "$TESTDIR/vm.err")"
ok "the guest ran the whole battery and ended with rc 0 (rc $vm_rc, plan '1..$plan')" \
	test "$vm_rc" = 0 -a -n "$plan"
done_testing
