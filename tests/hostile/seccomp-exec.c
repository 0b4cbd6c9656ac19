/* SPDX-License-Identifier: MIT */
/* seccomp-exec: runs a command under the box's seccomp policy, the way
 * kdc-run's child will (build before fork; in the child no_new_privs, then
 * one install, then exec). For the integration tests until kdc-run exists.
 *
 *   seccomp-exec [--kill] [--no-inet] [--deny NAME]... [--allow NAME]...
 *                [--no-filter] [--time] -- COMMAND [ARG]...
 *   seccomp-exec --bench N [options]
 *
 * Exit status: the command's, 128 + signal when it was killed (159 for
 * SIGSYS, with a line naming the fatal syscall in --kill mode), 2 for a
 * usage or policy error, 127 when exec fails. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/filter.h>

#include "core/seccomp-policy.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/strv.h"

static double now_usec(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

/* Median build time over n runs, with the cache as XDG_CACHE_HOME says. */
static int bench_one(const SeccompOptions *o, int n, double *ret_median, bool *ret_hit, unsigned *ret_len)
{
	_cleanup_free_ double *t = calloc(n, sizeof(double));
	bool hit = true;
	int r;

	if (!t)
		return log_oom();
	for (int i = 0; i < n; i++) {
		_cleanup_seccomp_program_free_ SeccompProgram *p = NULL;
		double t0 = now_usec();
		r = sandbox_seccomp_build(o, &p);
		t[i] = now_usec() - t0;
		if (r < 0)
			return log_error_errno(r, "cannot build the seccomp policy: %m");
		hit = hit && sandbox_seccomp_program_from_cache(p);
		*ret_len = sandbox_seccomp_program_fprog(p)->len;
	}
	qsort(t, n, sizeof(double), cmp_double);
	*ret_median = t[n / 2];
	*ret_hit = hit;
	return 0;
}

/* Compile time (no usable cache: every build compiles), then cache hits. */
static int bench(const SeccompOptions *o, int n)
{
	const char *cache = getenv("XDG_CACHE_HOME");
	_cleanup_free_ char *saved = cache ? strdup(cache) : NULL;
	_cleanup_seccomp_program_free_ SeccompProgram *warm = NULL;
	double compile_us, hit_us;
	bool hit;
	unsigned len;
	int r;

	if (setenv("XDG_CACHE_HOME", "/proc/kdc-no-cache", 1) < 0)
		return log_oom();
	r = bench_one(o, n, &compile_us, &hit, &len);
	if (r < 0)
		return r;
	if (hit)
		return log_error_errno(-EBADMSG, "a build without cache came from the cache");
	if (saved ? setenv("XDG_CACHE_HOME", saved, 1) : unsetenv("XDG_CACHE_HOME"))
		return log_oom();
	r = sandbox_seccomp_build(o, &warm); /* fills the cache */
	if (r < 0)
		return log_error_errno(r, "cannot build the seccomp policy: %m");
	r = bench_one(o, n, &hit_us, &hit, &len);
	if (r < 0)
		return r;
	printf("instructions %u\ncompile_us %.0f\ncache_hit_us %.0f\ncache_used %s\n", len, compile_us, hit_us,
	       hit ? "yes" : "no");
	return 0;
}

/* The wait status of a process seccomp killed carries just SIGSYS, not the
 * number of the fatal call. The kernel keeps that number in the dying
 * thread's registers (orig_rax; seccomp rolls the call back before the
 * kill), readable at the PTRACE_EVENT_EXIT stop: in --kill mode this
 * launcher traces its child for that one event. (kdc-run cannot trace the
 * box; see the seccomp report for the ways it can learn the number.) */
static int trace_child(pid_t pid)
{
	if (ptrace(PTRACE_SEIZE, pid, NULL, (void *) (PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL)) < 0)
		return -errno;
	return 0;
}

/* Waits for the traced child; *ret_nr is the syscall in progress when it exited. */
static int wait_traced(pid_t pid, int *ret_status, long *ret_nr)
{
	int status;

	*ret_nr = -1;
	for (;;) {
		if (waitpid(pid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			*ret_status = status;
			return 0;
		}
		if (!WIFSTOPPED(status))
			continue;
		if (status >> 8 == (SIGTRAP | PTRACE_EVENT_EXIT << 8)) {
			struct user_regs_struct regs;
			if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) == 0)
				*ret_nr = (long) regs.orig_rax;
			(void) ptrace(PTRACE_CONT, pid, NULL, NULL);
		} else if (status >> 16 == PTRACE_EVENT_STOP)
			(void) ptrace(PTRACE_CONT, pid, NULL, NULL); /* group stop: no signal to pass on */
		else
			(void) ptrace(PTRACE_CONT, pid, NULL, (void *) (long) WSTOPSIG(status));
	}
}

static void help(void)
{
	printf("%s [--kill] [--no-inet] [--deny NAME]... [--allow NAME]... [--no-filter] [--time] -- COMMAND...\n"
	       "%s --bench N [--kill] [--no-inet] [--deny NAME]... [--allow NAME]...\n",
	       program_invocation_short_name, program_invocation_short_name);
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {{"kill", no_argument, NULL, 'k'},
						{"no-inet", no_argument, NULL, 'n'},
						{"deny", required_argument, NULL, 'd'},
						{"allow", required_argument, NULL, 'a'},
						{"no-filter", no_argument, NULL, 'N'},
						{"time", no_argument, NULL, 't'},
						{"bench", required_argument, NULL, 'b'},
						{"help", no_argument, NULL, 'h'},
						{}};
	_cleanup_strv_free_ char **deny = NULL, **allow = NULL;
	_cleanup_seccomp_program_free_ SeccompProgram *p = NULL;
	SeccompOptions o = {.allow_inet = true};
	bool filter = true, timing = false, traced;
	_cleanup_close_pair_ int sync[2] = {-EBADF, -EBADF};
	long nr = -1;
	const char *bad = NULL;
	int c, r, status, n_bench = 0;
	double t0;
	pid_t pid;

	log_set_program("seccomp-exec");
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
		switch (c) {
		case 'k':
			o.kill_on_violation = true;
			break;
		case 'n':
			o.allow_inet = false;
			break;
		case 'd':
			if (strv_extend(&deny, optarg) < 0)
				return log_oom(), 2;
			break;
		case 'a':
			if (strv_extend(&allow, optarg) < 0)
				return log_oom(), 2;
			break;
		case 'N':
			filter = false;
			break;
		case 't':
			timing = true;
			break;
		case 'b':
			n_bench = atoi(optarg);
			if (n_bench <= 0)
				return log_error("--bench wants a positive count"), 2;
			break;
		case 'h':
			help();
			return 0;
		default:
			return 2;
		}
	o.extra_deny = deny;
	o.extra_allow = allow;

	r = sandbox_seccomp_validate(&o, &bad);
	if (r < 0) {
		log_error_errno(r, "cannot use '%s' in the seccomp policy: %s", bad ? bad : "",
				r == -EINVAL   ? "no such x86_64 system call"
				: r == -EPERM  ? "it cannot be allowed (argument rules or namespaces)"
				: r == -EEXIST ? "it is both denied and allowed"
					       : strerror(-r));
		return 2;
	}
	if (n_bench > 0)
		return bench(&o, n_bench) < 0 ? 1 : 0;
	if (optind >= argc) {
		help();
		return 2;
	}

	/* Built before fork, as kdc-run builds it before clone. By then kdc-run
	 * has read its profile, so malloc and stdio are warm: warm them here
	 * too, or their first-use page faults are charged to the build. */
	if (timing) {
		char warm[64];
		free(strdup(argv[0]));
		snprintf(warm, sizeof warm, "%s %d %zu %llx", argv[0], argc, sizeof warm, 1ull);
	}
	t0 = now_usec();
	r = sandbox_seccomp_build(&o, &p);
	if (r < 0) {
		log_error_errno(r, "cannot build the seccomp policy: %m");
		return 2;
	}
	if (timing)
		fprintf(stderr, "seccomp-exec: build %.0f us (%s, %u instructions)\n", now_usec() - t0,
			sandbox_seccomp_program_from_cache(p) ? "cache" : "compiled",
			sandbox_seccomp_program_fprog(p)->len);
	traced = filter && o.kill_on_violation;
	if (pipe2(sync, O_CLOEXEC) < 0)
		return log_error_errno(-errno, "pipe failed: %m"), 2;
	pid = fork();
	if (pid < 0)
		return log_error_errno(-errno, "fork failed: %m"), 2;
	if (pid == 0) {
		char go;

		/* Wait until the parent has seized us (or decided not to). */
		sync[1] = safe_close(sync[1]);
		if (read(sync[0], &go, 1) != 1)
			_exit(2);
		/* Same steps in every mode, so that only the filter differs. */
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
			log_error_errno(-errno, "cannot set no_new_privs: %m");
			_exit(2);
		}
		if (filter) {
			r = sandbox_seccomp_install(p);
			if (r < 0) {
				log_error_errno(r, "cannot install the seccomp filter: %m");
				_exit(2);
			}
		}
		execvp(argv[optind], argv + optind);
		r = errno;
		log_error_errno(-r, "cannot execute '%s': %m", argv[optind]);
		_exit(r == ENOENT ? 127 : 126);
	}

	sync[0] = safe_close(sync[0]);
	if (traced && (r = trace_child(pid)) < 0) {
		log_error_errno(r, "cannot trace the command to learn a fatal syscall: %m");
		(void) kill(pid, SIGKILL);
		return 2;
	}
	if (write(sync[1], "x", 1) != 1)
		return log_error_errno(-errno, "cannot start the command: %m"), 2;
	sync[1] = safe_close(sync[1]);

	/* Let the command own the terminal's signals. */
	(void) signal(SIGINT, SIG_IGN);
	(void) signal(SIGQUIT, SIG_IGN);
	if (traced)
		r = wait_traced(pid, &status, &nr);
	else
		r = waitpid(pid, &status, 0) < 0 ? -errno : 0;
	if (r < 0)
		return log_error_errno(r, "waitpid failed: %m"), 2;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WTERMSIG(status) == SIGSYS && nr >= 0x40000000)
		log_error("killed: seccomp: x32 system call %ld (not the native ABI)", nr);
	else if (WTERMSIG(status) == SIGSYS && nr >= 0)
		log_error("killed: seccomp: forbidden system call '%s' (%ld)", sandbox_seccomp_syscall_name((int) nr),
			  nr);
	else if (WTERMSIG(status) == SIGSYS)
		log_error("killed: seccomp: SIGSYS");
	else
		log_error("killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	return 128 + WTERMSIG(status);
}
