#!/bin/bash
# SPDX-License-Identifier: MIT
# Ledger property 7, contention: 64 writers and a long reader; three times
# the writer holding the lock is stopped with SIGSTOP for ten busy
# timeouts. The others get timeouts that deny (-EBUSY) within the busy
# timeout, never a crash, a hang or SQLITE_BUSY_SNAPSHOT; the reader keeps
# its snapshot; work resumes after SIGCONT; the ledger stays consistent.
. "$top_srcdir/tests/lib/libtest.sh"

. "$top_srcdir/tests/ledger/torture.sh"

torture "64 writers, a long reader, the lock holder stopped: timeouts deny, nothing breaks" \
	contention --db "$TESTDIR/contention.db" --procs 64 --busy-ms 200 --seconds 11

done_testing
