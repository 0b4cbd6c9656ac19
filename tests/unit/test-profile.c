/* SPDX-License-Identifier: MIT */
/* The profile loader: every key, every kind of bad value, includes, the
 * search path, overrides and --print-profile. Each test runs in its own
 * process (CK_FORK) with a fresh directory as KDC_CONFIG_PATH and cwd. */

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/profile.h"
#include "shared/macro.h"
#include "shared/strv.h"
#include "shared/units.h"
#include "check-run.h"

#ifndef PROFILE_FIXTURES
#error "PROFILE_FIXTURES must name tests/unit/profiles"
#endif
#ifndef TOP_SRCDIR
#error "TOP_SRCDIR must name the source tree"
#endif

static char dir[PATH_MAX - 64]; /* the test's directory: KDC_CONFIG_PATH, with profiles/ and wd/ */
static char wd[PATH_MAX];	/* dir/wd, the current directory */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

/* The tests' directories live in one base directory made and removed by the
 * runner's own process (an unchecked fixture), so a failed test, whose
 * process ends without its checked teardown, leaves nothing behind. */
static char base[PATH_MAX - 128];

static void setup_base(void)
{
	/* Not under /tmp: a bind of a path to itself must not land inside a
	 * destination kdc owns (/tmp, /proc, /dev, /work). */
	snprintf(base, sizeof(base), "%s/kdc-test-profile.XXXXXX", getenv("KDC_TEST_TMPDIR") ?: "/var/tmp");
	ck_assert_ptr_nonnull(mkdtemp(base));
}

static void teardown_base(void)
{
	(void) nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
	char p[PATH_MAX + 16];

	snprintf(dir, sizeof(dir), "%s/t.XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/profiles", dir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	snprintf(wd, sizeof(wd), "%s/wd", dir);
	ck_assert_int_eq(mkdir(wd, 0755), 0);
	ck_assert_int_eq(chdir(wd), 0);
	setenv("KDC_CONFIG_PATH", dir, 1);
}

static void teardown(void)
{
	(void) chdir("/");
	(void) nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes dir/name (name may contain %s for dir's basename-free parts). */
static void put(const char *name, const char *content)
{
	char p[PATH_MAX + 64];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "we");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(content, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* dir/profiles/NAME.ini = "[profile]\nversion = 1\n" + body */
static void put_profile(const char *name, const char *body)
{
	char p[128];
	_cleanup_free_ char *c = NULL;

	snprintf(p, sizeof(p), "profiles/%s.ini", name);
	ck_assert_int_ge(asprintf(&c, "[profile]\nversion = 1\n%s", body), 0);
	put(p, c);
}

static Plan *load_ok(const char *name, const ProfileOverrides *o)
{
	Plan *p = NULL;
	_cleanup_free_ char *error = NULL;
	int r = profile_load(name, o, &p, &error);

	ck_assert_msg(r == 0, "loading '%s' failed: %d %s", name, r, error ?: "(no message)");
	ck_assert_ptr_nonnull(p);
	return p;
}

/* Loads and expects failure with r and the message (printf format; every
 * "@" in it stands for the test's directory). */
static void load_fails(const char *name, const ProfileOverrides *o, int want_r, const char *fmt, ...)
{
	char want[4096], expanded[8192], *w = expanded;
	_cleanup_free_ char *error = NULL;
	Plan *p = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	for (const char *s = want; *s; s++) {
		if (*s == '@')
			w = stpcpy(w, dir);
		else
			*w++ = *s;
	}
	*w = 0;
	r = profile_load(name, o, &p, &error);
	ck_assert_msg(r == want_r, "loading '%s': got %d (%s), want %d", name, r, error ?: "", want_r);
	ck_assert_ptr_null(p);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, expanded);
}

/* A one-file profile "t" with body, expected to fail with r and the
 * message ("@" for the test's directory). */
static void body_fails_r(const char *body, int r, const char *error)
{
	put_profile("t", body);
	load_fails("t", NULL, r, "%s", error);
}

static void body_fails(const char *body, const char *error)
{
	body_fails_r(body, -EINVAL, error);
}

static const MountSpec *find_mount(const Plan *p, const char *dest)
{
	for (size_t i = 0; i < p->n_mounts; i++)
		if (streq(p->mounts[i].dest, dest))
			return &p->mounts[i];
	return NULL;
}

static char *print_plan(const Plan *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(profile_print(p, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

static void assert_has_line(const char *text, const char *line)
{
	const char *s = text;
	size_t n = strlen(line);

	for (; (s = strstr(s, line)); s++)
		if ((s == text || s[-1] == '\n') && (s[n] == '\n' || s[n] == 0))
			return;
	ck_abort_msg("line '%s' not in:\n%s", line, text);
}

/* ---- plan.c ---- */

START_TEST(net_mode_and_degrade_names)
{
	ck_assert_str_eq(net_mode_to_string(NET_NONE), "none");
	ck_assert_str_eq(net_mode_to_string(NET_PROXY), "proxy");
	ck_assert_str_eq(net_mode_to_string(NET_FILTERED), "filtered");
	ck_assert_ptr_null(net_mode_to_string(_NET_MODE_MAX));
	ck_assert_int_eq(net_mode_from_string("proxy"), NET_PROXY);
	ck_assert_int_eq(net_mode_from_string("Proxy"), -EINVAL);
	ck_assert_int_eq(net_mode_from_string(NULL), -EINVAL);

	ck_assert_str_eq(degrade_to_string(DEGRADE_EGRESS_BPF), "egress-bpf");
	ck_assert_str_eq(degrade_to_string(DEGRADE_BUDGET), "budget");
	ck_assert_ptr_null(degrade_to_string(DEGRADE_MEMORY | DEGRADE_CPU));
	ck_assert_int_eq(degrade_from_string("landlock"), DEGRADE_LANDLOCK);
	ck_assert_int_eq(degrade_from_string("cgroup"), DEGRADE_CGROUP);
	ck_assert_int_eq(degrade_from_string("egress"), -EINVAL);
	for (unsigned b = 1; b & DEGRADE_ALL; b <<= 1)
		ck_assert_int_eq(degrade_from_string(degrade_to_string((Degrade) b)), (int) b);
	plan_free(NULL);
}
END_TEST

/* ---- every key ---- */

START_TEST(every_key)
{
	_cleanup_plan_free_ Plan *p = NULL;
	const MountSpec *m;
	char data[PATH_MAX + 32], wdir[PATH_MAX + 32], link[PATH_MAX + 32];

	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(wdir, sizeof(wdir), "%s/other-wd", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	ck_assert_int_eq(mkdir(data, 0755), 0);
	ck_assert_int_eq(mkdir(wdir, 0755), 0);
	ck_assert_int_eq(symlink("data", link), 0);
	{
		_cleanup_free_ char *body = NULL;
		ck_assert_int_ge(asprintf(&body,
					  "description = everything\n"
					  "[filesystem]\n"
					  "ro = /usr %1$s/data:/data\n"
					  "ro-try = /no/such/path %1$s/link\n"
					  "rw = %1$s/data:/rw\n"
					  "tmpfs = /cache:64M /scratch\n"
					  "mask = /usr/bin/sudo\n"
					  "workdir = %1$s/other-wd\n"
					  "home = tmpfs\n"
					  "[env]\n"
					  "keep = LANG TERM\n"
					  "set = A=1 B=two=2 \"C=with space\"\n"
					  "[limits]\n"
					  "memory = 512M\n"
					  "swap = 64M\n"
					  "cpu = 150%%\n"
					  "pids = 64\n"
					  "wall = 1h30m\n"
					  "nofile = 256\n"
					  "tmp = 32M\n"
					  "[network]\n"
					  "mode = filtered\n"
					  "allow = 198.51.100.0/24:443 api.example.com:443\n"
					  "[seccomp]\n"
					  "deny = ptrace\n"
					  "allow = io_uring_setup\n"
					  "on_violation = kill\n"
					  "[sandbox]\n"
					  "degrade = memory, landlock budget\n"
					  "terminal = yes\n"
					  "hostname = agent-1.example\n"
					  "[budget]\n"
					  "unit = USD\n"
					  "cpu = 0.0001USD\n"
					  "wall = 0.00002USD\n"
					  "hold = 0.50USD\n"
					  "[tool refund]\n"
					  "description = Refund an order\n"
					  "command = /usr/lib/kdc/tools/refund\n"
					  "secret = STRIPE_KEY\n"
					  "secret = OTHER_KEY\n"
					  "args = order:string amount:number\n"
					  "rule = amount <= 500\n"
					  "approve = amount > 100\n"
					  "cost = 0.001USD\n"
					  "max_cost = 0.01USD\n"
					  "rate = 10/min burst 5\n"
					  "timeout = 20s\n",
					  dir),
				 0);
		put_profile("t", body);
	}
	p = load_ok("t", NULL);

	ck_assert_str_eq(p->profile_name, "t");
	ck_assert_str_eq(p->description, "everything");
	ck_assert_str_eq(p->workdir, wdir);
	ck_assert(p->home_tmpfs);

	ck_assert_uint_eq(p->n_mounts, 9);
	ck_assert_ptr_nonnull(m = find_mount(p, "/usr"));
	ck_assert_int_eq(m->kind, MOUNT_RO);
	ck_assert_str_eq(m->source, "/usr");
	ck_assert_ptr_nonnull(m = find_mount(p, "/data"));
	ck_assert_int_eq(m->kind, MOUNT_RO);
	ck_assert_str_eq(m->source, data);
	ck_assert_ptr_nonnull(m = find_mount(p, "/no/such/path"));
	ck_assert_int_eq(m->kind, MOUNT_RO_TRY);
	ck_assert_ptr_nonnull(m = find_mount(p, link));
	ck_assert_int_eq(m->kind, MOUNT_SYMLINK); /* same path: the box gets the link */
	ck_assert_str_eq(m->source, "data");
	ck_assert_ptr_nonnull(m = find_mount(p, "/rw"));
	ck_assert_int_eq(m->kind, MOUNT_RW);
	ck_assert_ptr_nonnull(m = find_mount(p, "/cache"));
	ck_assert_int_eq(m->kind, MOUNT_TMPFS);
	ck_assert_uint_eq(m->size, 64u << 20);
	ck_assert_ptr_null(m->source);
	ck_assert_ptr_nonnull(m = find_mount(p, "/scratch"));
	ck_assert_uint_eq(m->size, 32u << 20); /* [limits] tmp */
	ck_assert_ptr_nonnull(m = find_mount(p, "/usr/bin/sudo"));
	ck_assert_int_eq(m->kind, MOUNT_MASK);
	ck_assert_ptr_nonnull(m = find_mount(p, "/home"));
	ck_assert_int_eq(m->kind, MOUNT_TMPFS);
	ck_assert_uint_eq(m->size, 32u << 20);

	ck_assert_str_eq(strv_join(p->env_keep, " "), "LANG TERM");
	ck_assert_str_eq(strv_join(p->env_set, "|"), "A=1|B=two=2|C=with space|HOME=/home");

	ck_assert_uint_eq(p->memory, 512u << 20);
	ck_assert_uint_eq(p->swap, 64u << 20);
	ck_assert_uint_eq(p->cpu, 1500);
	ck_assert_uint_eq(p->pids, 64);
	ck_assert_uint_eq(p->wall_usec, 5400 * USEC_PER_SEC);
	ck_assert_uint_eq(p->nofile, 256);
	ck_assert_uint_eq(p->tmp_size, 32u << 20);

	ck_assert_int_eq(p->net, NET_FILTERED);
	ck_assert_str_eq(strv_join(p->allow, " "), "198.51.100.0/24:443 api.example.com:443");

	ck_assert_str_eq(strv_join(p->seccomp_deny, " "), "ptrace");
	ck_assert_str_eq(strv_join(p->seccomp_allow, " "), "io_uring_setup");
	ck_assert(p->seccomp_kill);

	ck_assert_uint_eq(p->degrade, DEGRADE_MEMORY | DEGRADE_LANDLOCK | DEGRADE_BUDGET);
	ck_assert(p->terminal);
	ck_assert_str_eq(p->hostname, "agent-1.example");

	ck_assert_str_eq(p->budget_unit, "USD");
	ck_assert_int_eq(p->price_cpu_s, 100);
	ck_assert_int_eq(p->price_wall_s, 20);
	ck_assert_int_eq(p->hold, 500000);

	ck_assert_uint_eq(p->n_tools, 1);
	ck_assert_str_eq(p->tools[0].name, "refund");
	ck_assert_str_eq(p->tools[0].description, "Refund an order");
	ck_assert_str_eq(p->tools[0].command, "/usr/lib/kdc/tools/refund");
	ck_assert_str_eq(strv_join(p->tools[0].secrets, " "), "STRIPE_KEY OTHER_KEY");
	ck_assert_str_eq(p->tools[0].args, "order:string amount:number");
	ck_assert_str_eq(p->tools[0].rule, "amount <= 500");
	ck_assert_str_eq(p->tools[0].approve, "amount > 100");
	ck_assert_int_eq(p->tools[0].cost, 1000);
	ck_assert_int_eq(p->tools[0].max_cost, 10000);
	ck_assert_str_eq(p->tools[0].cost_unit, "USD");
	ck_assert_str_eq(p->tools[0].rate, "10/min burst 5");
	ck_assert_uint_eq(p->tools[0].rate_count, 10);
	ck_assert_uint_eq(p->tools[0].rate_period_usec, 60 * USEC_PER_SEC);
	ck_assert_uint_eq(p->tools[0].rate_burst, 5);
	ck_assert_uint_eq(p->tools[0].timeout_usec, 20 * USEC_PER_SEC);
	ck_assert_ptr_null(p->argv);
}
END_TEST

START_TEST(built_in_defaults)
{
	_cleanup_plan_free_ Plan *p = NULL;
	char real[PATH_MAX];

	put_profile("t", "");
	p = load_ok("t", NULL);
	ck_assert_ptr_nonnull(realpath(wd, real));
	ck_assert_str_eq(p->workdir, real); /* workdir = cwd */
	ck_assert(!p->home_tmpfs);
	ck_assert_uint_eq(p->n_mounts, 0);
	ck_assert_uint_eq(p->memory, LIMIT_UNSET);
	ck_assert_uint_eq(p->swap, LIMIT_UNSET);
	ck_assert_uint_eq(p->cpu, LIMIT_UNSET);
	ck_assert_uint_eq(p->pids, LIMIT_UNSET);
	ck_assert_uint_eq(p->wall_usec, LIMIT_UNSET);
	ck_assert_uint_eq(p->nofile, LIMIT_UNSET);
	ck_assert_uint_eq(p->tmp_size, LIMIT_UNSET);
	ck_assert_int_eq(p->net, NET_NONE);
	ck_assert_uint_eq(p->degrade, 0);
	ck_assert(!p->terminal);
	ck_assert(!p->seccomp_kill);
	ck_assert_str_eq(p->hostname, "kdc");
	ck_assert_str_eq(p->budget_unit, "");
	ck_assert_ptr_null(p->description);
	ck_assert_ptr_null(p->env_keep);
	ck_assert_ptr_null(p->tenant);
	ck_assert_uint_eq(p->n_tools, 0);
}
END_TEST

START_TEST(memory_implies_no_swap)
{
	_cleanup_plan_free_ Plan *p = NULL, *q = NULL, *r = NULL;

	put_profile("t", "[limits]\nmemory = 1G\n");
	p = load_ok("t", NULL);
	ck_assert_uint_eq(p->swap, 0);
	put_profile("u", "[limits]\nmemory = 1G\nswap = max\n");
	q = load_ok("u", NULL);
	ck_assert_uint_eq(q->swap, LIMIT_UNSET);
	put_profile("v", "[limits]\nmemory = 1G\nmemory = max\n");
	r = load_ok("v", NULL);
	ck_assert_uint_eq(r->memory, LIMIT_UNSET);
	ck_assert_uint_eq(r->swap, LIMIT_UNSET);
}
END_TEST

START_TEST(empty_value_resets_scalar)
{
	_cleanup_plan_free_ Plan *p = NULL;

	put_profile("base", "description = base\n[limits]\nmemory = 1G\nwall = 1m\n[network]\nmode = proxy\n"
			    "[sandbox]\ndegrade = memory\nhostname = base\n");
	put_profile("t", "include = base\ndescription =\n[limits]\nmemory =\nwall =\n[network]\nmode =\n"
			 "[sandbox]\ndegrade =\nhostname =\n");
	p = load_ok("t", NULL);
	ck_assert_ptr_null(p->description);
	ck_assert_uint_eq(p->memory, LIMIT_UNSET);
	ck_assert_uint_eq(p->wall_usec, LIMIT_UNSET);
	ck_assert_int_eq(p->net, NET_NONE);
	ck_assert_uint_eq(p->degrade, 0);
	ck_assert_str_eq(p->hostname, "kdc");
}
END_TEST

START_TEST(continuation_lines)
{
	_cleanup_plan_free_ Plan *p = NULL;

	put_profile("t", "description = first\n  second\n[env]\nkeep = A\n  B C\n[seccomp]\ndeny = ptrace\n\tkcmp\n");
	p = load_ok("t", NULL);
	ck_assert_str_eq(p->description, "first second");
	ck_assert_str_eq(strv_join(p->env_keep, " "), "A B C");
	ck_assert_str_eq(strv_join(p->seccomp_deny, " "), "ptrace kcmp");
	body_fails("[limits]\nmemory = 1G\n  2G\n",
		   "@/profiles/t.ini:5: indented line continues 'memory' in [limits], which takes one value");
}
END_TEST

START_TEST(comments_and_quotes)
{
	_cleanup_plan_free_ Plan *p = NULL;

	put_profile("t", "# a comment\n; another\n[env]\nset = X=a;b ; an inline comment\n"
			 "set = \"Y=say \\\"hi\\\" \\\\o/\" Z=\"\"\n");
	p = load_ok("t", NULL);
	ck_assert_str_eq(strv_join(p->env_set, "|"), "X=a;b|Y=say \"hi\" \\o/|Z=");
	body_fails(
	    "[env]\nset = \"A=unterminated\n",
	    "@/profiles/t.ini:4: invalid value '\"A=unterminated' for 'set' in [env]: unterminated double quote");
}
END_TEST

/* ---- errors: syntax, sections, keys, versions ---- */

START_TEST(structure_errors)
{
	body_fails("[limits]\nmemroy = 1G\n", "@/profiles/t.ini:4: unknown key 'memroy' in [limits]");
	body_fails("\n[limitz]\n\nmemory = 1G\n", "@/profiles/t.ini:4: unknown section [limitz]");
	body_fails(
	    "[tool]\ncommand = /x\n",
	    "@/profiles/t.ini:3: invalid tool name '' in [tool]: expected up to 40 letters, digits, '.', '_' or '-'");
	body_fails("[toolbox]\ncommand = /x\n", "@/profiles/t.ini:3: unknown section [toolbox]");
	body_fails("[limits]\nno equals sign\n",
		   "@/profiles/t.ini:4: syntax error: expected [section], key = value, or a comment");
	body_fails("[limits\nmemory = 1G\n",
		   "@/profiles/t.ini:3: syntax error: expected [section], key = value, or a comment");
	body_fails("[profile]\nversion = 2\n", "@/profiles/t.ini:4: unsupported version '2' in [profile]: expected 1");
	body_fails("[Limits]\nmemory = 1G\n", "@/profiles/t.ini:3: unknown section [Limits]");
	body_fails("[limits]\nMemory = 1G\n", "@/profiles/t.ini:4: unknown key 'Memory' in [limits]");

	put("profiles/top.ini", "memory = 1G\n[profile]\nversion = 1\n");
	load_fails("top", NULL, -EINVAL, "@/profiles/top.ini:1: key 'memory' outside of any section");
	put("profiles/nov.ini", "[profile]\ndescription = x\n");
	load_fails("nov", NULL, -EINVAL, "@/profiles/nov.ini: missing 'version = 1' in [profile]");
	put("profiles/empty.ini", "");
	load_fails("empty", NULL, -EINVAL, "@/profiles/empty.ini: missing 'version = 1' in [profile]");
	put("profiles/nul.ini", "[profile]\nversion = 1\n");
	{
		char p[PATH_MAX + 32];
		FILE *f;
		snprintf(p, sizeof(p), "%s/profiles/nul.ini", dir);
		ck_assert_ptr_nonnull(f = fopen(p, "ae"));
		fputc(0, f);
		fclose(f);
	}
	load_fails("nul", NULL, -EINVAL, "@/profiles/nul.ini: contains a NUL byte; a profile is a text file");
}
END_TEST

START_TEST(long_lines)
{
	_cleanup_plan_free_ Plan *p = NULL;
	char body[512], line[256];

	/* 198 characters fit inih's 200-byte buffer with the newline and NUL */
	snprintf(line, sizeof(line), "description = %0*d", 198 - 14, 0);
	ck_assert_uint_eq(strlen(line), 198);
	snprintf(body, sizeof(body), "%s\n", line);
	put_profile("t", body);
	p = load_ok("t", NULL);
	ck_assert_uint_eq(strlen(p->description), 198 - 14);

	snprintf(line, sizeof(line), "description = %0*d", 199 - 14, 0);
	snprintf(body, sizeof(body), "%s\n[limitz]\n", line);
	body_fails(body,
		   "@/profiles/t.ini:3: line too long: at most 198 characters; split the list over several lines");

	/* inih would cut a section name after 49 characters, silently */
	body_fails("[tool abcdefghijabcdefghijabcdefghijabcdefghijabcde]\ncommand = /x\n",
		   "@/profiles/t.ini:3: section name too long: at most 49 characters");
}
END_TEST

/* ---- errors: values and units ---- */

START_TEST(value_errors)
{
	static const struct {
		const char *body, *error;
	} cases[] = {
	    {"[limits]\nmemory = 512Q\n",
	     "invalid value '512Q' for 'memory' in [limits]: expected a size such as 512M"},
	    {"[limits]\nmemory = 0\n", "invalid value '0' for 'memory' in [limits]: must be greater than 0"},
	    {"[limits]\nmemory = -1G\n", "invalid value '-1G' for 'memory' in [limits]: expected a size such as 512M"},
	    {"[limits]\nmemory = 99999999999999999999\n",
	     "invalid value '99999999999999999999' for 'memory' in [limits]: out of range"},
	    {"[limits]\nswap = lots\n", "invalid value 'lots' for 'swap' in [limits]: expected a size such as 512M"},
	    {"[limits]\ncpu = 0\n", "invalid value '0' for 'cpu' in [limits]: must be greater than 0"},
	    {"[limits]\ncpu = 0%\n", "invalid value '0%' for 'cpu' in [limits]: must be greater than 0"},
	    {"[limits]\ncpu = 2 cores\n",
	     "invalid value '2 cores' for 'cpu' in [limits]: expected cores such as 1.5 or a percentage such as 150%"},
	    {"[limits]\ncpu = 150.05%\n",
	     "invalid value '150.05%' for 'cpu' in [limits]: expected cores such as 1.5 or a percentage such as 150%"},
	    {"[limits]\npids = 0\n", "invalid value '0' for 'pids' in [limits]: must be greater than 0"},
	    {"[limits]\npids = 1.5\n",
	     "invalid value '1.5' for 'pids' in [limits]: expected a whole number greater than 0"},
	    {"[limits]\nwall = 0\n", "invalid value '0' for 'wall' in [limits]: must be greater than 0"},
	    {"[limits]\nwall = 5 fortnights\n",
	     "invalid value '5 fortnights' for 'wall' in [limits]: expected a duration such as 30s, 10m or 1h"},
	    {"[limits]\nnofile = max\n",
	     "invalid value 'max' for 'nofile' in [limits]: expected a whole number greater than 0"},
	    {"[limits]\ntmp = max\n", "invalid value 'max' for 'tmp' in [limits]: expected a size such as 512M"},
	    {"[limits]\ntmp = 0\n", "invalid value '0' for 'tmp' in [limits]: must be greater than 0"},
	    {"[filesystem]\nro = usr\n",
	     "invalid value 'usr' for 'ro' in [filesystem]: expected an absolute path without '..'"},
	    {"[filesystem]\nro = /usr/../etc\n",
	     "invalid value '/usr/../etc' for 'ro' in [filesystem]: expected an absolute path without '..'"},
	    {"[filesystem]\nrw = /usr:data\n",
	     "invalid value '/usr:data' for 'rw' in [filesystem]: expected an absolute path without '..'"},
	    {"[filesystem]\ntmpfs = /x:0\n",
	     "invalid value '/x:0' for 'tmpfs' in [filesystem]: expected DST[:SIZE] with a size such as 64M"},
	    {"[filesystem]\ntmpfs = /x:1Q\n",
	     "invalid value '/x:1Q' for 'tmpfs' in [filesystem]: expected DST[:SIZE] with a size such as 64M"},
	    {"[filesystem]\nmask = relative\n",
	     "invalid value 'relative' for 'mask' in [filesystem]: expected an absolute path without '..'"},
	    {"[filesystem]\nworkdir = relative/dir\n",
	     "invalid value 'relative/dir' for 'workdir' in [filesystem]: expected an absolute path, 'cwd' or 'none'"},
	    {"[filesystem]\nhome = ramdisk\n",
	     "invalid value 'ramdisk' for 'home' in [filesystem]: expected 'tmpfs' or 'none'"},
	    {"[env]\nkeep = 1ABC\n", "invalid value '1ABC' for 'keep' in [env]: expected a variable name such as LANG"},
	    {"[env]\nkeep = A-B\n", "invalid value 'A-B' for 'keep' in [env]: expected a variable name such as LANG"},
	    {"[env]\nset = NOEQUALS\n", "invalid value 'NOEQUALS' for 'set' in [env]: expected NAME=value"},
	    {"[env]\nset = =x\n", "invalid value '=x' for 'set' in [env]: expected NAME=value"},
	    {"[network]\nmode = open\n",
	     "invalid value 'open' for 'mode' in [network]: expected none, proxy or filtered"},
	    {"[network]\nallow = example.com:\n", "invalid value 'example.com:' for 'allow' in [network]: expected "
						  "HOST[:PORT], *.domain[:PORT], CIDR[:PORT] or [IPv6][:PORT]"},
	    {"[network]\nallow = example.com:0\n", "invalid value 'example.com:0' for 'allow' in [network]: expected "
						   "HOST[:PORT], *.domain[:PORT], CIDR[:PORT] or [IPv6][:PORT]"},
	    {"[network]\nallow = example.com:65536\n",
	     "invalid value 'example.com:65536' for 'allow' in [network]: "
	     "expected HOST[:PORT], *.domain[:PORT], CIDR[:PORT] or [IPv6][:PORT]"},
	    {"[network]\nallow = bad_host.com:443\n",
	     "invalid value 'bad_host.com:443' for 'allow' in [network]: "
	     "expected HOST[:PORT], *.domain[:PORT], CIDR[:PORT] or [IPv6][:PORT]"},
	    {"[network]\nallow = fd00::1::443\n", "invalid value 'fd00::1::443' for 'allow' in [network]: expected "
						  "HOST[:PORT], *.domain[:PORT], CIDR[:PORT] or [IPv6][:PORT]"},
	    {"[network]\nallow = 198.51.100.7/24:443\n",
	     "invalid value '198.51.100.7/24:443' for 'allow' in [network]: expected HOST[:PORT], *.domain[:PORT], "
	     "CIDR[:PORT] or [IPv6][:PORT]"},
	    {"[network]\nallow = 198.51.100.0/33:443\n",
	     "invalid value '198.51.100.0/33:443' for 'allow' in [network]: expected HOST[:PORT], *.domain[:PORT], "
	     "CIDR[:PORT] or [IPv6][:PORT]"},
	    {"[network]\nallow = [fd00::/129]:443\n",
	     "invalid value '[fd00::/129]:443' for 'allow' in [network]: "
	     "expected HOST[:PORT], *.domain[:PORT], CIDR[:PORT] or [IPv6][:PORT]"},
	    {"[seccomp]\ndeny = open,close\n", "invalid value 'open,close' for 'deny' in [seccomp]: expected syscall "
					       "names such as ptrace, separated by blanks"},
	    {"[seccomp]\non_violation = log\n",
	     "invalid value 'log' for 'on_violation' in [seccomp]: expected errno or kill"},
	    {"[sandbox]\ndegrade = memory,seccomp\n", "invalid value 'seccomp' for 'degrade' in [sandbox]: expected "
						      "memory, cpu, pids, cgroup, egress-bpf, landlock or budget"},
	    {"[sandbox]\nterminal = maybe\n", "invalid value 'maybe' for 'terminal' in [sandbox]: expected yes or no"},
	    {"[sandbox]\nhostname = -bad\n", "invalid value '-bad' for 'hostname' in [sandbox]: expected a host name "
					     "such as kdc (letters, digits, '-' and '.')"},
	    {"[sandbox]\nhostname = a_b\n", "invalid value 'a_b' for 'hostname' in [sandbox]: expected a host name "
					    "such as kdc (letters, digits, '-' and '.')"},
	    {"[budget]\nunit = 5USD\n",
	     "invalid value '5USD' for 'unit' in [budget]: expected a unit name such as USD"},
	    {"[budget]\ncpu = 0.0001\n",
	     "invalid value '0.0001' for 'cpu' in [budget]: expected an amount with its unit such as 0.50USD"},
	    {"[budget]\nhold = -1USD\n",
	     "invalid value '-1USD' for 'hold' in [budget]: must be 0 or more, and not that large"},
	    {"[budget]\nwall = 0.0000001USD\n",
	     "invalid value '0.0000001USD' for 'wall' in [budget]: expected an amount with its unit such as 0.50USD"},
	    {"[tool t]\ncommand = bin/refund\n",
	     "invalid value 'bin/refund' for 'command' in [tool t]: expected an absolute path to the program"},
	    {"[tool t]\nsecret = STRIPE-KEY\n",
	     "invalid value 'STRIPE-KEY' for 'secret' in [tool t]: expected a secret name such as STRIPE_KEY"},
	    {"[tool t]\nargs = order:text\n", "invalid value 'order:text' for 'args' in [tool t]: expected NAME:TYPE "
					      "with TYPE string, number, integer or boolean"},
	    {"[tool t]\nargs = order\n", "invalid value 'order' for 'args' in [tool t]: expected NAME:TYPE with TYPE "
					 "string, number, integer or boolean"},
	    {"[tool t]\ncost = 1\n",
	     "invalid value '1' for 'cost' in [tool t]: expected an amount with its unit such as 0.50USD"},
	    {"[tool t]\nmax_cost = -1USD\n",
	     "invalid value '-1USD' for 'max_cost' in [tool t]: must be 0 or more, and not that large"},
	    {"[tool t]\nrate = 10\n",
	     "invalid value '10' for 'rate' in [tool t]: expected COUNT/PERIOD [burst N] such as 10/min burst 5"},
	    {"[tool t]\nrate = 0/min\n",
	     "invalid value '0/min' for 'rate' in [tool t]: expected COUNT/PERIOD [burst N] such as 10/min burst 5"},
	    {"[tool t]\nrate = 10/fortnight\n", "invalid value '10/fortnight' for 'rate' in [tool t]: expected "
						"COUNT/PERIOD [burst N] such as 10/min burst 5"},
	    {"[tool t]\nrate = 10/min burst\n", "invalid value '10/min burst' for 'rate' in [tool t]: expected "
						"COUNT/PERIOD [burst N] such as 10/min burst 5"},
	    {"[tool t]\nrate = 10/min burst 5 more\n", "invalid value '10/min burst 5 more' for 'rate' in [tool t]: "
						       "expected COUNT/PERIOD [burst N] such as 10/min burst 5"},
	    {"[tool t]\ntimeout = 0\n",
	     "invalid value '0' for 'timeout' in [tool t]: expected a duration greater than 0 such as 20s"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char want[1024];
		snprintf(want, sizeof(want), "@/profiles/t.ini:4: %s", cases[i].error);
		body_fails(cases[i].body, want);
	}
}
END_TEST

/* The other direction: spellings that must be accepted. */
START_TEST(values_accepted)
{
	static const char *const bodies[] = {
	    "[limits]\nmemory = 1.5G\nswap = 0\ncpu = 0.25\npids = max\nwall = 250ms\nnofile = 1\ntmp = 64MiB\n",
	    "[limits]\ncpu = max\nwall = infinity\nmemory = max\n",
	    "[network]\nallow = *:* 198.51.100.128/25:53 [::1]:8080 [fd00:6b64::/64]:443 *.example.com:443 a-b.c:1\n",
	    "[network]\nallow = 0.0.0.0/0:443,example.com:80\n",
	    "[sandbox]\ndegrade = memory cpu,pids, cgroup\nterminal = off\nhostname = a\n",
	    "[tool x.y-z_1]\ncommand = /bin/true\nrate = 100/1h\ntimeout = 1m\ncost = 0USD\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
		put_profile("t", bodies[i]);
		plan_free(load_ok("t", NULL));
	}
}
END_TEST

/* ---- mounts ---- */

START_TEST(mount_rules)
{
	body_fails("[filesystem]\nro = /usr:/\n",
		   "@/profiles/t.ini:4: ro destination '/' is the box's root: mount something below it");
	body_fails("[filesystem]\nro = /usr:/proc/x\n",
		   "@/profiles/t.ini:4: ro destination '/proc/x' is inside /proc, which kdc mounts itself");
	body_fails("[filesystem]\ntmpfs = /dev/shm\n",
		   "@/profiles/t.ini:4: tmpfs destination '/dev/shm' is inside /dev, which kdc mounts itself");
	body_fails("[filesystem]\nrw = /usr:/tmp\n", "@/profiles/t.ini:4: rw destination '/tmp' is inside /tmp, which "
						     "kdc mounts itself (size it with [limits] tmp)");
	body_fails("[filesystem]\nro = /usr:/work/usr\n",
		   "@/profiles/t.ini:4: ro destination '/work/usr' is inside the workdir mounted at /work; set workdir "
		   "= none to use /work");
	body_fails("[filesystem]\nmask = /work\n", "@/profiles/t.ini:4: mask destination '/work' is inside the workdir "
						   "mounted at /work; set workdir = none to use /work");
	body_fails_r("[filesystem]\nro = /no/such/dir\n", -ENOENT,
		     "@/profiles/t.ini:4: cannot use ro source '/no/such/dir': No such file or directory");
	body_fails("[filesystem]\nhome = tmpfs\ntmpfs = /home/x\n",
		   "@/profiles/t.ini:5: tmpfs destination '/home/x' collides with home = tmpfs at /home");
	/* /work is free without a workdir; a mask inside the workdir is fine */
	put_profile("u", "[filesystem]\nworkdir = none\nro = /usr:/work\n");
	plan_free(load_ok("u", NULL));
	put_profile("v", "[filesystem]\nmask = /work/.env\n");
	plan_free(load_ok("v", NULL));
}
END_TEST

START_TEST(mount_order_and_duplicates)
{
	_cleanup_plan_free_ Plan *p = NULL;

	/* the later entry for a destination replaces the earlier one; parents
	 * come before children whatever the order they were given in */
	put_profile("t", "[filesystem]\nmask = /usr/bin/sudo\nro = /usr/lib:/opt/lib\nro = /usr\nrw = /usr:/opt/lib\n"
			 "tmpfs = /opt\n");
	p = load_ok("t", NULL);
	ck_assert_uint_eq(p->n_mounts, 4);
	ck_assert_str_eq(p->mounts[0].dest, "/usr");
	ck_assert_str_eq(p->mounts[1].dest, "/opt");
	ck_assert_str_eq(p->mounts[2].dest, "/opt/lib");
	ck_assert_int_eq(p->mounts[2].kind, MOUNT_RW);
	ck_assert_str_eq(p->mounts[2].source, "/usr");
	ck_assert_str_eq(p->mounts[3].dest, "/usr/bin/sudo");
	ck_assert_int_eq(p->mounts[3].kind, MOUNT_MASK);
}
END_TEST

START_TEST(mount_symlinks)
{
	_cleanup_plan_free_ Plan *p = NULL;
	char body[6 * PATH_MAX], abs_link[PATH_MAX + 16], dangling[PATH_MAX + 16], missing[PATH_MAX + 16];
	const MountSpec *m;

	snprintf(abs_link, sizeof(abs_link), "%s/abs", dir);
	snprintf(dangling, sizeof(dangling), "%s/dangling", dir);
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	ck_assert_int_eq(symlink("/usr/bin", abs_link), 0);
	ck_assert_int_eq(symlink("nowhere", dangling), 0);
	snprintf(body, sizeof(body), "[filesystem]\nro = %s\nro-try = %s %s\nrw = %s:/bin2\n", abs_link, dangling,
		 missing, abs_link);
	put_profile("t", body);
	p = load_ok("t", NULL);
	ck_assert_ptr_nonnull(m = find_mount(p, abs_link));
	ck_assert_int_eq(m->kind, MOUNT_SYMLINK);
	ck_assert_str_eq(m->source, "/usr/bin");
	ck_assert_ptr_nonnull(m = find_mount(p, dangling));
	ck_assert_int_eq(m->kind, MOUNT_SYMLINK); /* a link is copied even if it points nowhere */
	ck_assert_str_eq(m->source, "nowhere");
	ck_assert_ptr_nonnull(m = find_mount(p, missing));
	ck_assert_int_eq(m->kind, MOUNT_RO_TRY); /* skipped by the mounts module */
	ck_assert_ptr_nonnull(m = find_mount(p, "/bin2"));
	ck_assert_int_eq(m->kind, MOUNT_RW); /* another destination: the bind follows the link */
	ck_assert_str_eq(m->source, abs_link);

	/* a dangling link bound elsewhere is an error for ro, skipped for ro-try */
	snprintf(body, sizeof(body), "[filesystem]\nro = %s:/x\n", dangling);
	body_fails_r(body, -ENOENT, "@/profiles/t.ini:4: cannot use ro source '@/dangling': No such file or directory");
}
END_TEST

/* ---- workdir ---- */

START_TEST(workdir_rules)
{
	_cleanup_plan_free_ Plan *p = NULL, *q = NULL;
	char file[PATH_MAX + 16], real[PATH_MAX];

	put_profile("none", "[filesystem]\nworkdir = none\n");
	p = load_ok("none", NULL);
	ck_assert_ptr_null(p->workdir);

	/* cwd through a symlink resolves to the real directory */
	snprintf(file, sizeof(file), "%s/wd-link", dir);
	ck_assert_int_eq(symlink("wd", file), 0);
	ck_assert_int_eq(chdir(file), 0);
	put_profile("cwd", "[filesystem]\nworkdir = cwd\n");
	q = load_ok("cwd", NULL);
	ck_assert_ptr_nonnull(realpath(wd, real));
	ck_assert_str_eq(q->workdir, real);

	snprintf(file, sizeof(file), "%s/a-file", dir);
	put("a-file", "x");
	{
		char body[PATH_MAX * 2];
		snprintf(body, sizeof(body), "[filesystem]\nworkdir = %s\n", file);
		body_fails_r(body, -ENOTDIR, "@/profiles/t.ini:4: cannot use workdir '@/a-file': Not a directory");
	}
	body_fails_r("[filesystem]\nworkdir = /no/such/dir\n", -ENOENT,
		     "@/profiles/t.ini:4: cannot use workdir '/no/such/dir': No such file or directory");
	body_fails("[filesystem]\nworkdir = /\n", "@/profiles/t.ini:4: refusing '/' as the workdir; cd into a project "
						  "directory, pass --workdir DIR, or set workdir = none");
	ck_assert_int_eq(chdir("/"), 0);
	put_profile("t", "");
	load_fails("t", NULL, -EINVAL,
		   "workdir = cwd (built-in default): refusing '/' as the workdir; cd into a project "
		   "directory, pass --workdir DIR, or set workdir = none");
}
END_TEST

/* ---- includes ---- */

START_TEST(include_merge_order)
{
	_cleanup_plan_free_ Plan *p = NULL;

	setenv("KDC_CONFIG_PATH", TOP_SRCDIR "/tests/unit", 1);
	p = load_ok("child", NULL);
	ck_assert_str_eq(p->profile_path, PROFILE_FIXTURES "/child.ini");
	ck_assert_str_eq(p->description, "child");
	ck_assert_uint_eq(p->memory, 2u << 30); /* child.ini wins, though written before its include */
	ck_assert_uint_eq(p->pids, 100);	/* from base.ini */
	ck_assert_str_eq(strv_join(p->env_keep, " "), "BASE_KEPT CHILD_KEPT");
	ck_assert_str_eq(strv_join(p->env_set, " "), "SHARED=base WHO=child");
	ck_assert_str_eq(p->origins[PLAN_MEMORY], PROFILE_FIXTURES "/child.ini:3");
	ck_assert_str_eq(p->origins[PLAN_PIDS], PROFILE_FIXTURES "/base.ini:16");
	ck_assert_str_eq(p->env_keep_origins[0], PROFILE_FIXTURES "/base.ini:11");
	ck_assert_str_eq(p->env_keep_origins[1], PROFILE_FIXTURES "/child.ini:12");
}
END_TEST

START_TEST(include_several_and_reset)
{
	_cleanup_plan_free_ Plan *p = NULL;

	setenv("KDC_CONFIG_PATH", TOP_SRCDIR "/tests/unit", 1);
	p = load_ok("multi", NULL);
	ck_assert_uint_eq(p->memory, 3u << 30);			     /* other.ini, after base.ini */
	ck_assert_uint_eq(p->cpu, 500);				     /* other.ini */
	ck_assert_str_eq(p->description, "base");		     /* only base.ini sets it */
	ck_assert_str_eq(strv_join(p->env_keep, " "), "RESET_KEPT"); /* reset.ini emptied, then added */
	ck_assert_ptr_null(find_mount(p, "/cache"));		     /* reset.ini: tmpfs = */
	ck_assert_ptr_nonnull(find_mount(p, "/usr"));		     /* ro is another list */
}
END_TEST

START_TEST(include_errors)
{
	setenv("KDC_CONFIG_PATH", TOP_SRCDIR "/tests/unit", 1);
	load_fails("cycle-a", NULL, -ELOOP,
		   "%1$s/cycle-b.ini:2: include cycle: %1$s/cycle-a.ini -> %1$s/cycle-b.ini -> %1$s/cycle-a.ini",
		   PROFILE_FIXTURES);
	load_fails("self-include", NULL, -ELOOP,
		   "%1$s/self-include.ini:3: include cycle: %1$s/self-include.ini -> %1$s/self-include.ini",
		   PROFILE_FIXTURES);
	load_fails("missing-include", NULL, -ENOENT,
		   "%1$s/missing-include.ini:4: profile 'no-such-profile' not found (searched "
		   "%1$s/no-such-profile.ini, %1$s/no-such-profile.ini)",
		   PROFILE_FIXTURES);
	load_fails("missing-path-include", NULL, -ENOENT,
		   "%1$s/missing-path-include.ini:3: cannot open profile '%1$s/../profiles/nothing-here.ini': No such "
		   "file or directory",
		   PROFILE_FIXTURES);
	load_fails("no-such", NULL, -ENOENT, "profile 'no-such' not found (searched %s/no-such.ini)", PROFILE_FIXTURES);
	load_fails("./no-such.ini", NULL, -ENOENT, "cannot open profile '@/wd/no-such.ini': No such file or directory");
	load_fails("../profiles", NULL, -EISDIR, "cannot read profile '@/wd/../profiles': not a regular file");
	load_fails("bad name", NULL, -EINVAL,
		   "invalid profile name 'bad name': expected letters, digits, '.', '_' or '-'");
	load_fails(".hidden", NULL, -EINVAL,
		   "invalid profile name '.hidden': expected letters, digits, '.', '_' or '-'");
}
END_TEST

START_TEST(include_depth)
{
	char name[32], body[64];

	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		snprintf(body, sizeof(body), "include = d%d\n", i + 1);
		put_profile(name, body);
	}
	put_profile("d20", "");
	load_fails("d0", NULL, -ELOOP, "@/profiles/d15.ini:3: includes nested more than 16 deep");
	plan_free(load_ok("d5", NULL)); /* 16 files: the limit */
}
END_TEST

/* An include by NAME looks beside the including file first. */
START_TEST(include_beside_first)
{
	_cleanup_plan_free_ Plan *p = NULL;
	char sub[PATH_MAX + 16];

	snprintf(sub, sizeof(sub), "%s/elsewhere", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	put_profile("base", "description = from the search path\n");
	put("elsewhere/base.ini", "[profile]\ndescription = from beside\n");
	put("elsewhere/top.ini", "[profile]\nversion = 1\ninclude = base\n");
	put("elsewhere/top2.ini", "[profile]\nversion = 1\ninclude = ../profiles/base.ini\n");
	ck_assert_int_eq(chdir(sub), 0);
	p = load_ok("./top.ini", NULL);
	ck_assert_str_eq(p->description, "from beside");
	ck_assert_str_eq(p->profile_path, strcat(sub, "/top.ini"));
	plan_free(p);
	p = load_ok("./top2.ini", NULL); /* a PATH include: relative to the including file */
	ck_assert_str_eq(p->description, "from the search path");
	/* a NAME never has a '/' or an extension added twice */
	load_fails("top2.ini", NULL, -ENOENT, "profile 'top2.ini' not found (searched @/profiles/top2.ini.ini)");
}
END_TEST

/* ---- search path ---- */

START_TEST(search_path_order)
{
	_cleanup_plan_free_ Plan *p = NULL;
	char a[PATH_MAX + 16], b[PATH_MAX + 16], both[2 * PATH_MAX + 40];

	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	put_profile("x", "description = in dir\n");
	ck_assert_int_eq(mkdir(a, 0755), 0);
	ck_assert_int_eq(mkdir(b, 0755), 0);
	snprintf(both, sizeof(both), "%s/profiles", a);
	ck_assert_int_eq(mkdir(both, 0755), 0);
	snprintf(both, sizeof(both), "%s/profiles", b);
	ck_assert_int_eq(mkdir(both, 0755), 0);
	put("a/profiles/x.ini", "[profile]\nversion = 1\ndescription = in a\n");
	put("b/profiles/x.ini", "[profile]\nversion = 1\ndescription = in b\n");
	put("b/profiles/y.ini", "[profile]\nversion = 1\ndescription = only in b\n");

	/* a relative entry is taken from the current directory */
	setenv("KDC_CONFIG_PATH", "..", 1);
	p = load_ok("x", NULL);
	snprintf(both, sizeof(both), "%s/wd/../profiles/x.ini", dir);
	ck_assert_str_eq(p->profile_path, both);
	plan_free(p);

	snprintf(both, sizeof(both), "%s::%s", a, b); /* an empty entry is skipped */
	setenv("KDC_CONFIG_PATH", both, 1);
	p = load_ok("x", NULL);
	ck_assert_str_eq(p->description, "in a");
	plan_free(p);
	p = load_ok("y", NULL);
	ck_assert_str_eq(p->description, "only in b");
	plan_free(p);
	p = NULL;
	load_fails("z", NULL, -ENOENT, "profile 'z' not found (searched @/a/profiles/z.ini, @/b/profiles/z.ini)");

	/* without KDC_CONFIG_PATH: $XDG_CONFIG_HOME/kdc first */
	unsetenv("KDC_CONFIG_PATH");
	setenv("XDG_CONFIG_HOME", dir, 1);
	snprintf(both, sizeof(both), "%s/kdc", dir);
	ck_assert_int_eq(mkdir(both, 0755), 0);
	snprintf(both, sizeof(both), "%s/kdc/profiles", dir);
	ck_assert_int_eq(mkdir(both, 0755), 0);
	put("kdc/profiles/x.ini", "[profile]\nversion = 1\ndescription = in xdg\n");
	p = load_ok("x", NULL);
	ck_assert_str_eq(p->description, "in xdg");
	plan_free(p);
	p = NULL;
	load_fails("z", NULL, -ENOENT,
		   "profile 'z' not found (searched @/kdc/profiles/z.ini, %s/kdc/profiles/z.ini, %s/profiles/z.ini)",
		   SYSCONFDIR, PKGDATADIR);
	/* and ~/.config/kdc without XDG_CONFIG_HOME */
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "/nonexistent-home", 1);
	load_fails("z", NULL, -ENOENT,
		   "profile 'z' not found (searched /nonexistent-home/.config/kdc/profiles/z.ini, "
		   "%s/kdc/profiles/z.ini, %s/profiles/z.ini)",
		   SYSCONFDIR, PKGDATADIR);
}
END_TEST

START_TEST(unreadable_profile_is_an_error)
{
	char a[PATH_MAX + 16], both[2 * PATH_MAX + 40];

	if (geteuid() == 0)
		return; /* root reads everything; the integration test covers it as nobody */
	snprintf(a, sizeof(a), "%s/a", dir);
	ck_assert_int_eq(mkdir(a, 0755), 0);
	snprintf(both, sizeof(both), "%s/profiles", a);
	ck_assert_int_eq(mkdir(both, 0755), 0);
	put("a/profiles/x.ini", "[profile]\nversion = 1\n");
	snprintf(both, sizeof(both), "%s/profiles/x.ini", a);
	ck_assert_int_eq(chmod(both, 0), 0);
	put_profile("x", "");
	snprintf(both, sizeof(both), "%s:%s", a, dir);
	setenv("KDC_CONFIG_PATH", both, 1);
	load_fails("x", NULL, -EACCES, "cannot open profile '@/a/profiles/x.ini': Permission denied");
}
END_TEST

/* ---- overrides ---- */

START_TEST(overrides_apply)
{
	_cleanup_plan_free_ Plan *p = NULL;
	char *ro[] = {"/usr:/opt/usr", "..", NULL};
	char *rw[] = {"/usr:/data", NULL};
	char *tmpfs[] = {"/cache:16M", NULL};
	char *env[] = {"FOO=bar baz", "TERM", "A=override", NULL};
	char *allow[] = {"pypi.org:443", NULL};
	char *argv[] = {"python3", "-c", "print(1)", NULL};
	char real[PATH_MAX];
	ProfileOverrides o = {
	    .tenant = "acme",
	    .project = "web",
	    .user = "alice",
	    .workdir = "..",
	    .ro_binds = ro,
	    .binds = rw,
	    .tmpfs = tmpfs,
	    .env = env,
	    .net = "proxy",
	    .allow = allow,
	    .memory = "256M",
	    .cpu = "50%",
	    .pids = "32",
	    .timeout = "90s",
	    .argv = argv,
	};
	const MountSpec *m;

	put_profile("t", "[env]\nset = A=profile\n[limits]\nmemory = 1G\n[network]\nallow = deb.debian.org:443\n");
	p = load_ok("t", &o);
	ck_assert_ptr_nonnull(realpath(dir, real));
	ck_assert_str_eq(p->tenant, "acme");
	ck_assert_str_eq(p->project, "web");
	ck_assert_str_eq(p->user, "alice");
	ck_assert_str_eq(p->workdir, real);
	ck_assert_ptr_nonnull(m = find_mount(p, "/opt/usr"));
	ck_assert_int_eq(m->kind, MOUNT_RO);
	ck_assert_ptr_nonnull(m = find_mount(p, real)); /* relative source, from the current directory */
	ck_assert_int_eq(m->kind, MOUNT_RO);
	ck_assert_str_eq(m->origin, "--ro-bind");
	ck_assert_ptr_nonnull(m = find_mount(p, "/data"));
	ck_assert_int_eq(m->kind, MOUNT_RW);
	ck_assert_ptr_nonnull(m = find_mount(p, "/cache"));
	ck_assert_uint_eq(m->size, 16u << 20);
	ck_assert_str_eq(strv_join(p->env_keep, " "), "TERM");
	ck_assert_str_eq(strv_join(p->env_set, "|"), "FOO=bar baz|A=override");
	ck_assert_int_eq(p->net, NET_PROXY);
	ck_assert_str_eq(strv_join(p->allow, " "), "deb.debian.org:443 pypi.org:443");
	ck_assert_uint_eq(p->memory, 256u << 20);
	ck_assert_uint_eq(p->cpu, 500);
	ck_assert_uint_eq(p->pids, 32);
	ck_assert_uint_eq(p->wall_usec, 90 * USEC_PER_SEC);
	ck_assert_str_eq(strv_join(p->argv, " "), "python3 -c print(1)");
	ck_assert_str_eq(p->origins[PLAN_MEMORY], "--memory");
	ck_assert_str_eq(p->origins[PLAN_WALL], "--timeout");
	ck_assert_str_eq(p->origins[PLAN_TENANT], "--tenant");
}
END_TEST

START_TEST(override_errors)
{
	static char *bad_ro[] = {"/no/such/path", NULL}, *bad_rel[] = {"no-such-rel", NULL},
		    *bad_dst[] = {"/usr:relative", NULL}, *bad_rw[] = {"/usr:/proc", NULL},
		    *bad_tmpfs[] = {"/x:huge", NULL}, *bad_env[] = {"1X=2", NULL}, *bad_keep[] = {"A B", NULL},
		    *bad_allow[] = {"nope:0", NULL};
	static const struct {
		ProfileOverrides o;
		int r;
		const char *error;
	} cases[] = {
	    {{.memory = "abc"}, -EINVAL, "--memory: invalid size 'abc': expected a size such as 512M"},
	    {{.memory = "0"}, -EINVAL, "--memory: invalid size '0': must be greater than 0"},
	    {{.memory = ""}, -EINVAL, "--memory: empty value"},
	    {{.cpu = "lots"},
	     -EINVAL,
	     "--cpu: invalid cpu value 'lots': expected cores such as 1.5 or a percentage such as 150%"},
	    {{.cpu = "0"}, -EINVAL, "--cpu: invalid cpu value '0': must be greater than 0"},
	    {{.pids = "-5"}, -EINVAL, "--pids: invalid number '-5': expected a whole number greater than 0"},
	    {{.timeout = "soon"},
	     -EINVAL,
	     "--timeout: invalid duration 'soon': expected a duration such as 30s, 10m or 1h"},
	    {{.timeout = "0s"}, -EINVAL, "--timeout: invalid duration '0s': must be greater than 0"},
	    {{.net = "all"}, -EINVAL, "--net: invalid network mode 'all': expected none, proxy or filtered"},
	    {{.tenant = "a/b"},
	     -EINVAL,
	     "--tenant: invalid name 'a/b': expected up to 64 letters, digits, '.', '_' or '-'"},
	    {{.project = "-x"},
	     -EINVAL,
	     "--project: invalid name '-x': expected up to 64 letters, digits, '.', '_' or '-'"},
	    {{.user = ""}, -EINVAL, "--user: invalid name '': expected up to 64 letters, digits, '.', '_' or '-'"},
	    {{.workdir = "/no/such/dir"},
	     -ENOENT,
	     "--workdir: cannot use workdir '/no/such/dir': No such file or directory"},
	    {{.workdir = "/"},
	     -EINVAL,
	     "--workdir: refusing '/' as the workdir; cd into a project directory, pass --workdir DIR, or set workdir "
	     "= none"},
	    {{.ro_binds = bad_ro},
	     -ENOENT,
	     "--ro-bind: cannot use ro source '/no/such/path': No such file or directory"},
	    {{.ro_binds = bad_rel}, -ENOENT, "--ro-bind: cannot use 'no-such-rel': No such file or directory"},
	    {{.ro_binds = bad_dst},
	     -EINVAL,
	     "--ro-bind: invalid destination '/usr:relative': expected an absolute path without '..'"},
	    {{.binds = bad_rw}, -EINVAL, "--bind: rw destination '/proc' is inside /proc, which kdc mounts itself"},
	    {{.tmpfs = bad_tmpfs},
	     -EINVAL,
	     "--tmpfs: invalid tmpfs '/x:huge': expected DST[:SIZE] with a size such as 64M"},
	    {{.env = bad_env}, -EINVAL, "--env: invalid variable '1X=2': expected NAME=value"},
	    {{.env = bad_keep}, -EINVAL, "--env: invalid variable name 'A B': expected a variable name such as LANG"},
	    {{.allow = bad_allow},
	     -EINVAL,
	     "--allow: invalid destination 'nope:0': expected HOST[:PORT], *.domain[:PORT], CIDR[:PORT] or "
	     "[IPv6][:PORT]"},
	};

	put_profile("t", "");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		load_fails("t", &cases[i].o, cases[i].r, "%s", cases[i].error);
}
END_TEST

/* ---- finishing checks ---- */

START_TEST(tool_and_budget_rules)
{
	_cleanup_plan_free_ Plan *p = NULL;
	const ToolSpec *t;

	setenv("KDC_CONFIG_PATH", TOP_SRCDIR "/tests/unit", 1);
	p = load_ok("tools", NULL);
	ck_assert_uint_eq(p->n_tools, 2);
	t = &p->tools[0];
	ck_assert_str_eq(t->name, "refund");
	ck_assert_str_eq(strv_join(t->secrets, " "), "STRIPE_KEY AUDIT_TOKEN"); /* the second [tool refund] adds */
	ck_assert_str_eq(t->origins[TOOL_SECTION], PROFILE_FIXTURES "/tools.ini:31");
	ck_assert_str_eq(t->origins[TOOL_COMMAND], PROFILE_FIXTURES "/tools.ini:17");
	t = &p->tools[1];
	ck_assert_str_eq(t->name, "search");
	ck_assert_int_eq(t->cost, 0);
	ck_assert_int_eq(t->max_cost, 50000);
	ck_assert_str_eq(t->cost_unit, "USD");
	ck_assert_uint_eq(t->rate_count, 100);
	ck_assert_uint_eq(t->rate_period_usec, 3600 * USEC_PER_SEC);
	ck_assert_uint_eq(t->rate_burst, 0);
	ck_assert_str_eq(p->budget_unit, "USD");
	ck_assert_int_eq(p->hold, 500000);
	setenv("KDC_CONFIG_PATH", dir, 1);

	body_fails("[tool refund]\ndescription = x\n", "@/profiles/t.ini:3: [tool refund] has no command");
	body_fails("[tool a b]\ncommand = /x\n", "@/profiles/t.ini:3: invalid tool name 'a b' in [tool a b]: expected "
						 "up to 40 letters, digits, '.', '_' or '-'");
	body_fails("[tool t]\ncommand = /x\ncost = 1USD\nmax_cost = 0.5USD\n",
		   "@/profiles/t.ini:6: max_cost of [tool t] is less than its cost");
	body_fails("[tool t]\ncommand = /x\ncost = 1USD\nmax_cost = 2EUR\n",
		   "@/profiles/t.ini:6: unit 'EUR' of 'max_cost' in [tool t] differs from 'USD' of 'cost'");
	body_fails(
	    "[budget]\nunit = USD\nhold = 1EUR\n",
	    "@/profiles/t.ini:5: unit 'EUR' of 'hold' in [budget] differs from unit 'USD' set at @/profiles/t.ini:4");
	body_fails("[budget]\ncpu = 1USD\nwall = 1EUR\n",
		   "@/profiles/t.ini:5: unit 'EUR' of 'wall' in [budget] differs from unit 'USD'");
}
END_TEST

START_TEST(home_tmpfs)
{
	_cleanup_plan_free_ Plan *p = NULL;
	const MountSpec *m;

	put_profile("t", "[filesystem]\nhome = tmpfs\n[env]\nset = HOME=/work A=1\n");
	p = load_ok("t", NULL);
	ck_assert(p->home_tmpfs);
	ck_assert_ptr_nonnull(m = find_mount(p, "/home"));
	ck_assert_int_eq(m->kind, MOUNT_TMPFS);
	ck_assert_uint_eq(m->size, 0);					/* no [limits] tmp */
	ck_assert_str_eq(strv_join(p->env_set, " "), "A=1 HOME=/home"); /* home = tmpfs wins */
}
END_TEST

/* ---- --print-profile ---- */

START_TEST(print_with_origins)
{
	_cleanup_plan_free_ Plan *p = NULL;
	_cleanup_free_ char *text = NULL;
	char *argv[] = {"sh", "-c", "echo 'a b'", NULL};
	ProfileOverrides o = {.memory = "2G", .tenant = "acme", .argv = argv};
	char line[2 * PATH_MAX];

	setenv("KDC_CONFIG_PATH", TOP_SRCDIR "/tests/unit", 1);
	p = load_ok("child", &o);
	text = print_plan(p);
	snprintf(line, sizeof(line), "; kdc profile 'child' resolved from %s/child.ini", PROFILE_FIXTURES);
	assert_has_line(text, line);
	assert_has_line(text, "; tenant acme ; from --tenant");
	assert_has_line(text, "version = 1");
	snprintf(line, sizeof(line), "description = child ; from %s/child.ini:9", PROFILE_FIXTURES);
	assert_has_line(text, line);
	snprintf(line, sizeof(line), "ro = /usr ; from %s/base.ini:7", PROFILE_FIXTURES);
	assert_has_line(text, line);
	snprintf(line, sizeof(line), "tmpfs = /cache:8M ; from %s/base.ini:8", PROFILE_FIXTURES);
	assert_has_line(text, line);
	snprintf(line, sizeof(line), "keep = CHILD_KEPT ; from %s/child.ini:12", PROFILE_FIXTURES);
	assert_has_line(text, line);
	assert_has_line(text, "memory = 2G ; from --memory");
	assert_has_line(text, "swap = 0 ; built-in default (no swap when memory is limited)");
	snprintf(line, sizeof(line), "wall = 5m ; from %s/base.ini:17", PROFILE_FIXTURES);
	assert_has_line(text, line);
	assert_has_line(text, "cpu = ; built-in default");
	assert_has_line(text, "mode = none ; built-in default");
	assert_has_line(text, "hostname = kdc ; built-in default");
	assert_has_line(text, "; command: sh -c \"echo 'a b'\" ; from the command line");
}
END_TEST

/* The printed plan loads back into the same plan. */
START_TEST(print_round_trip)
{
	_cleanup_plan_free_ Plan *p = NULL, *q = NULL;
	_cleanup_free_ char *text = NULL, *again = NULL;
	char *env[] = {"MSG=a \"quoted\" value; with semicolon", NULL};
	ProfileOverrides o = {.env = env, .cpu = "1.25"};
	const char *a, *b;

	setenv("KDC_CONFIG_PATH", TOP_SRCDIR "/tests/unit", 1);
	p = load_ok("tools", &o);
	text = print_plan(p);
	put("printed.ini", text);
	setenv("KDC_CONFIG_PATH", dir, 1);
	q = load_ok("../printed.ini", NULL);
	again = print_plan(q);
	/* the same lines up to the origins */
	for (a = text, b = again; *a && *b;) {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
		const char *oa = strstr(a, " ; "), *ob = strstr(b, " ; ");
		size_t ca = oa && (size_t) (oa - a) < la ? (size_t) (oa - a) : la;
		size_t cb = ob && (size_t) (ob - b) < lb ? (size_t) (ob - b) : lb;
		if (!startswith(a, "; kdc profile"))
			ck_assert_msg(ca == cb && strncmp(a, b, ca) == 0, "'%.*s' != '%.*s'", (int) la, a, (int) lb, b);
		a += la + (a[la] == '\n');
		b += lb + (b[lb] == '\n');
	}
	ck_assert(!*a && !*b);
	ck_assert_str_eq(strv_join(q->env_set, "|"), strv_join(p->env_set, "|"));
	ck_assert_uint_eq(q->n_mounts, p->n_mounts);
	ck_assert(q->home_tmpfs);
	assert_has_line(text, "; set = HOME=/home ; from " PROFILE_FIXTURES "/tools.ini:7");
	assert_has_line(text, "; tmpfs = /home ; from " PROFILE_FIXTURES "/tools.ini:7");
}
END_TEST

/* ---- the shipped profiles ---- */

START_TEST(shipped_profiles)
{
	_cleanup_plan_free_ Plan *d = NULL, *py = NULL, *ci = NULL, *st = NULL;
	const MountSpec *m;

	setenv("KDC_CONFIG_PATH", TOP_SRCDIR, 1);
	d = load_ok(NULL, NULL); /* NULL is "default" */
	ck_assert_str_eq(d->profile_name, "default");
	ck_assert_str_eq(d->profile_path, TOP_SRCDIR "/profiles/default.ini");
	ck_assert_int_eq(d->net, NET_NONE);
	ck_assert_ptr_nonnull(d->workdir);
	ck_assert_uint_eq(d->memory, 1u << 30);
	ck_assert_uint_eq(d->pids, 512);
	ck_assert_uint_eq(d->tmp_size, 256u << 20);
	ck_assert_uint_eq(d->wall_usec, LIMIT_UNSET);
	ck_assert_uint_eq(d->degrade, DEGRADE_MEMORY | DEGRADE_CPU | DEGRADE_PIDS | DEGRADE_CGROUP |
					  DEGRADE_EGRESS_BPF | DEGRADE_LANDLOCK);
	ck_assert_ptr_nonnull(m = find_mount(d, "/usr"));
	ck_assert_int_eq(m->kind, MOUNT_RO);
	ck_assert_ptr_nonnull(m = find_mount(d, "/bin"));
	ck_assert(m->kind == MOUNT_SYMLINK || m->kind == MOUNT_RO_TRY);
	ck_assert_ptr_null(find_mount(d, "/etc/shadow"));
	ck_assert_ptr_null(find_mount(d, "/etc/ssl"));
	ck_assert(strv_contains(d->env_set, "HOME=/work"));
	ck_assert(strv_contains(d->env_keep, "TERM"));

	py = load_ok("python", NULL);
	ck_assert(strv_contains(py->env_set, "PYTHONDONTWRITEBYTECODE=1"));
	ck_assert(strv_contains(py->env_set, "PYTHONUNBUFFERED=1"));
	ck_assert_uint_eq(py->n_mounts, d->n_mounts);

	ci = load_ok("ci", NULL);
	ck_assert_int_eq(ci->net, NET_PROXY);
	ck_assert_uint_eq(strv_length(ci->allow), 5);
	ck_assert(strv_contains(ci->allow, "*.pythonhosted.org:443"));
	ck_assert_uint_eq(ci->memory, 4ull << 30);
	ck_assert_uint_eq(ci->pids, 4096);
	ck_assert_uint_eq(ci->wall_usec, 3600 * USEC_PER_SEC);
	ck_assert(strv_contains(ci->env_keep, "CI"));

	st = load_ok("strict", NULL);
	ck_assert_uint_eq(st->degrade, 0);
	ck_assert(st->seccomp_kill);
	ck_assert_uint_eq(st->memory, 512u << 20);
	ck_assert_uint_eq(st->pids, 128);
	ck_assert_uint_eq(st->wall_usec, 600 * USEC_PER_SEC);

	plan_free(load_ok(TOP_SRCDIR "/profiles/examples/refund-agent.ini", NULL));
	plan_free(load_ok(TOP_SRCDIR "/profiles/examples/research-agent.ini", NULL));
}
END_TEST

/* kdc-run loads the default profile on every run: keep it cheap. A generous
 * bound that only catches a gross regression (the measured figure is in
 * the report); the steady state is what the bound is about. */
START_TEST(default_loads_fast)
{
	struct timespec a, b;
	double best = 1e9;

	setenv("KDC_CONFIG_PATH", TOP_SRCDIR, 1);
	for (int i = 0; i < 200; i++) {
		Plan *p;
		clock_gettime(CLOCK_MONOTONIC, &a);
		p = load_ok("python", NULL);
		clock_gettime(CLOCK_MONOTONIC, &b);
		plan_free(p);
		best = MIN(best, (double) (b.tv_sec - a.tv_sec) * 1e6 + (double) (b.tv_nsec - a.tv_nsec) / 1e3);
	}
	ck_assert_msg(best < 300, "profile_load('python') took %.1f us at best", best);
}
END_TEST

static Suite *profile_suite(void)
{
	Suite *s = suite_create("profile");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, setup_base, teardown_base);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, net_mode_and_degrade_names);
	tcase_add_test(tc, every_key);
	tcase_add_test(tc, built_in_defaults);
	tcase_add_test(tc, memory_implies_no_swap);
	tcase_add_test(tc, empty_value_resets_scalar);
	tcase_add_test(tc, continuation_lines);
	tcase_add_test(tc, comments_and_quotes);
	tcase_add_test(tc, structure_errors);
	tcase_add_test(tc, long_lines);
	tcase_add_test(tc, value_errors);
	tcase_add_test(tc, values_accepted);
	tcase_add_test(tc, mount_rules);
	tcase_add_test(tc, mount_order_and_duplicates);
	tcase_add_test(tc, mount_symlinks);
	tcase_add_test(tc, workdir_rules);
	tcase_add_test(tc, include_merge_order);
	tcase_add_test(tc, include_several_and_reset);
	tcase_add_test(tc, include_errors);
	tcase_add_test(tc, include_depth);
	tcase_add_test(tc, include_beside_first);
	tcase_add_test(tc, search_path_order);
	tcase_add_test(tc, unreadable_profile_is_an_error);
	tcase_add_test(tc, overrides_apply);
	tcase_add_test(tc, override_errors);
	tcase_add_test(tc, tool_and_budget_rules);
	tcase_add_test(tc, home_tmpfs);
	tcase_add_test(tc, print_with_origins);
	tcase_add_test(tc, print_round_trip);
	tcase_add_test(tc, shipped_profiles);
	tcase_add_test(tc, default_loads_fast);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(profile_suite());

	return check_run(sr);
}
