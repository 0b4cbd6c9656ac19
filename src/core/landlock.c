/* SPDX-License-Identifier: MIT */
/* Landlock rulesets for the box. See landlock.h. */

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/landlock.h"
#include "shared/macro.h"

#if HAVE_LINUX_LANDLOCK_H
#include <linux/landlock.h>
#endif

/* The UAPI as of ABI 6, for headers that predate it. Our own structure
 * names, so that a newer header never clashes; the layouts are the kernel's
 * (the kernel accepts a shorter or equal size and checks unknown fields). */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule 445
#endif
#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self 446
#endif

#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1

#define LL_FS_EXECUTE (1ULL << 0)
#define LL_FS_WRITE_FILE (1ULL << 1)
#define LL_FS_READ_FILE (1ULL << 2)
#define LL_FS_READ_DIR (1ULL << 3)
#define LL_FS_REMOVE_DIR (1ULL << 4)
#define LL_FS_REMOVE_FILE (1ULL << 5)
#define LL_FS_MAKE_CHAR (1ULL << 6)
#define LL_FS_MAKE_DIR (1ULL << 7)
#define LL_FS_MAKE_REG (1ULL << 8)
#define LL_FS_MAKE_SOCK (1ULL << 9)
#define LL_FS_MAKE_FIFO (1ULL << 10)
#define LL_FS_MAKE_BLOCK (1ULL << 11)
#define LL_FS_MAKE_SYM (1ULL << 12)
#define LL_FS_REFER (1ULL << 13)     /* ABI 2 */
#define LL_FS_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */

#define LL_NET_BIND_TCP (1ULL << 0) /* ABI 4 */

#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)		  /* ABI 6 */

/* Rights that make sense on a non-directory. */
#define LL_FS_FILE_RIGHTS (LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)
#define LL_FS_RO_RIGHTS (LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR)

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;	     /* ABI 6 */
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

static int ll_create_ruleset(const struct ll_ruleset_attr *attr, size_t size, uint32_t flags)
{
	return (int) syscall(__NR_landlock_create_ruleset, attr, size, flags);
}

static int ll_add_rule(int ruleset_fd, int type, const void *attr, uint32_t flags)
{
	return (int) syscall(__NR_landlock_add_rule, ruleset_fd, type, attr, flags);
}

static int ll_restrict_self(int ruleset_fd, uint32_t flags)
{
	return (int) syscall(__NR_landlock_restrict_self, ruleset_fd, flags);
}

int landlock_abi(void)
{
	int v = ll_create_ruleset(NULL, 0, LL_CREATE_RULESET_VERSION);
	return v > 0 ? v : 0;
}

unsigned long long landlock_fs_handled(int abi)
{
	unsigned long long m;

	if (abi < 1)
		return 0;
	m = (LL_FS_MAKE_SYM << 1) - 1; /* ABI 1: bits 0-12 */
	if (abi >= 2)
		m |= LL_FS_REFER;
	if (abi >= 3)
		m |= LL_FS_TRUNCATE;
	if (abi >= 5)
		m |= LL_FS_IOCTL_DEV;
	return m;
}

static bool paths_absolute(char **l)
{
	for (char **s = l; s && *s; s++)
		if ((*s)[0] != '/')
			return false;
	return true;
}

int landlock_prepare(const LandlockPlan *p, int *ret_fd)
{
	struct ll_ruleset_attr attr = {};
	size_t size = sizeof(attr.handled_access_fs);
	int abi = landlock_abi(), enforced = 0, fd;

	if (!paths_absolute(p->ro_paths) || !paths_absolute(p->rw_paths))
		return -EINVAL;

	/* Each feature, or an explicit refusal. */
	if (p->fs && abi >= 2) {
		attr.handled_access_fs = landlock_fs_handled(abi);
		enforced |= LANDLOCK_ENFORCED_FS;
	}
	if (p->deny_tcp_bind) {
		if (abi >= 4) {
			attr.handled_access_net = LL_NET_BIND_TCP;
			size = offsetof(struct ll_ruleset_attr, scoped);
			enforced |= LANDLOCK_ENFORCED_TCP_BIND;
		} else if (!p->degrade)
			return -EOPNOTSUPP;
	}
	if (p->scope_abstract_unix || p->scope_signal) {
		if (abi >= 6) {
			if (p->scope_abstract_unix) {
				attr.scoped |= LL_SCOPE_ABSTRACT_UNIX_SOCKET;
				enforced |= LANDLOCK_ENFORCED_ABSTRACT_UNIX;
			}
			if (p->scope_signal) {
				attr.scoped |= LL_SCOPE_SIGNAL;
				enforced |= LANDLOCK_ENFORCED_SIGNAL;
			}
			size = sizeof(attr);
		} else if (!p->degrade)
			return -EOPNOTSUPP;
	}

	if (enforced == 0) {
		*ret_fd = -EBADF;
		return 0;
	}
	fd = ll_create_ruleset(&attr, size, 0);
	if (fd < 0)
		return negative_errno();
	/* The syscall sets O_CLOEXEC itself. */
	*ret_fd = fd;
	return enforced;
}

static int add_path(int ruleset_fd, const char *path, unsigned long long access)
{
	_cleanup_close_ int fd = -EBADF;
	struct ll_path_beneath_attr attr;
	struct stat st;

	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : negative_errno(); /* leaving it out only takes access away */
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISDIR(st.st_mode))
		access &= LL_FS_FILE_RIGHTS;
	attr = (struct ll_path_beneath_attr){.allowed_access = access, .parent_fd = fd};
	if (ll_add_rule(ruleset_fd, LL_RULE_PATH_BENEATH, &attr, 0) < 0)
		return negative_errno();
	return 0;
}

int landlock_add_paths(int ruleset_fd, const LandlockPlan *p)
{
	unsigned long long handled;
	int r;

	if (ruleset_fd < 0 || !p->fs)
		return 0;
	handled = landlock_fs_handled(landlock_abi());
	if (handled == 0)
		return 0;
	for (char **s = p->ro_paths; s && *s; s++) {
		r = add_path(ruleset_fd, *s, handled & LL_FS_RO_RIGHTS);
		if (r < 0)
			return r;
	}
	for (char **s = p->rw_paths; s && *s; s++) {
		r = add_path(ruleset_fd, *s, handled & ~(LL_FS_MAKE_CHAR | LL_FS_MAKE_BLOCK));
		if (r < 0)
			return r;
	}
	return 0;
}

int landlock_enforce(int ruleset_fd)
{
	if (ruleset_fd < 0)
		return 0;
	/* restrict_self needs no_new_privs (or CAP_SYS_ADMIN); the box sets it
	 * anyway before seccomp. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return negative_errno();
	if (ll_restrict_self(ruleset_fd, 0) < 0)
		return negative_errno();
	return 0;
}

int landlock_apply(const LandlockPlan *p)
{
	_cleanup_close_ int fd = -EBADF;
	int enforced, r;

	enforced = landlock_prepare(p, &fd);
	if (enforced < 0)
		return enforced;
	r = landlock_add_paths(fd, p);
	if (r < 0)
		return r;
	r = landlock_enforce(fd);
	if (r < 0)
		return r;
	return enforced;
}
