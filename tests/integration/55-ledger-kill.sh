#!/bin/bash
# SPDX-License-Identifier: MIT
# Ledger properties 2 and 4: thousands of SIGKILLs aimed inside operations
# (many land in COMMIT); each restarted worker first retries the operation
# it never saw answered. Then: PRAGMA integrity_check is ok, every
# acknowledged operation is present with exactly its effect, nothing
# unacknowledged is half-applied (aggregates = rows, every effect has its
# audit row, no effect twice), and retried ids had one effect.
# Seeded: KDC_TORTURE_SEED=N replays the operations (not the kill timing).
. "$top_srcdir/tests/lib/libtest.sh"

T="$top_builddir/tests/ledger/ledger-torture"
[ -x "$T" ] || bail_out "tests/ledger/ledger-torture is not built"

torture() {
	local desc=$1 out st
	shift
	out=$("$T" "$@" 2>&1)
	st=$?
	printf '%s\n' "$out" | grep '^#'
	printf '%s\n' "$out" | grep -v '^#' | sed 's/^/# /'
	is "$st" 0 "$desc"
}

# A kill is a kill on any file system: the thousands go to a tmpfs when
# there is one (fast); a few hundred more hit the disk, inside fsync.
fast="$TESTDIR"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	fast=$(mktemp -d /dev/shm/kdc-ledger-test.XXXXXX) && add_cleanup "rm -rf '$fast'"
fi
torture "2000 SIGKILLs: integrity, acknowledged operations present, nothing half-applied, one effect per id" \
	kill --db "$fast/kill.db" --kills 2000
mkdir -p "$TESTDIR/disk"
torture "200 SIGKILLs on disk, many during the commit's fsync: the same" \
	kill --db "$TESTDIR/disk/kill.db" --kills 200

done_testing
