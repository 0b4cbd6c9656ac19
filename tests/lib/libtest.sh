# SPDX-License-Identifier: MIT
# Shared helpers for kdc's TAP integration tests.
#
#   . "$top_srcdir/tests/lib/libtest.sh"
#   ok "description" command...        # passes when the command exits 0
#   is "$got" "$want" "description"
#   like "$got" "regex" "description"  # grep -E
#   skip "reason" [n]                  # n skipped cases
#   skip_all "reason"                  # whole script; FAIL when KDC_TEST_NO_SKIP=1
#   as_nobody command...               # runs as uid/gid 65534, no groups
#   add_cleanup 'shell code'           # run on exit, last added first
#   done_testing                       # prints the plan; exit status
#
# TESTDIR is a fresh temporary directory (world-traversable so the
# unprivileged cases can use it), removed on exit with everything else
# registered with add_cleanup.

set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
: "${KDC_CONFIG_PATH:=$top_srcdir}"
export KDC_CONFIG_PATH

KDC_RUN="$top_builddir/kdc-run"
KDC_LEDGER="$top_builddir/kdc-ledger"
KDC_SUPERVISOR="$top_builddir/kdc-supervisor"
export KDC_RUN KDC_LEDGER KDC_SUPERVISOR

_tap_n=0
_tap_failed=0
_cleanups=""

TESTDIR=$(mktemp -d "${TMPDIR:-/tmp}/kdc-test.XXXXXX") || exit 99
chmod 0755 "$TESTDIR"
export TESTDIR
# Never let the tests touch the caller's real ledger or config.
export XDG_STATE_HOME="$TESTDIR/state" XDG_CONFIG_HOME="$TESTDIR/config" XDG_CACHE_HOME="$TESTDIR/cache"
# root's ledger would be /var/lib/kdc/kdc.db: each user gets one of its own.
export KDC_DB="$TESTDIR/state/kdc/kdc.db"
mkdir -p "$TESTDIR/nobody-home" "$TESTDIR/nobody-state"
chown 65534:65534 "$TESTDIR/nobody-home" "$TESTDIR/nobody-state" 2>/dev/null

add_cleanup() {
	_cleanups="$1
$_cleanups"
}

_run_cleanups() {
	local rc=$?
	set +e
	if [ -n "$_cleanups" ]; then
		eval "$_cleanups" >/dev/null 2>&1
	fi
	rm -rf "$TESTDIR"
	exit $rc
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

_result() {
	_tap_n=$((_tap_n + 1))
	# TODO="why": a known failure, reported (XFAIL / XPASS) but not
	# counted; TAP's own mechanism, so it stays visible in every summary.
	if [ -n "${TODO:-}" ]; then
		if [ "$1" -eq 0 ]; then
			printf 'ok %d - %s # TODO %s\n' "$_tap_n" "$2" "$TODO"
		else
			printf 'not ok %d - %s # TODO %s\n' "$_tap_n" "$2" "$TODO"
		fi
		return 0
	fi
	if [ "$1" -eq 0 ]; then
		printf 'ok %d - %s\n' "$_tap_n" "$2"
	else
		_tap_failed=$((_tap_failed + 1))
		printf 'not ok %d - %s\n' "$_tap_n" "$2"
	fi
}

ok() {
	local desc=$1
	shift
	if "$@" >"$TESTDIR/.ok.out" 2>&1; then
		_result 0 "$desc"
	else
		local rc=$?
		_result 1 "$desc"
		diag "command: $*" "exit status: $rc"
		sed 's/^/#   /' "$TESTDIR/.ok.out" | head -n 30
	fi
}

# Passes when the command fails.
fails() {
	local desc=$1
	shift
	if "$@" >"$TESTDIR/.ok.out" 2>&1; then
		_result 1 "$desc"
		diag "command unexpectedly succeeded: $*"
		sed 's/^/#   /' "$TESTDIR/.ok.out" | head -n 30
	else
		_result 0 "$desc"
	fi
}

is() {
	if [ "$1" = "$2" ]; then
		_result 0 "$3"
	else
		_result 1 "$3"
		diag "got:  '$1'" "want: '$2'"
	fi
}

like() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		_result 0 "$3"
	else
		_result 1 "$3"
		diag "got:  '$1'" "want: /$2/"
	fi
}

unlike() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		_result 1 "$3"
		diag "got:  '$1'" "must not match: /$2/"
	else
		_result 0 "$3"
	fi
}

# Skipping is loud: under KDC_TEST_NO_SKIP=1 (CI) a skip is a failure.
skip() {
	local reason=$1 n=${2:-1} i
	for i in $(seq "$n"); do
		if [ "${KDC_TEST_NO_SKIP:-0}" = 1 ]; then
			_result 1 "SKIP not allowed (KDC_TEST_NO_SKIP=1): $reason"
		else
			_tap_n=$((_tap_n + 1))
			printf 'ok %d # SKIP %s\n' "$_tap_n" "$reason"
		fi
	done
}

skip_all() {
	if [ "${KDC_TEST_NO_SKIP:-0}" = 1 ]; then
		echo "1..1"
		echo "not ok 1 - SKIP not allowed (KDC_TEST_NO_SKIP=1): $1"
		exit 1
	fi
	echo "1..0 # SKIP $1"
	exit 0
}

bail_out() {
	echo "Bail out! $*"
	exit 99
}

done_testing() {
	echo "1..$_tap_n"
	[ "$_tap_failed" -eq 0 ]
	exit $?
}

require_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (to create the test's own namespaces and users)"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "needs '$c' (install it: see .ci/install-deps)"
	done
}

# Runs a command as the unprivileged user 65534 with no supplementary groups
# and a scrubbed HOME, as TESTING.md asks for every sandbox case.
# With KDC_EXEC=exec, the command replaces the (sub)shell, so that "$!" of a
# background job is the command's own pid.
as_nobody() {
	${KDC_EXEC:-} setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		env HOME="$TESTDIR/nobody-home" XDG_STATE_HOME="$TESTDIR/nobody-state" \
		XDG_CACHE_HOME="$TESTDIR/nobody-home/.cache" KDC_DB="$TESTDIR/nobody-state/kdc/kdc.db" "$@"
}

# Runs "$@" for each of root and nobody, with WHO set to 'root' or 'nobody'
# and AS set to the prefix that runs a command as that user.
for_each_user() {
	local fn=$1
	shift
	mkdir -p "$TESTDIR/nobody-home" "$XDG_STATE_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
	chown 65534:65534 "$TESTDIR/nobody-home"
	WHO=root AS="" "$fn" "$@"
	if [ "$(id -u)" -eq 0 ]; then
		WHO=nobody AS=as_nobody "$fn" "$@"
	fi
}

# ---- running things in the box ---------------------------------------------
PROBE_DIR="$top_builddir/tests/hostile"

# A workdir owned by the current WHO (root or nobody).
make_workdir() {
	local d="$TESTDIR/work-${WHO:-root}"
	mkdir -p "$d"
	[ "${WHO:-root}" = nobody ] && chown 65534:65534 "$d"
	printf '%s\n' "$d"
}

# kdc_box [kdc-run options...] -- command...: runs kdc-run as $WHO with the
# default profile, the probes read-only at /probe and a per-user workdir.
kdc_box() {
	local work
	work=$(make_workdir)
	if [ "${WHO:-root}" = nobody ]; then
		as_nobody "$KDC_RUN" --profile default --quiet --workdir "$work" --ro-bind "$PROBE_DIR:/probe" "$@"
	else
		${KDC_EXEC:-} "$KDC_RUN" --profile default --quiet --workdir "$work" --ro-bind "$PROBE_DIR:/probe" "$@"
	fi
}

# probe_in ARGS...: runs box-probe inside the box, prints what it printed.
probe_in() {
	kdc_box -- /probe/box-probe "$@" 2>&1
}

# probe_out ARGS...: the positive control: the same probe outside the box.
probe_out() {
	${AS:-} "$PROBE_DIR/box-probe" "$@" 2>&1
}

# wait_for CMD...: retries up to 5 s (listeners starting in the background).
wait_for() {
	local i
	for i in $(seq 50); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# ---- the private network world (TESTING.md, network rule) ------------------
# private_world NS INET [ADDR...]: namespace NS (198.51.100.2/24,
# fd00:6b64::2/64, default route via INET) joined by a veth pair to INET,
# the fake internet (198.51.100.1/24, fd00:6b64::1/64, and each extra ADDR,
# e.g. the metadata address). Every address a test sends to lives here.
# Both namespaces are removed at exit.
private_world() {
	local ns=$1 inet=$2 a
	shift 2
	ip netns add "$ns" || bail_out "cannot create netns $ns"
	add_cleanup "ip netns del $ns"
	ip netns add "$inet" || bail_out "cannot create netns $inet"
	add_cleanup "ip netns del $inet"
	ip link add "v-$ns" netns "$ns" type veth peer name "v-$inet" netns "$inet" || bail_out "cannot create veth"
	ip -n "$ns" link set lo up
	ip -n "$inet" link set lo up
	ip -n "$ns" addr add 198.51.100.2/24 dev "v-$ns"
	ip -n "$inet" addr add 198.51.100.1/24 dev "v-$inet"
	ip -n "$ns" addr add fd00:6b64::2/64 dev "v-$ns" nodad
	ip -n "$inet" addr add fd00:6b64::1/64 dev "v-$inet" nodad
	for a in "$@"; do
		case $a in
		*:*) ip -n "$inet" addr add "$a/128" dev "v-$inet" nodad ;;
		*) ip -n "$inet" addr add "$a/32" dev "v-$inet" ;;
		esac
	done
	ip -n "$ns" link set "v-$ns" up
	ip -n "$inet" link set "v-$inet" up
	ip -n "$ns" route add default via 198.51.100.1
}

# tcp_listener NS ADDR PORT: accepts and closes TCP connections on ADDR
# (IPv4 or IPv6) inside NS; killed at exit.
tcp_listener() {
	ip netns exec "$1" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(64)
while True:
    c, _ = s.accept(); c.close()
' "$2" "$3" &
	add_cleanup "kill $!"
}

# abstract_listener NS NAME: an abstract Unix socket @NAME in NS; killed at exit.
abstract_listener() {
	ip netns exec "$1" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("\0" + sys.argv[1]); s.listen(64)
while True:
    c, _ = s.accept(); c.close()
' "$2" &
	add_cleanup "kill $!"
}
