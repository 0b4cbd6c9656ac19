/* SPDX-License-Identifier: MIT */
#pragma once

/* kdc-run reaches the ledger through a plugin, kdc-ledger.so, that it loads
 * with dlopen() only once the box is being built: SQLite and libcrypto cost
 * several milliseconds to load and initialise, and loading them after
 * clone3() lets that work run on another core while the child builds the
 * box. The agent is not started until admission has said yes.
 *
 * The plugin is the ledger's own code (src/core/ledger.c, audit.c,
 * ratelimit.c) built as a shared object that exports one table. */

#include "core/ledger.h"

typedef struct LedgerPlugin {
	unsigned version;
	int (*default_path)(char **ret);
	int (*open)(const char *path, Ledger **ret);
	void (*close)(Ledger *l);
	const char *(*errmsg)(const Ledger *l);
	int (*admit)(Ledger *l, const LedgerAdmitRequest *req, LedgerAdmitResult *ret);
	int (*settle)(Ledger *l, const LedgerSettleRequest *req);
	int (*audit_many)(Ledger *l, const AuditRecord *recs, size_t n);
	int (*group_begin)(Ledger *l); /* may be NULL: one commit per request */
	int (*group_end)(Ledger *l);
	/* kdc-ledger hold, charge, post and void through the clerk */
	int (*hold)(Ledger *l, const LedgerHoldRequest *req, LedgerResult *ret);
	int (*charge)(Ledger *l, const LedgerHoldRequest *req, LedgerResult *ret);
	int (*post)(Ledger *l, const LedgerPostRequest *req, LedgerResult *ret);
	int (*void_hold)(Ledger *l, const LedgerVoidRequest *req, LedgerResult *ret);
} LedgerPlugin;

/* 2: LedgerSettleRequest.extra, 3: group_begin/end, 4: hold, charge, post, void */
#define LEDGER_PLUGIN_VERSION 4
#define LEDGER_PLUGIN_SYMBOL "kdc_ledger_plugin_v1"
#define LEDGER_PLUGIN_NAME "kdc-ledger.so"

/* Finds and loads the plugin: $KDC_LEDGER_PLUGIN, else kdc-ledger.so beside
 * the kdc-run binary (a build tree), else PKGLIBDIR. On failure returns
 * -errno and a one-line reason in *ret_error. */
/* Where the plugin is: $KDC_LEDGER_PLUGIN, beside the binary, or the
 * package's library directory. -errno and why (*ret_error) when there is no
 * readable file there: kdc-run then starts no clerk for it. */
int ledger_plugin_find(char **ret_path, char **ret_error);
/* Loads it (dlopen, never unloaded). */
int ledger_plugin_load(const char *path, const LedgerPlugin **ret, char **ret_error);
