/* SPDX-License-Identifier: MIT */
#pragma once

/* The box: spawning it (parent side) and entering it (child side).
 *
 * box_spawn() clones the child into new namespaces (and, when given, into the
 * session cgroup at birth), writes its uid/gid maps, and lets it go. The child
 * applies the plan in a fixed order (box.c says why each step is where it is)
 * and becomes pid 1 of the box: it forks and execs the agent, reaps every
 * zombie, forwards signals, and reports the agent's wait status to the
 * parent before it exits. The parent learns everything the child has to say
 * through one SOCK_SEQPACKET socket: BoxMsg records. */

#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>

#include "core/box-error.h"
#include "core/plan.h"

typedef enum BoxMsgKind {
	BOX_MSG_ERROR = 1,	 /* setup failed: error + msg; the child exits 125 */
	BOX_MSG_EXEC_FAILED = 2, /* the agent could not be executed: error + msg */
	BOX_MSG_STARTED = 3,	 /* the agent is running as pid (in the box) */
	BOX_MSG_STATUS = 4,	 /* the agent ended: status is its wait status */
	BOX_MSG_LISTENER = 5,	 /* carries the seccomp notification fd (SCM_RIGHTS) */
	BOX_MSG_GO = 6,		 /* parent -> pid 1: admitted, start the agent */
	BOX_MSG_MAPPED = 7,	 /* parent -> child: its uid/gid maps are written */
} BoxMsgKind;

typedef struct BoxMsg {
	int32_t kind;
	int32_t error;
	int32_t status;
	int32_t pid;
	/* BOX_MSG_STATUS with BoxConfig.report_alone: alone is 1 when pid 1 has
	 * no child left, so no other process is in the box, and then the times
	 * are the user and system CPU of everything pid 1 has reaped (the agent
	 * included). */
	int32_t alone;
	int32_t unused;
	uint64_t utime_usec, stime_usec;
	char msg[480]; /* as BoxError's */
} BoxMsg;

typedef struct BoxConfig {
	const Plan *plan;
	char **envp;	/* the agent's whole environment */
	bool new_netns; /* false in 'filtered' mode */
	/* Hooks run in the child at their fixed place in the order; NULL = none.
	 * Each returns >= 0 or -errno. landlock: after the fds are closed;
	 * seccomp: last, after no_new_privs. */
	int (*landlock_apply)(const void *data);
	const void *landlock_data;
	int (*seccomp_install)(const void *data);
	const void *seccomp_data;
	bool seccomp_listener; /* seccomp_install returns a listener fd to pass to the parent */
	bool wait_for_go;      /* pid 1 starts the agent only on BOX_MSG_GO (box_go()) */
	int cgroup_fd;	       /* -EBADF: no session cgroup */
	bool report_alone;     /* pid 1 says with the agent's status whether it is alone (BoxMsg) */
	sigset_t agent_mask;   /* the signal mask the agent starts with */
	uid_t uid;	       /* the caller's ids, mapped to themselves */
	gid_t gid;
} BoxConfig;

typedef struct BoxProcess {
	pid_t pid; /* pid 1 of the box, in our namespace */
	int pidfd;
	int msg_fd; /* read BoxMsg records; EOF when the box is gone */
} BoxProcess;

/* Receives one BoxMsg; a passed fd (BOX_MSG_LISTENER) goes to *ret_fd
 * (else -EBADF). Returns the size read, 0 at EOF, or -errno. */
ssize_t box_recv_msg(int fd, BoxMsg *ret, int *ret_fd, int flags);

/* Builds the agent's environment from the plan: only names listed in
 * env_keep are taken from `from`; env_set entries are added; PATH gets a
 * default when the plan sets none. */
int box_build_env(const Plan *p, char *const *from, char ***ret);

int box_spawn(const BoxConfig *c, BoxProcess *ret, BoxError *err);
/* Tells pid 1 to start the agent (with BoxConfig.wait_for_go). */
int box_go(BoxProcess *b);
void box_process_done(BoxProcess *b);
