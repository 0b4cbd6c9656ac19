/* SPDX-License-Identifier: MIT */
/* The session cgroup: placement, quotas, teardown and the end-of-run figures.
 *
 * Rules this file keeps (TESTING.md "cgroups", HELPERS.md machine rules):
 *  - the cgroup2 mount is found in /proc/self/mountinfo, never assumed;
 *  - a cgroup2 mount's root cgroup.subtree_control is only read, never
 *    written: controllers are enabled in kdc.slice and below, and in a base
 *    the caller owns (a delegated subtree or KDC_CGROUP_ROOT);
 *  - the only process this file ever moves is the calling process itself,
 *    and only out of a delegated base into its leaf <base>/kdc.leaf, because
 *    the kernel refuses controllers in a cgroup that holds processes;
 *  - processes are killed only in kdc's own session cgroups: the live one,
 *    or a leftover whose recorded owner (pid + start time) is dead. */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#include "core/cgroup.h"
#include "shared/fileio.h"
#include "shared/macro.h"
#include "shared/units.h"

#define SLICE "kdc.slice"
#define LEAF "kdc.leaf"
#define OWNER_XATTR "user.kdc.owner"
#define SLICE_KEEP_XATTR "user.kdc.keep" /* EGRESS_SLICE_XATTR of src/core/egress.h */
#define CPU_PERIOD_USEC UINT64_C(100000)
#define CPU_MIN_QUOTA_USEC UINT64_C(1000)
/* An unowned, empty leaf this old in a session parent is a crash leftover
 * (a kdc-run that died between mkdir and recording itself), not a session
 * being born right now. */
#define LEFTOVER_MIN_AGE_SEC 60
#define LEFTOVER_KILL_WAIT_USEC (2 * USEC_PER_SEC)
#define DESTROY_WAIT_USEC (10 * USEC_PER_SEC)

static inline const char *strempty(const char *s)
{
	return s ? s : "";
}

struct CgroupSession {
	char *path;		 /* <base>/kdc.slice/<tenant>/<session> */
	char *base;		 /* where kdc.slice lives; never removed */
	int fd;			 /* the session directory */
	bool base_is_mount_root; /* base is the cgroup2 mount's root */
};

typedef struct Controller {
	const char *name;
	unsigned degrade; /* Degrade bit */
} Controller;

static const Controller controllers[] = {
    {"memory", DEGRADE_MEMORY},
    {"cpu", DEGRADE_CPU},
    {"pids", DEGRADE_PIDS},
};

/* Where sessions go, resolved once per call. */
typedef struct Base {
	char *mount;	    /* the cgroup2 mount */
	char *path;	    /* the base directory */
	bool is_mount_root; /* path is the mount's root: read-only for us */
	bool delegated;	    /* found by walking up from the caller's cgroup */
} Base;

static void base_done(Base *b)
{
	free(b->mount);
	free(b->path);
	*b = (Base){};
}

static void set_hint(char **ret_hint, const char *fmt, ...) _printf_(2, 3);
static void set_hint(char **ret_hint, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (!ret_hint)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(*ret_hint);
	*ret_hint = s;
}

static uint64_t now_usec(void)
{
	struct timespec ts;
	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

bool cgroup_list_contains(const char *list, const char *name)
{
	size_t l = strlen(name);

	for (const char *p = list; p && *p;) {
		p += strspn(p, " \t\n");
		size_t w = strcspn(p, " \t\n");
		if (w == l && strneq(p, name, l))
			return true;
		p += w;
	}
	return false;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;
	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char) ((r[1] - '0') << 6 | (r[2] - '0') << 3 | (r[3] - '0'));
			r += 4;
		} else
			*w++ = *r++;
	}
	*w = 0;
}

static bool path_inside(const char *path, const char *dir)
{
	const char *rest;

	if (streq(dir, "/"))
		return path[0] == '/';
	rest = startswith(path, dir);
	return rest && (*rest == 0 || *rest == '/');
}

int cgroup_parse_mountinfo(const char *text, const char *inside, char **ret_path)
{
	_cleanup_free_ char *copy = strdup(text), *best = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *line = copy, *next; line && *line; line = next) {
		char *fields[10], *sep, *mp, *fstype, *save = NULL;
		size_t n = 0;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		/* "36 35 98:0 /root /mnt opts... - fstype source superopts" */
		sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = 0;
		for (char *tok = strtok_r(line, " ", &save); tok && n < ARRAY_SIZE(fields);
		     tok = strtok_r(NULL, " ", &save))
			fields[n++] = tok;
		if (n < 5)
			continue;
		fstype = strtok_r(sep + 3, " ", &save);
		if (!fstype || !streq(fstype, "cgroup2"))
			continue;
		mp = fields[4];
		unescape_octal(mp);
		if (inside) {
			/* The innermost cgroup2 mount holding `inside`. */
			if (!path_inside(inside, mp) || (best && strlen(best) >= strlen(mp)))
				continue;
		} else if (best)
			continue;
		free(best);
		best = strdup(mp);
		if (!best)
			return -ENOMEM;
	}
	if (!best)
		return -ENOMEDIUM;
	*ret_path = TAKE_PTR(best);
	return 0;
}

int cgroup_parse_proc_cgroup(const char *text, char **ret_path)
{
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t) (nl - line) : strlen(line);

		if (len >= 4 && strneq(line, "0::/", 4)) {
			char *p = strndup(line + 3, len - 3);
			if (!p)
				return -ENOMEM;
			*ret_path = p;
			return 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENOMEDIUM;
}

static bool is_cgroup2(const char *path)
{
	struct statfs sfs;
	return statfs(path, &sfs) >= 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/* KDC_CGROUP_ROOT, resolved and checked: NULL when unset. */
static int root_override(char **ret, char **ret_hint)
{
	const char *e = secure_getenv("KDC_CGROUP_ROOT");
	char *p;

	if (isempty(e)) {
		*ret = NULL;
		return 0;
	}
	p = realpath(e, NULL);
	if (!p || !is_cgroup2(p)) {
		free(p);
		set_hint(ret_hint, "KDC_CGROUP_ROOT='%s' is not a directory inside a cgroup2 mount", e);
		return -EINVAL;
	}
	*ret = p;
	return 0;
}

static int find_mount(const char *inside, char **ret_path)
{
	_cleanup_free_ char *text = NULL;
	int r;

	r = read_full_file("/proc/self/mountinfo", &text, NULL);
	if (r < 0)
		return r;
	return cgroup_parse_mountinfo(text, inside, ret_path);
}

int cgroup_find_mount(char **ret_path)
{
	_cleanup_free_ char *over = NULL;
	int r;

	r = root_override(&over, NULL);
	if (r < 0)
		return r;
	return find_mount(over, ret_path);
}

/* We own a cgroup when we may create children in it, move processes into it
 * and enable controllers for its children: what systemd's Delegate=yes
 * hands over (the directory, cgroup.procs and cgroup.subtree_control). */
static bool cgroup_owned(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return false;
	return fstatat(fd, "cgroup.procs", &st, 0) >= 0 && st.st_uid == geteuid() &&
	       faccessat(fd, ".", W_OK, AT_EACCESS) >= 0 && faccessat(fd, "cgroup.procs", W_OK, AT_EACCESS) >= 0 &&
	       faccessat(fd, "cgroup.subtree_control", W_OK, AT_EACCESS) >= 0;
}

/* systemd marks the cgroup it delegates: the walk stops there, below the
 * manager's own cgroups that the user may also own (user@UID.service). */
static bool delegation_point(const char *dir)
{
	char v[8];
	ssize_t n;

	n = getxattr(dir, "trusted.delegate", v, sizeof v);
	if (n < 0)
		n = getxattr(dir, "user.delegate", v, sizeof v);
	return n == 1 && v[0] == '1';
}

static int find_base(Base *ret, char **ret_hint)
{
	_cleanup_free_ char *over = NULL, *mnt = NULL, *text = NULL, *own = NULL, *cur = NULL, *top = NULL;
	int r;

	r = root_override(&over, ret_hint);
	if (r < 0)
		return r;
	r = find_mount(over, &mnt);
	if (r < 0) {
		set_hint(ret_hint, "no cgroup2 file system is mounted (see /proc/self/mountinfo); mount one, or add "
				   "'degrade = cgroup' to the profile");
		return r;
	}
	if (over) {
		bool root = streq(over, mnt);
		*ret = (Base){.mount = TAKE_PTR(mnt), .path = TAKE_PTR(over), .is_mount_root = root};
		return 0;
	}
	if (geteuid() == 0) {
		char *p = strdup(mnt);
		if (!p)
			return -ENOMEM;
		*ret = (Base){.mount = TAKE_PTR(mnt), .path = p, .is_mount_root = true};
		return 0;
	}

	/* Unprivileged: the highest cgroup at or above our own that we own. */
	r = read_full_file("/proc/self/cgroup", &text, NULL);
	if (r < 0)
		return r;
	r = cgroup_parse_proc_cgroup(text, &own);
	if (r < 0) {
		set_hint(ret_hint, "this process is in no cgroup2 cgroup (/proc/self/cgroup has no '0::' line)");
		return r;
	}
	if (asprintf(&cur, "%s%s", mnt, streq(own, "/") ? "" : own) < 0)
		return -ENOMEM;
	while (!streq(cur, mnt) && cgroup_owned(cur)) {
		char *slash;

		free(top);
		top = strdup(cur);
		if (!top)
			return -ENOMEM;
		if (delegation_point(cur))
			break;
		slash = strrchr(cur, '/');
		*slash = 0;
	}
	if (!top) {
		set_hint(ret_hint,
			 "cannot create a session cgroup: cgroup2 at %s belongs to root and this process's cgroup '%s' "
			 "is not delegated to uid %u; run under a delegated cgroup (systemd-run --user -p Delegate=yes "
			 "--pty kdc-run ...), use the system supervisor (kdc-supervisor --system), or add "
			 "'degrade = cgroup' to the profile",
			 mnt, own, (unsigned) geteuid());
		return -EACCES;
	}
	*ret = (Base){.mount = TAKE_PTR(mnt), .path = TAKE_PTR(top), .delegated = true};
	return 0;
}

/* Controllers a child of base can get: the mount root's subtree_control
 * (which we never change), or what a base we own offers. */
static int base_controllers(const Base *b, char **ret)
{
	_cleanup_close_ int fd = open(b->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return negative_errno();
	return read_full_file_at(fd, b->is_mount_root ? "cgroup.subtree_control" : "cgroup.controllers", ret, NULL);
}

static bool valid_name(const char *s)
{
	static const char *const reserved[] = {"cgroup.", "memory.",  "cpu.",  "cpuset.", "pids.",
					       "io.",	  "hugetlb.", "rdma.", "misc.",	  "cpuacct."};
	size_t n = strlen(s);

	if (n == 0 || n > 128 || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char) s[i]) && !strchr("_.@-", s[i]))
			return false;
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		if (startswith(s, reserved[i]))
			return false;
	return true;
}

static bool valid_tenant(const char *t)
{
	_cleanup_free_ char *c = strdup(t);
	char *save = NULL;
	size_t n = 0;

	if (!c || t[0] == '/' || t[strlen(t) - 1] == '/' || strstr(t, "//"))
		return false;
	for (char *tok = strtok_r(c, "/", &save); tok; tok = strtok_r(NULL, "/", &save), n++)
		if (!valid_name(tok) || n >= 8)
			return false;
	return n > 0;
}

int cgroup_format_cpu_max(char *buf, size_t len, uint64_t millicores)
{
	uint64_t quota;
	int n;

	if (millicores == LIMIT_UNSET)
		n = snprintf(buf, len, "max %" PRIu64, CPU_PERIOD_USEC);
	else {
		if (millicores > UINT64_MAX / (CPU_PERIOD_USEC / 1000))
			return -ERANGE;
		quota = millicores * (CPU_PERIOD_USEC / 1000);
		if (quota < CPU_MIN_QUOTA_USEC)
			return -ERANGE;
		n = snprintf(buf, len, "%" PRIu64 " %" PRIu64, quota, CPU_PERIOD_USEC);
	}
	if (n < 0 || (size_t) n >= len)
		return -ENOBUFS;
	return 0;
}

/* Start time of a process in clock ticks since boot (/proc/PID/stat field
 * 22): with the pid it names one process for good, pid reuse or not. */
static int process_starttime(pid_t pid, uint64_t *ret)
{
	_cleanup_free_ char *text = NULL;
	char path[64], *p;
	unsigned long long v;
	int r;

	(void) snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
	r = read_full_file(path, &text, NULL);
	if (r < 0)
		return r;
	p = strrchr(text, ')'); /* comm may hold spaces and ')' */
	if (!p)
		return -EBADMSG;
	/* p + 1 is the space before field 3 (state); each step moves to the
	 * space before the next field, 19 steps to field 22 (starttime). */
	p++;
	for (int i = 0; i < 19; i++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EBADMSG;
	}
	if (sscanf(p, " %llu", &v) != 1)
		return -EBADMSG;
	*ret = v;
	return 0;
}

/* Our pid namespace's inode: a pid means something only inside it. */
static int pidns_inode(uint64_t *ret)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st) < 0)
		return negative_errno();
	*ret = (uint64_t) st.st_ino;
	return 0;
}

/* "PID STARTTIME PIDNS": the owner of a session, for the leftover sweep. */
int cgroup_owner_record(char *buf, size_t len)
{
	uint64_t st, ns;
	int r;

	r = process_starttime(getpid(), &st);
	if (r < 0)
		return r;
	r = pidns_inode(&ns);
	if (r < 0)
		return r;
	(void) snprintf(buf, len, "%d %" PRIu64 " %" PRIu64, (int) getpid(), st, ns);
	return 0;
}

int cgroup_owner_alive(const char *record)
{
	unsigned long long st, ns;
	uint64_t now_st, our_ns;
	int pid;

	if (sscanf(record, "%d %llu %llu", &pid, &st, &ns) != 3 || pid <= 0)
		return 0; /* garbage: no kdc-run wrote it, nobody owns the session */
	/* Recorded in another pid namespace: its pid is not ours to judge. */
	if (pidns_inode(&our_ns) < 0 || our_ns != ns)
		return 1;
	if (process_starttime(pid, &now_st) < 0)
		return 0;
	return now_st == st;
}

/* 1 when the recorded owner is alive, 0 when dead, -ENODATA when none is recorded. */
static int owner_alive(int dirfd)
{
	char v[96];
	ssize_t n;

	n = fgetxattr(dirfd, OWNER_XATTR, v, sizeof v - 1);
	if (n < 0)
		return errno == ENODATA || errno == EOPNOTSUPP ? -ENODATA : negative_errno();
	v[n] = 0;
	return cgroup_owner_alive(v);
}

static int populated_fd(int events_fd)
{
	char buf[256];
	const char *p;
	ssize_t n;

	n = pread(events_fd, buf, sizeof buf - 1, 0);
	if (n < 0)
		return negative_errno();
	buf[n] = 0;
	p = strstr(buf, "populated ");
	if (!p)
		return -EBADMSG;
	return p[10] == '1';
}

static int wait_empty_at(int dirfd, uint64_t timeout_usec)
{
	_cleanup_close_ int fd = openat(dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	uint64_t deadline = timeout_usec == UINT64_MAX ? UINT64_MAX : now_usec() + timeout_usec;

	if (fd < 0)
		return negative_errno();
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLPRI};
		uint64_t now;
		int r, ms;

		r = populated_fd(fd);
		if (r <= 0)
			return r;
		now = now_usec();
		if (now >= deadline)
			return -ETIMEDOUT;
		/* cgroupfs wakes POLLPRI on each change of cgroup.events; the
		 * 100 ms cap only guards against a missed wake-up. */
		ms = deadline == UINT64_MAX ? 100 : (int) MIN((deadline - now + 999) / 1000, 100);
		if (poll(&p, 1, ms) < 0 && errno != EINTR)
			return negative_errno();
	}
}

/* Calls fn on every cgroup below dirfd (children first), then on dirfd. */
static int for_each_cgroup(int dirfd, int (*fn)(int parentfd, const char *name, int fd, void *u), int parentfd,
			   const char *name, void *u)
{
	_cleanup_close_ int dfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (dfd < 0)
		return negative_errno();
	d = fdopendir(dfd);
	if (!d)
		return negative_errno();
	dfd = -EBADF;
	rewinddir(d);
	while ((de = readdir(d))) {
		_cleanup_close_ int cfd = -EBADF;
		int k;

		if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		cfd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cfd < 0)
			continue;
		k = for_each_cgroup(cfd, fn, dirfd, de->d_name, u);
		if (k < 0 && r == 0)
			r = k;
	}
	closedir(d);
	if (fn) {
		int k = fn(parentfd, name, dirfd, u);
		if (k < 0 && r == 0)
			r = k;
	}
	return r;
}

static int kill_procs_fn(int parentfd, const char *name, int fd, void *u)
{
	_cleanup_free_ char *procs = NULL;
	int r = read_full_file_at(fd, "cgroup.procs", &procs, NULL);

	if (r < 0)
		return r;
	for (char *p = procs; *p;) {
		char *end;
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid > 0)
			(void) kill((pid_t) pid, SIGKILL);
		p = end + strspn(end, "\n");
	}
	return 0;
}

static int wait_frozen(int dirfd, uint64_t timeout_usec)
{
	_cleanup_close_ int fd = openat(dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	uint64_t deadline = now_usec() + timeout_usec;

	if (fd < 0)
		return negative_errno();
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLPRI};
		char buf[256];
		ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

		if (n < 0)
			return negative_errno();
		buf[n] = 0;
		if (strstr(buf, "frozen 1"))
			return 0;
		if (now_usec() >= deadline)
			return -ETIMEDOUT;
		(void) poll(&p, 1, 100);
	}
}

int cgroup_kill_by_freezing(int dirfd)
{
	int r;

	/* Freeze so that nothing forks while we walk the tree, SIGKILL every
	 * process (fatal signals reach frozen tasks), thaw. */
	r = write_string_file_at(dirfd, "cgroup.freeze", "1");
	if (r < 0)
		return r;
	(void) wait_frozen(dirfd, USEC_PER_SEC);
	r = for_each_cgroup(dirfd, kill_procs_fn, -EBADF, NULL, NULL);
	(void) write_string_file_at(dirfd, "cgroup.freeze", "0");
	return r;
}

static int kill_at(int dirfd)
{
	int r;

	r = write_string_file_at(dirfd, "cgroup.kill", "1");
	if (r != -ENOENT)
		return r;
	return cgroup_kill_by_freezing(dirfd); /* before 5.14 */
}

static int rmdir_fn(int parentfd, const char *name, int fd, void *u)
{
	if (parentfd < 0)
		return 0;
	/* A cgroup whose last process just exited may still be busy for a moment. */
	for (int i = 0; i < 50; i++) {
		if (unlinkat(parentfd, name, AT_REMOVEDIR) >= 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return negative_errno();
		(void) usleep(10000);
	}
	return -EBUSY;
}

/* Removes the cgroup parentfd/name and everything below it. */
static int remove_tree(int parentfd, const char *name)
{
	_cleanup_close_ int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : negative_errno();
	return for_each_cgroup(fd, rmdir_fn, parentfd, name, NULL);
}

static bool has_subdirs(int fd)
{
	_cleanup_close_ int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	bool found = false;

	if (!d)
		return true; /* unknown: leave it alone */
	dfd = -EBADF;
	while (!found && (de = readdir(d)))
		found = de->d_type == DT_DIR && !streq(de->d_name, ".") && !streq(de->d_name, "..");
	closedir(d);
	return found;
}

/* Sessions of crashed kdc-runs in parent: a recorded owner that is dead
 * means kill and remove; no record, no processes, no children and older
 * than LEFTOVER_MIN_AGE_SEC means an empty leftover (or an unused tenant
 * level) and is removed. A live owner's session is never touched. */
static void remove_leftovers(int parentfd)
{
	_cleanup_close_ int dfd = openat(parentfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;

	if (!d)
		return;
	dfd = -EBADF;
	while ((de = readdir(d))) {
		_cleanup_close_ int fd = -EBADF, ev = -EBADF;
		struct stat st;
		int alive;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		fd = openat(parentfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		alive = owner_alive(fd);
		if (alive == 0) {
			(void) kill_at(fd);
			(void) wait_empty_at(fd, LEFTOVER_KILL_WAIT_USEC);
			(void) remove_tree(parentfd, de->d_name);
			continue;
		}
		if (alive != -ENODATA)
			continue;
		ev = openat(fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
		if (ev < 0 || populated_fd(ev) != 0 || has_subdirs(fd) || fstat(fd, &st) < 0 ||
		    time(NULL) - st.st_mtime < LEFTOVER_MIN_AGE_SEC)
			continue;
		(void) unlinkat(parentfd, de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

/* Moves the calling process from a delegated base that holds processes into
 * <base>/kdc.leaf so that base may enable controllers for its children. Only
 * when we are the base's sole process: other processes are not ours to move.
 * Nothing to do when the base holds none. */
static int leave_base(int basefd, const char *base, char **ret_hint)
{
	_cleanup_free_ char *procs = NULL;
	_cleanup_close_ int leaf = -EBADF;
	char self[32];
	int r;

	r = read_full_file_at(basefd, "cgroup.procs", &procs, NULL);
	if (r < 0)
		return r;
	if (!*procs)
		return 0;
	(void) snprintf(self, sizeof self, "%d\n", (int) getpid());
	if (!streq(procs, self)) {
		set_hint(ret_hint,
			 "the delegated cgroup %s holds other processes, so it cannot enable controllers for kdc; "
			 "start kdc-run alone in it (systemd-run --user -p Delegate=yes --pty kdc-run ...) or move "
			 "the other processes into a child cgroup",
			 base);
		return -EBUSY;
	}
	if (mkdirat(basefd, LEAF, 0755) < 0 && errno != EEXIST)
		return negative_errno();
	leaf = openat(basefd, LEAF, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (leaf < 0)
		return negative_errno();
	return write_string_file_at(leaf, "cgroup.procs", "0");
}

/* Enables the controllers in mask (bits of `controllers`) for the children of dirfd. */
static int enable_controllers(int dirfd, unsigned mask)
{
	_cleanup_free_ char *have = NULL;
	int r;

	r = read_full_file_at(dirfd, "cgroup.subtree_control", &have, NULL);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++) {
		char w[32];

		if (!(mask & (1u << i)) || cgroup_list_contains(have, controllers[i].name))
			continue;
		(void) snprintf(w, sizeof w, "+%s", controllers[i].name);
		r = write_string_file_at(dirfd, "cgroup.subtree_control", w);
		if (r < 0)
			return r;
	}
	return 0;
}

static int mkdir_open(int parentfd, const char *name)
{
	int fd;

	if (mkdirat(parentfd, name, 0755) < 0 && errno != EEXIST)
		return negative_errno();
	fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? negative_errno() : fd;
}

/* Replaces *fd by its child cgroup `name` (created if needed) with the
 * controllers in mask enabled for the child's children. */
static void cgroup_session_freep(CgroupSession **s)
{
	cgroup_session_free(*s);
}

static int descend(int *fd, const char *name, unsigned mask, const char *base, char **ret_hint)
{
	int nfd, r;

	nfd = mkdir_open(*fd, name);
	if (nfd < 0) {
		if (nfd == -EACCES || nfd == -EPERM)
			set_hint(
			    ret_hint,
			    "cannot create a cgroup in %s: permission denied; run as root, under a delegated cgroup "
			    "(systemd-run --user -p Delegate=yes), or add 'degrade = cgroup' to the profile",
			    base);
		return nfd;
	}
	safe_close(*fd);
	*fd = nfd;
	r = enable_controllers(nfd, mask);
	if (r < 0)
		set_hint(ret_hint, "cannot enable controllers for the children of %s/.../%s: %s", base, name,
			 strerror(-r));
	return r;
}

/* Opens (creating) <base>/kdc.slice/<tenant...> with the controllers enabled
 * on the way down; returns the tenant directory's fd. */
static int open_parent(const Base *b, const char *tenant, unsigned mask, char **ret_hint)
{
	_cleanup_close_ int fd = open(b->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *t = strdup(tenant);
	char *save = NULL;
	int r;

	if (fd < 0)
		return negative_errno();
	if (!t)
		return -ENOMEM;
	if (!b->is_mount_root && mask) {
		/* Before enabling anything: with processes inside, the kernel
		 * refuses domain controllers (memory) with EBUSY, and accepts
		 * threaded ones (pids, cpu) but then makes the base a thread root
		 * whose new children cannot host any controller (EOPNOTSUPP). */
		if (b->delegated) {
			r = leave_base(fd, b->path, ret_hint);
			if (r < 0)
				return r;
		}
		r = enable_controllers(fd, mask);
		if (r < 0) {
			set_hint(ret_hint, "cannot enable controllers in %s/cgroup.subtree_control: %s", b->path,
				 strerror(-r));
			return r;
		}
	}
	r = descend(&fd, SLICE, mask, b->path, ret_hint);
	for (char *level = strtok_r(t, "/", &save); r >= 0 && level; level = strtok_r(NULL, "/", &save))
		r = descend(&fd, level, mask, b->path, ret_hint);
	if (r < 0)
		return r;
	return TAKE_FD(fd);
}

static int write_limits(int fd, const CgroupLimits *lim, unsigned mask, char **ret_hint, const char *path)
{
	char buf[64];
	int r;

	if (mask & 1u) { /* memory */
		uint64_t swap = lim->swap == LIMIT_UNSET ? 0 : lim->swap;

		(void) snprintf(buf, sizeof buf, "%" PRIu64, lim->memory);
		r = write_string_file_at(fd, "memory.max", buf);
		if (r < 0)
			goto fail_memory;
		(void) snprintf(buf, sizeof buf, "%" PRIu64, swap);
		r = write_string_file_at(fd, "memory.swap.max", buf);
		/* Without swap accounting (no memory.swap.max) nothing can swap
		 * past memory.max only if the machine has no swap at all. */
		if (r == -ENOENT && swap == 0) {
			_cleanup_free_ char *swaps = NULL;
			const char *nl;
			if (read_full_file("/proc/swaps", &swaps, NULL) >= 0 && (!(nl = strchr(swaps, '\n')) || !nl[1]))
				r = 0;
		}
		if (r < 0)
			goto fail_memory;
		/* An OOM kill ends the whole box (end reason 'memory'), not just
		 * whichever process the kernel picked. */
		r = write_string_file_at(fd, "memory.oom.group", "1");
		if (r < 0)
			goto fail_memory;
	}
	if (mask & 2u) { /* cpu */
		r = cgroup_format_cpu_max(buf, sizeof buf, lim->cpu_millicores);
		if (r < 0) {
			set_hint(ret_hint,
				 "cpu limit of %" PRIu64 " millicores cannot be written to cpu.max (minimum 10)",
				 lim->cpu_millicores);
			return r;
		}
		r = write_string_file_at(fd, "cpu.max", buf);
		if (r < 0) {
			set_hint(ret_hint, "cannot write cpu.max '%s' in %s: %s", buf, path, strerror(-r));
			return r;
		}
	}
	if (mask & 4u) { /* pids */
		(void) snprintf(buf, sizeof buf, "%" PRIu64, lim->pids);
		r = write_string_file_at(fd, "pids.max", buf);
		if (r < 0) {
			set_hint(ret_hint, "cannot write pids.max '%s' in %s: %s", buf, path, strerror(-r));
			return r;
		}
	}
	return 0;

fail_memory:
	set_hint(ret_hint, "cannot set the memory limit in %s: %s", path, strerror(-r));
	return r;
}

/* Removes now-empty tenant levels and kdc.slice, never the base, and never
 * a kdc.slice marked SLICE_KEEP_XATTR: the shared egress programs are
 * attached there (src/core/egress.c), and removing it would detach them. */
static void remove_empty_levels(const char *base, const char *tenant)
{
	_cleanup_free_ char *p = NULL;
	size_t slice_len;

	if (asprintf(&p, "%s/" SLICE "/%s", base, tenant) < 0)
		return;
	slice_len = strlen(base) + strlen("/" SLICE);
	for (size_t bl = strlen(base); strlen(p) > bl; *strrchr(p, '/') = 0) {
		if (strlen(p) == slice_len && getxattr(p, SLICE_KEEP_XATTR, NULL, 0) >= 0)
			break;
		if (rmdir(p) < 0)
			break;
	}
}

/* Whether a cgroup v1 hierarchy holds the controller (a hybrid host). */
static bool v1_has_controller(const char *name)
{
	_cleanup_free_ char *text = NULL;

	if (read_full_file("/proc/self/mountinfo", &text, NULL) < 0)
		return false;
	for (char *line = text, *next; line && *line; line = next) {
		char *sep, *opts;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		sep = strstr(line, " - cgroup ");
		/* " - cgroup SOURCE SUPER_OPTIONS" with the controllers among the options */
		if (!sep || !(opts = strrchr(sep, ' ')))
			continue;
		for (char *save = NULL, *o = strtok_r(opts + 1, ",", &save); o; o = strtok_r(NULL, ",", &save))
			if (streq(o, name))
				return true;
	}
	return false;
}

/* Why `name` is missing at the base, and the fix. */
static void missing_hint(const Base *b, const char *name, char **ret_hint)
{
	_cleanup_free_ char *have = NULL, *on = NULL, *where = NULL;
	_cleanup_close_ int fd = open(b->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (!ret_hint)
		return;
	if (fd < 0 || read_full_file_at(fd, "cgroup.controllers", &have, NULL) < 0 ||
	    read_full_file_at(fd, "cgroup.subtree_control", &on, NULL) < 0)
		return;
	have[strcspn(have, "\n")] = 0;
	on[strcspn(on, "\n")] = 0;
	if ((b->is_mount_root ? asprintf(&where, "cgroup2 at %s", b->mount)
			      : asprintf(&where, "cgroup %s (cgroup2 at %s)", b->path, b->mount)) < 0)
		where = NULL;
	if (cgroup_list_contains(have, name))
		/* Only the root of a mount gets here: a base we own is enabled by us. */
		set_hint(
		    ret_hint,
		    "cannot enable the %s limit: %s does not enable '%s' for its children (cgroup.subtree_control: "
		    "'%s'); enable it there, run under a delegated cgroup that has it (systemd-run --user -p "
		    "Delegate=yes), or add 'degrade = %s' to the profile",
		    name, strempty(where), name, on, name);
	else
		set_hint(
		    ret_hint,
		    "cannot enable the %s limit: %s has no '%s' controller (cgroup.controllers: '%s'%s); run under "
		    "a delegated cgroup that has it (systemd-run --user -p Delegate=yes), or add 'degrade = %s' to "
		    "the profile",
		    name, strempty(where), name, have,
		    v1_has_controller(name) ? "; it is bound to a cgroup v1 hierarchy" : "", name);
}

int cgroup_session_create(const char *tenant, const char *session_id, const CgroupLimits *lim, unsigned degrade,
			  CgroupSession **ret, unsigned *ret_degraded, char **ret_hint)
{
	_cleanup_(base_done) Base b = {};
	_cleanup_(cgroup_session_freep) CgroupSession *s = NULL;
	_cleanup_free_ char *avail = NULL;
	_cleanup_close_ int parent = -EBADF, fd = -EBADF;
	CgroupLimits none = {LIMIT_UNSET, LIMIT_UNSET, LIMIT_UNSET, LIMIT_UNSET};
	uint64_t want[3];
	unsigned mask = 0, degraded = 0;
	char owner[96];
	int r;

	if (!lim)
		lim = &none;
	if (!tenant || !valid_tenant(tenant) || !session_id || !valid_name(session_id)) {
		set_hint(ret_hint, "invalid tenant '%s' or session id '%s' for a cgroup name", strempty(tenant),
			 strempty(session_id));
		return -EINVAL;
	}
	r = find_base(&b, ret_hint);
	if (r < 0)
		return r;

	want[0] = lim->memory;
	want[1] = lim->cpu_millicores;
	want[2] = lim->pids;
	r = base_controllers(&b, &avail);
	if (r < 0) {
		set_hint(ret_hint, "cannot read the controllers of %s: %s", b.path, strerror(-r));
		return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++) {
		if (want[i] == LIMIT_UNSET)
			continue;
		if (cgroup_list_contains(avail, controllers[i].name)) {
			mask |= 1u << i;
			continue;
		}
		if (degrade & controllers[i].degrade) {
			degraded |= controllers[i].degrade;
			continue;
		}
		missing_hint(&b, controllers[i].name, ret_hint);
		return -EOPNOTSUPP;
	}

	if (cgroup_owner_record(owner, sizeof owner) < 0)
		owner[0] = 0;
	/* A concurrent destroy may remove an empty tenant level between our
	 * mkdir of it and of the session: start over then. */
	for (int attempt = 0;; attempt++) {
		parent = open_parent(&b, tenant, mask, ret_hint);
		if (parent < 0) {
			remove_empty_levels(b.path, tenant);
			return parent;
		}
		remove_leftovers(parent);
		if (mkdirat(parent, session_id, 0755) >= 0)
			break;
		r = negative_errno();
		parent = safe_close(parent);
		if (r == -ENOENT && attempt < 3)
			continue;
		set_hint(ret_hint, "cannot create the session cgroup %s/" SLICE "/%s/%s: %s", b.path, tenant,
			 session_id, strerror(-r));
		remove_empty_levels(b.path, tenant);
		return r;
	}
	fd = openat(parent, session_id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = negative_errno();
		goto fail;
	}
	s = calloc(1, sizeof *s);
	if (!s) {
		r = -ENOMEM;
		goto fail;
	}
	s->fd = -EBADF;
	if (asprintf(&s->path, "%s/" SLICE "/%s/%s", b.path, tenant, session_id) < 0) {
		s->path = NULL;
		r = -ENOMEM;
		goto fail;
	}
	/* Who owns the session, for the leftover sweep after a crash. */
	if (owner[0] && fsetxattr(fd, OWNER_XATTR, owner, strlen(owner), 0) < 0 && errno != EOPNOTSUPP) {
		r = negative_errno();
		set_hint(ret_hint, "cannot record the owner of %s: %s", s->path, strerror(-r));
		goto fail;
	}
	r = write_limits(fd, lim, mask, ret_hint, s->path);
	if (r < 0)
		goto fail;

	s->base_is_mount_root = b.is_mount_root;
	s->base = TAKE_PTR(b.path);
	s->fd = TAKE_FD(fd);
	if (ret_degraded)
		*ret_degraded = degraded;
	*ret = TAKE_PTR(s);
	return 0;

fail:
	(void) unlinkat(parent, session_id, AT_REMOVEDIR);
	remove_empty_levels(b.path, tenant);
	return r;
}

int cgroup_session_fd(CgroupSession *s)
{
	return s ? s->fd : -EBADF;
}

int cgroup_session_open_slice(CgroupSession *s)
{
	_cleanup_free_ char *p = NULL;
	int fd;

	if (!s)
		return -EINVAL;
	if (!s->base_is_mount_root)
		return -EOPNOTSUPP;
	if (asprintf(&p, "%s/" SLICE, s->base) < 0)
		return -ENOMEM;
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? negative_errno() : fd;
}

const char *cgroup_session_path(CgroupSession *s)
{
	return s ? s->path : NULL;
}

int cgroup_session_kill(CgroupSession *s)
{
	if (!s)
		return -EINVAL;
	return kill_at(s->fd);
}

int cgroup_session_wait_empty(CgroupSession *s, uint64_t timeout_usec)
{
	if (!s)
		return -EINVAL;
	return wait_empty_at(s->fd, timeout_usec);
}

int cgroup_only_at(int dirfd, pid_t pid)
{
	_cleanup_free_ char *procs = NULL;
	uint64_t below = 0;
	int r;

	/* A sub-cgroup may hold processes that cgroup.procs does not list. */
	r = read_keyed_u64_at(dirfd, "cgroup.stat", "nr_descendants", &below);
	if (r < 0)
		return r;
	if (below > 0)
		return 0;
	/* cgroup.procs lists a process until its exit has passed cgroup_exit(),
	 * after it closed its files and left its namespaces: one that is
	 * still dying is listed. */
	r = read_full_file_at(dirfd, "cgroup.procs", &procs, NULL);
	if (r < 0)
		return r;
	for (char *l = procs, *end; *l; l = end) {
		long v;

		errno = 0;
		v = strtol(l, &end, 10);
		if (errno || end == l || (*end && *end != '\n'))
			return -EBADMSG;
		if (v != (long) pid)
			return 0;
		while (*end == '\n')
			end++;
	}
	return 1;
}

int cgroup_session_only(CgroupSession *s, pid_t pid)
{
	if (!s)
		return -EINVAL;
	return cgroup_only_at(s->fd, pid);
}

/* The value of key in "key value" lines; false when absent. */
static bool keyed_get(const char *text, const char *key, uint64_t *ret)
{
	size_t kl = strlen(key);

	for (const char *line = text; line && *line;) {
		if (strneq(line, key, kl) && line[kl] == ' ') {
			char *end;
			unsigned long long v;
			errno = 0;
			v = strtoull(line + kl + 1, &end, 10);
			if (errno || end == line + kl + 1)
				return false;
			*ret = v;
			return true;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return false;
}

static int read_u64_at(int dirfd, const char *file, uint64_t *ret)
{
	_cleanup_free_ char *t = NULL;
	unsigned long long v;
	char *end;
	int r = read_full_file_at(dirfd, file, &t, NULL);

	if (r < 0)
		return r;
	errno = 0;
	v = strtoull(t, &end, 10);
	if (errno || end == t)
		return -EBADMSG;
	*ret = v;
	return 0;
}

int cgroup_stats_read_at(int dirfd, CgroupStats *ret)
{
	_cleanup_free_ char *cpu = NULL, *mem = NULL, *pids = NULL;
	CgroupStats st = {};
	int r;

	/* cpu.stat is always there (usage); the throttling keys only with the cpu controller. */
	r = read_full_file_at(dirfd, "cpu.stat", &cpu, NULL);
	if (r < 0 && r != -ENOENT)
		return r;
	if (cpu) {
		(void) keyed_get(cpu, "usage_usec", &st.cpu_usec);
		(void) keyed_get(cpu, "user_usec", &st.user_usec);
		(void) keyed_get(cpu, "system_usec", &st.system_usec);
		st.has_cpu = keyed_get(cpu, "nr_throttled", &st.nr_throttled);
		(void) keyed_get(cpu, "throttled_usec", &st.throttled_usec);
	}
	r = read_full_file_at(dirfd, "memory.events", &mem, NULL);
	if (r < 0 && r != -ENOENT)
		return r;
	if (mem) {
		st.has_memory = true;
		(void) keyed_get(mem, "max", &st.memory_events_max);
		(void) keyed_get(mem, "oom_kill", &st.memory_events_oom_kill);
		r = read_u64_at(dirfd, "memory.peak", &st.memory_peak);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	r = read_full_file_at(dirfd, "pids.events", &pids, NULL);
	if (r < 0 && r != -ENOENT)
		return r;
	if (pids) {
		st.has_pids = true;
		(void) keyed_get(pids, "max", &st.pids_events_max);
		r = read_u64_at(dirfd, "pids.peak", &st.pids_peak);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	*ret = st;
	return 0;
}

int cgroup_session_stats(CgroupSession *s, CgroupStats *ret)
{
	if (!s)
		return -EINVAL;
	return cgroup_stats_read_at(s->fd, ret);
}

void cgroup_session_free(CgroupSession *s)
{
	if (!s)
		return;
	safe_close(s->fd);
	free(s->path);
	free(s->base);
	free(s);
}

int cgroup_session_destroy(CgroupSession *s)
{
	_cleanup_free_ char *parent = NULL, *tenant = NULL;
	const char *name;
	int r, k;

	if (!s)
		return 0;
	r = kill_at(s->fd);
	k = wait_empty_at(s->fd, DESTROY_WAIT_USEC);
	if (k < 0 && r >= 0)
		r = k;
	if (k >= 0) {
		_cleanup_close_ int pfd = -EBADF;

		parent = strdup(s->path);
		if (!parent) {
			r = -ENOMEM;
			goto out;
		}
		*strrchr(parent, '/') = 0;
		name = strrchr(s->path, '/') + 1;
		pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		k = pfd < 0 ? negative_errno() : remove_tree(pfd, name);
		if (k < 0 && r >= 0)
			r = k;
		/* parent is <base>/kdc.slice/<tenant>. */
		tenant = strdup(parent + strlen(s->base) + STRLEN("/" SLICE "/"));
		if (tenant)
			remove_empty_levels(s->base, tenant);
	}
out:
	cgroup_session_free(s);
	return r;
}

void cgroup_probe_done(CgroupProbe *p)
{
	if (!p)
		return;
	free(p->mount);
	free(p->controllers);
	free(p->why);
	*p = (CgroupProbe){};
}

int cgroup_probe(CgroupProbe *ret)
{
	_cleanup_(base_done) Base b = {};
	_cleanup_free_ char *why = NULL, *avail = NULL, *mnt = NULL;
	CgroupProbe p = {};
	char name[64];
	int r;

	r = find_base(&b, &why);
	if (r < 0) {
		(void) cgroup_find_mount(&mnt);
		if (!why && asprintf(&why, "cannot find where to create session cgroups: %s", strerror(-r)) < 0)
			return -ENOMEM;
		*ret = (CgroupProbe){.mount = TAKE_PTR(mnt), .controllers = strdup(""), .why = TAKE_PTR(why)};
		return ret->controllers ? 0 : -ENOMEM;
	}
	r = base_controllers(&b, &avail);
	if (r < 0)
		return r;
	avail[strcspn(avail, "\n")] = 0;
	p.delegated = b.delegated;
	/* The honest answer to "could we": try it. */
	(void) snprintf(name, sizeof name, "%s/kdc-probe.%d", b.path, (int) getpid());
	if (mkdir(name, 0755) >= 0) {
		p.can_create = true;
		(void) rmdir(name);
	} else if (asprintf(&why,
			    "cannot create a cgroup in %s: %m; run as root, under a delegated cgroup "
			    "(systemd-run --user -p Delegate=yes), or add 'degrade = cgroup' to the profile",
			    b.path) < 0)
		return -ENOMEM;
	p.mount = TAKE_PTR(b.mount);
	p.controllers = TAKE_PTR(avail);
	p.why = TAKE_PTR(why);
	*ret = p;
	return 0;
}
