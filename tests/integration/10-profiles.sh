#!/bin/sh
# SPDX-License-Identifier: MIT
# The profile loader end to end, through tests/profile/profile-dump (the
# loader and --print-profile without the sandbox): every shipped profile
# loads, as root and as nobody; bad profiles fail with their exact line;
# overrides and origins show in the printed plan.
. "$top_srcdir/tests/lib/libtest.sh"

DUMP="$top_builddir/tests/profile/profile-dump"
FIX="$top_srcdir/tests/unit/profiles"
[ -x "$DUMP" ] || skip_all "tests/profile/profile-dump is not built (make check builds it)"

mkdir -p "$TESTDIR/wd"
chmod 0755 "$TESTDIR/wd"
cd "$TESTDIR/wd" || bail_out "cannot cd into $TESTDIR/wd"

# --- the shipped profiles load, as root and as nobody --------------------
shipped() {
	for p in default python ci strict "$top_srcdir/profiles/examples/refund-agent.ini" \
		"$top_srcdir/profiles/examples/research-agent.ini"; do
		ok "$WHO: profile '$(basename "$p")' loads" $AS env KDC_CONFIG_PATH="$top_srcdir" "$DUMP" "$p" -- /bin/true
	done
}
for_each_user shipped

out=$(KDC_CONFIG_PATH="$top_srcdir" "$DUMP" default -- /bin/true 2>&1)
like "$out" "^mode = none ; from $top_srcdir/profiles/default.ini:[0-9]+$" "default: no network"
like "$out" "^workdir = $TESTDIR/wd ; from $top_srcdir/profiles/default.ini:[0-9]+$" "default: the current directory is the workdir"
like "$out" "^ro = /usr ; from " "default: /usr read-only"
like "$out" "^memory = 1G ; from $top_srcdir/profiles/default.ini:[0-9]+$" "default: 1G of memory"
unlike "$out" "shadow|/etc/ssl ;|/etc/ssl:" "default: never /etc/shadow, never all of /etc/ssl (private keys)"
like "$out" "^degrade = memory,cpu,pids,cgroup,egress-bpf,landlock ; from " "default: degrades what a host may lack"
is "$(printf '%s\n' "$out" | tail -n 1)" "; command: /bin/true ; from the command line" "the command comes last"

# A host symlink such as Debian 12's /bin -> usr/bin becomes the same link.
if [ -L /bin ]; then
	like "$out" "^ro = /bin ; symlink to $(readlink /bin) ; from " "/bin is a symlink on the host: the box gets the same link"
else
	like "$out" "^ro-try = /bin ; from " "/bin is a directory on the host: bound read-only"
fi

out=$(KDC_CONFIG_PATH="$top_srcdir" "$DUMP" strict 2>&1)
like "$out" "^degrade = ; from $top_srcdir/profiles/strict.ini:[0-9]+$" "strict: degrades nothing"
like "$out" "^on_violation = kill ; from " "strict: kills on a seccomp violation"
like "$out" "^memory = 512M ; from $top_srcdir/profiles/strict.ini:[0-9]+$" "strict: its own memory limit wins over default's"

out=$(KDC_CONFIG_PATH="$top_srcdir" "$DUMP" ci 2>&1)
like "$out" "^allow = \*\.pythonhosted\.org:443 ; from " "ci: package indexes allowed"
like "$out" "^mode = proxy ; from " "ci: through the proxy"

# --- overrides and their origins -----------------------------------------
out=$(KDC_CONFIG_PATH="$top_srcdir" "$DUMP" --memory 2G --tenant acme --env FOO=bar --timeout 90s python -- python3 -V 2>&1)
like "$out" "^memory = 2G ; from --memory$" "--memory overrides the profile, and says so"
like "$out" "^wall = 90s ; from --timeout$" "--timeout sets the wall clock"
like "$out" "^set = FOO=bar ; from --env$" "--env NAME=VALUE sets a variable"
like "$out" "^; tenant acme ; from --tenant$" "--tenant is recorded"
like "$out" "^set = PYTHONUNBUFFERED=1 ; from $top_srcdir/profiles/python.ini:[0-9]+$" "python's own values keep their origin"

# --- exact error lines ---------------------------------------------------
# expect_error NAME STATUS LINE: profile-dump exits with the errno and
# prints exactly one line.
expect_error() {
	local name=$1 want_rc=$2 want=$3 got rc
	got=$(KDC_CONFIG_PATH="$top_srcdir/tests/unit" "$DUMP" "$name" 2>&1 >/dev/null)
	rc=$?
	is "$got" "profile-dump: $want" "$name: error line"
	is "$rc" "$want_rc" "$name: exit status is the errno ($want_rc)"
}
expect_error unknown-key 22 "$FIX/unknown-key.ini:11: unknown key 'memroy' in [limits]"
expect_error unknown-section 22 "$FIX/unknown-section.ini:4: unknown section [limitz]"
expect_error bad-unit 22 "$FIX/bad-unit.ini:5: invalid value '512Q' for 'memory' in [limits]: expected a size such as 512M"
expect_error bad-syntax 22 "$FIX/bad-syntax.ini:3: syntax error: expected [section], key = value, or a comment"
expect_error bad-tool 22 "$FIX/bad-tool.ini:4: [tool refund] has no command"
expect_error no-version 22 "$FIX/no-version.ini: missing 'version = 1' in [profile]"
expect_error version-2 22 "$FIX/version-2.ini:2: unsupported version '2' in [profile]: expected 1"
expect_error cycle-a 40 "$FIX/cycle-b.ini:2: include cycle: $FIX/cycle-a.ini -> $FIX/cycle-b.ini -> $FIX/cycle-a.ini"
expect_error missing-include 2 "$FIX/missing-include.ini:4: profile 'no-such-profile' not found (searched $FIX/no-such-profile.ini, $FIX/no-such-profile.ini)"
expect_error no-such-profile 2 "profile 'no-such-profile' not found (searched $FIX/no-such-profile.ini)"

got=$(KDC_CONFIG_PATH="$top_srcdir" "$DUMP" --memory abc default 2>&1 >/dev/null)
is "$got" "profile-dump: --memory: invalid size 'abc': expected a size such as 512M" "--memory: bad size names the option"
got=$(KDC_CONFIG_PATH="$top_srcdir" "$DUMP" --ro-bind /usr:/proc/x default 2>&1 >/dev/null)
is "$got" "profile-dump: --ro-bind: ro destination '/proc/x' is inside /proc, which kdc mounts itself" \
	"--ro-bind: a destination kdc owns is refused"

# The whole host as the workdir is refused, whatever the profile says.
got=$(cd / && KDC_CONFIG_PATH="$top_srcdir" "$DUMP" default 2>&1 >/dev/null)
like "$got" "^profile-dump: $top_srcdir/profiles/default.ini:[0-9]+: refusing '/' as the workdir" "workdir '/' is refused"

# --- the search path -----------------------------------------------------
# Without KDC_CONFIG_PATH, $XDG_CONFIG_HOME/kdc/profiles comes first.
mkdir -p "$XDG_CONFIG_HOME/kdc/profiles"
printf '[profile]\nversion = 1\ndescription = mine\n' >"$XDG_CONFIG_HOME/kdc/profiles/mine.ini"
out=$(env -u KDC_CONFIG_PATH "$DUMP" mine 2>&1)
like "$out" "^description = mine ; from $XDG_CONFIG_HOME/kdc/profiles/mine.ini:3$" "XDG_CONFIG_HOME/kdc/profiles is searched"

# An unreadable profile is an error, never a reason to take the next one.
if [ "$(id -u)" -eq 0 ]; then
	mkdir -p "$TESTDIR/first/profiles" "$TESTDIR/second/profiles"
	printf '[profile]\nversion = 1\n' >"$TESTDIR/first/profiles/p.ini"
	printf '[profile]\nversion = 1\n' >"$TESTDIR/second/profiles/p.ini"
	chmod 0755 "$TESTDIR/first" "$TESTDIR/first/profiles" "$TESTDIR/second" "$TESTDIR/second/profiles"
	chmod 0644 "$TESTDIR/second/profiles/p.ini"
	chmod 0600 "$TESTDIR/first/profiles/p.ini"
	ok "positive control: nobody can load a readable profile" \
		as_nobody env KDC_CONFIG_PATH="$TESTDIR/second" "$DUMP" p
	got=$(as_nobody env KDC_CONFIG_PATH="$TESTDIR/first:$TESTDIR/second" "$DUMP" p 2>&1 >/dev/null)
	is "$got" "profile-dump: cannot open profile '$TESTDIR/first/profiles/p.ini': Permission denied" \
		"nobody: an unreadable profile on the path is an error"
else
	skip "needs root to create a profile nobody cannot read" 2
fi

done_testing
