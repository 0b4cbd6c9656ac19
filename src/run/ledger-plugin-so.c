/* SPDX-License-Identifier: MIT */
/* The table kdc-ledger.so exports; everything else in it is hidden. */
#include "run/ledger-plugin.h"

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
