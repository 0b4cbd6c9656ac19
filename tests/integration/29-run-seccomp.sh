#!/bin/bash
# seccomp through kdc-run: the default errno mode makes forbidden calls
# fail with EPERM; on_violation = kill ends the box, reports end reason
# 'seccomp' with the syscall's name and exits 159.
. "$top_srcdir/tests/lib/libtest.sh"
require_root

mkdir -p "$TESTDIR/p"
printf '[profile]\nversion = 1\ninclude = default\n[seccomp]\non_violation = kill\n' >"$TESTDIR/p/kill.ini"
chmod -R a+rX "$TESTDIR/p"

cases() {
	local w=$WHO out rc work
	work=$(make_workdir)
	# Positive control: unshare works outside the box for this user.
	ok "$w: unshare(CLONE_NEWUSER) works outside the box" ${AS:-} unshare -U true
	out=$(kdc_box -- /usr/bin/unshare -U /bin/true 2>&1)
	rc=$?
	like "$out" "Operation not permitted" "$w: errno mode: unshare fails with EPERM"
	is "$rc" 1 "$w: ... and the agent goes on to exit by itself"

	out=$(${AS:-} "$KDC_RUN" --profile "$TESTDIR/p/kill.ini" --workdir "$work" \
		--json-status "$work/k.json" -- /bin/sh -c 'echo before; /usr/bin/unshare -U /bin/true; echo after' 2>&1)
	rc=$?
	is "$rc" 159 "$w: kill mode: the violation ends the run with 159"
	like "$out" "kdc-run: killed: seccomp violation: unshare \(syscall 272\)" "$w: ... naming the syscall"
	like "$out" "before" "$w: ... after the agent ran"
	unlike "$out" "after" "$w: ... and nothing of the box ran on"
	like "$(cat "$work/k.json")" '"syscall": "unshare"' "$w: --json-status names the syscall"
	like "$(cat "$work/k.json")" '"reason": "seccomp"' "$w: --json-status says seccomp"
	# A program that does nothing forbidden runs normally in kill mode.
	${AS:-} "$KDC_RUN" --profile "$TESTDIR/p/kill.ini" --quiet --workdir "$work" -- /usr/bin/python3 -c 'import ssl, sqlite3, subprocess; subprocess.run(["true"])'
	is "$?" 0 "$w: kill mode lets an ordinary program run"
}
for_each_user cases
done_testing
