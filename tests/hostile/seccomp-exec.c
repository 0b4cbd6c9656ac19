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
 * SIGSYS, with a line naming the syscall when the kernel's audit record is
 * readable), 2 for a usage or policy error, 127 when exec fails. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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

/* The kernel's audit record for a seccomp kill ("type=1326 ... pid=N ...
 * syscall=M") is the only place the number of the fatal call is kept: the
 * wait status carries just SIGSYS. /dev/kmsg is readable by root (and by
 * anyone where dmesg_restrict=0); elsewhere the name stays unknown. */
static int kmsg_open_at_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -EBADF;
	if (lseek(fd, 0, SEEK_END) < 0)
		return safe_close(fd);
	return fd;
}

static int kmsg_find_seccomp_kill(int fd, pid_t pid)
{
	char rec[8192], key[32];
	int found = -1, any = -1, n_any = 0;

	if (fd < 0)
		return -1;
	snprintf(key, sizeof key, " pid=%d ", (int) pid);
	for (;;) {
		ssize_t l = read(fd, rec, sizeof rec - 1);
		const char *s;
		int nr;

		if (l < 0 && errno == EPIPE)
			continue; /* records were overwritten; go on */
		if (l <= 0)
			break;
		rec[l] = 0;
		if (!strstr(rec, "type=1326") || !(s = strstr(rec, " syscall=")) || sscanf(s, " syscall=%d", &nr) != 1)
			continue;
		if (strstr(rec, key))
			found = nr;
		any = nr;
		n_any++;
	}
	/* A helper process of the command may have been the one killed. */
	return found >= 0 ? found : n_any == 1 ? any : -1;
}

static void help(void)
{
	printf("%s [--kill] [--no-inet] [--deny NAME]... [--allow NAME]... [--no-filter] [--time] -- COMMAND...\n"
	       "%s --bench N [--kill] [--no-inet] [--deny NAME]... [--allow NAME]...\n",
	       program_invocation_short_name, program_invocation_short_name);
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "kill", no_argument, NULL, 'k' },	 { "no-inet", no_argument, NULL, 'n' },
		{ "deny", required_argument, NULL, 'd' }, { "allow", required_argument, NULL, 'a' },
		{ "no-filter", no_argument, NULL, 'N' }, { "time", no_argument, NULL, 't' },
		{ "bench", required_argument, NULL, 'b' }, { "help", no_argument, NULL, 'h' },
		{}
	};
	_cleanup_strv_free_ char **deny = NULL, **allow = NULL;
	_cleanup_seccomp_program_free_ SeccompProgram *p = NULL;
	_cleanup_close_ int kmsg = -EBADF;
	SeccompOptions o = { .allow_inet = true };
	bool filter = true, timing = false;
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

	/* Built before fork, as kdc-run builds it before clone. */
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
	if (filter && o.kill_on_violation)
		kmsg = kmsg_open_at_end();

	pid = fork();
	if (pid < 0)
		return log_error_errno(-errno, "fork failed: %m"), 2;
	if (pid == 0) {
		/* Same steps in both cases, so that only the filter differs. */
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

	/* Let the command own the terminal's signals. */
	(void) signal(SIGINT, SIG_IGN);
	(void) signal(SIGQUIT, SIG_IGN);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return log_error_errno(-errno, "waitpid failed: %m"), 2;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WTERMSIG(status) == SIGSYS) {
		int nr = kmsg_find_seccomp_kill(kmsg, pid);
		if (nr >= 0)
			log_error("killed: seccomp: forbidden system call '%s' (%d)", sandbox_seccomp_syscall_name(nr),
				  nr);
		else
			log_error("killed: seccomp: SIGSYS (system call unknown: no audit record readable)");
	} else
		log_error("killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	return 128 + WTERMSIG(status);
}
