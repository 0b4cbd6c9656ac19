/* SPDX-License-Identifier: MIT */
/*
 * bench-exec: start-up benchmark. Runs several commands N times each,
 * interleaved round-robin so that machine noise hits all of them alike, and
 * prints for each: median and p90 wall time, and the peak RSS of the
 * launcher process itself (ru_maxrss from wait4), plus the ratio of each
 * median to the reference (the first command).
 *
 *   bench-exec [-n N] [-w WARMUP] LABEL [NAME=VALUE...] CMD ARG... :: LABEL ... [:: ...]
 *
 * NAME=VALUE words before a command set its environment without an exec of
 * env(1), which would add its own start-up to that row.
 *
 * stdin, stdout and stderr of the commands are /dev/null; with BENCH_FD9=PATH,
 * PATH is opened afresh on fd 9 for every start (bwrap --seccomp 9).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef struct Cmd {
	const char *label;
	char **argv;
	char **envp;
	double *ms;
	long maxrss_kb;
	int failures;
} Cmd;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

static int run_once(Cmd *c, double *ret_ms)
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	double t0, t1;
	pid_t pid;
	int status, r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	/* bwrap --seccomp 9 reads its filter from fd 9 on every start. */
	if (getenv("BENCH_FD9"))
		posix_spawn_file_actions_addopen(&fa, 9, getenv("BENCH_FD9"), O_RDONLY, 0);
	t0 = now_ms();
	r = posix_spawnp(&pid, c->argv[0], &fa, NULL, c->argv, c->envp);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		fprintf(stderr, "bench-exec: cannot run '%s': %s\n", c->argv[0], strerror(r));
		return -1;
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		return -1;
	t1 = now_ms();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		c->failures++;
	if (ru.ru_maxrss > c->maxrss_kb)
		c->maxrss_kb = ru.ru_maxrss;
	*ret_ms = t1 - t0;
	return 0;
}

static bool is_assignment(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
	return n > 0 && s[n] == '=' && !(s[0] >= '0' && s[0] <= '9');
}

/* environ with the assignments in front of a command applied. */
static char **make_env(char **assign, int n_assign)
{
	size_t n = 0, k = 0;
	char **e;

	while (environ[n])
		n++;
	e = calloc(n + (size_t) n_assign + 1, sizeof(char *));
	if (!e)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t len = strcspn(environ[i], "=");
		bool replaced = false;
		for (int a = 0; a < n_assign; a++)
			if (!strncmp(environ[i], assign[a], len) && assign[a][len] == '=')
				replaced = true;
		if (!replaced)
			e[k++] = environ[i];
	}
	for (int a = 0; a < n_assign; a++)
		e[k++] = assign[a];
	return e;
}

int main(int argc, char *argv[])
{
	Cmd cmds[16];
	int n = 200, warmup = 10, ncmd = 0, i = 1;

	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n = atoi(argv[i + 1]), i += 2;
		else if (!strcmp(argv[i], "-w") && i + 1 < argc)
			warmup = atoi(argv[i + 1]), i += 2;
		else
			break;
	}
	while (i < argc && ncmd < 16) {
		Cmd *c = &cmds[ncmd++];
		memset(c, 0, sizeof(*c));
		c->label = argv[i++];
		{
			char **assign = &argv[i];
			int n_assign = 0;
			while (i < argc && is_assignment(argv[i]))
				i++, n_assign++;
			c->envp = make_env(assign, n_assign);
			if (!c->envp)
				return 2;
		}
		c->argv = &argv[i];
		while (i < argc && strcmp(argv[i], "::"))
			i++;
		if (i < argc)
			argv[i++] = NULL;
		c->ms = calloc((size_t) n, sizeof(double));
		if (!c->ms || !c->argv[0])
			return 2;
	}
	if (ncmd == 0 || n < 1) {
		fprintf(stderr, "usage: bench-exec [-n N] [-w WARMUP] LABEL CMD... [:: LABEL CMD...]\n");
		return 2;
	}
	for (int k = 0; k < warmup; k++)
		for (int c = 0; c < ncmd; c++) {
			double ms;
			if (run_once(&cmds[c], &ms) < 0)
				return 1;
		}
	for (int c = 0; c < ncmd; c++)
		cmds[c].failures = 0;
	for (int k = 0; k < n; k++)
		for (int c = 0; c < ncmd; c++)
			if (run_once(&cmds[c], &cmds[c].ms[k]) < 0)
				return 1;

	printf("%-24s %10s %10s %12s %8s %s\n", "command", "median_ms", "p90_ms", "peak_rss_kb", "ratio", "failures");
	double ref = 0;
	for (int c = 0; c < ncmd; c++) {
		Cmd *x = &cmds[c];
		qsort(x->ms, (size_t) n, sizeof(double), cmp_double);
		double med = n % 2 ? x->ms[n / 2] : (x->ms[n / 2 - 1] + x->ms[n / 2]) / 2;
		double p90 = x->ms[(int) ((n - 1) * 0.9)];
		if (c == 0)
			ref = med;
		printf("%-24s %10.2f %10.2f %12ld %8.2f %d\n", x->label, med, p90, x->maxrss_kb, med / ref,
		       x->failures);
	}
	return 0;
}
