/* SPDX-License-Identifier: MIT */
#pragma once

/* A queue for writers in front of SQLite's write lock.
 *
 * SQLite waits for a busy lock by polling (sleep, retry). With many
 * writers on few cores the pollers take the CPU from the writer that holds
 * the lock and throughput collapses (measured: 32 processes got a tenth of
 * one process's rate). Writers of the ledger first take a robust,
 * process-shared mutex kept in "<db>-lock" (0600, beside the database): the
 * kernel queues the waiters (futex) and wakes one when the holder leaves.
 *
 * It is only a queue: SQLite's own locks still decide, so a writer that
 * bypasses it (the sqlite3 shell) is safe, and a lock file that cannot be
 * used makes the ledger fall back to polling. A holder that dies releases it
 * (robust mutex: the next one gets EOWNERDEAD and goes on); a holder that
 * is stopped makes the others time out, and they deny. */

#include <stdint.h>

typedef struct LedgerLockShared LedgerLockShared;

typedef struct LedgerLock {
	int fd;
	LedgerLockShared *shared; /* NULL: no queue, SQLite alone */
} LedgerLock;

#define LEDGER_LOCK_NULL ((LedgerLock){.fd = -EBADF})

/* Opens or creates "<db_path>-lock". Returns 0, or -errno (the caller may
 * go on without the queue). */
int ledger_lock_open(const char *db_path, LedgerLock *ret);
void ledger_lock_close(LedgerLock *l);
/* Waits until deadline (CLOCK_MONOTONIC, usec). 0 acquired (or no queue),
 * -ETIMEDOUT, -errno. */
int ledger_lock_acquire(LedgerLock *l, uint64_t deadline_usec);
void ledger_lock_release(LedgerLock *l);
