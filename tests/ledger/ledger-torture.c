/* SPDX-License-Identifier: MIT */
/* Ledger torture: forked workers against one ledger, seeded and replayable
 * (TESTING.md, "Ledger properties"):
 *
 *   caps        property 1: N processes x M random hold/post/void/charge
 *               against nested caps; posted + pending <= cap in every scope
 *               after every commit (replayed from the audit trail, in
 *               commit order, and sampled live by a reader);
 *   kill        properties 2 and 4: workers killed with SIGKILL at random,
 *               most of them inside a transaction; each one, restarted,
 *               retries the operation it had not seen acknowledged; then
 *               integrity_check, every acknowledged operation present with
 *               exactly its effect, nothing half-applied, one effect per
 *               retried id;
 *   contention  property 7: N writers and a long reader while the writer
 *               that holds the lock is stopped with SIGSTOP: callers get
 *               timeouts that deny (-EBUSY), never a crash, a hang or
 *               SQLITE_BUSY_SNAPSHOT; work resumes after SIGCONT.
 *
 *   admit, settle  kdc-run's two calls, one at a time (see run_admit()),
 *               to give the CLI tests real sessions.
 *
 * Prints "# seed: N"; KDC_TORTURE_SEED=N (or --seed N) replays the same
 * operations (kill and stop timings still depend on the machine).
 * Exit status 0 when every check held, 1 otherwise, 2 on bad usage. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "core/ledger.h"
#include "shared/macro.h"

#define UNIT INT64_C(1000000) /* one USD in micro-units */

static struct {
	const char *db;
	const char *dir;
	uint64_t seed;
	unsigned procs, ops, kills;
	unsigned busy_msec;
	double seconds;
} arg = {
    .procs = 32,
    .ops = 500,
    .kills = 2000,
    .busy_msec = 30000,
    .seconds = 6,
};

static int failures;

_printf_(1, 2) static void fail(const char *fmt, ...)
{
	va_list ap;

	if (++failures > 20) {
		if (failures == 21)
			printf("FAIL: (more failures not shown)\n");
		return;
	}
	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

_printf_(1, 2) static void note(const char *fmt, ...)
{
	va_list ap;
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void sleep_usec(uint64_t usec)
{
	struct timespec ts = {.tv_sec = (time_t) (usec / 1000000), .tv_nsec = (long) (usec % 1000000) * 1000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* splitmix64: one independent, reproducible stream per (seed, worker, op). */
static uint64_t mix(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

typedef struct Rng {
	uint64_t s;
} Rng;

static Rng rng_for(uint64_t seed, uint64_t a, uint64_t b)
{
	return (Rng){mix(seed ^ mix(a * 0x100000001b3 + b))};
}

static uint64_t rnd(Rng *r, uint64_t n)
{
	r->s = mix(r->s);
	return n ? r->s % n : 0;
}

/* fork() for a worker that must not outlive the torture run (a timeout
 * that kills the parent takes the workers with it). */
static pid_t fork_worker(void)
{
	pid_t parent = getpid(), p = fork();

	if (p == 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent))
		_exit(9);
	return p;
}

static Ledger *open_or_die(void)
{
	Ledger *l = NULL;
	int r = ledger_open(arg.db, &l);
	if (r < 0) {
		fprintf(stderr, "ledger-torture: open %s: %s\n", arg.db, strerror(-r));
		_exit(3);
	}
	ledger_set_busy_timeout(l, arg.busy_msec);
	return l;
}

/* ---- The shared setup: nested caps, total period, USD -------------------- */

static const struct {
	const char *scope;
	int64_t cap;
} caps[] = {
    {"acme", 5000 * UNIT},     {"acme/a", 3000 * UNIT},	  {"acme/b", 2500 * UNIT},
    {"acme/a/x", 1200 * UNIT}, {"acme/a/y", 1000 * UNIT}, {"acme/b/z", 1500 * UNIT},
};
static const char *const scopes[] = {"acme", "acme/a", "acme/b", "acme/a/x", "acme/a/y", "acme/b/z", "acme/b/w"};

static void setup(void)
{
	Ledger *l = open_or_die();

	if (ledger_tenant_add(l, "acme", NULL) < 0)
		fail("tenant add");
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
		if (ledger_budget_set(l, caps[i].scope, "USD", LEDGER_PERIOD_TOTAL, caps[i].cap) < 0)
			fail("budget set %s", caps[i].scope);
	ledger_close(l);
}

static bool in_subtree(const char *scope, const char *root)
{
	size_t n = strlen(root);
	return strncmp(scope, root, n) == 0 && (scope[n] == 0 || scope[n] == '/');
}

/* ---- Checks on the finished database ---------------------------------------- */

static sqlite3 *raw_open(void)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(arg.db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fail("raw open: %s", sqlite3_errmsg(db));
		exit(1);
	}
	sqlite3_busy_timeout(db, 10000);
	return db;
}

static int64_t query_i64(sqlite3 *db, const char *sql, const char *p1, const char *p2)
{
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		fail("prepare %s: %s", sql, sqlite3_errmsg(db));
		return -1;
	}
	if (p1)
		sqlite3_bind_text(s, 1, p1, -1, SQLITE_STATIC);
	if (p2)
		sqlite3_bind_text(s, 2, p2, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* integrity_check, the audit chain, aggregates against raw holds, and an
 * audit row for every hold's every state. */
static void check_database(void)
{
	sqlite3 *db = raw_open();
	sqlite3_stmt *s = NULL;
	Ledger *l;
	AuditVerifyResult v;
	int64_t n;

	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW || !streq((const char *) sqlite3_column_text(s, 0), "ok"))
		fail("integrity_check: %s", s ? (const char *) sqlite3_column_text(s, 0) : sqlite3_errmsg(db));
	sqlite3_finalize(s);

	l = open_or_die();
	if (ledger_verify(l, &v) < 0 || v.first_bad != 0)
		fail("audit chain broken at row %" PRId64 ": %s", v.first_bad, v.problem);
	else
		note("audit trail intact: %" PRId64 " rows", v.rows);
	ledger_close(l);

	/* held / posted / spend aggregates = what the holds say. */
	n = query_i64(db,
		      "SELECT COUNT(*) FROM balances b WHERE b.held != (SELECT COALESCE(SUM(amount), 0) FROM holds h"
		      " WHERE h.state = 'pending' AND h.unit = b.unit AND (h.scope = b.scope OR"
		      " substr(h.scope, 1, length(b.scope) + 1) = b.scope || '/')) OR b.posted != (SELECT"
		      " COALESCE(SUM(posted), 0) FROM holds h WHERE h.state = 'posted' AND h.unit = b.unit AND"
		      " (h.scope = b.scope OR substr(h.scope, 1, length(b.scope) + 1) = b.scope || '/')) OR"
		      " b.posted != (SELECT COALESCE(SUM(amount), 0) FROM spend p WHERE p.scope = b.scope AND"
		      " p.unit = b.unit)",
		      NULL, NULL);
	if (n != 0)
		fail("%" PRId64 " balance rows disagree with the holds (half-applied operations)", n);

	/* An indexed copy of the trail for the lookups below. */
	if (sqlite3_exec(db,
			 "CREATE TEMP TABLE a AS SELECT object, action, decision, detail FROM main.audit;"
			 " CREATE INDEX temp.a_object ON a (object, action)",
			 NULL, NULL, NULL) != SQLITE_OK)
		fail("temp table: %s", sqlite3_errmsg(db));

	/* Every hold has the audit row of its creation, and of how it ended. */
	n = query_i64(
	    db,
	    "SELECT COUNT(*) FROM holds h WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.object = h.id AND"
	    " a.action = h.kind AND a.decision = CASE h.state WHEN 'failed' THEN a.decision ELSE 'allow' END)",
	    NULL, NULL);
	if (n != 0)
		fail("%" PRId64 " holds without the audit row that created them", n);
	n = query_i64(
	    db,
	    "SELECT COUNT(*) FROM holds h WHERE h.kind = 'hold' AND h.state IN ('posted', 'voided', 'expired') AND"
	    " NOT EXISTS (SELECT 1 FROM a WHERE a.object = h.id AND a.decision = 'allow' AND a.action ="
	    " CASE h.state WHEN 'posted' THEN 'post' WHEN 'voided' THEN 'void' ELSE 'expire' END)",
	    NULL, NULL);
	if (n != 0)
		fail("%" PRId64 " settled holds without the audit row that settled them", n);
	/* ... and no effect is recorded twice. */
	n = query_i64(db,
		      "SELECT COUNT(*) FROM (SELECT object, action FROM a WHERE decision = 'allow' AND action IN"
		      " ('hold', 'charge', 'post', 'void', 'expire') AND (detail IS NULL OR detail NOT LIKE"
		      " '%\"replayed\":true%') GROUP BY object, action HAVING COUNT(*) > 1)",
		      NULL, NULL);
	if (n != 0)
		fail("%" PRId64 " operations took effect more than once", n);
	sqlite3_close(db);
}

/* Replays the audit trail in commit order and checks, after every row,
 * that posted + pending <= cap for every capped scope (property 1). Then
 * compares the replayed state with the holds table. */
typedef struct Pending {
	char id[LEDGER_ID_MAX + 1];
	char scope[LEDGER_SCOPE_MAX];
	int64_t amount;
	struct Pending *next;
} Pending;

static Pending *pending_find(Pending *p, const char *id, Pending ***ret_link, Pending **head)
{
	Pending **link = head;
	for (p = *head; p; link = &p->next, p = p->next)
		if (streq(p->id, id)) {
			if (ret_link)
				*ret_link = link;
			return p;
		}
	return NULL;
}

static void check_replay(void)
{
	sqlite3 *db = raw_open();
	sqlite3_stmt *s = NULL;
	Pending *head = NULL;
	int64_t held[ARRAY_SIZE(caps)] = {0}, posted[ARRAY_SIZE(caps)] = {0}, rows = 0, worst = INT64_MIN;
	bool broken = false;

	if (sqlite3_prepare_v2(db,
			       "SELECT seq, action, object, detail FROM audit WHERE decision = 'allow' AND action IN"
			       " ('hold', 'charge', 'post', 'void', 'expire') ORDER BY seq",
			       -1, &s, NULL) != SQLITE_OK) {
		fail("replay: %s", sqlite3_errmsg(db));
		return;
	}
	while (sqlite3_step(s) == SQLITE_ROW && !broken) {
		const char *action = (const char *) sqlite3_column_text(s, 1),
			   *id = (const char *) sqlite3_column_text(s, 2);
		json_t *d = json_loads((const char *) sqlite3_column_text(s, 3) ?: "{}", 0, NULL);
		const char *scope = json_string_value(json_object_get(d, "scope"));
		int64_t amount = json_integer_value(json_object_get(d, "amount"));
		bool replayed = json_is_true(json_object_get(d, "replayed"));
		int64_t d_held = 0, d_posted = 0;
		Pending *p, **link = NULL;

		rows++;
		if (!d || !scope || !id) {
			fail("replay: row %lld has no detail", (long long) sqlite3_column_int64(s, 0));
			json_decref(d);
			break;
		}
		if (replayed) {
			json_decref(d);
			continue;
		}
		if (streq(action, "hold")) {
			p = calloc(1, sizeof(*p));
			snprintf(p->id, sizeof(p->id), "%s", id);
			snprintf(p->scope, sizeof(p->scope), "%s", scope);
			p->amount = amount;
			p->next = head;
			head = p;
			d_held = amount;
		} else if (streq(action, "charge"))
			d_posted = amount;
		else {
			p = pending_find(head, id, &link, &head);
			if (!p) {
				fail("replay: %s of hold '%s' that is not pending (row %lld)", action, id,
				     (long long) sqlite3_column_int64(s, 0));
				json_decref(d);
				break;
			}
			d_held = -p->amount;
			if (streq(action, "post"))
				d_posted = amount;
			*link = p->next;
			free(p);
		}
		for (size_t c = 0; c < ARRAY_SIZE(caps); c++) {
			if (!in_subtree(scope, caps[c].scope))
				continue;
			held[c] += d_held;
			posted[c] += d_posted;
			worst = MAX(worst, posted[c] + held[c] - caps[c].cap);
			if (posted[c] + held[c] > caps[c].cap) {
				fail("cap of '%s' exceeded after audit row %lld: posted %" PRId64 " + pending %" PRId64
				     " > %" PRId64,
				     caps[c].scope, (long long) sqlite3_column_int64(s, 0), posted[c], held[c],
				     caps[c].cap);
				broken = true;
			}
		}
		json_decref(d);
	}
	sqlite3_finalize(s);
	note("replayed %" PRId64 " effects in commit order; closest approach to a cap: %" PRId64 " micro-USD", rows,
	     worst);

	/* The replayed state is the stored state. */
	for (size_t c = 0; c < ARRAY_SIZE(caps); c++) {
		int64_t h =
		    query_i64(db, "SELECT held FROM balances WHERE scope = ?1 AND unit = 'USD'", caps[c].scope, NULL);
		int64_t q =
		    query_i64(db, "SELECT posted FROM balances WHERE scope = ?1 AND unit = 'USD'", caps[c].scope, NULL);
		if (h < 0)
			h = q = 0;
		if (h != held[c] || q != posted[c])
			fail("replay of '%s' gives held %" PRId64 " posted %" PRId64 ", the ledger says %" PRId64
			     " / %" PRId64,
			     caps[c].scope, held[c], posted[c], h, q);
	}
	while (head) {
		Pending *p = head;
		head = p->next;
		free(p);
	}
	sqlite3_close(db);
}

/* A live reader: at every snapshot, posted + pending <= cap. */
static void sample_caps(sqlite3 *db, unsigned *samples)
{
	for (size_t c = 0; c < ARRAY_SIZE(caps); c++) {
		int64_t sum;
		sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		sum = query_i64(
		    db,
		    "SELECT COALESCE(SUM(CASE state WHEN 'pending' THEN amount ELSE posted END), 0) FROM holds"
		    " WHERE state IN ('pending', 'posted') AND unit = 'USD' AND (scope = ?1 OR"
		    " substr(scope, 1, length(?1) + 1) = ?1 || '/')",
		    caps[c].scope, NULL);
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		if (sum > caps[c].cap)
			fail("reader saw '%s' at %" PRId64 " > cap %" PRId64, caps[c].scope, sum, caps[c].cap);
	}
	(*samples)++;
}

/* ---- caps (property 1) ------------------------------------------------------ */

static int caps_worker(unsigned w)
{
	Ledger *l = open_or_die();
	char(*mine)[32] = calloc(arg.ops, 32);
	unsigned n_mine = 0, busy = 0;

	for (unsigned i = 0; i < arg.ops; i++) {
		Rng g = rng_for(arg.seed, w, i);
		unsigned op = (unsigned) rnd(&g, 100);
		LedgerResult res;
		char id[32];
		int r;

		if (op < 45 || n_mine == 0) {
			LedgerHoldRequest h = {
			    .id = id,
			    .scope = scopes[rnd(&g, ARRAY_SIZE(scopes))],
			    .unit = "USD",
			    .amount = (int64_t) (1 + rnd(&g, 3 * UNIT)),
			    /* Some expire while the others run. */
			    .ttl_usec = rnd(&g, 10) == 0 ? 20000 + rnd(&g, 200000) : 30 * USEC_PER_SEC,
			    .actor = "torture",
			};
			snprintf(id, sizeof(id), "c%u-%u", w, i);
			r = ledger_hold(l, &h, &res);
			if (r >= 0 && res.code == LEDGER_OK)
				snprintf(mine[n_mine++], 32, "%s", id);
		} else if (op < 75) {
			LedgerPostRequest p = {
			    .id = mine[rnd(&g, n_mine)],
			    .full = rnd(&g, 3) == 0,
			    .amount = (int64_t) (1 + rnd(&g, 3 * UNIT)),
			    .actor = "torture",
			};
			r = ledger_post(l, &p, &res);
		} else if (op < 95) {
			LedgerVoidRequest v = {.id = mine[rnd(&g, n_mine)], .actor = "torture"};
			r = ledger_void(l, &v, &res);
		} else {
			LedgerHoldRequest c = {
			    .id = id,
			    .scope = scopes[rnd(&g, ARRAY_SIZE(scopes))],
			    .unit = "USD",
			    .amount = (int64_t) (1 + rnd(&g, 2 * UNIT)),
			    .actor = "torture",
			};
			snprintf(id, sizeof(id), "k%u-%u", w, i);
			r = ledger_charge(l, &c, &res);
		}
		if (r == -EBUSY)
			busy++;
		else if (r < 0) {
			fprintf(stderr, "worker %u op %u: %s (%s)\n", w, i, strerror(-r), ledger_errmsg(l));
			return 1;
		}
	}
	ledger_close(l);
	free(mine);
	return busy ? 4 : 0;
}

static int run_caps(void)
{
	pid_t pids[256];
	sqlite3 *reader;
	unsigned samples = 0, left;
	int64_t rows;
	double start = now_sec();

	setup();
	for (unsigned w = 0; w < arg.procs; w++) {
		pids[w] = fork_worker();
		if (pids[w] < 0)
			return fail("fork: %m"), 1;
		if (pids[w] == 0)
			_exit(caps_worker(w));
	}
	/* While they run: sample the caps from consistent snapshots. */
	reader = raw_open();
	for (left = arg.procs; left > 0;) {
		int status;
		pid_t p = waitpid(-1, &status, WNOHANG);
		if (p > 0) {
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				fail("worker %d ended with status 0x%x (4: a transaction timed out)", (int) p, status);
			left--;
			continue;
		}
		sample_caps(reader, &samples);
		sleep_usec(5000);
	}
	sqlite3_close(reader);
	note("%u workers x %u operations in %.1f s; %u live snapshots checked", arg.procs, arg.ops, now_sec() - start,
	     samples);

	check_replay();
	check_database();
	{
		sqlite3 *db = raw_open();
		rows = query_i64(db, "SELECT COUNT(*) FROM audit WHERE actor = 'torture'", NULL, NULL);
		sqlite3_close(db);
	}
	if (rows != (int64_t) arg.procs * arg.ops)
		fail("%" PRId64 " audit rows by the workers for %u operations", rows, arg.procs * arg.ops);
	return failures ? 1 : 0;
}

/* ---- kill (properties 2 and 4) ---------------------------------------------- */

/* One operation of worker w, number i: fully determined by the seed and by
 * the worker's acknowledged holds (its log). */
typedef struct Op {
	char kind; /* h hold, c charge, p post, v void */
	char id[32];
	const char *scope;
	int64_t amount;
	bool full;
	uint64_t ttl;
} Op;

static Op make_op(unsigned w, unsigned i, char (*holds)[32], unsigned n_holds)
{
	Rng g = rng_for(arg.seed, 1000 + w, i);
	unsigned k = (unsigned) rnd(&g, 100);
	Op op = {0};

	op.scope = scopes[rnd(&g, ARRAY_SIZE(scopes))];
	op.amount = (int64_t) (1 + rnd(&g, 4 * UNIT));
	op.full = rnd(&g, 3) == 0;
	op.ttl = rnd(&g, 20) == 0 ? 50000 : 600 * USEC_PER_SEC;
	if (k < 45 || n_holds == 0) {
		op.kind = 'h';
		snprintf(op.id, sizeof(op.id), "h%u-%u", w, i);
	} else if (k < 50) {
		op.kind = 'c';
		snprintf(op.id, sizeof(op.id), "c%u-%u", w, i);
	} else {
		op.kind = k < 80 ? 'p' : 'v';
		snprintf(op.id, sizeof(op.id), "%s", holds[rnd(&g, n_holds)]);
	}
	return op;
}

static int do_op(Ledger *l, const Op *op, LedgerResult *res)
{
	switch (op->kind) {
	case 'h':
	case 'c': {
		LedgerHoldRequest h = {.id = op->id,
				       .scope = op->scope,
				       .unit = "USD",
				       .amount = op->amount,
				       .ttl_usec = op->kind == 'h' ? op->ttl : 0,
				       .actor = "torture"};
		return op->kind == 'h' ? ledger_hold(l, &h, res) : ledger_charge(l, &h, res);
	}
	case 'p': {
		LedgerPostRequest p = {.id = op->id, .amount = op->amount, .full = op->full, .actor = "torture"};
		return ledger_post(l, &p, res);
	}
	default: {
		LedgerVoidRequest v = {.id = op->id, .actor = "torture"};
		return ledger_void(l, &v, res);
	}
	}
}

/* Shared with the workers: whether each is inside an operation, and how
 * long its last one took, so that kills can be aimed inside operations. */
typedef struct Slot {
	int in_op;
	uint32_t op_usec;
} Slot;
static Slot *slots;

static void log_path(unsigned w, char buf[static 512])
{
	snprintf(buf, 512, "%s/worker-%u.log", arg.dir, w);
}

/* The worker's log: "I <i>" before an operation, "A <i> <code> <replayed>
 * <retry>" after it returned. Lines are single write()s to an O_APPEND
 * file, so a kill never leaves half a line. */
typedef struct WorkerLog {
	unsigned done;	   /* acknowledged operations */
	bool open_intent;  /* the last line is an unanswered "I" */
	char (*holds)[32]; /* acknowledged successful holds, in order */
	unsigned n_holds, n_alloc;
} WorkerLog;

static void add_hold(WorkerLog *wl, const char *id)
{
	if (wl->n_holds == wl->n_alloc) {
		wl->n_alloc = wl->n_alloc ? 2 * wl->n_alloc : 256;
		wl->holds = realloc(wl->holds, (size_t) wl->n_alloc * 32);
		if (!wl->holds)
			_exit(8);
	}
	snprintf(wl->holds[wl->n_holds++], 32, "%s", id);
}

/* "A <i> <code> <replayed> <retry> <kind> <id>": the holds come straight
 * from the log, so a restart costs one read of it. */
static void read_log(unsigned w, WorkerLog *wl)
{
	char path[512], line[256];
	FILE *f;

	*wl = (WorkerLog){0};
	log_path(w, path);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned i;
		int code, replayed, retry;
		char kind, id[32];

		if (line[0] == 'I')
			wl->open_intent = true;
		else if (sscanf(line, "A %u %d %d %d %c %31s", &i, &code, &replayed, &retry, &kind, id) == 6) {
			if (kind == 'h' && code == LEDGER_OK)
				add_hold(wl, id);
			wl->done = i + 1;
			wl->open_intent = false;
		}
	}
	fclose(f);
}

static void log_line(int fd, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (write(fd, buf, (size_t) n) != n)
		_exit(5);
}

static int kill_worker(unsigned w, unsigned max_ops, bool finish)
{
	char path[512];
	WorkerLog wl;
	Ledger *l;
	int fd;

	read_log(w, &wl);
	log_path(w, path);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		_exit(5);
	/* The final pass only answers the operation left unanswered. */
	if (finish && !wl.open_intent)
		_exit(0);
	l = open_or_die();
	for (unsigned i = wl.done; i < max_ops; i++) {
		bool retry = wl.open_intent && i == wl.done;
		Op op = make_op(w, i, wl.holds, wl.n_holds);
		LedgerResult res;
		int r;

		double t0;

		if (!retry)
			log_line(fd, "I %u\n", i);
		t0 = now_sec();
		__atomic_store_n(&slots[w].in_op, 1, __ATOMIC_RELEASE);
		r = do_op(l, &op, &res);
		if (r < 0) {
			/* Only a lock timeout is acceptable; retried next time. */
			if (r != -EBUSY)
				_exit(6);
			log_line(fd, "B %u\n", i);
			_exit(7);
		}
		log_line(fd, "A %u %d %d %d %c %s\n", i, (int) res.code, res.replayed, retry, op.kind, op.id);
		__atomic_store_n(&slots[w].in_op, 0, __ATOMIC_RELEASE);
		slots[w].op_usec = (uint32_t) MIN((now_sec() - t0) * 1e6, 1e9);
		/* Paced, so that the work (and its log) stays bounded. */
		if (!finish)
			sleep_usec(500 + (uint64_t) rand() % 1000);
		if (op.kind == 'h' && res.code == LEDGER_OK)
			add_hold(&wl, op.id);
		if (finish)
			break;
	}
	ledger_close(l);
	_exit(0);
}

/* After the storm: every acknowledged operation has exactly its effect. */
static void check_acknowledged(unsigned workers, unsigned max_ops, unsigned *ret_acked, unsigned *ret_retried,
			       unsigned *ret_replayed)
{
	sqlite3 *db = raw_open();
	unsigned acked = 0, retried = 0, replayed = 0;

	for (unsigned w = 0; w < workers; w++) {
		char path[512], line[256];
		WorkerLog wl = {0};
		FILE *f;

		log_path(w, path);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			unsigned i;
			int code, rep, retry;
			sqlite3_stmt *s = NULL;
			Op op;

			if (sscanf(line, "A %u %d %d %d", &i, &code, &rep, &retry) != 4)
				continue;
			op = make_op(w, i, wl.holds, wl.n_holds);
			acked++;
			retried += retry;
			replayed += retry && rep;
			if (sqlite3_prepare_v2(
				db, "SELECT kind, scope, amount, state, posted, code FROM holds WHERE id = ?1", -1, &s,
				NULL) != SQLITE_OK)
				break;
			sqlite3_bind_text(s, 1, op.id, -1, SQLITE_STATIC);
			if (sqlite3_step(s) != SQLITE_ROW) {
				fail("worker %u op %u (%c %s) acknowledged as %s but absent", w, i, op.kind, op.id,
				     ledger_code_to_string(code));
			} else {
				const char *state = (const char *) sqlite3_column_text(s, 3);
				int64_t posted = sqlite3_column_int64(s, 4);

				if ((op.kind == 'h' || op.kind == 'c') && code == LEDGER_OK &&
				    (sqlite3_column_int64(s, 2) != op.amount ||
				     !streq((const char *) sqlite3_column_text(s, 1), op.scope) ||
				     streq(state, "failed")))
					fail("%s: acknowledged %c of %" PRId64 " in %s, stored differently", op.id,
					     op.kind, op.amount, op.scope);
				if ((op.kind == 'h' || op.kind == 'c') && code != LEDGER_OK &&
				    code != LEDGER_CONFLICT && !streq(state, "failed"))
					fail("%s: refused (%s) when acknowledged, but stored as %s", op.id,
					     ledger_code_to_string(code), state);
				if (op.kind == 'p' && code == LEDGER_OK &&
				    (!streq(state, "posted") ||
				     posted != (op.full ? sqlite3_column_int64(s, 2) : op.amount)))
					fail("%s: post of %" PRId64 " acknowledged, stored %s %" PRId64, op.id,
					     op.amount, state, posted);
				if (op.kind == 'v' && code == LEDGER_OK && !streq(state, "voided"))
					fail("%s: void acknowledged, stored %s", op.id, state);
			}
			sqlite3_finalize(s);
			if (op.kind == 'h' && code == LEDGER_OK)
				add_hold(&wl, op.id);
		}
		fclose(f);
		free(wl.holds);
	}
	sqlite3_close(db);
	*ret_acked = acked;
	*ret_retried = retried;
	*ret_replayed = replayed;
}

static pid_t spawn_kill_worker(unsigned w, unsigned max_ops, bool finish)
{
	pid_t p = fork_worker();
	if (p == 0)
		kill_worker(w, max_ops, finish);
	return p;
}

static int run_kill(void)
{
	const unsigned workers = 4, max_ops = 1000000;
	pid_t pids[16];
	unsigned kills = 0, acked, retried, replayed, crashed = 0;
	Rng g = rng_for(arg.seed, 7, 7);
	double start = now_sec();

	setup();
	slots = mmap(NULL, sizeof(Slot) * 16, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED)
		return fail("mmap: %m"), 1;
	for (unsigned w = 0; w < workers; w++)
		pids[w] = spawn_kill_worker(w, max_ops, false);
	while (kills < arg.kills) {
		unsigned w = (unsigned) rnd(&g, workers);
		double give_up = now_sec() + 2;
		int status;

		/* Aim: a worker inside an operation (the first found from a random
		 * one), then a random part of an operation's length, so that the
		 * commit and its fsync get hit. */
		for (;;) {
			unsigned v;
			for (v = 0; v < workers; v++)
				if (__atomic_load_n(&slots[(w + v) % workers].in_op, __ATOMIC_ACQUIRE))
					break;
			if (v < workers) {
				w = (w + v) % workers;
				break;
			}
			if (now_sec() > give_up)
				break;
			sleep_usec(20);
		}
		sleep_usec(rnd(&g, (uint64_t) slots[w].op_usec + 1));
		/* Reap workers that ended on their own (a lock timeout). */
		for (unsigned v = 0; v < workers; v++)
			if (waitpid(pids[v], &status, WNOHANG) == pids[v]) {
				if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 7)) {
					fail("worker %u died on its own: status 0x%x", v, status);
					crashed++;
				}
				pids[v] = spawn_kill_worker(v, max_ops, false);
			}
		kill(pids[w], SIGKILL);
		waitpid(pids[w], &status, 0);
		kills++;
		slots[w].in_op = 0;
		pids[w] = spawn_kill_worker(w, max_ops, false);
		if (crashed > 3)
			break;
	}
	for (unsigned w = 0; w < workers; w++) {
		int status;
		kill(pids[w], SIGKILL);
		waitpid(pids[w], &status, 0);
	}
	/* Each worker retries its unanswered operation once more, then stops. */
	for (unsigned w = 0; w < workers; w++) {
		int status;
		pid_t p = spawn_kill_worker(w, max_ops, true);
		waitpid(p, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail("final retry of worker %u: status 0x%x", w, status);
	}
	check_acknowledged(workers, max_ops, &acked, &retried, &replayed);
	note("%u SIGKILLs in %.1f s; %u operations acknowledged; %u retried after a kill mid-operation, %u of"
	     " which had committed before the kill (replayed, one effect)",
	     kills, now_sec() - start, acked, retried, replayed);
	if (retried < kills / 10)
		fail("only %u of %u kills landed inside an operation", retried, kills);
	/* Workers restarted after every kill still get work done. */
	if (acked < kills / 10)
		fail("too little progress: %u operations for %u kills", acked, kills);
	check_database();
	check_replay();
	return failures ? 1 : 0;
}

/* ---- contention (property 7) -------------------------------------------------- */

typedef struct Tally {
	pid_t pid;
	unsigned ok, busy, other, snapshot;
	double max_latency, max_busy_latency, last_ok;
} Tally;

static int contention_writer(unsigned w, int out_fd, double stop_at)
{
	Ledger *l = open_or_die();
	Tally t = {.pid = getpid()};
	unsigned i = 0;

	while (now_sec() < stop_at) {
		Rng g = rng_for(arg.seed, 5000 + w, i);
		char id[32];
		LedgerHoldRequest h = {.id = id,
				       .scope = scopes[rnd(&g, ARRAY_SIZE(scopes))],
				       .unit = "USD",
				       .amount = 1 + (int64_t) rnd(&g, UNIT),
				       .ttl_usec = 1000000,
				       .actor = "torture"};
		LedgerResult res;
		double t0 = now_sec(), dt;
		int r;

		snprintf(id, sizeof(id), "w%u-%u", w, i++);
		r = ledger_hold(l, &h, &res);
		dt = now_sec() - t0;
		t.max_latency = MAX(t.max_latency, dt);
		if (r >= 0) {
			t.ok++;
			t.last_ok = now_sec();
			if (res.code == LEDGER_OK && rnd(&g, 2)) {
				LedgerVoidRequest v = {.id = id, .actor = "torture"};
				(void) ledger_void(l, &v, &res);
			}
		} else if (r == -EBUSY) {
			t.busy++;
			t.max_busy_latency = MAX(t.max_busy_latency, dt);
		} else
			t.other++;
		if (r < 0 && ledger_errcode(l) == SQLITE_BUSY_SNAPSHOT)
			t.snapshot++;
	}
	ledger_close(l);
	if (write(out_fd, &t, sizeof(t)) != sizeof(t))
		return 1;
	return 0;
}

/* The writer holding the ledger's write queue, read from the robust mutex
 * in "<db>-lock" (glibc x86-64/aarch64 layout: the owner's TID is the third
 * int of pthread_mutex_t, which starts 8 bytes into the file). 0 if none. */
static pid_t lock_owner(void)
{
	char path[600];
	int fd, owner = 0;
	void *m;

	snprintf(path, sizeof(path), "%s-lock", arg.db);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return 0;
	owner = __atomic_load_n((int *) ((char *) m + 8 + 2 * sizeof(int)), __ATOMIC_ACQUIRE);
	munmap(m, 4096);
	return owner & 0x3fffffff;
}

static int run_contention(void)
{
	pid_t pids[256], stopped[8], reader;
	int tally_pipe[2], reader_ready[2], reader_go[2];
	unsigned n_stopped = 0;
	double start, stop_at, stall = 10.0 * arg.busy_msec / 1000, victim_latency = 0, bound;
	Tally sum = {0};

	if (arg.seconds < 1 + 3 * (stall + 1) + 1)
		return fail("--seconds must be at least %.1f for --busy-ms %u", 1 + 3 * (stall + 1) + 1, arg.busy_msec),
		       1;
	setup();
	if (pipe2(tally_pipe, O_CLOEXEC) < 0 || pipe2(reader_ready, O_CLOEXEC) < 0 || pipe2(reader_go, O_CLOEXEC) < 0)
		return fail("pipe: %m"), 1;

	/* A long reader: one read transaction across the whole run. */
	reader = fork_worker();
	if (reader == 0) {
		sqlite3 *db = raw_open();
		int64_t a, b;
		char c;
		sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		a = query_i64(db, "SELECT COUNT(*) FROM audit", NULL, NULL);
		if (write(reader_ready[1], "r", 1) != 1 || read(reader_go[0], &c, 1) < 0)
			_exit(1);
		b = query_i64(db, "SELECT COUNT(*) FROM audit", NULL, NULL);
		_exit(a == b && a > 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : 1);
	}
	close(reader_ready[1]);
	close(reader_go[0]);
	{
		char c;
		if (read(reader_ready[0], &c, 1) != 1)
			return fail("reader did not start"), 1;
	}

	start = now_sec();
	stop_at = start + arg.seconds;
	for (unsigned w = 0; w < arg.procs; w++) {
		pids[w] = fork_worker();
		if (pids[w] == 0)
			_exit(contention_writer(w, tally_pipe[1], stop_at));
	}
	close(tally_pipe[1]);

	/* Three times: stop whoever holds the lock, for ten busy timeouts. */
	for (int round = 0; round < 3; round++) {
		pid_t victim = 0;
		double until;

		while (now_sec() < start + 1 + round * (stall + 1))
			sleep_usec(10000);
		for (int tries = 0; tries < 2000 && !victim; tries++) {
			pid_t o = lock_owner();
			for (unsigned w = 0; w < arg.procs && o; w++)
				if (pids[w] == o) {
					kill(o, SIGSTOP);
					/* Still the owner once stopped? Then it is stopped
					 * while holding the lock. */
					if (lock_owner() == o)
						victim = o;
					else
						kill(o, SIGCONT);
					break;
				}
			if (!victim)
				sleep_usec(200);
		}
		if (!victim) {
			fail("could not catch a writer holding the lock");
			continue;
		}
		stopped[n_stopped++] = victim;
		until = now_sec() + stall;
		while (now_sec() < until)
			sleep_usec(10000);
		kill(victim, SIGCONT);
	}

	for (unsigned w = 0; w < arg.procs; w++) {
		Tally t;
		if (read(tally_pipe[0], &t, sizeof(t)) != sizeof(t)) {
			fail("a writer crashed or hung (no tally)");
			continue;
		}
		sum.ok += t.ok;
		sum.busy += t.busy;
		sum.other += t.other;
		sum.snapshot += t.snapshot;
		sum.last_ok = MAX(sum.last_ok, t.last_ok);
		/* A stopped writer's own call lasts as long as it was stopped. */
		{
			bool victim = false;
			for (unsigned k = 0; k < n_stopped; k++)
				victim |= stopped[k] == t.pid;
			if (victim)
				victim_latency = MAX(victim_latency, t.max_latency);
			else {
				sum.max_latency = MAX(sum.max_latency, t.max_latency);
				sum.max_busy_latency = MAX(sum.max_busy_latency, t.max_busy_latency);
			}
		}
	}
	for (unsigned w = 0; w < arg.procs; w++) {
		int status;
		waitpid(pids[w], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail("writer %u ended with status 0x%x", w, status);
	}
	if (write(reader_go[1], "x", 1) != 1)
		fail("reader pipe");
	{
		int status;
		waitpid(reader, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail("the long reader lost its snapshot or failed (status 0x%x)", status);
	}
	note("%u writers, %u stalls of %.1f s while holding the lock: %u calls done, %u denied by timeout, %u other"
	     " errors, %u SQLITE_BUSY_SNAPSHOT; busy timeout %.2f s, slowest denial %.2f s, slowest call %.2f s,"
	     " stopped writers' %.2f s",
	     arg.procs, n_stopped, stall, sum.ok, sum.busy, sum.other, sum.snapshot, arg.busy_msec / 1000.0,
	     sum.max_busy_latency, sum.max_latency, victim_latency);
	if (sum.busy == 0)
		fail("no call timed out: the stalls did not block anyone");
	if (sum.other || sum.snapshot)
		fail("errors other than a timeout");
	if (sum.ok == 0 || sum.last_ok < stop_at - 1)
		fail("work did not resume after the stalls");
	if (n_stopped < 3)
		fail("only %u of 3 stalls happened", n_stopped);
	/* A denied caller waited for the busy timeout, not for the stall (ten
	 * busy timeouts): halfway between the two is the line. (A call that
	 * got through may be slow on a loaded machine; that is no failure.) */
	bound = arg.busy_msec / 1000.0 + (stall - arg.busy_msec / 1000.0) / 2;
	if (sum.max_busy_latency > bound)
		fail("a call was denied after %.2f s with a busy timeout of %.2f s (bound %.2f s)",
		     sum.max_busy_latency, arg.busy_msec / 1000.0, bound);
	check_database();
	return failures ? 1 : 0;
}

/* ---- admit / settle: kdc-run's two calls, for the CLI tests ----------------
 *   admit SESSION TENANT[/PROJECT[/USER]] AMOUNT TTL-SECONDS [COMMAND]
 *   settle SESSION ACTUAL END-REASON EXIT-STATUS
 * Exit 0 admitted / settled, 1 denied (reason on stdout), 3 error. */
static int run_admit(int argc, char **argv)
{
	LedgerAdmitRequest req = {.session_id = argv[0], .hold_ttl_usec = strtoull(argv[3], NULL, 10) * USEC_PER_SEC};
	char scope[LEDGER_SCOPE_MAX], unit[UNITS_NAME_MAX], *p, *q;
	LedgerAdmitResult res;
	Ledger *l = open_or_die();
	int r;

	snprintf(scope, sizeof(scope), "%s", argv[1]);
	req.tenant = scope;
	if ((p = strchr(scope, '/'))) {
		*p++ = 0;
		req.project = p;
		if ((q = strchr(p, '/'))) {
			*q++ = 0;
			req.user = q;
		}
	}
	if (units_parse_amount(argv[2], false, &req.hold_amount, unit) < 0)
		return 3;
	req.unit = unit;
	req.command = argc > 4 ? argv[4] : NULL;
	r = ledger_admit(l, &req, &res);
	ledger_close(l);
	if (r < 0) {
		printf("error: %s\n", strerror(-r));
		return 3;
	}
	printf("%s\n", res.reason);
	return res.allowed ? 0 : 1;
}

static int run_settle(char **argv)
{
	LedgerSettleRequest req = {.session_id = argv[0],
				   .end_reason = argv[2],
				   .exit_status = atoi(argv[3]),
				   .wall_usec = 1500000,
				   .cpu_usec = 700000,
				   .memory_peak = 1 << 20};
	char unit[UNITS_NAME_MAX];
	Ledger *l = open_or_die();
	int r;

	if (units_parse_amount(argv[1], false, &req.actual, unit) < 0)
		return 3;
	r = ledger_settle(l, &req);
	ledger_close(l);
	if (r < 0) {
		printf("error: %s\n", strerror(-r));
		return r == -ETIME ? 1 : 3;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"seed", required_argument, NULL, 's'},
	    {"procs", required_argument, NULL, 'p'},
	    {"ops", required_argument, NULL, 'o'},
	    {"kills", required_argument, NULL, 'k'},
	    {"busy-ms", required_argument, NULL, 'b'},
	    {"seconds", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	static char dir[512];
	const char *mode, *e;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		switch (c) {
		case 'd':
			arg.db = optarg;
			break;
		case 's':
			arg.seed = strtoull(optarg, NULL, 10);
			break;
		case 'p':
			arg.procs = (unsigned) atoi(optarg);
			break;
		case 'o':
			arg.ops = (unsigned) atoi(optarg);
			break;
		case 'k':
			arg.kills = (unsigned) atoi(optarg);
			break;
		case 'b':
			arg.busy_msec = (unsigned) atoi(optarg);
			break;
		case 't':
			arg.seconds = atof(optarg);
			break;
		default:
			fprintf(stderr, "Usage: ledger-torture caps|kill|contention --db PATH [--seed N] [--procs N]"
					" [--ops N] [--kills N] [--busy-ms N] [--seconds S]\n");
			return c == 'h' ? 0 : 2;
		}
	if (optind >= argc || !arg.db || arg.procs < 1 || arg.procs > 256)
		return 2;
	mode = argv[optind];
	if (streq(mode, "admit") && argc - optind - 1 >= 4)
		return run_admit(argc - optind - 1, argv + optind + 1);
	if (streq(mode, "settle") && argc - optind - 1 == 4)
		return run_settle(argv + optind + 1);
	if (optind != argc - 1)
		return 2;
	e = getenv("KDC_TORTURE_SEED");
	if (!arg.seed)
		arg.seed = e ? strtoull(e, NULL, 10) : (uint64_t) time(NULL) ^ ((uint64_t) getpid() << 20);
	printf("# seed: %" PRIu64 " (replay with KDC_TORTURE_SEED=%" PRIu64 ")\n", arg.seed, arg.seed);
	fflush(stdout);
	snprintf(dir, sizeof(dir), "%s", arg.db);
	*strrchr(dir, '/') = 0;
	arg.dir = dir;

	if (streq(mode, "caps"))
		return run_caps();
	if (streq(mode, "kill"))
		return run_kill();
	if (streq(mode, "contention"))
		return run_contention();
	fprintf(stderr, "ledger-torture: unknown mode '%s'\n", mode);
	return 2;
}
