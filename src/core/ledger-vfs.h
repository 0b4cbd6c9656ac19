/* SPDX-License-Identifier: MIT */
#pragma once

/* The ledger's SQLite VFS: the platform's default VFS with one change, the
 * frames of a WAL commit reach the kernel in one write instead of two per
 * page (a 24-byte frame header, then the page). A ledger transaction
 * touches four or five pages (hold, balances, spend, audit, index), so this
 * takes eight of the ten pwrite()s out of every commit; the fsync that
 * follows writes the same bytes.
 *
 * Writes to a WAL file are kept in memory while they are contiguous and
 * handed to the real file, in one write, before anything could need them:
 * before xSync (the commit's fsync, synchronous=FULL), before the commit is
 * published to other connections (xShmBarrier on the database file, which
 * SQLite calls before it writes the new WAL-index header; this covers
 * synchronous=NORMAL and OFF too), and before any read, truncation, size
 * query, file control or close of that WAL.
 *
 * A write that reaches past the end of a WAL takes zeros with it to the
 * next 64 KiB boundary, so the commits that follow overwrite blocks the
 * file already has: their fsyncs allocate nothing and write no new size
 * (0.25 ms of each commit on this project's machines, until the WAL has
 * restarted once). Nothing else changes: locks, shared memory and the
 * database file itself go straight through. */

#include <stdint.h>

#define LEDGER_VFS_NAME "kdc-ledger"

/* Registers the VFS (once; not as the default). 0 or -errno. */
int ledger_vfs_register(void);

/* Writes to WAL files that reached the kernel since the process started
 * (for tests: a commit costs one). */
uint64_t ledger_vfs_wal_writes(void);
