/* SPDX-License-Identifier: MIT */
/* A ledger plugin whose open() kills its own process: what kdc-run sees when
 * the ledger clerk dies before answering (tests/integration/27-run-ledger.sh). */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "run/ledger-plugin.h"

static int crash_default_path(char **ret)
{
	(void) ret;
	(void) kill(getpid(), SIGKILL);
	return -EIO;
}

__attribute__((visibility("default"))) const LedgerPlugin kdc_ledger_plugin_v1 = {
    .version = LEDGER_PLUGIN_VERSION,
    .default_path = crash_default_path,
};
