/* SPDX-License-Identifier: MIT */
/*
 * kdc-run doctor: what this host lets kdc enforce, for this caller, and how
 * to fix what is missing; then, for each profile on the search path, whether
 * it runs here and with which degradations.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <linux/filter.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cgroup.h"
#include "core/egress.h"
#include "core/landlock.h"
#include "core/profile.h"
#include "core/seccomp-policy.h"
#include "run/session.h"
#include "shared/fileio.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/strv.h"

typedef struct Check {
	const char *name;
	bool ok;
	char detail[512];
} Check;

static void check_set(Check *c, const char *name, bool ok, const char *fmt, ...) _printf_(4, 5);
static void check_set(Check *c, const char *name, bool ok, const char *fmt, ...)
{
	va_list ap;
	c->name = name;
	c->ok = ok;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

static int read_sysctl(const char *path, long *ret)
{
	_cleanup_free_ char *s = NULL;
	int r = read_full_file(path, &s, NULL);
	if (r < 0)
		return r;
	*ret = strtol(s, NULL, 10);
	return 0;
}

/* Tries what kdc-run does first: a child in new user + mount + pid + net
 * namespaces. */
static void check_userns(Check *c)
{
	long v;
	pid_t pid = fork();
	int status = 0;

	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET) < 0 ? errno : 0);
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		check_set(c, "userns", false, "cannot fork to test: %s", strerror(errno));
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		check_set(c, "userns", true, "user, mount, pid and network namespaces can be created");
		return;
	}
	if (read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", &v) == 0 && v == 1)
		check_set(c, "userns", false,
			  "AppArmor restricts unprivileged user namespaces "
			  "(kernel.apparmor_restrict_unprivileged_userns=1); install contrib/apparmor/kdc-run "
			  "into /etc/apparmor.d and load it with apparmor_parser -r");
	else if (read_sysctl("/proc/sys/kernel/unprivileged_userns_clone", &v) == 0 && v == 0)
		check_set(c, "userns", false,
			  "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0); "
			  "set it to 1 with sysctl");
	else if (read_sysctl("/proc/sys/user/max_user_namespaces", &v) == 0 && v == 0)
		check_set(c, "userns", false, "user.max_user_namespaces=0; raise it with sysctl");
	else
		check_set(c, "userns", false, "cannot create namespaces: %s",
			  strerror(WIFEXITED(status) ? WEXITSTATUS(status) : EPERM));
}

static void check_cgroup(Check *c, CgroupProbe *probe)
{
	int r = cgroup_probe(probe);
	if (r < 0) {
		check_set(c, "cgroup", false, "no cgroup2 mount found: %s", strerror(-r));
		return;
	}
	if (!probe->can_create)
		check_set(c, "cgroup", false, "cgroup2 at %s: %s", probe->mount ? probe->mount : "?",
			  probe->why ? probe->why : "cannot create a session cgroup");
	else
		check_set(c, "cgroup", true, "cgroup2 at %s%s; controllers: %s", probe->mount,
			  probe->delegated ? " (delegated subtree)" : "",
			  isempty(probe->controllers) ? "none (memory, cpu and pids limits need degrade)"
						      : probe->controllers);
}

static void check_bpf(Check *c)
{
	_cleanup_free_ char *why = NULL, *mnt = NULL, *slice = NULL, *shared = NULL;
	int r;

	if (!egress_supported()) {
		check_set(c, "bpf", false,
			  "this kdc was built without the eBPF egress programs "
			  "(configure --enable-bpf needs libbpf-dev, clang and bpftool)");
		return;
	}
	r = egress_probe(&why);
	if (r < 0) {
		check_set(c, "bpf", false, "%s", why ? why : strerror(-r));
		return;
	}
	/* The shared programs stay attached to the system kdc.slice between
	 * runs (src/core/egress.h); the first root run installs them. */
	if (cgroup_find_mount(&mnt) >= 0 && asprintf(&slice, "%s/kdc.slice", mnt) >= 0) {
		_cleanup_close_ int fd = open(slice, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || egress_shared_status(fd, &shared) < 0) {
			free(shared);
			shared = strdup("not installed (the first run as root installs them)");
		}
	}
	check_set(c, "bpf", true,
		  "the egress programs load: 'filtered' networking is available; shared egress "
		  "programs on %s: %s",
		  slice ? slice : "kdc.slice", shared ? shared : "unknown");
}

static void check_landlock(Check *c)
{
	int abi = landlock_abi();
	if (abi <= 0)
		check_set(c, "landlock", false,
			  "Landlock is not enabled in this kernel (add 'landlock' to the lsm= "
			  "boot parameter), or 'degrade = landlock'");
	else if (abi < 6)
		check_set(c, "landlock", false,
			  "Landlock ABI %d: no abstract-socket scope (ABI 6, Linux 6.12) for 'filtered' mode", abi);
	else
		check_set(c, "landlock", true, "Landlock ABI %d (filesystem rules and socket/signal scopes)", abi);
}

static void check_seccomp(Check *c)
{
	SeccompOptions o = {.allow_inet = true};
	SeccompProgram *p = NULL;
	int r;

	if (prctl(PR_GET_SECCOMP) < 0 && errno == EINVAL) {
		check_set(c, "seccomp", false, "the kernel has no seccomp (CONFIG_SECCOMP_FILTER)");
		return;
	}
	r = sandbox_seccomp_build(&o, &p);
	if (r < 0) {
		check_set(c, "seccomp", false, "cannot build the filter: %s", strerror(-r));
		return;
	}
	check_set(c, "seccomp", true, "the allow-list filter builds (%u instructions)",
		  (unsigned) sandbox_seccomp_program_fprog(p)->len);
	sandbox_seccomp_program_free(p);
}

/* What a profile needs that this host cannot give, and whether the profile
 * accepts losing it. */
static json_t *judge_profile(const char *name, const CgroupProbe *cg, bool bpf_ok, int landlock)
{
	_cleanup_plan_free_ Plan *p = NULL;
	_cleanup_free_ char *error = NULL;
	json_t *o = json_object(), *need = json_array();
	bool runs = true;
	int r;

	json_object_set_new(o, "profile", json_string(name));
	r = profile_load(name, NULL, &p, &error);
	if (r < 0) {
		json_object_set_new(o, "runs", json_false());
		json_object_set_new(o, "error", json_string(error ? error : strerror(-r)));
		json_decref(need);
		return o;
	}

#define NEED(bit, what, missing)                                               \
	do {                                                                   \
		if (missing) {                                                 \
			bool deg = p->degrade & (bit);                         \
			json_t *n = json_object();                             \
			json_object_set_new(n, "control", json_string(what));  \
			json_object_set_new(n, "degraded", json_boolean(deg)); \
			json_array_append_new(need, n);                        \
			if (!deg)                                              \
				runs = false;                                  \
		}                                                              \
	} while (0)

	NEED(DEGRADE_CGROUP, "cgroup", !cg->can_create);
	NEED(DEGRADE_MEMORY, "memory", p->memory != LIMIT_UNSET && !cgroup_list_contains(cg->controllers, "memory"));
	NEED(DEGRADE_CPU, "cpu", p->cpu != LIMIT_UNSET && !cgroup_list_contains(cg->controllers, "cpu"));
	NEED(DEGRADE_PIDS, "pids", p->pids != LIMIT_UNSET && !cgroup_list_contains(cg->controllers, "pids"));
	if (p->net == NET_FILTERED && !bpf_ok) {
		/* filtered without BPF would be an open network: never degraded */
		json_t *n = json_object();
		json_object_set_new(n, "control", json_string("egress-bpf"));
		json_object_set_new(n, "degraded", json_false());
		json_array_append_new(need, n);
		runs = false;
	}
	if (p->net == NET_FILTERED)
		NEED(DEGRADE_LANDLOCK, "landlock", landlock < 6);
	if (p->net == NET_PROXY || p->n_tools > 0) {
		/* this build has no kdc-supervisor: never degraded */
		json_t *n = json_object();
		json_object_set_new(n, "control", json_string("supervisor"));
		json_object_set_new(n, "degraded", json_false());
		json_array_append_new(need, n);
		runs = false;
	}
#undef NEED
	json_object_set_new(o, "runs", json_boolean(runs));
	json_object_set_new(o, "needs", need);
	return o;
}

static void list_profiles(char ***names)
{
	const char *env = getenv("KDC_CONFIG_PATH");
	_cleanup_strv_free_ char **dirs = NULL;
	_cleanup_free_ char *user = NULL;

	if (env)
		(void) strv_split(env, ":", &dirs);
	else {
		const char *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");
		if (x && *x)
			(void) asprintf(&user, "%s/kdc", x);
		else if (h && *h)
			(void) asprintf(&user, "%s/.config/kdc", h);
		if (user)
			(void) strv_extend(&dirs, user);
		(void) strv_extend(&dirs, SYSCONFDIR "/kdc");
		(void) strv_extend(&dirs, PKGDATADIR);
	}
	STRV_FOREACH (d, dirs) {
		_cleanup_free_ char *pd = NULL;
		DIR *dir;
		struct dirent *de;
		if (asprintf(&pd, "%s/profiles", *d) < 0 || !(dir = opendir(pd)))
			continue;
		while ((de = readdir(dir))) {
			size_t l = strlen(de->d_name);
			if (l > 4 && streq(de->d_name + l - 4, ".ini")) {
				_cleanup_free_ char *n = strndup(de->d_name, l - 4);
				if (n && !strv_contains(*names, n))
					(void) strv_extend(names, n);
			}
		}
		closedir(dir);
	}
}

int session_doctor(int argc, char *argv[])
{
	static const struct option options[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	CgroupProbe cg = {0};
	Check checks[5] = {0};
	_cleanup_strv_free_ char **names = NULL;
	json_t *root, *jc, *jp;
	bool json = false, all_ok = true;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			printf("Usage: %s doctor [--json]\n\nCheck what this host lets kdc enforce for this user, "
			       "and which profiles run here.\n",
			       log_program());
			return 0;
		default:
			log_error("doctor: unknown option '%s'; see '%s doctor --help'", argv[optind - 1],
				  log_program());
			return EXIT_ERROR;
		}
	}

	check_userns(&checks[0]);
	check_cgroup(&checks[1], &cg);
	check_bpf(&checks[2]);
	check_landlock(&checks[3]);
	check_seccomp(&checks[4]);

	root = json_object();
	jc = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(checks); i++) {
		json_t *o = json_object();
		json_object_set_new(o, "check", json_string(checks[i].name));
		json_object_set_new(o, "ok", json_boolean(checks[i].ok));
		json_object_set_new(o, "detail", json_string(checks[i].detail));
		json_array_append_new(jc, o);
		if (!checks[i].ok && (streq(checks[i].name, "userns") || streq(checks[i].name, "seccomp")))
			all_ok = false;
	}
	json_object_set_new(root, "uid", json_integer(getuid()));
	json_object_set_new(root, "checks", jc);
	list_profiles(&names);
	jp = json_array();
	STRV_FOREACH (n, names)
		json_array_append_new(jp, judge_profile(*n, &cg, checks[2].ok, landlock_abi()));
	json_object_set_new(root, "profiles", jp);

	if (json) {
		char *t = json_dumps(root, JSON_INDENT(2));
		if (t)
			puts(t);
		free(t);
	} else {
		size_t i;
		json_t *v;
		printf("kdc-run doctor (uid %u)\n", (unsigned) getuid());
		for (i = 0; i < ARRAY_SIZE(checks); i++)
			printf("  %-9s %-4s %s\n", checks[i].name, checks[i].ok ? "ok" : "no", checks[i].detail);
		printf("profiles:\n");
		json_array_foreach(jp, i, v)
		{
			json_t *need = json_object_get(v, "needs"), *n;
			size_t k;
			const char *err = json_string_value(json_object_get(v, "error"));
			bool runs = json_is_true(json_object_get(v, "runs"));
			printf("  %-12s %s", json_string_value(json_object_get(v, "profile")),
			       err    ? "invalid: "
			       : runs ? "runs"
				      : "refused: needs");
			if (err)
				printf("%s", err);
			unsigned shown = 0;
			json_array_foreach(need, k, n)
			{
				bool deg = json_is_true(json_object_get(n, "degraded"));
				if (runs != deg)
					continue;
				printf("%s%s", shown++ ? ", " : (runs ? " degrading " : " "),
				       json_string_value(json_object_get(n, "control")));
			}
			putchar('\n');
		}
	}
	json_decref(root);
	cgroup_probe_done(&cg);
	return all_ok ? 0 : 1;
}
