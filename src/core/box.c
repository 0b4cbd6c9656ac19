/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/box.h"
#include "core/caps.h"
#include "core/mounts.h"
#include "core/net.h"
#include "shared/fileio.h"
#include "shared/macro.h"
#include "shared/strv.h"

extern char **environ;

/* Signals pid 1 passes on to the agent. */
static const int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};

static bool env_name_eq(const char *entry, const char *name)
{
	size_t n = strlen(name);
	return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

int box_build_env(const Plan *p, char *const *from, char ***ret)
{
	_cleanup_strv_free_ char **env = calloc(1, sizeof(char *));
	bool have_path = false;

	if (!env)
		return -ENOMEM;
	STRV_FOREACH (k, p->env_keep)
		STRV_FOREACH (e, from)
			if (env_name_eq(*e, *k)) {
				if (strv_extend(&env, *e) < 0)
					return -ENOMEM;
				break;
			}
	STRV_FOREACH (s, p->env_set) {
		size_t n = strcspn(*s, "=");
		/* a later set of the same name replaces an earlier one or a kept one */
		for (char **e = env; *e;) {
			if (strncmp(*e, *s, n + 1) == 0) {
				free(*e);
				memmove(e, e + 1, (strv_length(e + 1) + 1) * sizeof(char *));
			} else
				e++;
		}
		if (strv_extend(&env, *s) < 0)
			return -ENOMEM;
	}
	STRV_FOREACH (e, env)
		if (env_name_eq(*e, "PATH"))
			have_path = true;
	if (!have_path && strv_extend(&env, "PATH=/usr/local/bin:/usr/bin:/bin") < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(env);
	return 0;
}

/* ---- child side ---------------------------------------------------------- */

static void send_msg(int fd, int kind, int error, int status, int pid, const char *msg)
{
	BoxMsg m = {.kind = kind, .error = error, .status = status, .pid = pid};
	if (msg)
		snprintf(m.msg, sizeof(m.msg), "%s", msg);
	(void) send(fd, &m, sizeof(m), MSG_NOSIGNAL);
}

static uint64_t timeval_usec(const struct timeval *tv)
{
	return (uint64_t) tv->tv_sec * 1000000 + (uint64_t) tv->tv_usec;
}

/* CPU time of the children pid 1 has reaped, each with its own reaped
 * descendants: what RUSAGE_CHILDREN would say, without another call. */
typedef struct Reaped {
	uint64_t utime_usec, stime_usec;
} Reaped;

static pid_t reap(int *status, Reaped *r)
{
	struct rusage ru;
	pid_t p = wait4(-1, status, WNOHANG | __WALL, &ru);

	if (p > 0) {
		r->utime_usec += timeval_usec(&ru.ru_utime);
		r->stime_usec += timeval_usec(&ru.ru_stime);
	}
	return p;
}

/* The agent has ended. With report_alone (a box without a session cgroup),
 * pid 1 first reaps what else has ended, then says whether it is alone in
 * the box, and what everything it reaped used: the parent can conclude the
 * run while pid 1's exit tears the box down. pid 1 is alone when it has no
 * child left (ECHILD): every other process of its pid namespace descends
 * from it, orphans being given to it or to a living subreaper below it.
 * Only wait4(2) is called, which pid 1 needs anyway: a profile's seccomp
 * policy cannot turn this check into a violation. */
static void send_status(int fd, int status, pid_t agent, bool report_alone, Reaped *r)
{
	BoxMsg m = {.kind = BOX_MSG_STATUS, .status = status, .pid = agent};
	pid_t p;

	if (report_alone) {
		while ((p = reap(NULL, r)) > 0)
			;
		if (p < 0 && errno == ECHILD) {
			m.alone = 1;
			m.utime_usec = r->utime_usec;
			m.stime_usec = r->stime_usec;
		}
	}
	(void) send(fd, &m, sizeof(m), MSG_NOSIGNAL);
}

static int send_fd(int sock, int fd)
{
	BoxMsg m = {.kind = BOX_MSG_LISTENER};
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	ssize_t n;

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	close(fd);
	return n < 0 ? negative_errno() : 0;
}

ssize_t box_recv_msg(int fd, BoxMsg *ret, int *ret_fd, int flags)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = ret, .iov_len = sizeof(*ret)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	ssize_t n;

	*ret_fd = -EBADF;
	n = recvmsg(fd, &mh, flags | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return negative_errno();
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(ret_fd, CMSG_DATA(cm), sizeof(int));
	return n;
}

static _noreturn_ void child_fail(int fd, const BoxError *e)
{
	send_msg(fd, BOX_MSG_ERROR, e->error, 0, 0, e->msg);
	_exit(125);
}

static _noreturn_ _printf_(3, 4) void child_failf(int fd, int r, const char *fmt, ...)
{
	BoxError e = {.error = r};
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	(void) vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	n = strnlen(e.msg, sizeof(e.msg));
	if (r < 0 && n < sizeof(e.msg))
		(void) snprintf(e.msg + n, sizeof(e.msg) - n, ": %s", strerror(-r));
	child_fail(fd, &e);
}

static int close_all_fds_but(int keep)
{
	/* Everything but stdio and our report socket: no inherited fd (and so
	 * no host directory, terminal or socket) reaches the agent. */
	if (keep > 3 && syscall(SYS_close_range, 3, keep - 1, 0) < 0)
		return negative_errno();
	if (syscall(SYS_close_range, keep + 1, ~0U, 0) < 0)
		return negative_errno();
	return 0;
}

/* Default dispositions for every signal, glibc's own (32, 33) too, which
 * sigaction(3) refuses to touch: the system call, not the wrapper. pid 1 does
 * this once while it waits for GO, so the agent's vfork-style child, on the
 * path from GO to the agent's execve, inherits them and has 62 system calls
 * less to make. pid 1 itself needs no handler: it reads its signals from a
 * signalfd, and its sends use MSG_NOSIGNAL. */
static void reset_signal_dispositions(void)
{
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		uint64_t mask;
	} dfl = {.handler = SIG_DFL};

	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void) syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask));
}

/* The agent's process until its execve: it shares pid 1's memory
 * (CLONE_VM | CLONE_VFORK), so nothing of pid 1 is copied for it, and pid 1
 * is suspended until the execve has succeeded or failed. */
typedef struct AgentStart {
	const BoxConfig *c;
	int error; /* errno of a failed execve, written by the child */
} AgentStart;

static int agent_main(void *data)
{
	AgentStart *a = data;

	/* Every disposition is already the default (pid 1 reset them before
	 * GO, reset_signal_dispositions()): only the caller's mask is left. */
	(void) syscall(SYS_rt_sigprocmask, SIG_SETMASK, &a->c->agent_mask, NULL, sizeof(uint64_t));

	/* execvp searches the box's PATH (pid 1 set environ to it) and hands a
	 * file without '#!' to /bin/sh. */
	execvp(a->c->plan->argv[0], a->c->plan->argv);
	a->error = errno;
	_exit(127);
}

/* Returns the agent's pid, or -errno when it could not be executed. */
static pid_t spawn_agent(const BoxConfig *c)
{
	AgentStart a = {.c = c};
	size_t page = (size_t) sysconf(_SC_PAGESIZE), size;
	char *stack;
	pid_t pid;

	/* The child's stack. execvp() copies argv onto it for a file without
	 * '#!' (to hand it to /bin/sh): room for that, as posix_spawn(3)
	 * sizes its own, plus 64 KiB, and a guard page below, so that no
	 * overflow can reach pid 1's memory, which the child shares. */
	size = ((strv_length(c->plan->argv) + 3) * sizeof(char *) + 64 * 1024 + page - 1) / page * page + page;
	stack =
	    mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
	if (stack == MAP_FAILED)
		return negative_errno();
	if (mprotect(stack, page, PROT_NONE) < 0) {
		a.error = errno;
		(void) munmap(stack, size);
		return -a.error;
	}

	environ = c->envp;
	/* No handler can run on the child's stack: pid 1 has none (every
	 * disposition is the default), and the child starts with pid 1's
	 * mask, every forwarded signal blocked, until it sets the agent's. */
	pid = clone(agent_main, stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
	if (pid < 0)
		a.error = errno;
	/* CLONE_VFORK: we run again once the child has exec'd or exited;
	 * it no longer uses the stack. */
	(void) munmap(stack, size);
	if (pid < 0)
		return -a.error;
	if (a.error != 0) {
		(void) waitpid(pid, NULL, __WALL);
		return -a.error;
	}
	return pid;
}

/* pid 1 of the box: start the agent, reap everything, forward signals, and
 * leave with the agent's status. When we exit, the kernel kills every other
 * process in the pid namespace: nothing the agent started survives it. */
static _noreturn_ void run_pid1(const BoxConfig *c, int msg_fd)
{
	_cleanup_close_ int sfd = -EBADF;
	Reaped reaped = {0};
	sigset_t mask;
	pid_t agent;
	ssize_t n;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded_signals); i++)
		sigaddset(&mask, forwarded_signals[i]);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 || (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0)
		child_failf(msg_fd, negative_errno(), "cannot set up pid 1");
	reset_signal_dispositions();

	/* EOF or anything else than GO from the parent: it refused, or died.
	 * pid 1 leaves before anything of the agent exists. */
	if (c->wait_for_go) {
		BoxMsg m;
		do
			n = recv(msg_fd, &m, sizeof(m), 0);
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t) sizeof(m) || m.kind != BOX_MSG_GO)
			_exit(123);
	}

	agent = spawn_agent(c);
	if (agent < 0) {
		r = agent;
		/* As a shell says it: 127 when there is no such program, 126
		 * when it cannot be executed. */
		int code = r == -ENOENT ? 127 : 126;
		char m[400];
		snprintf(m, sizeof(m), "cannot execute '%s': %s", c->plan->argv[0], strerror(-r));
		send_msg(msg_fd, BOX_MSG_EXEC_FAILED, r, 0, 0, m);
		send_msg(msg_fd, BOX_MSG_STATUS, 0, W_EXITCODE(code, 0), 0, NULL);
		_exit(code);
	}
	send_msg(msg_fd, BOX_MSG_STARTED, 0, 0, agent, NULL);

	for (;;) {
		struct signalfd_siginfo si;
		int status;
		pid_t p;

		n = read(sfd, &si, sizeof(si));
		if (n != sizeof(si)) {
			if (n < 0 && errno == EINTR)
				continue;
			_exit(125);
		}
		if (si.ssi_signo != SIGCHLD) {
			(void) kill(agent, (int) si.ssi_signo);
			continue;
		}
		while ((p = reap(&status, &reaped)) > 0) {
			if (p != agent)
				continue; /* an orphan we adopted: reaped, nothing else */
			send_status(msg_fd, status, agent, c->report_alone, &reaped);
			if (WIFEXITED(status))
				_exit(WEXITSTATUS(status));
			_exit(128 + WTERMSIG(status));
		}
	}
}

static _noreturn_ void box_child(const BoxConfig *c, int msg_fd)
{
	const Plan *p = c->plan;
	BoxError err = {0};
	int r;

	/* If kdc-run dies, so does the box (pid 1 dying takes the rest). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_failf(msg_fd, negative_errno(), "cannot set the parent-death signal");

	/* 1. Loopback in our own network namespace (CAP_NET_ADMIN there, ours
	 *    from birth: no id map is needed), while the parent writes the
	 *    maps. */
	if (c->new_netns) {
		r = net_loopback_up();
		if (r < 0)
			child_failf(msg_fd, r, "cannot bring up the loopback interface");
	}

	/* 2. Hostname of our own UTS namespace (CAP_SYS_ADMIN there). */
	{
		const char *h = p->hostname ? p->hostname : "kdc";
		if (sethostname(h, strlen(h)) < 0)
			child_failf(msg_fd, negative_errno(), "cannot set hostname '%s'", h);
	}

	/* 3. Our ids: files we create must belong to a mapped uid. Anything
	 *    but the parent's word means it failed (and says why) or died. */
	{
		BoxMsg m;
		ssize_t n;
		do
			n = recv(msg_fd, &m, sizeof(m), 0);
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t) sizeof(m) || m.kind != BOX_MSG_MAPPED)
			_exit(125);
	}

	/* 4. Filesystem: needs CAP_SYS_ADMIN in our user namespace, and
	 *    everything below runs with the box as its root. */
	r = mounts_build_box(p, &err);
	if (r < 0)
		child_fail(msg_fd, &err);

	/* 5. Resource limits: no core files (they could carry what the agent
	 *    read), and the open-file limit. Only lowering is possible here. */
	{
		struct rlimit rl = {0, 0};
		(void) setrlimit(RLIMIT_CORE, &rl);
		if (p->nofile != LIMIT_UNSET && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
			rlim_t v = p->nofile < rl.rlim_max ? p->nofile : rl.rlim_max;
			rl.rlim_cur = rl.rlim_max = v;
			if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
				child_failf(msg_fd, negative_errno(), "cannot set the open-file limit");
		}
	}

	/* 6. Only stdio and the report socket stay open. */
	r = close_all_fds_but(msg_fd);
	if (r < 0)
		child_failf(msg_fd, r, "cannot close inherited file descriptors");

	/* 7. Landlock, while we can still open the paths it names. */
	if (c->landlock_apply) {
		r = c->landlock_apply(c->landlock_data);
		if (r < 0)
			child_failf(msg_fd, r, "cannot apply the Landlock ruleset");
	}

	/* 8. A session of our own: the caller's terminal is no longer our
	 *    controlling terminal (CVE-2017-5226), unless the profile asks. */
	if (!p->terminal && setsid() < 0)
		child_failf(msg_fd, negative_errno(), "cannot start a new session");

	/* 9. No capabilities, for us and for anything we execute. */
	r = caps_drop_all();
	if (r < 0)
		child_failf(msg_fd, r, "cannot drop capabilities");

	/* 10. No privilege gain through execve (setuid, file capabilities).
	 *    pid 1 is not dumpable: the agent cannot open /proc/1/exe, mem or
	 *    fds (CVE-2019-5736 class); the agent's own execve resets it for
	 *    itself only. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		child_failf(msg_fd, negative_errno(), "cannot make pid 1 non-dumpable");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_failf(msg_fd, negative_errno(), "cannot set no_new_privs");

	/* 11. Seccomp last: everything above needed syscalls it forbids. */
	if (c->seccomp_install) {
		r = c->seccomp_install(c->seccomp_data);
		if (r < 0)
			child_failf(msg_fd, r, "cannot install the seccomp filter");
		if (c->seccomp_listener) {
			/* The parent reads violations from this fd; we never do. */
			r = send_fd(msg_fd, r);
			if (r < 0)
				child_failf(msg_fd, r, "cannot pass the seccomp listener to kdc-run");
		}
	}

	run_pid1(c, msg_fd);
}

/* ---- parent side --------------------------------------------------------- */

/* The caller's uid and gid map to themselves, as bwrap does; nothing else is
 * mapped. The parent writes them (DESIGN.md step 6) while the child brings
 * up loopback and names its host. setgroups must be denied before an
 * unprivileged process may write gid_map. */
static int write_id_maps(pid_t pid, uid_t uid, gid_t gid)
{
	char path[64], line[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/setgroups", (int) pid);
	r = write_string_file(path, "deny");
	if (r < 0 && r != -ENOENT)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int) pid);
	snprintf(line, sizeof(line), "%u %u 1\n", (unsigned) uid, (unsigned) uid);
	r = write_string_file(path, line);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int) pid);
	snprintf(line, sizeof(line), "%u %u 1\n", (unsigned) gid, (unsigned) gid);
	return write_string_file(path, line);
}

int box_spawn(const BoxConfig *c, BoxProcess *ret, BoxError *err)
{
	_cleanup_close_pair_ int msg[2] = {-EBADF, -EBADF};
	int pidfd = -EBADF;
	struct clone_args args = {
	    .flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP |
		     CLONE_PIDFD,
	    .pidfd = (uint64_t) (uintptr_t) &pidfd,
	    .exit_signal = SIGCHLD,
	};
	pid_t pid;
	int r;

	if (c->new_netns)
		args.flags |= CLONE_NEWNET;
	if (c->cgroup_fd >= 0) {
		/* Into the session cgroup at birth, never after: there is no
		 * moment when the box runs outside its limits. */
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t) c->cgroup_fd;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, msg) < 0)
		return box_error_set(err, negative_errno(), "cannot create the sync channel");

	pid = (pid_t) syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0)
		return box_error_set(err, negative_errno(), "cannot create the box's namespaces (clone3)");
	if (pid == 0) {
		msg[0] = safe_close(msg[0]);
		box_child(c, msg[1]);
	}

	msg[1] = safe_close(msg[1]);
	r = write_id_maps(pid, c->uid, c->gid);
	if (r >= 0) {
		BoxMsg m = {.kind = BOX_MSG_MAPPED};
		if (send(msg[0], &m, sizeof(m), MSG_NOSIGNAL) < 0)
			r = negative_errno();
	}
	if (r < 0) {
		(void) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		(void) waitpid(pid, NULL, 0);
		safe_close(pidfd);
		return box_error_set(err, r, "cannot write the box's uid/gid maps");
	}
	ret->pid = pid;
	ret->pidfd = pidfd;
	ret->msg_fd = TAKE_FD(msg[0]);
	return 0;
}

int box_go(BoxProcess *b)
{
	BoxMsg m = {.kind = BOX_MSG_GO};
	if (send(b->msg_fd, &m, sizeof(m), MSG_NOSIGNAL) < 0)
		return negative_errno();
	return 0;
}

void box_process_done(BoxProcess *b)
{
	b->pidfd = safe_close(b->pidfd);
	b->msg_fd = safe_close(b->msg_fd);
}
