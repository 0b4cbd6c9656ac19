/* SPDX-License-Identifier: MIT */
/* The pure parts of src/core/cgroup.c: mountinfo and /proc/PID/cgroup
 * parsing, cpu.max formatting, controller lists, and the statistics read
 * from fixture files shaped like cgroupfs, and who is left in a cgroup. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cgroup.h"
#include "shared/fileio.h"
#include "shared/macro.h"
#include "check-run.h"

/* This machine's layout: cgroup v1 controllers plus cgroup2 at .../unified. */
static const char hybrid[] = "22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
			     "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
			     "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
			     "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
			     "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
			     "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

/* A pure cgroup2 host with optional fields, and a second cgroup2 mount whose
 * path has a space (mountinfo writes it as \040). */
static const char unified[] =
    "25 22 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
    "90 25 0:22 /kdc.slice /run/my\\040cg rw,relatime shared:9 master:3 - cgroup2 cgroup2 rw\n";

START_TEST(mountinfo_parse)
{
	char *p = NULL;

	ck_assert_int_eq(cgroup_parse_mountinfo(hybrid, NULL, &p), 0);
	ck_assert_str_eq(p, "/sys/fs/cgroup/unified");
	free(p);

	ck_assert_int_eq(cgroup_parse_mountinfo(unified, NULL, &p), 0);
	ck_assert_str_eq(p, "/sys/fs/cgroup");
	free(p);

	/* The innermost mount holding a path, escapes decoded. */
	ck_assert_int_eq(cgroup_parse_mountinfo(unified, "/run/my cg/x", &p), 0);
	ck_assert_str_eq(p, "/run/my cg");
	free(p);
	ck_assert_int_eq(cgroup_parse_mountinfo(unified, "/sys/fs/cgroup/kdc.slice", &p), 0);
	ck_assert_str_eq(p, "/sys/fs/cgroup");
	free(p);
	ck_assert_int_eq(cgroup_parse_mountinfo(hybrid, "/sys/fs/cgroup/unified", &p), 0);
	ck_assert_str_eq(p, "/sys/fs/cgroup/unified");
	free(p);

	/* A prefix that is not a path component does not count. */
	p = (char *) "untouched";
	ck_assert_int_eq(cgroup_parse_mountinfo(hybrid, "/sys/fs/cgroup/unifiedX", &p), -ENOMEDIUM);
	ck_assert_int_eq(cgroup_parse_mountinfo(hybrid, "/sys/fs/cgroup/memory", &p), -ENOMEDIUM);
	/* cgroup v1 only, or nothing. */
	ck_assert_int_eq(
	    cgroup_parse_mountinfo("31 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n", NULL, &p),
	    -ENOMEDIUM);
	ck_assert_int_eq(cgroup_parse_mountinfo("", NULL, &p), -ENOMEDIUM);
	ck_assert_int_eq(cgroup_parse_mountinfo("garbage without separator\n", NULL, &p), -ENOMEDIUM);
	ck_assert_str_eq(p, "untouched");
}
END_TEST

START_TEST(proc_cgroup_parse)
{
	char *p = NULL;

	ck_assert_int_eq(cgroup_parse_proc_cgroup("9:name=systemd:/\n4:memory:/x\n0::/\n", &p), 0);
	ck_assert_str_eq(p, "/");
	free(p);
	ck_assert_int_eq(cgroup_parse_proc_cgroup("0::/user.slice/user-1000.slice/app.slice/run-u1.service\n", &p), 0);
	ck_assert_str_eq(p, "/user.slice/user-1000.slice/app.slice/run-u1.service");
	free(p);
	ck_assert_int_eq(cgroup_parse_proc_cgroup("0::/a", &p), 0); /* no final newline */
	ck_assert_str_eq(p, "/a");
	free(p);
	ck_assert_int_eq(cgroup_parse_proc_cgroup("4:memory:/x\n", &p), -ENOMEDIUM);
	ck_assert_int_eq(cgroup_parse_proc_cgroup("", &p), -ENOMEDIUM);
}
END_TEST

START_TEST(cpu_max_format)
{
	char b[48];

	ck_assert_int_eq(cgroup_format_cpu_max(b, sizeof b, 1000), 0);
	ck_assert_str_eq(b, "100000 100000");
	ck_assert_int_eq(cgroup_format_cpu_max(b, sizeof b, 1500), 0);
	ck_assert_str_eq(b, "150000 100000");
	ck_assert_int_eq(cgroup_format_cpu_max(b, sizeof b, 200), 0);
	ck_assert_str_eq(b, "20000 100000");
	ck_assert_int_eq(cgroup_format_cpu_max(b, sizeof b, 10), 0); /* the kernel's 1 ms minimum */
	ck_assert_str_eq(b, "1000 100000");
	ck_assert_int_eq(cgroup_format_cpu_max(b, sizeof b, LIMIT_UNSET), 0);
	ck_assert_str_eq(b, "max 100000");
	ck_assert_int_eq(cgroup_format_cpu_max(b, sizeof b, 9), -ERANGE);
	ck_assert_int_eq(cgroup_format_cpu_max(b, sizeof b, 0), -ERANGE);
	ck_assert_int_eq(cgroup_format_cpu_max(b, sizeof b, UINT64_MAX / 10), -ERANGE);
	ck_assert_int_eq(cgroup_format_cpu_max(b, 8, 1500), -ENOBUFS);
}
END_TEST

START_TEST(controller_lists)
{
	ck_assert(cgroup_list_contains("cpu memory pids\n", "memory"));
	ck_assert(cgroup_list_contains("cpu memory pids\n", "pids"));
	ck_assert(cgroup_list_contains("cpuset cpu io\n", "cpu"));
	ck_assert(!cgroup_list_contains("cpuset io\n", "cpu"));
	ck_assert(!cgroup_list_contains("hugetlb\n", "memory"));
	ck_assert(!cgroup_list_contains("", "memory"));
	ck_assert(!cgroup_list_contains(NULL, "memory"));
}
END_TEST

/* Field 22 of /proc/self/stat, counted the plain way. */
static unsigned long long my_starttime(void)
{
	_cleanup_free_ char *text = NULL;
	char *p, *save = NULL;
	int field = 2;

	ck_assert_int_eq(read_full_file("/proc/self/stat", &text, NULL), 0);
	p = strrchr(text, ')') + 1;
	for (char *tok = strtok_r(p, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (++field == 22)
			return strtoull(tok, NULL, 10);
	ck_abort();
	return 0;
}

START_TEST(owner_records)
{
	char rec[96], other[128];
	unsigned long long pid, st, ns;
	struct stat sb;
	pid_t child;
	void *big;

	ck_assert_int_eq(cgroup_owner_record(rec, sizeof rec), 0);
	ck_assert_int_eq(sscanf(rec, "%llu %llu %llu", &pid, &st, &ns), 3);
	ck_assert_uint_eq(pid, (unsigned long long) getpid());
	ck_assert_uint_eq(st, my_starttime());
	ck_assert_int_eq(stat("/proc/self/ns/pid", &sb), 0);
	ck_assert_uint_eq(ns, (unsigned long long) sb.st_ino);
	ck_assert_int_eq(cgroup_owner_alive(rec), 1);

	/* The owner's memory, threads and times change: it stays the owner. */
	big = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(big, MAP_FAILED);
	memset(big, 1, 64 << 20);
	ck_assert_int_eq(cgroup_owner_alive(rec), 1);
	munmap(big, 64 << 20);

	/* Same pid, other start time: the pid was reused, the owner is dead. */
	(void) snprintf(other, sizeof other, "%llu %llu %llu", pid, st + 1, ns);
	ck_assert_int_eq(cgroup_owner_alive(other), 0);
	/* A pid that exited and was reaped. */
	child = fork();
	if (child == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(child, NULL, 0), child);
	(void) snprintf(other, sizeof other, "%d %llu %llu", (int) child, st, ns);
	ck_assert_int_eq(cgroup_owner_alive(other), 0);
	/* Another pid namespace: unknowable, so alive. */
	(void) snprintf(other, sizeof other, "%llu %llu %llu", pid, st + 1, ns + 1);
	ck_assert_int_eq(cgroup_owner_alive(other), 1);
	/* Garbage or an old two-field record: nobody owns it. */
	ck_assert_int_eq(cgroup_owner_alive(""), 0);
	ck_assert_int_eq(cgroup_owner_alive("abc"), 0);
	ck_assert_int_eq(cgroup_owner_alive("0 1 2"), 0);
	(void) snprintf(other, sizeof other, "%llu %llu", pid, st);
	ck_assert_int_eq(cgroup_owner_alive(other), 0);
}
END_TEST

static char fixture[] = "/tmp/test-cgroup.XXXXXX";

static int put(int dfd, const char *name, const char *text)
{
	_cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	return fd < 0 ? -errno : loop_write(fd, text, strlen(text));
}

static int fixture_dir(const char *sub)
{
	char path[64];
	int fd;

	(void) snprintf(path, sizeof path, "%s/%s", fixture, sub);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	return fd;
}

START_TEST(stats_full)
{
	_cleanup_close_ int d = fixture_dir("full");
	CgroupStats st;

	/* As a 6.1 kernel writes them, with memory, pids and cpu enabled. */
	ck_assert_int_eq(put(d, "cpu.stat",
			     "usage_usec 1126810\nuser_usec 1100000\nsystem_usec 26810\n"
			     "core_sched.force_idle_usec 0\nnr_periods 23\nnr_throttled 22\nthrottled_usec 2864257\n"
			     "nr_bursts 0\nburst_usec 0\n"),
			 0);
	ck_assert_int_eq(put(d, "memory.events", "low 0\nhigh 0\nmax 21\noom 1\noom_kill 2\noom_group_kill 1\n"), 0);
	ck_assert_int_eq(put(d, "memory.peak", "33554432\n"), 0);
	ck_assert_int_eq(put(d, "pids.events", "max 81\n"), 0);
	ck_assert_int_eq(put(d, "pids.peak", "20\n"), 0);

	ck_assert_int_eq(cgroup_stats_read_at(d, &st), 0);
	ck_assert_uint_eq(st.cpu_usec, 1126810);
	ck_assert_uint_eq(st.user_usec, 1100000);
	ck_assert_uint_eq(st.system_usec, 26810);
	ck_assert_uint_eq(st.nr_throttled, 22);
	ck_assert_uint_eq(st.throttled_usec, 2864257);
	ck_assert_uint_eq(st.memory_peak, 33554432);
	ck_assert_uint_eq(st.memory_events_max, 21);
	ck_assert_uint_eq(st.memory_events_oom_kill, 2); /* not oom_group_kill */
	ck_assert_uint_eq(st.pids_events_max, 81);
	ck_assert_uint_eq(st.pids_peak, 20);
	ck_assert(st.has_cpu && st.has_memory && st.has_pids);
}
END_TEST

START_TEST(stats_hybrid)
{
	_cleanup_close_ int d = fixture_dir("hybrid");
	CgroupStats st;

	/* A sub-cgroup of a hybrid host's cgroup2: only the usage part of cpu.stat. */
	ck_assert_int_eq(put(d, "cpu.stat", "usage_usec 16067\nuser_usec 4016\nsystem_usec 12050\n"), 0);
	ck_assert_int_eq(cgroup_stats_read_at(d, &st), 0);
	ck_assert_uint_eq(st.cpu_usec, 16067);
	ck_assert_uint_eq(st.system_usec, 12050);
	ck_assert_uint_eq(st.nr_throttled, 0);
	ck_assert_uint_eq(st.memory_peak, 0);
	ck_assert_uint_eq(st.pids_peak, 0);
	ck_assert(!st.has_cpu && !st.has_memory && !st.has_pids);
}
END_TEST

START_TEST(stats_old_kernel)
{
	_cleanup_close_ int d = fixture_dir("old");
	CgroupStats st;

	/* Before memory.peak / pids.peak existed: the events still count. */
	ck_assert_int_eq(put(d, "cpu.stat", "usage_usec 5\nuser_usec 3\nsystem_usec 2\n"), 0);
	ck_assert_int_eq(put(d, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 1\n"), 0);
	ck_assert_int_eq(put(d, "pids.events", "max 3\n"), 0);
	ck_assert_int_eq(cgroup_stats_read_at(d, &st), 0);
	ck_assert_uint_eq(st.memory_events_oom_kill, 1);
	ck_assert_uint_eq(st.pids_events_max, 3);
	ck_assert_uint_eq(st.memory_peak, 0);
	ck_assert(st.has_memory && st.has_pids);
}
END_TEST

START_TEST(stats_garbage)
{
	_cleanup_close_ int d = fixture_dir("garbage");
	CgroupStats st = {.cpu_usec = 42};

	/* A peak that is not a number is an error, and *ret stays as it was. */
	ck_assert_int_eq(put(d, "memory.events", "oom_kill 1\n"), 0);
	ck_assert_int_eq(put(d, "memory.peak", "lots\n"), 0);
	ck_assert_int_eq(cgroup_stats_read_at(d, &st), -EBADMSG);
	ck_assert_uint_eq(st.cpu_usec, 42);
}
END_TEST

START_TEST(only_pid_left)
{
	_cleanup_close_ int d = fixture_dir("only");

	/* As cgroupfs writes them: one pid a line. */
	ck_assert_int_eq(put(d, "cgroup.stat", "nr_descendants 0\nnr_dying_descendants 3\n"), 0);
	ck_assert_int_eq(put(d, "cgroup.procs", ""), 0);
	ck_assert_int_eq(cgroup_only_at(d, 4242), 1); /* pid 1 of the box is gone too */
	ck_assert_int_eq(put(d, "cgroup.procs", "4242\n"), 0);
	ck_assert_int_eq(cgroup_only_at(d, 4242), 1);
	ck_assert_int_eq(put(d, "cgroup.procs", "4242\n4250\n"), 0);
	ck_assert_int_eq(cgroup_only_at(d, 4242), 0);
	ck_assert_int_eq(put(d, "cgroup.procs", "4250\n4242\n"), 0);
	ck_assert_int_eq(cgroup_only_at(d, 4242), 0);
	ck_assert_int_eq(put(d, "cgroup.procs", "424\n"), 0);
	ck_assert_int_eq(cgroup_only_at(d, 4242), 0); /* a prefix is another pid */
	ck_assert_int_eq(put(d, "cgroup.procs", "42420\n"), 0);
	ck_assert_int_eq(cgroup_only_at(d, 4242), 0);

	/* A live sub-cgroup may hold processes cgroup.procs does not list;
	 * dying ones hold none. */
	ck_assert_int_eq(put(d, "cgroup.procs", "4242\n"), 0);
	ck_assert_int_eq(put(d, "cgroup.stat", "nr_descendants 1\nnr_dying_descendants 0\n"), 0);
	ck_assert_int_eq(cgroup_only_at(d, 4242), 0);

	/* What cannot be read is not "only pid 1": the caller waits. */
	ck_assert_int_eq(put(d, "cgroup.stat", "nr_descendants 0\n"), 0);
	ck_assert_int_eq(put(d, "cgroup.procs", "4242\nsome\n"), 0);
	ck_assert_int_eq(cgroup_only_at(d, 4242), -EBADMSG);
	ck_assert_int_eq(put(d, "cgroup.procs", "4242x\n"), 0);
	ck_assert_int_eq(cgroup_only_at(d, 4242), -EBADMSG);
	ck_assert_int_eq(put(d, "cgroup.stat", "nr_dying_descendants 0\n"), 0);
	ck_assert_int_eq(cgroup_only_at(d, 4242), -ENOENT);
	ck_assert_int_eq(unlinkat(d, "cgroup.stat", 0), 0);
	ck_assert_int_eq(cgroup_only_at(d, 4242), -ENOENT);
	ck_assert_int_eq(cgroup_session_only(NULL, 1), -EINVAL);
}
END_TEST

START_TEST(create_rejects_bad_names)
{
	static const char *const bad_tenants[] = {"",		"/acme", "acme/",  "a//b", ".hidden", "cgroup.procs",
						  "memory.max", "a b",	 "a/../b", "x/.."};
	CgroupLimits lim = {LIMIT_UNSET, LIMIT_UNSET, LIMIT_UNSET, LIMIT_UNSET};
	CgroupSession *s = NULL;
	char *hint = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(bad_tenants); i++) {
		ck_assert_int_eq(cgroup_session_create(bad_tenants[i], "s1", &lim, 0, &s, NULL, &hint), -EINVAL);
		ck_assert_ptr_nonnull(hint);
		free(hint);
		hint = NULL;
	}
	ck_assert_int_eq(cgroup_session_create("acme", "a/b", &lim, 0, &s, NULL, NULL), -EINVAL);
	ck_assert_int_eq(cgroup_session_create("acme", "..", &lim, 0, &s, NULL, NULL), -EINVAL);
	ck_assert_int_eq(cgroup_session_create("acme", "pids.max", &lim, 0, &s, NULL, NULL), -EINVAL);
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(root_override_outside_cgroup2)
{
	char *p = NULL, *hint = NULL;
	CgroupSession *s = NULL;

	ck_assert_int_eq(setenv("KDC_CGROUP_ROOT", fixture, 1), 0);
	ck_assert_int_eq(cgroup_find_mount(&p), -EINVAL);
	ck_assert_int_eq(cgroup_session_create("acme", "s1", NULL, 0, &s, NULL, &hint), -EINVAL);
	ck_assert_ptr_nonnull(strstr(hint, "is not a directory inside a cgroup2 mount"));
	free(hint);
	ck_assert_int_eq(setenv("KDC_CGROUP_ROOT", "/nonexistent/cgroup", 1), 0);
	ck_assert_int_eq(cgroup_find_mount(&p), -EINVAL);
	ck_assert_ptr_null(p);
	unsetenv("KDC_CGROUP_ROOT");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cgroup");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;
	char cmd[64];

	if (!mkdtemp(fixture))
		return 99;
	tcase_add_test(tc, mountinfo_parse);
	tcase_add_test(tc, proc_cgroup_parse);
	tcase_add_test(tc, cpu_max_format);
	tcase_add_test(tc, controller_lists);
	tcase_add_test(tc, owner_records);
	tcase_add_test(tc, stats_full);
	tcase_add_test(tc, stats_hybrid);
	tcase_add_test(tc, stats_old_kernel);
	tcase_add_test(tc, stats_garbage);
	tcase_add_test(tc, only_pid_left);
	tcase_add_test(tc, create_rejects_bad_names);
	tcase_add_test(tc, root_override_outside_cgroup2);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	failed = check_run(sr);
	(void) snprintf(cmd, sizeof cmd, "rm -rf '%s'", fixture);
	(void) !system(cmd);
	return failed;
}
