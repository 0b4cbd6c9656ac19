/* SPDX-License-Identifier: MIT */
/*
 * The box's filesystem. Runs in the child, in new user + mount namespaces.
 *
 * The sequence follows bubblewrap's: make every mount a slave of the host's
 * (our changes never propagate out), mount a tmpfs as a scratch base and
 * pivot into it with the host's root kept at /oldroot, build the box root as
 * a second tmpfs at /newroot by bind-mounting from /oldroot, then pivot into
 * /newroot and detach the rest. After that, nothing of the host is reachable
 * but what was bound in.
 *
 * Every mount carries nosuid and nodev (device nodes are bound one by one);
 * read-only binds are read-only recursively via mount_setattr(AT_RECURSIVE),
 * so a submount under /usr is not a way around it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/mount.h>

#include "core/mounts.h"
#include "shared/macro.h"

#define BASE "/tmp"

/* Masked in /proc: the list Docker and runc mask (TESTING.md's kcore, keys,
 * sched_debug and timer_list among them). Every mask is a mount and costs
 * start-up time, so the list stays the established one. */
const char *const mounts_proc_masked[] = {
    "/proc/asound",	"/proc/acpi",	     "/proc/kcore",	  "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", NULL,
};

/* Read-only in /proc (runc's and bubblewrap's list): readable, never
 * writable, whatever the box's uid. */
static const char *const proc_readonly[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

/* The only device nodes in the box. */
static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty", NULL};

static int sys_mount_setattr(const char *path, unsigned flags, uint64_t set, uint64_t clr)
{
	struct mount_attr a = {.attr_set = set, .attr_clr = clr};
	if (syscall(__NR_mount_setattr, AT_FDCWD, path, flags, &a, sizeof(a)) < 0)
		return negative_errno();
	return 0;
}

/* mkdir -p below /newroot; components that exist are fine. */
static int mkdir_parents_in_box(const char *full)
{
	char buf[PATH_MAX];
	size_t n = strlen(full);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, full, n + 1);
	for (char *s = buf + STRLEN("/newroot/"); *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return negative_errno();
		*s = '/';
	}
	return 0;
}

static int make_mountpoint(const char *full, bool dir)
{
	int r = mkdir_parents_in_box(full);
	if (r < 0)
		return r;
	if (dir) {
		if (mkdir(full, 0755) < 0 && errno != EEXIST)
			return negative_errno();
	} else {
		int fd = open(full, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
		if (fd < 0) {
			if (errno == EEXIST || errno == EISDIR)
				return 0;
			return negative_errno();
		}
		close(fd);
	}
	return 0;
}

static int box_path(char *buf, size_t len, const char *prefix, const char *path)
{
	if ((size_t) snprintf(buf, len, "%s%s", prefix, path) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Binds host path src at box path dst. ro binds are read-only recursively.
 * Every bind is nosuid + nodev. */
static int bind_into_box(const char *src, const char *dst, bool ro, bool try, BoxError *err)
{
	char from[PATH_MAX], to[PATH_MAX];
	struct stat st;
	int r;

	if (box_path(from, sizeof(from), "/oldroot", src) < 0 || box_path(to, sizeof(to), "/newroot", dst) < 0)
		return box_error_set(err, -ENAMETOOLONG, "cannot bind '%s'", src);

	/* src is already canonical (mounts_build_box): no symlink to follow;
	 * symlinks bound at their own place arrive as MOUNT_SYMLINK. */
	if (stat(from, &st) < 0) {
		if (errno == ENOENT && try)
			return 0;
		return box_error_set(err, negative_errno(), "cannot bind '%s' at '%s'", src, dst);
	}
	r = make_mountpoint(to, S_ISDIR(st.st_mode));
	if (r < 0)
		return box_error_set(err, r, "cannot create mount point '%s' in the box", dst);
	if (mount(from, to, NULL, MS_BIND | MS_REC, NULL) < 0)
		return box_error_set(err, negative_errno(), "cannot bind '%s' at '%s'", src, dst);
	r = sys_mount_setattr(to, AT_RECURSIVE, (ro ? MOUNT_ATTR_RDONLY : 0) | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0);
	if (r < 0)
		return box_error_set(err, r, "cannot make '%s' %snosuid,nodev", dst, ro ? "read-only," : "");
	return 0;
}

static int tmpfs_into_box(const char *dst, uint64_t size, unsigned mode, unsigned long flags, BoxError *err)
{
	char to[PATH_MAX], opts[64];
	int r;

	if (box_path(to, sizeof(to), "/newroot", dst) < 0)
		return box_error_set(err, -ENAMETOOLONG, "cannot mount tmpfs at '%s'", dst);
	r = make_mountpoint(to, true);
	if (r < 0)
		return box_error_set(err, r, "cannot create mount point '%s' in the box", dst);
	if (size)
		snprintf(opts, sizeof(opts), "mode=%04o,size=%llu", mode, (unsigned long long) size);
	else
		snprintf(opts, sizeof(opts), "mode=%04o", mode);
	if (mount("tmpfs", to, "tmpfs", MS_NOSUID | MS_NODEV | flags, opts) < 0)
		return box_error_set(err, negative_errno(), "cannot mount tmpfs at '%s'", dst);
	return 0;
}

/* Hides a box path: an empty read-only tmpfs over a directory, /dev/null
 * over anything else. Paths that do not exist are already hidden. */
static int mask_in_box(const char *full, BoxError *err)
{
	struct stat st;

	if (lstat(full, &st) < 0)
		return 0;
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", full, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555,size=0") < 0)
			return box_error_set(err, negative_errno(), "cannot mask '%s'", full + STRLEN("/newroot"));
	} else {
		/* /dev/null reads as empty and swallows writes: no need for a
		 * second syscall to make it read-only. */
		if (mount("/oldroot/dev/null", full, NULL, MS_BIND, NULL) < 0)
			return box_error_set(err, negative_errno(), "cannot mask '%s'", full + STRLEN("/newroot"));
	}
	return 0;
}

static int setup_proc(BoxError *err)
{
	char full[PATH_MAX];
	int r;

	if (mkdir("/newroot/proc", 0555) < 0 && errno != EEXIST)
		return box_error_set(err, negative_errno(), "cannot create /proc in the box");
	/* A new procfs: this pid namespace's processes only. */
	if (mount("proc", "/newroot/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return box_error_set(err, negative_errno(), "cannot mount /proc in the box");
	for (const char *const *p = mounts_proc_masked; *p; p++) {
		snprintf(full, sizeof(full), "/newroot%s", *p);
		r = mask_in_box(full, err);
		if (r < 0)
			return r;
	}
	for (const char *const *p = proc_readonly; *p; p++) {
		snprintf(full, sizeof(full), "/newroot%s", *p);
		if (access(full, F_OK) < 0)
			continue;
		if (mount(full, full, NULL, MS_BIND | MS_REC, NULL) < 0)
			return box_error_set(err, negative_errno(), "cannot bind '%s' read-only", *p);
		r = sys_mount_setattr(full, AT_RECURSIVE, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0);
		if (r < 0)
			return box_error_set(err, r, "cannot make '%s' read-only", *p);
	}
	return 0;
}

static int setup_dev(BoxError *err)
{
	static const struct {
		const char *target, *link;
	} links[] = {
	    {"/proc/self/fd", "fd"},	   {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
	    {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
	};
	char from[64], to[64];
	int r;

	r = tmpfs_into_box("/dev", 0, 0755, MS_NOEXEC, err);
	if (r < 0)
		return r;
	for (const char *const *n = dev_nodes; *n; n++) {
		snprintf(from, sizeof(from), "/oldroot/dev/%s", *n);
		snprintf(to, sizeof(to), "/newroot/dev/%s", *n);
		r = make_mountpoint(to, false);
		if (r < 0)
			return box_error_set(err, r, "cannot create /dev/%s in the box", *n);
		if (mount(from, to, NULL, MS_BIND, NULL) < 0)
			return box_error_set(err, negative_errno(), "cannot bind /dev/%s", *n);
	}
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		snprintf(to, sizeof(to), "/newroot/dev/%s", links[i].link);
		if (symlink(links[i].target, to) < 0)
			return box_error_set(err, negative_errno(), "cannot create /dev/%s", links[i].link);
	}
	/* A devpts instance of our own: the caller's /dev/pts/N are not in it. */
	if (mkdir("/newroot/dev/pts", 0755) < 0)
		return box_error_set(err, negative_errno(), "cannot create /dev/pts");
	if (mount("devpts", "/newroot/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=0620") < 0)
		return box_error_set(err, negative_errno(), "cannot mount devpts at /dev/pts");
	r = tmpfs_into_box("/dev/shm", 0, 01777, MS_NOEXEC, err);
	if (r < 0)
		return r;
	/* Nothing may create files in /dev after this. */
	r = sys_mount_setattr("/newroot/dev", 0, MOUNT_ATTR_RDONLY, 0);
	if (r < 0)
		return box_error_set(err, r, "cannot make /dev read-only");
	return 0;
}

int mounts_build_box(const Plan *p, BoxError *err)
{
	/* Canonical host path of each bind source, resolved in the host's root
	 * before we pivot away from it. */
	_cleanup_free_ char **src = calloc(p->n_mounts + 1, sizeof(char *));
	_cleanup_free_ char *workdir = NULL;
	int r;

	if (!src)
		return box_error_set(err, -ENOMEM, "out of memory");

	/* Resolve every source in the host's namespace view first: a path
	 * with an absolute symlink component would resolve against the wrong
	 * root once the host lives under /oldroot. */
	for (size_t i = 0; i < p->n_mounts; i++) {
		const MountSpec *m = &p->mounts[i];
		if (!m->source || m->kind == MOUNT_SYMLINK || m->kind == MOUNT_TMPFS || m->kind == MOUNT_MASK)
			continue;
		src[i] = realpath(m->source, NULL);
		if (!src[i] && !(errno == ENOENT && m->kind == MOUNT_RO_TRY))
			return box_error_set(err, negative_errno(), "cannot bind '%s'", m->source);
	}
	if (p->workdir) {
		workdir = realpath(p->workdir, NULL);
		if (!workdir)
			return box_error_set(err, negative_errno(), "cannot use workdir '%s'", p->workdir);
	}

	/* Our mounts never propagate to the host; the host's unmounts still
	 * reach us, so we never hold a host filesystem busy. */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return box_error_set(err, negative_errno(), "cannot make the mount namespace a slave");
	if (mount("tmpfs", BASE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k") < 0)
		return box_error_set(err, negative_errno(), "cannot mount the scratch tmpfs on " BASE);
	if (chdir(BASE) < 0 || mkdir("newroot", 0755) < 0 || mkdir("oldroot", 0755) < 0)
		return box_error_set(err, negative_errno(), "cannot prepare the scratch tmpfs");
	if (syscall(SYS_pivot_root, BASE, "oldroot") < 0)
		return box_error_set(err, negative_errno(), "cannot pivot into the scratch tmpfs");
	if (chdir("/") < 0)
		return box_error_set(err, negative_errno(), "cannot chdir to /");

	/* The box root: holds only mount points and symlinks, and becomes
	 * read-only once they exist. */
	if (mount("tmpfs", "/newroot", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		return box_error_set(err, negative_errno(), "cannot mount the box root");

	for (size_t i = 0; i < p->n_mounts; i++) {
		const MountSpec *m = &p->mounts[i];
		switch (m->kind) {
		case MOUNT_RO:
		case MOUNT_RW:
		case MOUNT_RO_TRY:
			if (!src[i])
				continue; /* ro-try of a missing path */
			r = bind_into_box(src[i], m->dest, m->kind != MOUNT_RW, m->kind == MOUNT_RO_TRY, err);
			if (r < 0)
				return r;
			break;
		case MOUNT_SYMLINK: {
			char to[PATH_MAX];
			if (box_path(to, sizeof(to), "/newroot", m->dest) < 0)
				return box_error_set(err, -ENAMETOOLONG, "cannot create symlink '%s'", m->dest);
			r = mkdir_parents_in_box(to);
			if (r < 0)
				return box_error_set(err, r, "cannot create '%s' in the box", m->dest);
			if (symlink(m->source, to) < 0 && errno != EEXIST)
				return box_error_set(err, negative_errno(), "cannot create symlink '%s' in the box",
						     m->dest);
			break;
		}
		case MOUNT_TMPFS:
			r = tmpfs_into_box(m->dest, m->size == LIMIT_UNSET ? 0 : m->size, 0755, 0, err);
			if (r < 0)
				return r;
			break;
		default:
			break;
		}
	}

	if (workdir) {
		r = bind_into_box(workdir, "/work", false, false, err);
		if (r < 0)
			return r;
	}
	r = tmpfs_into_box("/tmp", p->tmp_size == LIMIT_UNSET ? 0 : p->tmp_size, 01777, 0, err);
	if (r < 0)
		return r;
	r = setup_proc(err);
	if (r < 0)
		return r;
	r = setup_dev(err);
	if (r < 0)
		return r;

	for (size_t i = 0; i < p->n_mounts; i++) {
		char full[PATH_MAX];
		if (p->mounts[i].kind != MOUNT_MASK)
			continue;
		if (box_path(full, sizeof(full), "/newroot", p->mounts[i].dest) < 0)
			return box_error_set(err, -ENAMETOOLONG, "cannot mask '%s'", p->mounts[i].dest);
		r = mask_in_box(full, err);
		if (r < 0)
			return r;
	}

	r = sys_mount_setattr("/newroot", 0, MOUNT_ATTR_RDONLY, 0);
	if (r < 0)
		return box_error_set(err, r, "cannot make the box root read-only");

	/* Into the box: pivot_root(".", ".") stacks the old root on top of the
	 * new one; detaching it drops the scratch tmpfs and, under it, the
	 * whole host tree at /oldroot. */
	if (chdir("/newroot") < 0)
		return box_error_set(err, negative_errno(), "cannot chdir to the box root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return box_error_set(err, negative_errno(), "cannot pivot into the box root");
	if (umount2(".", MNT_DETACH) < 0)
		return box_error_set(err, negative_errno(), "cannot detach the host's root");
	if (chdir(workdir ? "/work" : "/") < 0)
		return box_error_set(err, negative_errno(), "cannot chdir into the box");
	return 0;
}
