/* SPDX-License-Identifier: MIT */
#pragma once

/* The plan: everything kdc-run will do, resolved from profiles and the
 * command line, validated unprivileged, and then treated as immutable.
 * Every module that applies a control reads its part of the plan; none of
 * them parses configuration. */

#include <stdbool.h>
#include <stdint.h>

typedef enum NetMode {
	NET_NONE,     /* own netns, loopback only */
	NET_PROXY,    /* own netns + supervisor HTTP proxy on 127.0.0.1:3128 */
	NET_FILTERED, /* caller's netns + eBPF allowlist on the session cgroup */
	_NET_MODE_MAX,
} NetMode;

const char *net_mode_to_string(NetMode m);
int net_mode_from_string(const char *s); /* NetMode or -EINVAL */

/* Controls a profile may accept to lose ([sandbox] degrade = ...). */
typedef enum Degrade {
	DEGRADE_MEMORY = 1u << 0,
	DEGRADE_CPU = 1u << 1,
	DEGRADE_PIDS = 1u << 2,
	DEGRADE_CGROUP = 1u << 3,     /* no session cgroup at all */
	DEGRADE_EGRESS_BPF = 1u << 4, /* BPF second wall / byte counter */
	DEGRADE_LANDLOCK = 1u << 5,
	DEGRADE_BUDGET = 1u << 6,     /* run without a ledger hold */
} Degrade;

const char *degrade_to_string(Degrade d);
int degrade_from_string(const char *s); /* one Degrade bit or -EINVAL */

typedef enum MountKind {
	MOUNT_RO,     /* read-only bind of host SRC at DST */
	MOUNT_RW,     /* read-write bind */
	MOUNT_TMPFS,  /* empty tmpfs of size at DST */
	MOUNT_MASK,   /* hide DST (empty ro tmpfs for dirs, /dev/null for files) */
	MOUNT_RO_TRY, /* like MOUNT_RO but skipped when SRC does not exist */
} MountKind;

typedef struct MountSpec {
	MountKind kind;
	char *source;       /* host path (absolute), NULL for tmpfs/mask */
	char *dest;         /* path inside the box (absolute) */
	uint64_t size;      /* tmpfs size in bytes, 0 = default */
} MountSpec;

typedef struct ToolSpec {
	char *name;
	char *description;
	char *command;
	char **secrets;
	char *args;        /* "order:string amount:number" */
	char *rule;
	char *approve;
	int64_t cost;      /* micro-units */
	char cost_unit[32];
	int64_t max_cost;
	char *rate;        /* "10/min burst 5" */
	uint64_t timeout_usec;
} ToolSpec;

#define LIMIT_UNSET UINT64_MAX

typedef struct Plan {
	/* Where it came from. */
	char *profile_name;  /* as given: "default", "./my.ini" */
	char *profile_path;  /* resolved top-level file */
	char *description;

	/* Identity (accounting scope). NULL = decided at admission. */
	char *tenant;
	char *project;
	char *user;

	/* Filesystem. */
	char *workdir;       /* host directory mounted rw at /work; NULL = none */
	MountSpec *mounts;
	size_t n_mounts;
	uint64_t tmp_size;   /* /tmp tmpfs size */

	/* Environment: names kept from the caller, NAME=value set. */
	char **env_keep;
	char **env_set;

	/* Limits; LIMIT_UNSET where the profile sets none. */
	uint64_t memory;       /* bytes */
	uint64_t swap;         /* bytes; default 0 when memory is set */
	uint64_t cpu;          /* millicores */
	uint64_t pids;
	uint64_t wall_usec;
	uint64_t nofile;

	/* Network. */
	NetMode net;
	char **allow;          /* "host:port", "cidr:port" as written */

	/* Seccomp. */
	char **seccomp_deny;   /* extra syscalls to refuse */
	char **seccomp_allow;  /* extra syscalls to permit */
	bool seccomp_kill;     /* on_violation = kill */

	/* Sandbox. */
	unsigned degrade;      /* Degrade bits */
	bool terminal;         /* keep the controlling terminal (no setsid) */
	char *hostname;

	/* Budget. */
	int64_t price_cpu_s;   /* micro-units per cpu-second */
	int64_t price_wall_s;  /* micro-units per wall-second */
	int64_t hold;          /* explicit hold per run; 0 = derived */
	char budget_unit[32];  /* "USD" */

	ToolSpec *tools;
	size_t n_tools;

	/* The command. */
	char **argv;
} Plan;

void plan_free(Plan *p);
static inline void plan_freep(Plan **p)
{
	if (*p)
		plan_free(*p);
}
#define _cleanup_plan_free_ __attribute__((cleanup(plan_freep)))
