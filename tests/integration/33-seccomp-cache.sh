#!/bin/sh
# SPDX-License-Identifier: MIT
# 33-seccomp-cache: the compiled policy is cached per user and per options
# ($XDG_CACHE_HOME/kdc/seccomp/*.bpf, 0600 in a 0700 directory), a damaged
# or foreign entry is never used (the program is compiled again and still
# enforces), and a cache hit is cheaper than compiling. Prints the figures.

. "$top_srcdir/tests/lib/libtest.sh"

H="$top_builddir/tests/hostile"
[ "$(uname -m)" = x86_64 ] || skip_all "the policy is written for x86_64, this is $(uname -m)"
[ -x "$H/seccomp-exec" ] && [ -x "$H/seccomp-probe" ] || skip_all "tests/hostile not built (run 'make check')"

# build_source [options]: "cache" or "compiled" for a run of /bin/true.
build_source() {
	$AS env XDG_CACHE_HOME="$CACHE" "$H/seccomp-exec" --time "$@" -- true 2>&1 |
		sed -n 's/^seccomp-exec: build [0-9]* us (\([a-z]*\),.*/\1/p'
}

cache_as() {
	CACHE="$TESTDIR/cache-$WHO"
	DIR="$CACHE/kdc/seccomp"
	mkdir -p "$CACHE"
	[ "$WHO" = nobody ] && chown 65534:65534 "$CACHE"
	uid=$($AS id -u)

	is "$(build_source)" compiled "$WHO: the first build compiles"
	is "$(build_source)" cache "$WHO: the second build comes from the cache"
	entry=$(ls "$DIR"/*.bpf 2>/dev/null)
	is "$(echo "$entry" | wc -w)" 1 "$WHO: one cache entry"
	is "$(stat -c '%a %u' "$DIR" "$entry" | tr '\n' ' ')" "700 $uid 600 $uid " \
		"$WHO: directory 0700 and entry 0600, owned by the user"

	is "$(build_source --kill)" compiled "$WHO: kill mode is another entry"
	is "$(build_source --deny ptrace --deny read)" compiled "$WHO: a deny list is another entry"
	is "$(build_source --deny read --deny ptrace)" cache "$WHO: ... whatever its order"
	is "$(ls "$DIR"/*.bpf | wc -l)" 3 "$WHO: three entries"

	# Damage: a flipped byte in the program, then a truncation.
	printf '\377' | dd of="$entry" bs=1 seek=$(($(stat -c %s "$entry") - 3)) conv=notrunc 2>/dev/null
	is "$(build_source)" compiled "$WHO: a damaged entry is not used"
	is "$(build_source)" cache "$WHO: ... and is replaced by a good one"
	truncate -s 100 "$entry"
	is "$(build_source)" compiled "$WHO: a truncated entry is not used"

	# The program compiled instead still enforces.
	out=$(cd "$TESTDIR" && $AS env XDG_CACHE_HOME="$CACHE" "$H/seccomp-exec" -- "$H/seccomp-probe" mount)
	is "$out" "mount EPERM" "$WHO: the filter still enforces after a cache miss"

	# An entry someone else owns, or others may write, is not used.
	if [ "$WHO" = nobody ]; then
		chown 0:0 "$entry"
		is "$(build_source)" compiled "$WHO: an entry owned by root is not used"
		is "$(stat -c %u "$entry")" 65534 "$WHO: ... and is replaced by the user's own"
	fi
	chmod 0666 "$entry"
	is "$(build_source)" compiled "$WHO: a world-writable entry is not used"
	chmod 0777 "$DIR"
	rm -f "$DIR"/*.bpf
	is "$(build_source)" compiled "$WHO: a world-writable directory..."
	is "$(ls "$DIR" | wc -l)" 0 "$WHO: ... is not written to"
	chmod 0700 "$DIR"

	# What it is worth: medians over 20 builds in one process.
	mkdir -p "$TESTDIR/bench-$WHO"
	[ "$WHO" = nobody ] && chown 65534:65534 "$TESTDIR/bench-$WHO"
	bench=$($AS env XDG_CACHE_HOME="$TESTDIR/bench-$WHO" "$H/seccomp-exec" --bench 20)
	compile=$(printf '%s\n' "$bench" | sed -n 's/^compile_us //p')
	hit=$(printf '%s\n' "$bench" | sed -n 's/^cache_hit_us //p')
	diag "$WHO: $(printf '%s\n' "$bench" | tr '\n' ' ')"
	if [ -n "$compile" ] && [ -n "$hit" ] && [ "$hit" -lt "$compile" ]; then
		ok "$WHO: a cache hit (${hit} us) is cheaper than compiling (${compile} us)" true
	else
		ok "$WHO: a cache hit is cheaper than compiling" false
		diag "$bench"
	fi
	# First build in a fresh process, as kdc-run does it once per run.
	firsts=$(for i in 1 2 3 4 5; do
		$AS env XDG_CACHE_HOME="$TESTDIR/bench-$WHO" "$H/seccomp-exec" --time -- true 2>&1 |
			sed -n 's/^seccomp-exec: build \([0-9]*\) us.*/\1/p'
	done | sort -n | tr '\n' ' ')
	diag "$WHO: first build in a fresh process, from the cache (us, sorted): $firsts"
}

for_each_user cache_as

done_testing
