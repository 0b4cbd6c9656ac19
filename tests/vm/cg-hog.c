/* SPDX-License-Identifier: MIT */
/* cg-hog: the workloads of the quota tests, each reporting what it saw.
 *
 *   cg-hog mem SIZE          touch SIZE bytes of memory; prints allocated=BYTES
 *   cg-hog fork N            fork N sleeping children, print forked=, failed=,
 *                            errno= lines, kill them
 *   cg-hog bomb [SEC]        a fork bomb: every process forks for ever; with
 *                            SEC the first one stops after SEC seconds, prints
 *                            forked=, failed=, errno= and exits 1 when a fork
 *                            failed (an agent that fails at pids.max), else 0
 *   cg-hog spin SEC PROCS    PROCS processes busy-loop for SEC wall seconds
 *   cg-hog daemons N [EXIT|pause]
 *                            N double-forked setsid daemons that sleep for
 *                            ever; prints daemon=PID for each, then exits
 *                            with EXIT (default 0), or with "pause" stays
 *                            (ignoring SIGTERM and SIGHUP)
 *   cg-hog fill PATH SIZE... writes SIZE bytes of zeros into each file PATH;
 *                            prints PATH=BYTES ERRNO-NAME|none for each
 *
 * Arguments after these are ignored: tests put markers there. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static unsigned long long parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	switch (*end) {
	case 'G':
		v <<= 10; /* fall through */
	case 'M':
		v <<= 10; /* fall through */
	case 'K':
		v <<= 10;
	}
	return v;
}

static int mem(unsigned long long size)
{
	const size_t chunk = 1 << 20;
	unsigned long long done = 0;

	while (done < size) {
		char *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			printf("allocated=%llu error=%s\n", done, strerror(errno));
			return 1;
		}
		memset(p, 0x5a, chunk);
		done += chunk;
	}
	printf("allocated=%llu\n", done);
	return 0;
}

static int forks(int n)
{
	pid_t *kids = calloc((size_t) n, sizeof *kids);
	int ok = 0, failed = 0, first_errno = 0;

	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0) {
			if (!first_errno)
				first_errno = errno;
			failed++;
		} else
			kids[ok++] = p;
	}
	printf("forked=%d\nfailed=%d\nerrno=%s\n", ok, failed,
	       first_errno == EAGAIN ? "EAGAIN"
	       : first_errno	     ? strerror(first_errno)
				     : "none");
	for (int i = 0; i < ok; i++)
		kill(kids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	return 0;
}

_Noreturn static void bomb_forever(void)
{
	for (;;)
		(void) fork();
}

static int bomb(double sec)
{
	int forked = 0, failed = 0, first_errno = 0;
	double end;

	printf("bomb=%d\n", (int) getpid());
	fflush(stdout);
	if (sec <= 0)
		bomb_forever();
	/* The leader keeps forking bombers until SEC have passed. */
	end = now() + sec;
	while (now() < end) {
		pid_t p = fork();
		if (p == 0)
			bomb_forever();
		if (p > 0)
			forked++;
		else {
			if (!first_errno)
				first_errno = errno;
			failed++;
		}
	}
	printf("forked=%d\nfailed=%d\nerrno=%s\n", forked, failed,
	       first_errno == EAGAIN ? "EAGAIN"
	       : first_errno	     ? strerror(first_errno)
				     : "none");
	return failed > 0;
}

static int spin(double sec, int procs)
{
	double end = now() + sec;
	for (int i = 1; i < procs; i++)
		if (fork() == 0)
			break;
	while (now() < end)
		;
	while (wait(NULL) > 0)
		;
	return 0;
}

static int daemons(int n, const char *then)
{
	int fds[2];

	if (pipe(fds) < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p < 0)
			return 1;
		if (p == 0) {
			/* The classic escape: new session, parent gone, reparented. */
			setsid();
			if (fork() != 0)
				_exit(0);
			pid_t me = getpid();
			(void) !write(fds[1], &me, sizeof me);
			close(fds[0]);
			close(fds[1]);
			close(0);
			close(1);
			close(2);
			signal(SIGTERM, SIG_IGN);
			signal(SIGHUP, SIG_IGN);
			for (;;)
				pause();
		}
		waitpid(p, NULL, 0);
	}
	close(fds[1]);
	for (int i = 0; i < n; i++) {
		pid_t d;
		if (read(fds[0], &d, sizeof d) != sizeof d)
			return 1;
		printf("daemon=%d\n", (int) d);
	}
	if (then && !strcmp(then, "pause")) {
		fflush(stdout);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		for (;;)
			pause();
	}
	return then ? atoi(then) : 0;
}

static int fill(int n, char **args)
{
	static char buf[64 << 10];

	for (int i = 0; i + 1 < n; i += 2) {
		unsigned long long want = parse_size(args[i + 1]), done = 0;
		int fd = open(args[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), err = 0;

		if (fd < 0)
			err = errno;
		while (!err && done < want) {
			size_t len = want - done < sizeof buf ? (size_t) (want - done) : sizeof buf;
			ssize_t w = write(fd, buf, len);
			if (w < 0)
				err = errno;
			else
				done += (unsigned long long) w;
		}
		if (fd >= 0 && close(fd) < 0 && !err)
			err = errno;
		printf("%s=%llu %s\n", args[i], done, err ? strerrorname_np(err) : "none");
	}
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "mem"))
		return mem(parse_size(argv[2]));
	if (argc >= 3 && !strcmp(argv[1], "fork"))
		return forks(atoi(argv[2]));
	if (argc >= 2 && !strcmp(argv[1], "bomb"))
		return bomb(argc >= 3 ? atof(argv[2]) : 0);
	if (argc >= 4 && !strcmp(argv[1], "spin"))
		return spin(atof(argv[2]), atoi(argv[3]));
	if (argc >= 3 && !strcmp(argv[1], "daemons"))
		return daemons(atoi(argv[2]), argc >= 4 ? argv[3] : NULL);
	if (argc >= 4 && !strcmp(argv[1], "fill"))
		return fill(argc - 2, argv + 2);
	fprintf(stderr, "usage: cg-hog mem SIZE | fork N | bomb [SEC] | spin SEC PROCS | daemons N [EXIT|pause] | "
			"fill PATH SIZE...\n");
	return 2;
}
