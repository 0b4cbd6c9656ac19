#!/bin/bash
# Filesystem view (TESTING.md attack catalogue, "Filesystem"): nothing of the
# host is visible but what the profile binds; the workdir is the only
# writable host directory; binds are what they say.
. "$top_srcdir/tests/lib/libtest.sh"
require_root

# Canaries the box must never reach: a file beside the workdir and a fake
# home with credentials.
echo canary >"$TESTDIR/canary"
mkdir -p "$TESTDIR/home/.ssh" "$TESTDIR/home/.aws" "$TESTDIR/data"
echo key >"$TESTDIR/home/.ssh/id_ed25519"
echo secret >"$TESTDIR/home/.aws/credentials"
echo data >"$TESTDIR/data/file"
chmod -R a+rX "$TESTDIR/home" "$TESTDIR/data" "$TESTDIR/canary"

cases() {
	local w work
	w=$WHO
	work=$(make_workdir)

	# Positive controls: outside, the canaries are there to be read.
	is "$(probe_out read "$TESTDIR/canary")" ok "$w: canary readable outside the box"
	is "$(probe_out read "$TESTDIR/home/.ssh/id_ed25519")" ok "$w: fake ~/.ssh readable outside"
	is "$(probe_in read "$TESTDIR/canary")" ENOENT "$w: canary outside the workdir is not in the box"
	is "$(probe_in read "$TESTDIR/home/.ssh/id_ed25519")" ENOENT "$w: ~/.ssh is not in the box"
	is "$(probe_in read "$TESTDIR/home/.aws/credentials")" ENOENT "$w: ~/.aws is not in the box"
	[ "$w" = root ] && is "$(probe_out read /etc/shadow)" ok "$w: /etc/shadow readable outside"
	is "$(probe_in read /etc/shadow)" ENOENT "$w: /etc/shadow is not in the box"
	is "$(probe_in stat /root)" ENOENT "$w: /root is not in the box"
	is "$(probe_in stat /home)" ENOENT "$w: /home is not in the box"

	# Read-only system, read-only root.
	is "$(probe_in read /usr/bin/env)" ok "$w: /usr is readable"
	is "$(probe_in write /usr/kdc-canary)" EROFS "$w: /usr is read-only"
	is "$(probe_in write /etc/kdc-canary)" EROFS "$w: /etc is read-only"
	is "$(probe_in write /kdc-canary)" EROFS "$w: the box root is read-only"
	is "$(probe_in mkdir /newdir)" EROFS "$w: no new directories in the root"
	[ ! -e /usr/kdc-canary ] && [ ! -e /etc/kdc-canary ]
	is $? 0 "$w: nothing was written to the host's /usr or /etc"

	# The workdir is /work, writable, and the cwd.
	is "$(probe_in cwd)" /work "$w: the working directory is /work"
	is "$(probe_in write /work/out)" ok "$w: /work is writable"
	is "$(stat -c %u "$work/out" 2>/dev/null)" "$( [ "$w" = root ] && echo 0 || echo 65534)" \
		"$w: files written in /work belong to the caller"
	# Landlock backs the mount view (kdc-run(1) "THE BOX"): with /work left
	# out of its ruleset (a testing knob that can only take away), the same
	# write is refused by Landlock (EACCES), though the mount is writable.
	if [ "$("$top_builddir/tests/egress/landlock-run" --abi 2>/dev/null || echo 0)" -ge 1 ]; then
		is "$(KDC_TEST_LANDLOCK_RW_DROP=/work probe_in write /work/out-ll)" EACCES \
			"$w: Landlock's ruleset is in force in the box (a path left out of it is not writable)"
		[ ! -e "$work/out-ll" ]
		is $? 0 "$w: ... and nothing was written"
	else
		skip "this kernel has no Landlock" 2
	fi

	# /tmp is the box's own.
	is "$(probe_in write /tmp/kdc-box-tmp-$$)" ok "$w: /tmp is writable"
	[ ! -e "/tmp/kdc-box-tmp-$$" ]
	is $? 0 "$w: the box's /tmp is not the host's"

	# --ro-bind, --bind, --tmpfs.
	is "$(kdc_box --ro-bind "$TESTDIR/data:/data" -- /probe/box-probe read /data/file 2>&1)" ok \
		"$w: --ro-bind is readable"
	is "$(kdc_box --ro-bind "$TESTDIR/data:/data" -- /probe/box-probe write /data/new 2>&1)" EROFS \
		"$w: --ro-bind is read-only"
	mkdir -p "$TESTDIR/rw-$w"
	[ "$w" = nobody ] && chown 65534 "$TESTDIR/rw-$w"
	is "$(kdc_box --bind "$TESTDIR/rw-$w:/rw" -- /probe/box-probe write /rw/new 2>&1)" ok \
		"$w: --bind is writable"
	is "$(cat "$TESTDIR/rw-$w/new" 2>/dev/null)" x "$w: --bind writes reach the host"
	out=$(kdc_box --tmpfs /scratch:1M -- /bin/sh -c \
		'dd if=/dev/zero of=/scratch/fill bs=64k count=64 2>&1; echo rc=$?' 2>&1)
	like "$out" 'No space left on device' "$w: a tmpfs fill stops at its size"
	like "$out" 'rc=1' "$w: ... and the writer sees the error"
	# A ro bind that contains a submount stays read-only below it too.
	like "$(probe_in open-write /proc/sys/kernel/hostname)" '^(EROFS|EACCES)$' "$w: /proc/sys cannot be written"
	like "$(kdc_box -- /bin/grep ' /proc/sys ' /proc/self/mountinfo 2>&1)" ' /proc/sys ro,' "$w: /proc/sys is mounted read-only"

	# Inherited fds and the cwd do not leak (CVE-2024-21626 class).
	out=$(cd "$TESTDIR" && exec 7<"$TESTDIR" 8>"$TESTDIR/fd8" && probe_in fds)
	is "$out" "0 1 2 " "$w: only fds 0-2 are open in the box"
	is "$(cd "$TESTDIR" && probe_in stat "../$(basename "$TESTDIR")/canary")" ENOENT \
		"$w: the caller's cwd does not leak into the box"

	# CVE-2019-5736 class: the box's pid 1 executable cannot be opened.
	like "$(probe_in open-write /proc/1/exe)" '^(EACCES|EPERM|ETXTBSY)$' "$w: /proc/1/exe cannot be opened for writing"
	like "$(probe_in read /proc/1/exe)" '^(EACCES|EPERM)$' "$w: /proc/1/exe cannot be read"
}

for_each_user cases
done_testing
