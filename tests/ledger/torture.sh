# SPDX-License-Identifier: MIT
# Sourced by tests/integration/5[4-6]-ledger-*.sh after libtest.sh.

LEDGER_TORTURE="$top_builddir/tests/ledger/ledger-torture"
[ -x "$LEDGER_TORTURE" ] || bail_out "tests/ledger/ledger-torture is not built"

# torture "description" args...: one TAP case for one helper run, whose
# report (seed first) becomes TAP comments.
torture() {
	local desc=$1 out st
	shift
	out=$(timeout 600 "$LEDGER_TORTURE" "$@" 2>&1)
	st=$?
	printf '%s\n' "$out" | grep '^#'
	printf '%s\n' "$out" | grep -v '^#' | sed 's/^/# /'
	is "$st" 0 "$desc"
}

# Sets FAST_DIR: a directory on a tmpfs when there is one (for runs whose
# property does not depend on the disk), else the test directory. Not in a
# subshell: its cleanup must reach the test's own list.
fast_dir() {
	FAST_DIR=$TESTDIR
	if [ -d /dev/shm ] && [ -w /dev/shm ] && FAST_DIR=$(mktemp -d /dev/shm/kdc-ledger-test.XXXXXX); then
		add_cleanup "rm -rf '$FAST_DIR'"
	else
		FAST_DIR=$TESTDIR
	fi
}
