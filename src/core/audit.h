/* SPDX-License-Identifier: MIT */
#pragma once

/* The audit trail: append-only rows, hash-chained with SHA-256.
 *
 * Row n's hash is SHA-256 over a domain tag, row n-1's hash (32 zero bytes
 * for row 1), n, its time and its eleven text fields, each length-prefixed
 * so that no two different rows share an encoding. Deleting, inserting or
 * changing any row breaks the chain at that row or the next one, and
 * audit_verify() names the first row where it breaks.
 *
 * Rows are written only inside the caller's write transaction (the ledger's
 * BEGIN IMMEDIATE), in the same transaction as the effect they record. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;

/* Every field may be NULL except actor, action and decision. decision is
 * "allow", "deny" or "error"; detail is free text (kdc writes compact JSON). */
typedef struct AuditRecord {
	const char *tenant, *project, *user, *session, *actor, *action, *object, *decision, *rule, *reason, *detail;
} AuditRecord;

#define AUDIT_HASH_HEX_LEN 64

/* The schema the ledger's migration creates (table + append-only triggers). */
extern const char audit_schema_v1[];

/* SHA-256 of one row in hex (65 bytes with the NUL). prev_hex is the previous
 * row's hash in hex, or NULL for the first row. Returns 0, -EINVAL for a
 * malformed prev_hex, -ENOMEM/-EIO from libcrypto. */
int audit_hash(const char *prev_hex, int64_t seq, uint64_t time_usec, const AuditRecord *rec,
	       char ret_hex[AUDIT_HASH_HEX_LEN + 1]);

/* Appends one row in the current transaction. Statements are prepared on
 * first use and kept in the AuditLog (finalise with audit_log_done()). */
typedef struct AuditLog {
	sqlite3 *db;
	sqlite3_stmt *last, *insert;
} AuditLog;

/* OpenSSL initialised for SHA-256 alone (no openssl.cnf, no by-name
 * tables); called before the first hash, and by the ledger plugin at load. */
void audit_crypto_init(void);

void audit_log_init(AuditLog *a, sqlite3 *db);
void audit_log_done(AuditLog *a);
/* -EINVAL when actor/action/decision is missing or decision is not one of
 * the three words; -errno from SQLite otherwise. ret_seq may be NULL. */
int audit_append(AuditLog *a, uint64_t time_usec, const AuditRecord *rec, int64_t *ret_seq);

/* Walks the whole chain in one read transaction. Returns 0 whether or not the
 * chain holds (see ret->first_bad), -errno when it cannot be read. */
typedef struct AuditVerifyResult {
	int64_t rows;
	int64_t first_bad;		   /* seq of the first broken row, 0 when intact */
	char problem[128];		   /* "hash mismatch", "sequence gap: expected 41" */
	char head[AUDIT_HASH_HEX_LEN + 1]; /* hash of the last row ("" for none) */
} AuditVerifyResult;
int audit_verify(sqlite3 *db, AuditVerifyResult *ret);

/* Reading the trail. Filters are ANDed; NULL / 0 means "any". */
typedef struct AuditFilter {
	const char *tenant, *session, *decision;
	uint64_t since_usec; /* time >= since */
	int64_t after_seq;   /* seq > after_seq */
	uint64_t last;	     /* only the last N matching rows */
} AuditFilter;

typedef struct AuditEntry {
	int64_t seq;
	uint64_t time_usec;
	AuditRecord rec;
	const char *hash;
} AuditEntry;

/* Calls cb for each matching row in seq order; strings are valid during the
 * call only. A negative return from cb stops the walk and is returned. */
typedef int (*AuditEntryFunc)(const AuditEntry *e, void *userdata);
int audit_query(sqlite3 *db, const AuditFilter *f, AuditEntryFunc cb, void *userdata);

/* Valid decision word? */
bool audit_decision_valid(const char *s);
