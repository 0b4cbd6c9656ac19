/* SPDX-License-Identifier: MIT */
#pragma once

/* Landlock, applied inside the box's child after pivot_root and before
 * seccomp: a filesystem ruleset backing the mount view (defense in depth),
 * and the ABI 6 scopes that keep the box off the host's abstract Unix
 * sockets and from signalling processes outside it.
 *
 * Works with or without <linux/landlock.h> (Debian 12's header stops at
 * ABI 2): the syscalls and structures are declared here if missing.
 *
 * What a kernel lacks:
 *   - the filesystem ruleset is best effort (backed by the mount view): on
 *     ABI 0 or 1 it is left out (ABI 1 refuses every cross-directory rename
 *     and link, which breaks ordinary tools);
 *   - the scopes and deny_tcp_bind are refused with -EOPNOTSUPP unless the
 *     plan says degrade (the profile's 'degrade = landlock').
 * The return value says what is enforced (LANDLOCK_ENFORCED_* bits). */

#include <stdbool.h>

typedef struct LandlockPlan {
	char **ro_paths;	  /* read and execute beneath; paths as seen after pivot_root */
	char **rw_paths;	  /* everything beneath except creating device nodes */
	bool fs;		  /* restrict the filesystem to ro_paths + rw_paths */
	bool scope_abstract_unix; /* ABI 6: no connecting to abstract sockets outside the box */
	bool scope_signal;	  /* ABI 6: no signals to processes outside the box */
	bool deny_tcp_bind;	  /* ABI 4: no TCP bind at all (filtered mode) */
	bool degrade;		  /* accept losing the scopes / deny_tcp_bind on older kernels */
} LandlockPlan;

#define LANDLOCK_ENFORCED_FS (1 << 0)
#define LANDLOCK_ENFORCED_ABSTRACT_UNIX (1 << 1)
#define LANDLOCK_ENFORCED_SIGNAL (1 << 2)
#define LANDLOCK_ENFORCED_TCP_BIND (1 << 3)

/* The kernel's Landlock ABI version; 0 if Landlock is unsupported or disabled. */
int landlock_abi(void);

/* The filesystem access rights handled for an ABI version (0 if none). */
unsigned long long landlock_fs_handled(int abi);

/* Step 1, before pivot_root: creates the ruleset for this kernel. Returns the
 * LANDLOCK_ENFORCED_* bits the ruleset will enforce, with *ret_fd the ruleset
 * (or -EBADF when there is nothing to enforce); -EOPNOTSUPP if the plan asks
 * for what the kernel lacks and may not degrade; -EINVAL for a relative path. */
int landlock_prepare(const LandlockPlan *p, int *ret_fd);

/* Step 2, after pivot_root: adds the plan's paths, opened now (so they are
 * the box's paths). A missing path is left out, which only takes access
 * away. No-op for ruleset_fd < 0 or when the filesystem is not restricted. */
int landlock_add_paths(int ruleset_fd, const LandlockPlan *p);

/* Step 3: sets no_new_privs and restricts the calling thread (and what it
 * executes) to the ruleset. No-op for ruleset_fd < 0. */
int landlock_enforce(int ruleset_fd);

/* The three steps at once; returns the LANDLOCK_ENFORCED_* bits or -errno. */
int landlock_apply(const LandlockPlan *p);
