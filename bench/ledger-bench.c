/* SPDX-License-Identifier: MIT */
/* Ledger throughput against the disk's own limit, measured in one run:
 *
 *   raw     single-row transactions/s with WAL + synchronous=FULL (the
 *           fsync rate of this disk as SQLite sees it): the peer;
 *   pairs1  hold+post pairs/s, one process;
 *   pairs32 hold+post pairs/s, 32 processes racing on nested caps, each
 *           with a connection of its own (one commit per call);
 *   clerk32 admit+settle pairs/s, 32 processes going through one resident
 *           ledger clerk as kdc-run does (src/run/clerk.c): it serves the
 *           requests that arrive together in one group commit. Each pair
 *           is a hold and its post plus the session's rows and audit;
 *   admit   kdc-run's cost per run: open + admit + settle + close.
 *
 * A pair is two durable transactions, so pairs/raw = 0.5 is the ceiling.
 * Each figure is the median of --rounds rounds, taken in turn so that a
 * slow moment of the disk hits all of them alike. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/ledger.h"
#include "run/clerk.h"
#include "run/ledger-plugin.h"
#include "shared/macro.h"

static double arg_seconds = 0.5;
#define MAX_ROUNDS 32
static unsigned arg_rounds = 9, arg_procs = 32;
static const char *arg_dir = ".";

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, int r)
{
	fprintf(stderr, "ledger-bench: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(1);
}

static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;

	unlink(path);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t (x INTEGER)", NULL, NULL,
			 NULL) != SQLITE_OK) {
		fprintf(stderr, "ledger-bench: raw: %s\n", sqlite3_errmsg(db));
		exit(1);
	}
	return db;
}

/* Single-row transactions per second, as fast as the disk allows. */
static double raw_rate(sqlite3 *db, double seconds)
{
	sqlite3_stmt *ins = NULL;
	unsigned long n = 0;
	double start, end;

	if (sqlite3_prepare_v2(db, "INSERT INTO t (x) VALUES (?1)", -1, &ins, NULL) != SQLITE_OK)
		exit(1);
	start = now_sec();
	end = start + seconds;
	do {
		sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		sqlite3_bind_int64(ins, 1, (sqlite3_int64) n);
		sqlite3_step(ins);
		sqlite3_reset(ins);
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			fprintf(stderr, "ledger-bench: raw commit: %s\n", sqlite3_errmsg(db));
			exit(1);
		}
		n++;
	} while (now_sec() < end);
	end = now_sec();
	sqlite3_finalize(ins);
	return (double) n / (end - start);
}

static void setup_ledger(const char *path)
{
	_cleanup_ledger_close_ Ledger *l = NULL;
	int r;

	r = ledger_open(path, &l);
	if (r < 0)
		die("open", r);
	r = ledger_tenant_add(l, "acme", NULL);
	if (r < 0)
		die("tenant add", r);
	/* Nested caps that never run out during the bench: every check reads
	 * them (tenant month + project day + user total). */
	if (ledger_budget_set(l, "acme", "USD", LEDGER_PERIOD_MONTH, INT64_C(1) << 60) < 0 ||
	    ledger_budget_set(l, "acme/p0", "USD", LEDGER_PERIOD_DAY, INT64_C(1) << 58) < 0 ||
	    ledger_budget_set(l, "acme/p1", "USD", LEDGER_PERIOD_DAY, INT64_C(1) << 58) < 0)
		die("budget set", -EIO);
}

/* One hold+post pair on the ledger l; 0, or -1 having said why. */
static int pair_direct(Ledger *l, const LedgerHoldRequest *h, const LedgerPostRequest *p)
{
	LedgerResult res;
	int r;

	r = ledger_hold(l, h, &res);
	if (r < 0 || res.code != LEDGER_OK) {
		fprintf(stderr, "ledger-bench: hold: %s %s\n", r < 0 ? strerror(-r) : "", res.reason);
		return -1;
	}
	r = ledger_post(l, p, &res);
	if (r < 0 || res.code != LEDGER_OK) {
		fprintf(stderr, "ledger-bench: post: %s %s\n", r < 0 ? strerror(-r) : "", res.reason);
		return -1;
	}
	return 0;
}

/* The same through the resident clerk of the ledger at path, as
 * `kdc-ledger hold` and `kdc-ledger post` make it: a connection for each
 * call. */
static int pair_clerk(const char *path, const LedgerHoldRequest *h, const LedgerPostRequest *p)
{
	LedgerResult res;
	ClerkLedger *c = NULL;
	_cleanup_free_ char *why = NULL;
	int r = 0, answered;

	answered = clerk_ledger_connect(path, &c) >= 0 && clerk_ledger_hold(c, h, false, &r, &res, &why) > 0;
	clerk_ledger_close(c);
	c = NULL;
	if (answered && r >= 0 && res.code == LEDGER_OK)
		answered = clerk_ledger_connect(path, &c) >= 0 && clerk_ledger_post(c, p, &r, &res, &why) > 0;
	clerk_ledger_close(c);
	if (!answered || r < 0 || res.code != LEDGER_OK) {
		fprintf(stderr, "ledger-bench: hold+post through the clerk: %s %s\n",
			!answered ? "no clerk answered"
			: r < 0	  ? strerror(-r)
				  : "",
			answered ? res.reason : "");
		return -1;
	}
	return 0;
}

/* Hold+post pairs until the deadline, on the ledger l, or through the clerk
 * of the ledger at path when l is NULL; returns how many, or -1. */
static long pairs_loop(Ledger *l, const char *path, unsigned worker, unsigned round, double deadline)
{
	char id[64], scope[64];
	long n = 0;

	snprintf(scope, sizeof(scope), "acme/p%u/u%u", worker % 2, worker);
	while (now_sec() < deadline) {
		LedgerHoldRequest h = {
		    .id = id,
		    .scope = scope,
		    .unit = "USD",
		    .amount = 1000000,
		    .ttl_usec = 60 * USEC_PER_SEC,
		    .actor = "ledger",
		};
		LedgerPostRequest p = {.id = id, .amount = 400000, .actor = "ledger"};

		snprintf(id, sizeof(id), "%s-%u-%u-%ld", l ? "b" : "k", round, worker, n);
		if ((l ? pair_direct(l, &h, &p) : pair_clerk(path, &h, &p)) < 0)
			return -1;
		n++;
	}
	return n;
}

/* Admission+settlement pairs through the resident clerk, as kdc-run makes
 * them: connect, admit (a hold of 1 USD), settle (0.40 USD posted). */
static const char *plugin_path;

static long clerk_loop(const char *path, unsigned worker, unsigned round, double deadline)
{
	char sid[64], user[16];
	long n = 0;

	snprintf(user, sizeof(user), "u%u", worker);
	while (now_sec() < deadline) {
		Clerk c;
		ClerkAdmit req = {
		    .db_path = path,
		    .plugin_path = plugin_path,
		    .tenant = "acme",
		    .project = worker % 2 ? "p1" : "p0",
		    .user = user,
		    .session_id = sid,
		    .unit = "USD",
		    .command = "/bin/true",
		    .net = "none",
		    .hold_amount = 1000000,
		    .hold_ttl_usec = 60 * USEC_PER_SEC,
		};
		int r;

		snprintf(sid, sizeof(sid), "c%u%u%ld%d", round, worker, n, (int) getpid());
		r = clerk_begin(&c, &req, 60 * USEC_PER_SEC);
		if (r >= 0)
			r = clerk_answer(&c);
		if (r != 0 || !c.admitted) {
			fprintf(stderr, "ledger-bench: admission through the clerk failed (%d)%s%s\n", r,
				c.unanswered ? ": " : "", c.unanswered ? c.unanswered : "");
			clerk_done(&c);
			return -1;
		}
		clerk_settle(&c, &(ClerkSettle){.reason = "exited", .actual = 400000});
		n++;
	}
	return n;
}

/* What a worker tells the parent at its end. */
typedef struct Report {
	long n;
	double end;
} Report;

typedef enum Way {
	WAY_OWN_CONNECTION, /* pairs_loop() on a ledger of its own */
	WAY_CLERK,	    /* clerk_loop() */
	WAY_CLERK_CALLS,    /* pairs_loop() through the clerk */
} Way;

/* Pairs/s of procs workers going the same way at once. */
static double rate(Way way, const char *path, unsigned procs, unsigned round, double seconds)
{
	int fds[2], go[2], ready[2];
	pid_t pids[256];
	double start, deadline, last_end = 0;
	long total = 0;

	if (procs == 1 && way == WAY_OWN_CONNECTION) {
		_cleanup_ledger_close_ Ledger *l = NULL;
		int r = ledger_open(path, &l);
		if (r < 0)
			die("open", r);
		start = now_sec();
		total = pairs_loop(l, path, 0, round, start + seconds);
		if (total < 0)
			exit(1);
		return (double) total / (now_sec() - start);
	}
	if (pipe2(fds, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0)
		die("pipe", errno);
	for (unsigned i = 0; i < procs; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork", errno);
		if (pids[i] == 0) {
			_cleanup_ledger_close_ Ledger *l = NULL;
			Report rep;
			double dl;
			int r;

			/* Opened before the start (opening is measured on its
			 * own below); the deadline comes with the start signal. */
			close(go[1]);
			if (way == WAY_OWN_CONNECTION && (r = ledger_open(path, &l)) < 0)
				die("open", r);
			if (write(ready[1], "x", 1) != 1 || read(go[0], &dl, sizeof(dl)) != sizeof(dl))
				_exit(1);
			rep.n = way == WAY_CLERK ? clerk_loop(path, i, round, dl) : pairs_loop(l, path, i, round, dl);
			/* Report before closing: closing is not part of the rate.
			 * One write (atomic below PIPE_BUF): the 32 reports
			 * must not interleave in the pipe. */
			rep.end = now_sec();
			if (write(fds[1], &rep, sizeof(rep)) != sizeof(rep))
				_exit(1);
			ledger_close(TAKE_PTR(l));
			_exit(rep.n < 0);
		}
	}
	close(go[0]);
	close(fds[1]);
	close(ready[1]);
	for (unsigned i = 0; i < procs; i++) {
		char x;
		if (read(ready[0], &x, 1) != 1)
			die("a worker could not start", EIO);
	}
	close(ready[0]);
	start = now_sec();
	deadline = start + seconds;
	for (unsigned i = 0; i < procs; i++)
		if (write(go[1], &deadline, sizeof(deadline)) != sizeof(deadline))
			die("write", errno);
	close(go[1]);
	for (unsigned i = 0; i < procs; i++) {
		Report rep;
		if (read(fds[0], &rep, sizeof(rep)) != sizeof(rep) || rep.n < 0) {
			fprintf(stderr, "ledger-bench: a worker failed\n");
			exit(1);
		}
		total += rep.n;
		last_end = MAX(last_end, rep.end);
	}
	for (unsigned i = 0; i < procs; i++)
		(void) waitpid(pids[i], NULL, 0);
	close(fds[0]);
	return (double) total / (last_end - start);
}

/* kdc-run's whole ledger cost per run, in milliseconds: open only, and
 * open + admit + settle + close (two durable transactions). */
static double open_ms(const char *path)
{
	double t[32], s;
	unsigned n = 30;

	for (unsigned i = 0; i < n; i++) {
		_cleanup_ledger_close_ Ledger *l = NULL;
		int r;

		s = now_sec();
		r = ledger_open(path, &l);
		if (r < 0)
			die("open", r);
		ledger_close(TAKE_PTR(l));
		t[i] = (now_sec() - s) * 1000;
	}
	return median(t, n);
}

/* One kdc-run's worth of ledger work: open, admit with a hold, settle,
 * close. 0 or -errno. */
static int one_run(const char *path, const char *sid)
{
	_cleanup_ledger_close_ Ledger *l = NULL;
	LedgerAdmitResult ar;
	int r;

	r = ledger_open(path, &l);
	if (r < 0)
		return r;
	r = ledger_admit(l,
			 &(LedgerAdmitRequest){.tenant = "acme",
					       .project = "p0",
					       .session_id = sid,
					       .hold_amount = 1000000,
					       .hold_ttl_usec = 60 * USEC_PER_SEC,
					       .command = "/bin/true"},
			 &ar);
	if (r < 0)
		return r;
	if (!ar.allowed)
		return -EPERM;
	return ledger_settle(l, &(LedgerSettleRequest){.session_id = sid, .actual = 1000, .end_reason = "exited"});
}

static double admit_ms(const char *path, unsigned round)
{
	double t[64], s;
	unsigned n = 30;

	for (unsigned i = 0; i < n; i++) {
		char sid[64];
		int r;

		snprintf(sid, sizeof(sid), "s-%u-%u-%d", round, i, getpid());
		s = now_sec();
		r = one_run(path, sid);
		if (r < 0)
			die("admit and settle", r);
		t[i] = (now_sec() - s) * 1000;
	}
	return median(t, n);
}

/* Milliseconds for a fresh process of this binary to do one kdc-run's
 * ledger work, minus the same process doing nothing: the cost kdc-run
 * sees, first SHA-256 (OpenSSL start-up) included, library loading not. */
static double fresh_ms(const char *self, const char *path, double *ret_noop_ms)
{
	double with[31], without[31];
	unsigned n = 31;

	for (unsigned i = 0; i < n; i++)
		for (int mode = 0; mode < 2; mode++) {
			double s = now_sec();
			int status;
			pid_t p = fork();
			if (p == 0) {
				execl(self, self, mode ? "--one-run" : "--noop", path, (char *) NULL);
				_exit(127);
			}
			waitpid(p, &status, 0);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				die("a fresh run failed", EIO);
			(mode ? with : without)[i] = (now_sec() - s) * 1000;
		}
	*ret_noop_ms = median(without, n);
	return median(with, n) - *ret_noop_ms;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, 'd'},    {"seconds", required_argument, NULL, 's'},
	    {"rounds", required_argument, NULL, 'r'}, {"procs", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},	      {},
	};
	double raw_a[MAX_ROUNDS], raw_b[MAX_ROUNDS], p1[MAX_ROUNDS], pn[MAX_ROUNDS], q1[MAX_ROUNDS], qn[MAX_ROUNDS];
	double adm[MAX_ROUNDS], opn[MAX_ROUNDS], raw_all[4 * MAX_ROUNDS], cn[MAX_ROUNDS], raw_c[MAX_ROUNDS],
	    qc[MAX_ROUNDS], kn[MAX_ROUNDS], raw_d[MAX_ROUNDS], qk[MAX_ROUNDS];
	char *plugin_error = NULL, *found = NULL;
	char ledger_path[4096], raw_path[4096], label[64];
	sqlite3 *raw;
	int c;

	if (argc == 3 && streq(argv[1], "--one-run")) {
		char sid[64];
		snprintf(sid, sizeof(sid), "f-%d-%ld", getpid(), (long) (now_sec() * 1e6));
		return one_run(argv[2], sid) < 0;
	}
	if (argc == 3 && streq(argv[1], "--noop"))
		return 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		switch (c) {
		case 'd':
			arg_dir = optarg;
			break;
		case 's':
			arg_seconds = atof(optarg);
			break;
		case 'r':
			arg_rounds = (unsigned) atoi(optarg);
			break;
		case 'p':
			arg_procs = (unsigned) atoi(optarg);
			break;
		default:
			printf("Usage: ledger-bench [--dir DIR] [--seconds S] [--rounds N] [--procs N]\n");
			return c == 'h' ? 0 : 2;
		}
	if (arg_rounds < 1 || arg_rounds > MAX_ROUNDS || arg_procs < 2 || arg_procs > 256 || arg_seconds <= 0) {
		fprintf(stderr, "ledger-bench: --rounds must be 1-%d, --procs 2-256, --seconds > 0\n", MAX_ROUNDS);
		return 2;
	}

	/* The clerk loads the ledger plugin as kdc-run's does
	 * ($KDC_LEDGER_PLUGIN; bench/ledger points it at the build tree). */
	clerk_remember_argv(argc, argv);
	if (ledger_plugin_find(&found, &plugin_error) < 0) {
		fprintf(stderr, "ledger-bench: %s\n", plugin_error);
		return 1;
	}
	plugin_path = found;
	snprintf(ledger_path, sizeof(ledger_path), "%s/bench-ledger.db", arg_dir);
	snprintf(raw_path, sizeof(raw_path), "%s/bench-raw.db", arg_dir);
	unlink(ledger_path);
	setup_ledger(ledger_path);
	raw = raw_open(raw_path);

	/* Warm up: both WALs grown to their steady size (past a checkpoint). */
	(void) raw_rate(raw, arg_seconds);
	(void) rate(WAY_OWN_CONNECTION, ledger_path, 1, 99, arg_seconds);
	(void) rate(WAY_CLERK, ledger_path, arg_procs, 99, arg_seconds); /* and the clerk started */

	/* Each ledger figure is paired with a raw figure taken just before it,
	 * so the ratio holds even when the disk's speed drifts. */
	for (unsigned r = 0; r < arg_rounds; r++) {
		raw_a[r] = raw_rate(raw, arg_seconds);
		p1[r] = rate(WAY_OWN_CONNECTION, ledger_path, 1, r, arg_seconds);
		raw_b[r] = raw_rate(raw, arg_seconds);
		pn[r] = rate(WAY_OWN_CONNECTION, ledger_path, arg_procs, r, arg_seconds);
		q1[r] = p1[r] / raw_a[r];
		qn[r] = pn[r] / raw_b[r];
		raw_c[r] = raw_rate(raw, arg_seconds);
		cn[r] = rate(WAY_CLERK, ledger_path, arg_procs, r, arg_seconds);
		qc[r] = cn[r] / raw_c[r];
		raw_d[r] = raw_rate(raw, arg_seconds);
		kn[r] = rate(WAY_CLERK_CALLS, ledger_path, arg_procs, r, arg_seconds);
		qk[r] = kn[r] / raw_d[r];
		raw_all[4 * r] = raw_a[r];
		raw_all[4 * r + 1] = raw_b[r];
		raw_all[4 * r + 2] = raw_c[r];
		raw_all[4 * r + 3] = raw_d[r];
		opn[r] = open_ms(ledger_path);
		adm[r] = admit_ms(ledger_path, r);
	}

	printf("ledger bench: %s, %u rounds of %.2f s each, medians\n", arg_dir, arg_rounds, arg_seconds);
	printf("%-50s %10s %12s\n", "measure", "value", "ratio to raw");
	printf("%-50s %10.0f %12s\n", "raw single-row txn/s (WAL, synchronous=FULL)", median(raw_all, 4 * arg_rounds),
	       "1.00");
	printf("%-50s %10.0f %12.2f\n", "hold+post pairs/s, 1 process", median(p1, arg_rounds), median(q1, arg_rounds));
	snprintf(label, sizeof(label), "hold+post pairs/s, %u processes", arg_procs);
	printf("%-50s %10.0f %12.2f\n", label, median(pn, arg_rounds), median(qn, arg_rounds));
	snprintf(label, sizeof(label), "hold+post pairs/s, %u processes, via clerk", arg_procs);
	printf("%-50s %10.0f %12.2f\n", label, median(kn, arg_rounds), median(qk, arg_rounds));
	snprintf(label, sizeof(label), "admit+settle pairs/s, %u processes, via clerk", arg_procs);
	printf("%-50s %10.0f %12.2f\n", label, median(cn, arg_rounds), median(qc, arg_rounds));
	printf("%-50s %10.2f\n", "kdc-run: ledger_open+close, ms", median(opn, arg_rounds));
	printf("%-50s %10.2f\n", "kdc-run: open+admit+settle+close, ms", median(adm, arg_rounds));
	{
		double noop, fresh = fresh_ms("/proc/self/exe", ledger_path, &noop);
		printf("%-50s %10.2f   (the process itself: %.2f ms)\n", "kdc-run: the same in a fresh process, ms",
		       fresh, noop);
	}
	printf("target: pairs/s >= 0.40 x raw (0.50 is the limit for one commit per transaction; the clerk's\n"
	       "group commit puts several runs' transactions in one); ratios are medians of per-round\n"
	       "ratios against the raw rate measured just before.\n");
	sqlite3_close(raw);
	unlink(raw_path);
	return 0;
}
