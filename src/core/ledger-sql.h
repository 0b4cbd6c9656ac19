/* SPDX-License-Identifier: MIT */
#pragma once

/* Private helpers shared by ledger.c, audit.c and ratelimit.c: SQLite result
 * codes into -errno, and cleanup for statements. Not part of any public
 * interface; callers outside src/core/ledger*.c, audit.c and ratelimit.c
 * never include it. */

#include <sqlite3.h>

/* SQLite result code (extended or primary) into -errno:
 * BUSY/LOCKED -EBUSY, FULL -ENOSPC, READONLY -EROFS, NOMEM -ENOMEM,
 * CORRUPT/NOTADB -EBADMSG, CANTOPEN/IOERR the OS errno when known, PERM
 * -EPERM, CONSTRAINT -EPROTO (a broken invariant, never a user error),
 * anything else -EIO. */
int ledger_sql_errno(sqlite3 *db, int rc);

/* Statement finalised at the end of the scope. */
static inline void ledger_sql_finalizep(sqlite3_stmt **s)
{
	if (*s)
		(void) sqlite3_finalize(*s);
}
#define _cleanup_sql_finalize_ __attribute__((cleanup(ledger_sql_finalizep)))

/* Cached statement reset (and its bindings cleared) at the end of the scope. */
static inline void ledger_sql_resetp(sqlite3_stmt **s)
{
	if (*s) {
		(void) sqlite3_reset(*s);
		(void) sqlite3_clear_bindings(*s);
	}
}
#define _cleanup_sql_reset_ __attribute__((cleanup(ledger_sql_resetp)))

/* Text column or NULL. */
static inline const char *ledger_sql_text(sqlite3_stmt *s, int col)
{
	return (const char *) sqlite3_column_text(s, col);
}

/* Binds text, or NULL for a NULL pointer. SQLITE_STATIC: the caller keeps
 * the string alive until the statement is reset. */
static inline int ledger_sql_bind_text(sqlite3_stmt *s, int idx, const char *v)
{
	return v ? sqlite3_bind_text(s, idx, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, idx);
}
