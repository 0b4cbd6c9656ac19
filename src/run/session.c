/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <jansson.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/seccomp.h>

#include "core/box.h"
#include "core/cgroup.h"
#include "core/egress.h"
#include "core/landlock.h"
#include "run/clerk.h"
#include "run/ledger-plugin.h"
#include "core/profile.h"
#include "core/seccomp-policy.h"
#include "run/session.h"
#include "shared/fileio.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/strv.h"
#include "shared/units.h"

extern char **environ;

/* Signals kdc-run passes on to the box (pid 1 passes them to the agent). */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

typedef struct Session {
	const Plan *plan;
	char id[33];
	uint64_t start_usec;

	BoxProcess box;
	bool box_started;

	/* Admission (step 2) and settlement (step 10), through the clerk. */
	char tenant[LEDGER_NAME_MAX + 1];
	bool admitted;
	bool denied;
	int64_t cost; /* micro-units of plan->budget_unit */
	bool priced;
	int64_t hold_amount;	/* the worst case, held at admission */
	uint64_t hold_ttl_usec; /* 0: the ledger's default */
	char *plugin_path;	/* the ledger plugin the clerk loads */
	char *db_path;

	CgroupSession *cgroup; /* NULL: no session cgroup (degraded) */

	/* Egress (step 4). */
	EgressPlan egress_plan;
	Egress *egress; /* NULL: no programs attached */
	uint64_t egress_bytes, egress_allowed, egress_denied, egress_lost;
	uint64_t egress_unaudited; /* delivered beyond EGRESS_AUDIT_MAX */
	bool egress_unreadable;	   /* the ring could not be read: not polled again */
	bool egress_read;	   /* egress_finish() has read the last decisions */
	bool have_egress_stats;
	char **egress_lines; /* the same, formatted */
	json_t *egress_first_denials;

	/* Landlock (in the child, step 6). */
	LandlockPlan landlock;
	int landlock_enforced;
	unsigned degraded; /* Degrade bits actually taken */
	CgroupStats stats;
	bool have_stats;

	/* What we learned while watching. */
	bool timed_out;
	bool have_agent_status;
	int agent_status; /* wait status of the agent */
	bool box_alone;	  /* pid 1 said it was alone, with the CPU time (rusage) */
	int pid1_status;  /* wait status of pid 1 */
	struct rusage rusage;
	int notify_fd;	  /* seccomp violations (kill mode), -EBADF if none */
	bool notify_done; /* a violation was handled: the box is being killed */
	int violation_nr; /* the syscall that violated the policy, -1 if none */
	bool setup_failed;
	bool exec_failed;
	int error;
	char message[512];
	uint64_t end_usec;

	/* The verdict. concluded: taken, and the settlement sent (conclude()). */
	bool concluded;
	const char *reason;
	int exit_status;
	int signal;
} Session;

static struct timeval usec_timeval(uint64_t usec)
{
	return (struct timeval){.tv_sec = (time_t) (usec / USEC_PER_SEC),
				.tv_usec = (suseconds_t) (usec % USEC_PER_SEC)};
}

static uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* -vv: how long each step took since kdc-run started planning. */
static uint64_t t0_usec;
#define STEP(name) log_debug("%7.3f ms  %s", (double) (now_usec() - t0_usec) / 1000.0, name)

static int session_new_id(char ret[33])
{
	uint8_t b[16];
	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		return negative_errno();
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(ret + 2 * i, 3, "%02x", b[i]);
	return 0;
}

static const char *signal_name(int sig)
{
	const char *n = sigabbrev_np(sig);
	static char buf[16];
	if (!n) {
		snprintf(buf, sizeof(buf), "%d", sig);
		return buf;
	}
	snprintf(buf, sizeof(buf), "SIG%s", n);
	return buf;
}

static int seccomp_install_hook(const void *data)
{
	return sandbox_seccomp_install(data);
}

static int seccomp_install_listener_hook(const void *data)
{
	return sandbox_seccomp_install_listener(data);
}

/* Step 1 (end): every control the plan asks for must be applicable, or
 * listed under degrade. Controls whose enforcement this build lacks refuse
 * the run: never a silent gap. */
static SeccompOptions seccomp_options(const Plan *p)
{
	return (SeccompOptions){
	    .extra_deny = p->seccomp_deny,
	    .extra_allow = p->seccomp_allow,
	    .kill_on_violation = p->seccomp_kill,
	    .notify_on_violation = p->seccomp_kill, /* so kdc-run can name the syscall */
	    .allow_inet = true,
	};
}

static int check_controls(const Plan *p)
{
	SeccompOptions so = seccomp_options(p);
	const char *bad = NULL;
	int r;

	r = sandbox_seccomp_validate(&so, &bad);
	if (r == -EINVAL)
		return log_error("[seccomp]: unknown system call '%s'", bad);
	if (r == -EPERM)
		return log_error("[seccomp] allow: '%s' is decided by an argument rule or fixed by the policy and "
				 "cannot be opened",
				 bad);
	if (r == -EEXIST)
		return log_error("[seccomp]: '%s' is both allowed and denied", bad);
	if (r < 0)
		return log_error_errno(r, "the seccomp policy cannot be applied here: %m");
	if (p->net == NET_PROXY)
		return log_error("network mode 'proxy' needs kdc-supervisor's proxy, which this build does not "
				 "have; use '--net none'");
	if (p->net == NET_FILTERED && !egress_supported())
		return log_error("network mode 'filtered' needs the eBPF egress programs, which this build does "
				 "not have (configure --enable-bpf); use '--net none'");
	if (p->n_tools > 0)
		return log_error("the profile offers tools, which need kdc-supervisor; this build does not have "
				 "it");
	return 0;
}

static int kill_box(Session *s);
static void conclude(Session *s, Clerk *c);

#define EGRESS_AUDIT_MAX 1000 /* per session; the counters hold the rest */
#define EGRESS_DENIALS_IN_JSON 10

static void on_egress_event(const EgressEvent *ev, void *userdata)
{
	Session *s = userdata;
	_cleanup_free_ char *line = NULL;

	if (egress_event_format(ev, &line) < 0)
		return;
	if (!ev->allowed) {
		if (!s->egress_first_denials)
			s->egress_first_denials = json_array();
		if (json_array_size(s->egress_first_denials) < EGRESS_DENIALS_IN_JSON)
			json_array_append_new(s->egress_first_denials, json_string(line));
		log_info("egress: %s", line);
	} else
		log_debug("egress: %s", line);
	if (strv_length(s->egress_lines) >= EGRESS_AUDIT_MAX)
		s->egress_unaudited++;
	else if (strv_push(&s->egress_lines, line) >= 0)
		line = NULL;
}

/* Step 4: the eBPF programs on the session cgroup. 'filtered' cannot run
 * without them whatever the profile degrades: the box shares the caller's
 * network. In 'none' and 'proxy' they are a second wall and the egress byte
 * counter, attached whenever this caller can load them. */
static int setup_egress(Session *s)
{
	const Plan *p = s->plan;
	_cleanup_free_ char *why = NULL;
	_cleanup_close_ int slice_fd = -EBADF;
	int r;

	/* The system kdc.slice carries the shared programs (egress.h); any
	 * other placement loads them for this session alone. */
	if (s->cgroup)
		slice_fd = cgroup_session_open_slice(s->cgroup);

	if (p->net == NET_FILTERED) {
		if (!s->cgroup)
			return log_error("cannot use network mode 'filtered' without a session cgroup to attach the "
					 "egress programs to; run as root or through the system supervisor");
		r = egress_attach_session(&s->egress_plan, slice_fd, cgroup_session_fd(s->cgroup), 0, &s->egress);
		if (r < 0) {
			/* the probe loads the programs again: only to explain */
			(void) egress_probe(&why);
			return log_error("cannot use network mode 'filtered': %s", why ? why : strerror(-r));
		}
		log_debug("egress programs: %s", r > 0 ? "shared, on kdc.slice" : "this session's own");
		return 0;
	}
	if (!s->cgroup || !egress_supported()) {
		log_debug("no eBPF second wall: the box's own network namespace is the only one");
		return 0;
	}
	r = egress_attach_session(&s->egress_plan, slice_fd, cgroup_session_fd(s->cgroup), EGRESS_DENY_ALL, &s->egress);
	if (r == -EPERM || r == -EACCES) {
		/* this caller may not load BPF: the netns is the wall */
		log_debug("no eBPF second wall for this caller: %s", strerror(-r));
		return 0;
	}
	if (r < 0) {
		if (p->degrade & DEGRADE_EGRESS_BPF) {
			log_warning_errno(r, "no eBPF second wall (degraded by the profile): %m");
			s->degraded |= DEGRADE_EGRESS_BPF;
			return 0;
		}
		return log_error_errno(r, "cannot attach the egress programs (second wall): %m; add "
					  "'degrade = egress-bpf' to the profile to run without them");
	}
	log_debug("egress programs: %s", r > 0 ? "shared, on kdc.slice" : "this session's own");
	return 0;
}

/* Reads what the session's programs saw, once the box is dead: the last
 * decisions and the counters. The session's entry stays until egress_free()
 * (after the settlement is sent: that removal need not delay it). */
static void egress_finish(Session *s)
{
	if (!s->egress || s->egress_read)
		return;
	s->egress_read = true;
	(void) egress_consume(s->egress, on_egress_event, s);
	s->have_egress_stats = egress_stats(s->egress, &s->egress_bytes, &s->egress_allowed, &s->egress_denied) >= 0;
	/* Decisions the ring buffer had no room for are counted, not logged:
	 * say how many the audit trail lacks. */
	if (s->egress_unaudited > 0)
		log_warning("egress: %" PRIu64 " decisions beyond the first %d are counted, not audited one by one",
			    s->egress_unaudited, EGRESS_AUDIT_MAX);
	if (egress_lost(s->egress, &s->egress_lost) >= 0 && s->egress_lost > 0)
		log_warning("egress: %" PRIu64 " decisions were not delivered (ring buffer full); the counters "
			    "include them, the audit trail does not",
			    s->egress_lost);
}

/* Landlock backs the mount view: read (and execute) anywhere in the box,
 * write only where the box is writable. In 'filtered' mode it also scopes
 * abstract Unix sockets and signals to the box (the box shares the
 * caller's network namespace there). */
static int plan_landlock(Session *s)
{
	const Plan *p = s->plan;
	LandlockPlan *l = &s->landlock;
	int abi = landlock_abi();

	if (strv_extend(&l->ro_paths, "/") < 0 || strv_extend(&l->rw_paths, "/tmp") < 0 ||
	    strv_extend(&l->rw_paths, "/dev") < 0 || strv_extend(&l->rw_paths, "/proc") < 0)
		return log_oom();
	if (p->workdir && strv_extend(&l->rw_paths, "/work") < 0)
		return log_oom();
	{
		/* For the test that watches the ruleset work in a real box
		 * (20-box-fs.sh): one writable path left out of it. Testing
		 * only, like KDC_EGRESS_SHARED=0; it can only take away. */
		const char *drop = secure_getenv("KDC_TEST_LANDLOCK_RW_DROP");
		if (!isempty(drop))
			for (size_t i = 0, n = strv_length(l->rw_paths); i < n; i++)
				if (streq(l->rw_paths[i], drop)) {
					free(l->rw_paths[i]);
					memmove(l->rw_paths + i, l->rw_paths + i + 1, (n - i) * sizeof(char *));
					break;
				}
	}
	for (size_t i = 0; i < p->n_mounts; i++)
		if ((p->mounts[i].kind == MOUNT_RW || p->mounts[i].kind == MOUNT_TMPFS) &&
		    strv_extend(&l->rw_paths, p->mounts[i].dest) < 0)
			return log_oom();
	l->fs = abi > 0;
	if (p->net == NET_FILTERED) {
		l->scope_abstract_unix = l->scope_signal = true;
		l->degrade = p->degrade & DEGRADE_LANDLOCK;
		if (abi < 6) {
			if (!l->degrade)
				return log_error("cannot use network mode 'filtered': Landlock ABI %d lacks the "
						 "abstract-socket scope (ABI 6, Linux 6.12) that keeps the box off the "
						 "host's abstract sockets; add 'degrade = landlock' to accept that",
						 abi);
			log_warning("Landlock ABI %d: the box can reach the host's abstract sockets (degraded by "
				    "the profile)",
				    abi);
			s->degraded |= DEGRADE_LANDLOCK;
		}
	} else if (abi >= 6)
		l->scope_abstract_unix = l->scope_signal = true;
	if (abi <= 0 && !(p->degrade & DEGRADE_LANDLOCK) && p->net == NET_FILTERED)
		return log_error("cannot use network mode 'filtered': this kernel has no Landlock");
	return 0;
}

static int landlock_hook(const void *data)
{
	int r = landlock_apply(data);
	return r < 0 ? r : 0;
}

static const char *const limit_names[] = {"memory", "cpu", "pids"};
static const unsigned limit_bits[] = {DEGRADE_MEMORY, DEGRADE_CPU, DEGRADE_PIDS};

static bool limit_set(const Plan *p, unsigned bit)
{
	switch (bit) {
	case DEGRADE_MEMORY:
		return p->memory != LIMIT_UNSET;
	case DEGRADE_CPU:
		return p->cpu != LIMIT_UNSET;
	case DEGRADE_PIDS:
		return p->pids != LIMIT_UNSET;
	default:
		return false;
	}
}

/* Step 3: the session cgroup. Every process of the box is born in it
 * (CLONE_INTO_CGROUP), so its limits hold from the first instruction and
 * cgroup.kill reaches everything at the end. */
static int setup_cgroup(Session *s, const char *tenant)
{
	const Plan *p = s->plan;
	CgroupLimits lim = {.memory = p->memory, .swap = p->swap, .cpu_millicores = p->cpu, .pids = p->pids};
	_cleanup_free_ char *hint = NULL;
	unsigned degraded = 0;
	int r;

	r = cgroup_session_create(tenant, s->id, &lim, p->degrade, &s->cgroup, &degraded, &hint);
	if (r >= 0) {
		for (size_t i = 0; i < ARRAY_SIZE(limit_bits); i++)
			if (degraded & limit_bits[i])
				log_warning("%s limit not enforced: the session cgroup at %s has no '%s' controller "
					    "(degraded by the profile)",
					    limit_names[i], cgroup_session_path(s->cgroup), limit_names[i]);
		s->degraded |= degraded;
		return 0;
	}
	/* No session cgroup at all: acceptable only when the profile degrades
	 * it and every limit it sets. */
	if (r != -EOPNOTSUPP && (p->degrade & DEGRADE_CGROUP)) {
		for (size_t i = 0; i < ARRAY_SIZE(limit_bits); i++) {
			if (!limit_set(p, limit_bits[i]))
				continue;
			if (!(p->degrade & limit_bits[i]))
				return log_error("cannot enforce the %s limit: %s", limit_names[i],
						 hint ? hint : strerror(-r));
			s->degraded |= limit_bits[i];
		}
		s->degraded |= DEGRADE_CGROUP;
		log_warning("no session cgroup, limits not enforced (degraded by the profile): %s",
			    hint ? hint : strerror(-r));
		return 0;
	}
	snprintf(s->message, sizeof(s->message), "cannot create the session cgroup: %s", hint ? hint : strerror(-r));
	return log_error("%s", s->message);
}

/* The ledger's rule for scope names (LEDGER_NAME_MAX, [A-Za-z0-9][A-Za-z0-9._-]*),
 * checked here so a bad name is refused before anything is built. */
static bool tenant_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > LEDGER_NAME_MAX || !isalnum((unsigned char) s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char) s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

/* The ledger's path ($KDC_DB or the default), absolute; once. */
static int ledger_db_path(Session *s)
{
	int r;

	if (s->db_path)
		return 0;
	r = ledger_default_path(&s->db_path);
	if (r >= 0)
		r = ledger_path_absolute(&s->db_path);
	if (r < 0) {
		free(s->db_path);
		s->db_path = NULL;
	}
	return r;
}

/* Asks the resident ledger clerk for the login name before the profile
 * loads, when neither the command line nor $KDC_TENANT names a tenant: the
 * answer comes meanwhile (pick_tenant()). */
static void ask_login(Session *s, Clerk *c, const ProfileOverrides *o)
{
	uint64_t linger;

	if (isempty(o->tenant) && isempty(getenv("KDC_TENANT")) && clerk_linger(&linger) >= 0 && ledger_db_path(s) >= 0)
		(void) clerk_login_ask(c, s->db_path, linger);
}

/* The tenant: --tenant / the profile, else $KDC_TENANT, else the login
 * name (DESIGN.md "kdc-run admission"): from the resident ledger clerk if
 * it has answered (ask_login()), else getpwuid(3). */
static int pick_tenant(Session *s, Clerk *c)
{
	const char *t = s->plan->tenant;
	struct passwd *pw;

	if (!t)
		t = getenv("KDC_TENANT");
	if (isempty(t))
		(void) clerk_login_take(c, &t);
	if (isempty(t)) {
		pw = getpwuid(getuid());
		t = pw ? pw->pw_name : NULL;
	}
	if (isempty(t) || !tenant_name_valid(t))
		return log_error("invalid tenant '%s': names are letters, digits, '.', '_' and '-' (--tenant)",
				 t ? t : "");
	snprintf(s->tenant, sizeof(s->tenant), "%s", t);
	return 0;
}

/* Worst-case compute cost of the run, in micro-units: what the hold must
 * cover. A priced run without a wall limit has no worst case. */
static int worst_case_cost(const Plan *p, int64_t *ret)
{
	uint64_t wall_s, cores_m, v = 0, part;

	if (p->hold > 0) {
		*ret = p->hold;
		return 0;
	}
	if (!p->price_cpu_s && !p->price_wall_s) {
		*ret = 0;
		return 0;
	}
	if (p->wall_usec == LIMIT_UNSET)
		return log_error("the profile prices the run ([budget]) but sets no wall-clock limit, so its worst "
				 "case is unbounded; set [limits] wall (or --timeout), or a fixed [budget] hold");
	wall_s = (p->wall_usec + USEC_PER_SEC - 1) / USEC_PER_SEC;
	/* cpu-seconds at most wall x cores (all of the host's when unlimited) */
	cores_m = p->cpu != LIMIT_UNSET ? p->cpu : (uint64_t) sysconf(_SC_NPROCESSORS_ONLN) * 1000;
	if (__builtin_mul_overflow((uint64_t) p->price_cpu_s, wall_s, &part) ||
	    __builtin_mul_overflow(part, cores_m, &part) || __builtin_add_overflow(v, part / 1000, &v) ||
	    __builtin_mul_overflow((uint64_t) p->price_wall_s, wall_s, &part) || __builtin_add_overflow(v, part, &v) ||
	    v > INT64_MAX)
		return log_error("the worst-case cost of this run overflows; lower the prices or the limits");
	*ret = (int64_t) v;
	return 0;
}

/* Step 2: one transaction decides. A denial prints one line and the run
 * exits 123; a ledger that cannot answer denies too (fail closed), unless
 * the profile degrades 'budget'. */
/* A ledger that cannot answer: a denial (fail closed), or a warning when
 * the profile degrades 'budget'. Returns 0 or the exit status. */
static int no_admission(Session *s, const char *path, const char *why)
{
	if (s->plan->degrade & DEGRADE_BUDGET) {
		log_warning("no admission: the ledger at %s cannot answer (%s); budget not enforced "
			    "(degraded by the profile)",
			    path ? path : "?", why);
		s->degraded |= DEGRADE_BUDGET;
		return 0;
	}
	s->denied = true;
	log_error("denied: the ledger at %s cannot answer (%s)", path ? path : "?", why);
	return EXIT_DENIED;
}

/* What admission will hold: the worst case of a priced run, for its wall
 * limit plus a margin (then the hold expires). */
static int plan_admission(Session *s)
{
	const Plan *p = s->plan;

	if (worst_case_cost(p, &s->hold_amount) < 0)
		return -EINVAL;
	s->priced = s->hold_amount > 0 || p->price_cpu_s || p->price_wall_s;
	s->hold_ttl_usec = p->wall_usec != LIMIT_UNSET ? p->wall_usec + 300 * USEC_PER_SEC : 0;
	return 0;
}

/* Step 10: what the run cost, from what the cgroup (or wait4) measured. */
static int64_t actual_cost(const Session *s)
{
	const Plan *p = s->plan;
	uint64_t cpu_usec = s->have_stats
				? s->stats.cpu_usec
				: (uint64_t) (s->rusage.ru_utime.tv_sec + s->rusage.ru_stime.tv_sec) * USEC_PER_SEC +
				      (uint64_t) (s->rusage.ru_utime.tv_usec + s->rusage.ru_stime.tv_usec);
	uint64_t wall_usec = s->end_usec > s->start_usec ? s->end_usec - s->start_usec : 0;
	unsigned __int128 c = (unsigned __int128) (uint64_t) p->price_cpu_s * cpu_usec / USEC_PER_SEC +
			      (unsigned __int128) (uint64_t) p->price_wall_s * wall_usec / USEC_PER_SEC;
	return c > INT64_MAX ? INT64_MAX : (int64_t) c;
}

static void handle_msg(Session *s, const BoxMsg *m, int fd)
{
	switch (m->kind) {
	case BOX_MSG_LISTENER:
		if (s->notify_fd < 0 && fd >= 0)
			s->notify_fd = TAKE_FD(fd);
		break;
	case BOX_MSG_ERROR:
		s->setup_failed = true;
		s->error = m->error;
		snprintf(s->message, sizeof(s->message), "%s", m->msg);
		break;
	case BOX_MSG_EXEC_FAILED:
		s->exec_failed = true;
		s->error = m->error;
		snprintf(s->message, sizeof(s->message), "%s", m->msg);
		break;
	case BOX_MSG_STARTED:
		s->box_started = true;
		STEP("agent started");
		break;
	case BOX_MSG_STATUS:
		s->have_agent_status = true;
		s->agent_status = m->status;
		if (m->alone) {
			s->box_alone = true;
			s->rusage.ru_utime = usec_timeval(m->utime_usec);
			s->rusage.ru_stime = usec_timeval(m->stime_usec);
		}
		break;
	default:
		break;
	}
	safe_close(fd);
}

static void drain_msgs(Session *s)
{
	for (;;) {
		BoxMsg m;
		int fd;
		ssize_t n = box_recv_msg(s->box.msg_fd, &m, &fd, MSG_DONTWAIT);
		if (n == -EINTR)
			continue;
		if (n != (ssize_t) sizeof(m)) {
			safe_close(fd);
			return;
		}
		handle_msg(s, &m, fd);
	}
}

/* A seccomp violation in kill mode: the calling thread waits in the kernel
 * until we answer. We read which syscall it was, and end the whole box. */
static void handle_violation(Session *s)
{
	struct seccomp_notif_sizes sizes;
	_cleanup_free_ struct seccomp_notif *req = NULL;

	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0 ||
	    !(req = calloc(1, MAX(sizes.seccomp_notif, sizeof(*req)))))
		goto kill;
	if (ioctl(s->notify_fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
		if (errno == EINTR || errno == ENOENT)
			return; /* spurious, or the caller went away */
		goto kill;
	}
	if (s->violation_nr < 0)
		s->violation_nr = req->data.nr;
kill:
	(void) kill_box(s);
	/* Stop listening, but keep the listener open until pid 1 is reaped:
	 * closing it would make the waiting syscall fail with ENOSYS, and the
	 * agent could run on for a moment before the SIGKILL lands. */
	s->notify_done = true;
}

static int kill_box(Session *s)
{
	/* Every process of the session cgroup at once (cgroup.kill), and pid 1
	 * of the box: when it dies, the kernel kills the rest of its pid
	 * namespace. SIGKILL reaches stopped processes too. */
	if (s->cgroup)
		(void) cgroup_session_kill(s->cgroup);
	if (syscall(SYS_pidfd_send_signal, s->box.pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
		return negative_errno();
	return 0;
}

/* Whether the run can be concluded while pid 1 is still leaving: the agent
 * has ended and no process but pid 1 — our own code, which sends the
 * agent's status and exits — is left, so nothing of the agent's can use
 * more CPU, memory or network. With a session cgroup, its cgroup.procs
 * says so; without one, pid 1 did (it had no child left), with the CPU
 * time of all it reaped. pid 1's exit then tears the box's namespaces
 * down (its mounts, an RCU grace period), and the clerk settles meanwhile.
 * Otherwise the run is concluded once pid 1 is reaped. */
static bool agent_done(Session *s)
{
	if (!s->have_agent_status || s->concluded)
		return false;
	if (s->cgroup)
		return cgroup_session_only(s->cgroup, s->box.pid) > 0;
	return s->box_alone;
}

/* Step 9: one poll loop until pid 1 of the box is gone; the run is
 * concluded (conclude()) as soon as agent_done() says so. */
static int watch(Session *s, Clerk *c, const sigset_t *sigs)
{
	_cleanup_close_ int sfd = signalfd(-1, sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	_cleanup_close_ int tfd = -EBADF;
	bool msg_open = true;

	if (sfd < 0)
		return log_error_errno(negative_errno(), "cannot watch signals: %m");
	if (s->plan->wall_usec != LIMIT_UNSET) {
		/* From the session's start, not from now: the clone and the
		 * admission count against the wall clock too. */
		uint64_t deadline = s->start_usec + s->plan->wall_usec;
		struct itimerspec its = {
		    .it_value.tv_sec = (time_t) (deadline / USEC_PER_SEC),
		    .it_value.tv_nsec = (long) (deadline % USEC_PER_SEC) * 1000,
		};
		tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (tfd < 0 || timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
			return log_error_errno(negative_errno(), "cannot arm the wall-clock timer: %m");
	}

	for (;;) {
		struct pollfd pfd[6] = {
		    {.fd = s->box.pidfd, .events = POLLIN},
		    {.fd = sfd, .events = POLLIN},
		    {.fd = msg_open ? s->box.msg_fd : -1, .events = POLLIN},
		    {.fd = tfd, .events = POLLIN},
		    {.fd = s->notify_done ? -1 : s->notify_fd, .events = POLLIN},
		    {.fd = s->egress && !s->egress_unreadable ? egress_event_fd(s->egress) : -1, .events = POLLIN},
		};

		if (poll(pfd, ARRAY_SIZE(pfd), -1) < 0) {
			if (errno == EINTR)
				continue;
			return log_error_errno(negative_errno(), "poll failed: %m");
		}
		if (pfd[2].revents) {
			BoxMsg m;
			int fd;
			ssize_t n = box_recv_msg(s->box.msg_fd, &m, &fd, MSG_DONTWAIT);
			if (n == (ssize_t) sizeof(m))
				handle_msg(s, &m, fd);
			else {
				safe_close(fd);
				if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR))
					msg_open = false;
			}
			if (agent_done(s))
				conclude(s, c);
		}
		/* A ring that polls readable but cannot be read would keep this
		 * loop spinning until the box ends: read it once, then leave it
		 * to the counters. */
		if (pfd[5].revents) {
			int k = egress_consume(s->egress, on_egress_event, s);
			if (k < 0) {
				log_warning_errno(k, "egress: cannot read the box's decisions: %m; they are counted, "
						     "not audited one by one");
				s->egress_unreadable = true;
			}
		}
		if (s->notify_fd >= 0 && !s->notify_done && pfd[4].revents) {
			if (pfd[4].revents & POLLIN)
				handle_violation(s);
			else
				s->notify_fd = safe_close(s->notify_fd); /* no process left with the filter */
		}
		if (pfd[1].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				log_debug("forwarding %s to the box", signal_name((int) si.ssi_signo));
				(void) syscall(SYS_pidfd_send_signal, s->box.pidfd, (int) si.ssi_signo, NULL, 0);
			}
		}
		if (tfd >= 0 && pfd[3].revents) {
			uint64_t ticks;
			(void) read(tfd, &ticks, sizeof(ticks));
			s->timed_out = true;
			(void) kill_box(s);
			tfd = safe_close(tfd);
		}
		if (pfd[0].revents) {
			struct rusage ru;
			int status;
			if (wait4(s->box.pid, &status, 0, &ru) < 0)
				return log_error_errno(negative_errno(), "cannot wait for the box: %m");
			s->pid1_status = status;
			if (!s->concluded) { /* else the figures were taken at the agent's end */
				s->rusage = ru;
				s->end_usec = now_usec();
			}
			drain_msgs(s);
			s->notify_fd = safe_close(s->notify_fd);
			return 0;
		}
	}
}

/* Step 10: the verdict, from what was seen (DESIGN.md's table). */
static void decide(Session *s)
{
	char buf[64];

	if (s->setup_failed) {
		s->reason = "error";
		s->exit_status = EXIT_ERROR;
		log_error("cannot set up the box: %s", s->message);
		return;
	}
	if (s->timed_out) {
		s->reason = "timeout";
		s->exit_status = EXIT_TIMEOUT;
		log_notice("killed: timeout %s reached", units_format_duration(buf, sizeof(buf), s->plan->wall_usec));
		return;
	}
	if (s->have_stats && s->stats.memory_events_oom_kill > 0) {
		s->reason = "memory";
		s->exit_status = EXIT_MEMORY;
		if (s->have_agent_status && WIFSIGNALED(s->agent_status))
			s->signal = WTERMSIG(s->agent_status);
		log_notice("killed: memory limit %s reached (oom_kill)",
			   units_format_size(buf, sizeof(buf), s->plan->memory));
		return;
	}
	if (s->exec_failed) {
		s->reason = s->error == -ENOENT ? "not-found" : "cannot-execute";
		s->exit_status = s->error == -ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
		log_error("%s", s->message);
		return;
	}
	if (s->violation_nr >= 0) {
		/* kill mode: the box was ended at the violating syscall */
		s->reason = "seccomp";
		s->exit_status = EXIT_SECCOMP;
		s->signal = SIGSYS;
		log_notice("killed: seccomp violation: %s (syscall %d)", sandbox_seccomp_syscall_name(s->violation_nr),
			   s->violation_nr);
		return;
	}
	if (s->have_agent_status && WIFSIGNALED(s->agent_status)) {
		s->signal = WTERMSIG(s->agent_status);
		if (s->signal == SIGSYS) {
			/* the filter's own kill (foreign architecture, x32) */
			s->reason = "seccomp";
			s->exit_status = EXIT_SECCOMP;
			log_notice("killed: seccomp violation (SIGSYS)");
			return;
		}
		s->reason = "signaled";
		s->exit_status = 128 + s->signal;
		log_notice("killed: agent received %s", signal_name(s->signal));
		return;
	}
	if (s->have_agent_status && WIFEXITED(s->agent_status)) {
		s->exit_status = WEXITSTATUS(s->agent_status);
		if (s->exit_status != 0 && s->have_stats && s->stats.pids_events_max > 0) {
			/* the agent failed after forks were refused at pids.max */
			s->reason = "pids";
			log_notice("exited: status %d after reaching the pids limit %" PRIu64 " (%" PRIu64
				   " forks refused)",
				   s->exit_status, s->plan->pids, s->stats.pids_events_max);
			return;
		}
		s->reason = "exited";
		log_notice("exited: status %d", s->exit_status);
		return;
	}
	/* pid 1 ended without telling us about the agent: killed from
	 * outside the box. */
	if (WIFSIGNALED(s->pid1_status)) {
		s->signal = WTERMSIG(s->pid1_status);
		s->reason = "signaled";
		s->exit_status = 128 + s->signal;
		log_notice("killed: the box received %s", signal_name(s->signal));
		return;
	}
	s->reason = "error";
	s->exit_status = EXIT_ERROR;
	log_error("the box ended before the agent reported a status (pid 1 status %d)",
		  WIFEXITED(s->pid1_status) ? WEXITSTATUS(s->pid1_status) : -1);
}

static double tv_seconds(const struct timeval *tv)
{
	return (double) tv->tv_sec + (double) tv->tv_usec / 1e6;
}

static int write_json_status(const Session *s, const char *path)
{
	json_t *o = json_object();
	char *text;
	int r;

	if (!o)
		return log_oom();
	json_object_set_new(o, "session", json_string(s->id));
	json_object_set_new(o, "reason", json_string(s->reason));
	json_object_set_new(o, "exit_status", json_integer(s->exit_status));
	json_object_set_new(o, "signal", s->signal ? json_string(signal_name(s->signal)) : json_null());
	json_object_set_new(o, "wall_seconds",
			    json_real(s->end_usec > s->start_usec ? (double) (s->end_usec - s->start_usec) / 1e6 : 0));
	if (s->have_stats) {
		/* The session cgroup saw every process of the box. */
		json_object_set_new(o, "cpu_seconds", json_real((double) s->stats.cpu_usec / 1e6));
		json_object_set_new(o, "memory_peak",
				    s->stats.has_memory ? json_integer((json_int_t) s->stats.memory_peak)
							: json_null());
		json_object_set_new(o, "pids_peak",
				    s->stats.has_pids ? json_integer((json_int_t) s->stats.pids_peak) : json_null());
		json_object_set_new(o, "throttled_seconds",
				    s->stats.has_cpu ? json_real((double) s->stats.throttled_usec / 1e6) : json_null());
		json_object_set_new(o, "oom_kills", json_integer((json_int_t) s->stats.memory_events_oom_kill));
		json_object_set_new(o, "pids_max_events", json_integer((json_int_t) s->stats.pids_events_max));
	} else {
		/* No cgroup: what wait4() knows (pid 1 and what it reaped). */
		json_object_set_new(o, "cpu_seconds",
				    json_real(tv_seconds(&s->rusage.ru_utime) + tv_seconds(&s->rusage.ru_stime)));
		json_object_set_new(o, "memory_peak", json_null());
		json_object_set_new(o, "pids_peak", json_null());
		json_object_set_new(o, "throttled_seconds", json_null());
	}
	{
		json_t *d = json_array();
		for (unsigned bit = 1; bit && bit <= DEGRADE_ALL; bit <<= 1)
			if (s->degraded & bit)
				json_array_append_new(d, json_string(degrade_to_string(bit)));
		json_object_set_new(o, "degraded", d);
	}
	json_object_set_new(o, "egress_bytes",
			    s->have_egress_stats ? json_integer((json_int_t) s->egress_bytes) : json_null());
	json_object_set_new(o, "egress_allowed",
			    s->have_egress_stats ? json_integer((json_int_t) s->egress_allowed) : json_null());
	json_object_set_new(o, "egress_denied",
			    s->have_egress_stats ? json_integer((json_int_t) s->egress_denied) : json_null());
	json_object_set_new(o, "egress_lost",
			    s->have_egress_stats ? json_integer((json_int_t) s->egress_lost) : json_null());
	json_object_set_new(o, "egress_first_denials",
			    s->egress_first_denials ? json_incref(s->egress_first_denials) : json_array());
	json_object_set_new(o, "network", json_string(net_mode_to_string(s->plan->net)));
	if (s->priced) {
		char b[64];
		json_object_set_new(
		    o, "cost",
		    json_string(units_format_amount(b, sizeof(b), s->cost,
						    s->plan->budget_unit[0] ? s->plan->budget_unit : "USD")));
	} else
		json_object_set_new(o, "cost", json_null());
	json_object_set_new(o, "tenant", s->tenant[0] ? json_string(s->tenant) : json_null());
	json_object_set_new(o, "profile", json_string(s->plan->profile_name ? s->plan->profile_name : "default"));
	if (s->message[0])
		json_object_set_new(o, "message", json_string(s->message));
	if (s->violation_nr >= 0)
		json_object_set_new(o, "syscall", json_string(sandbox_seccomp_syscall_name(s->violation_nr)));
	text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	if (!text)
		return log_oom();
	{
		size_t n = strlen(text);
		char *t2 = realloc(text, n + 2);
		if (!t2) {
			free(text);
			return log_oom();
		}
		text = t2;
		text[n] = '\n';
		text[n + 1] = 0;
	}
	r = write_file_atomic(path, text, strlen(text), 0644);
	free(text);
	if (r < 0)
		return log_error_errno(r, "cannot write --json-status file '%s': %m", path);
	return 0;
}

/* Step 2 through the clerk (clerk.h): asks a resident one of this ledger,
 * or forks one, right after the plan. Returns 0, or the exit status. */
static int start_clerk(Session *s, Clerk *c, const char *command)
{
	const Plan *p = s->plan;
	uint64_t linger;
	int r;

	if (clerk_linger(&linger) < 0)
		return log_error("invalid $KDC_LEDGER_LINGER '%s': a duration such as 30s, or 0",
				 getenv("KDC_LEDGER_LINGER")),
		       EXIT_ERROR;
	r = ledger_db_path(s);
	if (r < 0) {
		r = no_admission(s, NULL, r == -ENXIO ? "no home directory for the default ledger path" : strerror(-r));
		return r > 0 ? r : 0;
	}
	r = clerk_begin(c,
			&(ClerkAdmit){
			    .db_path = s->db_path,
			    .plugin_path = s->plugin_path,
			    .tenant = s->tenant,
			    .project = p->project,
			    .user = p->user,
			    .session_id = s->id,
			    .unit = p->budget_unit[0] ? p->budget_unit : "USD",
			    .command = command,
			    .net = net_mode_to_string(p->net),
			    .hold_amount = s->hold_amount,
			    .hold_ttl_usec = s->hold_ttl_usec,
			},
			linger);
	if (r < 0) {
		log_error_errno(r, "cannot start the ledger clerk: %m");
		return EXIT_ERROR;
	}
	return 0;
}

/* The admission's answer (waits for it once). */
static int clerk_admission(Session *s, Clerk *c)
{
	int r;

	if (c->fd < 0 && !c->answered)
		return 0; /* no clerk: no plugin, and the profile degrades budget */
	if (c->answered)
		return c->r;
	r = clerk_answer(c);
	s->admitted = c->admitted;
	s->denied = c->denied;
	if (c->unanswered) {
		c->r = r = no_admission(s, s->db_path, c->unanswered);
		s->denied = r > 0;
	}
	return r;
}

/* Step 10 through the clerk: post the actual cost, release the rest of the
 * hold, record the session and its egress decisions. */
static void settle(Session *s, Clerk *c, bool wait)
{
	const char *degraded[32];
	size_t n = 0;

	for (unsigned bit = 1; bit && bit <= DEGRADE_ALL && n + 1 < ARRAY_SIZE(degraded); bit <<= 1)
		if (s->degraded & bit)
			degraded[n++] = degrade_to_string(bit);
	degraded[n] = NULL;
	(void) clerk_admission(s, c);
	if (s->admitted)
		s->cost = actual_cost(s);
	(wait ? clerk_settle
	      : clerk_settle_send)(c, &(ClerkSettle){
					  .reason = s->reason,
					  .exit_status = s->exit_status,
					  .actual = s->cost,
					  .wall_usec = s->end_usec > s->start_usec ? s->end_usec - s->start_usec : 0,
					  .cpu_usec = s->have_stats ? s->stats.cpu_usec : 0,
					  .memory_peak = s->have_stats ? s->stats.memory_peak : 0,
					  .pids_peak = s->have_stats ? s->stats.pids_peak : 0,
					  .egress_bytes = s->have_egress_stats ? s->egress_bytes : 0,
					  .egress_lines = s->egress_lines,
					  .degraded = (char *const *) degraded,
				      });
}

/* The run's end, once nothing of the agent's can change it: the egress
 * decisions, what the cgroup saw, the verdict; then the settlement goes to
 * the clerk, whose transaction (fsync included) runs while the box is torn
 * down and the cgroup removed. */
static void conclude(Session *s, Clerk *c)
{
	egress_finish(s);
	STEP("egress read");
	if (!s->end_usec)
		s->end_usec = now_usec();
	if (s->cgroup)
		s->have_stats = cgroup_session_stats(s->cgroup, &s->stats) >= 0;
	decide(s);
	s->concluded = true;
	STEP("verdict");
	settle(s, c, false);
}

/* --json-status for a run that ended before it had a plan: every end writes
 * the object (DESIGN.md), even this one. */
static int write_json_early(const char *path, const char *message)
{
	json_t *o = json_pack("{s:s, s:i, s:n, s:s}", "reason", "error", "exit_status", EXIT_ERROR, "session",
			      "message", message);
	_cleanup_free_ char *text = NULL;
	int r;

	if (!o)
		return log_oom();
	text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	if (!text)
		return log_oom();
	r = write_file_atomic(path, text, strlen(text), 0644);
	if (r < 0)
		return log_error_errno(r, "cannot write --json-status file '%s': %m", path);
	return 0;
}

/* Ends a session that did not get as far as running the agent. */
static int fail(Session *s, const char *reason, int status)
{
	s->reason = reason;
	s->exit_status = status;
	return status;
}

int session_main(const char *profile, const ProfileOverrides *o, bool print_profile, bool dry_run,
		 const char *json_status)
{
	_cleanup_plan_free_ Plan *plan = NULL;
	_cleanup_free_ char *error = NULL, *command = NULL;
	_cleanup_strv_free_ char **envp = NULL;
	_cleanup_seccomp_program_free_ SeccompProgram *seccomp = NULL;
	Session s = {.box = {.pidfd = -EBADF, .msg_fd = -EBADF}, .notify_fd = -EBADF, .violation_nr = -1};
	Clerk clerk = CLERK_INIT;
	BoxConfig c = {.cgroup_fd = -EBADF};
	BoxError err = {0};
	sigset_t sigs;
	int r, egress_r;

	/* 1. Plan: everything validated, unprivileged, before anything is
	 *    created. */
	t0_usec = now_usec();
	if (!print_profile && !dry_run)
		ask_login(&s, &clerk, o);
	r = profile_load(profile, o, &plan, &error);
	STEP("profile loaded");
	if (r < 0) {
		log_error("%s", error ? error : strerror(-r));
		if (json_status)
			(void) write_json_early(json_status, error ? error : strerror(-r));
		return EXIT_ERROR;
	}
	if (print_profile) {
		r = profile_print(plan, stdout);
		if (r < 0) {
			log_error_errno(r, "cannot print the profile: %m");
			return EXIT_ERROR;
		}
		if (plan->allow && plan->net == NET_FILTERED) {
			/* names are resolved now and pinned for the run */
			_cleanup_free_ char *bad = NULL, *text = NULL;
			EgressPlan ep = {0};
			r = egress_plan_parse(plan->allow, &ep, &bad);
			if (r < 0) {
				log_error("[network] allow: '%s': %s", bad ? bad : "?", egress_plan_why(r));
				return EXIT_ERROR;
			}
			r = egress_plan_format(&ep, &text);
			egress_plan_done(&ep);
			if (r < 0)
				return EXIT_ERROR;
			printf("\n; egress allowlist, resolved now and pinned for the run:\n");
			for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n"))
				printf(";   %s\n", l);
		}
		return 0;
	}
	if (check_controls(plan) < 0) {
		if (json_status)
			(void) write_json_early(json_status, "a control of the plan cannot be applied (see stderr)");
		return EXIT_ERROR;
	}
	STEP("plan");
	if (dry_run) {
		log_info("plan is valid; not running (--dry-run)");
		return 0;
	}

	s.plan = plan;
	s.start_usec = now_usec();
	if (plan->net == NET_FILTERED) {
		/* Part of the plan: the names are resolved and pinned now, and
		 * a list that cannot be applied refuses the run before the
		 * ledger hears of it. */
		_cleanup_free_ char *bad = NULL;
		r = egress_plan_parse(plan->allow, &s.egress_plan, &bad);
		if (r < 0) {
			log_error("[network] allow: '%s': %s", bad ? bad : "?", egress_plan_why(r));
			fail(&s, "error", EXIT_ERROR);
			goto finish;
		}
	}
	/* Landlock too is decided with the plan: a kernel without the scope
	 * that filtered mode needs refuses the run before the ledger hears
	 * of it. */
	if (plan_landlock(&s) < 0) {
		fail(&s, "error", EXIT_ERROR);
		goto finish;
	}
	r = session_new_id(s.id);
	if (r < 0) {
		log_error_errno(r, "cannot create a session id: %m");
		fail(&s, "error", EXIT_ERROR);
		goto finish;
	}
	command = strv_join(plan->argv, " ");
	if (!command || box_build_env(plan, environ, &envp) < 0) {
		log_oom();
		fail(&s, "error", EXIT_ERROR);
		goto finish;
	}

	if (pick_tenant(&s, &clerk) < 0) {
		fail(&s, "error", EXIT_ERROR);
		goto finish;
	}
	STEP("tenant");

	/* Signals we forward arrive through a signalfd; the agent starts
	 * with the mask we were given. */
	sigemptyset(&sigs);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&sigs, forwarded[i]);
	if (sigprocmask(SIG_BLOCK, &sigs, &c.agent_mask) < 0) {
		log_error_errno(negative_errno(), "cannot block signals: %m");
		fail(&s, "error", EXIT_ERROR);
		goto finish;
	}

	/* 2. Admit, in the ledger clerk, while we build the box (departure
	 *    from DESIGN.md's order: the box is built before admission is
	 *    known; nothing of the agent runs before it). kdc-run has no
	 *    threads: fork (and clone3 below) copy no lock held by another. */
	if (plan_admission(&s) < 0) {
		fail(&s, "error", EXIT_ERROR);
		goto finish;
	}
	{
		/* No plugin, no clerk: the ledger cannot answer, known now. */
		_cleanup_free_ char *why = NULL;
		r = ledger_plugin_find(&s.plugin_path, &why);
		if (r < 0) {
			r = no_admission(&s, NULL, why ? why : strerror(-r));
			if (r > 0) {
				fail(&s, "denied", r);
				goto finish;
			}
		} else {
			r = start_clerk(&s, &clerk, command);
			if (r > 0) {
				fail(&s, "error", r);
				goto finish;
			}
		}
	}
	STEP("ledger asked");

	/* The filter is built (or read from the cache) before clone, so the
	 * child only has to install it. */
	{
		SeccompOptions so = seccomp_options(plan);
		r = sandbox_seccomp_build(&so, &seccomp);
		if (r < 0) {
			log_error_errno(r, "cannot build the seccomp filter: %m");
			fail(&s, "error", EXIT_ERROR);
			goto finish;
		}
		c.seccomp_listener = plan->seccomp_kill;
		c.seccomp_install = c.seccomp_listener ? seccomp_install_listener_hook : seccomp_install_hook;
		c.seccomp_data = seccomp;
	}

	STEP("seccomp filter");
	/* 3. Cgroup, under the admitted tenant. */
	if (setup_cgroup(&s, s.tenant) < 0) {
		fail(&s, "error", EXIT_ERROR);
		goto finish;
	}
	c.cgroup_fd = s.cgroup ? cgroup_session_fd(s.cgroup) : -EBADF;
	c.report_alone = !s.cgroup;

	STEP("cgroup");
	c.landlock_apply = landlock_hook;
	c.landlock_data = &s.landlock;

	c.plan = plan;
	c.envp = envp;
	c.wait_for_go = true;
	c.new_netns = plan->net != NET_FILTERED;
	c.uid = getuid();
	c.gid = getgid();

	/* 6. Clone. */
	r = box_spawn(&c, &s.box, &err);
	if (r < 0) {
		log_error("%s", err.msg);
		if (r == -EPERM || r == -ENOSPC || r == -EUSERS)
			log_error("hint: unprivileged user namespaces may be disabled here; run '%s doctor'",
				  log_program());
		fail(&s, "error", EXIT_ERROR);
		goto finish;
	}

	STEP("clone");

	/* 4. Register the session with the egress programs (or attach its
	 *    own), here, while the child builds the box and the clerk admits:
	 *    this thread has nothing else to do until the clerk answers. Only
	 *    pid 1, our own code, runs in the cgroup before GO, and GO waits
	 *    for both. */
	egress_r = setup_egress(&s) < 0 ? EXIT_ERROR : 0;
	STEP("egress");
	r = clerk_admission(&s, &clerk); /* a denial says more than an egress failure */
	STEP("admitted");
	if (r == 0)
		r = egress_r;
	if (r == 0)
		r = box_go(&s.box) < 0 ? EXIT_ERROR : 0;
	if (r > 0) {
		(void) kill_box(&s);
		(void) waitpid(s.box.pid, NULL, 0);
		box_process_done(&s.box);
		fail(&s, s.denied ? "denied" : "error", r);
		goto finish;
	}

	/* 9. Watch. */
	r = watch(&s, &clerk, &sigs);
	if (r < 0) {
		(void) kill_box(&s);
		(void) waitpid(s.box.pid, NULL, 0);
		box_process_done(&s.box);
		if (!s.concluded) /* else the verdict stands, and was sent */
			fail(&s, "error", EXIT_ERROR);
		goto finish;
	}
	box_process_done(&s.box);

	STEP("box ended");
	if (!s.concluded)
		conclude(&s, &clerk);
	/* Then nothing may remain: the session's egress entry, and the
	 * cgroup (kill, wait, remove). */
	egress_free(TAKE_PTR(s.egress));
	if (s.cgroup) {
		r = cgroup_session_destroy(TAKE_PTR(s.cgroup));
		if (r < 0)
			log_warning_errno(r, "cannot remove the session cgroup: %m");
	}

finish:
	/* 10. Settle: post the actual cost, release the rest of the hold,
	 *     record the session and the egress decisions; then the result
	 *     for machines. */
	r = clerk_admission(&s, &clerk);
	if (r > 0 && !s.reason)
		fail(&s, s.denied ? "denied" : "error", r);
	egress_finish(&s);
	egress_free(TAKE_PTR(s.egress));
	if (s.cgroup)
		(void) cgroup_session_destroy(TAKE_PTR(s.cgroup));
	if (!s.end_usec)
		s.end_usec = now_usec();
	STEP("cgroup removed");
	settle(&s, &clerk, true);
	STEP("settled");
	r = 0;
	if (json_status && write_json_status(&s, json_status) < 0)
		r = s.exit_status ? s.exit_status : EXIT_ERROR;
	egress_plan_done(&s.egress_plan);
	free(s.plugin_path);
	free(s.db_path);
	strv_free(s.egress_lines);
	strv_free(s.landlock.ro_paths);
	strv_free(s.landlock.rw_paths);
	json_decref(s.egress_first_denials);
	return r ? r : s.exit_status;
}
