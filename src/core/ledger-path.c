/* SPDX-License-Identifier: MIT */
/* Where the ledger is, and how long it waits for other writers, apart from
 * the ledger itself: kdc-run needs both (to find a resident clerk, and to
 * bound how long it waits for one) without loading SQLite. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ledger.h"
#include "shared/macro.h"

int ledger_default_path(char **ret)
{
	const char *e, *home;
	char *p;

	e = secure_getenv("KDC_DB");
	if (!isempty(e))
		p = strdup(e);
	else if (geteuid() == 0)
		p = strdup(LEDGER_SYSTEM_PATH);
	else {
		e = getenv("XDG_STATE_HOME");
		if (!isempty(e) && e[0] == '/') {
			if (asprintf(&p, "%s/kdc/kdc.db", e) < 0)
				p = NULL;
		} else {
			home = getenv("HOME");
			if (isempty(home) || home[0] != '/') {
				struct passwd *pw = getpwuid(geteuid());
				if (!pw || isempty(pw->pw_dir) || pw->pw_dir[0] != '/')
					return -ENXIO;
				home = pw->pw_dir;
			}
			if (asprintf(&p, "%s/.local/state/kdc/kdc.db", home) < 0)
				p = NULL;
		}
	}
	if (!p)
		return -ENOMEM;
	*ret = p;
	return 0;
}

int ledger_path_absolute(char **path)
{
	_cleanup_free_ char *cwd = NULL, *rel = NULL;

	if ((*path)[0] == '/')
		return 0;
	cwd = getcwd(NULL, 0);
	rel = TAKE_PTR(*path);
	if (!cwd || asprintf(path, "%s/%s", cwd, rel) < 0) {
		*path = NULL;
		return -ENOMEM;
	}
	return 0;
}

int ledger_busy_timeout_usec(uint64_t *ret)
{
	const char *e = getenv("KDC_LEDGER_BUSY_TIMEOUT");

	if (isempty(e)) {
		*ret = (uint64_t) LEDGER_DEFAULT_BUSY_TIMEOUT_MSEC * USEC_PER_MSEC;
		return 0;
	}
	return units_parse_duration(e, false, ret);
}
