/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "core/ledger-lock.h"
#include "core/ledger-sql.h"
#include "core/ledger-vfs.h"
#include "core/ledger.h"
#include "shared/fileio.h"
#include "shared/macro.h"

/* ---- Schema --------------------------------------------------------------
 * Amounts are INTEGER micro-units. The aggregates (balances, spend) are kept
 * in step with the holds table inside every transaction, so a cap check
 * reads a handful of rows whatever the history length:
 *   balances(scope, unit): held = pending holds in the scope's subtree,
 *                          posted = everything ever posted there;
 *   spend(scope, unit, day): posted on that UTC day in the subtree.
 * SQLite turns an overflowing integer sum into a float, so every addition
 * is checked in C before it is written. */
static const char schema_v1[] =
    "CREATE TABLE tenants ("
    " name TEXT PRIMARY KEY,"
    " created INTEGER NOT NULL,"
    " rate_interval INTEGER,"
    " rate_burst INTEGER) WITHOUT ROWID;\n"
    "CREATE TABLE budgets ("
    " scope TEXT NOT NULL, unit TEXT NOT NULL,"
    " period TEXT NOT NULL CHECK (period IN ('day', 'week', 'month', 'total')),"
    " amount INTEGER NOT NULL CHECK (amount >= 0),"
    " updated INTEGER NOT NULL,"
    " PRIMARY KEY (scope, unit, period)) WITHOUT ROWID;\n"
    "CREATE TABLE holds ("
    " id TEXT PRIMARY KEY,"
    " kind TEXT NOT NULL CHECK (kind IN ('hold', 'charge')),"
    " scope TEXT NOT NULL, unit TEXT NOT NULL,"
    " amount INTEGER NOT NULL, ttl INTEGER NOT NULL, session TEXT,"
    " state TEXT NOT NULL CHECK (state IN ('pending', 'posted', 'voided', 'expired', 'failed')),"
    " posted INTEGER NOT NULL DEFAULT 0,"
    " code TEXT, reason TEXT,"
    " created INTEGER NOT NULL, expires INTEGER NOT NULL, settled INTEGER) WITHOUT ROWID;\n"
    "CREATE INDEX holds_pending ON holds (expires) WHERE state = 'pending';\n"
    "CREATE TABLE balances ("
    " scope TEXT NOT NULL, unit TEXT NOT NULL,"
    " held INTEGER NOT NULL CHECK (held >= 0),"
    " posted INTEGER NOT NULL CHECK (posted >= 0),"
    " PRIMARY KEY (scope, unit)) WITHOUT ROWID;\n"
    "CREATE TABLE spend ("
    " scope TEXT NOT NULL, unit TEXT NOT NULL, day INTEGER NOT NULL,"
    " amount INTEGER NOT NULL CHECK (amount >= 0),"
    " PRIMARY KEY (scope, unit, day)) WITHOUT ROWID;\n"
    "CREATE TABLE sessions ("
    " id TEXT PRIMARY KEY,"
    " tenant TEXT NOT NULL, project TEXT, user TEXT, command TEXT,"
    " hold_id TEXT, unit TEXT,"
    " start_time INTEGER NOT NULL, end_time INTEGER, end_reason TEXT, exit_status INTEGER,"
    " wall_usec INTEGER, cpu_usec INTEGER, memory_peak INTEGER, pids_peak INTEGER,"
    " egress_bytes INTEGER, cost INTEGER);\n"
    "CREATE INDEX sessions_start ON sessions (start_time);\n";

/* ---- Cached statements ----------------------------------------------------
 * Prepared on first use only: kdc-run opens the ledger on every start and
 * needs a few of them. */
typedef enum Stmt {
	STMT_BEGIN,
	STMT_BEGIN_READ,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_SAVEPOINT,
	STMT_ROLLBACK_TO,
	STMT_RELEASE,
	STMT_TENANT_GET,
	STMT_TENANT_INSERT,
	STMT_HOLD_GET,
	STMT_HOLD_INSERT,
	STMT_HOLD_SETTLE,
	STMT_HOLD_DUE,
	STMT_BALANCE_GET,
	STMT_BALANCE_PUT,
	STMT_SPEND_ADD,
	STMT_SPEND_SUM,
	STMT_BUDGETS_FOR,
	STMT_SESSION_GET,
	STMT_SESSION_INSERT,
	STMT_SESSION_END,
	_STMT_MAX,
} Stmt;

static const char *const stmt_sql[_STMT_MAX] = {
    [STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STMT_BEGIN_READ] = "BEGIN",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    [STMT_SAVEPOINT] = "SAVEPOINT call",
    [STMT_ROLLBACK_TO] = "ROLLBACK TO call",
    [STMT_RELEASE] = "RELEASE call",
    [STMT_TENANT_GET] = "SELECT rate_interval, rate_burst FROM tenants WHERE name = ?1",
    [STMT_TENANT_INSERT] = "INSERT INTO tenants (name, created, rate_interval, rate_burst) VALUES (?1, ?2, ?3, ?4)"
			   " ON CONFLICT (name) DO UPDATE SET rate_interval = excluded.rate_interval,"
			   " rate_burst = excluded.rate_burst",
    [STMT_HOLD_GET] = "SELECT kind, scope, unit, amount, ttl, session, state, posted, code, reason, created, expires"
		      " FROM holds WHERE id = ?1",
    [STMT_HOLD_INSERT] = "INSERT INTO holds (id, kind, scope, unit, amount, ttl, session, state, posted, code,"
			 " reason, created, expires, settled)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    [STMT_HOLD_SETTLE] = "UPDATE holds SET state = ?2, posted = ?3, settled = ?4 WHERE id = ?1",
    [STMT_HOLD_DUE] = "SELECT id, scope, unit, amount, session FROM holds"
		      " WHERE state = 'pending' AND expires <= ?1 ORDER BY expires LIMIT 32",
    [STMT_BALANCE_GET] = "SELECT held, posted FROM balances WHERE scope = ?1 AND unit = ?2",
    [STMT_BALANCE_PUT] = "INSERT INTO balances (scope, unit, held, posted) VALUES (?1, ?2, ?3, ?4)"
			 " ON CONFLICT (scope, unit) DO UPDATE SET held = excluded.held, posted = excluded.posted",
    [STMT_SPEND_ADD] = "INSERT INTO spend (scope, unit, day, amount) VALUES (?1, ?2, ?3, ?4)"
		       " ON CONFLICT (scope, unit, day) DO UPDATE SET amount = amount + excluded.amount",
    [STMT_SPEND_SUM] = "SELECT COALESCE(SUM(amount), 0) FROM spend"
		       " WHERE scope = ?1 AND unit = ?2 AND day >= ?3 AND day < ?4",
    [STMT_BUDGETS_FOR] = "SELECT period, amount FROM budgets WHERE scope = ?1 AND unit = ?2",
    [STMT_SESSION_GET] = "SELECT hold_id, unit, end_time, tenant, project, user FROM sessions WHERE id = ?1",
    [STMT_SESSION_INSERT] = "INSERT INTO sessions (id, tenant, project, user, command, hold_id, unit, start_time,"
			    " end_time, end_reason, exit_status)"
			    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [STMT_SESSION_END] = "UPDATE sessions SET end_time = ?2, end_reason = ?3, exit_status = ?4, wall_usec = ?5,"
			 " cpu_usec = ?6, memory_peak = ?7, pids_peak = ?8, egress_bytes = ?9, cost = ?10"
			 " WHERE id = ?1",
};

/* The WAL is checkpointed when it reaches LEDGER_WAL_CHECKPOINT frames
 * (SQLite's own default), and tidied when a connection closes with more
 * than LEDGER_WAL_TIDY frames in it: a first open rebuilds the WAL index
 * by reading every frame since the log last restarted (~10 us a frame
 * here), so a closing writer leaves a short log behind. */
#define LEDGER_WAL_CHECKPOINT 1000
#define LEDGER_WAL_TIDY 64
#define LEDGER_TIDY_TIMEOUT_MSEC 10u

struct Ledger {
	sqlite3 *db;
	char *path;
	bool readonly;
	sqlite3_stmt *stmt[_STMT_MAX];
	AuditLog audit;
	LedgerClock clock;
	void *clock_userdata;
	uint64_t fake_now;
	unsigned busy_timeout_msec;
	uint64_t busy_start;
	uint64_t busy_deadline; /* inside tx_begin(): one deadline for queue and SQLite */
	uint32_t busy_rand;
	LedgerLock lock;
	bool locked;
	bool group, group_failed; /* ledger_group_begin() */
	int wal_frames;		  /* frames in the WAL after our last commit */
	int errcode;
	char errmsg[256];
};

/* Records SQLite's message and returns the -errno for rc. */
static int sql_fail(Ledger *l, int rc)
{
	l->errcode = rc;
	snprintf(l->errmsg, sizeof(l->errmsg), "%s", sqlite3_errmsg(l->db));
	return ledger_sql_errno(l->db, rc);
}

static int stmt_get(Ledger *l, Stmt id, sqlite3_stmt **ret)
{
	if (!l->stmt[id]) {
		int rc = sqlite3_prepare_v3(l->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &l->stmt[id], NULL);
		if (rc != SQLITE_OK)
			return sql_fail(l, rc);
	}
	*ret = l->stmt[id];
	return 0;
}

/* Steps a statement that returns no row. */
static int stmt_done(Ledger *l, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	return rc == SQLITE_DONE ? 0 : sql_fail(l, rc);
}

static int stmt_run(Ledger *l, Stmt id)
{
	_cleanup_sql_reset_ sqlite3_stmt *s = NULL;
	int r = stmt_get(l, id, &s);
	return r < 0 ? r : stmt_done(l, s);
}

static void bind_u64(sqlite3_stmt *s, int idx, uint64_t v)
{
	sqlite3_bind_int64(s, idx, v > INT64_MAX ? INT64_MAX : (int64_t) v);
}

/* ---- Transactions ----------------------------------------------------------
 * Every write is BEGIN IMMEDIATE: the write lock is taken before the first
 * read, so a check-then-write never fails half-way with SQLITE_BUSY (nor
 * SQLITE_BUSY_SNAPSHOT) and the caps it checked still hold at COMMIT. */
static uint64_t monotonic_usec(void);

/* Inside a group (ledger_group_begin()), each call's transaction is a
 * savepoint of the group's one write transaction: a call that fails undoes
 * its own work only. A failure that ends the whole transaction (SQLite
 * rolls back by itself on I/O errors and a full disk) fails the group:
 * every later call and the group's end report it. */
static void tx_end(Ledger *l)
{
	if (l->group) {
		if (sqlite3_get_autocommit(l->db) || stmt_run(l, STMT_ROLLBACK_TO) < 0 || stmt_run(l, STMT_RELEASE) < 0)
			l->group_failed = true;
		return;
	}
	if (!sqlite3_get_autocommit(l->db))
		(void) stmt_run(l, STMT_ROLLBACK);
	if (l->locked)
		ledger_lock_release(&l->lock);
	l->locked = false;
	l->busy_deadline = 0;
}

static void tx_abortp(Ledger **p)
{
	if (*p)
		tx_end(*p);
}
#define _cleanup_tx_ _cleanup_(tx_abortp)

static int group_broken(Ledger *l)
{
	l->group_failed = true;
	l->errcode = SQLITE_ABORT;
	snprintf(l->errmsg, sizeof(l->errmsg), "an earlier call of the same group commit failed");
	return -EIO;
}

/* Queue (ledger-lock.h), then SQLite's write lock, both within one busy
 * timeout: a writer that cannot get in by then gets -EBUSY and denies. */
static int begin_immediate(Ledger *l)
{
	int r;

	if (l->readonly)
		return -EROFS;
	l->busy_deadline = monotonic_usec() + (uint64_t) l->busy_timeout_msec * USEC_PER_MSEC;
	r = ledger_lock_acquire(&l->lock, l->busy_deadline);
	if (r < 0) {
		l->busy_deadline = 0;
		l->errcode = SQLITE_BUSY;
		snprintf(l->errmsg, sizeof(l->errmsg), "timed out waiting for other writers");
		return r == -ETIMEDOUT ? -EBUSY : r;
	}
	l->locked = true;
	r = stmt_run(l, STMT_BEGIN);
	if (r < 0)
		tx_end(l);
	return r;
}

static int tx_begin(Ledger *l)
{
	if (!l->group)
		return begin_immediate(l);
	if (l->group_failed || sqlite3_get_autocommit(l->db))
		return group_broken(l);
	return stmt_run(l, STMT_SAVEPOINT);
}

static int tx_commit(Ledger *l)
{
	int r;

	if (l->group) {
		r = stmt_run(l, STMT_RELEASE);
		if (r < 0)
			tx_end(l);
		return r;
	}
	r = stmt_run(l, STMT_COMMIT);
	tx_end(l);
	return r;
}

int ledger_group_begin(Ledger *l)
{
	int r;

	if (l->group)
		return -EBUSY;
	r = begin_immediate(l);
	if (r < 0)
		return r;
	l->group = true;
	l->group_failed = false;
	return 0;
}

int ledger_group_end(Ledger *l)
{
	if (!l->group)
		return -EINVAL;
	l->group = false;
	if (l->group_failed || sqlite3_get_autocommit(l->db)) {
		tx_end(l);
		return group_broken(l);
	}
	return tx_commit(l); /* out of the group now: COMMIT, then the lock goes */
}

/* ---- Opening -------------------------------------------------------------- */

static uint64_t monotonic_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static uint64_t realtime_clock(void *userdata)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static uint64_t fake_clock(void *userdata)
{
	return ((Ledger *) userdata)->fake_now;
}

/* SQLite's own busy_timeout sleeps in steps of up to 100 ms, which leaves
 * the lock idle under contention. Short, jittered, growing sleeps keep it
 * busy; the deadline is on CLOCK_MONOTONIC. */
static int busy_handler(void *userdata, int count)
{
	Ledger *l = userdata;
	uint64_t now = monotonic_usec(), delay;
	struct timespec ts;

	if (l->busy_deadline > 0) {
		if (now >= l->busy_deadline)
			return 0;
	} else {
		if (count == 0)
			l->busy_start = now;
		if (now - l->busy_start >= (uint64_t) l->busy_timeout_msec * USEC_PER_MSEC)
			return 0;
	}
	delay = MIN(UINT64_C(25) << MIN(count, 7), UINT64_C(2000));
	l->busy_rand = l->busy_rand * 1103515245u + 12345u;
	delay += (l->busy_rand >> 8) % (delay + 1);
	ts = (struct timespec){.tv_nsec = (long) (delay * 1000)};
	(void) nanosleep(&ts, NULL);
	return 1;
}

static int read_env(Ledger *l)
{
	const char *e;
	int r;

	{
		uint64_t usec;
		r = ledger_busy_timeout_usec(&usec);
		if (r < 0)
			return r;
		l->busy_timeout_msec = (unsigned) MIN(usec / USEC_PER_MSEC, (uint64_t) UINT32_MAX);
	}
	e = getenv("KDC_LEDGER_FAKE_NOW");
	if (!isempty(e)) {
		int64_t v;
		r = units_parse_micro(e, false, &v);
		if (r < 0)
			return r;
		if (v <= 0)
			return -EINVAL;
		l->fake_now = (uint64_t) v;
		l->clock = fake_clock;
		l->clock_userdata = l;
	}
	return 0;
}

/* The file is created 0600 before SQLite sees it: SQLite gives its -wal and
 * -shm files the database's mode, so they are private too. */
static int prepare_file(const char *path)
{
	_cleanup_close_ int fd = -EBADF;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0 && errno == ENOENT) {
		_cleanup_free_ char *dir = strdup(path);
		char *slash;
		int r;

		if (!dir)
			return -ENOMEM;
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return -ENOENT;
		*slash = 0;
		r = mkdir_p(dir, 0700);
		if (r < 0)
			return r;
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	}
	if (fd < 0)
		return negative_errno();
	return 0;
}

static int read_user_version(Ledger *l, int *ret)
{
	_cleanup_sql_finalize_ sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(l->db, "PRAGMA user_version", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return sql_fail(l, rc);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return sql_fail(l, rc);
	*ret = sqlite3_column_int(s, 0);
	return 0;
}

static int exec_sql(Ledger *l, const char *sql)
{
	int rc = sqlite3_exec(l->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : sql_fail(l, rc);
}

static int migrate(Ledger *l)
{
	_cleanup_tx_ Ledger *tx = NULL;
	int version, r;

	/* WAL is a property of the file; it is set once, outside a
	 * transaction, and in the writers' queue: before it, the file is in
	 * rollback mode, where two first openers that both hold a shared lock
	 * and both want it exclusive make SQLite answer SQLITE_BUSY at once,
	 * without the busy handler (its deadlock rule). Seen once in the TCG
	 * guest, three first runs at the same moment; a BUSY here is retried
	 * until the deadline. */
	l->busy_deadline = monotonic_usec() + (uint64_t) l->busy_timeout_msec * USEC_PER_MSEC;
	r = ledger_lock_acquire(&l->lock, l->busy_deadline);
	if (r < 0) {
		l->busy_deadline = 0;
		return r == -ETIMEDOUT ? -EBUSY : r;
	}
	/* A new ledger gets small pages: a transaction writes four or five
	 * of them (hold, balances, spend, audit, index), each a few rows, and
	 * the commit's fsync costs more the more bytes it carries (measured
	 * with bench/ledger: 4096-byte pages 0.39 of the disk's raw
	 * transaction rate, 1024-byte pages 0.41-0.43). A no-op on a ledger
	 * that exists: a WAL database keeps its page size. */
	r = exec_sql(l, "PRAGMA page_size = 1024");
	if (r < 0) {
		ledger_lock_release(&l->lock);
		l->busy_deadline = 0;
		return r;
	}
	for (unsigned attempt = 0;; attempt++) {
		r = exec_sql(l, "PRAGMA journal_mode = WAL");
		if (r != -EBUSY || monotonic_usec() >= l->busy_deadline)
			break;
		(void) busy_handler(l, (int) attempt); /* sleeps a little */
	}
	ledger_lock_release(&l->lock);
	l->busy_deadline = 0;
	if (r < 0)
		return r;
	r = tx_begin(l);
	if (r < 0)
		return r;
	tx = l;
	/* Another process may have migrated while we waited for the lock. */
	r = read_user_version(l, &version);
	if (r < 0)
		return r;
	if (version == 0) {
		r = exec_sql(l, schema_v1);
		if (r < 0)
			return r;
		r = exec_sql(l, audit_schema_v1);
		if (r < 0)
			return r;
		r = exec_sql(l, ratelimit_schema_v1);
		if (r < 0)
			return r;
		r = exec_sql(l, "PRAGMA user_version = " LEDGER_SCHEMA_VERSION_STR);
		if (r < 0)
			return r;
	}
	/* Later versions: if (version < 2) { ALTER ...; user_version = 2 } */
	r = tx_commit(l);
	tx = NULL;
	return r;
}

/* Replaces SQLite's autocheckpoint hook (same threshold) and remembers
 * how long the log is. */
static int wal_hook(void *userdata, sqlite3 *db, const char *name, int frames)
{
	Ledger *l = userdata;

	l->wal_frames = frames;
	if (frames >= LEDGER_WAL_CHECKPOINT)
		(void) sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

/* At close: when the log is long, checkpoint it and, if that caught up
 * with every frame, make one empty write (user_version to itself) so that
 * SQLite restarts the log from its start. The next first open then reads
 * one frame instead of hundreds. Best effort, bounded wait, no error. */
static void tidy_wal(Ledger *l)
{
	int log = -1, ckpt = -1;

	if (l->readonly || l->wal_frames <= LEDGER_WAL_TIDY)
		return;
	l->busy_timeout_msec = MIN(l->busy_timeout_msec, LEDGER_TIDY_TIMEOUT_MSEC);
	/* Another closer may have tidied already (the log is short again), or
	 * a reader still needs old frames (not all could be copied). */
	if (sqlite3_wal_checkpoint_v2(l->db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &ckpt) != SQLITE_OK ||
	    log <= LEDGER_WAL_TIDY || ckpt != log)
		return;
	if (tx_begin(l) < 0)
		return;
	(void) exec_sql(l, "PRAGMA user_version = " LEDGER_SCHEMA_VERSION_STR);
	(void) tx_commit(l);
}

int ledger_open_full(const char *path, unsigned flags, Ledger **ret)
{
	_cleanup_ledger_close_ Ledger *l = NULL;
	bool memory, ro = flags & LEDGER_OPEN_READONLY;
	int version, rc, r;

	if (isempty(path))
		return -EINVAL;
	memory = streq(path, ":memory:");

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->path = strdup(path);
	if (!l->path)
		return -ENOMEM;
	l->readonly = ro;
	l->clock = realtime_clock;
	l->busy_timeout_msec = LEDGER_DEFAULT_BUSY_TIMEOUT_MSEC;
	l->busy_rand = (uint32_t) getpid();
	l->lock = LEDGER_LOCK_NULL;
	r = read_env(l);
	if (r < 0)
		return r;

	if (!memory) {
		if (ro) {
			if (access(path, F_OK) < 0)
				return negative_errno();
		} else {
			r = prepare_file(path);
			if (r < 0)
				return r;
		}
	}

	/* Our VFS only batches a commit's writes (ledger-vfs.h); without it
	 * the ledger is the same, one write per frame half slower. */
	rc = sqlite3_open_v2(path, &l->db,
			     (ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
				 SQLITE_OPEN_NOMUTEX,
			     ledger_vfs_register() >= 0 ? LEDGER_VFS_NAME : NULL);
	if (rc != SQLITE_OK)
		return l->db ? sql_fail(l, rc) : -ENOMEM;
	(void) sqlite3_extended_result_codes(l->db, 1);
	/* Without the writers' queue the ledger still works, only slower
	 * under contention: its failure is not an error. */
	if (!memory && !ro)
		(void) ledger_lock_open(path, &l->lock);
	/* A writable ledger that SQLite could only open read-only (read-only
	 * file system, no write permission) must refuse, never half-work. */
	if (!ro && sqlite3_db_readonly(l->db, "main") == 1)
		return -EROFS;
	(void) sqlite3_busy_handler(l->db, busy_handler, l);
	/* Keep the WAL when the last connection closes: no checkpoint, fsync
	 * and unlink at every close, no file growth (a metadata fsync per
	 * commit) after every open; kdc-run opens and closes the ledger on
	 * every run. The first opener rebuilds the WAL index from the frames
	 * written since the last checkpoint, so checkpoints come early
	 * (LEDGER_WAL_AUTOCHECKPOINT pages) to keep that cheap. */
	(void) sqlite3_db_config(l->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	{
		int persist = 1;
		(void) sqlite3_file_control(l->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	}
	/* No schema tricks through SQL (writable_schema and friends). */
	(void) sqlite3_db_config(l->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	(void) sqlite3_db_config(l->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	audit_log_init(&l->audit, l->db);
	if (!ro)
		(void) sqlite3_wal_hook(l->db, wal_hook, l);

	if (!ro) {
		/* Per connection: every COMMIT is on disk before it returns. */
		r = exec_sql(l, "PRAGMA synchronous = FULL");
		if (r < 0)
			return r;
	}
	r = read_user_version(l, &version);
	if (r < 0)
		return r;
	if (version > LEDGER_SCHEMA_VERSION)
		return -EPROTONOSUPPORT;
	if (version < LEDGER_SCHEMA_VERSION) {
		if (ro)
			return -EPROTO;
		r = migrate(l);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

int ledger_open(const char *path, Ledger **ret)
{
	return ledger_open_full(path, 0, ret);
}

void ledger_close(Ledger *l)
{
	if (!l)
		return;
	if (l->group) {
		/* a group never ended: nothing of it is recorded */
		l->group = false;
		tx_end(l);
	}
	if (l->db)
		tidy_wal(l);
	for (size_t i = 0; i < _STMT_MAX; i++)
		sqlite3_finalize(l->stmt[i]);
	audit_log_done(&l->audit);
	(void) sqlite3_close(l->db);
	ledger_lock_close(&l->lock);
	free(l->path);
	free(l);
}

const char *ledger_path(const Ledger *l)
{
	return l->path;
}

const char *ledger_errmsg(const Ledger *l)
{
	return l->errmsg[0] ? l->errmsg : "no error";
}

int ledger_errcode(const Ledger *l)
{
	return l->errcode;
}

void ledger_set_clock(Ledger *l, LedgerClock clock, void *userdata)
{
	l->clock = clock ? clock : realtime_clock;
	l->clock_userdata = userdata;
}

uint64_t ledger_now(Ledger *l)
{
	return l->clock(l->clock_userdata);
}

void ledger_set_busy_timeout(Ledger *l, unsigned msec)
{
	l->busy_timeout_msec = msec;
}

/* ---- Names, scopes, periods, codes ------------------------------------- */

static bool valid_token(const char *s, size_t max, const char *extra)
{
	size_t n;

	if (!s || !isalnum((unsigned char) s[0]))
		return false;
	for (n = 0; s[n]; n++)
		if (!isalnum((unsigned char) s[n]) && !strchr(extra, s[n]))
			return false;
	return n <= max;
}

bool ledger_name_valid(const char *s)
{
	return valid_token(s, LEDGER_NAME_MAX, "._-");
}

bool ledger_id_valid(const char *s)
{
	return valid_token(s, LEDGER_ID_MAX, "._:@-");
}

int ledger_scope_parse(const char *s, LedgerScope *ret)
{
	LedgerScope sc = {0};
	const char *p = s;

	if (!s)
		return -EINVAL;
	for (;;) {
		size_t n = strcspn(p, "/");
		if (sc.depth == 3 || n == 0 || n > LEDGER_NAME_MAX)
			return -EINVAL;
		memcpy(sc.part[sc.depth], p, n);
		sc.part[sc.depth][n] = 0;
		if (!ledger_name_valid(sc.part[sc.depth]))
			return -EINVAL;
		sc.depth++;
		if (!p[n])
			break;
		p += n + 1;
	}
	*ret = sc;
	return 0;
}

char *ledger_scope_path(const LedgerScope *scope, unsigned depth, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < depth && i < scope->depth; i++)
		n += (size_t) snprintf(buf + n, n < len ? len - n : 0, "%s%s", i ? "/" : "", scope->part[i]);
	return buf;
}

static const char *const period_names[_LEDGER_PERIOD_MAX] = {
    [LEDGER_PERIOD_DAY] = "day",
    [LEDGER_PERIOD_WEEK] = "week",
    [LEDGER_PERIOD_MONTH] = "month",
    [LEDGER_PERIOD_TOTAL] = "total",
};

const char *ledger_period_to_string(LedgerPeriod p)
{
	return p >= 0 && p < _LEDGER_PERIOD_MAX ? period_names[p] : NULL;
}

int ledger_period_from_string(const char *s)
{
	for (int i = 0; s && i < _LEDGER_PERIOD_MAX; i++)
		if (streq(s, period_names[i]))
			return i;
	return -EINVAL;
}

const char *ledger_period_phrase(LedgerPeriod p)
{
	static const char *const phrase[_LEDGER_PERIOD_MAX] = {
	    [LEDGER_PERIOD_DAY] = "today",
	    [LEDGER_PERIOD_WEEK] = "this week",
	    [LEDGER_PERIOD_MONTH] = "this month",
	    [LEDGER_PERIOD_TOTAL] = "in total",
	};
	return p >= 0 && p < _LEDGER_PERIOD_MAX ? phrase[p] : "";
}

/* Howard Hinnant's days_from_civil / civil_from_days: exact for every date
 * an int64 day count can hold, no libc time zone involved. */
int64_t ledger_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned) (y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t) doe - 719468;
}

void ledger_civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d)
{
	int64_t era, y;
	unsigned doe, yoe, doy, mp, d, m;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned) (z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = (int64_t) yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	*ret_y = y + (m <= 2);
	*ret_m = m;
	*ret_d = d;
}

#define USEC_PER_DAY (86400 * USEC_PER_SEC)

static int64_t day_of(uint64_t usec)
{
	return (int64_t) (usec / USEC_PER_DAY);
}

void ledger_period_window(LedgerPeriod p, uint64_t now_usec, int64_t *ret_start_day, int64_t *ret_end_day)
{
	int64_t day = day_of(now_usec), y, start, end;
	unsigned m, d;

	switch (p) {
	case LEDGER_PERIOD_DAY:
		start = day;
		end = day + 1;
		break;
	case LEDGER_PERIOD_WEEK:
		/* 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays. */
		start = day - ((day + 3) % 7 + 7) % 7;
		end = start + 7;
		break;
	case LEDGER_PERIOD_MONTH:
		ledger_civil_from_days(day, &y, &m, &d);
		start = ledger_days_from_civil(y, m, 1);
		end = m == 12 ? ledger_days_from_civil(y + 1, 1, 1) : ledger_days_from_civil(y, m + 1, 1);
		break;
	default:
		start = INT64_MIN;
		end = INT64_MAX;
		break;
	}
	*ret_start_day = start;
	*ret_end_day = end;
}

int ledger_parse_month(const char *s, int64_t *ret_start_day, int64_t *ret_end_day)
{
	unsigned y, m;
	int n = 0;

	if (!s || strlen(s) != 7 || sscanf(s, "%4u-%2u%n", &y, &m, &n) != 2 || n != 7 || s[4] != '-' ||
	    !isdigit((unsigned char) s[0]) || !isdigit((unsigned char) s[5]) || m < 1 || m > 12 || y < 1970)
		return -EINVAL;
	*ret_start_day = ledger_days_from_civil(y, m, 1);
	*ret_end_day = m == 12 ? ledger_days_from_civil(y + 1, 1, 1) : ledger_days_from_civil(y, m + 1, 1);
	return 0;
}

static const char *const code_names[_LEDGER_CODE_MAX] = {
    [LEDGER_OK] = "ok",
    [LEDGER_EXHAUSTED] = "exhausted",
    [LEDGER_RATE_LIMITED] = "rate-limited",
    [LEDGER_UNKNOWN_TENANT] = "unknown-tenant",
    [LEDGER_NOT_FOUND] = "not-found",
    [LEDGER_CONFLICT] = "conflict",
    [LEDGER_ALREADY_POSTED] = "already-posted",
    [LEDGER_ALREADY_VOIDED] = "already-voided",
    [LEDGER_EXPIRED] = "expired",
    [LEDGER_EXCEEDS_HOLD] = "exceeds-hold",
    [LEDGER_INVALID] = "invalid",
    [LEDGER_OVERFLOW] = "overflow",
};

const char *ledger_code_to_string(LedgerCode c)
{
	return c >= 0 && c < _LEDGER_CODE_MAX ? code_names[c] : "unknown";
}

static LedgerCode code_from_string(const char *s)
{
	for (int i = 0; s && i < _LEDGER_CODE_MAX; i++)
		if (streq(s, code_names[i]))
			return i;
	return LEDGER_INVALID;
}

const char *ledger_code_decision(LedgerCode c)
{
	switch (c) {
	case LEDGER_OK:
		return "allow";
	case LEDGER_EXHAUSTED:
	case LEDGER_RATE_LIMITED:
	case LEDGER_UNKNOWN_TENANT:
		return "deny";
	default:
		return "error";
	}
}

static const char *const hold_state_names[_LEDGER_HOLD_STATE_MAX] = {
    [LEDGER_HOLD_PENDING] = "pending", [LEDGER_HOLD_POSTED] = "posted", [LEDGER_HOLD_VOIDED] = "voided",
    [LEDGER_HOLD_EXPIRED] = "expired", [LEDGER_HOLD_FAILED] = "failed",
};

const char *ledger_hold_state_to_string(LedgerHoldState s)
{
	return s >= 0 && s < _LEDGER_HOLD_STATE_MAX ? hold_state_names[s] : "none";
}

static LedgerHoldState hold_state_from_string(const char *s)
{
	for (int i = 0; s && i < _LEDGER_HOLD_STATE_MAX; i++)
		if (streq(s, hold_state_names[i]))
			return i;
	return _LEDGER_HOLD_STATE_MAX;
}

/* ---- Helpers inside a write transaction --------------------------------- */

_printf_(3, 4) static void set_result(LedgerResult *res, LedgerCode code, const char *fmt, ...)
{
	va_list ap;

	res->code = code;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

static char *fmt_micro(char buf[static 40], int64_t v)
{
	return units_format_micro(buf, 40, v);
}

/* Compact JSON for the audit row's detail (owned by the caller). */
static char *detail_json(const char *fmt, ...)
{
	json_t *j;
	char *s;
	va_list ap;

	va_start(ap, fmt);
	j = json_vpack_ex(NULL, 0, fmt, ap);
	va_end(ap);
	if (!j)
		return NULL;
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return s;
}

/* One audit row whose tenant/project/user come from a scope path. */
static int audit_scoped(Ledger *l, uint64_t now, const char *scope, const char *session, const char *actor,
			const char *action, const char *object, const char *decision, const char *rule,
			const char *reason, const char *detail)
{
	LedgerScope sc = {0};
	bool ok = scope && ledger_scope_parse(scope, &sc) >= 0;
	AuditRecord rec = {
	    .tenant = ok ? sc.part[0] : NULL,
	    .project = ok && sc.depth > 1 ? sc.part[1] : NULL,
	    .user = ok && sc.depth > 2 ? sc.part[2] : NULL,
	    .session = session,
	    .actor = actor ? actor : "ledger",
	    .action = action,
	    .object = object,
	    .decision = decision,
	    .rule = rule,
	    .reason = reason,
	    .detail = detail,
	};
	int r = audit_append(&l->audit, now, &rec, NULL);
	if (r < 0 && r != -EINVAL)
		snprintf(l->errmsg, sizeof(l->errmsg), "%s", sqlite3_errmsg(l->db));
	return r;
}

typedef struct Balance {
	int64_t held, posted;
} Balance;

static int balance_get(Ledger *l, const char *scope, const char *unit, Balance *ret)
{
	_cleanup_sql_reset_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = stmt_get(l, STMT_BALANCE_GET, &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, unit, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*ret = (Balance){sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1)};
		if (ret->held < 0 || ret->posted < 0)
			return -EBADMSG;
		return 0;
	}
	if (rc != SQLITE_DONE)
		return sql_fail(l, rc);
	*ret = (Balance){0, 0};
	return 0;
}

static int balance_put(Ledger *l, const char *scope, const char *unit, const Balance *b)
{
	_cleanup_sql_reset_ sqlite3_stmt *s = NULL;
	int r;

	if (b->held < 0 || b->posted < 0)
		return -EPROTO; /* the aggregates no longer match the holds */
	r = stmt_get(l, STMT_BALANCE_PUT, &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, unit, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, b->held);
	sqlite3_bind_int64(s, 4, b->posted);
	return stmt_done(l, s);
}

/* Adds to held and posted of the scope and every ancestor. Overflow was
 * checked by the caller; a failure here is an error, never a result. */
static int balance_adjust(Ledger *l, const LedgerScope *sc, const char *unit, int64_t d_held, int64_t d_posted,
			  uint64_t now)
{
	char path[LEDGER_SCOPE_MAX];
	int r;

	for (unsigned depth = 1; depth <= sc->depth; depth++) {
		Balance b;

		ledger_scope_path(sc, depth, path, sizeof(path));
		r = balance_get(l, path, unit, &b);
		if (r < 0)
			return r;
		if (__builtin_add_overflow(b.held, d_held, &b.held) ||
		    __builtin_add_overflow(b.posted, d_posted, &b.posted))
			return -EOVERFLOW;
		r = balance_put(l, path, unit, &b);
		if (r < 0)
			return r;
		if (d_posted > 0) {
			_cleanup_sql_reset_ sqlite3_stmt *s = NULL;

			r = stmt_get(l, STMT_SPEND_ADD, &s);
			if (r < 0)
				return r;
			sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
			sqlite3_bind_text(s, 2, unit, -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 3, day_of(now));
			sqlite3_bind_int64(s, 4, d_posted);
			r = stmt_done(l, s);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int spend_sum(Ledger *l, const char *scope, const char *unit, int64_t start, int64_t end, int64_t *ret)
{
	_cleanup_sql_reset_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = stmt_get(l, STMT_SPEND_SUM, &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, unit, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, start);
	sqlite3_bind_int64(s, 4, end);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return sql_fail(l, rc);
	*ret = sqlite3_column_int64(s, 0);
	return 0;
}

/* Spent in the budget's current period. */
static int budget_spent(Ledger *l, const char *scope, const char *unit, LedgerPeriod p, const Balance *b, uint64_t now,
			int64_t *ret)
{
	int64_t start, end;

	if (p == LEDGER_PERIOD_TOTAL) {
		*ret = b->posted;
		return 0;
	}
	ledger_period_window(p, now, &start, &end);
	return spend_sum(l, scope, unit, start, end, ret);
}

/* The cap check: for every ancestor (tenant first) and every budget it has
 * for this unit, spent in the period + held + amount <= limit. Sets
 * res->code to OK, EXHAUSTED or OVERFLOW. */
static int check_caps(Ledger *l, const LedgerScope *sc, const char *unit, int64_t amount, uint64_t now,
		      LedgerResult *res)
{
	char path[LEDGER_SCOPE_MAX];
	int r, rc;

	for (unsigned depth = 1; depth <= sc->depth; depth++) {
		_cleanup_sql_reset_ sqlite3_stmt *s = NULL;
		Balance b;
		int64_t sum;

		ledger_scope_path(sc, depth, path, sizeof(path));
		r = balance_get(l, path, unit, &b);
		if (r < 0)
			return r;
		/* posted + held + amount bounds every sum below. */
		if (__builtin_add_overflow(b.posted, b.held, &sum) || __builtin_add_overflow(sum, amount, &sum)) {
			set_result(res, LEDGER_OVERFLOW, "totals of scope '%s' in %s would overflow", path, unit);
			return 0;
		}

		r = stmt_get(l, STMT_BUDGETS_FOR, &s);
		if (r < 0)
			return r;
		sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, unit, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			int p = ledger_period_from_string(ledger_sql_text(s, 0));
			int64_t limit = sqlite3_column_int64(s, 1), spent, used;
			char a[40], b2[40], c[40], d[40];

			if (p < 0)
				return -EBADMSG;
			r = budget_spent(l, path, unit, p, &b, now, &spent);
			if (r < 0)
				return r;
			used = spent + b.held; /* <= posted + held: checked above */
			if (used + amount <= limit)
				continue;
			if (b.held > 0)
				set_result(res, LEDGER_EXHAUSTED,
					   "budget '%s' exhausted: %s of %s %s spent %s, %s held, %s requested", path,
					   fmt_micro(a, spent), fmt_micro(b2, limit), unit, ledger_period_phrase(p),
					   fmt_micro(c, b.held), fmt_micro(d, amount));
			else
				set_result(res, LEDGER_EXHAUSTED,
					   "budget '%s' exhausted: %s of %s %s spent %s, %s requested", path,
					   fmt_micro(a, spent), fmt_micro(b2, limit), unit, ledger_period_phrase(p),
					   fmt_micro(d, amount));
			return 0;
		}
		if (rc != SQLITE_DONE)
			return sql_fail(l, rc);
	}
	res->code = LEDGER_OK;
	return 0;
}

typedef struct HoldRow {
	bool charge;
	char scope[LEDGER_SCOPE_MAX];
	char unit[UNITS_NAME_MAX];
	int64_t amount, posted;
	uint64_t ttl, created, expires;
	char session[LEDGER_ID_MAX + 1];
	bool has_session;
	LedgerHoldState state;
	LedgerCode code;
	char reason[LEDGER_REASON_MAX];
} HoldRow;

static int copy_text(char *dst, size_t len, const char *src)
{
	if (!src)
		return -EBADMSG;
	if (strlen(src) >= len)
		return -EBADMSG;
	strcpy(dst, src);
	return 0;
}

/* 0 and the row, -ENOENT, or -errno. */
static int hold_get(Ledger *l, const char *id, HoldRow *ret)
{
	_cleanup_sql_reset_ sqlite3_stmt *s = NULL;
	HoldRow h = {0};
	const char *session;
	int r, rc;

	r = stmt_get(l, STMT_HOLD_GET, &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return sql_fail(l, rc);
	h.charge = streq(ledger_sql_text(s, 0) ?: "", "charge");
	if (copy_text(h.scope, sizeof(h.scope), ledger_sql_text(s, 1)) < 0 ||
	    copy_text(h.unit, sizeof(h.unit), ledger_sql_text(s, 2)) < 0)
		return -EBADMSG;
	h.amount = sqlite3_column_int64(s, 3);
	h.ttl = (uint64_t) sqlite3_column_int64(s, 4);
	session = ledger_sql_text(s, 5);
	if (session) {
		if (copy_text(h.session, sizeof(h.session), session) < 0)
			return -EBADMSG;
		h.has_session = true;
	}
	h.state = hold_state_from_string(ledger_sql_text(s, 6));
	if (h.state == _LEDGER_HOLD_STATE_MAX)
		return -EBADMSG;
	h.posted = sqlite3_column_int64(s, 7);
	h.code = code_from_string(ledger_sql_text(s, 8) ?: "ok");
	snprintf(h.reason, sizeof(h.reason), "%s", ledger_sql_text(s, 9) ?: "");
	h.created = (uint64_t) sqlite3_column_int64(s, 10);
	h.expires = (uint64_t) sqlite3_column_int64(s, 11);
	*ret = h;
	return 0;
}

static int hold_insert(Ledger *l, const char *id, bool charge, const char *scope, const char *unit, int64_t amount,
		       uint64_t ttl, const char *session, LedgerHoldState state, LedgerCode code, const char *reason,
		       uint64_t now)
{
	_cleanup_sql_reset_ sqlite3_stmt *s = NULL;
	uint64_t expires;
	int r;

	if (__builtin_add_overflow(now, ttl, &expires) || expires > INT64_MAX)
		expires = INT64_MAX;
	r = stmt_get(l, STMT_HOLD_INSERT, &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, charge ? "charge" : "hold", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, unit, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, amount);
	bind_u64(s, 6, ttl);
	ledger_sql_bind_text(s, 7, session);
	sqlite3_bind_text(s, 8, hold_state_names[state], -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 9, state == LEDGER_HOLD_POSTED ? amount : 0);
	ledger_sql_bind_text(s, 10, code == LEDGER_OK ? NULL : code_names[code]);
	ledger_sql_bind_text(s, 11, code == LEDGER_OK ? NULL : reason);
	bind_u64(s, 12, now);
	bind_u64(s, 13, expires);
	if (state == LEDGER_HOLD_PENDING)
		sqlite3_bind_null(s, 14);
	else
		bind_u64(s, 14, now);
	return stmt_done(l, s);
}

static int hold_settle(Ledger *l, const char *id, LedgerHoldState state, int64_t posted, uint64_t now)
{
	_cleanup_sql_reset_ sqlite3_stmt *s = NULL;
	int r;

	r = stmt_get(l, STMT_HOLD_SETTLE, &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, hold_state_names[state], -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, posted);
	bind_u64(s, 4, now);
	r = stmt_done(l, s);
	if (r < 0)
		return r;
	return sqlite3_changes(l->db) == 1 ? 0 : -EPROTO;
}

/* Releases every pending hold whose TTL has passed, one audit row each.
 * Run at the start of every write transaction, so a check never counts an
 * expired hold and never re-grants a live one. Returns how many. */
static int expire_due(Ledger *l, uint64_t now)
{
	int total = 0, r, rc;

	for (;;) {
		struct {
			char id[LEDGER_ID_MAX + 1], scope[LEDGER_SCOPE_MAX], unit[UNITS_NAME_MAX];
			char session[LEDGER_ID_MAX + 1];
			bool has_session;
			int64_t amount;
		} due[32];
		size_t n = 0;

		{
			_cleanup_sql_reset_ sqlite3_stmt *s = NULL;

			r = stmt_get(l, STMT_HOLD_DUE, &s);
			if (r < 0)
				return r;
			bind_u64(s, 1, now);
			while (n < ARRAY_SIZE(due) && (rc = sqlite3_step(s)) == SQLITE_ROW) {
				const char *session = ledger_sql_text(s, 4);

				if (copy_text(due[n].id, sizeof(due[n].id), ledger_sql_text(s, 0)) < 0 ||
				    copy_text(due[n].scope, sizeof(due[n].scope), ledger_sql_text(s, 1)) < 0 ||
				    copy_text(due[n].unit, sizeof(due[n].unit), ledger_sql_text(s, 2)) < 0)
					return -EBADMSG;
				due[n].has_session =
				    session && copy_text(due[n].session, sizeof(due[n].session), session) >= 0;
				due[n].amount = sqlite3_column_int64(s, 3);
				n++;
			}
			if (n < ARRAY_SIZE(due) && rc != SQLITE_DONE)
				return sql_fail(l, rc);
		}
		if (n == 0)
			return total;

		for (size_t i = 0; i < n; i++) {
			_cleanup_free_ char *detail = NULL;
			char reason[LEDGER_REASON_MAX], a[40];
			LedgerScope sc;

			if (ledger_scope_parse(due[i].scope, &sc) < 0)
				return -EBADMSG;
			r = hold_settle(l, due[i].id, LEDGER_HOLD_EXPIRED, 0, now);
			if (r < 0)
				return r;
			r = balance_adjust(l, &sc, due[i].unit, -due[i].amount, 0, now);
			if (r < 0)
				return r;
			snprintf(reason, sizeof(reason), "hold '%.79s' expired after its TTL: %s %.31s released",
				 due[i].id, fmt_micro(a, due[i].amount), due[i].unit);
			detail = detail_json("{s:s, s:s, s:I}", "scope", due[i].scope, "unit", due[i].unit, "released",
					     (json_int_t) due[i].amount);
			if (!detail)
				return -ENOMEM;
			r = audit_scoped(l, now, due[i].scope, due[i].has_session ? due[i].session : NULL, "ledger",
					 "expire", due[i].id, "allow", "ttl", reason, detail);
			if (r < 0)
				return r;
			total++;
		}
	}
}

typedef struct HoldArgs {
	const char *id, *scope, *unit, *session;
	int64_t amount;
	uint64_t ttl;
	bool charge;
	bool capped; /* false: record real spend without a cap check (settle) */
} HoldArgs;

static bool same_text(const char *a, const char *b)
{
	return (!a && !b) || (a && b && streq(a, b));
}

/* Places a hold (or a charge) inside the caller's transaction, after the
 * checks; records a refusal under its id so that it stays refused. Fills
 * res; writes no audit row (the caller does, once per call). */
static int hold_locked(Ledger *l, const HoldArgs *a, uint64_t now, LedgerResult *res)
{
	const char *what = a->charge ? "charge" : "hold";
	LedgerScope sc;
	HoldRow h;
	bool recordable;
	int r;

	*res = (LedgerResult){.amount = a->amount};
	snprintf(res->unit, sizeof(res->unit), "%s", a->unit ?: "");

	if (!ledger_id_valid(a->id)) {
		set_result(res, LEDGER_INVALID, "invalid %s id: use 1-%d letters, digits and ._:@-", what,
			   LEDGER_ID_MAX);
		return 0;
	}

	r = hold_get(l, a->id, &h);
	if (r >= 0) {
		if (h.charge != a->charge || !streq(h.scope, a->scope ?: "") || !streq(h.unit, a->unit ?: "") ||
		    h.amount != a->amount || h.ttl != a->ttl ||
		    !same_text(h.has_session ? h.session : NULL, a->session)) {
			char x[40];
			set_result(res, LEDGER_CONFLICT, "id '%s' is already used by a %s of %s %s in '%s'", a->id,
				   h.charge ? "charge" : "hold", fmt_micro(x, h.amount), h.unit, h.scope);
			return 0;
		}
		res->replayed = true;
		if (h.state == LEDGER_HOLD_FAILED) {
			set_result(res, h.code, "%s", h.reason);
			return 0;
		}
		set_result(res, LEDGER_OK, "%s '%s' was already placed (now %s)", what, a->id,
			   hold_state_names[h.state]);
		return 0;
	}
	if (r != -ENOENT)
		return r;

	/* From here on a refusal is stored under the id. */
	recordable = a->scope && strlen(a->scope) < LEDGER_SCOPE_MAX && a->unit && strlen(a->unit) < UNITS_NAME_MAX;
	if (ledger_scope_parse(a->scope, &sc) < 0)
		set_result(res, LEDGER_INVALID, "invalid scope '%s': use tenant[/project[/user]]", a->scope ?: "");
	else if (!units_valid_unit_name(a->unit))
		set_result(res, LEDGER_INVALID, "invalid unit '%s'", a->unit ?: "");
	else if (a->session && !ledger_id_valid(a->session))
		set_result(res, LEDGER_INVALID, "invalid session id '%s'", a->session);
	else if (a->amount <= 0)
		set_result(res, LEDGER_INVALID, "invalid amount: a %s must be greater than zero", what);
	else {
		_cleanup_sql_reset_ sqlite3_stmt *s = NULL;
		int rc;

		r = stmt_get(l, STMT_TENANT_GET, &s);
		if (r < 0)
			return r;
		sqlite3_bind_text(s, 1, sc.part[0], -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			set_result(res, LEDGER_UNKNOWN_TENANT,
				   "unknown tenant '%s' (add it with 'kdc-ledger tenant add %s')", sc.part[0],
				   sc.part[0]);
		else if (rc != SQLITE_ROW)
			return sql_fail(l, rc);
		else if (a->capped) {
			r = check_caps(l, &sc, a->unit, a->amount, now, res);
			if (r < 0)
				return r;
		} else
			res->code = LEDGER_OK;
	}

	if (res->code != LEDGER_OK) {
		if (!recordable)
			return 0;
		return hold_insert(l, a->id, a->charge, a->scope, a->unit, a->amount, a->ttl, a->session,
				   LEDGER_HOLD_FAILED, res->code, res->reason, now);
	}

	r = hold_insert(l, a->id, a->charge, a->scope, a->unit, a->amount, a->ttl, a->session,
			a->charge ? LEDGER_HOLD_POSTED : LEDGER_HOLD_PENDING, LEDGER_OK, NULL, now);
	if (r < 0)
		return r;
	r = balance_adjust(l, &sc, a->unit, a->charge ? 0 : a->amount, a->charge ? a->amount : 0, now);
	if (r < 0)
		return r;
	{
		char x[40];
		set_result(res, LEDGER_OK, "%s %s %s in '%s'", a->charge ? "charged" : "held", fmt_micro(x, a->amount),
			   a->unit, a->scope);
	}
	return 0;
}

static int hold_or_charge(Ledger *l, const LedgerHoldRequest *req, bool charge, LedgerResult *ret)
{
	_cleanup_tx_ Ledger *tx = NULL;
	_cleanup_free_ char *detail = NULL;
	LedgerResult res;
	HoldArgs a = {
	    .id = req->id,
	    .scope = req->scope,
	    .unit = req->unit,
	    .session = req->session,
	    .amount = req->amount,
	    .ttl = charge	   ? 0
		   : req->ttl_usec ? req->ttl_usec
				   : LEDGER_DEFAULT_TTL_USEC,
	    .charge = charge,
	    .capped = true,
	};
	uint64_t now;
	int r;

	r = tx_begin(l);
	if (r < 0)
		return r;
	tx = l;
	now = ledger_now(l);
	r = expire_due(l, now);
	if (r < 0)
		return r;
	r = hold_locked(l, &a, now, &res);
	if (r < 0)
		return r;
	detail = detail_json("{s:s?, s:s?, s:I, s:I, s:b}", "scope", req->scope, "unit", req->unit, "amount",
			     (json_int_t) req->amount, "ttl", (json_int_t) MIN(a.ttl, (uint64_t) INT64_MAX), "replayed",
			     res.replayed);
	if (!detail)
		return -ENOMEM;
	r = audit_scoped(l, now, req->scope, req->session, req->actor, charge ? "charge" : "hold", req->id,
			 ledger_code_decision(res.code), res.code == LEDGER_OK ? NULL : code_names[res.code],
			 res.reason, detail);
	if (r < 0)
		return r;
	r = tx_commit(l);
	tx = NULL;
	if (r < 0)
		return r;
	*ret = res;
	return 0;
}

int ledger_hold(Ledger *l, const LedgerHoldRequest *req, LedgerResult *ret)
{
	return hold_or_charge(l, req, false, ret);
}

int ledger_charge(Ledger *l, const LedgerHoldRequest *req, LedgerResult *ret)
{
	return hold_or_charge(l, req, true, ret);
}

/* Looks up a hold for post/void: NOT_FOUND also for another tenant's id and
 * for an id that was refused (it never held anything). */
static int hold_for_update(Ledger *l, const char *id, const char *tenant, HoldRow *h, LedgerResult *res)
{
	LedgerScope sc;
	int r;

	if (!ledger_id_valid(id)) {
		set_result(res, LEDGER_INVALID, "invalid hold id");
		return 0;
	}
	r = hold_get(l, id, h);
	if (r == -ENOENT ||
	    (r >= 0 && tenant && (ledger_scope_parse(h->scope, &sc) < 0 || !streq(sc.part[0], tenant)))) {
		set_result(res, LEDGER_NOT_FOUND, "no hold '%s'%s%s%s", id, tenant ? " for tenant '" : "", tenant ?: "",
			   tenant ? "'" : "");
		return 0;
	}
	if (r < 0)
		return r;
	if (h->state == LEDGER_HOLD_FAILED) {
		set_result(res, LEDGER_NOT_FOUND, "no hold '%s': it was refused (%s)", id, code_names[h->code]);
		return 0;
	}
	res->code = LEDGER_OK;
	return 0;
}

static int post_locked(Ledger *l, const LedgerPostRequest *req, uint64_t now, HoldRow *h, LedgerResult *res)
{
	char x[40], y[40];
	LedgerScope sc;
	int64_t amount;
	int r;

	r = hold_for_update(l, req->id, req->tenant, h, res);
	if (r < 0 || res->code != LEDGER_OK)
		return r;
	snprintf(res->unit, sizeof(res->unit), "%s", h->unit);
	if (req->unit && !streq(req->unit, h->unit)) {
		set_result(res, LEDGER_INVALID, "unit %s does not match hold '%s' in %s", req->unit, req->id, h->unit);
		return 0;
	}
	amount = req->full ? h->amount : req->amount;
	res->amount = amount;
	if (amount <= 0) {
		set_result(res, LEDGER_INVALID,
			   "invalid amount: a post must be greater than zero (void releases a hold)");
		return 0;
	}
	switch (h->state) {
	case LEDGER_HOLD_POSTED:
		if (h->charge) {
			set_result(res, LEDGER_ALREADY_POSTED, "'%s' is a charge, posted when it was made", req->id);
			return 0;
		}
		if (h->posted == amount) {
			res->replayed = true;
			res->released = h->amount - h->posted;
			set_result(res, LEDGER_OK, "hold '%s' was already posted: %s %s", req->id, fmt_micro(x, amount),
				   h->unit);
			return 0;
		}
		set_result(res, LEDGER_ALREADY_POSTED, "hold '%s' was already posted with %s %s", req->id,
			   fmt_micro(x, h->posted), h->unit);
		return 0;
	case LEDGER_HOLD_VOIDED:
		set_result(res, LEDGER_ALREADY_VOIDED, "hold '%s' was voided", req->id);
		return 0;
	case LEDGER_HOLD_EXPIRED:
		set_result(res, LEDGER_EXPIRED, "hold '%s' expired after its TTL; its %s %s were released", req->id,
			   fmt_micro(x, h->amount), h->unit);
		return 0;
	default:
		break;
	}
	if (amount > h->amount) {
		set_result(res, LEDGER_EXCEEDS_HOLD, "cannot post %s %s: hold '%s' is %s %s", fmt_micro(x, amount),
			   h->unit, req->id, fmt_micro(y, h->amount), h->unit);
		return 0;
	}
	if (ledger_scope_parse(h->scope, &sc) < 0)
		return -EBADMSG;
	for (unsigned depth = 1; depth <= sc.depth; depth++) {
		char path[LEDGER_SCOPE_MAX];
		Balance b;
		int64_t sum;

		r = balance_get(l, ledger_scope_path(&sc, depth, path, sizeof(path)), h->unit, &b);
		if (r < 0)
			return r;
		if (__builtin_add_overflow(b.posted, amount, &sum)) {
			set_result(res, LEDGER_OVERFLOW, "posted total of scope '%s' in %s would overflow", path,
				   h->unit);
			return 0;
		}
	}
	r = hold_settle(l, req->id, LEDGER_HOLD_POSTED, amount, now);
	if (r < 0)
		return r;
	r = balance_adjust(l, &sc, h->unit, -h->amount, amount, now);
	if (r < 0)
		return r;
	res->released = h->amount - amount;
	set_result(res, LEDGER_OK, "posted %s %s of hold '%s', released %s", fmt_micro(x, amount), h->unit, req->id,
		   fmt_micro(y, res->released));
	return 0;
}

static int void_locked(Ledger *l, const char *id, const char *tenant, uint64_t now, HoldRow *h, LedgerResult *res)
{
	char x[40];
	LedgerScope sc;
	int r;

	r = hold_for_update(l, id, tenant, h, res);
	if (r < 0 || res->code != LEDGER_OK)
		return r;
	snprintf(res->unit, sizeof(res->unit), "%s", h->unit);
	switch (h->state) {
	case LEDGER_HOLD_POSTED:
		set_result(res, LEDGER_ALREADY_POSTED, "%s '%s' was already posted with %s %s",
			   h->charge ? "charge" : "hold", id, fmt_micro(x, h->posted), h->unit);
		return 0;
	case LEDGER_HOLD_VOIDED:
		res->replayed = true;
		res->amount = h->amount;
		set_result(res, LEDGER_OK, "hold '%s' was already voided", id);
		return 0;
	case LEDGER_HOLD_EXPIRED:
		set_result(res, LEDGER_EXPIRED, "hold '%s' expired after its TTL; its %s %s were released", id,
			   fmt_micro(x, h->amount), h->unit);
		return 0;
	default:
		break;
	}
	if (ledger_scope_parse(h->scope, &sc) < 0)
		return -EBADMSG;
	r = hold_settle(l, id, LEDGER_HOLD_VOIDED, 0, now);
	if (r < 0)
		return r;
	r = balance_adjust(l, &sc, h->unit, -h->amount, 0, now);
	if (r < 0)
		return r;
	res->amount = res->released = h->amount;
	set_result(res, LEDGER_OK, "voided hold '%s': %s %s released", id, fmt_micro(x, h->amount), h->unit);
	return 0;
}

/* Post or void one hold: one write transaction that first releases due
 * holds, then settles (or refuses), then appends the call's audit row. */
static int settle_one(Ledger *l, bool post, const LedgerPostRequest *req, LedgerResult *ret)
{
	_cleanup_tx_ Ledger *tx = NULL;
	_cleanup_free_ char *detail = NULL;
	LedgerResult res = {0};
	HoldRow h = {0};
	uint64_t now;
	int r;

	r = tx_begin(l);
	if (r < 0)
		return r;
	tx = l;
	now = ledger_now(l);
	r = expire_due(l, now);
	if (r < 0)
		return r;
	r = post ? post_locked(l, req, now, &h, &res) : void_locked(l, req->id, req->tenant, now, &h, &res);
	if (r < 0)
		return r;
	detail = detail_json("{s:s?, s:s?, s:I, s:I, s:b}", "scope", h.scope[0] ? h.scope : NULL, "unit",
			     h.unit[0] ? h.unit : NULL, "amount", (json_int_t) res.amount, "released",
			     (json_int_t) res.released, "replayed", res.replayed);
	if (!detail)
		return -ENOMEM;
	r = audit_scoped(l, now, h.scope[0] ? h.scope : NULL, h.has_session ? h.session : NULL, req->actor,
			 post ? "post" : "void", req->id, ledger_code_decision(res.code),
			 res.code == LEDGER_OK ? NULL : code_names[res.code], res.reason, detail);
	if (r < 0)
		return r;
	r = tx_commit(l);
	tx = NULL;
	if (r < 0)
		return r;
	*ret = res;
	return 0;
}

int ledger_post(Ledger *l, const LedgerPostRequest *req, LedgerResult *ret)
{
	return settle_one(l, true, req, ret);
}

int ledger_void(Ledger *l, const LedgerVoidRequest *req, LedgerResult *ret)
{
	return settle_one(l, false, &(LedgerPostRequest){.id = req->id, .tenant = req->tenant, .actor = req->actor},
			  ret);
}

int ledger_gc(Ledger *l)
{
	_cleanup_tx_ Ledger *tx = NULL;
	int n, r;

	r = tx_begin(l);
	if (r < 0)
		return r;
	tx = l;
	n = expire_due(l, ledger_now(l));
	if (n < 0)
		return n;
	r = tx_commit(l);
	tx = NULL;
	return r < 0 ? r : n;
}

int ledger_hold_get(Ledger *l, const char *id, LedgerHoldInfo *ret)
{
	HoldRow h;
	int r;

	if (!ledger_id_valid(id))
		return -ENOENT;
	r = hold_get(l, id, &h);
	if (r < 0)
		return r;
	*ret = (LedgerHoldInfo){
	    .charge = h.charge,
	    .amount = h.amount,
	    .posted = h.posted,
	    .state = h.state,
	    .created_usec = h.created,
	    .expires_usec = h.expires,
	};
	strcpy(ret->id, id);
	strcpy(ret->scope, h.scope);
	strcpy(ret->unit, h.unit);
	return 0;
}

/* ---- kdc-run: admission and settlement ---------------------------------- */

static int tenant_get(Ledger *l, const char *name, bool *ret_exists, RateLimit *ret_rate, bool *ret_has_rate)
{
	_cleanup_sql_reset_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = stmt_get(l, STMT_TENANT_GET, &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		*ret_exists = false;
		return 0;
	}
	if (rc != SQLITE_ROW)
		return sql_fail(l, rc);
	*ret_exists = true;
	*ret_has_rate = sqlite3_column_type(s, 0) != SQLITE_NULL && sqlite3_column_int64(s, 0) > 0;
	if (*ret_has_rate)
		*ret_rate = (RateLimit){
		    .interval_usec = (uint64_t) sqlite3_column_int64(s, 0),
		    .burst = (uint64_t) MAX(sqlite3_column_int64(s, 1), 0),
		};
	return 0;
}

static int tenant_put(Ledger *l, const char *name, const RateLimit *rate, uint64_t now)
{
	_cleanup_sql_reset_ sqlite3_stmt *s = NULL;
	int r;

	r = stmt_get(l, STMT_TENANT_INSERT, &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	bind_u64(s, 2, now);
	if (rate) {
		bind_u64(s, 3, rate->interval_usec);
		bind_u64(s, 4, rate->burst);
	}
	return stmt_done(l, s);
}

int ledger_admit(Ledger *l, const LedgerAdmitRequest *req, LedgerAdmitResult *ret)
{
	_cleanup_tx_ Ledger *tx = NULL;
	_cleanup_free_ char *detail = NULL;
	LedgerAdmitResult out = {.allowed = true};
	LedgerResult res = {.code = LEDGER_OK};
	const char *unit = req->unit ?: "USD", *rule = NULL;
	char scope[LEDGER_SCOPE_MAX], hold_id[80] = "";
	RateLimit rate;
	bool exists = false, has_rate = false;
	uint64_t now;
	int r;

	if (!ledger_name_valid(req->tenant) || (req->project && !ledger_name_valid(req->project)) ||
	    (req->user && !ledger_name_valid(req->user)) || (req->user && !req->project) ||
	    !ledger_id_valid(req->session_id) || strlen(req->session_id) > 64 || !units_valid_unit_name(unit) ||
	    req->hold_amount < 0)
		return -EINVAL;
	snprintf(scope, sizeof(scope), "%s%s%s%s%s", req->tenant, req->project ? "/" : "", req->project ?: "",
		 req->user ? "/" : "", req->user ?: "");

	r = tx_begin(l);
	if (r < 0)
		return r;
	tx = l;
	now = ledger_now(l);
	r = expire_due(l, now);
	if (r < 0)
		return r;

	{
		_cleanup_sql_reset_ sqlite3_stmt *s = NULL;
		int rc;

		r = stmt_get(l, STMT_SESSION_GET, &s);
		if (r < 0)
			return r;
		sqlite3_bind_text(s, 1, req->session_id, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			return -EEXIST;
		if (rc != SQLITE_DONE)
			return sql_fail(l, rc);
	}

	r = tenant_get(l, req->tenant, &exists, &rate, &has_rate);
	if (r < 0)
		return r;
	if (!exists && req->create_tenant) {
		r = tenant_put(l, req->tenant, NULL, now);
		if (r < 0)
			return r;
		r = audit_scoped(l, now, req->tenant, req->session_id, "kdc-run", "tenant-add", req->tenant, "allow",
				 NULL, "tenant created on first use", NULL);
		if (r < 0)
			return r;
		out.tenant_created = exists = true;
	}

	if (!exists) {
		rule = "tenant";
		set_result(&res, LEDGER_UNKNOWN_TENANT, "unknown tenant '%s' (add it with 'kdc-ledger tenant add %s')",
			   req->tenant, req->tenant);
	} else if (has_rate) {
		char key[LEDGER_NAME_MAX + 16], rs[64], d[32];
		uint64_t retry = 0;
		bool allowed;

		snprintf(key, sizeof(key), "session:%s", req->tenant);
		r = ratelimit_check(l->db, key, &rate, now, &allowed, &retry);
		if (r < 0)
			return r;
		if (!allowed) {
			/* Whole seconds, rounded up: "retry in 4s". */
			retry = (retry + USEC_PER_SEC - 1) / USEC_PER_SEC * USEC_PER_SEC;
			rule = "rate";
			set_result(&res, LEDGER_RATE_LIMITED,
				   "session rate limit of tenant '%s' reached (%s); retry in %s", req->tenant,
				   ratelimit_format(rs, sizeof(rs), &rate), units_format_duration(d, sizeof(d), retry));
		}
	}

	if (res.code == LEDGER_OK && req->hold_amount > 0) {
		HoldArgs a = {
		    .scope = scope,
		    .unit = unit,
		    .session = req->session_id,
		    .amount = req->hold_amount,
		    .ttl = req->hold_ttl_usec ?: LEDGER_DEFAULT_TTL_USEC,
		    .capped = true,
		};

		snprintf(hold_id, sizeof(hold_id), "run-%s", req->session_id);
		a.id = hold_id;
		r = hold_locked(l, &a, now, &res);
		if (r < 0)
			return r;
		if (res.code != LEDGER_OK)
			rule = "budget";
		else if (res.replayed)
			return -EEXIST; /* the session's hold exists: not a new session */
	}

	out.allowed = res.code == LEDGER_OK;
	if (out.allowed) {
		char x[40];
		if (req->hold_amount > 0)
			snprintf(out.reason, sizeof(out.reason), "admitted: held %s %s in '%s'",
				 fmt_micro(x, req->hold_amount), unit, scope);
		else
			snprintf(out.reason, sizeof(out.reason), "admitted");
		snprintf(out.hold_id, sizeof(out.hold_id), "%s", hold_id);
	} else
		snprintf(out.reason, sizeof(out.reason), "%s", res.reason);

	{
		_cleanup_sql_reset_ sqlite3_stmt *s = NULL;

		r = stmt_get(l, STMT_SESSION_INSERT, &s);
		if (r < 0)
			return r;
		sqlite3_bind_text(s, 1, req->session_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, req->tenant, -1, SQLITE_STATIC);
		ledger_sql_bind_text(s, 3, req->project);
		ledger_sql_bind_text(s, 4, req->user);
		ledger_sql_bind_text(s, 5, req->command);
		ledger_sql_bind_text(s, 6, out.allowed && hold_id[0] ? hold_id : NULL);
		sqlite3_bind_text(s, 7, unit, -1, SQLITE_STATIC);
		bind_u64(s, 8, now);
		if (!out.allowed) {
			bind_u64(s, 9, now);
			sqlite3_bind_text(s, 10, "denied", -1, SQLITE_STATIC);
			sqlite3_bind_int(s, 11, 123);
		}
		r = stmt_done(l, s);
		if (r < 0)
			return r;
	}

	detail = detail_json("{s:s?, s:s, s:I, s:I, s:s?, s:s?}", "command", req->command, "unit", unit, "hold",
			     (json_int_t) req->hold_amount, "ttl",
			     (json_int_t) MIN(req->hold_ttl_usec ?: LEDGER_DEFAULT_TTL_USEC, (uint64_t) INT64_MAX),
			     "hold_id", hold_id[0] ? hold_id : NULL, "code",
			     res.code == LEDGER_OK ? NULL : code_names[res.code]);
	if (!detail)
		return -ENOMEM;
	r = audit_scoped(l, now, scope, req->session_id, "kdc-run", "admit", req->session_id,
			 ledger_code_decision(res.code), rule, out.reason, detail);
	if (r < 0)
		return r;
	r = tx_commit(l);
	tx = NULL;
	if (r < 0)
		return r;
	*ret = out;
	return 0;
}

int ledger_settle(Ledger *l, const LedgerSettleRequest *req)
{
	_cleanup_tx_ Ledger *tx = NULL;
	_cleanup_free_ char *detail = NULL;
	char hold_id[LEDGER_ID_MAX + 1] = "", unit[UNITS_NAME_MAX] = "USD", scope[LEDGER_SCOPE_MAX] = "";
	char reason[LEDGER_REASON_MAX], x[40];
	bool has_hold = false, late = false;
	int64_t cost = 0, clamped = 0;
	LedgerResult res = {0};
	uint64_t now;
	int r, rc;

	if (!req->session_id || req->actual < 0 || !req->end_reason || (req->n_extra > 0 && !req->extra))
		return -EINVAL;
	for (size_t i = 0; i < req->n_extra; i++)
		if (!req->extra[i].actor || !req->extra[i].action || !audit_decision_valid(req->extra[i].decision))
			return -EINVAL;

	r = tx_begin(l);
	if (r < 0)
		return r;
	tx = l;
	now = ledger_now(l);
	r = expire_due(l, now);
	if (r < 0)
		return r;

	{
		_cleanup_sql_reset_ sqlite3_stmt *s = NULL;
		const char *t;

		r = stmt_get(l, STMT_SESSION_GET, &s);
		if (r < 0)
			return r;
		sqlite3_bind_text(s, 1, req->session_id, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			return -ENOENT;
		if (rc != SQLITE_ROW)
			return sql_fail(l, rc);
		if (sqlite3_column_type(s, 2) != SQLITE_NULL)
			return -EALREADY;
		t = ledger_sql_text(s, 0);
		if (t) {
			has_hold = true;
			if (copy_text(hold_id, sizeof(hold_id), t) < 0)
				return -EBADMSG;
		}
		t = ledger_sql_text(s, 1);
		if (t && copy_text(unit, sizeof(unit), t) < 0)
			return -EBADMSG;
		snprintf(scope, sizeof(scope), "%s%s%s%s%s", ledger_sql_text(s, 3) ?: "",
			 ledger_sql_text(s, 4) ? "/" : "", ledger_sql_text(s, 4) ?: "",
			 ledger_sql_text(s, 5) ? "/" : "", ledger_sql_text(s, 5) ?: "");
	}

	if (has_hold) {
		HoldRow h;

		r = hold_get(l, hold_id, &h);
		if (r < 0)
			return r == -ENOENT ? -EBADMSG : r;
		if (h.state == LEDGER_HOLD_PENDING) {
			if (req->actual > 0) {
				LedgerPostRequest p = {.id = hold_id, .amount = MIN(req->actual, h.amount)};
				clamped = req->actual - p.amount;
				r = post_locked(l, &p, now, &h, &res);
			} else {
				r = void_locked(l, hold_id, NULL, now, &h, &res);
			}
			if (r < 0)
				return r;
			if (res.code != LEDGER_OK)
				return -EPROTO;
			cost = req->actual > 0 ? res.amount : 0;
		} else if (h.state == LEDGER_HOLD_EXPIRED)
			late = true;
		else
			cost = h.posted; /* settled by hand (kdc-ledger post/void) */
	} else if (req->actual > 0) {
		/* No hold was placed (hold of 0): the spend happened anyway and
		 * is recorded, unreserved. */
		HoldArgs a = {
		    .scope = scope,
		    .unit = unit,
		    .session = req->session_id,
		    .amount = req->actual,
		    .charge = true,
		    .capped = false,
		};

		snprintf(hold_id, sizeof(hold_id), "run-%s", req->session_id);
		a.id = hold_id;
		r = hold_locked(l, &a, now, &res);
		if (r < 0)
			return r;
		if (res.code != LEDGER_OK)
			return -EPROTO;
		cost = req->actual;
	}

	{
		_cleanup_sql_reset_ sqlite3_stmt *s = NULL;

		r = stmt_get(l, STMT_SESSION_END, &s);
		if (r < 0)
			return r;
		sqlite3_bind_text(s, 1, req->session_id, -1, SQLITE_STATIC);
		bind_u64(s, 2, now);
		sqlite3_bind_text(s, 3, req->end_reason, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 4, req->exit_status);
		bind_u64(s, 5, req->wall_usec);
		bind_u64(s, 6, req->cpu_usec);
		bind_u64(s, 7, req->memory_peak);
		bind_u64(s, 8, req->pids_peak);
		bind_u64(s, 9, req->egress_bytes);
		sqlite3_bind_int64(s, 10, cost);
		r = stmt_done(l, s);
		if (r < 0)
			return r;
	}

	if (late)
		snprintf(reason, sizeof(reason),
			 "session ended (%s, status %d); its hold had expired, actual cost %s %s not posted",
			 req->end_reason, req->exit_status, fmt_micro(x, req->actual), unit);
	else
		snprintf(reason, sizeof(reason), "session ended (%s, status %d), cost %s %s%s", req->end_reason,
			 req->exit_status, fmt_micro(x, cost), unit, clamped > 0 ? ", clamped to its hold" : "");
	detail = detail_json("{s:s?, s:s, s:I, s:I, s:I, s:i, s:I, s:I, s:I, s:I, s:I}", "hold_id",
			     hold_id[0] ? hold_id : NULL, "unit", unit, "actual", (json_int_t) req->actual, "cost",
			     (json_int_t) cost, "released", (json_int_t) res.released, "exit_status", req->exit_status,
			     "wall_usec", (json_int_t) MIN(req->wall_usec, (uint64_t) INT64_MAX), "cpu_usec",
			     (json_int_t) MIN(req->cpu_usec, (uint64_t) INT64_MAX), "memory_peak",
			     (json_int_t) MIN(req->memory_peak, (uint64_t) INT64_MAX), "pids_peak",
			     (json_int_t) MIN(req->pids_peak, (uint64_t) INT64_MAX), "egress_bytes",
			     (json_int_t) MIN(req->egress_bytes, (uint64_t) INT64_MAX));
	if (!detail)
		return -ENOMEM;
	r = audit_scoped(l, now, scope, req->session_id, "kdc-run", "settle", req->session_id, late ? "error" : "allow",
			 late ? "ttl" : NULL, reason, detail);
	if (r < 0)
		return r;
	for (size_t i = 0; i < req->n_extra; i++) {
		r = audit_append(&l->audit, now, &req->extra[i], NULL);
		if (r < 0)
			return r;
	}
	r = tx_commit(l);
	tx = NULL;
	if (r < 0)
		return r;
	return late ? -ETIME : 0;
}

int ledger_audit_many(Ledger *l, const AuditRecord *recs, size_t n)
{
	_cleanup_tx_ Ledger *tx = NULL;
	uint64_t now;
	int r;

	for (size_t i = 0; i < n; i++)
		if (!recs[i].actor || !recs[i].action || !audit_decision_valid(recs[i].decision))
			return -EINVAL;
	r = tx_begin(l);
	if (r < 0)
		return r;
	tx = l;
	now = ledger_now(l);
	for (size_t i = 0; i < n; i++) {
		r = audit_append(&l->audit, now, &recs[i], NULL);
		if (r < 0)
			return r;
	}
	r = tx_commit(l);
	tx = NULL;
	return r;
}

int ledger_audit(Ledger *l, const AuditRecord *rec)
{
	return ledger_audit_many(l, rec, 1);
}

int ledger_rate_check(Ledger *l, const char *key, const RateLimit *rl, const AuditRecord *ctx, LedgerResult *ret)
{
	_cleanup_tx_ Ledger *tx = NULL;
	LedgerResult res = {.code = LEDGER_OK};
	AuditRecord rec = ctx ? *ctx : (AuditRecord){0};
	char rs[64], d[32];
	uint64_t now, retry = 0;
	bool allowed;
	int r;

	if (!key || !rl || rl->interval_usec == 0)
		return -EINVAL;
	r = tx_begin(l);
	if (r < 0)
		return r;
	tx = l;
	now = ledger_now(l);
	r = ratelimit_check(l->db, key, rl, now, &allowed, &retry);
	if (r < 0)
		return r;
	if (allowed)
		set_result(&res, LEDGER_OK, "within rate limit '%s' (%s)", key, ratelimit_format(rs, sizeof(rs), rl));
	else
		set_result(&res, LEDGER_RATE_LIMITED, "rate limit '%s' reached (%s); retry in %s", key,
			   ratelimit_format(rs, sizeof(rs), rl), units_format_duration(d, sizeof(d), retry));
	rec.actor = rec.actor ?: "ledger";
	rec.action = rec.action ?: "rate";
	rec.object = rec.object ?: key;
	rec.decision = ledger_code_decision(res.code);
	rec.rule = allowed ? NULL : "rate";
	rec.reason = res.reason;
	r = audit_append(&l->audit, now, &rec, NULL);
	if (r < 0)
		return r;
	r = tx_commit(l);
	tx = NULL;
	if (r < 0)
		return r;
	*ret = res;
	return 0;
}

/* ---- Administration ------------------------------------------------------ */

/* The scope and its descendants, as a WHERE fragment over column c with the
 * scope in parameter ?1 (NULL matches everything). substr(), not LIKE:
 * names may contain '_', a LIKE wildcard. */
#define SUBTREE(c) "(?1 IS NULL OR " c " = ?1 OR substr(" c ", 1, length(?1) + 1) = ?1 || '/')"

int ledger_tenant_add(Ledger *l, const char *name, const RateLimit *rate)
{
	_cleanup_tx_ Ledger *tx = NULL;
	_cleanup_free_ char *detail = NULL;
	RateLimit old;
	bool exists, has_rate;
	char rs[64] = "", reason[LEDGER_REASON_MAX];
	uint64_t now;
	int r;

	if (!ledger_name_valid(name) || (rate && rate->interval_usec == 0))
		return -EINVAL;
	r = tx_begin(l);
	if (r < 0)
		return r;
	tx = l;
	now = ledger_now(l);
	r = tenant_get(l, name, &exists, &old, &has_rate);
	if (r < 0)
		return r;
	r = tenant_put(l, name, rate, now);
	if (r < 0)
		return r;
	if (rate)
		ratelimit_format(rs, sizeof(rs), rate);
	snprintf(reason, sizeof(reason), "%s tenant '%s'%s%s", exists ? "updated" : "added", name,
		 rate ? ", session rate " : "", rs);
	detail = detail_json("{s:s?}", "rate", rate ? rs : NULL);
	if (!detail)
		return -ENOMEM;
	r = audit_scoped(l, now, name, NULL, "ledger", exists ? "tenant-update" : "tenant-add", name, "allow", NULL,
			 reason, detail);
	if (r < 0)
		return r;
	r = tx_commit(l);
	tx = NULL;
	if (r < 0)
		return r;
	return exists ? 0 : 1;
}

int ledger_tenant_remove(Ledger *l, const char *name)
{
	_cleanup_tx_ Ledger *tx = NULL;
	_cleanup_sql_finalize_ sqlite3_stmt *pending = NULL, *del = NULL;
	char key[LEDGER_NAME_MAX + 16], reason[LEDGER_REASON_MAX];
	uint64_t now;
	int r, rc;

	if (!ledger_name_valid(name))
		return -EINVAL;
	r = tx_begin(l);
	if (r < 0)
		return r;
	tx = l;
	now = ledger_now(l);
	r = expire_due(l, now);
	if (r < 0)
		return r;

	rc = sqlite3_prepare_v2(l->db, "SELECT 1 FROM holds WHERE state = 'pending' AND " SUBTREE("scope") " LIMIT 1",
				-1, &pending, NULL);
	if (rc != SQLITE_OK)
		return sql_fail(l, rc);
	sqlite3_bind_text(pending, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(pending);
	if (rc == SQLITE_ROW)
		return -EBUSY;
	if (rc != SQLITE_DONE)
		return sql_fail(l, rc);

	rc = sqlite3_prepare_v2(l->db, "DELETE FROM tenants WHERE name = ?1", -1, &del, NULL);
	if (rc != SQLITE_OK)
		return sql_fail(l, rc);
	sqlite3_bind_text(del, 1, name, -1, SQLITE_STATIC);
	r = stmt_done(l, del);
	if (r < 0)
		return r;
	if (sqlite3_changes(l->db) == 0)
		return -ENOENT;
	sqlite3_finalize(TAKE_PTR(del));

	rc = sqlite3_prepare_v2(l->db, "DELETE FROM budgets WHERE " SUBTREE("scope"), -1, &del, NULL);
	if (rc != SQLITE_OK)
		return sql_fail(l, rc);
	sqlite3_bind_text(del, 1, name, -1, SQLITE_STATIC);
	r = stmt_done(l, del);
	if (r < 0)
		return r;
	sqlite3_finalize(TAKE_PTR(del));

	rc = sqlite3_prepare_v2(l->db, "DELETE FROM ratelimits WHERE name = ?1", -1, &del, NULL);
	if (rc != SQLITE_OK)
		return sql_fail(l, rc);
	snprintf(key, sizeof(key), "session:%s", name);
	sqlite3_bind_text(del, 1, key, -1, SQLITE_STATIC);
	r = stmt_done(l, del);
	if (r < 0)
		return r;

	snprintf(reason, sizeof(reason), "removed tenant '%s' and its budgets", name);
	r = audit_scoped(l, now, name, NULL, "ledger", "tenant-remove", name, "allow", NULL, reason, NULL);
	if (r < 0)
		return r;
	r = tx_commit(l);
	tx = NULL;
	return r;
}

static int read_begin(Ledger *l)
{
	if (l->group)
		return 0; /* inside the group's transaction: sees its writes */
	return stmt_run(l, STMT_BEGIN_READ);
}

static void read_endp(Ledger **p)
{
	if (*p && !(*p)->group && !sqlite3_get_autocommit((*p)->db))
		(void) stmt_run(*p, STMT_COMMIT);
}
#define _cleanup_read_ _cleanup_(read_endp)

int ledger_tenant_list(Ledger *l, LedgerTenantFunc cb, void *userdata)
{
	_cleanup_sql_finalize_ sqlite3_stmt *s = NULL;
	int r, rc;

	rc = sqlite3_prepare_v2(l->db, "SELECT name, created, rate_interval, rate_burst FROM tenants ORDER BY name", -1,
				&s, NULL);
	if (rc != SQLITE_OK)
		return sql_fail(l, rc);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		LedgerTenant t = {
		    .name = ledger_sql_text(s, 0),
		    .created_usec = (uint64_t) sqlite3_column_int64(s, 1),
		    .has_rate = sqlite3_column_int64(s, 2) > 0,
		    .rate = {(uint64_t) MAX(sqlite3_column_int64(s, 2), 0),
			     (uint64_t) MAX(sqlite3_column_int64(s, 3), 0)},
		};
		r = cb(&t, userdata);
		if (r < 0)
			return r;
	}
	return rc == SQLITE_DONE ? 0 : sql_fail(l, rc);
}

int ledger_budget_set(Ledger *l, const char *scope, const char *unit, LedgerPeriod period, int64_t limit)
{
	_cleanup_tx_ Ledger *tx = NULL;
	_cleanup_sql_finalize_ sqlite3_stmt *s = NULL;
	_cleanup_free_ char *detail = NULL;
	char reason[LEDGER_REASON_MAX], x[40];
	LedgerScope sc;
	RateLimit rate;
	bool exists, has_rate;
	uint64_t now;
	int r, rc;

	if (ledger_scope_parse(scope, &sc) < 0 || !units_valid_unit_name(unit) || period < 0 ||
	    period >= _LEDGER_PERIOD_MAX || limit < 0)
		return -EINVAL;
	r = tx_begin(l);
	if (r < 0)
		return r;
	tx = l;
	now = ledger_now(l);
	r = tenant_get(l, sc.part[0], &exists, &rate, &has_rate);
	if (r < 0)
		return r;
	if (!exists)
		return -ENOENT;
	rc = sqlite3_prepare_v2(l->db,
				"INSERT INTO budgets (scope, unit, period, amount, updated) VALUES (?1, ?2, ?3, ?4, ?5)"
				" ON CONFLICT (scope, unit, period) DO UPDATE SET amount = excluded.amount,"
				" updated = excluded.updated",
				-1, &s, NULL);
	if (rc != SQLITE_OK)
		return sql_fail(l, rc);
	sqlite3_bind_text(s, 1, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, unit, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, period_names[period], -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, limit);
	bind_u64(s, 5, now);
	r = stmt_done(l, s);
	if (r < 0)
		return r;
	snprintf(reason, sizeof(reason), "budget '%s' set to %s %s per %s", scope, fmt_micro(x, limit), unit,
		 period_names[period]);
	detail = detail_json("{s:s, s:s, s:s, s:I}", "scope", scope, "unit", unit, "period", period_names[period],
			     "limit", (json_int_t) limit);
	if (!detail)
		return -ENOMEM;
	r = audit_scoped(l, now, scope, NULL, "ledger", "budget-set", scope, "allow", NULL, reason, detail);
	if (r < 0)
		return r;
	r = tx_commit(l);
	tx = NULL;
	return r;
}

int ledger_budget_remove(Ledger *l, const char *scope, const char *unit, int period)
{
	_cleanup_tx_ Ledger *tx = NULL;
	_cleanup_sql_finalize_ sqlite3_stmt *s = NULL;
	_cleanup_free_ char *detail = NULL;
	char reason[LEDGER_REASON_MAX];
	LedgerScope sc;
	uint64_t now;
	int r, rc, n;

	if (ledger_scope_parse(scope, &sc) < 0 || (unit && !units_valid_unit_name(unit)) || period < -1 ||
	    period >= _LEDGER_PERIOD_MAX)
		return -EINVAL;
	r = tx_begin(l);
	if (r < 0)
		return r;
	tx = l;
	now = ledger_now(l);
	rc = sqlite3_prepare_v2(l->db,
				"DELETE FROM budgets WHERE scope = ?1 AND (?2 IS NULL OR unit = ?2) AND"
				" (?3 IS NULL OR period = ?3)",
				-1, &s, NULL);
	if (rc != SQLITE_OK)
		return sql_fail(l, rc);
	sqlite3_bind_text(s, 1, scope, -1, SQLITE_STATIC);
	ledger_sql_bind_text(s, 2, unit);
	ledger_sql_bind_text(s, 3, period >= 0 ? period_names[period] : NULL);
	r = stmt_done(l, s);
	if (r < 0)
		return r;
	n = sqlite3_changes(l->db);
	if (n == 0)
		return -ENOENT;
	snprintf(reason, sizeof(reason), "removed %d budget%s of '%s'", n, n == 1 ? "" : "s", scope);
	detail = detail_json("{s:s, s:s?, s:s?}", "scope", scope, "unit", unit, "period",
			     period >= 0 ? period_names[period] : NULL);
	if (!detail)
		return -ENOMEM;
	r = audit_scoped(l, now, scope, NULL, "ledger", "budget-remove", scope, "allow", NULL, reason, detail);
	if (r < 0)
		return r;
	r = tx_commit(l);
	tx = NULL;
	return r;
}

int ledger_budget_list(Ledger *l, const char *scope, LedgerBudgetFunc cb, void *userdata)
{
	_cleanup_read_ Ledger *rd = NULL;
	_cleanup_sql_finalize_ sqlite3_stmt *s = NULL, *due = NULL;
	uint64_t now = ledger_now(l);
	int r, rc;

	r = read_begin(l);
	if (r < 0)
		return r;
	rd = l;
	rc = sqlite3_prepare_v2(l->db,
				"SELECT COALESCE(SUM(amount), 0) FROM holds WHERE state = 'pending' AND expires <= ?2"
				" AND unit = ?3 AND " SUBTREE("scope"),
				-1, &due, NULL);
	if (rc != SQLITE_OK)
		return sql_fail(l, rc);
	rc = sqlite3_prepare_v2(l->db,
				"SELECT scope, unit, period, amount FROM budgets WHERE " SUBTREE(
				    "scope") " ORDER BY scope, unit, CASE period WHEN 'day' THEN 0 WHEN 'week' THEN 1"
					     " WHEN 'month' THEN 2 ELSE 3 END",
				-1, &s, NULL);
	if (rc != SQLITE_OK)
		return sql_fail(l, rc);
	ledger_sql_bind_text(s, 1, scope);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		LedgerBudgetStatus b = {
		    .scope = ledger_sql_text(s, 0),
		    .unit = ledger_sql_text(s, 1),
		    .limit = sqlite3_column_int64(s, 3),
		};
		Balance bal;
		int p = ledger_period_from_string(ledger_sql_text(s, 2));

		if (p < 0 || !b.scope || !b.unit)
			return -EBADMSG;
		b.period = p;
		r = balance_get(l, b.scope, b.unit, &bal);
		if (r < 0)
			return r;
		/* Holds past their TTL but not yet collected count as released,
		 * as every write transaction would see them. */
		sqlite3_reset(due);
		ledger_sql_bind_text(due, 1, b.scope);
		bind_u64(due, 2, now);
		sqlite3_bind_text(due, 3, b.unit, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(due);
		if (rc != SQLITE_ROW)
			return sql_fail(l, rc);
		b.held = bal.held - sqlite3_column_int64(due, 0);
		r = budget_spent(l, b.scope, b.unit, p, &bal, now, &b.spent);
		if (r < 0)
			return r;
		r = cb(&b, userdata);
		if (r < 0)
			return r;
	}
	return rc == SQLITE_DONE ? 0 : sql_fail(l, rc);
}

int ledger_usage(Ledger *l, const char *scope, int64_t start_day, int64_t end_day, LedgerUsageFunc cb, void *userdata)
{
	_cleanup_sql_finalize_ sqlite3_stmt *s = NULL;
	int r, rc;

	rc = sqlite3_prepare_v2(l->db,
				"SELECT scope, unit, SUM(amount) FROM spend WHERE " SUBTREE(
				    "scope") " AND day >= ?2 AND day < ?3 GROUP BY scope, unit ORDER BY scope, unit",
				-1, &s, NULL);
	if (rc != SQLITE_OK)
		return sql_fail(l, rc);
	ledger_sql_bind_text(s, 1, scope);
	sqlite3_bind_int64(s, 2, start_day);
	sqlite3_bind_int64(s, 3, end_day);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		LedgerUsage u = {
		    .scope = ledger_sql_text(s, 0),
		    .unit = ledger_sql_text(s, 1),
		    .spent = sqlite3_column_int64(s, 2),
		};
		r = cb(&u, userdata);
		if (r < 0)
			return r;
	}
	return rc == SQLITE_DONE ? 0 : sql_fail(l, rc);
}

int ledger_session_list(Ledger *l, const char *tenant, uint64_t last, LedgerSessionFunc cb, void *userdata)
{
	_cleanup_sql_finalize_ sqlite3_stmt *s = NULL;
	int r, rc;

	rc = sqlite3_prepare_v2(
	    l->db,
	    "SELECT * FROM (SELECT s.id, s.tenant, s.project, s.user, s.command, s.hold_id, s.unit, s.end_reason,"
	    " s.start_time, s.end_time, s.exit_status, s.wall_usec, s.cpu_usec, s.memory_peak, s.pids_peak,"
	    " s.egress_bytes, s.cost, CASE WHEN h.state = 'pending' AND h.expires <= ?3 THEN 'expired' ELSE h.state "
	    "END,"
	    " s.rowid AS n FROM sessions s LEFT JOIN holds h ON h.id = s.hold_id"
	    " WHERE ?1 IS NULL OR s.tenant = ?1 ORDER BY s.start_time DESC, s.rowid DESC LIMIT ?2)"
	    " ORDER BY start_time, n",
	    -1, &s, NULL);
	if (rc != SQLITE_OK)
		return sql_fail(l, rc);
	ledger_sql_bind_text(s, 1, tenant);
	sqlite3_bind_int64(s, 2, last == 0 || last > INT64_MAX ? -1 : (int64_t) last);
	bind_u64(s, 3, ledger_now(l)); /* a hold past its TTL counts as expired */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		LedgerSession x = {
		    .id = ledger_sql_text(s, 0),
		    .tenant = ledger_sql_text(s, 1),
		    .project = ledger_sql_text(s, 2),
		    .user = ledger_sql_text(s, 3),
		    .command = ledger_sql_text(s, 4),
		    .hold_id = ledger_sql_text(s, 5),
		    .unit = ledger_sql_text(s, 6),
		    .end_reason = ledger_sql_text(s, 7),
		    .start_usec = (uint64_t) sqlite3_column_int64(s, 8),
		    .end_usec = (uint64_t) sqlite3_column_int64(s, 9),
		    .exit_status = sqlite3_column_int(s, 10),
		    .wall_usec = (uint64_t) sqlite3_column_int64(s, 11),
		    .cpu_usec = (uint64_t) sqlite3_column_int64(s, 12),
		    .memory_peak = (uint64_t) sqlite3_column_int64(s, 13),
		    .pids_peak = (uint64_t) sqlite3_column_int64(s, 14),
		    .egress_bytes = (uint64_t) sqlite3_column_int64(s, 15),
		    .cost = sqlite3_column_int64(s, 16),
		    .hold_state = hold_state_from_string(ledger_sql_text(s, 17)),
		};
		r = cb(&x, userdata);
		if (r < 0)
			return r;
	}
	return rc == SQLITE_DONE ? 0 : sql_fail(l, rc);
}

int ledger_audit_query(Ledger *l, const AuditFilter *f, AuditEntryFunc cb, void *userdata)
{
	return audit_query(l->db, f, cb, userdata);
}

int ledger_verify(Ledger *l, AuditVerifyResult *ret)
{
	return audit_verify(l->db, ret);
}
