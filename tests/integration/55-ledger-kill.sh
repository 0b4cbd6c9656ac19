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

. "$top_srcdir/tests/ledger/torture.sh"

# A kill is a kill on any file system: the thousands go to a tmpfs when
# there is one (fast); a few hundred more hit the disk, inside fsync.
fast_dir
torture "2000 SIGKILLs: integrity, acknowledged operations present, nothing half-applied, one effect per id" \
	kill --db "$FAST_DIR/kill.db" --kills 2000
mkdir -p "$TESTDIR/disk"
torture "200 SIGKILLs on disk, many during the commit's fsync: the same" \
	kill --db "$TESTDIR/disk/kill.db" --kills 200

done_testing
