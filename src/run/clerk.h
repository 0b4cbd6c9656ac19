/* SPDX-License-Identifier: MIT */
#pragma once

/* The ledger clerk: admission (DESIGN.md step 2) and settlement (step 10)
 * in a process of their own, so that SQLite and libcrypto never enter
 * kdc-run's address space (nor pid 1's, which kdc-run clones).
 *
 * kdc-run first asks a resident clerk of the same ledger, if there is one:
 * a Unix socket beside the database ("<db>-clerk"), owned by a clerk an
 * earlier kdc-run of the same user left behind. Otherwise it forks one. A
 * forked clerk serves that run and, unless $KDC_LEDGER_LINGER is 0, stays
 * for the next ones until it has been idle that long. Either way the
 * conversation is the same: one admission request, its answer, one
 * settlement request, its answer (length-prefixed JSON on a stream
 * socket). The clerk's log lines travel in the answers; kdc-run prints
 * them. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "core/ledger.h"

typedef struct ClerkAdmit {
	const char *db_path, *plugin_path;
	const char *tenant, *project, *user, *session_id, *unit, *command;
	const char *net; /* the audit rule of egress decisions */
	int64_t hold_amount;
	uint64_t hold_ttl_usec;
} ClerkAdmit;

typedef struct ClerkSettle {
	const char *reason;
	int exit_status;
	int64_t actual;
	uint64_t wall_usec, cpu_usec, memory_peak, pids_peak, egress_bytes;
	char *const *egress_lines; /* "allow|deny ..." lines for the audit trail */
	char *const *degraded;	   /* the controls the profile let go on this run */
} ClerkSettle;

typedef struct Clerk {
	pid_t pid;     /* a clerk we forked, -1 for a resident one */
	int fd;	       /* -EBADF: no clerk */
	int login_fd;  /* clerk_login_ask()'s connection, which clerk_begin() takes */
	char *login;   /* the login name a resident clerk gave */
	bool resident; /* talking to a resident clerk */
	bool answered;
	bool lingers; /* the forked clerk stays after us: not ours to reap */
	bool settle_sent;
	json_t *request; /* kept until answered: resent to a forked clerk */
	char *identity, *db_path, *plugin_path;
	uint64_t linger_usec;
	/* The answer. */
	int r; /* 0, or the exit status of a denial or error */
	bool admitted, denied;
	char *unanswered; /* the ledger could not answer: why (kdc-run decides) */
} Clerk;

#define CLERK_INIT ((Clerk){.pid = -1, .fd = -EBADF, .login_fd = -EBADF})

/* kdc-run's argv, which a forked clerk overwrites with its own title (so
 * that ps shows "kdc-run: ledger clerk ...", not the run it was forked by). */
void clerk_remember_argv(int argc, char **argv);

/* $KDC_LEDGER_LINGER (a duration, "0" for none; default 30s). -EINVAL for a
 * bad value. */
int clerk_linger(uint64_t *ret_usec);

/* The caller's login name (the default tenant) from the resident clerk of
 * the ledger at db_path, which keeps it (getpwuid(3) costs a run 0.2 ms
 * here, 11 ms in the VM harness's guest). clerk_login_ask() sends the
 * request before the profile loads (-errno when no resident clerk
 * listens); clerk_login_take() takes the answer if it has come, or comes
 * within 5 ms (a clerk busy with another run's transaction must not delay
 * this one longer): 0 and *ret (valid until clerk_done()), or -errno, and
 * the caller looks the name up itself. The connection of an answer taken
 * is kept for clerk_begin(). */
int clerk_login_ask(Clerk *c, const char *db_path, uint64_t linger_usec);
int clerk_login_take(Clerk *c, const char **ret);
/* Sends the admission request to a resident clerk, or forks one. */
int clerk_begin(Clerk *c, const ClerkAdmit *req, uint64_t linger_usec);
/* Waits for the answer (once); prints the clerk's lines. A clerk that ends
 * without one has admitted nothing: c->denied, r = EXIT_DENIED. */
int clerk_answer(Clerk *c);
/* Hands the end of the run over (once; nothing when nothing was admitted),
 * so that the clerk's transaction runs while kdc-run tidies up. */
void clerk_settle_send(Clerk *c, const ClerkSettle *m);
/* The same if not done yet, then waits until it is recorded and lets the
 * clerk go (reaps it unless it lingers). */
void clerk_settle(Clerk *c, const ClerkSettle *m);
/* Drops the conversation without settling (nothing was admitted), and
 * clerk_login_ask()'s connection if clerk_begin() did not take it. */
void clerk_done(Clerk *c);

/* kdc-ledger's hold, charge, post and void through the resident clerk of
 * the ledger at db_path (the one kdc-run leaves behind), when there is one
 * of this version: the calls then share its group commits with every other
 * client instead of each paying a transaction and a flush of its own.
 * clerk_ledger_connect() returns -errno when no clerk listens (or
 * $KDC_LEDGER_LINGER is 0): the caller opens the ledger itself. Each call
 * returns 1 when the clerk answered: *ret_r is what the ledger call
 * returned, its result in *ret, and when *ret_r < 0 SQLite's message in
 * *ret_errmsg (free it); 0 when this clerk cannot serve it (another version
 * of the ledger, or it went away): the caller makes the call itself, which
 * the ids make safe (a call made before is a replay). */
typedef struct ClerkLedger ClerkLedger;
int clerk_ledger_connect(const char *db_path, ClerkLedger **ret);
/* No resident clerk: forks one (it lingers for the next calls). */
int clerk_ledger_fork(const char *db_path, const char *plugin_path, ClerkLedger **ret);
void clerk_ledger_close(ClerkLedger *c);
int clerk_ledger_hold(ClerkLedger *c, const LedgerHoldRequest *req, bool charge, int *ret_r, LedgerResult *ret,
		      char **ret_errmsg);
int clerk_ledger_post(ClerkLedger *c, const LedgerPostRequest *req, int *ret_r, LedgerResult *ret, char **ret_errmsg);
int clerk_ledger_void(ClerkLedger *c, const LedgerVoidRequest *req, int *ret_r, LedgerResult *ret, char **ret_errmsg);
