/* SPDX-License-Identifier: MIT */
/* profile-dump: loads a profile with kdc-run's overrides and prints the plan
 * (profile_print), or the loader's error line. The integration tests drive
 * the loader through it.
 *
 *   profile-dump [--OVERRIDE VALUE]... [--bench N] PROFILE [--] [COMMAND...]
 *
 * Exit status: 0, or the errno of the failure (ENOENT 2, EINVAL 22, ELOOP 40).
 * --bench N loads the profile N times and prints the median and the best
 * time of one profile_load() in microseconds instead of the plan. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/profile.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/strv.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return (x > y) - (x < y);
}

static double now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static int bench(const char *profile, const ProfileOverrides *o, long n)
{
	_cleanup_free_ double *t = calloc((size_t) n, sizeof(double));

	if (!t)
		return log_oom();
	for (long i = 0; i < n; i++) {
		_cleanup_free_ char *error = NULL;
		Plan *p = NULL;
		double start = now_usec();
		int r = profile_load(profile, o, &p, &error);
		t[i] = now_usec() - start;
		if (r < 0)
			return log_error_errno(r, "%s", error);
		plan_free(p);
	}
	qsort(t, (size_t) n, sizeof(double), cmp_double);
	printf("profile_load('%s') x %ld: median %.1f us, best %.1f us\n", profile, n, t[n / 2], t[0]);
	return 0;
}

int main(int argc, char **argv)
{
	enum {
		OPT_TENANT = 256,
		OPT_PROJECT,
		OPT_USER,
		OPT_WORKDIR,
		OPT_RO_BIND,
		OPT_BIND,
		OPT_TMPFS,
		OPT_ENV,
		OPT_NET,
		OPT_ALLOW,
		OPT_MEMORY,
		OPT_CPU,
		OPT_PIDS,
		OPT_TIMEOUT,
		OPT_BENCH
	};
	static const struct option options[] = {
	    {"tenant", required_argument, NULL, OPT_TENANT},   {"project", required_argument, NULL, OPT_PROJECT},
	    {"user", required_argument, NULL, OPT_USER},       {"workdir", required_argument, NULL, OPT_WORKDIR},
	    {"ro-bind", required_argument, NULL, OPT_RO_BIND}, {"bind", required_argument, NULL, OPT_BIND},
	    {"tmpfs", required_argument, NULL, OPT_TMPFS},     {"env", required_argument, NULL, OPT_ENV},
	    {"net", required_argument, NULL, OPT_NET},	       {"allow", required_argument, NULL, OPT_ALLOW},
	    {"memory", required_argument, NULL, OPT_MEMORY},   {"cpu", required_argument, NULL, OPT_CPU},
	    {"pids", required_argument, NULL, OPT_PIDS},       {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"bench", required_argument, NULL, OPT_BENCH},     {},
	};
	_cleanup_strv_free_ char **ro = NULL, **rw = NULL, **tmpfs = NULL, **env = NULL, **allow = NULL;
	_cleanup_free_ char *error = NULL;
	_cleanup_plan_free_ Plan *plan = NULL;
	ProfileOverrides o = {};
	long n_bench = 0;
	int c, r;

	log_set_program(argv[0]);
	while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0) {
		r = 0;
		switch (c) {
		case OPT_TENANT:
			o.tenant = optarg;
			break;
		case OPT_PROJECT:
			o.project = optarg;
			break;
		case OPT_USER:
			o.user = optarg;
			break;
		case OPT_WORKDIR:
			o.workdir = optarg;
			break;
		case OPT_RO_BIND:
			r = strv_extend(&ro, optarg);
			break;
		case OPT_BIND:
			r = strv_extend(&rw, optarg);
			break;
		case OPT_TMPFS:
			r = strv_extend(&tmpfs, optarg);
			break;
		case OPT_ENV:
			r = strv_extend(&env, optarg);
			break;
		case OPT_NET:
			o.net = optarg;
			break;
		case OPT_ALLOW:
			r = strv_extend(&allow, optarg);
			break;
		case OPT_MEMORY:
			o.memory = optarg;
			break;
		case OPT_CPU:
			o.cpu = optarg;
			break;
		case OPT_PIDS:
			o.pids = optarg;
			break;
		case OPT_TIMEOUT:
			o.timeout = optarg;
			break;
		case OPT_BENCH:
			n_bench = strtol(optarg, NULL, 10);
			if (n_bench <= 0)
				return log_error("--bench: expected a count"), 64;
			break;
		default:
			return 64;
		}
		if (r < 0)
			return log_oom(), 1;
	}
	if (optind >= argc) {
		log_error("usage: %s [--OVERRIDE VALUE]... [--bench N] PROFILE [--] [COMMAND...]", argv[0]);
		return 64;
	}
	o.ro_binds = ro;
	o.binds = rw;
	o.tmpfs = tmpfs;
	o.env = env;
	o.allow = allow;
	if (optind + 1 < argc)
		o.argv = argv + optind + 1 + streq(argv[optind + 1], "--");
	if (n_bench)
		return bench(argv[optind], &o, n_bench) < 0 ? 1 : 0;

	r = profile_load(argv[optind], &o, &plan, &error);
	if (r < 0) {
		log_error("%s", error);
		return -r;
	}
	r = profile_print(plan, stdout);
	if (r < 0)
		return log_error_errno(r, "cannot print the plan: %m"), 1;
	return 0;
}
