/* SPDX-License-Identifier: MIT */
#pragma once

/* The profile loader: INI profiles (man kdc-profile(5)) plus kdc-run's
 * command-line overrides, resolved and validated unprivileged into an
 * immutable Plan. Never logs; errors come back as -errno plus one line. */

#include <stdio.h>

#include "core/plan.h"

/* From kdc-run's command line; NULL = not given. The lists are
 * NULL-terminated (NULL = none) and add to the profile's lists. Error
 * messages name the option as kdc-run spells it: --tenant, --project,
 * --user, --workdir, --ro-bind, --bind, --tmpfs, --env, --net, --allow,
 * --memory, --cpu, --pids, --timeout. */
typedef struct ProfileOverrides {
	const char *tenant, *project, *user;
	const char *workdir; /* PATH (relative to the current directory) | cwd | none */
	char **ro_binds;     /* SRC[:DST]; a relative SRC is relative to the current directory */
	char **binds;	     /* SRC[:DST], read-write */
	char **tmpfs;	     /* DST[:SIZE] */
	char **env;	     /* NAME (keep) or NAME=VALUE (set) */
	const char *net;     /* none | proxy | filtered */
	char **allow;	     /* host:port, cidr:port */
	const char *memory, *cpu, *pids, *timeout;
	char **argv; /* the command */
} ProfileOverrides;

/* Loads NAME or PATH (a PATH contains a '/'; NULL means "default"), applies
 * the overrides (o may be NULL) and validates the result. A NAME is looked up
 * as <dir>/profiles/NAME.ini in $KDC_CONFIG_PATH (colon separated) when set,
 * else in $XDG_CONFIG_HOME/kdc (~/.config/kdc), SYSCONFDIR/kdc, PKGDATADIR.
 *
 * On failure returns -errno and an allocated one-line message without the
 * program prefix in *ret_error (when ret_error is not NULL):
 *   -ENOENT  the profile or an include was not found
 *   -ELOOP   include cycle, or includes nested too deeply
 *   -EINVAL  syntax, unknown section or key, bad value, failed validation
 *   -ENOMEM, or the errno of a failed read
 * e.g. "/p.ini:12: unknown key 'memroy' in [limits]",
 *      "--memory: invalid size 'abc': expected a size such as 512M". */
int profile_load(const char *name_or_path, const ProfileOverrides *o, Plan **ret, char **ret_error);

/* --print-profile: the resolved plan as INI text that kdc-profile(5) can read
 * back, each value followed by its origin ("; from /usr/share/kdc/profiles/
 * python.ini:7", "; from --memory", "; built-in default"), then the command
 * as a comment. Returns 0 or -errno of the failed write. */
int profile_print(const Plan *p, FILE *f);
