/* SPDX-License-Identifier: MIT */
/* The table kdc-ledger.so exports; everything else in it is hidden. */
#include "core/audit.h"
#include "run/ledger-plugin.h"

/* kdc-run only hashes audit rows: OpenSSL set up for that alone, before
 * anything else of it runs (see audit.c). */
__attribute__((constructor)) static void plugin_init(void)
{
	audit_crypto_init();
}

__attribute__((visibility("default"))) const LedgerPlugin kdc_ledger_plugin_v1 = {
    .version = LEDGER_PLUGIN_VERSION,
    .default_path = ledger_default_path,
    .open = ledger_open,
    .close = ledger_close,
    .errmsg = ledger_errmsg,
    .admit = ledger_admit,
    .settle = ledger_settle,
    .audit_many = ledger_audit_many,
    .group_begin = ledger_group_begin,
    .group_end = ledger_group_end,
    .hold = ledger_hold,
    .charge = ledger_charge,
    .post = ledger_post,
    .void_hold = ledger_void,
};
