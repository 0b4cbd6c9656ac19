/* SPDX-License-Identifier: MIT */
/*
 * kdc-run: plan, admit, build the box, run the agent, watch, settle.
 * DESIGN.md "kdc-run, step by step" is the specification; the numbers in
 * the comments below are its steps. This file parses the command line and
 * drives the core; the logic lives in src/core.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/profile.h"
#include "run/clerk.h"
#include "run/session.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/strv.h"

static const char *arg_profile = NULL;
static const char *arg_json_status = NULL;
static bool arg_print_profile = false;
static bool arg_dry_run = false;
static int arg_verbosity = LOG_LEVEL_NOTICE;
static ProfileOverrides arg_overrides = {0};

static void overrides_done(ProfileOverrides *o)
{
	strv_free(o->ro_binds);
	strv_free(o->binds);
	strv_free(o->tmpfs);
	strv_free(o->env);
	strv_free(o->allow);
}

static void help(void)
{
	printf("Usage: %s [OPTION...] [--] COMMAND [ARG...]\n"
	       "       %s doctor [--json]\n"
	       "\n"
	       "Run COMMAND as an agent in a box: its own user, mount, pid, network, ipc,\n"
	       "uts and cgroup namespaces, no capabilities, seccomp, a scrubbed environment.\n"
	       "\n"
	       "Identity:\n"
	       "      --tenant NAME         account the run to tenant NAME\n"
	       "      --project NAME        ... and to its project NAME\n"
	       "      --user NAME           ... and to its user NAME\n"
	       "Profile:\n"
	       "  -p, --profile NAME|PATH   load profile NAME (search path) or the file PATH\n"
	       "      --print-profile       print the resolved plan and where each value came from\n"
	       "  -n, --dry-run             check the plan and stop\n"
	       "Filesystem:\n"
	       "  -w, --workdir DIR         mount DIR read-write at /work (default: the current dir)\n"
	       "      --ro-bind SRC[:DST]   bind SRC read-only at DST (default: SRC)\n"
	       "      --bind SRC[:DST]      bind SRC read-write at DST\n"
	       "      --tmpfs DST[:SIZE]    mount an empty tmpfs at DST\n"
	       "Environment:\n"
	       "  -e, --env NAME[=VALUE]    pass NAME from the caller, or set it to VALUE\n"
	       "Network:\n"
	       "      --net MODE            none, proxy or filtered\n"
	       "      --allow HOST[:PORT]   allow egress to HOST, IP or CIDR, with PORT or any port\n"
	       "                            (filtered and proxy modes; repeatable)\n"
	       "Limits:\n"
	       "      --memory SIZE         memory limit (512M)\n"
	       "      --cpu CORES           CPU limit in cores (1.5) or percent (150%%)\n"
	       "      --pids N              limit on processes and threads\n"
	       "  -t, --timeout DURATION    wall-clock limit (30s, 5m, 1h)\n"
	       "Output:\n"
	       "      --json-status FILE    write the result as a JSON object to FILE\n"
	       "  -q, --quiet               print errors only\n"
	       "  -v, --verbose             say more (twice: debug)\n"
	       "  -h, --help                show this help\n"
	       "  -V, --version             show the version\n"
	       "\n"
	       "Exit status: the agent's; 124 timeout, 125 kdc-run error, 126 cannot execute,\n"
	       "127 not found, 122 budget cut, 123 denied, 137 memory, 128+N signal N, 159 seccomp.\n"
	       "See kdc-run(1) and kdc-profile(5).\n",
	       log_program(), log_program());
}

static int push_arg(char ***l, const char *v)
{
	if (strv_extend(l, v) < 0)
		return log_oom();
	return 0;
}

/* Returns > 0 to run, 0 to exit successfully, < 0 on a usage error. */
static int parse_argv(int argc, char *argv[])
{
	enum {
		ARG_TENANT = 0x100,
		ARG_PROJECT,
		ARG_USER,
		ARG_PRINT_PROFILE,
		ARG_RO_BIND,
		ARG_BIND,
		ARG_TMPFS,
		ARG_NET,
		ARG_ALLOW,
		ARG_MEMORY,
		ARG_CPU,
		ARG_PIDS,
		ARG_JSON_STATUS,
	};
	static const struct option options[] = {{"tenant", required_argument, NULL, ARG_TENANT},
						{"project", required_argument, NULL, ARG_PROJECT},
						{"user", required_argument, NULL, ARG_USER},
						{"profile", required_argument, NULL, 'p'},
						{"print-profile", no_argument, NULL, ARG_PRINT_PROFILE},
						{"dry-run", no_argument, NULL, 'n'},
						{"workdir", required_argument, NULL, 'w'},
						{"ro-bind", required_argument, NULL, ARG_RO_BIND},
						{"bind", required_argument, NULL, ARG_BIND},
						{"tmpfs", required_argument, NULL, ARG_TMPFS},
						{"env", required_argument, NULL, 'e'},
						{"net", required_argument, NULL, ARG_NET},
						{"allow", required_argument, NULL, ARG_ALLOW},
						{"memory", required_argument, NULL, ARG_MEMORY},
						{"cpu", required_argument, NULL, ARG_CPU},
						{"pids", required_argument, NULL, ARG_PIDS},
						{"timeout", required_argument, NULL, 't'},
						{"json-status", required_argument, NULL, ARG_JSON_STATUS},
						{"quiet", no_argument, NULL, 'q'},
						{"verbose", no_argument, NULL, 'v'},
						{"help", no_argument, NULL, 'h'},
						{"version", no_argument, NULL, 'V'},
						{}};
	ProfileOverrides *o = &arg_overrides;
	int c, r;

	/* '+': stop at the first non-option, so the agent's own options are
	 * never taken for ours even without "--". */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:p:nw:e:t:qvhV", options, NULL)) >= 0) {
		switch (c) {
		case ARG_TENANT:
			o->tenant = optarg;
			break;
		case ARG_PROJECT:
			o->project = optarg;
			break;
		case ARG_USER:
			o->user = optarg;
			break;
		case 'p':
			arg_profile = optarg;
			break;
		case ARG_PRINT_PROFILE:
			arg_print_profile = true;
			break;
		case 'n':
			arg_dry_run = true;
			break;
		case 'w':
			o->workdir = optarg;
			break;
		case ARG_RO_BIND:
			if ((r = push_arg(&o->ro_binds, optarg)) < 0)
				return r;
			break;
		case ARG_BIND:
			if ((r = push_arg(&o->binds, optarg)) < 0)
				return r;
			break;
		case ARG_TMPFS:
			if ((r = push_arg(&o->tmpfs, optarg)) < 0)
				return r;
			break;
		case 'e':
			if ((r = push_arg(&o->env, optarg)) < 0)
				return r;
			break;
		case ARG_NET:
			o->net = optarg;
			break;
		case ARG_ALLOW:
			if ((r = push_arg(&o->allow, optarg)) < 0)
				return r;
			break;
		case ARG_MEMORY:
			o->memory = optarg;
			break;
		case ARG_CPU:
			o->cpu = optarg;
			break;
		case ARG_PIDS:
			o->pids = optarg;
			break;
		case 't':
			o->timeout = optarg;
			break;
		case ARG_JSON_STATUS:
			arg_json_status = optarg;
			break;
		case 'q':
			arg_verbosity = LOG_LEVEL_QUIET;
			break;
		case 'v':
			arg_verbosity = arg_verbosity < LOG_LEVEL_INFO ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG;
			break;
		case 'h':
			help();
			return 0;
		case 'V':
			printf("kdc-run %s\n", PACKAGE_VERSION);
			return 0;
		case '?':
			if (optopt > 0 && optopt < 0x100)
				return log_error("unknown option '-%c'; see '%s --help'", optopt, log_program());
			return log_error("unknown option '%s'; see '%s --help'", argv[optind - 1], log_program());
		case ':':
			return log_error("option '%s' needs an argument; see '%s --help'", argv[optind - 1],
					 log_program());
		default:
			return log_error("unexpected option; see '%s --help'", log_program());
		}
	}
	log_set_level(arg_verbosity);
	if (optind >= argc && !arg_print_profile && !arg_dry_run)
		return log_error("no command given; usage: %s [OPTION...] [--] COMMAND [ARG...]", log_program());
	o->argv = argv + optind;
	return 1;
}

int main(int argc, char *argv[])
{
	int r;

	log_set_program(argv[0]);
	clerk_remember_argv(argc, argv);
	if (argc >= 2 && streq(argv[1], "doctor"))
		return session_doctor(argc - 1, argv + 1);

	r = parse_argv(argc, argv);
	if (r <= 0) {
		overrides_done(&arg_overrides);
		return r < 0 ? EXIT_ERROR : 0;
	}
	r = session_main(arg_profile, &arg_overrides, arg_print_profile, arg_dry_run, arg_json_status);
	overrides_done(&arg_overrides);
	return r;
}
