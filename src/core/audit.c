/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sqlite3.h>

#include "core/audit.h"
#include "core/ledger-sql.h"
#include "shared/macro.h"

const char audit_schema_v1[] = "CREATE TABLE audit ("
			       " seq INTEGER PRIMARY KEY,"
			       " time INTEGER NOT NULL,"
			       " tenant TEXT, project TEXT, user TEXT, session TEXT,"
			       " actor TEXT NOT NULL, action TEXT NOT NULL, object TEXT,"
			       " decision TEXT NOT NULL CHECK (decision IN ('allow', 'deny', 'error')),"
			       " rule TEXT, reason TEXT, detail TEXT,"
			       " hash TEXT NOT NULL);\n"
			       /* Append-only for every writer that goes through SQLite; a writer that
				* edits the file itself is caught by the chain instead. */
			       "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
			       " BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;\n"
			       "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
			       " BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;\n";

#define AUDIT_COLUMNS \
	"seq, time, tenant, project, user, session, actor, action, object, decision, rule, reason, detail, hash"

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free)

bool audit_decision_valid(const char *s)
{
	return s && (streq(s, "allow") || streq(s, "deny") || streq(s, "error"));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -EINVAL; /* we write lower case only */
}

static int unhex(const char *hex, uint8_t out[32])
{
	for (size_t i = 0; i < 32; i++) {
		int hi = hexval(hex[2 * i]), lo;
		if (hi < 0)
			return -EINVAL;
		lo = hexval(hex[2 * i + 1]);
		if (lo < 0)
			return -EINVAL;
		out[i] = (uint8_t) (hi << 4 | lo);
	}
	return hex[64] == 0 ? 0 : -EINVAL;
}

static void put_be64(uint8_t b[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t) v;
}

static int hash_field(EVP_MD_CTX *ctx, const char *s)
{
	uint8_t hdr[5];
	size_t n;

	if (!s) {
		hdr[0] = 0; /* NULL is not the empty string */
		return EVP_DigestUpdate(ctx, hdr, 1) ? 0 : -EIO;
	}
	n = strlen(s);
	if (n > UINT32_MAX)
		return -E2BIG;
	hdr[0] = 1;
	hdr[1] = (uint8_t) (n >> 24);
	hdr[2] = (uint8_t) (n >> 16);
	hdr[3] = (uint8_t) (n >> 8);
	hdr[4] = (uint8_t) n;
	if (!EVP_DigestUpdate(ctx, hdr, sizeof(hdr)) || !EVP_DigestUpdate(ctx, s, n))
		return -EIO;
	return 0;
}

/* The trail needs SHA-256 and nothing else: OpenSSL is initialised without
 * reading openssl.cnf, which costs ~0.9 ms at the first hash (kdc-run pays
 * it on every start) and would let OPENSSL_CONF change what we load, and
 * without entering every cipher and digest in the by-name table (~0.4 ms;
 * EVP_sha256() does not look names up). If the process initialised
 * OpenSSL before, this does nothing. */
void audit_crypto_init(void)
{
	(void) OPENSSL_init_crypto(
	    OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_ADD_ALL_DIGESTS, NULL);
}

int audit_hash(const char *prev_hex, int64_t seq, uint64_t time_usec, const AuditRecord *rec,
	       char ret_hex[AUDIT_HASH_HEX_LEN + 1])
{
	static const char tag[] = "kdc-audit-v1";
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
	const char *fields[] = {rec->tenant, rec->project,  rec->user, rec->session, rec->actor, rec->action,
				rec->object, rec->decision, rec->rule, rec->reason,  rec->detail};
	uint8_t prev[32] = {0}, num[16], md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	int r;

	if (prev_hex && unhex(prev_hex, prev) < 0)
		return -EINVAL;
	{
		static pthread_once_t once = PTHREAD_ONCE_INIT;
		(void) pthread_once(&once, audit_crypto_init);
	}
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	put_be64(num, (uint64_t) seq);
	put_be64(num + 8, time_usec);
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) || !EVP_DigestUpdate(ctx, tag, sizeof(tag)) ||
	    !EVP_DigestUpdate(ctx, prev, sizeof(prev)) || !EVP_DigestUpdate(ctx, num, sizeof(num)))
		return -EIO;
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		r = hash_field(ctx, fields[i]);
		if (r < 0)
			return r;
	}
	if (!EVP_DigestFinal_ex(ctx, md, &md_len) || md_len != 32)
		return -EIO;
	for (unsigned i = 0; i < md_len; i++) {
		ret_hex[2 * i] = "0123456789abcdef"[md[i] >> 4];
		ret_hex[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
	}
	ret_hex[2 * md_len] = 0;
	return 0;
}

void audit_log_init(AuditLog *a, sqlite3 *db)
{
	*a = (AuditLog){.db = db};
}

void audit_log_done(AuditLog *a)
{
	sqlite3_finalize(a->last);
	sqlite3_finalize(a->insert);
	a->last = a->insert = NULL;
}

static int prepare_cached(sqlite3 *db, sqlite3_stmt **s, const char *sql)
{
	int rc;

	if (*s)
		return 0;
	rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, s, NULL);
	return rc == SQLITE_OK ? 0 : ledger_sql_errno(db, rc);
}

int audit_append(AuditLog *a, uint64_t time_usec, const AuditRecord *rec, int64_t *ret_seq)
{
	_cleanup_sql_reset_ sqlite3_stmt *last = NULL, *ins = NULL;
	char prev[AUDIT_HASH_HEX_LEN + 1] = "", hash[AUDIT_HASH_HEX_LEN + 1];
	const char *fields[] = {rec->tenant, rec->project,  rec->user, rec->session, rec->actor, rec->action,
				rec->object, rec->decision, rec->rule, rec->reason,  rec->detail};
	int64_t seq = 1;
	int r, rc;

	if (!rec->actor || !rec->action || !audit_decision_valid(rec->decision))
		return -EINVAL;
	if (time_usec > INT64_MAX)
		return -ERANGE;

	r = prepare_cached(a->db, &a->last, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
	if (r < 0)
		return r;
	last = a->last;
	rc = sqlite3_step(last);
	if (rc == SQLITE_ROW) {
		const char *h = ledger_sql_text(last, 1);
		seq = sqlite3_column_int64(last, 0) + 1;
		if (!h || strlen(h) != AUDIT_HASH_HEX_LEN)
			return -EBADMSG;
		memcpy(prev, h, sizeof(prev));
	} else if (rc != SQLITE_DONE)
		return ledger_sql_errno(a->db, rc);

	r = audit_hash(seq > 1 ? prev : NULL, seq, time_usec, rec, hash);
	if (r < 0)
		return r;

	r = prepare_cached(a->db, &a->insert,
			   "INSERT INTO audit (" AUDIT_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
			   " ?12, ?13, ?14)");
	if (r < 0)
		return r;
	ins = a->insert;
	sqlite3_bind_int64(ins, 1, seq);
	sqlite3_bind_int64(ins, 2, (int64_t) time_usec);
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		ledger_sql_bind_text(ins, 3 + (int) i, fields[i]);
	sqlite3_bind_text(ins, 14, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(ins);
	if (rc != SQLITE_DONE)
		return ledger_sql_errno(a->db, rc);
	if (ret_seq)
		*ret_seq = seq;
	return 0;
}

static void entry_from_row(sqlite3_stmt *s, AuditEntry *e)
{
	*e = (AuditEntry){
	    .seq = sqlite3_column_int64(s, 0),
	    .time_usec = (uint64_t) sqlite3_column_int64(s, 1),
	    .rec =
		{
		    .tenant = ledger_sql_text(s, 2),
		    .project = ledger_sql_text(s, 3),
		    .user = ledger_sql_text(s, 4),
		    .session = ledger_sql_text(s, 5),
		    .actor = ledger_sql_text(s, 6),
		    .action = ledger_sql_text(s, 7),
		    .object = ledger_sql_text(s, 8),
		    .decision = ledger_sql_text(s, 9),
		    .rule = ledger_sql_text(s, 10),
		    .reason = ledger_sql_text(s, 11),
		    .detail = ledger_sql_text(s, 12),
		},
	    .hash = ledger_sql_text(s, 13),
	};
}

static void end_read(sqlite3 *db)
{
	(void) sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
}

int audit_verify(sqlite3 *db, AuditVerifyResult *ret)
{
	_cleanup_sql_finalize_ sqlite3_stmt *s = NULL;
	AuditVerifyResult v = {0};
	char prev[AUDIT_HASH_HEX_LEN + 1] = "", want[AUDIT_HASH_HEX_LEN + 1];
	int r = 0, rc;

	rc = sqlite3_prepare_v2(db, "SELECT " AUDIT_COLUMNS " FROM audit ORDER BY seq", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return ledger_sql_errno(db, rc);
	/* One snapshot: a writer appending meanwhile is neither seen half nor
	 * mistaken for a break. */
	rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return ledger_sql_errno(db, rc);

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		AuditEntry e;

		entry_from_row(s, &e);
		v.rows++;
		if (e.seq != v.rows) {
			v.first_bad = e.seq;
			snprintf(v.problem, sizeof(v.problem), "sequence gap: expected row %" PRId64, v.rows);
			break;
		}
		if (!e.hash || strlen(e.hash) != AUDIT_HASH_HEX_LEN) {
			v.first_bad = e.seq;
			snprintf(v.problem, sizeof(v.problem), "malformed hash");
			break;
		}
		r = audit_hash(e.seq > 1 ? prev : NULL, e.seq, e.time_usec, &e.rec, want);
		if (r == -EINVAL) {
			v.first_bad = e.seq;
			snprintf(v.problem, sizeof(v.problem), "malformed hash of the previous row");
			break;
		}
		if (r < 0)
			break;
		if (!streq(want, e.hash)) {
			v.first_bad = e.seq;
			snprintf(v.problem, sizeof(v.problem), "hash mismatch (row or its predecessor altered)");
			break;
		}
		memcpy(prev, e.hash, sizeof(prev));
	}
	if (r >= 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = ledger_sql_errno(db, rc);
	(void) sqlite3_reset(s);
	end_read(db);
	if (r < 0)
		return r;
	memcpy(v.head, prev, sizeof(prev));
	*ret = v;
	return 0;
}

int audit_query(sqlite3 *db, const AuditFilter *f, AuditEntryFunc cb, void *userdata)
{
	_cleanup_sql_finalize_ sqlite3_stmt *s = NULL;
	char sql[1024];
	size_t n;
	int r = 0, rc;

	/* Fixed text with numbered parameters; unused ones match everything. */
	n = (size_t) snprintf(sql, sizeof(sql),
			      "SELECT " AUDIT_COLUMNS " FROM audit WHERE"
			      " (?1 IS NULL OR tenant = ?1) AND (?2 IS NULL OR session = ?2) AND"
			      " (?3 IS NULL OR decision = ?3) AND time >= ?4 AND seq > ?5");
	if (f->last > 0)
		snprintf(sql + n, sizeof(sql) - n, " ORDER BY seq DESC LIMIT ?6");
	else
		snprintf(sql + n, sizeof(sql) - n, " ORDER BY seq");
	if (f->last > 0) {
		char inner[1100];
		snprintf(inner, sizeof(inner), "SELECT * FROM (%s) ORDER BY seq", sql);
		rc = sqlite3_prepare_v2(db, inner, -1, &s, NULL);
	} else
		rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return ledger_sql_errno(db, rc);
	ledger_sql_bind_text(s, 1, f->tenant);
	ledger_sql_bind_text(s, 2, f->session);
	ledger_sql_bind_text(s, 3, f->decision);
	sqlite3_bind_int64(s, 4, f->since_usec > INT64_MAX ? INT64_MAX : (int64_t) f->since_usec);
	sqlite3_bind_int64(s, 5, f->after_seq);
	if (f->last > 0)
		sqlite3_bind_int64(s, 6, f->last > INT64_MAX ? INT64_MAX : (int64_t) f->last);

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		AuditEntry e;

		entry_from_row(s, &e);
		r = cb(&e, userdata);
		if (r < 0)
			return r;
	}
	if (rc != SQLITE_DONE)
		return ledger_sql_errno(db, rc);
	return 0;
}
