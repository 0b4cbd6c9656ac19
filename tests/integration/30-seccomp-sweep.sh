#!/bin/sh
# SPDX-License-Identifier: MIT
# 30-seccomp-sweep: every x86_64 syscall number, called with harmless
# arguments, once without and once under the seccomp filter, as root and as
# uid 65534; the results must match doc/seccomp-policy.txt exactly:
#   allow / args   the same result as without the filter (so an EPERM the
#                  kernel gives is told from one the filter gives)
#   deny-eperm     EPERM
#   enosys         ENOSYS, as every number the table does not name
#   x32 numbers    the process is killed (SIGSYS)
#   "# exempt NR"  numbers the kernel lets past every filter: the same
#                  result as without the filter
# (tests/hostile/syscall-sweep.c says which calls get other arguments and
# which four are skipped, and why.)

. "$top_srcdir/tests/lib/libtest.sh"

H="$top_builddir/tests/hostile"
POLICY="$top_srcdir/doc/seccomp-policy.txt"
[ "$(uname -m)" = x86_64 ] || skip_all "the policy is written for x86_64, this is $(uname -m)"
[ -x "$H/syscall-sweep" ] && [ -x "$H/seccomp-exec" ] || skip_all "tests/hostile not built (run 'make check')"

# check WHAT BASE FILTERED: prints "count mismatch..." for one category.
compare() {
	awk -v what="$1" '
	FILENAME == ARGV[2] && FNR == 1 { phase = 1 }
	FILENAME == ARGV[3] && FNR == 1 { phase = 2 }
	phase == 0 {
		if ($1 == "#" && $2 == "exempt") exempt[$3] = 1
		if ($0 ~ /^#/) next
		sub(/#.*/, "")
		if (NF >= 2) action[$1] = $2
		next
	}
	phase == 1 { base[$1] = $3; next }
	{
		nr = $1; name = $2; got = $3; seen[name] = 1
		a = (name in action) ? action[name] : "unlisted"
		if (nr >= 1073741824) a = "x32"
		if (nr in exempt) a = "exempt"
		if (a == "args") a = "allow"
		if (a != what) next
		n++
		if (what == "allow" && got == "skip") {
			if (name !~ /^(exit|exit_group|rt_sigreturn|vfork)$/) bad = bad " " name "=skip"
			next
		}
		want = what == "allow" || what == "exempt" ? base[nr] : what == "deny-eperm" ? "EPERM" : what == "x32" ? "SIGSYS" : "ENOSYS"
		if (got != want) bad = bad " " nr ":" name "=" got "(want " want ")"
	}
	END {
		if (what == "coverage") {
			for (s in action) { n++; if (!(s in seen)) bad = bad " " s }
		}
		printf "%d%s\n", n, bad
	}' "$POLICY" "$2" "$3"
}

# "N" alone is a pass with N cases; anything after N lists the failures.
check() {
	desc=$1
	shift
	res=$(compare "$@")
	n=${res%% *}
	rest=${res#"$n"}
	if [ -z "$rest" ] && [ "$n" -gt 0 ]; then
		ok "$desc ($n)" true
	else
		ok "$desc ($n)" false
		diag "mismatches:$rest"
	fi
}

sweep_as() {
	mkdir -p "$TESTDIR/$WHO"
	chmod 0777 "$TESTDIR/$WHO"
	base="$TESTDIR/$WHO/base" filt="$TESTDIR/$WHO/filtered"
	$AS "$H/seccomp-exec" --no-filter -- "$H/syscall-sweep" > "$base" 2> "$base.err"
	is "$?" 0 "$WHO: the sweep runs without the filter"
	$AS "$H/seccomp-exec" -- "$H/syscall-sweep" > "$filt" 2> "$filt.err"
	is "$?" 0 "$WHO: the sweep runs under the filter"
	[ -s "$base.err" ] && diag "$(cat "$base.err")"
	[ -s "$filt.err" ] && diag "$(cat "$filt.err")"
	is "$(wc -l < "$filt")" "$(wc -l < "$base")" "$WHO: both sweeps cover the same numbers"

	check "$WHO: allowed syscalls behave as without the filter" allow "$base" "$filt"
	check "$WHO: forbidden syscalls fail with EPERM" deny-eperm "$base" "$filt"
	check "$WHO: enosys syscalls fail with ENOSYS" enosys "$base" "$filt"
	check "$WHO: numbers the table does not name fail with ENOSYS" unlisted "$base" "$filt"
	check "$WHO: x32 system calls kill the process" x32 "$base" "$filt"
	check "$WHO: numbers the kernel exempts from seccomp behave as without the filter" exempt "$base" "$filt"
	check "$WHO: every syscall in the table was swept" coverage "$base" "$filt"

	# Positive control: without the filter the kernel answers these calls
	# itself (only root gets past its capability checks everywhere).
	if [ "$WHO" = root ]; then
		ctl=$(awk 'FILENAME == ARGV[1] { sub(/#.*/, ""); if ($2 == "deny-eperm") d[$1] = 1; next }
			($2 in d) && $3 == "EPERM" { printf " %s", $2 }' "$POLICY" "$base")
		is "$ctl" "" "root: without the filter no forbidden syscall answers EPERM (control)"
	fi
	x32_base=$(awk '$1 >= 1073741824 && $3 ~ /^SIG/ { printf " %s=%s", $2, $3 }' "$base")
	is "$x32_base" "" "$WHO: without the filter x32 calls do not kill (control)"
}

for_each_user sweep_as

done_testing
