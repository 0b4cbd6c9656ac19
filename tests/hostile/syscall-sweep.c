/* SPDX-License-Identifier: MIT */
/* syscall-sweep: calls every x86_64 system call number with harmless
 * arguments and prints one line per number: "NR NAME RESULT", RESULT being
 * "ok" (returned >= 0), an errno name ("EFAULT"), a signal name ("SIGSYS")
 * when the call killed the process, or "skip".
 *
 *   syscall-sweep [--max N]        numbers -1, 0..N (default 511), 1000,
 *                                  and x32 ones (0x40000000 | nr)
 *
 * Run it once under seccomp-exec --no-filter and once under the filter:
 * tests/integration/30-seccomp-sweep.sh compares both with
 * doc/seccomp-policy.txt. An allowed call must behave exactly as without
 * the filter, which is how an EPERM from the kernel is told from an EPERM
 * from the filter.
 *
 * Harmless arguments: every argument is -1 (all bits set): an invalid fd, a
 * kernel-half pointer (EFAULT), a huge length, flags with every unknown bit
 * set (EINVAL), an invalid signal. Each call runs in its own forked child
 * with a 100 ms interval timer, so a call that blocks (pause) returns
 * EINTR, and whatever it changes (umask, session, ...) dies with the child.
 * The sweep process is made a session leader without a terminal first, so
 * that vhangup has nothing to hang up even as root.
 *
 * Calls given other arguments, so the sweep takes the allowed path of their
 * argument rule (the denied paths are tests/hostile/seccomp-probe's job):
 *   ioctl(-1, TCGETS, 0)             -> EBADF
 *   socket(AF_UNIX, -1, 0)           -> EINVAL
 *   socketpair(AF_UNIX, -1, 0, -1)   -> EINVAL
 *   mknod(-1, S_IFIFO|0600, 0)       -> EFAULT
 *   mknodat(-1, -1, S_IFIFO|0600, 0) -> EFAULT / EBADF
 *   personality(0)                   -> ok (PER_LINUX, no change)
 *   clone(SIGCHLD, 0, 0, 0, 0)       -> ok (a fork; the copy exits at once)
 *   fork()                           -> ok (idem)
 *   msgget(-1, 0)                    -> ENOENT (with IPC_CREAT among the
 *                                       flags it would leave a queue with
 *                                       key 0xffffffff behind)
 * Calls skipped ("skip"), each allowed by the table, and why:
 *   exit, exit_group   would end the child with status 255: no errno to
 *                      report (every program that exits proves them)
 *   rt_sigreturn       restores a signal frame from garbage: the child then
 *                      jumps to whatever the stack held
 *   vfork              the copy shares the stack and cannot return through
 *                      syscall() (every posix_spawn proves it) */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <termios.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/seccomp-policy.h"

#define X32_BIT 0x40000000L

static volatile pid_t current_child;

static void on_alarm(int sig)
{
	(void) sig;
}

static void on_watchdog(int sig)
{
	(void) sig;
	if (current_child > 0)
		kill(current_child, SIGKILL);
}

static bool skipped(long nr)
{
	return nr == SYS_exit || nr == SYS_exit_group || nr == SYS_rt_sigreturn || nr == SYS_vfork;
}

static long call(long nr)
{
	const long m = -1;

	switch (nr) {
	case SYS_ioctl:
		return syscall(nr, m, (long) TCGETS, 0L);
	case SYS_socket:
		return syscall(nr, (long) AF_UNIX, m, 0L);
	case SYS_socketpair:
		return syscall(nr, (long) AF_UNIX, m, 0L, m);
	case SYS_mknod:
		return syscall(nr, m, (long) (S_IFIFO | 0600), 0L);
	case SYS_mknodat:
		return syscall(nr, m, m, (long) (S_IFIFO | 0600), 0L);
	case SYS_personality:
		return syscall(nr, 0L);
	case SYS_clone:
		return syscall(nr, (long) SIGCHLD, 0L, 0L, 0L, 0L);
	case SYS_msgget:
		return syscall(nr, m, 0L);
	default:
		return syscall(nr, m, m, m, m, m, m);
	}
}

/* Runs one call in a child; returns the result word. */
static const char *run_one(long nr, char *buf, size_t size)
{
	int status;
	pid_t pid;

	if (skipped(nr))
		return "skip";
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART: blocking calls see EINTR */
		struct itimerval it = {.it_value = {.tv_usec = 100000}, .it_interval = {.tv_usec = 100000}};
		pid_t self = getpid();
		long r;
		int e;

		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
		errno = 0;
		r = call(nr);
		e = errno;
		if (getpid() != self)
			_exit(0); /* the copy made by fork or clone */
		if (r > 0 && (nr == SYS_fork || nr == SYS_clone))
			(void) waitpid((pid_t) r, NULL, 0);
		_exit(r < 0 ? (e > 0 && e < 255 ? e : 255) : 0);
	}
	current_child = pid;
	alarm(10);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			perror("waitpid");
			exit(1);
		}
	alarm(0);
	current_child = 0;
	if (WIFSIGNALED(status)) {
		snprintf(buf, size, "SIG%s", sigabbrev_np(WTERMSIG(status)) ?: "UNKNOWN");
		return buf;
	}
	if (WEXITSTATUS(status) == 0)
		return "ok";
	if (WEXITSTATUS(status) == 255)
		return "EUNKNOWN";
	return strerrorname_np(WEXITSTATUS(status)) ?: "EUNKNOWN";
}

static void sweep(long nr)
{
	char buf[32], name[64];

	if (nr >= X32_BIT)
		snprintf(name, sizeof name, "x32:%s", sandbox_seccomp_syscall_name((int) (nr & ~X32_BIT)));
	else
		snprintf(name, sizeof name, "%s", sandbox_seccomp_syscall_name((int) nr));
	printf("%ld %s %s\n", nr, name, run_one(nr, buf, sizeof buf));
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {{"max", required_argument, NULL, 'm'}, {}};
	static const long x32[] = {SYS_read, SYS_getpid, SYS_execve, SYS_unshare, 512 /* x32 rt_sigaction */,
				   547 /* x32 pwritev2 */};
	struct sigaction wd = {.sa_handler = on_watchdog};
	long max = 511;
	int c;

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
		if (c == 'm')
			max = strtol(optarg, NULL, 0);
		else
			return 2;

	/* A session leader without a controlling terminal (see above). */
	if (setsid() < 0) {
		int status;
		pid_t pid = fork();

		if (pid < 0)
			return perror("fork"), 1;
		if (pid > 0) {
			if (waitpid(pid, &status, 0) < 0)
				return 1;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
		}
		if (setsid() < 0)
			return perror("setsid"), 1;
	}
	sigaction(SIGALRM, &wd, NULL);

	sweep(-1);
	for (long nr = 0; nr <= max; nr++)
		sweep(nr);
	sweep(1000);
	for (size_t i = 0; i < sizeof(x32) / sizeof(x32[0]); i++)
		sweep(X32_BIT | x32[i]);
	return fflush(stdout) == 0 ? 0 : 1;
}
