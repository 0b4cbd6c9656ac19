#!/bin/bash
# /proc, /sys and devices (TESTING.md "/proc and /sys", "Devices").
. "$top_srcdir/tests/lib/libtest.sh"
require_root

cases() {
	local w=$WHO f out

	# Kernel paths: present and non-empty outside (the positive control,
	# where this kernel has them), empty or absent inside.
	for f in /proc/timer_list /proc/kcore /proc/keys /proc/sched_debug; do
		out=$(kdc_box -- /bin/sh -c "wc -c <$f 2>/dev/null || echo absent" 2>&1)
		like "$out" '^(0|absent)$' "$w: $f is masked in the box"
	done
	[ "$w" = root ] && like "$(wc -c </proc/timer_list)" '^[1-9]' "$w: /proc/timer_list has content outside"
	# Not masked, but without CAP_SYSLOG the kernel shows no addresses.
	is "$(kdc_box -- /bin/sh -c 'head -n 3 /proc/kallsyms | cut -c1-16 | sort -u' 2>&1)" 0000000000000000 \
		"$w: /proc/kallsyms shows no kernel addresses"
	is "$(probe_in stat /sys/firmware)" ENOENT "$w: /sys/firmware is absent"
	is "$(probe_in stat /sys/kernel/debug)" ENOENT "$w: /sys/kernel/debug is absent"
	if [ -e /proc/sysrq-trigger ]; then
		like "$(probe_in open-write /proc/sysrq-trigger)" '^(EROFS|EACCES)$' "$w: /proc/sysrq-trigger cannot be written"
	else
		is "$(probe_in stat /proc/sysrq-trigger)" ENOENT "$w: /proc/sysrq-trigger is absent (as on this host)"
	fi

	# Only the box's processes are in its /proc.
	sleep 300 &
	local canary=$!
	add_cleanup "kill $canary"
	out=$(probe_in ps)
	like "$out" '^1 [0-9 ]*$' "$w: the box's /proc lists its own pids"
	unlike " $out" " $canary " "$w: a host process is not in the box's /proc"
	kill $canary 2>/dev/null

	# Devices: exactly the minimal set.
	out=$(kdc_box -- /bin/ls /dev 2>&1 | tr '\n' ' ')
	is "$out" "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero " "$w: /dev holds only the minimal set"
	is "$(probe_in stat /dev/mem)" ENOENT "$w: /dev/mem is absent"
	is "$(probe_in stat /dev/kmsg)" ENOENT "$w: /dev/kmsg is absent"
	is "$(probe_in mknod /tmp/mem)" EPERM "$w: mknod fails"
	is "$(probe_in write /dev/null)" ok "$w: /dev/null works"
	is "$(probe_in write /dev/newfile)" EROFS "$w: /dev is read-only"
	out=$(kdc_box -- /bin/sh -c 'head -c 16 /dev/urandom | wc -c' 2>&1)
	is "$out" 16 "$w: /dev/urandom works"
	out=$(kdc_box -- /bin/ls /dev/pts 2>&1 | tr '\n' ' ')
	is "$out" "ptmx " "$w: /dev/pts is a fresh instance (no host terminals)"
	is "$(kdc_box -- /bin/hostname 2>&1)" kdc "$w: the box has its own hostname"
}

for_each_user cases

# The caller's own terminal: run kdc-run on a pty and try to reach it.
if command -v script >/dev/null; then
	out=$(script -qec "tty; $KDC_RUN --profile default --quiet --workdir $TESTDIR --ro-bind $PROBE_DIR:/probe -- /bin/sh -c 'ls /dev/pts; /probe/box-probe tiocsti; /probe/box-probe read /dev/tty'" /dev/null </dev/null 2>&1 | tr -d '\r')
	host_pts=$(printf '%s\n' "$out" | sed -n 1p)
	like "$host_pts" '^/dev/pts/[0-9]+$' "kdc-run ran on a host pty ($host_pts)"
	unlike "$(printf '%s\n' "$out" | sed -n '2,$p')" "^$(basename "$host_pts")\$" "the host pty is not in the box's /dev/pts"
	like "$out" 'EPERM' "TIOCSTI on the inherited terminal fails with EPERM"
	like "$out" 'ENXIO' "/dev/tty is not the caller's terminal (new session)"
else
	skip "script(1) (bsdutils) is needed for the terminal cases" 4
fi

done_testing
