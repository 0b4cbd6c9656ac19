/* SPDX-License-Identifier: MIT */
#pragma once

/* The session cgroup (DESIGN.md kdc-run steps 3, 9, 10): where it lives, the
 * quotas written into it, how it is emptied and what it reports at the end.
 *
 * Placement:
 *   root:          <base>/kdc.slice/<tenant>/<session>, <base> = the cgroup2 mount
 *   unprivileged:  <base>/kdc.slice/<tenant>/<session>, <base> = the highest
 *                  cgroup above the caller's own that the caller owns (a
 *                  delegated subtree, e.g. systemd-run --user -p Delegate=yes)
 *   KDC_CGROUP_ROOT=<dir> (tests) replaces <base>; it must lie inside a cgroup2
 *   mount, else every function here fails with -EINVAL.
 * Controllers are enabled only in kdc's own levels and in a delegated or
 * KDC_CGROUP_ROOT base, never in a cgroup2 mount's root.
 *
 * All functions return >= 0 or -errno and never log. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/plan.h"

/* Limits; LIMIT_UNSET (UINT64_MAX) for none. swap is only used when memory is
 * set, and defaults to 0 then. cpu is in millicores (1000 = one core). */
typedef struct CgroupLimits {
	uint64_t memory, swap, cpu_millicores, pids;
} CgroupLimits;

/* The path of the cgroup2 mount, from /proc/self/mountinfo (not assuming
 * /sys/fs/cgroup); with KDC_CGROUP_ROOT, the cgroup2 mount holding it.
 * -ENOMEDIUM when there is none. */
int cgroup_find_mount(char **ret_path);

typedef struct CgroupSession CgroupSession;

/* Creates the session cgroup and writes its limits (memory.max,
 * memory.swap.max, memory.oom.group=1, cpu.max "quota 100000", pids.max).
 * tenant: one or more '/'-separated names, session_id: one name; names are
 * [A-Za-z0-9_.@-], not starting with '.', not "cgroup.*" (-EINVAL).
 * A needed controller (one whose limit is set) that is missing is skipped
 * when its DEGRADE_MEMORY/CPU/PIDS bit is in degrade and reported in
 * *ret_degraded, else -EOPNOTSUPP. No writable place for the session is
 * -EACCES. Before creating, leftovers of crashed sessions in the same parent
 * are killed and removed (see cgroup.c). On failure *ret_hint (when ret_hint
 * is not NULL) receives a one-line explanation with the fix, for the caller
 * to print; it is left alone on success. */
int cgroup_session_create(const char *tenant, const char *session_id, const CgroupLimits *lim, unsigned degrade,
			  CgroupSession **ret, unsigned *ret_degraded, char **ret_hint);

/* O_RDONLY|O_DIRECTORY|O_CLOEXEC fd of the session cgroup, owned by the
 * session: for clone3(CLONE_INTO_CGROUP) and BPF attach. */
int cgroup_session_fd(CgroupSession *s);
const char *cgroup_session_path(CgroupSession *s);
/* A new O_RDONLY|O_DIRECTORY|O_CLOEXEC fd of <base>/kdc.slice when the base
 * is the cgroup2 mount's root (the system placement of root sessions), for
 * the shared egress programs; -EOPNOTSUPP for any other base (a delegated
 * subtree, KDC_CGROUP_ROOT below the mount's root). The caller closes it. */
int cgroup_session_open_slice(CgroupSession *s);

/* Kills every process in the session cgroup and below: cgroup.kill, or on
 * kernels without it freeze, SIGKILL each pid, thaw. Returns at once; see
 * cgroup_session_wait_empty(). */
int cgroup_session_kill(CgroupSession *s);

/* Waits until cgroup.events says "populated 0" (poll POLLPRI), at most
 * timeout_usec (UINT64_MAX: forever). -ETIMEDOUT when still populated. */
int cgroup_session_wait_empty(CgroupSession *s, uint64_t timeout_usec);

/* 1 when no process but pid (or none at all) is left in the session cgroup,
 * 0 when another one is, or a sub-cgroup exists; -errno when that cannot be
 * read. A process counts until its exit is complete (files closed,
 * namespaces left). */
int cgroup_session_only(CgroupSession *s, pid_t pid);
/* The same from any cgroup directory fd (tests use fixtures). */
int cgroup_only_at(int dirfd, pid_t pid);

typedef struct CgroupStats {
	uint64_t cpu_usec, user_usec, system_usec, throttled_usec, nr_throttled;
	uint64_t memory_peak, memory_events_oom_kill, memory_events_max;
	uint64_t pids_peak, pids_events_max;
	bool has_memory, has_pids, has_cpu; /* the controller's files were there */
} CgroupStats;

/* Reads cpu.stat, memory.peak, memory.events, pids.peak, pids.events.
 * Values whose file is absent stay 0; has_* says which controller answered
 * (has_cpu: cpu.stat has the throttling keys, i.e. the cpu controller). */
int cgroup_session_stats(CgroupSession *s, CgroupStats *ret);
/* The same from any cgroup directory fd (used on the session, and by tests on fixtures). */
int cgroup_stats_read_at(int dirfd, CgroupStats *ret);

/* Kills, waits (up to 10 s) until empty, removes the session cgroup and the
 * kdc.slice/<tenant> levels left empty; always frees s. NULL is a no-op. */
int cgroup_session_destroy(CgroupSession *s);
/* Frees without touching the cgroup (a child after fork, tests). */
void cgroup_session_free(CgroupSession *s);
static inline void cgroup_session_destroyp(CgroupSession **s)
{
	if (*s)
		(void) cgroup_session_destroy(*s);
}
#define _cleanup_cgroup_session_ __attribute__((cleanup(cgroup_session_destroyp)))

/* Capability report for `kdc-run doctor`. */
typedef struct CgroupProbe {
	char *mount;	   /* cgroup2 mount, NULL when none */
	char *controllers; /* controllers a session cgroup can get, "memory pids" */
	bool can_create;   /* a session cgroup could be created (tried: mkdir + rmdir) */
	bool delegated;	   /* the base is a delegated subtree (unprivileged) */
	char *why;	   /* when !can_create: why, and the fix */
} CgroupProbe;
int cgroup_probe(CgroupProbe *ret);
void cgroup_probe_done(CgroupProbe *p);

/* Exposed for the unit tests. */
/* The first cgroup2 mount point in mountinfo text whose mount point contains
 * `inside` (NULL: any), octal escapes decoded. -ENOMEDIUM when none. */
int cgroup_parse_mountinfo(const char *text, const char *inside, char **ret_path);
/* The cgroup2 path ("0::/x/y" line) in /proc/PID/cgroup text. */
int cgroup_parse_proc_cgroup(const char *text, char **ret_path);
/* cpu.max contents for millicores: "quota 100000", "max 100000" for
 * LIMIT_UNSET; -ERANGE below 10 millicores (the kernel's 1 ms minimum quota)
 * or on overflow. buf >= 48 bytes. */
int cgroup_format_cpu_max(char *buf, size_t len, uint64_t millicores);
/* The owner record kept in the session cgroup's user.kdc.owner xattr:
 * "PID STARTTIME PIDNS-INODE" of the calling process (buf >= 96 bytes). */
int cgroup_owner_record(char *buf, size_t len);
/* 1 when the owner a record names is alive (or in another pid namespace, so
 * unknowable), 0 when dead or the record is garbage. */
int cgroup_owner_alive(const char *record);
/* cgroup_session_kill()'s fallback for kernels without cgroup.kill, on a
 * cgroup directory fd (callable on kernels with it, for the tests). */
int cgroup_kill_by_freezing(int dirfd);
/* Whether a space-separated controller list contains name. */
bool cgroup_list_contains(const char *list, const char *name);
