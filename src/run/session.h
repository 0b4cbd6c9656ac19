/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "core/profile.h"

/* One kdc-run session, from plan to settlement. Returns the exit status
 * kdc-run exits with (DESIGN.md "End reasons and exit status"). */
int session_main(const char *profile, const ProfileOverrides *o, bool print_profile, bool dry_run,
		 const char *json_status);

/* kdc-run doctor [--json] */
int session_doctor(int argc, char *argv[]);
