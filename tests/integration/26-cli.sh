#!/bin/bash
# The command line: --help, --version, bad options and bad values give one
# clear line and exit 125; --print-profile and --dry-run stop before running.
. "$top_srcdir/tests/lib/libtest.sh"

run() { # prints "rc|stdout+stderr"
	local out rc
	out=$("$KDC_RUN" "$@" 2>&1)
	rc=$?
	printf '%s|%s' "$rc" "$out"
}

like "$(run --version)" "^0\|kdc-run [0-9]+\.[0-9]+" "--version prints the version"
like "$(run --help)" "^0\|Usage: kdc-run" "--help prints usage and exits 0"
is "$(run --bogus)" "125|kdc-run: unknown option '--bogus'; see 'kdc-run --help'" "an unknown option: one line, 125"
is "$(run -Z)" "125|kdc-run: unknown option '-Z'; see 'kdc-run --help'" "an unknown short option: one line, 125"
is "$(run --memory)" "125|kdc-run: option '--memory' needs an argument; see 'kdc-run --help'" \
	"a missing argument: one line, 125"
is "$(run)" "125|kdc-run: no command given; usage: kdc-run [OPTION...] [--] COMMAND [ARG...]" "no command: 125"
like "$(run --memory 12Q -- /bin/true)" "^125\|kdc-run: --memory: invalid size '12Q'" "a bad --memory value names the option"
like "$(run --cpu many -- /bin/true)" "^125\|kdc-run: --cpu: " "a bad --cpu value names the option"
like "$(run --pids -3 -- /bin/true)" "^125\|kdc-run: --pids: " "a bad --pids value names the option"
like "$(run --timeout soon -- /bin/true)" "^125\|kdc-run: --timeout: " "a bad --timeout names the option"
like "$(run --net everywhere -- /bin/true)" "^125\|kdc-run: --net: " "a bad --net names the option"
like "$(run --profile /nonexistent/p.ini -- /bin/true)" "^125\|kdc-run: .*/nonexistent/p.ini" "a missing profile file is named"
like "$(run --profile no-such-profile -- /bin/true)" "^125\|kdc-run: .*no-such-profile" "a missing profile name is named"
like "$(run --workdir /nonexistent-dir -- /bin/true)" "^125\|kdc-run: --workdir: .*/nonexistent-dir" "a missing workdir is named"
like "$(run --env 'BAD NAME=1' -- /bin/true)" "^125\|kdc-run: --env: " "a bad --env name is refused"

# Profiles with errors name file:line.
mkdir -p "$TESTDIR/p"
printf '[profile]\nversion = 1\n[limits]\nmemroy = 1G\n' >"$TESTDIR/p/typo.ini"
like "$(run --profile "$TESTDIR/p/typo.ini" -- /bin/true)" "^125\|kdc-run: $TESTDIR/p/typo.ini:4: unknown key 'memroy'" \
	"an unknown key names file:line"
printf '[profile]\nversion = 1\ninclude = b\n' >"$TESTDIR/p/a.ini"
printf '[profile]\ninclude = a\n' >"$TESTDIR/p/b.ini"
like "$(run --profile "$TESTDIR/p/a.ini" -- /bin/true)" "^125\|kdc-run: .*include cycle" "an include cycle is refused"

# --print-profile shows values and their origins; --dry-run validates only.
out=$(run --print-profile --memory 256M -- /bin/true)
like "$out" "^0\|" "--print-profile exits 0"
like "$out" "memory = 256M.*--memory" "--print-profile names the origin of an override"
like "$out" "profiles/default.ini:[0-9]+" "--print-profile names the profile file and line"
out=$(run --dry-run -- /nonexistent/never-run)
is "${out%%|*}" 0 "--dry-run does not run the command"

# Controls this build cannot apply refuse the run unless degraded.
printf '[profile]\nversion = 1\ninclude = default\n[limits]\nmemory = 64M\n[sandbox]\ndegrade =\n' >"$TESTDIR/p/strictmem.ini"
out=$(run --profile "$TESTDIR/p/strictmem.ini" -- /bin/true)
if grep -qw memory /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null || grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
	# This host can enforce it: the same profile runs, nothing degraded.
	like "$out" "^0\|" "an enforceable memory limit lets the run go ahead"
	unlike "$out" "degraded" "... and nothing is degraded"
else
	like "$out" "^125\|kdc-run: .*cannot enable the memory limit: cgroup2 at .* has no 'memory' controller" \
		"an unenforceable limit refuses the run, naming the controller (fail closed)"
	like "$out" "add 'degrade = memory' to the profile" "... and the fix"
fi
like "$(run --profile default --quiet -- /bin/true)" "^0\|$" "the default profile degrades what the host lacks and runs"

# Every end writes --json-status, early failures included.
run --profile no-such-profile --json-status "$TESTDIR/early.json" -- /bin/true >/dev/null
like "$(cat "$TESTDIR/early.json" 2>/dev/null)" '"reason": "error"' "--json-status is written when the profile is missing"
like "$(cat "$TESTDIR/early.json" 2>/dev/null)" "no-such-profile" "... with the message"
run --profile "$TESTDIR/p/strictmem.ini" --json-status "$TESTDIR/early2.json" -- /bin/true >/dev/null
like "$(cat "$TESTDIR/early2.json" 2>/dev/null)" '"exit_status": (125|0)' "--json-status is written when a control refuses the run"

# doctor: the checks, for this caller, and a verdict per profile.
out=$(run doctor)
like "$out" "^0\|kdc-run doctor \(uid $(id -u)\)" "doctor exits 0 where the box can be built"
for c in userns cgroup bpf landlock seccomp; do
	like "$out" "  $c +(ok|no) " "doctor reports $c"
done
like "$out" "  default +runs" "doctor: the default profile runs here"
json=$("$KDC_RUN" doctor --json)
is "$(printf '%s' "$json" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["checks"]), sorted(p["profile"] for p in d["profiles"])[:4])')" \
	"5 ['ci', 'default', 'python', 'strict']" "doctor --json: five checks and the shipped profiles"
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$TESTDIR/nobody-home"
	out=$(as_nobody "$KDC_RUN" doctor 2>&1)
	like "$out" "bpf +no .*CAP_BPF" "doctor as nobody: no BPF, naming the privilege and the fix"
	like "$out" "  default +runs degrading cgroup" "doctor as nobody: default runs degrading the cgroup"
fi
like "$(run doctor --bogus)" "^125\|kdc-run: doctor: unknown option '--bogus'" "doctor: a bad option is refused"

done_testing
