#!/bin/bash
# SPDX-License-Identifier: MIT
# Ledger property 7, contention: 64 writers and a long reader; three times
# the writer holding the lock is stopped with SIGSTOP for ten busy
# timeouts. The others get timeouts that deny (-EBUSY) within the busy
# timeout, never a crash, a hang or SQLITE_BUSY_SNAPSHOT; the reader keeps
# its snapshot; work resumes after SIGCONT; the ledger stays consistent.
. "$top_srcdir/tests/lib/libtest.sh"

T="$top_builddir/tests/ledger/ledger-torture"
[ -x "$T" ] || bail_out "tests/ledger/ledger-torture is not built"

out=$(timeout 120 "$T" contention --db "$TESTDIR/contention.db" --procs 64 --busy-ms 200 --seconds 11 2>&1)
st=$?
printf '%s\n' "$out" | grep '^#'
printf '%s\n' "$out" | grep -v '^#' | sed 's/^/# /'
is "$st" 0 "64 writers, a long reader, the lock holder stopped: timeouts deny, nothing breaks"

done_testing
