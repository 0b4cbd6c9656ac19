#!/bin/sh
# SPDX-License-Identifier: MIT
# 34-seccomp-docs: doc/seccomp-policy.txt is the source of truth; the man
# page fragment must name every forbidden, argument-filtered and fixed call
# in it, render without warnings, and the table's generator must refuse a
# malformed table, naming the line.

. "$top_srcdir/tests/lib/libtest.sh"

POLICY="$top_srcdir/doc/seccomp-policy.txt"
INC="$top_srcdir/man/seccomp-policy.inc"
AWK_GEN="$top_srcdir/src/core/seccomp-table.awk"
: "${AWK:=awk}"

names() { # ACTION-REGEX: the table's names whose line matches
	sed 's/#.*//' "$POLICY" | awk -v re="$1" 'NF >= 2 && ($2 " " $3) ~ re { print $1 }'
}

missing=""
for n in $(names '^(deny-eperm|args)|fixed'); do
	grep -q "\\\\fB$n\\\\fR" "$INC" || missing="$missing $n"
done
is "$missing" "" "man/seccomp-policy.inc names every forbidden, argument-filtered and fixed call"
is "$(names '^args' | wc -l)" 7 "the table has the seven argument-filtered calls the code implements"

if command -v groff >/dev/null 2>&1; then
	warnings=$( (printf '.TH KDC-PROFILE 5\n.SH NAME\nkdc-profile \\- x\n'; cat "$INC") | groff -man -ww -z -Tutf8 2>&1)
	is "$warnings" "" "man/seccomp-policy.inc renders without groff warnings"
else
	skip "groff is not installed (groff-base)"
fi

# The generator: the real table, then broken ones.
out=$($AWK -f "$AWK_GEN" "$POLICY" 2>&1)
like "$out" 'static const SeccompTableEntry seccomp_table' "the generator turns the table into C"
is "$(printf '%s\n' "$out" | grep -c '^	{ "')" "$(names . | wc -l)" "... one entry per line of the table"

gen_fails() { # DESCRIPTION EXPECTED-MESSAGE TABLE-TEXT
	printf '%s\n' "$3" > "$TESTDIR/bad.txt"
	msg=$($AWK -f "$AWK_GEN" "$TESTDIR/bad.txt" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" -ne 0 ] && printf '%s\n' "$msg" | grep -q -- "$2"; then
		ok "the generator refuses $1" true
	else
		ok "the generator refuses $1" false
		diag "exit $rc: $msg"
	fi
}
gen_fails "a name listed twice" "bad.txt:3: 'read' listed twice (first on line 2)" '# max-nr 1
read allow
read deny-eperm'
gen_fails "an unknown action" "bad.txt:2: unknown action 'permit'" '# max-nr 1
read permit'
gen_fails "trailing words" "bad.txt:2: trailing words" '# max-nr 1
read allow always'
gen_fails "a bad name" "bad.txt:2: bad syscall name 'Read'" '# max-nr 1
Read allow'
gen_fails "a table without max-nr" "no '# max-nr N' line" 'read allow'

done_testing
