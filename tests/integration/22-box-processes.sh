#!/bin/bash
# Processes, signals, exit status and teardown (TESTING.md "Processes",
# "Teardown"; DESIGN.md "End reasons and exit status").
. "$top_srcdir/tests/lib/libtest.sh"
require_root

cases() {
	local w=$WHO out rc canary marker start end work

	# A host canary owned by the same user survives kill(-1, SIGKILL).
	(KDC_EXEC=exec; ${AS:-exec} sleep 300) &
	canary=$!
	# the subshell becomes the canary once setpriv has switched uid
	wait_for sh -c "[ \"\$(stat -c %u /proc/$canary)\" = $([ "$w" = root ] && echo 0 || echo 65534) ] && grep -q sleep /proc/$canary/cmdline"
	add_cleanup "kill $canary"
	is "$(probe_out kill $canary)" ok "$w: the canary can be signalled from outside (positive control)"
	# ESRCH: nothing else in the box to kill (pid 1 is exempt); ok: the
	# box's own other processes were killed. Either way the host canary
	# must be alive.
	like "$(kdc_box -- /bin/sh -c '/bin/sleep 30 & exec /probe/box-probe kill-all' 2>&1)" '^ok$' \
		"$w: kill(-1, SIGKILL) in the box kills the box's processes"
	ok "$w: the host canary survived kill(-1, SIGKILL) in the box" kill -0 $canary
	kill $canary 2>/dev/null

	# pid 1 of the box is out of reach.
	is "$(probe_in ptrace 1)" EPERM "$w: ptrace(ATTACH) of pid 1 fails"
	is "$(probe_in vm-read 1)" EPERM "$w: process_vm_readv of pid 1 fails"
	is "$(probe_in pidfd-getfd 1)" EPERM "$w: pidfd_getfd on pid 1 fails"

	# Exit statuses pass through.
	kdc_box -- /bin/sh -c 'exit 42' 2>/dev/null
	is $? 42 "$w: the agent's exit status is kdc-run's"
	kdc_box -- /bin/sh -c 'kill -TERM $$' 2>/dev/null
	is $? 143 "$w: an agent killed by SIGTERM gives 128+15"
	kdc_box -- /nonexistent/agent 2>"$TESTDIR/err"
	is $? 127 "$w: a missing command gives 127"
	is "$(cat "$TESTDIR/err")" "kdc-run: cannot execute '/nonexistent/agent': No such file or directory" \
		"$w: ... with one clear line"
	kdc_box -- /etc/passwd 2>"$TESTDIR/err"
	is $? 126 "$w: a non-executable command gives 126"

	# A script without '#!' runs under /bin/sh, as execvp(3) would run it.
	work=$(make_workdir)
	printf 'echo "plain script, $# args: $*"\n' >"$work/plain"
	chmod 0755 "$work/plain"
	[ "$w" = nobody ] && chown 65534:65534 "$work/plain"
	is "$(kdc_box -- /work/plain a 'b c' 2>&1)" "plain script, 2 args: a b c" \
		"$w: a script without #! runs under /bin/sh, with its arguments"
	# ... however many: execvp copies them onto the stack of the agent's
	# process before its execve, which shares pid 1's memory until then.
	printf 'echo "$#"\n' >"$work/count"
	chmod 0755 "$work/count"
	[ "$w" = nobody ] && chown 65534:65534 "$work/count"
	# shellcheck disable=SC2046
	is "$(kdc_box -- /work/count $(seq 1 100000) 2>&1)" 100000 "$w: ... with 100000 arguments too"

	# The agent starts with default dispositions: what the caller ignores
	# (nohup, a shell's trap '') is not ignored in the box.
	out=$( (trap '' USR1 HUP; ${AS:-} grep '^SigIgn' /proc/self/status) 2>&1)
	is "$(( 0x${out##*[[:space:]]} & 0x201 ))" $((0x201)) \
		"$w: outside, USR1 and HUP ignored by the caller stay ignored (positive control)"
	is "$( (trap '' USR1 HUP; kdc_box -- /bin/grep '^SigIgn' /proc/self/status) 2>&1)" $'SigIgn:\t0000000000000000' \
		"$w: ... in the box the agent ignores no signal"

	# Zombies are reaped by pid 1.
	out=$(kdc_box -- /bin/sh -c '( /bin/sleep 0.1 & ) ; /bin/sleep 0.5; cat /proc/[0-9]*/stat 2>/dev/null | awk "{print \$3}" | tr -d "\n"' 2>&1)
	unlike "$out" Z "$w: orphans that exit are reaped (no zombie)"

	# Signals reach the agent: SIGTERM to kdc-run is forwarded.
	(KDC_EXEC=exec kdc_box -- /bin/sh -c 'trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 0.1; done' \
		>"$TESTDIR/sig.out" 2>&1) &
	local pid=$!
	wait_for grep -q ready "$TESTDIR/sig.out"
	kill -TERM $pid
	wait $pid
	rc=$?
	is "$rc" 3 "$w: SIGTERM is forwarded to the agent, which exits its own way"
	like "$(cat "$TESTDIR/sig.out")" got-term "$w: ... and the agent saw it"

	# A double-forked setsid daemon does not outlive the run.
	marker="kdc-daemon-$w-$$"
	kdc_box -- /probe/box-probe daemon /work/daemon.pid "$marker" 2>/dev/null
	sleep 0.2
	is "$(pgrep -f "$marker" | wc -l)" 0 "$w: a double-forked daemon is gone after the run"

	# SIGKILL of kdc-run kills the box.
	marker="kdc-orphan-$w-$$"
	(KDC_EXEC=exec kdc_box -- /probe/box-probe sleep-ignoring-term "$marker" 2>"$TESTDIR/orphan.err") &
	pid=$!
	wait_for pgrep -f "$marker"
	# (once seen failing under a full parallel 'make check': say why, if again)
	pgrep -f "$marker" >/dev/null ||
		diag "kdc-run $(kill -0 $pid 2>/dev/null && echo 'still runs' || echo 'has ended'), said:" \
			"$(cat "$TESTDIR/orphan.err")"
	ok "$w: the agent runs" pgrep -f "$marker"
	kill -KILL $pid
	wait $pid 2>/dev/null
	wait_for sh -c "! pgrep -f $marker"
	is "$(pgrep -f "$marker" | wc -l)" 0 "$w: SIGKILL of kdc-run kills the box"

	# Wall-clock timeout, even when the agent ignores SIGTERM or stops itself.
	start=$(date +%s%N)
	kdc_box --timeout 2s --json-status "$TESTDIR/t.json" -- /probe/box-probe sleep-ignoring-term 2>/dev/null
	rc=$?
	end=$(date +%s%N)
	is "$rc" 124 "$w: --timeout ends the run with 124"
	like "$(cat "$TESTDIR/t.json" 2>/dev/null)" '"reason": "timeout"' "$w: ... reason timeout in --json-status"
	# not a timing test (that is 42-teardown-host.sh): only that the kill
	# came at the timeout, not when the agent would have ended by itself
	like "$(( (end - start) / 100000000 ))" '^(1[5-9]|[2-5][0-9])$' "$w: ... at the timeout (2 s, under 6 s even on a loaded host)"
	kdc_box --timeout 1s -- /bin/sh -c 'kill -STOP $$' 2>/dev/null
	is $? 124 "$w: a stopped agent is still killed at the timeout"
}

for_each_user cases
done_testing
