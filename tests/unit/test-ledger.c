/* SPDX-License-Identifier: MIT */
/* The ledger on :memory: (and on a temporary file where the file matters):
 * amounts, periods, the scope tree, holds, expiry with an injected clock,
 * idempotency, misuse, admission and settlement, atomicity. */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/ledger.h"
#include "core/ledger-vfs.h"
#include "shared/macro.h"
#include "shared/units.h"
#include "check-run.h"

#define USD(x) ((int64_t) ((x) *1000000.0 + 0.5)) /* test literals only */
#define SEC USEC_PER_SEC
/* 2026-11-22 12:00:00 UTC, a Sunday. */
#define T0 (UINT64_C(1795348800) * USEC_PER_SEC)

static uint64_t fake_now;
static uint64_t fake_clock(void *userdata)
{
	return fake_now;
}

static Ledger *new_ledger(void)
{
	Ledger *l = NULL;

	ck_assert_int_eq(ledger_open(":memory:", &l), 0);
	fake_now = T0;
	ledger_set_clock(l, fake_clock, NULL);
	return l;
}

static int count_row(const AuditEntry *e, void *userdata)
{
	(*(int64_t *) userdata)++;
	return 0;
}

static int64_t audit_rows(Ledger *l)
{
	AuditVerifyResult v;
	int64_t n = 0;

	ck_assert_int_eq(ledger_verify(l, &v), 0);
	ck_assert_int_eq(v.first_bad, 0);
	ck_assert_int_eq(ledger_audit_query(l, &(AuditFilter){0}, count_row, &n), 0);
	ck_assert_int_eq(n, v.rows);
	return n;
}

typedef struct Want {
	const char *scope, *unit;
	LedgerPeriod period;
	int64_t spent, held;
	bool found;
} Want;

static int find_budget(const LedgerBudgetStatus *b, void *userdata)
{
	Want *w = userdata;
	if (streq(b->scope, w->scope) && streq(b->unit, w->unit) && b->period == w->period) {
		w->spent = b->spent;
		w->held = b->held;
		w->found = true;
	}
	return 0;
}

/* spent and held of one budget, asserted. */
static void check_budget(Ledger *l, const char *scope, const char *unit, LedgerPeriod p, int64_t spent, int64_t held)
{
	Want w = {.scope = scope, .unit = unit, .period = p};

	ck_assert_int_eq(ledger_budget_list(l, scope, find_budget, &w), 0);
	ck_assert_msg(w.found, "no budget %s %s", scope, unit);
	ck_assert_int_eq(w.spent, spent);
	ck_assert_int_eq(w.held, held);
}

static LedgerResult hold(Ledger *l, const char *id, const char *scope, int64_t amount, uint64_t ttl)
{
	LedgerResult r;
	ck_assert_int_eq(
	    ledger_hold(
		l, &(LedgerHoldRequest){.id = id, .scope = scope, .unit = "USD", .amount = amount, .ttl_usec = ttl},
		&r),
	    0);
	return r;
}

static LedgerResult post(Ledger *l, const char *id, int64_t amount)
{
	LedgerResult r;
	ck_assert_int_eq(ledger_post(l, &(LedgerPostRequest){.id = id, .amount = amount, .full = amount == 0}, &r), 0);
	return r;
}

static LedgerResult void_(Ledger *l, const char *id)
{
	LedgerResult r;
	ck_assert_int_eq(ledger_void(l, &(LedgerVoidRequest){.id = id}, &r), 0);
	return r;
}

/* ---- amounts ------------------------------------------------------------- */

START_TEST(amounts_exact)
{
	_cleanup_ledger_close_ Ledger *l = new_ledger();
	char unit[UNITS_NAME_MAX], buf[64];
	int64_t v;

	/* Parsing and printing are exact, through the ledger too. */
	ck_assert_int_eq(units_parse_amount("0.000010USD", false, &v, unit), 0);
	ck_assert_int_eq(v, 10);
	ck_assert_int_eq(units_parse_amount("3600cpu-s", false, &v, unit), 0);
	ck_assert_int_eq(v, INT64_C(3600000000));
	ck_assert_str_eq(units_format_amount(buf, sizeof(buf), 12500000, "USD"), "12.50USD");

	ck_assert_int_eq(ledger_tenant_add(l, "acme", NULL), 1);
	ck_assert_int_eq(ledger_budget_set(l, "acme", "USD", LEDGER_PERIOD_TOTAL, 10), 0);
	/* A million holds of one micro-dollar would be 1.00; ten fit in 0.000010. */
	for (int i = 0; i < 10; i++) {
		char id[16];
		snprintf(id, sizeof(id), "m%d", i);
		ck_assert_int_eq(hold(l, id, "acme", 1, 0).code, LEDGER_OK);
	}
	ck_assert_int_eq(hold(l, "m10", "acme", 1, 0).code, LEDGER_EXHAUSTED);
	ck_assert_int_eq(post(l, "m0", 1).code, LEDGER_OK);
	check_budget(l, "acme", "USD", LEDGER_PERIOD_TOTAL, 1, 9);

	/* Units are separate accounts: cpu-s does not touch USD. */
	ck_assert_int_eq(ledger_budget_set(l, "acme", "cpu-s", LEDGER_PERIOD_DAY, INT64_C(3600000000)), 0);
	{
		LedgerResult r;
		ck_assert_int_eq(
		    ledger_charge(l,
				  &(LedgerHoldRequest){
				      .id = "cpu1", .scope = "acme", .unit = "cpu-s", .amount = INT64_C(3600000000)},
				  &r),
		    0);
		ck_assert_int_eq(r.code, LEDGER_OK);
	}
	check_budget(l, "acme", "cpu-s", LEDGER_PERIOD_DAY, INT64_C(3600000000), 0);
	check_budget(l, "acme", "USD", LEDGER_PERIOD_TOTAL, 1, 9);
}
END_TEST

/* ---- periods -------------------------------------------------------------- */

START_TEST(periods_calendar)
{
	int64_t s, e, y;
	unsigned m, d;

	ck_assert_int_eq(ledger_days_from_civil(1970, 1, 1), 0);
	ck_assert_int_eq(ledger_days_from_civil(2000, 3, 1), 11017);
	ck_assert_int_eq(ledger_days_from_civil(1969, 12, 31), -1);
	/* Round trip over 1900..2400, leap years and centuries included. */
	for (int64_t day = ledger_days_from_civil(1900, 1, 1); day < ledger_days_from_civil(2400, 12, 31); day += 1) {
		ledger_civil_from_days(day, &y, &m, &d);
		ck_assert_int_eq(ledger_days_from_civil(y, m, d), day);
	}
	ledger_civil_from_days(ledger_days_from_civil(2024, 2, 29), &y, &m, &d);
	ck_assert(y == 2024 && m == 2 && d == 29);

	/* T0 = Sunday 2026-11-22 12:00 UTC. */
	ledger_period_window(LEDGER_PERIOD_DAY, T0, &s, &e);
	ck_assert_int_eq(s, ledger_days_from_civil(2026, 11, 22));
	ck_assert_int_eq(e, s + 1);
	ledger_period_window(LEDGER_PERIOD_WEEK, T0, &s, &e);
	ck_assert_int_eq(s, ledger_days_from_civil(2026, 11, 16)); /* Monday */
	ck_assert_int_eq(e, ledger_days_from_civil(2026, 11, 23));
	/* Monday 00:00 starts a new week. */
	ledger_period_window(LEDGER_PERIOD_WEEK, (uint64_t) ledger_days_from_civil(2026, 11, 23) * 86400 * SEC, &s, &e);
	ck_assert_int_eq(s, ledger_days_from_civil(2026, 11, 23));
	/* One microsecond before: still the old one. */
	ledger_period_window(LEDGER_PERIOD_WEEK, (uint64_t) ledger_days_from_civil(2026, 11, 23) * 86400 * SEC - 1, &s,
			     &e);
	ck_assert_int_eq(s, ledger_days_from_civil(2026, 11, 16));
	ledger_period_window(LEDGER_PERIOD_MONTH, T0, &s, &e);
	ck_assert_int_eq(s, ledger_days_from_civil(2026, 11, 1));
	ck_assert_int_eq(e, ledger_days_from_civil(2026, 12, 1));
	ledger_period_window(LEDGER_PERIOD_MONTH, (uint64_t) ledger_days_from_civil(2026, 12, 31) * 86400 * SEC, &s,
			     &e);
	ck_assert_int_eq(s, ledger_days_from_civil(2026, 12, 1));
	ck_assert_int_eq(e, ledger_days_from_civil(2027, 1, 1));
	ledger_period_window(LEDGER_PERIOD_MONTH, (uint64_t) ledger_days_from_civil(2028, 2, 10) * 86400 * SEC, &s, &e);
	ck_assert_int_eq(e - s, 29);
	ledger_period_window(LEDGER_PERIOD_TOTAL, T0, &s, &e);
	ck_assert(s == INT64_MIN && e == INT64_MAX);

	ck_assert_int_eq(ledger_parse_month("2026-11", &s, &e), 0);
	ck_assert_int_eq(s, ledger_days_from_civil(2026, 11, 1));
	ck_assert_int_eq(e, ledger_days_from_civil(2026, 12, 1));
	ck_assert_int_eq(ledger_parse_month("2026-13", &s, &e), -EINVAL);
	ck_assert_int_eq(ledger_parse_month("2026-1", &s, &e), -EINVAL);
	ck_assert_int_eq(ledger_parse_month("26-11", &s, &e), -EINVAL);
	ck_assert_int_eq(ledger_parse_month("2026-11x", &s, &e), -EINVAL);
	ck_assert_int_eq(ledger_period_from_string("week"), LEDGER_PERIOD_WEEK);
	ck_assert_int_eq(ledger_period_from_string("year"), -EINVAL);
}
END_TEST

/* A day budget resets at midnight UTC; posted spend counts on its day. */
START_TEST(periods_reset)
{
	_cleanup_ledger_close_ Ledger *l = new_ledger();

	ck_assert_int_eq(ledger_tenant_add(l, "acme", NULL), 1);
	ck_assert_int_eq(ledger_budget_set(l, "acme", "USD", LEDGER_PERIOD_DAY, USD(10)), 0);
	ck_assert_int_eq(ledger_budget_set(l, "acme", "USD", LEDGER_PERIOD_MONTH, USD(15)), 0);
	ck_assert_int_eq(hold(l, "a", "acme", USD(10), 0).code, LEDGER_OK);
	ck_assert_int_eq(post(l, "a", 0).code, LEDGER_OK);
	ck_assert_int_eq(hold(l, "b", "acme", USD(1), 0).code, LEDGER_EXHAUSTED);
	fake_now = T0 + 12 * 3600 * SEC; /* next day 00:00 */
	check_budget(l, "acme", "USD", LEDGER_PERIOD_DAY, 0, 0);
	check_budget(l, "acme", "USD", LEDGER_PERIOD_MONTH, USD(10), 0);
	ck_assert_int_eq(hold(l, "c", "acme", USD(6), 0).code, LEDGER_EXHAUSTED); /* month: 10 + 6 > 15 */
	ck_assert_int_eq(hold(l, "d", "acme", USD(5), 0).code, LEDGER_OK);
}
END_TEST

/* ---- the scope tree ------------------------------------------------------- */

START_TEST(scope_parse)
{
	LedgerScope sc;
	char buf[LEDGER_SCOPE_MAX];

	ck_assert_int_eq(ledger_scope_parse("acme/web/alice", &sc), 0);
	ck_assert_int_eq(sc.depth, 3);
	ck_assert_str_eq(ledger_scope_path(&sc, 1, buf, sizeof(buf)), "acme");
	ck_assert_str_eq(ledger_scope_path(&sc, 2, buf, sizeof(buf)), "acme/web");
	ck_assert_str_eq(ledger_scope_path(&sc, 3, buf, sizeof(buf)), "acme/web/alice");
	ck_assert_int_eq(ledger_scope_parse("a_b.c-d", &sc), 0);
	ck_assert_int_eq(ledger_scope_parse("a/b/c/d", &sc), -EINVAL);
	ck_assert_int_eq(ledger_scope_parse("acme/", &sc), -EINVAL);
	ck_assert_int_eq(ledger_scope_parse("/acme", &sc), -EINVAL);
	ck_assert_int_eq(ledger_scope_parse("acme//x", &sc), -EINVAL);
	ck_assert_int_eq(ledger_scope_parse("", &sc), -EINVAL);
	ck_assert_int_eq(ledger_scope_parse(".hidden", &sc), -EINVAL);
	ck_assert_int_eq(ledger_scope_parse("ac me", &sc), -EINVAL);
	ck_assert_int_eq(ledger_scope_parse("acme/../x", &sc), -EINVAL);
	{
		char longname[LEDGER_NAME_MAX + 2];
		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = 0;
		ck_assert_int_eq(ledger_scope_parse(longname, &sc), -EINVAL);
		longname[LEDGER_NAME_MAX] = 0;
		ck_assert_int_eq(ledger_scope_parse(longname, &sc), 0);
	}
	ck_assert(ledger_id_valid("run-2f7a:01@x.y_z"));
	ck_assert(!ledger_id_valid("-x"));
	ck_assert(!ledger_id_valid("a b"));
	ck_assert(!ledger_id_valid(""));
}
END_TEST

/* A charge counts against every ancestor, and only them. */
START_TEST(scope_tree_caps)
{
	_cleanup_ledger_close_ Ledger *l = new_ledger();

	ck_assert_int_eq(ledger_tenant_add(l, "acme", NULL), 1);
	ck_assert_int_eq(ledger_budget_set(l, "acme", "USD", LEDGER_PERIOD_MONTH, USD(100)), 0);
	ck_assert_int_eq(ledger_budget_set(l, "acme/web", "USD", LEDGER_PERIOD_MONTH, USD(30)), 0);
	ck_assert_int_eq(ledger_budget_set(l, "acme/web/alice", "USD", LEDGER_PERIOD_MONTH, USD(20)), 0);

	ck_assert_int_eq(hold(l, "h1", "acme/web/alice", USD(20), 0).code, LEDGER_OK);
	ck_assert_int_eq(hold(l, "h2", "acme/web/alice", USD(1), 0).code, LEDGER_EXHAUSTED); /* alice */
	ck_assert_int_eq(hold(l, "h3", "acme/web/bob", USD(11), 0).code, LEDGER_EXHAUSTED);  /* web */
	ck_assert_int_eq(hold(l, "h4", "acme/web/bob", USD(10), 0).code, LEDGER_OK);
	ck_assert_int_eq(hold(l, "h5", "acme/api", USD(70), 0).code, LEDGER_OK);
	ck_assert_int_eq(hold(l, "h6", "acme", USD(1), 0).code, LEDGER_EXHAUSTED); /* acme: 100 */
	check_budget(l, "acme", "USD", LEDGER_PERIOD_MONTH, 0, USD(100));
	check_budget(l, "acme/web", "USD", LEDGER_PERIOD_MONTH, 0, USD(30));
	check_budget(l, "acme/web/alice", "USD", LEDGER_PERIOD_MONTH, 0, USD(20));

	/* Partial post: the rest goes back to every ancestor. */
	ck_assert_int_eq(post(l, "h1", USD(5)).code, LEDGER_OK);
	check_budget(l, "acme", "USD", LEDGER_PERIOD_MONTH, USD(5), USD(80));
	check_budget(l, "acme/web", "USD", LEDGER_PERIOD_MONTH, USD(5), USD(10));
	check_budget(l, "acme/web/alice", "USD", LEDGER_PERIOD_MONTH, USD(5), 0);
	ck_assert_int_eq(void_(l, "h5").code, LEDGER_OK);
	check_budget(l, "acme", "USD", LEDGER_PERIOD_MONTH, USD(5), USD(10));
	/* Another tenant is another tree. */
	ck_assert_int_eq(ledger_tenant_add(l, "beta", NULL), 1);
	ck_assert_int_eq(hold(l, "b1", "beta/web", USD(1000), 0).code, LEDGER_OK);
	check_budget(l, "acme", "USD", LEDGER_PERIOD_MONTH, USD(5), USD(10));
	/* Unknown tenants hold nothing. */
	ck_assert_int_eq(hold(l, "g1", "ghost", USD(1), 0).code, LEDGER_UNKNOWN_TENANT);
}
END_TEST

/* ---- expiry (property 3) ---------------------------------------------------- */

START_TEST(expiry_injected_clock)
{
	_cleanup_ledger_close_ Ledger *l = new_ledger();
	LedgerHoldInfo info;
	uint64_t t;

	ck_assert_int_eq(ledger_tenant_add(l, "acme", NULL), 1);
	ck_assert_int_eq(ledger_budget_set(l, "acme", "USD", LEDGER_PERIOD_TOTAL, USD(10)), 0);
	t = fake_now;
	ck_assert_int_eq(hold(l, "h", "acme", USD(10), 10 * SEC).code, LEDGER_OK);
	ck_assert_int_eq(hold(l, "h2", "acme", USD(10), 10 * SEC).code, LEDGER_EXHAUSTED);

	/* Never before the TTL: one microsecond short still holds. */
	fake_now = t + 10 * SEC - 1;
	ck_assert_int_eq(ledger_gc(l), 0);
	ck_assert_int_eq(hold(l, "x1", "acme", 1, 0).code, LEDGER_EXHAUSTED);
	check_budget(l, "acme", "USD", LEDGER_PERIOD_TOTAL, 0, USD(10));

	/* At the TTL: released, by the next check itself (no gc needed). */
	fake_now = t + 10 * SEC;
	check_budget(l, "acme", "USD", LEDGER_PERIOD_TOTAL, 0, 0); /* readers see it released */
	ck_assert_int_eq(hold(l, "x2", "acme", USD(4), 0).code, LEDGER_OK);
	ck_assert_int_eq(ledger_hold_get(l, "h", &info), 0);
	ck_assert_int_eq(info.state, LEDGER_HOLD_EXPIRED);
	/* Posting or voiding the expired hold fails with 'expired'. */
	{
		LedgerResult r = post(l, "h", USD(1));
		ck_assert_int_eq(r.code, LEDGER_EXPIRED);
		ck_assert_str_eq(ledger_code_to_string(r.code), "expired");
		ck_assert_int_eq(void_(l, "h").code, LEDGER_EXPIRED);
	}
	check_budget(l, "acme", "USD", LEDGER_PERIOD_TOTAL, 0, USD(4));

	/* gc releases due holds and says how many. */
	ck_assert_int_eq(hold(l, "y1", "acme", USD(1), 5 * SEC).code, LEDGER_OK);
	ck_assert_int_eq(hold(l, "y2", "acme", USD(1), 5 * SEC).code, LEDGER_OK);
	fake_now += 5 * SEC;
	ck_assert_int_eq(ledger_gc(l), 2);
	ck_assert_int_eq(ledger_gc(l), 0);
	check_budget(l, "acme", "USD", LEDGER_PERIOD_TOTAL, 0, USD(4));
	/* Each expiry is audited. */
	audit_rows(l);
}
END_TEST

/* ---- idempotency (property 4) -------------------------------------------------- */

START_TEST(idempotency)
{
	_cleanup_ledger_close_ Ledger *l = new_ledger();
	LedgerResult r;

	ck_assert_int_eq(ledger_tenant_add(l, "acme", NULL), 1);
	ck_assert_int_eq(ledger_tenant_add(l, "acme", NULL), 0);
	ck_assert_int_eq(ledger_budget_set(l, "acme", "USD", LEDGER_PERIOD_TOTAL, USD(10)), 0);

	r = hold(l, "h", "acme/web", USD(6), 60 * SEC);
	ck_assert_int_eq(r.code, LEDGER_OK);
	ck_assert(!r.replayed);
	r = hold(l, "h", "acme/web", USD(6), 60 * SEC);
	ck_assert_int_eq(r.code, LEDGER_OK);
	ck_assert(r.replayed);
	check_budget(l, "acme", "USD", LEDGER_PERIOD_TOTAL, 0, USD(6)); /* one effect */

	/* Same id, other fields: an error, nothing changes. */
	ck_assert_int_eq(hold(l, "h", "acme/web", USD(5), 60 * SEC).code, LEDGER_CONFLICT);
	ck_assert_int_eq(hold(l, "h", "acme/api", USD(6), 60 * SEC).code, LEDGER_CONFLICT);
	ck_assert_int_eq(hold(l, "h", "acme/web", USD(6), 30 * SEC).code, LEDGER_CONFLICT);
	ck_assert_int_eq(
	    ledger_charge(l, &(LedgerHoldRequest){.id = "h", .scope = "acme/web", .unit = "USD", .amount = USD(6)}, &r),
	    0);
	ck_assert_int_eq(r.code, LEDGER_CONFLICT);
	check_budget(l, "acme", "USD", LEDGER_PERIOD_TOTAL, 0, USD(6));

	/* Post retried: one effect. */
	ck_assert_int_eq(post(l, "h", USD(2)).code, LEDGER_OK);
	r = post(l, "h", USD(2));
	ck_assert_int_eq(r.code, LEDGER_OK);
	ck_assert(r.replayed);
	check_budget(l, "acme", "USD", LEDGER_PERIOD_TOTAL, USD(2), 0);

	/* A refused id stays refused, even when capacity comes back. */
	ck_assert_int_eq(hold(l, "big", "acme", USD(9), 0).code, LEDGER_EXHAUSTED);
	ck_assert_int_eq(hold(l, "small", "acme", USD(8), 0).code, LEDGER_OK);
	ck_assert_int_eq(void_(l, "small").code, LEDGER_OK);
	r = hold(l, "big", "acme", USD(9), 0);
	ck_assert_int_eq(r.code, LEDGER_EXHAUSTED);
	ck_assert(r.replayed);
	check_budget(l, "acme", "USD", LEDGER_PERIOD_TOTAL, USD(2), 0);
	/* ... and a refused id with other fields is a conflict, not a second chance. */
	ck_assert_int_eq(hold(l, "big", "acme", USD(1), 0).code, LEDGER_CONFLICT);
	/* Void retried: one effect. */
	ck_assert_int_eq(hold(l, "v", "acme", USD(1), 0).code, LEDGER_OK);
	ck_assert_int_eq(void_(l, "v").code, LEDGER_OK);
	r = void_(l, "v");
	ck_assert_int_eq(r.code, LEDGER_OK);
	ck_assert(r.replayed);
	check_budget(l, "acme", "USD", LEDGER_PERIOD_TOTAL, USD(2), 0);
}
END_TEST

/* ---- misuse (property 5) ---------------------------------------------------- */

/* Every misuse: the exact code, no change of any balance, one audit row. */
#define MISUSE(expr, code_)                                                                                 \
	do {                                                                                                \
		int64_t before_ = audit_rows(l);                                                            \
		LedgerResult r_ = (expr);                                                                   \
		ck_assert_msg(r_.code == (code_), "%s: got %s (%s)", #expr, ledger_code_to_string(r_.code), \
			      r_.reason);                                                                   \
		ck_assert_int_eq(audit_rows(l), before_ + 1);                                               \
		check_budget(l, "acme", "USD", LEDGER_PERIOD_TOTAL, USD(3), USD(5));                        \
		check_budget(l, "acme/web", "USD", LEDGER_PERIOD_TOTAL, USD(3), USD(5));                    \
	} while (0)

static LedgerResult post_t(Ledger *l, const char *id, const char *tenant, int64_t amount)
{
	LedgerResult r;
	ck_assert_int_eq(ledger_post(l, &(LedgerPostRequest){.id = id, .tenant = tenant, .amount = amount}, &r), 0);
	return r;
}

static LedgerResult void_t(Ledger *l, const char *id, const char *tenant)
{
	LedgerResult r;
	ck_assert_int_eq(ledger_void(l, &(LedgerVoidRequest){.id = id, .tenant = tenant}, &r), 0);
	return r;
}

static LedgerResult hold_u(Ledger *l, const char *id, const char *scope, const char *unit, int64_t amount)
{
	LedgerResult r;
	ck_assert_int_eq(
	    ledger_hold(l, &(LedgerHoldRequest){.id = id, .scope = scope, .unit = unit, .amount = amount}, &r), 0);
	return r;
}

START_TEST(misuse)
{
	_cleanup_ledger_close_ Ledger *l = new_ledger();

	ck_assert_int_eq(ledger_tenant_add(l, "acme", NULL), 1);
	ck_assert_int_eq(ledger_tenant_add(l, "beta", NULL), 1);
	ck_assert_int_eq(ledger_budget_set(l, "acme", "USD", LEDGER_PERIOD_TOTAL, USD(100)), 0);
	ck_assert_int_eq(ledger_budget_set(l, "acme/web", "USD", LEDGER_PERIOD_TOTAL, USD(50)), 0);
	ck_assert_int_eq(hold(l, "posted", "acme/web", USD(4), 0).code, LEDGER_OK);
	ck_assert_int_eq(post(l, "posted", USD(3)).code, LEDGER_OK);
	ck_assert_int_eq(hold(l, "voided", "acme/web", USD(2), 0).code, LEDGER_OK);
	ck_assert_int_eq(void_(l, "voided").code, LEDGER_OK);
	ck_assert_int_eq(hold(l, "live", "acme/web", USD(5), 0).code, LEDGER_OK);
	/* From here: spent 3, held 5 in acme and acme/web, whatever happens. */

	MISUSE(post(l, "posted", USD(1)), LEDGER_ALREADY_POSTED);	 /* post twice */
	MISUSE(void_(l, "posted"), LEDGER_ALREADY_POSTED);		 /* void after post */
	MISUSE(post(l, "voided", USD(1)), LEDGER_ALREADY_VOIDED);	 /* void then post */
	MISUSE(post(l, "live", USD(5) + 1), LEDGER_EXCEEDS_HOLD);	 /* more than held */
	MISUSE(post(l, "nosuch", USD(1)), LEDGER_NOT_FOUND);		 /* forged id */
	MISUSE(post_t(l, "live", "beta", USD(1)), LEDGER_NOT_FOUND);	 /* cross-tenant */
	MISUSE(void_t(l, "live", "beta"), LEDGER_NOT_FOUND);		 /* cross-tenant */
	MISUSE(post(l, "live", -1), LEDGER_INVALID);			 /* negative */
	MISUSE(post_t(l, "live", NULL, 0), LEDGER_INVALID);		 /* zero */
	MISUSE(hold(l, "z", "acme/web", 0, 0), LEDGER_INVALID);		 /* zero */
	MISUSE(hold(l, "n", "acme/web", -USD(1), 0), LEDGER_INVALID);	 /* negative */
	MISUSE(hold(l, "o", "acme/web", INT64_MAX, 0), LEDGER_OVERFLOW); /* overflowing */
	MISUSE(hold(l, "bad id", "acme/web", USD(1), 0), LEDGER_INVALID);
	MISUSE(hold(l, "s", "acme//web", USD(1), 0), LEDGER_INVALID);
	MISUSE(hold_u(l, "u", "acme", "US D", USD(1)), LEDGER_INVALID);
	MISUSE(hold(l, "live", "acme/web", USD(6), 0), LEDGER_CONFLICT); /* replayed id, other amount */
	{
		LedgerResult r;
		/* Posting in another unit than the hold's. */
		MISUSE((ledger_post(l, &(LedgerPostRequest){.id = "live", .unit = "EUR", .amount = 1}, &r), r),
		       LEDGER_INVALID);
	}
	/* The zero / negative ids stay failed: retrying with a valid amount is
	 * a conflict, not a second chance. */
	MISUSE(hold(l, "z", "acme/web", USD(1), 0), LEDGER_CONFLICT);
	/* The overflow refused nothing else: a normal hold still fits. */
	ck_assert_int_eq(post(l, "live", USD(5)).code, LEDGER_OK);
	check_budget(l, "acme", "USD", LEDGER_PERIOD_TOTAL, USD(8), 0);
}
END_TEST

/* Overflow of the aggregates is refused before anything is written. */
START_TEST(overflow_totals)
{
	_cleanup_ledger_close_ Ledger *l = new_ledger();
	LedgerResult r;

	ck_assert_int_eq(ledger_tenant_add(l, "acme", NULL), 1);
	ck_assert_int_eq(
	    ledger_charge(
		l, &(LedgerHoldRequest){.id = "c1", .scope = "acme", .unit = "tokens", .amount = INT64_MAX - 5}, &r),
	    0);
	ck_assert_int_eq(r.code, LEDGER_OK);
	ck_assert_int_eq(
	    ledger_charge(l, &(LedgerHoldRequest){.id = "c2", .scope = "acme/x", .unit = "tokens", .amount = 6}, &r),
	    0);
	ck_assert_int_eq(r.code, LEDGER_OVERFLOW);
	ck_assert_int_eq(
	    ledger_hold(l, &(LedgerHoldRequest){.id = "c3", .scope = "acme/x", .unit = "tokens", .amount = 6}, &r), 0);
	ck_assert_int_eq(r.code, LEDGER_OVERFLOW);
	ck_assert_int_eq(
	    ledger_charge(l, &(LedgerHoldRequest){.id = "c4", .scope = "acme/x", .unit = "tokens", .amount = 5}, &r),
	    0);
	ck_assert_int_eq(r.code, LEDGER_OK);
	/* Budget limits and sums stay exact at the top of the range. */
	ck_assert_int_eq(ledger_budget_set(l, "acme", "tokens", LEDGER_PERIOD_TOTAL, INT64_MAX), 0);
	check_budget(l, "acme", "tokens", LEDGER_PERIOD_TOTAL, INT64_MAX, 0);
	audit_rows(l);
}
END_TEST

/* ---- admission and settlement ------------------------------------------------ */

START_TEST(admit_settle)
{
	_cleanup_ledger_close_ Ledger *l = new_ledger();
	LedgerAdmitResult a;
	LedgerHoldInfo info;

	/* Unknown tenant: denied, unless created on first use. */
	ck_assert_int_eq(
	    ledger_admit(l, &(LedgerAdmitRequest){.tenant = "acme", .session_id = "s0", .hold_amount = USD(1)}, &a), 0);
	ck_assert(!a.allowed);
	ck_assert_str_eq(a.reason, "unknown tenant 'acme' (add it with 'kdc-ledger tenant add acme')");
	ck_assert_int_eq(
	    ledger_admit(
		l,
		&(LedgerAdmitRequest){
		    .tenant = "acme", .session_id = "s1", .create_tenant = true, .hold_amount = 0, .command = "true"},
		&a),
	    0);
	ck_assert(a.allowed);
	ck_assert(a.tenant_created);
	ck_assert_str_eq(a.hold_id, "");
	ck_assert_int_eq(
	    ledger_settle(l, &(LedgerSettleRequest){.session_id = "s1", .actual = 0, .end_reason = "exited"}), 0);
	ck_assert_int_eq(
	    ledger_settle(l, &(LedgerSettleRequest){.session_id = "s1", .actual = 0, .end_reason = "exited"}),
	    -EALREADY);
	ck_assert_int_eq(ledger_settle(l, &(LedgerSettleRequest){.session_id = "nosuch", .end_reason = "exited"}),
			 -ENOENT);
	ck_assert_int_eq(ledger_admit(l, &(LedgerAdmitRequest){.tenant = "acme", .session_id = "s1"}, &a), -EEXIST);
	ck_assert_int_eq(ledger_admit(l, &(LedgerAdmitRequest){.tenant = "acme", .session_id = "s x"}, &a), -EINVAL);
	ck_assert_int_eq(
	    ledger_admit(l, &(LedgerAdmitRequest){.tenant = "acme", .session_id = "s9", .hold_amount = -1}, &a),
	    -EINVAL);

	/* The denial message of DESIGN.md, exactly. */
	ck_assert_int_eq(ledger_budget_set(l, "acme", "USD", LEDGER_PERIOD_MONTH, USD(50)), 0);
	ck_assert_int_eq(
	    ledger_charge(l, &(LedgerHoldRequest){.id = "c", .scope = "acme", .unit = "USD", .amount = USD(49.80)},
			  &(LedgerResult){0}),
	    0);
	ck_assert_int_eq(ledger_admit(l,
				      &(LedgerAdmitRequest){.tenant = "acme",
							    .project = "web",
							    .session_id = "s2",
							    .hold_amount = USD(0.5),
							    .command = "python agent.py"},
				      &a),
			 0);
	ck_assert(!a.allowed);
	ck_assert_str_eq(a.reason, "budget 'acme' exhausted: 49.80 of 50.00 USD spent this month, 0.50 requested");

	/* Admitted with a hold; settlement posts the actual, clamped. */
	ck_assert_int_eq(ledger_budget_set(l, "acme", "USD", LEDGER_PERIOD_MONTH, USD(60)), 0);
	ck_assert_int_eq(ledger_admit(l,
				      &(LedgerAdmitRequest){.tenant = "acme",
							    .project = "web",
							    .user = "alice",
							    .session_id = "s3",
							    .hold_amount = USD(2),
							    .hold_ttl_usec = 600 * SEC},
				      &a),
			 0);
	ck_assert_msg(a.allowed, "%s", a.reason);
	ck_assert_str_eq(a.hold_id, "run-s3");
	check_budget(l, "acme", "USD", LEDGER_PERIOD_MONTH, USD(49.80), USD(2));
	ck_assert_int_eq(ledger_settle(l, &(LedgerSettleRequest){.session_id = "s3",
								 .actual = USD(5),
								 .end_reason = "exited",
								 .wall_usec = 3 * SEC}),
			 0);
	check_budget(l, "acme", "USD", LEDGER_PERIOD_MONTH, USD(51.80), 0);
	ck_assert_int_eq(ledger_hold_get(l, "run-s3", &info), 0);
	ck_assert_int_eq(info.state, LEDGER_HOLD_POSTED);
	ck_assert_int_eq(info.posted, USD(2));

	/* Actual 0 voids the hold. */
	ck_assert_int_eq(
	    ledger_admit(l, &(LedgerAdmitRequest){.tenant = "acme", .session_id = "s4", .hold_amount = USD(1)}, &a), 0);
	ck_assert(a.allowed);
	ck_assert_int_eq(
	    ledger_settle(
		l,
		&(LedgerSettleRequest){.session_id = "s4", .actual = 0, .end_reason = "signaled", .exit_status = 130}),
	    0);
	ck_assert_int_eq(ledger_hold_get(l, "run-s4", &info), 0);
	ck_assert_int_eq(info.state, LEDGER_HOLD_VOIDED);

	/* A crashed kdc-run: its hold expires after the TTL; a late
	 * settlement records the session and posts nothing. */
	ck_assert_int_eq(
	    ledger_admit(l,
			 &(LedgerAdmitRequest){
			     .tenant = "acme", .session_id = "s5", .hold_amount = USD(3), .hold_ttl_usec = 10 * SEC},
			 &a),
	    0);
	ck_assert(a.allowed);
	check_budget(l, "acme", "USD", LEDGER_PERIOD_MONTH, USD(51.80), USD(3));
	fake_now += 10 * SEC;
	check_budget(l, "acme", "USD", LEDGER_PERIOD_MONTH, USD(51.80), 0);
	ck_assert_int_eq(
	    ledger_settle(l, &(LedgerSettleRequest){.session_id = "s5", .actual = USD(1), .end_reason = "exited"}),
	    -ETIME);
	check_budget(l, "acme", "USD", LEDGER_PERIOD_MONTH, USD(51.80), 0);

	/* No hold (amount 0): the actual is recorded anyway. */
	ck_assert_int_eq(ledger_admit(l, &(LedgerAdmitRequest){.tenant = "acme", .session_id = "s6"}, &a), 0);
	ck_assert_int_eq(
	    ledger_settle(l, &(LedgerSettleRequest){.session_id = "s6", .actual = USD(0.2), .end_reason = "exited"}),
	    0);
	check_budget(l, "acme", "USD", LEDGER_PERIOD_MONTH, USD(52.00), 0);
	audit_rows(l);
}
END_TEST

/* A settlement carries its session's other rows (egress decisions,
 * degradations) in the same transaction: all of them or none. */
static int last_action(const AuditEntry *e, void *userdata)
{
	snprintf(userdata, 64, "%s %s %s", e->rec.actor, e->rec.action, e->rec.object ? e->rec.object : "");
	return 0;
}

START_TEST(settle_extra_rows)
{
	_cleanup_ledger_close_ Ledger *l = new_ledger();
	LedgerAdmitResult a;
	AuditRecord extra[2] = {
	    {.tenant = "acme",
	     .session = "s1",
	     .actor = "kdc-run",
	     .action = "degrade",
	     .object = "memory",
	     .decision = "allow",
	     .rule = "degrade",
	     .reason = "memory not enforced"},
	    {.tenant = "acme",
	     .session = "s1",
	     .actor = "bpf",
	     .action = "egress",
	     .object = "connect4 tcp 198.51.100.1:80",
	     .decision = "deny",
	     .rule = "filtered",
	     .reason = "deny connect4 tcp 198.51.100.1:80"},
	};
	AuditRecord bad = {.tenant = "acme", .session = "s1", .action = "egress", .decision = "deny"};
	char last[64] = "";
	int64_t before;

	ck_assert_int_eq(
	    ledger_admit(
		l,
		&(LedgerAdmitRequest){.tenant = "acme", .session_id = "s1", .create_tenant = true, .command = "true"},
		&a),
	    0);
	ck_assert(a.allowed);
	before = audit_rows(l);
	/* a record without an actor: refused before anything is written */
	ck_assert_int_eq(
	    ledger_settle(
		l, &(LedgerSettleRequest){.session_id = "s1", .end_reason = "exited", .extra = &bad, .n_extra = 1}),
	    -EINVAL);
	ck_assert_int_eq(
	    ledger_settle(
		l, &(LedgerSettleRequest){.session_id = "s1", .end_reason = "exited", .extra = NULL, .n_extra = 1}),
	    -EINVAL);
	ck_assert_int_eq(audit_rows(l), before);
	ck_assert_int_eq(
	    ledger_settle(
		l, &(LedgerSettleRequest){.session_id = "s1", .end_reason = "exited", .extra = extra, .n_extra = 2}),
	    0);
	/* settle, then the two, chained */
	ck_assert_int_eq(audit_rows(l), before + 3);
	ck_assert_int_eq(ledger_audit_query(l, &(AuditFilter){.session = "s1", .last = 1}, last_action, last), 0);
	ck_assert_str_eq(last, "bpf egress connect4 tcp 198.51.100.1:80");
	ck_assert_int_eq(
	    ledger_audit_query(l, &(AuditFilter){.session = "s1", .decision = "allow", .last = 1}, last_action, last),
	    0);
	ck_assert_str_eq(last, "kdc-run degrade memory");
}
END_TEST

START_TEST(admit_rate_limit)
{
	_cleanup_ledger_close_ Ledger *l = new_ledger();
	LedgerAdmitResult a;
	RateLimit rl;
	int allowed = 0;

	ck_assert_int_eq(ratelimit_parse("2/min burst 1", &rl), 0);
	ck_assert_int_eq(ledger_tenant_add(l, "acme", &rl), 1);
	/* burst + 1 at once, then one per 30 s. */
	for (int i = 0; i < 5; i++) {
		char sid[16];
		snprintf(sid, sizeof(sid), "r%d", i);
		ck_assert_int_eq(ledger_admit(l, &(LedgerAdmitRequest){.tenant = "acme", .session_id = sid}, &a), 0);
		allowed += a.allowed;
		if (i == 2) {
			ck_assert(!a.allowed);
			ck_assert_str_eq(a.reason,
					 "session rate limit of tenant 'acme' reached (2/min burst 1); retry in 30s");
		}
	}
	ck_assert_int_eq(allowed, 2);
	fake_now += 30 * SEC;
	ck_assert_int_eq(ledger_admit(l, &(LedgerAdmitRequest){.tenant = "acme", .session_id = "r10"}, &a), 0);
	ck_assert(a.allowed);
	ck_assert_int_eq(ledger_admit(l, &(LedgerAdmitRequest){.tenant = "acme", .session_id = "r11"}, &a), 0);
	ck_assert(!a.allowed);
	/* A clock stepping back grants nothing. */
	fake_now -= 3600 * SEC;
	ck_assert_int_eq(ledger_admit(l, &(LedgerAdmitRequest){.tenant = "acme", .session_id = "r12"}, &a), 0);
	ck_assert(!a.allowed);
	/* Removing the limit. */
	ck_assert_int_eq(ledger_tenant_add(l, "acme", NULL), 0);
	ck_assert_int_eq(ledger_admit(l, &(LedgerAdmitRequest){.tenant = "acme", .session_id = "r13"}, &a), 0);
	ck_assert(a.allowed);
}
END_TEST

/* ---- files, paths, schema ------------------------------------------------------- */

static char tmpdir[256];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/test-ledger.XXXXXX", getenv("TMPDIR") ?: "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(open_files)
{
	char path[512], db[600];
	struct stat st;
	Ledger *l = NULL;
	sqlite3 *raw = NULL;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/a/b", tmpdir);
	snprintf(db, sizeof(db), "%s/kdc.db", path);
	umask(022);
	ck_assert_int_eq(ledger_open(db, &l), 0);
	ck_assert_int_eq(stat(db, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(ledger_tenant_add(l, "acme", NULL), 1);
	ledger_close(l);
	/* -wal / -shm / -lock inherit the database's privacy. */
	{
		const char *suffix[] = {"-wal", "-shm", "-lock"};
		for (size_t i = 0; i < ARRAY_SIZE(suffix); i++) {
			char f[600];
			snprintf(f, sizeof(f), "%s%s", db, suffix[i]);
			ck_assert_msg(stat(f, &st) == 0, "%s missing", f);
			ck_assert_int_eq(st.st_mode & 07777, 0600);
		}
	}

	/* Reopening does no migration; data is there. */
	ck_assert_int_eq(ledger_open(db, &l), 0);
	ck_assert_int_eq(ledger_tenant_add(l, "acme", NULL), 0);
	ledger_close(l);

	/* Read-only: reads work, writes refuse. */
	ck_assert_int_eq(ledger_open_full(db, LEDGER_OPEN_READONLY, &l), 0);
	ck_assert_int_eq(ledger_tenant_add(l, "beta", NULL), -EROFS);
	ledger_close(l);
	{
		char missing[600];
		snprintf(missing, sizeof(missing), "%s/none.db", tmpdir);
		ck_assert_int_eq(ledger_open_full(missing, LEDGER_OPEN_READONLY, &l), -ENOENT);
	}

	/* A schema from the future is refused, not guessed at. */
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	ck_assert_int_eq(ledger_open(db, &l), -EPROTONOSUPPORT);

	/* Not a database at all. */
	{
		char junk[600];
		FILE *f;
		snprintf(junk, sizeof(junk), "%s/junk.db", tmpdir);
		f = fopen(junk, "we");
		fputs("this is not an SQLite database, it only pretends to be one for a test", f);
		fclose(f);
		ck_assert_int_eq(ledger_open(junk, &l), -EBADMSG);
	}
	remove_tmpdir();
}
END_TEST

START_TEST(default_path)
{
	_cleanup_free_ char *p = NULL;

	setenv("KDC_DB", "/x/y.db", 1);
	ck_assert_int_eq(ledger_default_path(&p), 0);
	ck_assert_str_eq(p, "/x/y.db");
	free(TAKE_PTR(p));
	unsetenv("KDC_DB");
	setenv("XDG_STATE_HOME", "/state", 1);
	setenv("HOME", "/home/u", 1);
	ck_assert_int_eq(ledger_default_path(&p), 0);
	if (geteuid() == 0)
		ck_assert_str_eq(p, "/var/lib/kdc/kdc.db");
	else
		ck_assert_str_eq(p, "/state/kdc/kdc.db");
	free(TAKE_PTR(p));
	setenv("XDG_STATE_HOME", "relative/ignored", 1);
	ck_assert_int_eq(ledger_default_path(&p), 0);
	if (geteuid() != 0)
		ck_assert_str_eq(p, "/home/u/.local/state/kdc/kdc.db");
}
END_TEST

/* ---- atomicity: no spend without its audit row (property 6) ------------------- */

START_TEST(no_spend_without_audit)
{
	char db[512];
	Ledger *l = NULL;
	sqlite3 *raw = NULL;
	LedgerResult r;
	LedgerAdmitResult a;
	int64_t rows;

	make_tmpdir();
	snprintf(db, sizeof(db), "%s/kdc.db", tmpdir);
	ck_assert_int_eq(ledger_open(db, &l), 0);
	ck_assert_int_eq(ledger_tenant_add(l, "acme", NULL), 1);
	ck_assert_int_eq(ledger_budget_set(l, "acme", "USD", LEDGER_PERIOD_TOTAL, USD(10)), 0);
	ck_assert_int_eq(hold(l, "ok", "acme", USD(1), 0).code, LEDGER_OK);
	rows = audit_rows(l);

	/* Make every audit insert fail, as a full disk or a broken trail would. */
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw,
				      "CREATE TRIGGER fail BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'no'); END",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	ck_assert_int_lt(
	    ledger_hold(l, &(LedgerHoldRequest){.id = "h", .scope = "acme", .unit = "USD", .amount = USD(1)}, &r), 0);
	ck_assert_int_lt(ledger_post(l, &(LedgerPostRequest){.id = "ok", .full = true}, &r), 0);
	ck_assert_int_lt(
	    ledger_charge(l, &(LedgerHoldRequest){.id = "c", .scope = "acme", .unit = "USD", .amount = USD(1)}, &r), 0);
	ck_assert_int_lt(
	    ledger_admit(l, &(LedgerAdmitRequest){.tenant = "acme", .session_id = "s", .hold_amount = USD(1)}, &a), 0);
	ck_assert_int_eq(sqlite3_exec(raw, "DROP TRIGGER fail", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);

	/* Nothing of the failed calls remains: no hold, no spend, no session. */
	check_budget(l, "acme", "USD", LEDGER_PERIOD_TOTAL, 0, USD(1));
	{
		LedgerHoldInfo info;
		ck_assert_int_eq(ledger_hold_get(l, "h", &info), -ENOENT);
		ck_assert_int_eq(ledger_hold_get(l, "c", &info), -ENOENT);
		ck_assert_int_eq(ledger_hold_get(l, "ok", &info), 0);
		ck_assert_int_eq(info.state, LEDGER_HOLD_PENDING);
	}
	ck_assert_int_eq(audit_rows(l), rows);
	/* The same ids work afterwards: they were never acknowledged. */
	ck_assert_int_eq(hold(l, "h", "acme", USD(1), 0).code, LEDGER_OK);
	ck_assert_int_eq(
	    ledger_admit(l, &(LedgerAdmitRequest){.tenant = "acme", .session_id = "s", .hold_amount = USD(1)}, &a), 0);
	ck_assert(a.allowed);
	ledger_close(l);
	remove_tmpdir();
}
END_TEST

/* The aggregates always equal what the holds say (checked from raw rows). */
START_TEST(aggregates_match_rows)
{
	char db[512];
	Ledger *l = NULL;
	sqlite3 *raw = NULL;
	sqlite3_stmt *s = NULL;
	unsigned seed = (unsigned) time(NULL);
	const char *e = getenv("KDC_TORTURE_SEED");

	if (e)
		seed = (unsigned) strtoul(e, NULL, 10);
	fprintf(stderr, "# aggregates_match_rows seed: %u (KDC_TORTURE_SEED=%u replays)\n", seed, seed);
	srand(seed);
	make_tmpdir();
	snprintf(db, sizeof(db), "%s/kdc.db", tmpdir);
	ck_assert_int_eq(ledger_open(db, &l), 0);
	fake_now = T0;
	ledger_set_clock(l, fake_clock, NULL);
	ck_assert_int_eq(ledger_tenant_add(l, "acme", NULL), 1);
	ck_assert_int_eq(ledger_budget_set(l, "acme", "USD", LEDGER_PERIOD_DAY, USD(40)), 0);
	ck_assert_int_eq(ledger_budget_set(l, "acme/a", "USD", LEDGER_PERIOD_TOTAL, USD(25)), 0);
	for (int i = 0; i < 400; i++) {
		static const char *const scopes[] = {"acme", "acme/a", "acme/b", "acme/a/x", "acme/a/y", "acme/b/z"};
		char id[16];
		int op = rand() % 4;

		snprintf(id, sizeof(id), "h%d", rand() % 120);
		if (op == 0 || op == 1)
			(void) hold(l, id, scopes[rand() % 6], 1 + rand() % USD(3), (uint64_t) (1 + rand() % 30) * SEC);
		else if (op == 2)
			(void) post(l, id, 1 + rand() % USD(3));
		else
			(void) void_(l, id);
		fake_now += (uint64_t) (rand() % 3000) * 1000 * 10; /* up to 30 s, crossing midnight */
	}
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	/* balances.held = sum of pending holds in the subtree; balances.posted
	 * = sum posted; spend per day = posted that day. */
	ck_assert_int_eq(
	    sqlite3_prepare_v2(
		raw,
		"SELECT b.scope, b.held, b.posted,"
		" (SELECT COALESCE(SUM(amount), 0) FROM holds h WHERE h.state = 'pending' AND h.unit = b.unit AND"
		"  (h.scope = b.scope OR substr(h.scope, 1, length(b.scope) + 1) = b.scope || '/')),"
		" (SELECT COALESCE(SUM(posted), 0) FROM holds h WHERE h.state = 'posted' AND h.unit = b.unit AND"
		"  (h.scope = b.scope OR substr(h.scope, 1, length(b.scope) + 1) = b.scope || '/')),"
		" (SELECT COALESCE(SUM(amount), 0) FROM spend p WHERE p.scope = b.scope AND p.unit = b.unit)"
		" FROM balances b",
		-1, &s, NULL),
	    SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		ck_assert_int_eq(sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 3));
		ck_assert_int_eq(sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 4));
		ck_assert_int_eq(sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 5));
	}
	sqlite3_finalize(s);
	sqlite3_close(raw);
	audit_rows(l);
	ledger_close(l);
	remove_tmpdir();
}
END_TEST

/* ---- the ledger's VFS (ledger-vfs.h) -------------------------------------------- */

static int page_size_of(const char *db)
{
	sqlite3 *raw = NULL;
	sqlite3_stmt *st = NULL;
	int n = -1;

	if (sqlite3_open(db, &raw) == SQLITE_OK &&
	    sqlite3_prepare_v2(raw, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(raw);
	return n;
}

/* One write to the WAL per commit, where SQLite makes two per page. */
START_TEST(vfs_one_wal_write_per_commit)
{
	char db[600], id[32];
	Ledger *l = NULL;
	uint64_t before;

	make_tmpdir();
	snprintf(db, sizeof(db), "%s/kdc.db", tmpdir);
	ck_assert_int_eq(ledger_open(db, &l), 0);
	ck_assert_int_eq(ledger_tenant_add(l, "acme", NULL), 1);
	ck_assert_int_eq(ledger_budget_set(l, "acme", "USD", LEDGER_PERIOD_MONTH, USD(1000)), 0);
	before = ledger_vfs_wal_writes();
	for (int i = 0; i < 20; i++) {
		LedgerResult res;
		snprintf(id, sizeof(id), "h%d", i);
		ck_assert_int_eq(
		    ledger_hold(
			l,
			&(LedgerHoldRequest){
			    .id = id, .scope = "acme/p/u", .unit = "USD", .amount = USD(1), .ttl_usec = 60 * SEC},
			&res),
		    0);
		ck_assert_int_eq(res.code, LEDGER_OK);
		ck_assert_int_eq(ledger_post(l, &(LedgerPostRequest){.id = id, .amount = USD(0.5)}, &res), 0);
		ck_assert_int_eq(res.code, LEDGER_OK);
	}
	/* 40 commits of 4-5 pages each: 40 writes. */
	ck_assert_uint_eq(ledger_vfs_wal_writes() - before, 40);
	ledger_close(l);

	/* A new ledger has small pages (ledger.c says why). */
	ck_assert_int_eq(page_size_of(db), 1024);
	remove_tmpdir();
}
END_TEST

static int64_t count_rows(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_prepare_v2(db, "SELECT count(*), sum(length(v)) FROM t", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* A commit that is never synced (synchronous=OFF) is still in the file by
 * the time another connection can see it: the VFS writes it out when
 * SQLite publishes the new WAL-index header. The reader uses SQLite's own
 * VFS, so it reads only what reached the file. */
START_TEST(vfs_commit_visible_without_sync)
{
	char db[600], sql[128];
	sqlite3 *w = NULL, *r = NULL;

	make_tmpdir();
	snprintf(db, sizeof(db), "%s/raw.db", tmpdir);
	ck_assert_int_eq(ledger_vfs_register(), 0);
	ck_assert_int_eq(sqlite3_open_v2(db, &w, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, LEDGER_VFS_NAME),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(w,
				      "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;"
				      " CREATE TABLE t (v TEXT)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_open_v2(db, &r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (int i = 1; i <= 200; i++) {
		/* Rows of 600 bytes: every few commits add a page and split. */
		snprintf(sql, sizeof(sql), "INSERT INTO t (v) VALUES (printf('%%0600d', %d))", i);
		ck_assert_int_eq(sqlite3_exec(w, sql, NULL, NULL, NULL), SQLITE_OK);
		ck_assert_int_eq(count_rows(r), i);
	}
	/* A commit of 300 KB: written in pieces the unix VFS accepts (one
	 * write of more than 128 KiB is SQLITE_FULL to it). */
	ck_assert_int_eq(sqlite3_exec(w, "INSERT INTO t (v) VALUES (printf('%0300000d', 1))", NULL, NULL, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(count_rows(r), 201);
	/* The WAL is read back (checkpoint) through the VFS as well. */
	ck_assert_int_eq(sqlite3_wal_checkpoint_v2(w, "main", SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(count_rows(r), 201);
	sqlite3_close(r);
	sqlite3_close(w);
	ck_assert_int_eq(sqlite3_open_v2(db, &r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(count_rows(r), 201);
	sqlite3_close(r);
	remove_tmpdir();
}
END_TEST

/* A ledger made before the small pages keeps its 4096-byte pages and works. */
START_TEST(vfs_old_page_size)
{
	char db[600];
	sqlite3 *raw = NULL;
	Ledger *l = NULL;
	LedgerResult res;

	make_tmpdir();
	snprintf(db, sizeof(db), "%s/old.db", tmpdir);
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(
	    sqlite3_exec(raw, "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; VACUUM", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(raw);
	ck_assert_int_eq(ledger_open(db, &l), 0);
	ck_assert_int_eq(ledger_tenant_add(l, "acme", NULL), 1);
	ck_assert_int_eq(
	    ledger_hold(
		l,
		&(LedgerHoldRequest){.id = "h", .scope = "acme", .unit = "USD", .amount = USD(1), .ttl_usec = 60 * SEC},
		&res),
	    0);
	ck_assert_int_eq(res.code, LEDGER_OK);
	ledger_close(l);
	ck_assert_int_eq(page_size_of(db), 4096);
	remove_tmpdir();
}
END_TEST

static int hold1(Ledger *l, const char *id, int64_t amount, LedgerResult *res)
{
	return ledger_hold(
	    l, &(LedgerHoldRequest){.id = id, .scope = "acme/p", .unit = "USD", .amount = amount, .ttl_usec = 60 * SEC},
	    res);
}

static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) < 0 ? -1 : st.st_size;
}

static int64_t holds_in(const char *db)
{
	sqlite3 *raw = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_open(db, &raw) == SQLITE_OK &&
	    sqlite3_prepare_v2(raw, "SELECT count(*) FROM holds", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(raw);
	return n;
}

/* A commit that would make the WAL longer makes it longer by whole 64 KiB
 * steps of zeros, so that the next commits overwrite and their fsyncs
 * allocate nothing; and a WAL so padded, left behind by a process that
 * died, recovers every commit and nothing else. */
START_TEST(vfs_wal_grows_in_steps)
{
	char db[600], wal[620], id[32];
	off_t sizes[64];
	size_t n_sizes = 0;
	pid_t pid;
	int status;

	make_tmpdir();
	snprintf(db, sizeof(db), "%s/kdc.db", tmpdir);
	snprintf(wal, sizeof(wal), "%s-wal", db);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		Ledger *l = NULL;
		if (ledger_open(db, &l) < 0 || ledger_tenant_add(l, "acme", NULL) != 1)
			_exit(2);
		for (int i = 0; i < 60; i++) {
			LedgerResult res;
			off_t sz;
			snprintf(id, sizeof(id), "h%d", i);
			if (hold1(l, id, USD(1), &res) < 0 || res.code != LEDGER_OK)
				_exit(3);
			sz = file_size(wal);
			if (sz <= 0 || sz % (64 * 1024) != 0)
				_exit(4);
			if (i == 0 || sz != sizes[n_sizes - 1]) {
				if (n_sizes == ARRAY_SIZE(sizes))
					_exit(5);
				sizes[n_sizes++] = sz;
			}
		}
		/* 60 commits of 3-5 KiB: the WAL grew in a few steps, not 60. */
		if (n_sizes > 6)
			_exit(6);
		_exit(0); /* no close, no checkpoint: the WAL stays as it is */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_gt(file_size(wal), 64 * 1024);
	/* Recovery reads the frames up to the first zeroed one. */
	ck_assert_int_eq(holds_in(db), 60);
	{
		Ledger *l = NULL;
		AuditVerifyResult v;
		LedgerResult res;
		ck_assert_int_eq(ledger_open(db, &l), 0);
		ck_assert_int_eq(ledger_verify(l, &v), 0);
		ck_assert_int_eq(v.first_bad, 0);
		ck_assert_int_eq(hold1(l, "after", USD(1), &res), 0);
		ck_assert_int_eq(res.code, LEDGER_OK);
		ledger_close(l);
	}
	ck_assert_int_eq(holds_in(db), 61);
	remove_tmpdir();
}
END_TEST

/* ---- group commit ----------------------------------------------------------------- */

START_TEST(group_commit)
{
	char db[600];
	Ledger *l = NULL, *other = NULL;
	LedgerHoldInfo info;
	LedgerResult res;
	AuditVerifyResult v;
	uint64_t writes;

	make_tmpdir();
	snprintf(db, sizeof(db), "%s/kdc.db", tmpdir);
	ck_assert_int_eq(ledger_open(db, &l), 0);
	ck_assert_int_eq(ledger_open(db, &other), 0);
	ck_assert_int_eq(ledger_tenant_add(l, "acme", NULL), 1);
	ck_assert_int_eq(ledger_budget_set(l, "acme", "USD", LEDGER_PERIOD_MONTH, USD(10)), 0);

	/* Four calls, one commit: a hold, a hold the cap refuses (recorded
	 * as failed), a call that fails half-way (its savepoint undone), and
	 * a hold that counts the first one. */
	writes = ledger_vfs_wal_writes();
	ck_assert_int_eq(ledger_group_begin(l), 0);
	ck_assert_int_eq(ledger_group_begin(l), -EBUSY);
	ck_assert_int_eq(hold1(l, "g1", USD(6), &res), 0);
	ck_assert_int_eq(res.code, LEDGER_OK);
	ck_assert_int_eq(hold1(l, "g2", USD(5), &res), 0);
	ck_assert_int_eq(res.code, LEDGER_EXHAUSTED);
	ck_assert_int_lt(ledger_settle(l, &(LedgerSettleRequest){.session_id = "none", .end_reason = "exited"}), 0);
	ck_assert_int_eq(hold1(l, "g3", USD(4), &res), 0);
	ck_assert_int_eq(res.code, LEDGER_OK);
	/* The group sees its own writes; another connection sees nothing
	 * before the end. */
	ck_assert_int_eq(ledger_hold_get(l, "g1", &info), 0);
	ck_assert_int_eq(ledger_hold_get(other, "g1", &info), -ENOENT);
	ck_assert_int_eq(ledger_group_end(l), 0);
	ck_assert_uint_eq(ledger_vfs_wal_writes() - writes, 1);
	ck_assert_int_eq(ledger_group_end(l), -EINVAL);

	ck_assert_int_eq(ledger_hold_get(other, "g1", &info), 0);
	ck_assert_int_eq(info.state, LEDGER_HOLD_PENDING);
	ck_assert_int_eq(ledger_hold_get(other, "g2", &info), 0);
	ck_assert_int_eq(info.state, LEDGER_HOLD_FAILED);
	ck_assert_int_eq(ledger_hold_get(other, "g3", &info), 0);
	ck_assert_int_eq(info.state, LEDGER_HOLD_PENDING);
	/* The cap saw g1 and g3 together: 10 USD held, 1 more is refused. */
	ck_assert_int_eq(hold1(other, "g4", USD(1), &res), 0);
	ck_assert_int_eq(res.code, LEDGER_EXHAUSTED);
	ck_assert_int_eq(ledger_verify(other, &v), 0);
	ck_assert_int_eq(v.first_bad, 0);

	/* A group that never ends records nothing. */
	ck_assert_int_eq(ledger_group_begin(l), 0);
	ck_assert_int_eq(ledger_post(l, &(LedgerPostRequest){.id = "g1", .amount = USD(1)}, &res), 0);
	ck_assert_int_eq(res.code, LEDGER_OK);
	ledger_close(l);
	ck_assert_int_eq(ledger_hold_get(other, "g1", &info), 0);
	ck_assert_int_eq(info.state, LEDGER_HOLD_PENDING);
	ledger_close(other);
	remove_tmpdir();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ledger");
	TCase *tc = tcase_create("core");
	SRunner *sr;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, amounts_exact);
	tcase_add_test(tc, periods_calendar);
	tcase_add_test(tc, periods_reset);
	tcase_add_test(tc, scope_parse);
	tcase_add_test(tc, scope_tree_caps);
	tcase_add_test(tc, expiry_injected_clock);
	tcase_add_test(tc, idempotency);
	tcase_add_test(tc, misuse);
	tcase_add_test(tc, overflow_totals);
	tcase_add_test(tc, admit_settle);
	tcase_add_test(tc, settle_extra_rows);
	tcase_add_test(tc, admit_rate_limit);
	tcase_add_test(tc, open_files);
	tcase_add_test(tc, default_path);
	tcase_add_test(tc, no_spend_without_audit);
	tcase_add_test(tc, aggregates_match_rows);
	tcase_add_test(tc, vfs_one_wal_write_per_commit);
	tcase_add_test(tc, vfs_commit_visible_without_sync);
	tcase_add_test(tc, vfs_old_page_size);
	tcase_add_test(tc, vfs_wal_grows_in_steps);
	tcase_add_test(tc, group_commit);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	return check_run(sr);
}
