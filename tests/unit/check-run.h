/* SPDX-License-Identifier: MIT */
#pragma once

/* The end of every unit test's main(): run the suite (TAP comes from
 * CK_TAP_LOG_FILE_NAME, which the Makefile sets), free the runner, and
 * exit 1 if any test failed. Options (fork mode, ...) are set on sr before. */

#include <check.h>

static inline int check_run(SRunner *sr)
{
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
