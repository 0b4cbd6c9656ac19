#!/bin/bash
# SPDX-License-Identifier: MIT
# kdc-ledger's options agree everywhere: the parser's tables, --help, the
# man page and the bash, zsh and fish completions; every option a command's
# --help shows is accepted by that command, and bash completes exactly
# those options for it.
. "$top_srcdir/tests/lib/libtest.sh"

[ -x "$KDC_LEDGER" ] || bail_out "kdc-ledger is not built"
src="$top_srcdir/src/ledger/kdc-ledger.c"
man="$top_srcdir/man/kdc-ledger.1"
bash_c="$top_srcdir/completions/bash/kdc-ledger"
zsh_c="$top_srcdir/completions/zsh/_kdc-ledger"
fish_c="$top_srcdir/completions/fish/kdc-ledger.fish"

sorted() { tr ' ' '\n' | grep -v '^$' | sort -u | tr '\n' ' '; }

parser=$(grep -oE '\{ ?"[a-z][a-z-]*", *(no|required|optional)_argument' "$src" | cut -d'"' -f2 | sorted)
help=$("$KDC_LEDGER" --help | grep -oE -- '--[a-z][a-z-]*' | sed 's/^--//' | sorted)
ok "the parser has options (positive control)" [ "$(echo $parser | wc -w)" -ge 15 ]
is "$help" "$parser" "--help lists exactly the options the parser accepts"

for o in $parser; do
	ok "man page documents --$o" grep -qE "^\.BR? \\\\-\\\\-$o( |\$)|\\\\fB\\\\-\\\\-$o\\\\fR" "$man"
	ok "bash completion offers --$o" grep -qE -- "--$o( |\"|\\)|\$)" "$bash_c"
	ok "zsh completion offers --$o" grep -qE -- "--$o(=|\\[|\\}|,)" "$zsh_c"
	ok "fish completion offers --$o" grep -qE -- "-l $o( |\$)" "$fish_c"
done
# Nothing documented that does not exist.
man_opts=$(grep -oE '\\-\\-[a-z][a-z-]*' "$man" | sed 's/^\\-\\-//' | sorted)
is "$man_opts" "$parser" "the man page mentions no other option"

# Per command: what --help shows is accepted, and what bash completes.
. "$bash_c"
complete_words() {
	COMP_WORDS=(kdc-ledger "$@" --)
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_kdc_ledger 2>/dev/null
	printf '%s\n' "${COMPREPLY[@]}" | sed 's/^--//' | sorted
}
for c in init "tenant add" "tenant list" "tenant rm" "budget set" "budget show" "budget rm" hold post void charge \
	usage report audit sessions verify gc; do
	# shellcheck disable=SC2086
	opts=$("$KDC_LEDGER" $c --help | sed -n 's/^  kdc-ledger \[--db PATH\] //p' | grep -oE -- '--[a-z][a-z-]*' | sed 's/^--//' | sorted)
	rejected=
	for o in $opts; do
		# shellcheck disable=SC2086
		"$KDC_LEDGER" --db /nonexistent/kdc.db $c --$o x >/dev/null 2>"$TESTDIR/err"
		grep -qE 'unrecognized option|invalid option' "$TESTDIR/err" && rejected="$rejected $o"
	done
	is "$rejected" "" "$c: accepts every option its --help shows"
	# shellcheck disable=SC2086
	is "$(complete_words $c)" "$(echo "$opts help" | sorted)" "$c: bash completes exactly its options"
done
is "$(complete_words)" "$(echo "db help version" | sorted)" "bash completes the global options"

done_testing
