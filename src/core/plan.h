/* SPDX-License-Identifier: MIT */
#pragma once

/* The plan: everything kdc-run will do, resolved from profiles and the
 * command line, validated unprivileged, and then treated as immutable.
 * Every module that applies a control reads its part of the plan; none of
 * them parses configuration. */

#include <stdbool.h>
#include <stddef.h>
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
	DEGRADE_BUDGET = 1u << 6, /* run without a ledger hold */
} Degrade;

const char *degrade_to_string(Degrade d); /* one bit; NULL if d is not exactly one known bit */
int degrade_from_string(const char *s);	  /* one Degrade bit or -EINVAL */
#define DEGRADE_ALL ((unsigned) (DEGRADE_BUDGET << 1) - 1u)

typedef enum MountKind {
	MOUNT_RO,      /* read-only bind of host SRC at DST */
	MOUNT_RW,      /* read-write bind */
	MOUNT_TMPFS,   /* empty tmpfs of size at DST */
	MOUNT_MASK,    /* hide DST (empty ro tmpfs for dirs, /dev/null for files) */
	MOUNT_RO_TRY,  /* like MOUNT_RO but skipped when SRC does not exist */
	MOUNT_SYMLINK, /* create DST as a symlink to SOURCE (the host link's target, as read by readlink) */
} MountKind;

/* A ro, ro-try or rw entry whose host path is a symlink and whose DST is the
 * same path becomes MOUNT_SYMLINK (Debian 12: /bin -> usr/bin), so the box
 * has the same layout as the host. A symlink with another DST is bound, and
 * the bind follows the link. */
typedef struct MountSpec {
	MountKind kind;
	char *source;  /* host path (absolute), link target for MOUNT_SYMLINK, NULL for tmpfs/mask */
	char *dest;    /* path inside the box (absolute, normalised, no "." or "..") */
	uint64_t size; /* tmpfs size in bytes, 0 = default ([limits] tmp when set) */
	char *origin;  /* "/path/p.ini:7", "--bind", for --print-profile */
} MountSpec;

/* Indexes of ToolSpec.origins. */
typedef enum ToolField {
	TOOL_SECTION, /* the [tool NAME] header that defined it last */
	TOOL_DESCRIPTION,
	TOOL_COMMAND,
	TOOL_ARGS,
	TOOL_RULE,
	TOOL_APPROVE,
	TOOL_COST,
	TOOL_MAX_COST,
	TOOL_RATE,
	TOOL_TIMEOUT,
	_TOOL_FIELD_MAX,
} ToolField;

typedef struct ToolSpec {
	char *name;
	char *description;
	char *command;
	char **secrets;
	char *args; /* "order:string amount:number" */
	char *rule;
	char *approve;
	int64_t cost; /* micro-units */
	char cost_unit[32];
	int64_t max_cost;
	char *rate;		   /* "10/min burst 5" as written; NULL = no rate limit */
	uint64_t rate_count;	   /* 10 */
	uint64_t rate_period_usec; /* 60 s */
	uint64_t rate_burst;	   /* 5; 0 when not given */
	uint64_t timeout_usec;	   /* 0 = the supervisor's default */

	char *origins[_TOOL_FIELD_MAX]; /* NULL = not set */
	char **secrets_origins;		/* parallel to secrets */
} ToolSpec;

#define LIMIT_UNSET UINT64_MAX

/* Indexes of Plan.origins: where each scalar came from ("/path/p.ini:7",
 * "--memory"); NULL = built-in default. List items carry their own. */
typedef enum PlanField {
	PLAN_DESCRIPTION,
	PLAN_TENANT,
	PLAN_PROJECT,
	PLAN_USER,
	PLAN_WORKDIR,
	PLAN_HOME,
	PLAN_TMP,
	PLAN_MEMORY,
	PLAN_SWAP,
	PLAN_CPU,
	PLAN_PIDS,
	PLAN_WALL,
	PLAN_NOFILE,
	PLAN_NET,
	PLAN_SECCOMP_KILL,
	PLAN_DEGRADE,
	PLAN_TERMINAL,
	PLAN_HOSTNAME,
	PLAN_BUDGET_UNIT,
	PLAN_PRICE_CPU,
	PLAN_PRICE_WALL,
	PLAN_HOLD,
	PLAN_ARGV,
	_PLAN_FIELD_MAX,
} PlanField;

typedef struct Plan {
	/* Where it came from. */
	char *profile_name; /* as given: "default", "./my.ini" */
	char *profile_path; /* resolved top-level file */
	char *description;

	/* Identity (accounting scope). NULL = decided at admission. */
	char *tenant;
	char *project;
	char *user;

	/* Filesystem. */
	char *workdir;	   /* host directory mounted rw at /work (absolute realpath); NULL = none */
	bool home_tmpfs;   /* home = tmpfs: already turned into a tmpfs at /home and HOME=/home */
	MountSpec *mounts; /* in order; destinations unique */
	size_t n_mounts;
	uint64_t tmp_size; /* /tmp tmpfs size; LIMIT_UNSET = the kernel's default */

	/* Environment: names kept from the caller, NAME=value set (one entry
	 * per NAME, the last one given wins; applied after env_keep). */
	char **env_keep;
	char **env_set;

	/* Limits; LIMIT_UNSET where the profile sets none. */
	uint64_t memory; /* bytes */
	uint64_t swap;	 /* bytes; 0 when memory is set and swap is not */
	uint64_t cpu;	 /* millicores */
	uint64_t pids;
	uint64_t wall_usec;
	uint64_t nofile;

	/* Network. */
	NetMode net;
	char **allow; /* "host:port", "cidr:port" as written */

	/* Seccomp. */
	char **seccomp_deny;  /* extra syscalls to refuse */
	char **seccomp_allow; /* extra syscalls to permit */
	bool seccomp_kill;    /* on_violation = kill */

	/* Sandbox. */
	unsigned degrade; /* Degrade bits */
	bool terminal;	  /* keep the controlling terminal (no setsid) */
	char *hostname;

	/* Budget. */
	int64_t price_cpu_s;  /* micro-units per cpu-second */
	int64_t price_wall_s; /* micro-units per wall-second */
	int64_t hold;	      /* explicit hold per run; 0 = derived */
	char budget_unit[32]; /* "USD"; "" when no [budget] price is set */

	ToolSpec *tools;
	size_t n_tools;

	/* The command (from the command line); NULL when none was given. */
	char **argv;

	/* For --print-profile only: where each value came from. */
	char *origins[_PLAN_FIELD_MAX];
	char **env_keep_origins;      /* parallel to env_keep */
	char **env_set_origins;	      /* parallel to env_set */
	char **allow_origins;	      /* parallel to allow */
	char **seccomp_deny_origins;  /* parallel to seccomp_deny */
	char **seccomp_allow_origins; /* parallel to seccomp_allow */
} Plan;

void plan_free(Plan *p);
static inline void plan_freep(Plan **p)
{
	if (*p)
		plan_free(*p);
}
#define _cleanup_plan_free_ __attribute__((cleanup(plan_freep)))
