#!/bin/bash
# SPDX-License-Identifier: MIT
# Ledger property 1, cap never exceeded: 32 processes x 500 random
# hold/post/void/charge against nested caps (tenant, projects, users);
# after every commit posted + pending <= cap in every scope, checked by
# replaying the audit trail in commit order and by a live reader.
# Seeded: KDC_TORTURE_SEED=N replays the operations.
. "$top_srcdir/tests/lib/libtest.sh"

T="$top_builddir/tests/ledger/ledger-torture"
[ -x "$T" ] || bail_out "tests/ledger/ledger-torture is not built"

# torture "description" args...: one TAP case; the helper's report as diag.
torture() {
	local desc=$1 out st
	shift
	out=$("$T" "$@" 2>&1)
	st=$?
	printf '%s\n' "$out" | grep '^#'
	printf '%s\n' "$out" | grep -v '^#' | sed 's/^/# /'
	is "$st" 0 "$desc"
}

# The invariant does not depend on the disk: the full run goes to a tmpfs
# when there is one (fast), a smaller one to the test directory's disk.
fast="$TESTDIR"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	fast=$(mktemp -d /dev/shm/kdc-ledger-test.XXXXXX) && add_cleanup "rm -rf '$fast'"
fi
torture "32 processes x 500 operations: no cap exceeded after any commit" \
	caps --db "$fast/caps.db" --procs 32 --ops 500
mkdir -p "$TESTDIR/disk"
torture "8 processes x 100 operations on disk (fsync between commits): no cap exceeded" \
	caps --db "$TESTDIR/disk/caps.db" --procs 8 --ops 100

done_testing
