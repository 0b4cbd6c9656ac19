#!/bin/sh
# SPDX-License-Identifier: MIT
# 61-landlock: src/core/landlock.c at work through tests/egress/landlock-run,
# as root and as nobody: the abstract-socket scope keeps a process off a
# live abstract socket made outside its domain (but not off its own), the
# signal scope off a live process outside it, and the filesystem ruleset
# limits reads and writes even for root. Each with a positive control.
# The abstract sockets live in a network namespace the test creates (abstract
# names are per network namespace), so the host's are never touched.
. "$top_srcdir/tests/lib/libtest.sh"

require_root
require_cmd ip nsenter setpriv
PROBE="$top_builddir/tests/hostile/net-probe"
LRUN="$top_builddir/tests/egress/landlock-run"
for b in "$PROBE" "$LRUN"; do
	[ -x "$b" ] || skip_all "test helper $b is not built"
done
ABI=$("$LRUN" --abi)
[ "$ABI" -ge 1 ] || skip_all "Landlock is not enabled in this kernel (lsm= list)"

NS="kdc-t$$-ll"
ip netns add "$NS" || bail_out "cannot create network namespace $NS"
add_cleanup "ip netns del $NS"
in_ns() { nsenter --net="/run/netns/$NS" "$@"; }

CANARY="kdc-canary-$$"
# nsenter itself in the background, so that $! is the server (it execs it).
nsenter --net="/run/netns/$NS" "$PROBE" abstract-serve "$CANARY" >"$TESTDIR/srv" 2>&1 &
add_cleanup "kill $!"
for i in $(seq 50); do
	grep -q '^ready$' "$TESTDIR/srv" && break
	sleep 0.1
done

mkdir -p "$TESTDIR/ro" "$TESTDIR/rw" "$TESTDIR/out"
echo content >"$TESTDIR/ro/file"
echo secret >"$TESTDIR/out/canary"
chmod -R a+rwX "$TESTDIR/ro" "$TESTDIR/rw" "$TESTDIR/out"
SYS="--ro /usr --ro /lib --ro /lib64 --ro /bin --ro /etc/ld.so.cache"

cases() {
	if [ "$WHO" = root ]; then AS_U=""; else AS_U="setpriv --reuid=65534 --regid=65534 --clear-groups"; fi

	# Abstract Unix sockets.
	is "$(in_ns $AS_U "$PROBE" abstract-connect "$CANARY" 2>/dev/null)" ok \
		"$WHO: without Landlock, @$CANARY answers"
	if [ "$ABI" -ge 6 ]; then
		is "$(in_ns $AS_U "$LRUN" --scope-abstract -- "$PROBE" abstract-connect "$CANARY" 2>/dev/null)" EPERM \
			"$WHO: with the abstract-socket scope, connecting to @$CANARY fails with EPERM"
		out=$(in_ns $AS_U "$LRUN" --scope-abstract -- sh -c "
			'$PROBE' abstract-serve inner-$$ >'$TESTDIR/rw/inner.$WHO' 2>&1 & s=\$!
			for i in \$(seq 50); do grep -q ready '$TESTDIR/rw/inner.$WHO' && break; sleep 0.1; done
			'$PROBE' abstract-connect inner-$$; kill \$s" 2>/dev/null)
		is "$out" ok "$WHO: an abstract socket made inside the domain stays reachable inside it"
		is "$(in_ns $AS_U "$LRUN" --scope-abstract 2>&1 -- true)" "landlock-run: enforced abstract-unix" \
			"$WHO: landlock-run reports the scope as enforced"
	else
		out=$(in_ns $AS_U "$LRUN" --scope-abstract -- true 2>&1)
		is "$out" "landlock-run: cannot apply Landlock (ABI $ABI): Operation not supported" \
			"$WHO: without ABI 6 the abstract-socket scope is refused"
		out=$(in_ns $AS_U "$LRUN" --scope-abstract --degrade -- true 2>&1)
		is "$out" "landlock-run: enforced nothing" "$WHO: ... unless degraded"
		skip "Landlock ABI $ABI < 6" 2
	fi

	# Signals to a process outside the domain (owned by the same user, so
	# that the positive control holds for nobody too).
	$AS_U sleep 300 &
	canary=$!
	add_cleanup "kill $canary"
	# setpriv changes uid before it execs sleep: wait for the exec.
	for i in $(seq 50); do
		[ "$(readlink "/proc/$canary/exe")" = "$(readlink -f "$(command -v sleep)")" ] && break
		sleep 0.05
	done
	ok "$WHO: without Landlock, the canary process can be signalled (kill -0)" $AS_U kill -0 "$canary"
	if [ "$ABI" -ge 6 ]; then
		fails "$WHO: with the signal scope, SIGTERM to the canary fails" \
			$AS_U "$LRUN" --scope-signal -- kill -TERM "$canary"
		ok "$WHO: the canary is still alive" kill -0 "$canary"
	else
		skip "Landlock ABI $ABI < 6" 2
	fi
	kill "$canary"

	# The filesystem ruleset: what is listed and nothing else, even for root.
	if [ "$ABI" -ge 2 ]; then
		is "$(cat "$TESTDIR/out/canary")" secret "$WHO: without Landlock, the canary file is readable"
		is "$($AS_U "$LRUN" $SYS --ro "$TESTDIR/ro" --rw "$TESTDIR/rw" -- cat "$TESTDIR/ro/file" 2>&1)" \
			"landlock-run: enforced fs
content" "$WHO: a read-only path is readable"
		is "$($AS_U "$LRUN" $SYS --ro "$TESTDIR/ro" --rw "$TESTDIR/rw" -- cat "$TESTDIR/out/canary" 2>&1 |
			tail -n 1)" "cat: $TESTDIR/out/canary: Permission denied" "$WHO: an unlisted path is not readable"
		out=$($AS_U "$LRUN" $SYS --ro "$TESTDIR/ro" --rw "$TESTDIR/rw" -- sh -c \
			"echo x > '$TESTDIR/ro/file'" 2>&1 | tail -n 1)
		like "$out" "Permission denied" "$WHO: a read-only path is not writable"
		is "$(cat "$TESTDIR/ro/file")" content "$WHO: ... and the file is unchanged"
		out=$($AS_U "$LRUN" $SYS --ro "$TESTDIR/ro" --rw "$TESTDIR/rw" -- sh -c \
			"echo $WHO > '$TESTDIR/rw/new.$WHO' && cat '$TESTDIR/rw/new.$WHO'" 2>/dev/null)
		is "$out" "$WHO" "$WHO: a read-write path is writable"
	else
		skip "Landlock ABI $ABI < 2: the filesystem ruleset is left out" 6
	fi
}

# KDC_EGRESS_QUICK=1 (inside the slow VM guest of 62-egress-vm): root only.
if [ "${KDC_EGRESS_QUICK:-0}" = 1 ]; then
	WHO=root cases
else
	for_each_user cases
fi

out=$("$LRUN" --ro relative/path -- true 2>&1)
is "$out" "landlock-run: cannot apply Landlock (ABI $ABI): Invalid argument" "a relative path is refused"

done_testing
