/* SPDX-License-Identifier: MIT */
/* The table kdc-ledger.so exports; everything else in it is hidden. */
#include <openssl/crypto.h>

#include "run/ledger-plugin.h"

/* kdc-run only hashes audit rows: no need for OpenSSL to find, read and
 * parse openssl.cnf on the start-up path. */
__attribute__((constructor)) static void plugin_init(void)
{
	(void) OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
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
};
