/* SPDX-License-Identifier: MIT */
/* egress-run: a tiny launcher for the egress tests, until kdc-run attaches
 * the programs itself.
 *
 *   egress-run [--allow ENTRY]... [--deny-all] [--shared] [--events FILE] [--drop-net-raw] -- COMMAND [ARG]...
 *   egress-run [--allow ENTRY]... --print-plan
 *   egress-run --probe
 *
 * Creates a sub-cgroup of its own cgroup in the cgroup2 hierarchy (found in
 * /proc/self/mountinfo), attaches the programs with the allowlist, runs
 * COMMAND inside it (clone3 with CLONE_INTO_CGROUP, or writing the child's
 * pid to cgroup.procs before it execs), prints every ring-buffer event as
 * "egress: <event>" to FILE (default stderr) after "egress: cgroup PATH" and
 * "egress: pid PID" (COMMAND's), and at the end
 * "egress: stats bytes=N allowed=N denied=N lost=N". Then it kills what is
 * left in the cgroup, detaches the programs and removes the cgroup. Exits
 * with COMMAND's status (128+N for a signal); 1 if it cannot set up; 2 for
 * usage errors. --drop-net-raw removes CAP_NET_RAW from COMMAND, as kdc-run
 * drops every capability.
 *
 * --shared: the sub-cgroup plays kdc.slice and COMMAND runs in its child
 * "box", registered with the shared programs (egress_attach_session());
 * removing the sub-cgroup at the end detaches them. Exits 1 if the shared
 * path was not taken. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/egress.h"
#include "shared/fileio.h"
#include "shared/macro.h"
#include "shared/strv.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static char **arg_allow = NULL;
static bool arg_deny_all = false;
static bool arg_shared = false;
static bool arg_drop_net_raw = false;
static bool arg_print_plan = false;
static bool arg_probe = false;
static const char *arg_events = NULL;

static FILE *events_out = NULL;

static void help(void)
{
	printf("usage: egress-run [--allow ENTRY]... [--deny-all] [--shared] [--events FILE] [--drop-net-raw] -- "
	       "COMMAND...\n"
	       "       egress-run [--allow ENTRY]... --print-plan\n"
	       "       egress-run --probe\n");
}

static int parse_argv(int argc, char **argv)
{
	static const struct option options[] = {
	    {"allow", required_argument, NULL, 'a'},
	    {"deny-all", no_argument, NULL, 'D'},
	    {"events", required_argument, NULL, 'e'},
	    {"drop-net-raw", no_argument, NULL, 'R'},
	    {"print-plan", no_argument, NULL, 'P'},
	    {"probe", no_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {"shared", no_argument, NULL, 'S'},
	    {},
	};
	int c;

	while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
		switch (c) {
		case 'a':
			if (strv_extend(&arg_allow, optarg) < 0)
				return -ENOMEM;
			break;
		case 'D':
			arg_deny_all = true;
			break;
		case 'S':
			arg_shared = true;
			break;
		case 'e':
			arg_events = optarg;
			break;
		case 'R':
			arg_drop_net_raw = true;
			break;
		case 'P':
			arg_print_plan = true;
			break;
		case 'p':
			arg_probe = true;
			break;
		case 'h':
			help();
			exit(0);
		default:
			return -EINVAL;
		}
	if (!arg_print_plan && !arg_probe && optind >= argc)
		return -EINVAL;
	return optind;
}

/* The cgroup2 mount point, from /proc/self/mountinfo. */
static int cgroup2_mount(char **ret)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t n = 0;

	if (!f)
		return negative_errno();
	while (getline(&line, &n, f) > 0) {
		char *sep = strstr(line, " - "), mnt[4096];
		if (!sep || strncmp(sep, " - cgroup2 ", 11) != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		*ret = strdup(mnt);
		return *ret ? 0 : -ENOMEM;
	}
	return -ENOENT;
}

/* Our own cgroup2 path ("0::/path"). */
static int own_cgroup(char **ret)
{
	_cleanup_free_ char *s = NULL;
	char *p, *nl;
	int r = read_full_file("/proc/self/cgroup", &s, NULL);

	if (r < 0)
		return r;
	p = strstr(s, "0::");
	if (!p || (p != s && p[-1] != '\n'))
		return -ENOENT;
	p += 3;
	nl = strchr(p, '\n');
	if (nl)
		*nl = 0;
	*ret = strdup(p);
	return *ret ? 0 : -ENOMEM;
}

static void print_event(const EgressEvent *ev, void *userdata)
{
	_cleanup_free_ char *s = NULL;

	if (egress_event_format(ev, &s) >= 0)
		fprintf(events_out, "egress: %s\n", s);
}

static int drop_net_raw(void)
{
	cap_value_t v = CAP_NET_RAW;
	cap_t c;
	int r = 0;

	if (cap_drop_bound(CAP_NET_RAW) < 0)
		return negative_errno();
	c = cap_get_proc();
	if (!c)
		return negative_errno();
	if (cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_CLEAR) < 0 ||
	    cap_set_flag(c, CAP_PERMITTED, 1, &v, CAP_CLEAR) < 0 ||
	    cap_set_flag(c, CAP_INHERITABLE, 1, &v, CAP_CLEAR) < 0 || cap_set_proc(c) < 0)
		r = negative_errno();
	cap_free(c);
	return r;
}

static _noreturn_ void child_exec(char **argv)
{
	if (arg_drop_net_raw && drop_net_raw() < 0) {
		fprintf(stderr, "egress-run: cannot drop CAP_NET_RAW: %m\n");
		_exit(127);
	}
	execvp(argv[0], argv);
	fprintf(stderr, "egress-run: cannot execute '%s': %m\n", argv[0]);
	_exit(127);
}

/* Starts argv inside the cgroup; returns the pid and a pidfd. */
static int spawn(int cgroup_fd, char **argv, int *ret_pidfd)
{
	struct clone_args args = {
	    .flags = CLONE_INTO_CGROUP | CLONE_PIDFD,
	    .exit_signal = SIGCHLD,
	    .cgroup = (uint64_t) cgroup_fd,
	};
	int pidfd = -1;
	pid_t pid;

	args.pidfd = (uint64_t) (uintptr_t) &pidfd;
	pid = (pid_t) syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		child_exec(argv);
	if (pid > 0) {
		*ret_pidfd = pidfd;
		return pid;
	}
	if (errno != ENOSYS && errno != E2BIG && errno != EINVAL)
		return negative_errno();

	/* Older kernels: fork, move the child, then let it exec. */
	{
		_cleanup_close_pair_ int go[2] = {-EBADF, -EBADF};
		char pidbuf[32], c;

		if (pipe2(go, O_CLOEXEC) < 0)
			return negative_errno();
		pid = fork();
		if (pid < 0)
			return negative_errno();
		if (pid == 0) {
			go[1] = safe_close(go[1]);
			if (read(go[0], &c, 1) != 1)
				_exit(127);
			child_exec(argv);
		}
		snprintf(pidbuf, sizeof(pidbuf), "%d", (int) pid);
		if (write_string_file_at(cgroup_fd, "cgroup.procs", pidbuf) < 0) {
			kill(pid, SIGKILL);
			(void) waitpid(pid, NULL, 0);
			return -EPERM;
		}
		if (write(go[1], "x", 1) != 1)
			return negative_errno();
		*ret_pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
		if (*ret_pidfd < 0)
			return negative_errno();
		return pid;
	}
}

static void cgroup_remove(int parent_fd, const char *name, int cgroup_fd)
{
	/* Whatever COMMAND left behind (a double-forked daemon) goes first. */
	(void) write_string_file_at(cgroup_fd, "cgroup.kill", "1");
	for (int i = 0; i < 200; i++) {
		if (unlinkat(parent_fd, name, AT_REMOVEDIR) >= 0 || errno != EBUSY)
			return;
		(void) nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	}
	fprintf(stderr, "egress-run: cannot remove cgroup '%s', ignoring: %m\n", name);
}

int main(int argc, char **argv)
{
	_cleanup_egress_plan_done_ EgressPlan plan = {};
	_cleanup_free_ char *bad = NULL, *mnt = NULL, *own = NULL, *parent = NULL, *name = NULL, *why = NULL;
	_cleanup_close_ int parent_fd = -EBADF, cgroup_fd = -EBADF, pidfd = -EBADF, sfd = -EBADF, box_fd = -EBADF;
	_cleanup_egress_free_ Egress *e = NULL;
	uint64_t bytes = 0, allowed = 0, denied = 0, lost = 0;
	siginfo_t si = {};
	sigset_t mask;
	int r, first, status;
	pid_t pid;

	r = parse_argv(argc, argv);
	if (r < 0) {
		help();
		return 2;
	}
	first = r;

	r = egress_plan_parse(arg_allow, &plan, &bad);
	if (r < 0) {
		fprintf(stderr, "egress-run: invalid allow entry '%s': %s\n", bad, egress_plan_why(r));
		return 2;
	}
	if (arg_print_plan) {
		_cleanup_free_ char *s = NULL;
		if (egress_plan_format(&plan, &s) < 0)
			return 1;
		fputs(s, stdout);
		return 0;
	}

	if (arg_probe) {
		r = egress_probe(&why);
		if (r < 0) {
			fprintf(stderr, "egress-run: cannot use the eBPF egress programs: %s\n", why);
			return 1;
		}
		printf("ok\n");
		return 0;
	}
	if (!egress_supported()) {
		(void) egress_probe(&why);
		fprintf(stderr, "egress-run: cannot use the eBPF egress programs: %s\n", why);
		return 1;
	}

	events_out = stderr;
	if (arg_events) {
		events_out = fopen(arg_events, "we");
		if (!events_out) {
			fprintf(stderr, "egress-run: cannot open '%s': %m\n", arg_events);
			return 1;
		}
		setvbuf(events_out, NULL, _IOLBF, 0);
	}

	r = cgroup2_mount(&mnt);
	if (r < 0) {
		fprintf(stderr, "egress-run: no cgroup2 hierarchy in /proc/self/mountinfo: %s\n", strerror(-r));
		return 1;
	}
	r = own_cgroup(&own);
	if (r < 0) {
		fprintf(stderr, "egress-run: cannot read /proc/self/cgroup: %s\n", strerror(-r));
		return 1;
	}
	if (asprintf(&parent, "%s%s", mnt, own) < 0 || asprintf(&name, "kdc-egress-test.%d", (int) getpid()) < 0)
		return 1;
	parent_fd = open(parent, O_DIRECTORY | O_PATH | O_CLOEXEC);
	if (parent_fd < 0 || mkdirat(parent_fd, name, 0755) < 0) {
		int saved = errno;
		/* An unprivileged caller: the BPF refusal is the one with the fix. */
		if (egress_probe(&why) < 0) {
			fprintf(stderr, "egress-run: cannot use the eBPF egress programs: %s\n", why);
			return 1;
		}
		fprintf(stderr, "egress-run: cannot create cgroup '%s/%s': %s\n", parent, name, strerror(saved));
		return 1;
	}
	cgroup_fd = openat(parent_fd, name, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (cgroup_fd < 0) {
		fprintf(stderr, "egress-run: cannot open cgroup '%s/%s': %m\n", parent, name);
		(void) unlinkat(parent_fd, name, AT_REMOVEDIR);
		return 1;
	}

	if (arg_shared) {
		if (mkdirat(cgroup_fd, "box", 0755) < 0 ||
		    (box_fd = openat(cgroup_fd, "box", O_DIRECTORY | O_RDONLY | O_CLOEXEC)) < 0) {
			fprintf(stderr, "egress-run: cannot create cgroup '%s/%s/box': %m\n", parent, name);
			(void) unlinkat(cgroup_fd, "box", AT_REMOVEDIR);
			(void) unlinkat(parent_fd, name, AT_REMOVEDIR);
			return 1;
		}
		r = egress_attach_session(&plan, cgroup_fd, box_fd, arg_deny_all ? EGRESS_DENY_ALL : 0, &e);
		if (r == 0) {
			fprintf(stderr, "egress-run: the shared programs were not used\n");
			r = -EADDRNOTAVAIL;
		}
	} else
		r = egress_attach(&plan, cgroup_fd, arg_deny_all ? EGRESS_DENY_ALL : 0, &e);
	if (r < 0) {
		egress_free(TAKE_PTR(e));
		if (box_fd >= 0)
			(void) unlinkat(cgroup_fd, "box", AT_REMOVEDIR);
		(void) unlinkat(parent_fd, name, AT_REMOVEDIR);
		/* The probe (a second load) only to explain a failure. */
		if (egress_probe(&why) < 0)
			fprintf(stderr, "egress-run: cannot use the eBPF egress programs: %s\n", why);
		else
			fprintf(stderr, "egress-run: cannot attach the egress programs to '%s/%s': %s\n", parent, name,
				strerror(-r));
		return 1;
	}

	/* Signals to us end the command (and its cgroup), then we clean up. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	(void) sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);

	fflush(stdout);
	pid = spawn(box_fd >= 0 ? box_fd : cgroup_fd, argv + first, &pidfd);
	if (pid < 0) {
		fprintf(stderr, "egress-run: cannot start '%s' in the cgroup: %s\n", argv[first], strerror(-pid));
		egress_free(TAKE_PTR(e));
		if (box_fd >= 0)
			(void) unlinkat(cgroup_fd, "box", AT_REMOVEDIR);
		(void) unlinkat(parent_fd, name, AT_REMOVEDIR);
		return 1;
	}

	fprintf(events_out, "egress: cgroup %s/%s\negress: pid %d\n", parent, name, (int) pid);
	if (box_fd >= 0)
		fprintf(events_out, "egress: shared\n");

	for (;;) {
		struct pollfd p[3] = {
		    {.fd = pidfd, .events = POLLIN},
		    {.fd = egress_event_fd(e), .events = POLLIN},
		    {.fd = sfd, .events = POLLIN},
		};
		/* Allowed decisions do not wake us: collect them every 100 ms. */
		if (poll(p, 3, 100) < 0 && errno != EINTR)
			break;
		(void) egress_consume(e, print_event, NULL);
		if (p[2].revents) {
			struct signalfd_siginfo ssi;
			if (read(sfd, &ssi, sizeof(ssi)) > 0)
				(void) write_string_file_at(cgroup_fd, "cgroup.kill", "1"); /* box included */
		}
		if (p[0].revents)
			break;
	}
	if (waitid(P_PIDFD, (id_t) pidfd, &si, WEXITED) < 0)
		si.si_code = 0;
	status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;

	(void) egress_consume(e, print_event, NULL);
	(void) egress_stats(e, &bytes, &allowed, &denied);
	(void) egress_lost(e, &lost);
	fprintf(events_out, "egress: stats bytes=%llu allowed=%llu denied=%llu lost=%llu\n", (unsigned long long) bytes,
		(unsigned long long) allowed, (unsigned long long) denied, (unsigned long long) lost);
	if (events_out != stderr)
		fclose(events_out);

	if (box_fd >= 0) {
		egress_free(TAKE_PTR(e)); /* unregisters, as kdc-run does before removing its cgroup */
		cgroup_remove(cgroup_fd, "box", box_fd);
	}
	cgroup_remove(parent_fd, name, cgroup_fd);
	egress_free(TAKE_PTR(e));
	return status;
}
