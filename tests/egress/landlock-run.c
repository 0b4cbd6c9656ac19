/* SPDX-License-Identifier: MIT */
/* landlock-run: applies a Landlock plan (src/core/landlock.h) to itself and
 * executes a command, for the integration tests.
 *
 *   landlock-run [--ro PATH]... [--rw PATH]... [--scope-abstract] [--scope-signal]
 *                [--deny-tcp-bind] [--degrade] -- COMMAND [ARG]...
 *   landlock-run --abi
 *
 * Any --ro/--rw turns the filesystem ruleset on. Prints what is enforced
 * ("landlock-run: enforced fs abstract-unix ...") on stderr. Exit 1 (with
 * the reason) if the plan cannot be applied, 2 for usage errors. */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/landlock.h"
#include "shared/strv.h"

int main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"ro", required_argument, NULL, 'r'},
	    {"rw", required_argument, NULL, 'w'},
	    {"scope-abstract", no_argument, NULL, 'A'},
	    {"scope-signal", no_argument, NULL, 'S'},
	    {"deny-tcp-bind", no_argument, NULL, 'B'},
	    {"degrade", no_argument, NULL, 'd'},
	    {"abi", no_argument, NULL, 'a'},
	    {},
	};
	LandlockPlan p = {};
	int c, r;

	while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0)
		switch (c) {
		case 'r':
			if (strv_extend(&p.ro_paths, optarg) < 0)
				return 1;
			p.fs = true;
			break;
		case 'w':
			if (strv_extend(&p.rw_paths, optarg) < 0)
				return 1;
			p.fs = true;
			break;
		case 'A':
			p.scope_abstract_unix = true;
			break;
		case 'S':
			p.scope_signal = true;
			break;
		case 'B':
			p.deny_tcp_bind = true;
			break;
		case 'd':
			p.degrade = true;
			break;
		case 'a':
			printf("%d\n", landlock_abi());
			return 0;
		default:
			return 2;
		}
	if (optind >= argc) {
		fprintf(stderr, "usage: landlock-run [--ro PATH]... [--rw PATH]... [--scope-abstract] [--scope-signal] "
				"[--deny-tcp-bind] [--degrade] -- COMMAND...\n");
		return 2;
	}

	r = landlock_apply(&p);
	if (r < 0) {
		fprintf(stderr, "landlock-run: cannot apply Landlock (ABI %d): %s\n", landlock_abi(), strerror(-r));
		return 1;
	}
	fprintf(stderr, "landlock-run: enforced%s%s%s%s%s\n", r & LANDLOCK_ENFORCED_FS ? " fs" : "",
		r & LANDLOCK_ENFORCED_ABSTRACT_UNIX ? " abstract-unix" : "",
		r & LANDLOCK_ENFORCED_SIGNAL ? " signal" : "", r & LANDLOCK_ENFORCED_TCP_BIND ? " tcp-bind" : "",
		r == 0 ? " nothing" : "");
	strv_free(p.ro_paths);
	strv_free(p.rw_paths);
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "landlock-run: cannot execute '%s': %m\n", argv[optind]);
	return 127;
}
