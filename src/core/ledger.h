/* SPDX-License-Identifier: MIT */
#pragma once

/* The ledger: tenants, budgets, two-phase holds, sessions, rate limits and
 * the audit trail, in one SQLite database (WAL, synchronous=FULL).
 *
 * Scopes form a tree "tenant[/project[/user]]"; a hold or charge counts in
 * its scope and every ancestor; a budget caps one scope, one unit and one
 * period (UTC day, ISO week, month, or total). Amounts are int64 micro-units
 * ("12.50USD" is 12500000 USD-micro); there is no floating point anywhere.
 *
 * Every state change runs in one BEGIN IMMEDIATE transaction that also
 * appends its audit row, so there is no effect without its row and no row
 * without its effect. Expired pending holds are released before any check.
 *
 * Return values: >= 0 success, -errno when the database could not be used
 * (nothing was changed, callers deny). Operations that the ledger decided on
 * return 0 and say in a LedgerResult whether they were refused, with a
 * stable LedgerCode. A Ledger is not thread-safe and must not cross fork(). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/audit.h"
#include "core/ratelimit.h"
#include "shared/units.h"

typedef struct Ledger Ledger;

#define LEDGER_SCHEMA_VERSION 1
#define LEDGER_SCHEMA_VERSION_STR "1"
#define LEDGER_NAME_MAX 64   /* one scope component: [A-Za-z0-9][A-Za-z0-9._-]* */
#define LEDGER_SCOPE_MAX 200 /* "a/b/c" with three components */
#define LEDGER_ID_MAX 79     /* caller ids: [A-Za-z0-9][A-Za-z0-9._:@-]* */
#define LEDGER_REASON_MAX 512
#define LEDGER_DEFAULT_TTL_USEC (3600 * USEC_PER_SEC)
#define LEDGER_DEFAULT_BUSY_TIMEOUT_MSEC 5000u
#define LEDGER_SYSTEM_PATH "/var/lib/kdc/kdc.db"

/* Where the database lives: $KDC_DB if set and non-empty; root:
 * /var/lib/kdc/kdc.db; others: $XDG_STATE_HOME/kdc/kdc.db (when absolute),
 * else ~/.local/state/kdc/kdc.db. */
int ledger_default_path(char **ret);
/* Makes *path absolute against the working directory (in place), as every
 * caller must name a ledger to its clerk: the clerk's socket and identity
 * carry the path, and the clerk may outlive the caller's working directory.
 * -ENOMEM (then *path is NULL). */
int ledger_path_absolute(char **path);
/* $KDC_LEDGER_BUSY_TIMEOUT (a duration), else the default; -EINVAL for a
 * bad value. */
int ledger_busy_timeout_usec(uint64_t *ret);

enum {
	LEDGER_OPEN_READONLY = 1u << 0, /* never create nor migrate; reads only */
};

/* Opens (creating the directory 0700 and the file 0600) and migrates the
 * schema when PRAGMA user_version is behind. ":memory:" is a private
 * in-memory ledger (tests). Environment: KDC_LEDGER_BUSY_TIMEOUT (a
 * duration, default 5s) and KDC_LEDGER_FAKE_NOW (seconds since the epoch,
 * decimals allowed: a fixed clock for tests). Errors: -EROFS (read-only
 * database opened for writing), -EPROTONOSUPPORT (schema newer than this
 * kdc), -EPROTO (read-only open of a database that needs migration),
 * -ENOENT (read-only open of a missing file), -errno otherwise. */
int ledger_open(const char *path, Ledger **ret);
int ledger_open_full(const char *path, unsigned flags, Ledger **ret);
void ledger_close(Ledger *l);

/* Group commit: the writes of every call between ledger_group_begin() and
 * ledger_group_end() share one write transaction and one fsync, each call
 * in a savepoint of its own (a call that fails undoes only itself). What
 * the calls report is provisional: it holds only if ledger_group_end()
 * returns 0; on -errno nothing of the group was recorded. Reads inside a
 * group see its writes. ledger_group_begin() waits for the write lock like any write
 * (-EBUSY after the busy timeout). The resident clerk (src/run/clerk.c)
 * uses it for the requests of concurrent runs. */
int ledger_group_begin(Ledger *l);
int ledger_group_end(Ledger *l);
static inline void ledger_closep(Ledger **l)
{
	if (*l)
		ledger_close(*l);
}
#define _cleanup_ledger_close_ __attribute__((cleanup(ledger_closep)))

const char *ledger_path(const Ledger *l);
/* SQLite's message and extended result code for the last failure on this
 * handle (for logs and tests; 0 when there was none). */
const char *ledger_errmsg(const Ledger *l);
int ledger_errcode(const Ledger *l);

/* The clock (usec since the epoch) for expiry, periods, rate limits and
 * audit times. Default CLOCK_REALTIME, or KDC_LEDGER_FAKE_NOW. */
typedef uint64_t (*LedgerClock)(void *userdata);
void ledger_set_clock(Ledger *l, LedgerClock clock, void *userdata);
uint64_t ledger_now(Ledger *l);
void ledger_set_busy_timeout(Ledger *l, unsigned msec);

/* ---- Names, scopes, periods ------------------------------------------ */

bool ledger_name_valid(const char *s);
bool ledger_id_valid(const char *s);

typedef struct LedgerScope {
	unsigned depth; /* 1 tenant, 2 project, 3 user */
	char part[3][LEDGER_NAME_MAX + 1];
} LedgerScope;
/* "acme", "acme/web", "acme/web/alice"; -EINVAL otherwise. */
int ledger_scope_parse(const char *s, LedgerScope *ret);
/* The ancestor of the given depth (1..scope->depth) as "a/b". */
char *ledger_scope_path(const LedgerScope *scope, unsigned depth, char *buf, size_t len);

typedef enum LedgerPeriod {
	LEDGER_PERIOD_DAY,
	LEDGER_PERIOD_WEEK, /* ISO week, from Monday 00:00 UTC */
	LEDGER_PERIOD_MONTH,
	LEDGER_PERIOD_TOTAL,
	_LEDGER_PERIOD_MAX,
} LedgerPeriod;
const char *ledger_period_to_string(LedgerPeriod p);
int ledger_period_from_string(const char *s); /* LedgerPeriod or -EINVAL */
/* "today", "this week", "this month", "in total" */
const char *ledger_period_phrase(LedgerPeriod p);
/* The window [start, end) in days since 1970-01-01 (UTC) of the period that
 * contains now; TOTAL is every day. */
void ledger_period_window(LedgerPeriod p, uint64_t now_usec, int64_t *ret_start_day, int64_t *ret_end_day);
/* Civil calendar (proleptic Gregorian, UTC). */
int64_t ledger_days_from_civil(int64_t y, unsigned m, unsigned d);
void ledger_civil_from_days(int64_t days, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d);
/* "2026-11" -> its window in days; -EINVAL otherwise. */
int ledger_parse_month(const char *s, int64_t *ret_start_day, int64_t *ret_end_day);

/* ---- Results ------------------------------------------------------------ */

/* Stable codes: the numbers and names never change meaning. */
typedef enum LedgerCode {
	LEDGER_OK = 0,
	LEDGER_EXHAUSTED = 1,	   /* a budget would be exceeded */
	LEDGER_RATE_LIMITED = 2,   /* a rate limit refused */
	LEDGER_UNKNOWN_TENANT = 3, /* the scope's tenant is not registered */
	LEDGER_NOT_FOUND = 4,	   /* no such hold (or not this tenant's) */
	LEDGER_CONFLICT = 5,	   /* id already used with other fields */
	LEDGER_ALREADY_POSTED = 6, /* hold posted (with another amount) */
	LEDGER_ALREADY_VOIDED = 7, /* hold voided */
	LEDGER_EXPIRED = 8,	   /* hold expired after its TTL */
	LEDGER_EXCEEDS_HOLD = 9,   /* post larger than the hold */
	LEDGER_INVALID = 10,	   /* zero, negative amount; bad id, scope, unit */
	LEDGER_OVERFLOW = 11,	   /* a total would not fit in 64 bits */
	_LEDGER_CODE_MAX,
} LedgerCode;
/* "ok", "exhausted", "rate-limited", "unknown-tenant", "not-found",
 * "conflict", "already-posted", "already-voided", "expired",
 * "exceeds-hold", "invalid", "overflow". */
const char *ledger_code_to_string(LedgerCode c);
/* "deny" for policy refusals (exhausted, rate-limited, unknown-tenant),
 * "error" for misuse, "allow" for LEDGER_OK. */
const char *ledger_code_decision(LedgerCode c);

typedef struct LedgerResult {
	LedgerCode code;
	bool replayed;	  /* an identical earlier call already did it */
	int64_t amount;	  /* held, posted, charged or released */
	int64_t released; /* post: the part of the hold given back */
	char unit[UNITS_NAME_MAX];
	char reason[LEDGER_REASON_MAX]; /* one line, for humans and the audit */
} LedgerResult;

/* ---- Two-phase holds ------------------------------------------------------
 * Every call carries a caller-chosen id. Retrying a call with the same
 * fields has one effect (result: OK, replayed); the same id with other
 * fields is LEDGER_CONFLICT; a refused id stays refused with its first code.
 * Each call writes exactly one audit row, whatever its outcome. */

typedef struct LedgerHoldRequest {
	const char *id;
	const char *scope; /* "tenant[/project[/user]]" */
	const char *unit;
	int64_t amount;	     /* > 0 */
	uint64_t ttl_usec;   /* 0: LEDGER_DEFAULT_TTL_USEC */
	const char *session; /* optional */
	const char *actor;   /* for the audit row; default "ledger" */
} LedgerHoldRequest;
int ledger_hold(Ledger *l, const LedgerHoldRequest *req, LedgerResult *ret);

typedef struct LedgerPostRequest {
	const char *id;
	const char *tenant; /* optional: must own the hold */
	const char *unit;   /* optional: must match the hold */
	bool full;	    /* post the whole hold (amount ignored) */
	int64_t amount;	    /* > 0 and <= held; the rest is released */
	const char *actor;
} LedgerPostRequest;
int ledger_post(Ledger *l, const LedgerPostRequest *req, LedgerResult *ret);

typedef struct LedgerVoidRequest {
	const char *id;
	const char *tenant;
	const char *actor;
} LedgerVoidRequest;
int ledger_void(Ledger *l, const LedgerVoidRequest *req, LedgerResult *ret);

/* Hold and post at once (checked against the caps like a hold). */
int ledger_charge(Ledger *l, const LedgerHoldRequest *req, LedgerResult *ret);

/* Releases every pending hold whose TTL has passed; returns how many. */
int ledger_gc(Ledger *l);

typedef enum LedgerHoldState {
	LEDGER_HOLD_PENDING,
	LEDGER_HOLD_POSTED,
	LEDGER_HOLD_VOIDED,
	LEDGER_HOLD_EXPIRED,
	LEDGER_HOLD_FAILED,
	_LEDGER_HOLD_STATE_MAX,
} LedgerHoldState;
const char *ledger_hold_state_to_string(LedgerHoldState s);

typedef struct LedgerHoldInfo {
	char id[LEDGER_ID_MAX + 1];
	bool charge;
	char scope[LEDGER_SCOPE_MAX];
	char unit[UNITS_NAME_MAX];
	int64_t amount, posted;
	LedgerHoldState state; /* as stored; a pending hold may be due */
	uint64_t created_usec, expires_usec;
} LedgerHoldInfo;
/* -ENOENT when there is no such id. */
int ledger_hold_get(Ledger *l, const char *id, LedgerHoldInfo *ret);

/* ---- kdc-run ----------------------------------------------------------- */

/* Admission for one kdc-run session, ONE BEGIN IMMEDIATE transaction:
 * tenant known (or auto-created when req->create_tenant), session rate limit
 * of the tenant (if set), hold for req->hold_amount of req->unit in scope
 * tenant[/project[/user]] (skipped when hold_amount == 0) with TTL, audit
 * rows. On deny: returns 0 with ret->allowed = false and ret->reason a
 * one-line message like
 *   "budget 'acme' exhausted: 49.80 of 50.00 USD spent this month, 0.50 requested"
 * Errors (db locked beyond busy timeout, disk full, ro db) return -errno:
 * the caller denies. -EINVAL for a malformed request, -EEXIST for a session
 * id already admitted. */
typedef struct LedgerAdmitRequest {
	const char *tenant, *project, *user, *session_id;
	const char *unit;	/* NULL: "USD" */
	int64_t hold_amount;	/* 0: no hold */
	uint64_t hold_ttl_usec; /* 0: LEDGER_DEFAULT_TTL_USEC */
	bool create_tenant;
	const char *command;
} LedgerAdmitRequest;
typedef struct LedgerAdmitResult {
	bool allowed;
	bool tenant_created;
	char reason[512];
	char hold_id[80]; /* "" when no hold was placed */
} LedgerAdmitResult;
int ledger_admit(Ledger *l, const LedgerAdmitRequest *req, LedgerAdmitResult *ret);

/* Settlement: post actual (clamped to the hold; 0 voids it; the rest is
 * released) and write the session row + audit, in one transaction. A
 * session without a hold has its actual cost recorded as an unreserved
 * charge. -ENOENT unknown session, -EALREADY already settled (or denied at
 * admission), -EINVAL
 * negative actual; -ETIME: the session was recorded but its hold had expired
 * before settlement, so nothing was posted. */
typedef struct LedgerSettleRequest {
	const char *session_id;
	int64_t actual;
	const char *end_reason;
	int exit_status;
	uint64_t wall_usec, cpu_usec, memory_peak, pids_peak, egress_bytes;
	/* More audit rows of the session (its egress decisions, its
	 * degradations), appended in the same transaction: one fsync. */
	const AuditRecord *extra;
	size_t n_extra;
} LedgerSettleRequest;
int ledger_settle(Ledger *l, const LedgerSettleRequest *req);

/* Generic audit append for other actors (bpf egress decisions, supervisor),
 * same chain, one transaction per call (or per batch). */
int ledger_audit(Ledger *l, const AuditRecord *rec);
int ledger_audit_many(Ledger *l, const AuditRecord *recs, size_t n);

/* A named GCRA limit (e.g. "tool:acme:refund") for the supervisor, in its
 * own transaction with its audit row (rec gives the context; action,
 * decision and reason are filled in). */
int ledger_rate_check(Ledger *l, const char *key, const RateLimit *rl, const AuditRecord *rec, LedgerResult *ret);

/* ---- Administration (each change audited, actor "ledger") -------------- */

typedef struct LedgerTenant {
	const char *name;
	uint64_t created_usec;
	bool has_rate;
	RateLimit rate; /* session rate limit */
} LedgerTenant;
/* Creates, or updates the rate of an existing tenant (rate NULL: none).
 * Returns 1 when created, 0 when it existed. */
int ledger_tenant_add(Ledger *l, const char *name, const RateLimit *rate);
/* -ENOENT unknown, -EBUSY while it has pending holds. Budgets and rate
 * state go with it; its history (holds, spend, audit) stays. */
int ledger_tenant_remove(Ledger *l, const char *name);
typedef int (*LedgerTenantFunc)(const LedgerTenant *t, void *userdata);
int ledger_tenant_list(Ledger *l, LedgerTenantFunc cb, void *userdata);

/* -ENOENT when the scope's tenant is unknown, -EINVAL bad limit. */
int ledger_budget_set(Ledger *l, const char *scope, const char *unit, LedgerPeriod period, int64_t limit);
/* unit NULL / period -1: all of them. -ENOENT when nothing matched. */
int ledger_budget_remove(Ledger *l, const char *scope, const char *unit, int period);

typedef struct LedgerBudgetStatus {
	const char *scope, *unit;
	LedgerPeriod period;
	int64_t limit, spent, held; /* spent in the current period; held now */
} LedgerBudgetStatus;
/* Budgets of scope and its descendants (NULL: all), ordered by scope. */
typedef int (*LedgerBudgetFunc)(const LedgerBudgetStatus *b, void *userdata);
int ledger_budget_list(Ledger *l, const char *scope, LedgerBudgetFunc cb, void *userdata);

/* Posted amounts per scope (each scope includes its descendants) and unit
 * in the days [start_day, end_day). */
typedef struct LedgerUsage {
	const char *scope, *unit;
	int64_t spent;
} LedgerUsage;
typedef int (*LedgerUsageFunc)(const LedgerUsage *u, void *userdata);
int ledger_usage(Ledger *l, const char *scope, int64_t start_day, int64_t end_day, LedgerUsageFunc cb, void *userdata);

typedef struct LedgerSession {
	const char *id, *tenant, *project, *user, *command, *hold_id, *unit, *end_reason;
	uint64_t start_usec, end_usec; /* end 0: still running (or lost) */
	int exit_status;
	uint64_t wall_usec, cpu_usec, memory_peak, pids_peak, egress_bytes;
	int64_t cost;
	LedgerHoldState hold_state; /* of its hold (EXPIRED once past its TTL); _LEDGER_HOLD_STATE_MAX for none */
} LedgerSession;
typedef int (*LedgerSessionFunc)(const LedgerSession *s, void *userdata);
/* Newest last; tenant NULL: all; last 0: all. */
int ledger_session_list(Ledger *l, const char *tenant, uint64_t last, LedgerSessionFunc cb, void *userdata);

int ledger_audit_query(Ledger *l, const AuditFilter *f, AuditEntryFunc cb, void *userdata);
int ledger_verify(Ledger *l, AuditVerifyResult *ret);
