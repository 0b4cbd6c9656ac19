#!/bin/sh
# SPDX-License-Identifier: MIT
# kdc-run's wall clock and teardown on this host, as root and as nobody
# (TESTING.md "Resources", "Teardown"; DESIGN.md "End reasons and exit
# status"): 5 s timeouts of a plain, a SIGTERM-ignoring and a self-stopping
# agent end with reason timeout at 5 +- 0.5 s; a 1M tmpfs fills up with
# ENOSPC at 1 MiB; 100 runs of an agent that leaves a double-forked setsid
# daemon behind leave no process and no cgroup; SIGKILL of kdc-run kills the
# box, and the orphaned session cgroup goes at the next run.
#
# None of this needs the memory, pids or cpu controllers, so it runs wherever
# kdc-run does, with the default profile (which degrades the limits a hybrid
# host cannot enforce; the quotas are 41-quotas-vm.sh's). Root gets a session
# cgroup in the cgroup2 mount; nobody, on a host without delegation, runs
# without one (degraded 'cgroup') and relies on the box's pid namespace.
# The cases are tests/vm/kdc-cases.sh's, shared with 41.

. "$top_srcdir/tests/lib/libtest.sh"

require_root
KC_PROFILE=default
. "$top_srcdir/tests/vm/kdc-cases.sh"
if [ ! -x "$KDC_RUN" ] || [ ! -x "$HOG" ] || [ ! -x "$JSONFLAT" ]; then
	bail_out "build first: $KDC_RUN, $HOG, $JSONFLAT"
fi
unset KDC_CGROUP_ROOT

MNT=$("$top_builddir/tests/vm/cg-run" --find-mount 2>/dev/null)
[ -n "$MNT" ] || skip_all "no cgroup2 mount on this host"
mkdir -p "$TESTDIR/nobody-home"
chown 65534:65534 "$TESTDIR/nobody-home"

# What kdc-run can do here, for the descriptions and the degraded list.
as_user() {
	WHO=$1
	P=$1
	case $1 in
	root) AS="" CGBASE=$MNT ;;
	nobody) AS=as_nobody CGBASE="" ;;
	esac
	kc_setup
}
# Our tenants' levels, removed on any exit (kdc-run removes them itself).
add_cleanup "rmdir '$MNT/kdc.slice/kdc-t$KC_ID-'*/* '$MNT/kdc.slice/kdc-t$KC_ID-'* 2>/dev/null"

# Which controls each user's runs degrade here: the JSON says, and it must
# agree with the host (no memory/pids/cpu in the cgroup2 root; no session
# cgroup for nobody unless this process sits in a delegated subtree).
kdc_degraded() {
	as_user "$1"
	kdc deg -- /bin/true
	rc=$?
	flat deg
	printf '%s %s %s' "$rc" "$(kv deg reason)" "$(kv deg degraded)"
}
root_deg=$(kdc_degraded root)
nobody_deg=$(kdc_degraded nobody)
diag "degraded on this host: root '$root_deg', nobody '$nobody_deg'"
like "$root_deg" "^0 exited " "root: kdc-run --profile default runs here (degraded: ${root_deg#0 exited })"
like "$nobody_deg" "^0 exited " "nobody: kdc-run --profile default runs here (degraded: ${nobody_deg#0 exited })"

# Wall clock: all six 5 s runs at once, alone on the machine.
for u in root nobody; do
	as_user $u
	kc_timeouts_start
done
for u in root nobody; do
	as_user $u
	kc_timeouts_observe
done
for u in root nobody; do
	as_user $u
	kc_timeouts_check 550
done
wait

# A tmpfs size needs no controller either.
for u in root nobody; do
	as_user $u
	kc_tmpfs
done

# Teardown.
for u in root nobody; do
	as_user $u
	kc_daemons 100
	kc_sigkill
done

_left=""
for _d in "$MNT/kdc.slice/kdc-t$KC_ID-"*; do
	[ -e "$_d" ] && _left="$_left $_d"
done
is "$_left" "" "no session cgroup of these runs is left in $MNT/kdc.slice"
done_testing
