#!/bin/sh
# SPDX-License-Identifier: MIT
# The session cgroup on the host's own cgroup2 (TESTING.md "cgroups",
# "Teardown"): placement, CLONE_INTO_CGROUP, cgroup.kill of double-forked
# setsid daemons, removal, the leftover sweep after a crash, refusals with
# their fix and degrade, as root and as nobody.
#
# Only sub-cgroups this script creates are written; the host root's
# cgroup.subtree_control is never touched; only processes started here are
# moved or killed. The quotas themselves are proven in 41-quotas-vm.sh.

. "$top_srcdir/tests/lib/libtest.sh"

require_root
# The launcher and its report: cg-run's key=value lines (see tests/vm/cg-run.c).
: "${KDC_LAUNCH:=$top_builddir/tests/vm/cg-run}"
LAUNCH=$KDC_LAUNCH
HOG=$top_builddir/tests/vm/cg-hog
if [ ! -x "$LAUNCH" ] || [ ! -x "$HOG" ]; then
	bail_out "build first: $LAUNCH, $HOG"
fi
unset KDC_CGROUP_ROOT

MNT=$(awk '$0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
[ -n "$MNT" ] || skip_all "no cgroup2 mount on this host"

val() {
	sed -n "s/^$1=//p" "$2" | tail -n 1
}

# Kills what is left in a test cgroup tree and removes it (cleanup).
rm_cgroup_tree() {
	[ -d "$1" ] || return 0
	echo 1 >"$1/cgroup.kill" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		find "$1" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$1" ] || return 0
		sleep 0.2
	done
}

# How many of the daemon=PID processes in a report still run (a zombie
# waiting for the host's init to reap it is dead).
alive_count() {
	n=0
	for p in $(sed -n 's/^daemon=//p' "$1"); do
		case $(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null) in '' | Z | X) ;; *) n=$((n + 1)) ;; esac
	done
	echo "$n"
}

# A report on one line, for patterns that span the launcher's lines.
flat() {
	tr '\n' ' ' <"$1"
}

T=kdc-test-$$
R=$MNT/kdc-test.$$ # our own sub-cgroup, for KDC_CGROUP_ROOT
add_cleanup "rm_cgroup_tree '$MNT/kdc.slice/$T'; rmdir '$MNT/kdc.slice' 2>/dev/null; rm_cgroup_tree '$R'"

# Where it is.
is "$("$LAUNCH" --find-mount)" "$MNT" "the cgroup2 mount is found in mountinfo ($MNT)"
ok "root's probe says a session cgroup can be created" sh -c "'$LAUNCH' --probe | grep -qx can_create=yes"

# Root, default placement: <mount>/kdc.slice/<tenant>/<session>, the command
# inside it, daemons killed, everything removed.
"$LAUNCH" --tenant "$T" --session s1 -- sh -c 'cat /proc/self/cgroup; exec "$0" daemons 5' "$HOG" >"$TESTDIR/s1" 2>&1
rc=$?
is "$rc $(val cgroup "$TESTDIR/s1")" "0 $MNT/kdc.slice/$T/s1" "root: the session cgroup is <mount>/kdc.slice/<tenant>/<session>"
like "$(cat "$TESTDIR/s1")" "^0::/kdc.slice/$T/s1\$" "root: the command starts inside it (clone3 CLONE_INTO_CGROUP)"
is "$(grep -c '^daemon=' "$TESTDIR/s1") $(val procs_left "$TESTDIR/s1")" "5 5" \
	"root: 5 double-forked setsid daemons are still in it after the command exits"
is "$(alive_count "$TESTDIR/s1") $(val emptied "$TESTDIR/s1") $(val removed "$TESTDIR/s1")" "0 yes yes" \
	"root: cgroup.kill leaves none alive and the session cgroup is removed"
ok "root: the empty tenant level is removed too" test ! -e "$MNT/kdc.slice/$T"

# The fallback for kernels without cgroup.kill: freeze, SIGKILL each, thaw.
"$LAUNCH" --tenant "$T" --session s1f --freeze-kill -- "$HOG" daemons 20 >"$TESTDIR/s1f" 2>&1
is "$? $(val procs_left "$TESTDIR/s1f") $(alive_count "$TESTDIR/s1f") $(val emptied "$TESTDIR/s1f") $(val removed "$TESTDIR/s1f")" \
	"0 20 0 yes yes" "root: without cgroup.kill, freezing and killing each process empties it too (20 daemons)"

# KDC_CGROUP_ROOT: a cgroup of ours, then something that is not cgroup2.
mkdir "$R"
KDC_CGROUP_ROOT=$R "$LAUNCH" --tenant t --session s2 -- cat /proc/self/cgroup >"$TESTDIR/s2" 2>&1
is "$? $(val cgroup "$TESTDIR/s2")" "0 $R/kdc.slice/t/s2" "KDC_CGROUP_ROOT places the session under it"
like "$(cat "$TESTDIR/s2")" "^0::/kdc-test.$$/kdc.slice/t/s2\$" "... and the command runs there"
ok "... and nothing is left under it" test ! -e "$R/kdc.slice"
KDC_CGROUP_ROOT=$TESTDIR "$LAUNCH" -- true >"$TESTDIR/s3" 2>&1
rc=$?
is "$rc" 125 "KDC_CGROUP_ROOT outside cgroup2 is refused (exit 125)"
like "$(flat "$TESTDIR/s3")" "KDC_CGROUP_ROOT='$TESTDIR' is not a directory inside a cgroup2 mount" "... saying why"

# Missing controllers: a refusal naming the controller, the mount and the
# fix; degrade skips exactly the controllers it names.
have=$(cat "$MNT/cgroup.subtree_control")
for c in memory pids cpu; do
	case $c in memory) opt="--memory 64M" ;; pids) opt="--pids 20" ;; cpu) opt="--cpu 0.5" ;; esac
	if printf '%s\n' "$have" | grep -qw "$c"; then
		skip "the host's cgroup2 root enables '$c' (the refusal needs a host without it)"
		continue
	fi
	# shellcheck disable=SC2086
	"$LAUNCH" --tenant "$T" $opt -- true >"$TESTDIR/m-$c" 2>&1
	is "$?" 125 "root: a $c limit without the '$c' controller is refused (exit 125)"
	like "$(flat "$TESTDIR/m-$c")" "cgroup2 at $MNT has no '$c' controller.*Delegate=yes.*'degrade = $c'" \
		"... with the controller, the mount and the fix in the message"
	# shellcheck disable=SC2086
	KDC_CGROUP_ROOT=$R "$LAUNCH" --tenant t $opt -- true >"$TESTDIR/n-$c" 2>&1
	like "$?: $(flat "$TESTDIR/n-$c")" "^125: .*cgroup $R \\(cgroup2 at $MNT\\) has no '$c' controller" \
		"root: under KDC_CGROUP_ROOT the refusal names that cgroup"
	ok "... and leaves no cgroup behind" test ! -e "$R/kdc.slice"
done
"$LAUNCH" --tenant "$T" --memory 64M --pids 20 --cpu 0.5 --degrade memory,pids,cpu -- true >"$TESTDIR/dg" 2>&1
is "$? $(grep -c '^degraded=' "$TESTDIR/dg")" "0 3" "root: degrade = memory,pids,cpu runs and reports the three degraded controllers"
"$LAUNCH" --tenant "$T" --memory 64M --pids 20 --degrade memory -- true >"$TESTDIR/dg2" 2>&1
like "$?: $(flat "$TESTDIR/dg2")" "^125: .*no 'pids' controller" "root: degrading memory alone still refuses a pids limit"

# The leftover sweep. A crashed run (cg-run SIGKILLs itself) leaves its
# cgroup with 3 daemons; a live run keeps its own; an old empty unowned
# cgroup is swept, a fresh one (being born) is not.
P=$R/kdc.slice/lt
KDC_CGROUP_ROOT=$R "$LAUNCH" --tenant lt --session dead1 --crash -- "$HOG" daemons 3 >"$TESTDIR/dead1" 2>&1
rc=$?
is "$rc $(alive_count "$TESTDIR/dead1") $(wc -l <"$P/dead1/cgroup.procs")" "137 3 3" \
	"a crashed launcher leaves its session cgroup with 3 daemons (positive control)"
KDC_CGROUP_ROOT=$R "$LAUNCH" --tenant lt --session live1 -- sleep 60 >"$TESTDIR/live1" 2>&1 &
live=$!
for _ in $(seq 50); do
	[ -s "$P/live1/cgroup.procs" ] && break
	sleep 0.1
done
mkdir "$P/old1" "$P/young1"
touch -d '2 hours ago' "$P/old1"
KDC_CGROUP_ROOT=$R "$LAUNCH" --tenant lt --session new1 -- true >"$TESTDIR/new1" 2>&1
is "$? $(val removed "$TESTDIR/new1")" "0 yes" "a new session in the same tenant runs"
is "$(alive_count "$TESTDIR/dead1") $(test -e "$P/dead1" && echo present || echo gone)" "0 gone" \
	"the crashed session's daemons are killed and its cgroup removed"
is "$(wc -l <"$P/live1/cgroup.procs")" 1 "a live launcher's session is left alone"
is "$(test -e "$P/old1" && echo present || echo gone) $(test -e "$P/young1" && echo present || echo gone)" "gone present" \
	"an old empty unowned cgroup is swept, a fresh one is not"
rmdir "$P/young1"
echo 1 >"$P/live1/cgroup.kill"
wait "$live"
is "$? $(val removed "$TESTDIR/live1")" "137 yes" "the live run ends when its cgroup is killed, and cleans up"

# Unprivileged: no delegation, no session cgroup, and the message says how.
for_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"
}
for_nobody "$LAUNCH" -- true >"$TESTDIR/nb1" 2>&1
is "$?" 125 "nobody: without delegation the session cgroup is refused (exit 125)"
like "$(flat "$TESTDIR/nb1")" "Permission denied.*is not delegated to uid 65534.*Delegate=yes.*'degrade = cgroup'" \
	"nobody: ... with the reason and the fix"
like "$(for_nobody "$LAUNCH" --probe)" "can_create=no" "nobody: the probe says it cannot create one"
KDC_CGROUP_ROOT=$R for_nobody "$LAUNCH" -- true >"$TESTDIR/nb2" 2>&1
like "$?: $(flat "$TESTDIR/nb2")" "^125: .*cannot create a cgroup in $R: permission denied" \
	"nobody: KDC_CGROUP_ROOT at a root-owned cgroup is refused too"

# Unprivileged in a delegated subtree (what systemd's Delegate=yes hands
# over), its processes started in a leaf of it.
D=$R/deleg
mkdir "$D" "$D/shell"
for d in "$D" "$D/shell"; do
	chown 65534:65534 "$d" "$d/cgroup.procs" "$d/cgroup.subtree_control" "$d/cgroup.threads"
done
in_deleg() {
	sh -c 'echo $$ >"$1/cgroup.procs" || exit 99; shift; exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"' \
		sh "$D/shell" "$@"
}
like "$(in_deleg "$LAUNCH" --probe)" "can_create=yes" "nobody in a delegated cgroup: the probe says yes"
in_deleg "$LAUNCH" --session nb3 -- sh -c 'cat /proc/self/cgroup; exec "$0" daemons 5' "$HOG" >"$TESTDIR/nb3" 2>&1
is "$? $(val cgroup "$TESTDIR/nb3")" "0 $D/kdc.slice/test/nb3" "nobody in a delegated cgroup: the session goes under the delegated top"
like "$(cat "$TESTDIR/nb3")" "^0::/kdc-test.$$/deleg/kdc.slice/test/nb3\$" "... the command starts inside it"
is "$(val procs_left "$TESTDIR/nb3") $(alive_count "$TESTDIR/nb3") $(val removed "$TESTDIR/nb3")" "5 0 yes" \
	"nobody: 5 daemons are killed by cgroup.kill and the cgroup is removed"
in_deleg "$LAUNCH" --memory 64M -- true >"$TESTDIR/nb4" 2>&1
like "$?: $(flat "$TESTDIR/nb4")" "^125: .*cgroup $D \\(cgroup2 at $MNT\\) has no 'memory' controller" \
	"nobody: a delegated cgroup without memory refuses a memory limit, naming it"
ok "nobody: nothing is left in the delegated cgroup" test ! -e "$D/kdc.slice"

done_testing
