/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/ledger-plugin.h"
#include "shared/macro.h"

static int try_load(const char *path, const LedgerPlugin **ret, char **ret_error)
{
	const LedgerPlugin *p;
	void *h;

	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		free(*ret_error);
		*ret_error = strdup(dlerror());
		return -ENOENT;
	}
	p = dlsym(h, LEDGER_PLUGIN_SYMBOL);
	if (!p || p->version != LEDGER_PLUGIN_VERSION) {
		free(*ret_error);
		(void) asprintf(ret_error, "%s: no %s table of version %d", path, LEDGER_PLUGIN_SYMBOL,
				LEDGER_PLUGIN_VERSION);
		dlclose(h);
		return -ELIBBAD;
	}
	/* never unloaded: the ledger is used until exit */
	*ret = p;
	return 0;
}

int ledger_plugin_find(char **ret_path, char **ret_error)
{
	const char *env = getenv("KDC_LEDGER_PLUGIN");
	char exe[PATH_MAX], path[PATH_MAX + 32];
	const char *found = NULL;
	ssize_t n;

	*ret_error = NULL;
	if (!isempty(env))
		found = env;
	else {
		/* Beside the binary: the build tree, or a relocated install. */
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n > 0) {
			char *slash;
			exe[n] = 0;
			slash = strrchr(exe, '/');
			if (slash) {
				*slash = 0;
				snprintf(path, sizeof(path), "%s/%s", exe, LEDGER_PLUGIN_NAME);
				if (access(path, R_OK) == 0)
					found = path;
			}
		}
		if (!found)
			found = PKGLIBDIR "/" LEDGER_PLUGIN_NAME;
	}
	if (access(found, R_OK) < 0) {
		int r = negative_errno();
		if (asprintf(ret_error, "%s: %s", found, strerror(-r)) < 0)
			*ret_error = NULL;
		return r;
	}
	*ret_path = strdup(found);
	return *ret_path ? 0 : -ENOMEM;
}

int ledger_plugin_load(const char *path, const LedgerPlugin **ret, char **ret_error)
{
	*ret_error = NULL;
	return try_load(path, ret, ret_error);
}
