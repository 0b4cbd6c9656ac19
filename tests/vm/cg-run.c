/* SPDX-License-Identifier: MIT */
/* cg-run: runs a command in a session cgroup made by src/core/cgroup.c and
 * prints what the cgroup saw as key=value lines; the quota tests' launcher
 * until kdc-run does the same (tests use $KDC_LAUNCH).
 *
 *   cg-run [--tenant T] [--session ID] [--memory SIZE] [--swap SIZE] [--cpu CORES]
 *          [--pids N] [--degrade memory,cpu,pids] [--timeout DURATION] [--crash] [--freeze-kill]
 *          -- COMMAND [ARG]...
 *   cg-run --probe | --find-mount
 *
 * The command starts inside the session cgroup (clone3 CLONE_INTO_CGROUP).
 * When it ends, cg-run prints procs_left (processes it left behind), kills
 * and empties the cgroup, prints the statistics and removes the cgroup.
 * --crash instead SIGKILLs cg-run itself once the command has ended, leaving
 * the cgroup and whatever is in it behind (a crashed kdc-run). --freeze-kill
 * empties the cgroup with the fallback for kernels without cgroup.kill.
 * Exit status: the command's, 128+signal, 124 on timeout, 125 when the
 * session cgroup cannot be made (the hint on stderr), 126/127 exec failure. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sched.h>

#include "core/cgroup.h"
#include "shared/fileio.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/units.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static uint64_t now_usec(void)
{
	struct timespec ts;
	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static int parse_degrade(const char *s, unsigned *ret)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {{"memory", DEGRADE_MEMORY}, {"cpu", DEGRADE_CPU}, {"pids", DEGRADE_PIDS}};
	_cleanup_free_ char *c = strdup(s);
	unsigned v = 0;
	char *save = NULL;

	if (!c)
		return -ENOMEM;
	for (char *t = strtok_r(c, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(names) && !streq(t, names[i].name); i++)
			;
		if (i == ARRAY_SIZE(names))
			return -EINVAL;
		v |= names[i].bit;
	}
	*ret = v;
	return 0;
}

static int count_procs(const char *cgroup)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	int n = 0;

	if (asprintf(&path, "%s/cgroup.procs", cgroup) < 0 || read_full_file(path, &text, NULL) < 0)
		return -1;
	for (char *p = text; *p; p++)
		n += *p == '\n';
	return n;
}

static int probe(void)
{
	CgroupProbe p = {};
	int r = cgroup_probe(&p);

	if (r < 0)
		return log_error_errno(r, "cannot probe cgroups: %m"), 1;
	printf("mount=%s\ncontrollers=%s\ncan_create=%s\ndelegated=%s\n", p.mount ? p.mount : "",
	       p.controllers ? p.controllers : "", p.can_create ? "yes" : "no", p.delegated ? "yes" : "no");
	if (p.why)
		printf("why=%s\n", p.why);
	cgroup_probe_done(&p);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"tenant", required_argument, NULL, 't'},
	    {"session", required_argument, NULL, 's'},
	    {"memory", required_argument, NULL, 'm'},
	    {"swap", required_argument, NULL, 'w'},
	    {"cpu", required_argument, NULL, 'c'},
	    {"pids", required_argument, NULL, 'p'},
	    {"degrade", required_argument, NULL, 'd'},
	    {"timeout", required_argument, NULL, 'T'},
	    {"crash", no_argument, NULL, 'C'},
	    {"probe", no_argument, NULL, 'P'},
	    {"find-mount", no_argument, NULL, 'M'},
	    {"freeze-kill", no_argument, NULL, 'F'},
	    {},
	};
	CgroupLimits lim = {LIMIT_UNSET, LIMIT_UNSET, LIMIT_UNSET, LIMIT_UNSET};
	const char *tenant = "test";
	_cleanup_free_ char *session = NULL, *hint = NULL;
	uint64_t timeout = UINT64_MAX, start, wall;
	unsigned degrade = 0, degraded = 0;
	bool crash = false, freeze_kill = false, timed_out = false;
	CgroupSession *s = NULL;
	CgroupStats st;
	_cleanup_close_ int pidfd = -EBADF;
	siginfo_t si = {};
	int c, r, left, status;

	log_set_program("cg-run");
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) >= 0) {
		switch (c) {
		case 't':
			tenant = optarg;
			break;
		case 's':
			free(session);
			session = strdup(optarg);
			break;
		case 'm':
		case 'w':
			r = units_parse_size(optarg, false, c == 'm' ? &lim.memory : &lim.swap);
			if (r < 0)
				return log_error_errno(r, "bad size '%s': %m", optarg), 2;
			break;
		case 'c':
			r = units_parse_cpu(optarg, &lim.cpu_millicores);
			if (r < 0)
				return log_error_errno(r, "bad cpu '%s': %m", optarg), 2;
			break;
		case 'p':
			r = units_parse_uint64(optarg, &lim.pids);
			if (r < 0)
				return log_error_errno(r, "bad pids '%s': %m", optarg), 2;
			break;
		case 'd':
			r = parse_degrade(optarg, &degrade);
			if (r < 0)
				return log_error_errno(r, "bad degrade list '%s': %m", optarg), 2;
			break;
		case 'T':
			r = units_parse_duration(optarg, false, &timeout);
			if (r < 0)
				return log_error_errno(r, "bad timeout '%s': %m", optarg), 2;
			break;
		case 'C':
			crash = true;
			break;
		case 'F':
			freeze_kill = true;
			break;
		case 'P':
			return probe();
		case 'M': {
			_cleanup_free_ char *m = NULL;
			r = cgroup_find_mount(&m);
			if (r < 0)
				return log_error_errno(r, "no cgroup2 mount: %m"), 1;
			printf("%s\n", m);
			return 0;
		}
		default:
			return 2;
		}
	}
	if (optind >= argc)
		return log_error("usage: cg-run [OPTIONS] -- COMMAND [ARG]..."), 2;
	if (!session && asprintf(&session, "cg-run-%d", (int) getpid()) < 0)
		return log_oom(), 1;

	r = cgroup_session_create(tenant, session, &lim, degrade, &s, &degraded, &hint);
	if (r < 0) {
		log_error_errno(r, "cannot create the session cgroup: %m");
		if (hint)
			log_error("%s", hint);
		return 125;
	}
	printf("cgroup=%s\n", cgroup_session_path(s));
	if (degraded & DEGRADE_MEMORY)
		printf("degraded=memory\n");
	if (degraded & DEGRADE_CPU)
		printf("degraded=cpu\n");
	if (degraded & DEGRADE_PIDS)
		printf("degraded=pids\n");
	fflush(stdout);

	struct clone_args ca = {
	    .flags = CLONE_INTO_CGROUP | CLONE_PIDFD,
	    .pidfd = (uint64_t) (uintptr_t) &pidfd,
	    .exit_signal = SIGCHLD,
	    .cgroup = (uint64_t) cgroup_session_fd(s),
	};
	start = now_usec();
	pid_t pid = (pid_t) syscall(SYS_clone3, &ca, sizeof ca);
	if (pid < 0) {
		r = negative_errno();
		(void) cgroup_session_destroy(s);
		return log_error_errno(r, "clone3 into the session cgroup failed: %m"), 125;
	}
	if (pid == 0) {
		execvp(argv[optind], argv + optind);
		_exit(errno == ENOENT ? 127 : 126);
	}

	for (;;) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		uint64_t now = now_usec();
		int ms = timeout == UINT64_MAX	  ? -1
			 : now - start >= timeout ? 0
						  : (int) ((timeout - (now - start) + 999) / 1000);

		r = poll(&p, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			/* The wall-clock limit: the whole cgroup goes, whatever it ignores. */
			timed_out = true;
			(void) cgroup_session_kill(s);
		}
		if (waitid(P_PIDFD, (id_t) pidfd, &si, WEXITED) >= 0)
			break;
		if (errno != EINTR)
			return log_error_errno(negative_errno(), "waitid: %m"), 1;
	}
	wall = now_usec() - start;
	status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;

	left = count_procs(cgroup_session_path(s));
	printf("procs_left=%d\n", left);
	fflush(stdout);
	if (crash) {
		(void) raise(SIGKILL);
		_exit(1);
	}
	r = freeze_kill ? cgroup_kill_by_freezing(cgroup_session_fd(s)) : cgroup_session_kill(s);
	if (r < 0)
		log_error_errno(r, "cannot kill the session cgroup: %m");
	r = cgroup_session_wait_empty(s, 10 * USEC_PER_SEC);
	printf("emptied=%s\n", r >= 0 ? "yes" : "no");
	r = cgroup_session_stats(s, &st);
	if (r < 0)
		log_error_errno(r, "cannot read the statistics: %m");
	else
		printf("wall_usec=%" PRIu64 "\ncpu_usec=%" PRIu64 "\nuser_usec=%" PRIu64 "\nsystem_usec=%" PRIu64
		       "\nnr_throttled=%" PRIu64 "\nthrottled_usec=%" PRIu64 "\nmemory_peak=%" PRIu64
		       "\noom_kill=%" PRIu64 "\nmemory_max=%" PRIu64 "\npids_peak=%" PRIu64 "\npids_max=%" PRIu64
		       "\nhas_memory=%d\nhas_cpu=%d\nhas_pids=%d\n",
		       wall, st.cpu_usec, st.user_usec, st.system_usec, st.nr_throttled, st.throttled_usec,
		       st.memory_peak, st.memory_events_oom_kill, st.memory_events_max, st.pids_peak,
		       st.pids_events_max, st.has_memory, st.has_cpu, st.has_pids);
	printf("status=%d\ntimeout=%d\n", status, timed_out);
	r = cgroup_session_destroy(s);
	printf("removed=%s\n", r >= 0 ? "yes" : "no");
	if (r < 0)
		log_error_errno(r, "cannot remove the session cgroup: %m");
	return timed_out ? 124 : status;
}
