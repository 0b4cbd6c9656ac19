/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "core/profile.h"

/* kdc-run's own exit statuses (DESIGN.md "End reasons and exit status");
 * otherwise it exits with the agent's status, or 128 + signal. */
enum {
	EXIT_BUDGET = 122,
	EXIT_DENIED = 123,
	EXIT_TIMEOUT = 124,
	EXIT_ERROR = 125,
	EXIT_CANNOT_EXEC = 126,
	EXIT_NOT_FOUND = 127,
	EXIT_MEMORY = 137,
	EXIT_SECCOMP = 159,
};

/* One kdc-run session, from plan to settlement. Returns the exit status
 * kdc-run exits with (DESIGN.md "End reasons and exit status"). */
int session_main(const char *profile, const ProfileOverrides *o, bool print_profile, bool dry_run,
		 const char *json_status);

/* kdc-run doctor [--json] */
int session_doctor(int argc, char *argv[]);
