#!/bin/bash
# Every option of every program appears in its --help, its man page and its
# bash, zsh and fish completions, and nowhere is an option that does not
# exist (bubblewrap once shipped a completion typo no test caught).
. "$top_srcdir/tests/lib/libtest.sh"

opts_help() { "$1" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u; }
opts_man() { sed 's/\\-/-/g; s/\\f[BIRP]//g' "$1" | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u; }
opts_bash() { grep -oE -- '--[a-z][a-z0-9-]+' "$1" | sort -u; }
opts_zsh() { grep -oE -- '--[a-z][a-z0-9-]+' "$1" | sort -u; }
opts_fish() { grep '^complete' "$1" | grep -oE -- ' -l [a-z][a-z0-9-]+' | sed 's/^ -l /--/' | sort -u; }

checked=0
for prog in kdc-run kdc-ledger kdc-supervisor; do
	bin="$top_builddir/$prog"
	[ -x "$bin" ] || continue
	man=$(ls "$top_srcdir"/man/"$prog".[0-9] 2>/dev/null | head -n1)
	help=$(opts_help "$bin")
	like "$help" -- '--help' "$prog: --help lists options"
	for kind in man bash zsh fish; do
		case $kind in
		man) f=$man ;;
		bash) f="$top_srcdir/completions/bash/$prog" ;;
		zsh) f="$top_srcdir/completions/zsh/_$prog" ;;
		fish) f="$top_srcdir/completions/fish/$prog.fish" ;;
		esac
		if [ ! -f "$f" ]; then
			_result 1 "$prog: $kind documentation exists ($f)"
			continue
		fi
		got=$(opts_$kind "$f")
		is "$got" "$help" "$prog: options in the $kind file are those of --help"
	done
	checked=$((checked + 1))
done
[ $checked -ge 1 ] || bail_out "no program built"
done_testing
