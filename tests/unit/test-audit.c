/* SPDX-License-Identifier: MIT */
/* The audit hash chain: a stable canonical hash, and verify() finding the
 * first altered, inserted or deleted row. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/audit.h"
#include "core/ledger.h"
#include "shared/macro.h"
#include "check-run.h"

#define T0 UINT64_C(1795348800000000)

static const AuditRecord rec1 = {
    .tenant = "acme",
    .project = "web",
    .user = "alice",
    .session = "s1",
    .actor = "kdc-run",
    .action = "admit",
    .object = "s1",
    .decision = "allow",
    .rule = NULL,
    .reason = "admitted",
    .detail = "{\"hold\":1}",
};
static const AuditRecord rec2 = {
    .tenant = "acme",
    .actor = "ledger",
    .action = "hold",
    .object = "h1",
    .decision = "deny",
    .rule = "exhausted",
    .reason = "budget 'acme' exhausted",
    .detail = "",
};

/* The values were computed by an independent implementation (Python
 * hashlib) of the format documented in audit.h; a change here breaks the
 * verification of every existing ledger. */
START_TEST(hash_golden)
{
	char h1[AUDIT_HASH_HEX_LEN + 1], h2[AUDIT_HASH_HEX_LEN + 1];

	ck_assert_int_eq(audit_hash(NULL, 1, T0, &rec1, h1), 0);
	ck_assert_str_eq(h1, "db842f91e0380dff35bf86491c6ccc900d4b4867dd42fb208616895b7595f099");
	ck_assert_int_eq(audit_hash(h1, 2, T0 + 1, &rec2, h2), 0);
	ck_assert_str_eq(h2, "c88c2f21b4dc5d3eb258abe8279c0879b8dc4af6af2558be6c120ea9b773b34e");
	ck_assert_int_eq(audit_hash("zz", 2, T0, &rec2, h2), -EINVAL);
	ck_assert_int_eq(
	    audit_hash("DB842F91E0380DFF35BF86491C6CCC900D4B4867DD42FB208616895B7595F099", 2, T0, &rec2, h2), -EINVAL);
}
END_TEST

/* Every field, its presence and its boundaries are covered by the hash. */
START_TEST(hash_unambiguous)
{
	char a[AUDIT_HASH_HEX_LEN + 1], b[AUDIT_HASH_HEX_LEN + 1];
	AuditRecord x = rec1, y = rec1;

	x.tenant = "ab";
	x.project = "c";
	y.tenant = "a";
	y.project = "bc";
	ck_assert_int_eq(audit_hash(NULL, 1, T0, &x, a), 0);
	ck_assert_int_eq(audit_hash(NULL, 1, T0, &y, b), 0);
	ck_assert_str_ne(a, b);

	x = y = rec1;
	x.rule = NULL;
	y.rule = "";
	ck_assert_int_eq(audit_hash(NULL, 1, T0, &x, a), 0);
	ck_assert_int_eq(audit_hash(NULL, 1, T0, &y, b), 0);
	ck_assert_str_ne(a, b);

	ck_assert_int_eq(audit_hash(NULL, 1, T0, &rec1, a), 0);
	ck_assert_int_eq(audit_hash(NULL, 2, T0, &rec1, b), 0);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(audit_hash(NULL, 1, T0 + 1, &rec1, b), 0);
	ck_assert_str_ne(a, b);
}
END_TEST

static char tmpdir[256], db[512];

static Ledger *ledger_with_rows(int n)
{
	Ledger *l = NULL;
	AuditRecord recs[64];
	char reasons[64][32];

	snprintf(tmpdir, sizeof(tmpdir), "%s/test-audit.XXXXXX", getenv("TMPDIR") ?: "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(db, sizeof(db), "%s/kdc.db", tmpdir);
	ck_assert_int_eq(ledger_open(db, &l), 0);
	for (int done = 0; done < n;) {
		int k = MIN(n - done, 64);
		for (int i = 0; i < k; i++) {
			snprintf(reasons[i], sizeof(reasons[i]), "row %d", done + i + 1);
			recs[i] = rec1;
			recs[i].reason = reasons[i];
			recs[i].decision = (done + i) % 3 == 0 ? "deny" : "allow";
			recs[i].tenant = (done + i) % 2 ? "acme" : "beta";
		}
		ck_assert_int_eq(ledger_audit_many(l, recs, (size_t) k), 0);
		done += k;
	}
	return l;
}

static void cleanup(Ledger *l)
{
	char cmd[600];
	ledger_close(l);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void raw_exec(const char *sql)
{
	sqlite3 *raw = NULL;
	char *err = NULL;

	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(raw, sql, NULL, NULL, &err) == SQLITE_OK, "%s: %s", sql, err);
	sqlite3_close(raw);
}

START_TEST(chain_intact)
{
	Ledger *l = ledger_with_rows(100);
	AuditVerifyResult v;
	char h[AUDIT_HASH_HEX_LEN + 1];

	ck_assert_int_eq(ledger_verify(l, &v), 0);
	ck_assert_int_eq(v.rows, 100);
	ck_assert_int_eq(v.first_bad, 0);
	ck_assert_int_eq(strlen(v.head), AUDIT_HASH_HEX_LEN);
	/* The first row chains from zero. */
	{
		sqlite3 *raw = NULL;
		sqlite3_stmt *s = NULL;
		AuditRecord r = rec1;
		ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
		ck_assert_int_eq(sqlite3_prepare_v2(raw, "SELECT time, hash FROM audit WHERE seq = 1", -1, &s, NULL),
				 SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
		r.reason = "row 1";
		r.decision = "deny";
		r.tenant = "beta";
		ck_assert_int_eq(audit_hash(NULL, 1, (uint64_t) sqlite3_column_int64(s, 0), &r, h), 0);
		ck_assert_str_eq(h, (const char *) sqlite3_column_text(s, 1));
		sqlite3_finalize(s);
		sqlite3_close(raw);
	}
	cleanup(l);
}
END_TEST

/* Through SQL the trail cannot be changed at all. */
START_TEST(append_only)
{
	Ledger *l = ledger_with_rows(3);
	sqlite3 *raw = NULL;

	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "UPDATE audit SET reason = 'x' WHERE seq = 2", NULL, NULL, NULL),
			 SQLITE_CONSTRAINT);
	ck_assert_int_eq(sqlite3_exec(raw, "DELETE FROM audit WHERE seq = 2", NULL, NULL, NULL), SQLITE_CONSTRAINT);
	sqlite3_close(raw);
	/* Bad records are refused before they reach the table. */
	{
		AuditRecord r = rec1;
		r.decision = "maybe";
		ck_assert_int_eq(ledger_audit(l, &r), -EINVAL);
		r = rec1;
		r.actor = NULL;
		ck_assert_int_eq(ledger_audit(l, &r), -EINVAL);
	}
	cleanup(l);
}
END_TEST

/* A tampered row is found: its content, its hash, a deletion, an insertion. */
START_TEST(tamper_content)
{
	Ledger *l = ledger_with_rows(100);
	AuditVerifyResult v;

	raw_exec("DROP TRIGGER audit_no_update; UPDATE audit SET reason = 'nothing happened' WHERE seq = 42");
	ck_assert_int_eq(ledger_verify(l, &v), 0);
	ck_assert_int_eq(v.first_bad, 42);
	ck_assert_str_eq(v.problem, "hash mismatch (row or its predecessor altered)");
	cleanup(l);
}
END_TEST

START_TEST(tamper_rehashed)
{
	Ledger *l = ledger_with_rows(100);
	AuditVerifyResult v;
	char sql[512], h[AUDIT_HASH_HEX_LEN + 1], prev[AUDIT_HASH_HEX_LEN + 1];
	sqlite3 *raw = NULL;
	sqlite3_stmt *s = NULL;
	AuditRecord r = rec1;

	/* The forger recomputes row 42's own hash: row 43 no longer chains. */
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(raw, "SELECT hash FROM audit WHERE seq = 41", -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	snprintf(prev, sizeof(prev), "%s", sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	ck_assert_int_eq(sqlite3_prepare_v2(raw, "SELECT time FROM audit WHERE seq = 42", -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	r.reason = "forged";
	r.tenant = "beta"; /* row 42: (42 - 1) % 2 == 1 -> acme; changed too */
	r.decision = "allow";
	ck_assert_int_eq(audit_hash(prev, 42, (uint64_t) sqlite3_column_int64(s, 0), &r, h), 0);
	sqlite3_finalize(s);
	sqlite3_close(raw);
	snprintf(
	    sql, sizeof(sql),
	    "DROP TRIGGER audit_no_update; UPDATE audit SET reason = 'forged', tenant = 'beta', decision = 'allow',"
	    " hash = '%s' WHERE seq = 42",
	    h);
	raw_exec(sql);
	ck_assert_int_eq(ledger_verify(l, &v), 0);
	ck_assert_int_eq(v.first_bad, 43);
	cleanup(l);
}
END_TEST

START_TEST(tamper_delete)
{
	Ledger *l = ledger_with_rows(100);
	AuditVerifyResult v;

	raw_exec("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 42");
	ck_assert_int_eq(ledger_verify(l, &v), 0);
	ck_assert_int_eq(v.first_bad, 43);
	ck_assert_str_eq(v.problem, "sequence gap: expected row 42");
	cleanup(l);
}
END_TEST

START_TEST(tamper_insert)
{
	Ledger *l = ledger_with_rows(10);
	AuditVerifyResult v;

	/* Renumber to make room and insert a row in the middle. */
	raw_exec("DROP TRIGGER audit_no_update; UPDATE audit SET seq = seq + 1000 WHERE seq > 5;"
		 " UPDATE audit SET seq = seq - 999 WHERE seq > 1000;"
		 " INSERT INTO audit (seq, time, actor, action, decision, hash) VALUES (6, 0, 'x', 'y', 'allow',"
		 " '0000000000000000000000000000000000000000000000000000000000000000')");
	ck_assert_int_eq(ledger_verify(l, &v), 0);
	ck_assert_int_eq(v.first_bad, 6);
	cleanup(l);
}
END_TEST

/* An empty trail is intact. */
START_TEST(verify_empty)
{
	Ledger *l = NULL;
	AuditVerifyResult v;

	ck_assert_int_eq(ledger_open(":memory:", &l), 0);
	ck_assert_int_eq(ledger_verify(l, &v), 0);
	ck_assert_int_eq(v.rows, 0);
	ck_assert_int_eq(v.first_bad, 0);
	ck_assert_str_eq(v.head, "");
	ledger_close(l);
}
END_TEST

static int collect(const AuditEntry *e, void *userdata)
{
	int64_t *n = userdata;
	n[0]++;
	n[1] = e->seq;
	return 0;
}

START_TEST(query_filters)
{
	Ledger *l = ledger_with_rows(30);
	int64_t n[2];

	n[0] = 0;
	ck_assert_int_eq(ledger_audit_query(l, &(AuditFilter){.tenant = "acme"}, collect, n), 0);
	ck_assert_int_eq(n[0], 15);
	n[0] = 0;
	ck_assert_int_eq(ledger_audit_query(l, &(AuditFilter){.decision = "deny"}, collect, n), 0);
	ck_assert_int_eq(n[0], 10);
	n[0] = 0;
	ck_assert_int_eq(ledger_audit_query(l, &(AuditFilter){.tenant = "beta", .decision = "deny"}, collect, n), 0);
	ck_assert_int_eq(n[0], 5);
	n[0] = 0;
	ck_assert_int_eq(ledger_audit_query(l, &(AuditFilter){.after_seq = 25}, collect, n), 0);
	ck_assert_int_eq(n[0], 5);
	n[0] = 0;
	ck_assert_int_eq(ledger_audit_query(l, &(AuditFilter){.last = 3}, collect, n), 0);
	ck_assert_int_eq(n[0], 3);
	ck_assert_int_eq(n[1], 30); /* in order, the newest last */
	n[0] = 0;
	ck_assert_int_eq(ledger_audit_query(l, &(AuditFilter){.session = "s1"}, collect, n), 0);
	ck_assert_int_eq(n[0], 30);
	n[0] = 0;
	ck_assert_int_eq(ledger_audit_query(l, &(AuditFilter){.session = "s2"}, collect, n), 0);
	ck_assert_int_eq(n[0], 0);
	n[0] = 0;
	ck_assert_int_eq(ledger_audit_query(l, &(AuditFilter){.since_usec = UINT64_C(1) << 62}, collect, n), 0);
	ck_assert_int_eq(n[0], 0);
	cleanup(l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("core");
	SRunner *sr;

	tcase_add_test(tc, hash_golden);
	tcase_add_test(tc, hash_unambiguous);
	tcase_add_test(tc, chain_intact);
	tcase_add_test(tc, append_only);
	tcase_add_test(tc, tamper_content);
	tcase_add_test(tc, tamper_rehashed);
	tcase_add_test(tc, tamper_delete);
	tcase_add_test(tc, tamper_insert);
	tcase_add_test(tc, verify_empty);
	tcase_add_test(tc, query_filters);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	return check_run(sr);
}
