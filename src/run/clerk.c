/* SPDX-License-Identifier: MIT */
/* The ledger clerk (clerk.h): the kdc-run side (clerk_begin, clerk_answer,
 * clerk_settle) and the clerk itself (clerk_serve), which is a fork of
 * kdc-run that has loaded the ledger plugin.
 *
 * Why a clerk that stays: loading SQLite and libcrypto, opening the ledger
 * and one fsync'ed transaction cost a fresh process ~6 ms and ~9 ms of CPU
 * (most of it libcrypto's relocations), more than half of what the whole
 * sandbox costs to start. A clerk that is already running answers in one
 * round trip and one transaction.
 *
 * Who may talk to it: its socket sits beside the database, in the ledger's
 * own 0700 directory (never mounted into a box), and the clerk accepts only
 * peers of its own uid in its own user namespace (a box has its own), so
 * an agent cannot reach it even through a bind mount of that directory. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/ledger.h"
#include "run/clerk.h"
#include "run/ledger-plugin.h"
#include "run/session.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/strv.h"
#include "shared/units.h"

static void *mfree(void *p)
{
	free(p);
	return NULL;
}

#define CLERK_PROTOCOL 1
#define CLERK_MSG_MAX (16u << 20) /* a command line is at most a few MiB */
#define CLERK_CHECK_MSEC 2000	  /* how often an idle clerk looks at its socket */
#define CLERK_READ_TIMEOUT_SEC 10 /* a client sends whole requests */
#define CLERK_MAX_CONNS 256
#define CLERK_LINGER_DEFAULT_USEC (30 * USEC_PER_SEC)
#define CLERK_EGRESS_LINES_MAX 1000		 /* kdc-run keeps no more per session */
#define CLERK_SLICE_NSEC 100000			 /* EEVDF's shortest time slice (0.1 ms) */
#define CLERK_LOGIN_TTL_USEC (60 * USEC_PER_SEC) /* nscd keeps a passwd entry 600 s */
#define CLERK_LOGIN_WAIT_MSEC 5			 /* for an answer that has not come yet */

static uint64_t clock_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static char *argv_area;
static size_t argv_area_size;

void clerk_remember_argv(int argc, char **argv)
{
	if (argc < 1)
		return;
	/* the strings lie one after the other: use them while they do */
	argv_area = argv[0];
	argv_area_size = strlen(argv[0]) + 1;
	for (int i = 1; i < argc && argv[i] == argv_area + argv_area_size; i++)
		argv_area_size += strlen(argv[i]) + 1;
}

static void set_title(const char *db_path)
{
	(void) prctl(PR_SET_NAME, "kdc-clerk");
	if (!argv_area || argv_area_size < 2)
		return;
	memset(argv_area, 0, argv_area_size);
	snprintf(argv_area, argv_area_size, "kdc-run: ledger clerk for %s", db_path);
}

int clerk_linger(uint64_t *ret_usec)
{
	const char *e = getenv("KDC_LEDGER_LINGER");

	if (isempty(e)) {
		*ret_usec = CLERK_LINGER_DEFAULT_USEC;
		return 0;
	}
	return units_parse_duration(e, false, ret_usec);
}

/* ---- Messages: a 32-bit length, then that many bytes of JSON ----------- */

/* The length and the text in one sendmsg(2): the peer wakes once for a
 * whole message, not once for its length and again for its text (each
 * wakeup a context switch on the critical path of a run). */
static int write_msg(int fd, const void *head, size_t head_size, const void *body, size_t body_size)
{
	struct iovec iov[2] = {{(void *) head, head_size}, {(void *) body, body_size}}, *v = iov;
	size_t left = head_size + body_size;
	int n_iov = 2;

	while (left > 0) {
		ssize_t n = sendmsg(fd, &(struct msghdr){.msg_iov = v, .msg_iovlen = (size_t) n_iov}, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		left -= (size_t) n;
		while (n_iov > 0 && (size_t) n >= v->iov_len) {
			n -= (ssize_t) v->iov_len;
			v++;
			n_iov--;
		}
		if (n_iov > 0) {
			v->iov_base = (char *) v->iov_base + n;
			v->iov_len -= (size_t) n;
		}
	}
	return 0;
}

/* -EPIPE: the peer closed before the first byte. */
static int read_all(int fd, void *buf, size_t size)
{
	char *p = buf;
	size_t got = 0;

	while (got < size) {
		ssize_t n = recv(fd, p + got, size - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			return got == 0 ? -EPIPE : -EBADMSG;
		got += (size_t) n;
	}
	return 0;
}

static int msg_send(int fd, const json_t *o)
{
	_cleanup_free_ char *text = json_dumps(o, JSON_COMPACT);
	uint32_t n;

	if (!text)
		return -ENOMEM;
	n = (uint32_t) strlen(text);
	return write_msg(fd, &n, sizeof(n), text, n);
}

static int msg_recv(int fd, json_t **ret)
{
	_cleanup_free_ char *buf = NULL;
	uint32_t n;
	json_t *o;
	int r;

	r = read_all(fd, &n, sizeof(n));
	if (r < 0)
		return r;
	if (n == 0 || n > CLERK_MSG_MAX)
		return -EBADMSG;
	buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	r = read_all(fd, buf, n);
	if (r < 0)
		return r == -EPIPE ? -EBADMSG : r;
	o = json_loadb(buf, n, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return -EBADMSG;
	}
	*ret = o;
	return 0;
}

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int64_t jint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* ---- Where the resident clerk listens ---------------------------------- */

/* "<db>-clerk", through /proc/self/fd when the path is longer than a
 * socket address holds. *dir_fd keeps that directory open meanwhile. */
static int clerk_address(const char *db_path, const char *suffix, struct sockaddr_un *ret, int *dir_fd)
{
	_cleanup_free_ char *dir = NULL;
	const char *base = strrchr(db_path, '/');
	int n;

	*ret = (struct sockaddr_un){.sun_family = AF_UNIX};
	*dir_fd = -EBADF;
	n = snprintf(ret->sun_path, sizeof(ret->sun_path), "%s-clerk%s", db_path, suffix);
	if (n > 0 && (size_t) n < sizeof(ret->sun_path))
		return 0;
	if (!base || base == db_path)
		return -ENAMETOOLONG;
	dir = strndup(db_path, (size_t) (base - db_path));
	if (!dir)
		return -ENOMEM;
	*dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dir_fd < 0)
		return negative_errno();
	n = snprintf(ret->sun_path, sizeof(ret->sun_path), "/proc/self/fd/%d/%s-clerk%s", *dir_fd, base + 1, suffix);
	if (n < 0 || (size_t) n >= sizeof(ret->sun_path)) {
		*dir_fd = safe_close(*dir_fd);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* What a clerk must share with its client to serve it: the protocol, the
 * very kdc-run binary and ledger plugin (a new build forks a new clerk),
 * the ledger, and the environment the ledger reads when it is opened. */
static char *clerk_identity(const ClerkAdmit *req)
{
	struct stat exe = {0}, plugin = {0};
	char *id;
	const char *busy = getenv("KDC_LEDGER_BUSY_TIMEOUT"), *now = getenv("KDC_LEDGER_FAKE_NOW");

	(void) stat("/proc/self/exe", &exe);
	(void) stat(req->plugin_path, &plugin);
	if (asprintf(&id,
		     "%d exe=%" PRIu64 ":%" PRIu64 ":%" PRIi64 ".%09ld plugin=%s:%" PRIu64 ":%" PRIu64 ":%" PRIi64
		     ".%09ld db=%s busy=%s now=%s",
		     CLERK_PROTOCOL, (uint64_t) exe.st_dev, (uint64_t) exe.st_ino, (int64_t) exe.st_mtim.tv_sec,
		     exe.st_mtim.tv_nsec, req->plugin_path, (uint64_t) plugin.st_dev, (uint64_t) plugin.st_ino,
		     (int64_t) plugin.st_mtim.tv_sec, plugin.st_mtim.tv_nsec, req->db_path, busy ? busy : "",
		     now ? now : "") < 0)
		return NULL;
	return id;
}

/* What a clerk must share with kdc-ledger to serve its holds and posts: the
 * protocol, the ledger's code (this package's version and plugin table),
 * the ledger, and the environment the ledger reads when it is opened.
 * kdc-ledger is another binary than the kdc-run the clerk is a copy of:
 * the binaries are not compared. */
static char *ledger_identity(const char *db_path)
{
	const char *busy = getenv("KDC_LEDGER_BUSY_TIMEOUT"), *now = getenv("KDC_LEDGER_FAKE_NOW");
	char *id;

	if (asprintf(&id, "%d ledger %s plugin=%d db=%s busy=%s now=%s", CLERK_PROTOCOL, PACKAGE_VERSION,
		     LEDGER_PLUGIN_VERSION, db_path, busy ? busy : "", now ? now : "") < 0)
		return NULL;
	return id;
}

/* ---- The clerk --------------------------------------------------------- */

typedef struct Conn {
	int fd;
	json_t *admit; /* the admission request, once admitted */
	bool admitted;
} Conn;

typedef struct Server {
	char *identity, *db_path, *plugin_path;
	char *ledger_identity; /* of kdc-ledger's requests (ledger_identity()) */
	uint64_t linger_usec;
	const LedgerPlugin *lp;
	char *load_error;
	Ledger *ledger;
	dev_t db_dev;
	ino_t db_ino;

	int listen_fd;
	bool tried_listen;
	ino_t sock_ino; /* the socket file we bound, to see when it is replaced */
	Conn conns[CLERK_MAX_CONNS];
	size_t n_conns;
	uint64_t idle_since;
	char *login; /* the login name of our uid, looked up at login_usec */
	uint64_t login_usec;
	bool in_group;	    /* serving a group commit (serve_ready()) */
	bool reopen_ledger; /* a request failed in the group: close the ledger after it */
} Server;

static void collect_line(int level, const char *line, void *userdata)
{
	json_array_append_new(userdata, json_pack("[is]", level, line));
}

/* The ledger, opened (again, if the file at its path is not the one we
 * have open: removed and made anew). */
static int server_ledger(Server *srv, const char **ret_why)
{
	struct stat st;
	int r;

	*ret_why = NULL;
	if (!srv->lp) {
		r = ledger_plugin_load(srv->plugin_path, &srv->lp, &srv->load_error);
		if (r < 0) {
			*ret_why = srv->load_error;
			return r;
		}
	}
	if (srv->ledger && !srv->in_group &&
	    (stat(srv->db_path, &st) < 0 || st.st_dev != srv->db_dev || st.st_ino != srv->db_ino))
		srv->lp->close(TAKE_PTR(srv->ledger));
	if (!srv->ledger) {
		r = srv->lp->open(srv->db_path, &srv->ledger);
		if (r < 0) {
			if (srv->ledger)
				*ret_why = srv->lp->errmsg(srv->ledger);
			return r;
		}
		if (stat(srv->db_path, &st) == 0) {
			srv->db_dev = st.st_dev;
			srv->db_ino = st.st_ino;
		}
	}
	return 0;
}

static void server_stop_listening(Server *srv, bool unlink_ours);

/* Once the ledger is open (so its directory exists), a lingering clerk
 * offers itself: bound under a name of its own, then renamed over
 * "<db>-clerk", so the newest clerk wins and an older one notices. */
static void server_listen(Server *srv)
{
	_cleanup_close_ int dir_fd = -EBADF, dir_fd2 = -EBADF;
	struct sockaddr_un tmp, final;
	char suffix[32];
	struct stat st;
	mode_t old;
	int fd, r;

	if (srv->tried_listen || srv->linger_usec == 0)
		return;
	srv->tried_listen = true;
	snprintf(suffix, sizeof(suffix), ".%d", (int) getpid());
	if (clerk_address(srv->db_path, suffix, &tmp, &dir_fd) < 0 ||
	    clerk_address(srv->db_path, "", &final, &dir_fd2) < 0)
		return;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	(void) unlink(tmp.sun_path);
	old = umask(0077);
	r = bind(fd, (struct sockaddr *) &tmp, sizeof(tmp));
	umask(old);
	if (r < 0 || listen(fd, 64) < 0 || stat(tmp.sun_path, &st) < 0 || rename(tmp.sun_path, final.sun_path) < 0) {
		(void) unlink(tmp.sun_path);
		safe_close(fd);
		return;
	}
	srv->listen_fd = fd;
	srv->sock_ino = st.st_ino;
}

static bool server_socket_ours(const Server *srv)
{
	_cleanup_close_ int dir_fd = -EBADF;
	struct sockaddr_un a;
	struct stat st;

	return clerk_address(srv->db_path, "", &a, &dir_fd) >= 0 && stat(a.sun_path, &st) == 0 &&
	       S_ISSOCK(st.st_mode) && st.st_ino == srv->sock_ino;
}

static void server_stop_listening(Server *srv, bool unlink_ours)
{
	_cleanup_close_ int dir_fd = -EBADF;
	struct sockaddr_un a;

	if (srv->listen_fd < 0)
		return;
	if (unlink_ours && server_socket_ours(srv) && clerk_address(srv->db_path, "", &a, &dir_fd) >= 0)
		(void) unlink(a.sun_path);
	srv->listen_fd = safe_close(srv->listen_fd);
}

/* Only kdc-run processes of our own user, outside any box: same uid, same
 * user namespace. */
static bool peer_trusted(int fd)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	char path[64], ours[64] = "", theirs[64] = "";
	ssize_t n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0 || uc.uid != getuid() || uc.pid <= 0)
		return false;
	n = readlink("/proc/self/ns/user", ours, sizeof(ours) - 1);
	if (n <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int) uc.pid);
	n = readlink(path, theirs, sizeof(theirs) - 1);
	return n > 0 && streq(ours, theirs);
}

static json_t *answer_admit(Server *srv, Conn *c, json_t *req)
{
	LedgerAdmitResult res = {0};
	LedgerAdmitRequest ar = {
	    .tenant = jstr(req, "tenant"),
	    .project = jstr(req, "project"),
	    .user = jstr(req, "user"),
	    .session_id = jstr(req, "session"),
	    .unit = jstr(req, "unit"),
	    .hold_amount = jint(req, "hold"),
	    .hold_ttl_usec = (uint64_t) jint(req, "ttl"),
	    .create_tenant = true,
	    .command = jstr(req, "command"),
	};
	const char *why = NULL;
	uint64_t t = clock_usec();
	char buf[64];
	int r;

	if (!ar.tenant || !ar.session_id || !ar.unit || !ar.command)
		return json_pack("{s:i, s:b}", "r", EXIT_DENIED, "denied", true);
	r = server_ledger(srv, &why);
	if (r >= 0)
		r = srv->lp->admit(srv->ledger, &ar, &res);
	log_debug("ledger: admit transaction %.3f ms (clerk %d)", (double) (clock_usec() - t) / 1000.0, (int) getpid());
	if (r < 0) {
		if (!why)
			why = srv->ledger && r != -ENOMEM ? srv->lp->errmsg(srv->ledger) : strerror(-r);
		json_t *a = json_pack("{s:i, s:s}", "r", 0, "unanswered", why ? why : strerror(-r));
		if (srv->in_group)
			srv->reopen_ledger = true;
		else if (srv->ledger)
			srv->lp->close(TAKE_PTR(srv->ledger));
		return a;
	}
	server_listen(srv);
	if (res.tenant_created)
		log_notice("created tenant '%s' in the ledger at %s", ar.tenant, srv->db_path);
	if (!res.allowed) {
		log_error("denied: %s", res.reason);
		return json_pack("{s:i, s:b}", "r", EXIT_DENIED, "denied", true);
	}
	if (ar.hold_amount > 0)
		log_info("admitted: hold %s for tenant '%s'",
			 units_format_amount(buf, sizeof(buf), ar.hold_amount, ar.unit), ar.tenant);
	c->admitted = true;
	c->admit = json_incref(req);
	return json_pack("{s:i, s:b}", "r", 0, "admitted", true);
}

/* An audit record of the session the admission request names. */
static AuditRecord session_record(const json_t *admit, const char *actor, const char *action, const char *object,
				  const char *decision, const char *rule, const char *reason)
{
	return (AuditRecord){
	    .tenant = jstr(admit, "tenant"),
	    .project = jstr(admit, "project"),
	    .user = jstr(admit, "user"),
	    .session = jstr(admit, "session"),
	    .actor = actor,
	    .action = action,
	    .object = object,
	    .decision = decision,
	    .rule = rule,
	    .reason = reason,
	};
}

/* The run's degradations (DESIGN.md: "each degradation is printed and
 * audited") and every egress decision the ring buffer delivered (the
 * session row's counters hold the egress totals), as audit records of the
 * session. *ret_reasons holds their reason texts. Returns how many. */
static size_t settle_records(const json_t *admit, const json_t *degraded, const json_t *lines, AuditRecord **ret,
			     char **ret_reasons)
{
	size_t n = json_array_size(degraded) + MIN(json_array_size(lines), (size_t) CLERK_EGRESS_LINES_MAX), k = 0, i;
	const size_t reason_size = 96;
	AuditRecord *recs;
	char *reasons;
	json_t *v;

	*ret = NULL;
	*ret_reasons = NULL;
	if (n == 0)
		return 0;
	recs = calloc(n, sizeof(AuditRecord));
	reasons = calloc(json_array_size(degraded) + 1, reason_size);
	if (!recs || !reasons) {
		free(recs);
		free(reasons);
		log_oom();
		return 0;
	}
	json_array_foreach(degraded, i, v)
	{
		const char *control = json_string_value(v);
		char *reason = reasons + i * reason_size;
		if (!control)
			continue;
		snprintf(reason, reason_size, "%s not enforced on this host (degraded by the profile)", control);
		recs[k++] = session_record(admit, "kdc-run", "degrade", control, "allow", "degrade", reason);
	}
	json_array_foreach(lines, i, v)
	{
		const char *l = json_string_value(v);
		if (!l || k >= n)
			continue;
		recs[k++] = session_record(admit, "bpf", "egress", strchr(l, ' ') ? strchr(l, ' ') + 1 : l,
					   startswith(l, "allow") ? "allow" : "deny", jstr(admit, "net"), l);
	}
	*ret = recs;
	*ret_reasons = reasons;
	return k;
}

static void answer_settle(Server *srv, Conn *c, json_t *req)
{
	_cleanup_free_ AuditRecord *recs = NULL;
	_cleanup_free_ char *reasons = NULL;
	LedgerSettleRequest sr = {
	    .session_id = jstr(c->admit, "session"),
	    .actual = jint(req, "actual"),
	    .end_reason = jstr(req, "reason"),
	    .exit_status = (int) jint(req, "exit_status"),
	    .wall_usec = (uint64_t) jint(req, "wall_usec"),
	    .cpu_usec = (uint64_t) jint(req, "cpu_usec"),
	    .memory_peak = (uint64_t) jint(req, "memory_peak"),
	    .pids_peak = (uint64_t) jint(req, "pids_peak"),
	    .egress_bytes = (uint64_t) jint(req, "egress_bytes"),
	};
	const char *why;
	uint64_t t;
	int r;

	if (!sr.end_reason)
		sr.end_reason = "error";
	sr.n_extra =
	    settle_records(c->admit, json_object_get(req, "degraded"), json_object_get(req, "egress"), &recs, &reasons);
	sr.extra = recs;
	r = server_ledger(srv, &why);
	if (r < 0) {
		log_error_errno(r, "cannot settle the session in the ledger: %s", why ? why : strerror(-r));
		return;
	}
	/* The settlement and the session's other rows: one transaction. */
	t = clock_usec();
	r = srv->lp->settle(srv->ledger, &sr);
	log_debug("ledger: settle transaction %.3f ms (clerk %d)", (double) (clock_usec() - t) / 1000.0,
		  (int) getpid());
	if (r == -ETIME)
		log_warning("the session's hold had expired before settlement: nothing was posted");
	else if (r < 0) {
		log_error_errno(r, "cannot settle the session in the ledger: %s", srv->lp->errmsg(srv->ledger));
		/* the rows are the record of what happened all the same */
		if (sr.n_extra > 0 && (r = srv->lp->audit_many(srv->ledger, sr.extra, sr.n_extra)) < 0)
			log_error_errno(r,
					"cannot write %zu records (degradations, egress decisions) to the audit "
					"trail: %s",
					sr.n_extra, srv->lp->errmsg(srv->ledger));
	}
}

static void conn_close(Server *srv, size_t i)
{
	safe_close(srv->conns[i].fd);
	json_decref(srv->conns[i].admit);
	srv->conns[i] = srv->conns[--srv->n_conns];
	if (srv->n_conns == 0)
		srv->idle_since = clock_usec();
}

/* One request of one kdc-run, read whole; NULL when the conversation is
 * over (hung up, or it gave up waiting for us and asked a clerk of its
 * own: such a client gets nothing done). */
static json_t *receive_request(Conn *c)
{
	json_t *req = NULL;
	struct pollfd p = {.fd = c->fd, .events = POLLRDHUP};

	if (msg_recv(c->fd, &req) < 0)
		return NULL;
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP))) {
		json_decref(req);
		return NULL;
	}
	return req;
}

/* kdc-ledger's hold, charge, post and void: one ledger call, its result
 * whole (kdc-ledger prints it as if it had made the call itself). */
static json_t *answer_ledger_call(Server *srv, const char *op, const json_t *req)
{
	LedgerResult res = {0};
	const char *why = NULL;
	int r;

	/* A ledger we cannot open: kdc-ledger opens it itself, and says why in
	 * its own words. */
	if (server_ledger(srv, &why) < 0)
		return json_pack("{s:b}", "unserved", true);
	if (streq(op, "hold") || streq(op, "charge")) {
		LedgerHoldRequest h = {
		    .id = jstr(req, "id"),
		    .scope = jstr(req, "scope"),
		    .unit = jstr(req, "unit"),
		    .amount = jint(req, "amount"),
		    .ttl_usec = (uint64_t) jint(req, "ttl"),
		    .session = jstr(req, "session"),
		    .actor = jstr(req, "actor"),
		};
		int (*fn)(Ledger *, const LedgerHoldRequest *, LedgerResult *) =
		    streq(op, "hold") ? srv->lp->hold : srv->lp->charge;
		r = fn ? fn(srv->ledger, &h, &res) : -EOPNOTSUPP;
	} else if (streq(op, "post")) {
		LedgerPostRequest pr = {
		    .id = jstr(req, "id"),
		    .tenant = jstr(req, "tenant"),
		    .unit = jstr(req, "unit"),
		    .full = json_is_true(json_object_get(req, "full")),
		    .amount = jint(req, "amount"),
		    .actor = jstr(req, "actor"),
		};
		r = srv->lp->post ? srv->lp->post(srv->ledger, &pr, &res) : -EOPNOTSUPP;
	} else {
		LedgerVoidRequest v = {
		    .id = jstr(req, "id"), .tenant = jstr(req, "tenant"), .actor = jstr(req, "actor")};
		r = srv->lp->void_hold ? srv->lp->void_hold(srv->ledger, &v, &res) : -EOPNOTSUPP;
	}
	if (r == -EOPNOTSUPP)
		return json_pack("{s:b}", "unserved", true); /* a plugin without these calls */
	if (r < 0) {
		json_t *a = json_pack("{s:i, s:s}", "r", r, "errmsg", srv->lp->errmsg(srv->ledger));
		if (srv->in_group)
			srv->reopen_ledger = true;
		else
			srv->lp->close(TAKE_PTR(srv->ledger));
		return a;
	}
	server_listen(srv);
	return json_pack("{s:i, s:i, s:b, s:I, s:I, s:s, s:s}", "r", 0, "code", (int) res.code, "replayed",
			 res.replayed, "amount", (json_int_t) res.amount, "released", (json_int_t) res.released, "unit",
			 res.unit, "reason", res.reason);
}

static bool is_ledger_call(const char *op)
{
	return op && (streq(op, "hold") || streq(op, "charge") || streq(op, "post") || streq(op, "void"));
}

/* The answer to one request (NULL: a request out of turn, hang up), with
 * the log lines it produced; *more: the conversation goes on. */
static json_t *handle_request(Server *srv, Conn *c, json_t *req, bool *more)
{
	json_t *answer = NULL, *lines = json_array();
	const char *op = jstr(req, "op");

	*more = false;
	if (!lines)
		return NULL;
	log_set_sink(collect_line, lines);
	if (!c->admitted && op && streq(op, "admit")) {
		const char *id = jstr(req, "identity");
		if (!id || !streq(id, srv->identity))
			answer = json_pack("{s:b}", "mismatch", true);
		else {
			answer = answer_admit(srv, c, req);
			*more = c->admitted;
		}
	} else if (c->admitted && op && streq(op, "settle")) {
		answer_settle(srv, c, req);
		answer = json_object();
	} else if (!c->admitted && is_ledger_call(op)) {
		const char *id = jstr(req, "identity");
		if (!id || !srv->ledger_identity || !streq(id, srv->ledger_identity))
			answer = json_pack("{s:b}", "mismatch", true);
		else {
			answer = answer_ledger_call(srv, op, req);
			*more = true;
		}
	}
	log_set_sink(NULL, NULL);
	if (!answer) {
		json_decref(lines);
		return NULL;
	}
	json_object_set_new(answer, "log", lines);
	return answer;
}

/* The login name of our uid, which is every client's (peer_trusted()):
 * their default tenant. Kept CLERK_LOGIN_TTL_USEC; a stale one is answered
 * and looked up again after the answer has left. */
static void server_login_lookup(Server *srv)
{
	struct passwd *pw = getpwuid(getuid());

	free(srv->login);
	srv->login = pw && !isempty(pw->pw_name) ? strdup(pw->pw_name) : NULL;
	srv->login_usec = clock_usec();
}

static bool is_login_request(const Conn *c, const json_t *req)
{
	const char *op = jstr(req, "op");
	return !c->admitted && op && streq(op, "login");
}

/* How long a login name is kept: KDC_TEST_CLERK_LOGIN_TTL (seconds) is for
 * the test of the refresh only, not a user setting. */
static uint64_t login_ttl_usec(void)
{
	const char *v = secure_getenv("KDC_TEST_CLERK_LOGIN_TTL");
	return isempty(v) ? CLERK_LOGIN_TTL_USEC : strtoull(v, NULL, 10) * USEC_PER_SEC;
}

/* Answered at once, outside any group commit: no ledger is involved. */
static int answer_login(Server *srv, Conn *c)
{
	_cleanup_(json_decrefp) json_t *a = NULL;
	bool refresh = false;
	uint64_t now = clock_usec();
	int r;

	if (!srv->login)
		server_login_lookup(srv);
	else if (now - srv->login_usec >= login_ttl_usec())
		refresh = true;
	a = json_pack("{s:s?, s:I}", "login", srv->login, "age_usec",
		      (json_int_t) (now > srv->login_usec ? now - srv->login_usec : 0));
	r = a ? msg_send(c->fd, a) : -ENOMEM;
	if (refresh) /* even when the asker went away without the answer */
		server_login_lookup(srv);
	return r;
}

typedef struct Pending {
	size_t conn;
	json_t *req, *answer;
	bool more;
	bool was_admitted; /* the conversation's state before this request */
	json_t *was_admit;
} Pending;

/* The requests of every ready connection. Several at once are served in
 * one group commit (ledger_group_begin()): one transaction and one fsync
 * for all, which is what lets one clerk keep up with many concurrent runs.
 * No answer leaves before the group is on disk. If the group cannot be
 * committed, nothing of it was recorded, and each request is served again
 * on its own, so that each gets its own answer or error. */
static void serve_ready(Server *srv, const struct pollfd *pfd)
{
	static Pending pend[CLERK_MAX_CONNS];
	bool closing[CLERK_MAX_CONNS] = {false};
	size_t n = 0, i;
	const char *why;
	json_t *group_lines = NULL; /* what every member of a group hears of it */

	for (i = 0; i < srv->n_conns; i++) {
		if (!pfd[i].revents)
			continue;
		pend[n] = (Pending){.conn = i, .req = receive_request(&srv->conns[i])};
		if (!pend[n].req) {
			closing[i] = true;
			continue;
		}
		if (is_login_request(&srv->conns[i], pend[n].req)) {
			closing[i] = answer_login(srv, &srv->conns[i]) < 0;
			json_decref(TAKE_PTR(pend[n].req));
			continue;
		}
		pend[n].was_admitted = srv->conns[i].admitted;
		pend[n].was_admit = json_incref(srv->conns[i].admit);
		n++;
	}
	if (n > 1 && server_ledger(srv, &why) >= 0 && srv->lp->group_begin && srv->lp->group_end &&
	    srv->lp->group_begin(srv->ledger) >= 0) {
		uint64_t t = clock_usec();
		int r;

		srv->in_group = true;
		for (i = 0; i < n; i++)
			pend[i].answer = handle_request(srv, &srv->conns[pend[i].conn], pend[i].req, &pend[i].more);
		srv->in_group = false;
		r = srv->lp->group_end(srv->ledger);
		/* every kdc-run of the group hears of it (kdc-run -vv) */
		group_lines = json_array();
		log_set_sink(collect_line, group_lines);
		if (r >= 0)
			log_debug("ledger: group of %zu requests, one commit, %.3f ms (clerk %d)", n,
				  (double) (clock_usec() - t) / 1000.0, (int) getpid());
		else
			log_debug("ledger: group of %zu requests not committed (%s): each served alone (clerk %d)", n,
				  strerror(-r), (int) getpid());
		log_set_sink(NULL, NULL);
		if (r < 0) {
			/* Nothing was recorded: back to before, one by one. */
			for (i = 0; i < n; i++) {
				Conn *c = &srv->conns[pend[i].conn];
				json_decref(TAKE_PTR(pend[i].answer));
				json_decref(c->admit);
				c->admit = json_incref(pend[i].was_admit);
				c->admitted = pend[i].was_admitted;
			}
			srv->reopen_ledger = true;
		}
		if (srv->reopen_ledger && srv->ledger)
			srv->lp->close(TAKE_PTR(srv->ledger));
		srv->reopen_ledger = false;
	}
	for (i = 0; i < n; i++) {
		Conn *c = &srv->conns[pend[i].conn];
		if (!pend[i].answer)
			pend[i].answer = handle_request(srv, c, pend[i].req, &pend[i].more);
		if (pend[i].answer && group_lines)
			json_array_extend(json_object_get(pend[i].answer, "log"), group_lines);
		if (!pend[i].answer || msg_send(c->fd, pend[i].answer) < 0 || !pend[i].more)
			closing[pend[i].conn] = true;
		json_decref(pend[i].req);
		json_decref(pend[i].answer);
		json_decref(pend[i].was_admit);
	}
	json_decref(group_lines);
	/* Back to front: conn_close() moves the last one into i. */
	for (i = srv->n_conns; i-- > 0;)
		if (closing[i])
			conn_close(srv, i);
}

static void server_accept(Server *srv)
{
	struct timeval tv = {.tv_sec = CLERK_READ_TIMEOUT_SEC};

	for (;;) {
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (srv->n_conns >= CLERK_MAX_CONNS || !peer_trusted(fd)) {
			safe_close(fd);
			continue;
		}
		(void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		srv->conns[srv->n_conns++] = (Conn){.fd = fd};
	}
}

/* The clerk's life: serve the kdc-run that forked it (first_fd), and, while
 * lingering, any other of the same ledger, until idle for linger_usec. */
static _Noreturn void clerk_serve(Server *srv, int first_fd)
{
	struct pollfd pfd[CLERK_MAX_CONNS + 1];

	srv->listen_fd = -EBADF;
	srv->conns[srv->n_conns++] = (Conn){.fd = first_fd};
	for (;;) {
		uint64_t now = clock_usec();
		int timeout = CLERK_CHECK_MSEC, n;
		size_t i;

		if (srv->listen_fd >= 0 && !server_socket_ours(srv))
			server_stop_listening(srv, false); /* a newer clerk took over */
		if (srv->n_conns == 0) {
			if (srv->listen_fd < 0)
				break;
			if (now - srv->idle_since >= srv->linger_usec) {
				/* No new client finds us from now on; those
				 * already queued are served. */
				server_stop_listening(srv, true);
				break;
			}
			timeout = (int) MIN((uint64_t) CLERK_CHECK_MSEC,
					    (srv->linger_usec - (now - srv->idle_since) + 999) / 1000);
		}
		for (i = 0; i < srv->n_conns; i++)
			pfd[i] = (struct pollfd){.fd = srv->conns[i].fd, .events = POLLIN};
		pfd[i] = (struct pollfd){.fd = srv->listen_fd, .events = POLLIN};
		n = poll(pfd, srv->n_conns + 1, timeout);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		{
			/* the listening socket's entry: serve_ready() may close connections */
			bool accept_ready = srv->listen_fd >= 0 && (pfd[srv->n_conns].revents & POLLIN);
			serve_ready(srv, pfd);
			if (accept_ready)
				server_accept(srv);
		}
	}
	if (srv->ledger)
		srv->lp->close(TAKE_PTR(srv->ledger));
	_exit(0);
}

/* The clerk's work comes in short bursts that its callers wait for: an
 * admission kdc-run needs before GO, a settlement it waits for at the end,
 * and between them the completions of the transaction's writes. With the
 * default time slice a woken clerk waited in the run queue while the box
 * was being built on both CPUs (1.6 ms seen with perf sched), so one
 * transaction took ~4 ms. A short slice (Linux 6.12 and later) lets its
 * wakeups run at once; its share of the CPU, its nice value, stays the
 * caller's. Older kernels ignore the slice of a SCHED_OTHER task, and a
 * clerk started under another policy keeps it. Best effort. */
static void clerk_short_slice(void)
{
	struct {
		uint32_t size, policy;
		uint64_t flags;
		int32_t nice;
		uint32_t priority;
		uint64_t runtime, deadline, period;
	} attr = {.size = sizeof(attr)}; /* struct sched_attr, SCHED_ATTR_SIZE_VER0 */
	int policy = sched_getscheduler(0), nice;

	if (policy != SCHED_OTHER && policy != SCHED_BATCH)
		return;
	errno = 0;
	nice = getpriority(PRIO_PROCESS, 0);
	if (errno != 0)
		return;
	attr.policy = (uint32_t) policy;
	attr.nice = nice;
	attr.runtime = CLERK_SLICE_NSEC;
	(void) syscall(SYS_sched_setattr, 0, &attr, 0);
}

/* In the forked child: out of kdc-run's session and process group (a ^C
 * or a CI runner's kill of the group is for the run, and the run settles
 * through us), no inherited descriptor but our socket (a lingering clerk
 * must not hold the caller's pipes open), default signals. */
static _Noreturn void clerk_child(Server *srv, int fd)
{
	sigset_t none;
	int null;

	(void) setsid();
	log_set_program("kdc-run");
	set_title(srv->db_path);
	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void) signal(sig, SIG_DFL);
	(void) signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	(void) sigprocmask(SIG_SETMASK, &none, NULL);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(EXIT_ERROR);
	if (fd != 3) {
		if (dup2(fd, 3) < 0)
			_exit(EXIT_ERROR);
		fd = 3;
	}
	if (close_range(4, ~0U, 0) < 0)
		_exit(EXIT_ERROR);
	(void) fcntl(fd, F_SETFD, FD_CLOEXEC);
	(void) chdir("/");
	clerk_short_slice();
	clerk_serve(srv, fd);
}

/* ---- kdc-run's side ------------------------------------------------------ */

static int clerk_fork(Clerk *c)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return negative_errno();
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		safe_close(sv[0]);
		safe_close(sv[1]);
		return negative_errno();
	}
	if (pid == 0) {
		static Server srv;
		srv = (Server){
		    .identity = c->identity,
		    .db_path = c->db_path,
		    .plugin_path = c->plugin_path,
		    .ledger_identity = ledger_identity(c->db_path),
		    .linger_usec = c->linger_usec,
		    .listen_fd = -EBADF,
		};
		safe_close(sv[0]);
		clerk_child(&srv, sv[1]);
	}
	safe_close(sv[1]);
	c->pid = pid;
	c->fd = sv[0];
	c->resident = false;
	c->lingers = c->linger_usec > 0;
	log_debug("ledger: clerk %d forked", (int) pid);
	return 0;
}

/* A resident clerk of this ledger, if one listens. */
static struct timeval clerk_answer_timeout(void)
{
	uint64_t busy, t;

	/* a bad value: the ledger itself refuses it; wait as for the default */
	if (ledger_busy_timeout_usec(&busy) < 0)
		busy = (uint64_t) LEDGER_DEFAULT_BUSY_TIMEOUT_MSEC * USEC_PER_MSEC;
	t = 2 * busy + 5 * USEC_PER_SEC;
	return (struct timeval){.tv_sec = (time_t) (t / USEC_PER_SEC), .tv_usec = (suseconds_t) (t % USEC_PER_SEC)};
}

static int clerk_connect(Clerk *c, const char *db_path)
{
	_cleanup_close_ int dir_fd = -EBADF, fd = -EBADF;
	struct sockaddr_un a;
	struct timeval tv = {.tv_sec = CLERK_READ_TIMEOUT_SEC}, answer;
	struct ucred peer;
	socklen_t len = sizeof(peer);
	int r;

	r = clerk_address(db_path, "", &a, &dir_fd);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	if (connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0)
		return negative_errno();
	/* Only a clerk of our own user answers for our ledger (the socket's
	 * directory should make anything else impossible; a directory made
	 * too open must not hand the budget to another user's server). */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0 || peer.uid != getuid())
		return -EPERM;
	(void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* A resident clerk that is stopped or stuck must not hang the run:
	 * an answer may wait for the ledger's busy timeout (twice: another
	 * run's transaction ahead of ours, then ours), not much longer. The
	 * admission then goes to a clerk of our own (clerk_answer). */
	answer = clerk_answer_timeout();
	(void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &answer, sizeof(answer));
	c->fd = TAKE_FD(fd);
	c->resident = true;
	c->pid = -1;
	return 0;
}

int clerk_login_ask(Clerk *c, const char *db_path, uint64_t linger_usec)
{
	_cleanup_(json_decrefp) json_t *req = NULL;
	Clerk tmp = CLERK_INIT;
	int r;

	if (linger_usec == 0)
		return -ENOENT; /* $KDC_LEDGER_LINGER=0: no resident clerk is used */
	r = clerk_connect(&tmp, db_path);
	if (r < 0)
		return r;
	req = json_pack("{s:s}", "op", "login");
	r = req ? msg_send(tmp.fd, req) : -ENOMEM;
	if (r < 0) {
		(void) safe_close(tmp.fd);
		return r;
	}
	c->login_fd = safe_close(c->login_fd);
	c->login_fd = tmp.fd;
	return 0;
}

int clerk_login_take(Clerk *c, const char **ret)
{
	_cleanup_(json_decrefp) json_t *a = NULL;
	struct pollfd p = {.fd = c->login_fd, .events = POLLIN};
	const char *name;

	if (c->login_fd < 0)
		return -ENOENT;
	/* The answer normally came while the profile loaded. A clerk busy
	 * with another run's transaction (a lock held, a group's flush) is
	 * given CLERK_LOGIN_WAIT_MSEC, no more; then the connection is
	 * dropped, the answer with it, and the caller looks the name up. */
	if (poll(&p, 1, CLERK_LOGIN_WAIT_MSEC) <= 0 || !(p.revents & POLLIN) || msg_recv(c->login_fd, &a) < 0 ||
	    isempty(name = jstr(a, "login")) || !(c->login = strdup(name))) {
		c->login_fd = safe_close(c->login_fd);
		return -EAGAIN;
	}
	log_debug("tenant: the login name from the resident clerk (looked up %.1f s ago)",
		  (double) jint(a, "age_usec") / USEC_PER_SEC);
	*ret = c->login;
	return 0;
}

int clerk_begin(Clerk *c, const ClerkAdmit *req, uint64_t linger_usec)
{
	int login_fd = c->login_fd;
	char *login = c->login;
	int r;

	*c = CLERK_INIT;
	c->login = login;
	/* clerk_login_ask()'s connection, once its answer was taken, is one
	 * to the resident clerk; one whose answer was not is dropped. */
	if (login_fd >= 0 && login && linger_usec > 0) {
		c->fd = login_fd;
		c->resident = true;
	} else
		(void) safe_close(login_fd);
	c->linger_usec = linger_usec;
	c->identity = clerk_identity(req);
	c->db_path = strdup(req->db_path);
	c->plugin_path = strdup(req->plugin_path);
	if (!c->identity || !c->db_path || !c->plugin_path)
		return -ENOMEM;
	c->request = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:s, s:I, s:I, s:s, s:s}", "op", "admit", "identity",
			       c->identity, "tenant", req->tenant, "project", req->project, "user", req->user,
			       "session", req->session_id, "unit", req->unit, "hold", (json_int_t) req->hold_amount,
			       "ttl", (json_int_t) req->hold_ttl_usec, "command", req->command, "net", req->net);
	if (!c->request)
		return -ENOMEM;
	/* $KDC_LEDGER_LINGER=0: no resident clerk, neither used nor left. */
	if (linger_usec > 0 && (c->fd >= 0 || clerk_connect(c, req->db_path) >= 0)) {
		if (msg_send(c->fd, c->request) >= 0) {
			log_debug("ledger: resident clerk");
			return 0;
		}
		c->fd = safe_close(c->fd);
	}
	r = clerk_fork(c);
	if (r < 0)
		return r;
	r = msg_send(c->fd, c->request);
	return r == -EPIPE || r == -ECONNRESET ? 0 : r; /* a clerk that died is seen at the answer */
}

static void print_lines(const json_t *answer)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(answer, "log"), i, v)
	{
		const char *line = json_string_value(json_array_get(v, 1));
		int level = (int) json_integer_value(json_array_get(v, 0));
		if (!line)
			continue;
		if (level >= LOG_LEVEL_NOTICE && startswith(line, "warning: "))
			log_full_errno(level, 0, "warning: ", "%s", line + strlen("warning: "));
		else if (startswith(line, "debug: "))
			log_full_errno(level, 0, "debug: ", "%s", line + strlen("debug: "));
		else
			log_full_errno(level, 0, NULL, "%s", line);
	}
}

int clerk_answer(Clerk *c)
{
	_cleanup_(json_decrefp) json_t *a = NULL;
	uint64_t t;
	int r;

	if (c->fd < 0 || c->answered)
		return c->r;
	t = clock_usec();
	r = msg_recv(c->fd, &a);
	log_debug("ledger: waited %.3f ms for the answer", (double) (clock_usec() - t) / 1000.0);
	if (c->resident && (r < 0 || json_is_true(json_object_get(a, "mismatch")))) {
		/* A resident clerk that went away before answering (it
		 * timed out as we came), or serves another build: ask one
		 * of our own. Had the other one admitted the session
		 * already, the ledger refuses the same session id again
		 * (-EEXIST): the run is then denied, never admitted twice. */
		log_debug("ledger: the resident clerk %s; forking one",
			  r < 0 ? "did not answer" : "is of another build");
		json_decref(TAKE_PTR(a));
		c->fd = safe_close(c->fd);
		r = clerk_fork(c);
		if (r >= 0)
			r = msg_send(c->fd, c->request);
		if (r >= 0 || r == -EPIPE || r == -ECONNRESET)
			r = msg_recv(c->fd, &a);
	}
	c->answered = true;
	json_decref(TAKE_PTR(c->request));
	if (r < 0) {
		if (c->pid > 0)
			log_error("denied: the ledger clerk (pid %d) ended without an answer", (int) c->pid);
		else
			log_error("denied: the ledger clerk ended without an answer");
		c->r = EXIT_DENIED;
		c->denied = true;
		return c->r;
	}
	print_lines(a);
	c->r = (int) jint(a, "r");
	c->admitted = json_is_true(json_object_get(a, "admitted"));
	c->denied = json_is_true(json_object_get(a, "denied"));
	if (jstr(a, "unanswered"))
		c->unanswered = strdup(jstr(a, "unanswered"));
	return c->r;
}

static void settle_failed(const Clerk *c)
{
	if (c->pid > 0)
		log_error("the ledger clerk (pid %d) ended before the session was settled", (int) c->pid);
	else
		log_error("the ledger clerk ended before the session was settled");
}

void clerk_settle_send(Clerk *c, const ClerkSettle *m)
{
	_cleanup_(json_decrefp) json_t *req = NULL;
	json_t *lines, *degraded;

	if (c->fd < 0 || c->settle_sent)
		return;
	(void) clerk_answer(c);
	if (!c->admitted || c->fd < 0)
		return;
	c->settle_sent = true;
	lines = json_array();
	STRV_FOREACH (l, m->egress_lines)
		json_array_append_new(lines, json_string(*l));
	degraded = json_array();
	STRV_FOREACH (d, m->degraded)
		json_array_append_new(degraded, json_string(*d));
	req = json_pack("{s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "op", "settle", "reason",
			m->reason ? m->reason : "error", "exit_status", m->exit_status, "actual",
			(json_int_t) m->actual, "wall_usec", (json_int_t) m->wall_usec, "cpu_usec",
			(json_int_t) m->cpu_usec, "memory_peak", (json_int_t) m->memory_peak, "pids_peak",
			(json_int_t) m->pids_peak, "egress_bytes", (json_int_t) m->egress_bytes, "egress", lines);
	if (req)
		json_object_set_new(req, "degraded", degraded);
	else
		json_decref(degraded);
	if (!req || msg_send(c->fd, req) < 0) {
		settle_failed(c);
		c->fd = safe_close(c->fd);
	}
}

void clerk_settle(Clerk *c, const ClerkSettle *m)
{
	_cleanup_(json_decrefp) json_t *a = NULL;

	clerk_settle_send(c, m);
	if (c->settle_sent && c->fd >= 0) {
		if (msg_recv(c->fd, &a) < 0)
			settle_failed(c);
		else
			print_lines(a);
	}
	clerk_done(c);
}

void clerk_done(Clerk *c)
{
	c->fd = safe_close(c->fd);
	c->login_fd = safe_close(c->login_fd);
	c->login = mfree(c->login);
	if (c->pid > 0 && !c->lingers)
		(void) waitpid(c->pid, NULL, 0);
	c->pid = -1;
	json_decref(TAKE_PTR(c->request));
	c->unanswered = mfree(c->unanswered);
	c->identity = mfree(c->identity);
	c->db_path = mfree(c->db_path);
	c->plugin_path = mfree(c->plugin_path);
}

/* ---- kdc-ledger's side ---------------------------------------------------- */

struct ClerkLedger {
	int fd;
	char *identity;
};

int clerk_ledger_connect(const char *db_path, ClerkLedger **ret)
{
	Clerk tmp = CLERK_INIT;
	ClerkLedger *c;
	uint64_t linger;
	int r;

	/* $KDC_LEDGER_LINGER=0: no resident clerk, neither used nor left. */
	if (clerk_linger(&linger) < 0 || linger == 0)
		return -ENOENT;
	r = clerk_connect(&tmp, db_path);
	if (r < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->identity = ledger_identity(db_path))) {
		free(c);
		safe_close(tmp.fd);
		return -ENOMEM;
	}
	c->fd = tmp.fd;
	*ret = c;
	return 0;
}

int clerk_ledger_fork(const char *db_path, const char *plugin_path, ClerkLedger **ret)
{
	Clerk c = CLERK_INIT;
	ClerkLedger *cl;
	int r;

	if (clerk_linger(&c.linger_usec) < 0 || c.linger_usec == 0)
		return -ENOENT;
	cl = calloc(1, sizeof(*cl));
	/* kdc-run's admissions need a clerk of their own binary: this one
	 * answers them "mismatch", and kdc-run forks its own. */
	c.identity = strdup("kdc-ledger");
	c.db_path = strdup(db_path);
	c.plugin_path = strdup(plugin_path);
	if (!cl || !c.identity || !c.db_path || !c.plugin_path || !(cl->identity = ledger_identity(db_path)))
		r = -ENOMEM;
	else
		r = clerk_fork(&c);
	free(c.identity);
	free(c.db_path);
	free(c.plugin_path);
	if (r < 0) {
		if (cl)
			free(cl->identity);
		free(cl);
		return r;
	}
	/* It lingers for the next calls: not ours to reap. */
	cl->fd = c.fd;
	*ret = cl;
	return 0;
}

void clerk_ledger_close(ClerkLedger *c)
{
	if (!c)
		return;
	safe_close(c->fd);
	free(c->identity);
	free(c);
}

/* One call: 1 answered, 0 not served (another version of the ledger, or the
 * clerk went away): the caller makes the call itself. The ids make that
 * safe: a call the clerk made before it went away is a replay then. */
static int ledger_call(ClerkLedger *c, json_t *req, int *ret_r, LedgerResult *ret, char **ret_errmsg)
{
	_cleanup_(json_decrefp) json_t *a = NULL;
	const char *s;

	*ret_r = 0;
	*ret = (LedgerResult){0};
	*ret_errmsg = NULL;
	if (!req || c->fd < 0 || json_object_set_new(req, "identity", json_string(c->identity)) < 0 ||
	    msg_send(c->fd, req) < 0 || msg_recv(c->fd, &a) < 0 || json_is_true(json_object_get(a, "mismatch")) ||
	    json_is_true(json_object_get(a, "unserved"))) {
		json_decref(req);
		c->fd = safe_close(c->fd);
		return 0;
	}
	json_decref(req);
	*ret_r = (int) jint(a, "r");
	if (*ret_r < 0) {
		s = jstr(a, "errmsg");
		*ret_errmsg = strdup(s ? s : "");
		return 1;
	}
	ret->code = (LedgerCode) jint(a, "code");
	ret->replayed = json_is_true(json_object_get(a, "replayed"));
	ret->amount = jint(a, "amount");
	ret->released = jint(a, "released");
	snprintf(ret->unit, sizeof(ret->unit), "%s", (s = jstr(a, "unit")) ? s : "");
	snprintf(ret->reason, sizeof(ret->reason), "%s", (s = jstr(a, "reason")) ? s : "");
	return 1;
}

int clerk_ledger_hold(ClerkLedger *c, const LedgerHoldRequest *req, bool charge, int *ret_r, LedgerResult *ret,
		      char **ret_errmsg)
{
	return ledger_call(c,
			   json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s?, s:s?}", "op", charge ? "charge" : "hold",
				     "id", req->id, "scope", req->scope, "unit", req->unit, "amount",
				     (json_int_t) req->amount, "ttl", (json_int_t) req->ttl_usec, "session",
				     req->session, "actor", req->actor),
			   ret_r, ret, ret_errmsg);
}

int clerk_ledger_post(ClerkLedger *c, const LedgerPostRequest *req, int *ret_r, LedgerResult *ret, char **ret_errmsg)
{
	return ledger_call(c,
			   json_pack("{s:s, s:s, s:s?, s:s?, s:b, s:I, s:s?}", "op", "post", "id", req->id, "tenant",
				     req->tenant, "unit", req->unit, "full", req->full, "amount",
				     (json_int_t) req->amount, "actor", req->actor),
			   ret_r, ret, ret_errmsg);
}

int clerk_ledger_void(ClerkLedger *c, const LedgerVoidRequest *req, int *ret_r, LedgerResult *ret, char **ret_errmsg)
{
	return ledger_call(c,
			   json_pack("{s:s, s:s, s:s?, s:s?}", "op", "void", "id", req->id, "tenant", req->tenant,
				     "actor", req->actor),
			   ret_r, ret, ret_errmsg);
}
