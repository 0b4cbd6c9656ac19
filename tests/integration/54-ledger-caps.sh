#!/bin/bash
# SPDX-License-Identifier: MIT
# Ledger property 1, cap never exceeded: 32 processes x 500 random
# hold/post/void/charge against nested caps (tenant, projects, users);
# after every commit posted + pending <= cap in every scope, checked by
# replaying the audit trail in commit order and by a live reader.
# Seeded: KDC_TORTURE_SEED=N replays the operations.
. "$top_srcdir/tests/lib/libtest.sh"

. "$top_srcdir/tests/ledger/torture.sh"

# The invariant does not depend on the disk: the full run goes to a tmpfs
# when there is one (fast), a smaller one to the test directory's disk.
fast_dir
torture "32 processes x 500 operations: no cap exceeded after any commit" \
	caps --db "$FAST_DIR/caps.db" --procs 32 --ops 500
mkdir -p "$TESTDIR/disk"
torture "8 processes x 100 operations on disk (fsync between commits): no cap exceeded" \
	caps --db "$TESTDIR/disk/caps.db" --procs 8 --ops 100

done_testing
