/* SPDX-License-Identifier: MIT */
/* The profile loader (man kdc-profile(5)).
 *
 * A file is read whole and handed to inih through our own line reader
 * (ini_parse_stream). inih r55 as Debian builds it gives the handler no line
 * number (INI_HANDLER_LINENO is a compile-time option of the library, off),
 * so the reader counts the lines it hands out: inih calls the handler for a
 * line before it asks for the next one, so the reader's count is the line of
 * the key. The reader also notes which lines are indented (inih's
 * continuation lines) and which look like a [section] header, so errors
 * about a section point at its header. We set none of the library's tunables
 * (Debian exports some as variables, upstream does not): inih hands the
 * reader a 200-byte buffer, so a line may hold at most 198 characters, and a
 * longer one is an error rather than being split.
 *
 * Each file is parsed into a list of entries first; its includes are loaded
 * before its own entries are applied, so "include" means "start from" wherever
 * it is written. Values go straight into the Plan, each with its origin
 * ("file:line"); checks that depend on the final result (workdir, mount
 * destinations, symlinks, units) run once at the end, after the overrides. */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/profile.h"
#include "shared/fileio.h"
#include "shared/macro.h"
#include "shared/strv.h"
#include "shared/units.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef PKGDATADIR
#define PKGDATADIR "/usr/share/kdc"
#endif

#define PROFILE_VERSION "1"
#define INCLUDE_DEPTH_MAX 16
#define PROFILE_SIZE_MAX (1 << 20)
#define DEFAULT_HOSTNAME "kdc"
#define HOME_DIR "/home"
/* inih keeps 49 characters of a section name: "tool " and the name. */
#define TOOL_NAME_MAX 40

/* One "key = value" as inih reported it. */
typedef struct Entry {
	char *section;
	char *key;
	char *value;
	unsigned line;
	unsigned section_line; /* the [section] header it sits under (best effort) */
	bool continuation;     /* an indented line continuing the previous key */
} Entry;

typedef struct ParsedFile {
	Entry *entries;
	size_t n_entries;
} ParsedFile;

static void parsed_file_done(ParsedFile *pf)
{
	for (size_t i = 0; i < pf->n_entries; i++) {
		free(pf->entries[i].section);
		free(pf->entries[i].key);
		free(pf->entries[i].value);
	}
	free(pf->entries);
	*pf = (ParsedFile){};
}

/* A file being loaded, for cycle detection. */
typedef struct IncludeFrame {
	const char *path;
	dev_t dev;
	ino_t ino;
} IncludeFrame;

typedef struct Loader {
	Plan *plan;
	char *error;			       /* the first error */
	IncludeFrame stack[INCLUDE_DEPTH_MAX]; /* the files being loaded, outermost first */
	size_t depth;
	char **search; /* the search path, computed when first needed */
	/* [budget] units as given, checked against each other at the end. */
	char price_unit[3][UNITS_NAME_MAX];
	bool unit_given;
} Loader;

/* What a value is being parsed for: a file key or a command-line option. */
typedef struct Where {
	const char *origin;  /* "/p.ini:12" or "--memory" */
	const char *section; /* "limits", "tool refund"; NULL for an option */
	const char *key;     /* "memory" */
	ToolSpec *tool;	     /* in a [tool NAME] section */
} Where;

static int fail(Loader *l, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(Loader *l, int r, const char *fmt, ...)
{
	va_list ap;

	if (l->error)
		return r;
	va_start(ap, fmt);
	if (vasprintf(&l->error, fmt, ap) < 0)
		l->error = NULL;
	va_end(ap);
	return r;
}

static int oom(Loader *l)
{
	return fail(l, -ENOMEM, "out of memory");
}

/* "invalid value 'x' for 'memory' in [limits]: expected ..." for a file,
 * "--memory: invalid size 'x': expected ..." for an option. */
static int bad_value(Loader *l, const Where *w, const char *value, const char *kind, const char *why)
{
	if (w->section)
		return fail(l, -EINVAL, "%s: invalid value '%s' for '%s' in [%s]: %s", w->origin, value, w->key,
			    w->section, why);
	return fail(l, -EINVAL, "%s: invalid %s '%s': %s", w->origin, kind, value, why);
}

static int set_string(char **field, const char *s)
{
	char *c = NULL;

	if (s && !(c = strdup(s)))
		return -ENOMEM;
	free(*field);
	*field = c;
	return 0;
}

static int set_origin(Loader *l, PlanField f, const char *origin)
{
	return set_string(&l->plan->origins[f], origin) < 0 ? oom(l) : 0;
}

/* ---- lists with a parallel list of origins ---- */

static int olist_add(char ***items, char ***origins, const char *item, const char *origin)
{
	int r = strv_extend(items, item);
	if (r < 0)
		return r;
	r = strv_extend(origins, origin);
	if (r < 0) {
		size_t n = strv_length(*items);
		free((*items)[n - 1]);
		(*items)[n - 1] = NULL;
	}
	return r;
}

static void olist_remove_at(char **items, char **origins, size_t i)
{
	size_t n = strv_length(items);

	free(items[i]);
	free(origins[i]);
	memmove(items + i, items + i + 1, (n - i) * sizeof(char *));
	memmove(origins + i, origins + i + 1, (n - i) * sizeof(char *));
}

static void olist_reset(char ***items, char ***origins)
{
	strv_free(*items);
	strv_free(*origins);
	*items = *origins = NULL;
}

/* Adds item, or moves an equal one (for env "NAME=": one with the same
 * prefix up to and including the '=') to the end with the new origin. */
static int olist_put(char ***items, char ***origins, const char *item, size_t key_len, const char *origin)
{
	for (size_t i = 0; *items && (*items)[i]; i++)
		if (key_len ? strncmp((*items)[i], item, key_len) == 0 : streq((*items)[i], item)) {
			olist_remove_at(*items, *origins, i);
			break;
		}
	return olist_add(items, origins, item, origin);
}

/* ---- words, names and paths ---- */

/* Splits on blanks (and the extra separators in seps); a double-quoted part
 * keeps blanks, and inside it \" and \\ stand for " and \. */
static int split_words(const char *s, const char *seps, char ***ret)
{
	_cleanup_strv_free_ char **l = NULL;
	size_t len = strlen(s);
	_cleanup_free_ char *w = malloc(len + 1);

	if (!w)
		return -ENOMEM;
	for (const char *p = s;;) {
		size_t n = 0;
		bool any = false;

		while (*p == ' ' || *p == '\t' || (*p && strchr(seps, *p)))
			p++;
		if (!*p)
			break;
		while (*p && *p != ' ' && *p != '\t' && !strchr(seps, *p)) {
			any = true;
			if (*p != '"') {
				w[n++] = *p++;
				continue;
			}
			for (p++; *p != '"'; p++) {
				if (!*p)
					return -EBADMSG; /* unterminated quote */
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				w[n++] = *p;
			}
			p++;
		}
		w[n] = 0;
		if (any && strv_extend(&l, w) < 0)
			return -ENOMEM;
	}
	if (!l && !(l = calloc(1, sizeof(char *))))
		return -ENOMEM;
	*ret = TAKE_PTR(l);
	return 0;
}

static bool env_name_valid(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char) s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char) s[i]) || s[i] == '_'))
			return false;
	return true;
}

/* Profile, tool, tenant names: a letter or digit, then letters, digits, . _ -. */
static bool name_valid(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || !isalnum((unsigned char) s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char) s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

/* RFC 1123 host name: dot-separated labels of letters, digits and '-', each
 * 1-63 long, not starting or ending with '-'. */
static bool hostname_valid(const char *s, size_t max)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];
		if (c == '.' || c == 0) {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if (isalnum((unsigned char) c) || c == '-') {
			if ((label == 0 && c == '-') || ++label > 63)
				return false;
		} else
			return false;
	}
	return true;
}

/* An absolute path with "//", "/./" and a trailing "/" removed; ".." is
 * refused (a plan names its paths exactly). */
static int path_normalize(const char *p, char **ret)
{
	_cleanup_free_ char *r = NULL;
	size_t n = 0;

	if (!p || p[0] != '/')
		return -EINVAL;
	r = malloc(strlen(p) + 2);
	if (!r)
		return -ENOMEM;
	for (const char *s = p; *s;) {
		size_t len;
		while (*s == '/')
			s++;
		len = strcspn(s, "/");
		if (len == 0)
			break;
		if (len == 2 && s[0] == '.' && s[1] == '.')
			return -EINVAL;
		if (!(len == 1 && s[0] == '.')) {
			r[n++] = '/';
			memcpy(r + n, s, len);
			n += len;
		}
		s += len;
	}
	if (n == 0)
		r[n++] = '/';
	r[n] = 0;
	*ret = TAKE_PTR(r);
	return 0;
}

/* Is path equal to or below dir? (both normalised) */
static bool path_under(const char *path, const char *dir)
{
	const char *rest = startswith(path, dir);
	return rest && (*rest == 0 || *rest == '/');
}

static size_t path_depth(const char *p)
{
	size_t d = 0;
	for (; *p; p++)
		d += *p == '/';
	return streq(p, "/") ? 0 : d;
}

/* path is word or a part of it; errors show the whole word. */
static int parse_path_word(Loader *l, const Where *w, const char *path, const char *word, const char *what, char **ret)
{
	int r = path_normalize(path, ret);
	if (r == -ENOMEM)
		return oom(l);
	if (r < 0)
		return bad_value(l, w, word, what, "expected an absolute path without '..'");
	return 0;
}

/* ---- mounts ---- */

static int mounts_put(Loader *l, MountKind kind, char *source, char *dest, uint64_t size, const char *origin)
{
	Plan *p = l->plan;
	_cleanup_free_ char *s = source, *d = dest, *o = strdup(origin);
	MountSpec *m;

	if (!o)
		return oom(l);
	/* The same destination again replaces the earlier entry. */
	for (size_t i = 0; i < p->n_mounts; i++)
		if (streq(p->mounts[i].dest, d)) {
			free(p->mounts[i].source);
			free(p->mounts[i].dest);
			free(p->mounts[i].origin);
			memmove(p->mounts + i, p->mounts + i + 1, (p->n_mounts - i - 1) * sizeof(MountSpec));
			p->n_mounts--;
			break;
		}
	m = realloc(p->mounts, (p->n_mounts + 1) * sizeof(MountSpec));
	if (!m)
		return oom(l);
	p->mounts = m;
	p->mounts[p->n_mounts++] = (MountSpec){
	    .kind = kind,
	    .source = TAKE_PTR(s),
	    .dest = TAKE_PTR(d),
	    .size = size,
	    .origin = TAKE_PTR(o),
	};
	return 0;
}

static void mounts_reset(Loader *l, const Where *w, size_t kind)
{
	Plan *p = l->plan;
	size_t n = 0;

	for (size_t i = 0; i < p->n_mounts; i++) {
		if (p->mounts[i].kind == (MountKind) kind) {
			free(p->mounts[i].source);
			free(p->mounts[i].dest);
			free(p->mounts[i].origin);
		} else
			p->mounts[n++] = p->mounts[i];
	}
	p->n_mounts = n;
}

static const char *mount_key(MountKind k)
{
	static const char *const keys[] = {
	    [MOUNT_RO] = "ro",	   [MOUNT_RW] = "rw",	      [MOUNT_TMPFS] = "tmpfs",
	    [MOUNT_MASK] = "mask", [MOUNT_RO_TRY] = "ro-try", [MOUNT_SYMLINK] = "ro",
	};
	return keys[k];
}

/* ro / ro-try / rw: SRC[:DST]. On the command line a relative SRC is taken
 * from the current directory. */
static int add_bind(Loader *l, const Where *w, const char *word, size_t kind)
{
	_cleanup_free_ char *src = NULL, *dst = NULL, *spec = strdup(word);
	char *colon;
	int r;

	if (!spec)
		return oom(l);
	colon = strchr(spec, ':');
	if (colon)
		*colon = 0;
	if (!w->section && spec[0] != '/') {
		src = realpath(spec, NULL);
		if (!src)
			return fail(l, -errno, "%s: cannot use '%s': %s", w->origin, spec, strerror(errno));
	} else {
		r = parse_path_word(l, w, spec, word, "source", &src);
		if (r < 0)
			return r;
	}
	if (colon) {
		r = parse_path_word(l, w, colon + 1, word, "destination", &dst);
		if (r < 0)
			return r;
	} else if (!(dst = strdup(src)))
		return oom(l);
	return mounts_put(l, kind, TAKE_PTR(src), TAKE_PTR(dst), 0, w->origin);
}

static int add_tmpfs(Loader *l, const Where *w, const char *word, size_t kind)
{
	_cleanup_free_ char *spec = strdup(word), *dst = NULL;
	uint64_t size = 0;
	char *colon;
	int r;

	if (!spec)
		return oom(l);
	colon = strchr(spec, ':');
	if (colon) {
		*colon = 0;
		r = units_parse_size(colon + 1, false, &size);
		if (r < 0 || size == 0)
			return bad_value(l, w, word, "tmpfs", "expected DST[:SIZE] with a size such as 64M");
	}
	r = parse_path_word(l, w, spec, word, "tmpfs", &dst);
	if (r < 0)
		return r;
	return mounts_put(l, MOUNT_TMPFS, NULL, TAKE_PTR(dst), size, w->origin);
}

static int add_mask(Loader *l, const Where *w, const char *word, size_t kind)
{
	char *dst = NULL;
	int r = parse_path_word(l, w, word, word, "path", &dst);
	if (r < 0)
		return r;
	return mounts_put(l, MOUNT_MASK, NULL, dst, 0, w->origin);
}

static int set_workdir(Loader *l, const Where *w, const char *value, size_t arg)
{
	Plan *p = l->plan;
	_cleanup_free_ char *v = NULL;

	if (isempty(value))
		value = "cwd";
	if (streq(value, "cwd") || streq(value, "none") || !w->section)
		v = strdup(value);
	else if (path_normalize(value, &v) < 0)
		return bad_value(l, w, value, "workdir", "expected an absolute path, 'cwd' or 'none'");
	if (!v)
		return oom(l);
	free(p->workdir);
	p->workdir = TAKE_PTR(v);
	return set_origin(l, PLAN_WORKDIR, w->origin);
}

/* A key with two words: off (also the empty value) and on. */
static int set_switch(Loader *l, const Where *w, const char *value, const char *off, const char *on, bool *field,
		      PlanField f, const char *why)
{
	if (isempty(value) || streq(value, off))
		*field = false;
	else if (streq(value, on))
		*field = true;
	else
		return bad_value(l, w, value, w->key, why);
	return set_origin(l, f, w->origin);
}

static int set_home(Loader *l, const Where *w, const char *value, size_t arg)
{
	return set_switch(l, w, value, "none", "tmpfs", &l->plan->home_tmpfs, PLAN_HOME, "expected 'tmpfs' or 'none'");
}

/* ---- [env] ---- */

static int add_env_keep(Loader *l, const Where *w, const char *word, size_t arg)
{
	Plan *p = l->plan;

	if (!env_name_valid(word, strlen(word)))
		return bad_value(l, w, word, "variable name", "expected a variable name such as LANG");
	if (olist_put(&p->env_keep, &p->env_keep_origins, word, 0, w->origin) < 0)
		return oom(l);
	return 0;
}

static int add_env_set(Loader *l, const Where *w, const char *word, size_t arg)
{
	Plan *p = l->plan;
	const char *eq = strchr(word, '=');

	if (!eq || !env_name_valid(word, (size_t) (eq - word)))
		return bad_value(l, w, word, "variable", "expected NAME=value");
	if (olist_put(&p->env_set, &p->env_set_origins, word, (size_t) (eq - word) + 1, w->origin) < 0)
		return oom(l);
	return 0;
}

static void reset_env_keep(Loader *l, const Where *w, size_t arg)
{
	olist_reset(&l->plan->env_keep, &l->plan->env_keep_origins);
}

static void reset_env_set(Loader *l, const Where *w, size_t arg)
{
	olist_reset(&l->plan->env_set, &l->plan->env_set_origins);
}

/* ---- [limits] ---- */

static uint64_t *limit_field(Plan *p, PlanField f)
{
	switch (f) {
	case PLAN_MEMORY:
		return &p->memory;
	case PLAN_SWAP:
		return &p->swap;
	case PLAN_CPU:
		return &p->cpu;
	case PLAN_PIDS:
		return &p->pids;
	case PLAN_WALL:
		return &p->wall_usec;
	case PLAN_NOFILE:
		return &p->nofile;
	case PLAN_TMP:
		return &p->tmp_size;
	default:
		abort();
	}
}

static int set_limit(Loader *l, const Where *w, const char *value, size_t arg)
{
	PlanField f = (PlanField) arg;
	/* "max"/"infinity" lift a limit an included profile set. */
	bool allow_max = f == PLAN_MEMORY || f == PLAN_SWAP || f == PLAN_PIDS || f == PLAN_WALL;
	const char *kind, *why;
	uint64_t v = LIMIT_UNSET;
	int r = 0;

	switch (f) {
	case PLAN_MEMORY:
	case PLAN_SWAP:
	case PLAN_TMP:
		kind = "size";
		why = "expected a size such as 512M";
		break;
	case PLAN_CPU:
		kind = "cpu value";
		why = "expected cores such as 1.5 or a percentage such as 150%";
		allow_max = true;
		break;
	case PLAN_WALL:
		kind = "duration";
		why = "expected a duration such as 30s, 10m or 1h";
		break;
	default:
		kind = "number";
		why = "expected a whole number greater than 0";
		break;
	}
	if (!isempty(value)) {
		if (f == PLAN_CPU)
			r = units_parse_cpu(value, &v);
		else if (f == PLAN_WALL)
			r = units_parse_duration(value, allow_max, &v);
		else if (kind[0] == 's')
			r = units_parse_size(value, allow_max, &v);
		else if (allow_max && (streq(value, "max") || streq(value, "infinity")))
			v = LIMIT_UNSET;
		else
			r = units_parse_uint64(value, &v);
		if (r == -ERANGE && f == PLAN_CPU && value[strspn(value, "0.%")] == 0)
			v = 0; /* units_parse_cpu() refuses 0 with ERANGE: say why below */
		else if (r == -ERANGE)
			return bad_value(l, w, value, kind, "out of range");
		else if (r < 0)
			return bad_value(l, w, value, kind, why);
		if (v == 0 && f != PLAN_SWAP)
			return bad_value(l, w, value, kind, "must be greater than 0");
	}
	*limit_field(l->plan, f) = v;
	return set_origin(l, f, w->origin);
}

/* ---- [network] ---- */

static int set_net_mode(Loader *l, const Where *w, const char *value, size_t arg)
{
	int m = isempty(value) ? NET_NONE : net_mode_from_string(value);
	if (m < 0)
		return bad_value(l, w, value, "network mode", "expected none, proxy or filtered");
	l->plan->net = (NetMode) m;
	return set_origin(l, PLAN_NET, w->origin);
}

static bool cidr_valid(const char *host, bool v6)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char buf[16];
	const char *slash = strchr(host, '/');
	size_t n = slash ? (size_t) (slash - host) : strlen(host);
	unsigned max = v6 ? 128 : 32, bits = max;

	if (n == 0 || n >= sizeof(addr))
		return false;
	memcpy(addr, host, n);
	addr[n] = 0;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, buf) != 1)
		return false;
	if (slash) {
		uint64_t b;
		if (units_parse_uint64(slash + 1, &b) < 0 || b > max)
			return false;
		bits = (unsigned) b;
	}
	/* No host bits below the prefix: 198.51.100.7/24 is a mistake. */
	for (unsigned i = bits; i < max; i++)
		if (buf[i / 8] & (0x80u >> (i % 8)))
			return false;
	return true;
}

static bool host_valid(const char *host)
{
	const char *h;

	if (streq(host, "*") || cidr_valid(host, false))
		return true;
	h = startswith(host, "*.") ?: host;
	return !strchr(h, '/') && hostname_valid(h, 253);
}

/* HOST[:PORT], *.domain[:PORT], a.b.c.d[/len][:PORT], [v6[/len]][:PORT] or a
 * bare v6[/len] (no port without brackets), as the egress allowlist takes
 * them (egress.h); PORT is 1-65535 or '*', and no port means any port. */
static bool allow_valid(const char *s)
{
	_cleanup_free_ char *host = NULL;
	const char *port = NULL;
	uint64_t p;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || (end[1] && end[1] != ':'))
			return false;
		host = strndup(s + 1, (size_t) (end - s - 1));
		if (!host || !cidr_valid(host, true))
			return false;
		port = end[1] ? end + 2 : NULL;
	} else if (strchr(s, ':') && strchr(s, ':') != strrchr(s, ':')) {
		return cidr_valid(s, true); /* bare IPv6: no port */
	} else {
		const char *colon = strchr(s, ':');
		host = colon ? strndup(s, (size_t) (colon - s)) : strdup(s);
		if (!host || !host_valid(host))
			return false;
		port = colon ? colon + 1 : NULL;
	}
	if (!port || streq(port, "*"))
		return true;
	return units_parse_uint64(port, &p) == 0 && p >= 1 && p <= 65535;
}

static int add_allow(Loader *l, const Where *w, const char *word, size_t arg)
{
	Plan *p = l->plan;

	if (!allow_valid(word))
		return bad_value(l, w, word, "destination",
				 "expected HOST[:PORT], *.domain[:PORT], CIDR[:PORT] or [IPv6][:PORT]");
	if (olist_put(&p->allow, &p->allow_origins, word, 0, w->origin) < 0)
		return oom(l);
	return 0;
}

static void reset_allow(Loader *l, const Where *w, size_t arg)
{
	olist_reset(&l->plan->allow, &l->plan->allow_origins);
}

/* ---- [seccomp] ---- */

static int add_syscall(Loader *l, const Where *w, const char *word, size_t deny)
{
	Plan *p = l->plan;

	/* Names are checked against the kernel's table by the seccomp module;
	 * here only their spelling, so "open,close" is caught with its line. */
	for (const char *c = word; *c; c++)
		if (!islower((unsigned char) *c) && !isdigit((unsigned char) *c) && *c != '_')
			return bad_value(l, w, word, "syscall",
					 "expected syscall names such as ptrace, separated by blanks");
	if (olist_put(deny ? &p->seccomp_deny : &p->seccomp_allow,
		      deny ? &p->seccomp_deny_origins : &p->seccomp_allow_origins, word, 0, w->origin) < 0)
		return oom(l);
	return 0;
}

static void reset_syscalls(Loader *l, const Where *w, size_t deny)
{
	if (deny)
		olist_reset(&l->plan->seccomp_deny, &l->plan->seccomp_deny_origins);
	else
		olist_reset(&l->plan->seccomp_allow, &l->plan->seccomp_allow_origins);
}

static int set_on_violation(Loader *l, const Where *w, const char *value, size_t arg)
{
	return set_switch(l, w, value, "errno", "kill", &l->plan->seccomp_kill, PLAN_SECCOMP_KILL,
			  "expected errno or kill");
}

/* ---- [sandbox] ---- */

static int set_degrade(Loader *l, const Where *w, const char *value, size_t arg)
{
	_cleanup_strv_free_ char **words = NULL;
	unsigned mask = 0;

	if (split_words(value, ",", &words) < 0)
		return oom(l);
	STRV_FOREACH (s, words) {
		int d = degrade_from_string(*s);
		if (d < 0)
			return bad_value(l, w, *s, "control",
					 "expected memory, cpu, pids, cgroup, egress-bpf, landlock or budget");
		mask |= (unsigned) d;
	}
	l->plan->degrade = mask;
	return set_origin(l, PLAN_DEGRADE, w->origin);
}

static int set_terminal(Loader *l, const Where *w, const char *value, size_t arg)
{
	bool b = false;

	if (!isempty(value) && units_parse_bool(value, &b) < 0)
		return bad_value(l, w, value, "boolean", "expected yes or no");
	l->plan->terminal = b;
	return set_origin(l, PLAN_TERMINAL, w->origin);
}

static int set_hostname(Loader *l, const Where *w, const char *value, size_t arg)
{
	if (isempty(value))
		value = DEFAULT_HOSTNAME;
	if (!hostname_valid(value, 64))
		return bad_value(l, w, value, "hostname",
				 "expected a host name such as kdc (letters, digits, '-' and '.')");
	if (set_string(&l->plan->hostname, value) < 0)
		return oom(l);
	return set_origin(l, PLAN_HOSTNAME, w->origin);
}

/* ---- [profile] ---- */

static char **text_field(Loader *l, const Where *w, size_t arg)
{
	return w->tool ? (char **) ((char *) w->tool + arg) : (char **) ((char *) l->plan + arg);
}

/* Free text; an indented continuation line is appended after a blank. */
static int set_text(Loader *l, const Where *w, const char *value, size_t arg, bool continuation)
{
	char **field = text_field(l, w, arg);
	char *v = NULL;

	if (continuation && *field) {
		if (asprintf(&v, "%s %s", *field, value) < 0)
			return oom(l);
	} else if (!isempty(value) && !(v = strdup(value)))
		return oom(l);
	free(*field);
	*field = v;
	return 0;
}

/* ---- [budget] ---- */

static int parse_amount(Loader *l, const Where *w, const char *value, int64_t *ret, char unit[UNITS_NAME_MAX])
{
	int r = units_parse_amount(value, false, ret, unit);
	if (r == -ERANGE)
		return bad_value(l, w, value, "amount", "must be 0 or more, and not that large");
	if (r < 0)
		return bad_value(l, w, value, "amount", "expected an amount with its unit such as 0.50USD");
	return 0;
}

static int set_budget_unit(Loader *l, const Where *w, const char *value, size_t arg)
{
	Plan *p = l->plan;

	if (!isempty(value) && !units_valid_unit_name(value))
		return bad_value(l, w, value, "unit", "expected a unit name such as USD");
	snprintf(p->budget_unit, sizeof(p->budget_unit), "%s", isempty(value) ? "" : value);
	l->unit_given = !isempty(value);
	return set_origin(l, PLAN_BUDGET_UNIT, w->origin);
}

static int set_price(Loader *l, const Where *w, const char *value, size_t arg)
{
	PlanField f = (PlanField) arg;
	int64_t *field = f == PLAN_PRICE_CPU	? &l->plan->price_cpu_s
			 : f == PLAN_PRICE_WALL ? &l->plan->price_wall_s
						: &l->plan->hold;
	char *unit = l->price_unit[f - PLAN_PRICE_CPU];
	int64_t v = 0;

	unit[0] = 0;
	if (!isempty(value)) {
		int r = parse_amount(l, w, value, &v, unit);
		if (r < 0)
			return r;
	}
	*field = v;
	return set_origin(l, f, w->origin);
}

/* ---- [tool NAME] ---- */

static int tool_get(Loader *l, const char *name, ToolSpec **ret)
{
	Plan *p = l->plan;
	ToolSpec *t;

	for (size_t i = 0; i < p->n_tools; i++)
		if (streq(p->tools[i].name, name)) {
			*ret = &p->tools[i];
			return 0;
		}
	t = realloc(p->tools, (p->n_tools + 1) * sizeof(ToolSpec));
	if (!t)
		return -ENOMEM;
	p->tools = t;
	t = &p->tools[p->n_tools];
	*t = (ToolSpec){};
	if (!(t->name = strdup(name)))
		return -ENOMEM;
	p->n_tools++;
	*ret = t;
	return 0;
}

static int set_tool_origin(Loader *l, const Where *w, ToolField f)
{
	return set_string(&w->tool->origins[f], w->origin) < 0 ? oom(l) : 0;
}

static int set_tool_command(Loader *l, const Where *w, const char *value, size_t arg)
{
	_cleanup_free_ char *c = NULL;

	if (!isempty(value) && path_normalize(value, &c) < 0)
		return bad_value(l, w, value, "command", "expected an absolute path to the program");
	free(w->tool->command);
	w->tool->command = TAKE_PTR(c);
	return set_tool_origin(l, w, TOOL_COMMAND);
}

static int add_tool_secret(Loader *l, const Where *w, const char *word, size_t arg)
{
	if (!env_name_valid(word, strlen(word)))
		return bad_value(l, w, word, "secret", "expected a secret name such as STRIPE_KEY");
	if (olist_put(&w->tool->secrets, &w->tool->secrets_origins, word, 0, w->origin) < 0)
		return oom(l);
	return 0;
}

static void reset_tool_secrets(Loader *l, const Where *w, size_t arg)
{
	olist_reset(&w->tool->secrets, &w->tool->secrets_origins);
}

/* "order:string amount:number": NAME:TYPE words. */
static int set_tool_args(Loader *l, const Where *w, const char *value, size_t arg)
{
	static const char *const types[] = {"string", "number", "integer", "boolean"};
	_cleanup_strv_free_ char **words = NULL;
	int r;

	if (split_words(value, "", &words) < 0)
		return oom(l);
	STRV_FOREACH (s, words) {
		const char *colon = strchr(*s, ':');
		bool ok = false;
		if (colon && env_name_valid(*s, (size_t) (colon - *s)))
			for (size_t i = 0; i < ARRAY_SIZE(types); i++)
				ok = ok || streq(colon + 1, types[i]);
		if (!ok)
			return bad_value(l, w, *s, "argument",
					 "expected NAME:TYPE with TYPE string, number, integer or boolean");
	}
	r = set_text(l, w, value, offsetof(ToolSpec, args), false);
	if (r < 0)
		return r;
	return set_tool_origin(l, w, TOOL_ARGS);
}

static int set_tool_cost(Loader *l, const Where *w, const char *value, size_t max)
{
	ToolSpec *t = w->tool;
	int64_t v = 0;
	char unit[UNITS_NAME_MAX] = "";

	if (!isempty(value)) {
		int r = parse_amount(l, w, value, &v, unit);
		if (r < 0)
			return r;
		/* cost and max_cost are one currency: the hold and the charge. */
		if (t->cost_unit[0] && !streq(t->cost_unit, unit) &&
		    (max ? t->origins[TOOL_COST] : t->origins[TOOL_MAX_COST]))
			return fail(l, -EINVAL, "%s: unit '%s' of '%s' in [%s] differs from '%s' of '%s'", w->origin,
				    unit, w->key, w->section, t->cost_unit, max ? "cost" : "max_cost");
		snprintf(t->cost_unit, sizeof(t->cost_unit), "%s", unit);
	}
	if (max)
		t->max_cost = v;
	else
		t->cost = v;
	return set_tool_origin(l, w, max ? TOOL_MAX_COST : TOOL_COST);
}

/* "10/min", "100/1h burst 20". */
static int set_tool_rate(Loader *l, const Where *w, const char *value, size_t arg)
{
	ToolSpec *t = w->tool;
	_cleanup_strv_free_ char **words = NULL;
	_cleanup_free_ char *count = NULL, *period = NULL;
	uint64_t c, per, burst = 0;
	const char *slash;
	int r;

	if (isempty(value)) {
		t->rate_count = t->rate_period_usec = t->rate_burst = 0;
		r = set_string(&t->rate, NULL);
		return r < 0 ? oom(l) : set_tool_origin(l, w, TOOL_RATE);
	}
	if (split_words(value, "", &words) < 0)
		return oom(l);
	if (!words[0] || !(slash = strchr(words[0], '/')))
		goto bad;
	count = strndup(words[0], (size_t) (slash - words[0]));
	if (!count || asprintf(&period, "%s%s", isdigit((unsigned char) slash[1]) ? "" : "1", slash + 1) < 0)
		return oom(l);
	if (units_parse_uint64(count, &c) < 0 || c == 0 || units_parse_duration(period, false, &per) < 0 || per == 0)
		goto bad;
	if (words[1]) {
		if (!streq(words[1], "burst") || !words[2] || words[3] || units_parse_uint64(words[2], &burst) < 0 ||
		    burst == 0)
			goto bad;
	}
	if (set_string(&t->rate, value) < 0)
		return oom(l);
	t->rate_count = c;
	t->rate_period_usec = per;
	t->rate_burst = burst;
	return set_tool_origin(l, w, TOOL_RATE);
bad:
	return bad_value(l, w, value, "rate", "expected COUNT/PERIOD [burst N] such as 10/min burst 5");
}

static int set_tool_timeout(Loader *l, const Where *w, const char *value, size_t arg)
{
	uint64_t v = 0;

	if (!isempty(value) && (units_parse_duration(value, false, &v) < 0 || v == 0))
		return bad_value(l, w, value, "duration", "expected a duration greater than 0 such as 20s");
	w->tool->timeout_usec = v;
	return set_tool_origin(l, w, TOOL_TIMEOUT);
}

/* ---- the keys ---- */

enum {
	KEY_LIST = 1u << 0,   /* words accumulate; "key =" empties; may continue on indented lines */
	KEY_TEXT = 1u << 1,   /* free text; may continue on indented lines */
	KEY_COMMAS = 1u << 2, /* words may also be separated by commas */
};

typedef struct KeyInfo {
	const char *section; /* "tool" for [tool NAME] */
	const char *key;
	/* Scalar keys get the whole value, list keys one word at a time. */
	int (*parse)(Loader *l, const Where *w, const char *value, size_t arg);
	void (*reset)(Loader *l, const Where *w, size_t arg); /* list keys */
	size_t arg;
	unsigned flags;
	int field; /* PlanField / ToolField of a text key, -1 otherwise */
} KeyInfo;

static const KeyInfo keys[] = {
    {"profile", "version", NULL, NULL, 0, 0, -1},
    {"profile", "include", NULL, NULL, 0, KEY_LIST | KEY_COMMAS, -1},
    {"profile", "description", NULL, NULL, offsetof(Plan, description), KEY_TEXT, PLAN_DESCRIPTION},
    {"filesystem", "ro", add_bind, mounts_reset, MOUNT_RO, KEY_LIST, -1},
    {"filesystem", "ro-try", add_bind, mounts_reset, MOUNT_RO_TRY, KEY_LIST, -1},
    {"filesystem", "rw", add_bind, mounts_reset, MOUNT_RW, KEY_LIST, -1},
    {"filesystem", "tmpfs", add_tmpfs, mounts_reset, MOUNT_TMPFS, KEY_LIST, -1},
    {"filesystem", "mask", add_mask, mounts_reset, MOUNT_MASK, KEY_LIST, -1},
    {"filesystem", "workdir", set_workdir, NULL, 0, 0, -1},
    {"filesystem", "home", set_home, NULL, 0, 0, -1},
    {"env", "keep", add_env_keep, reset_env_keep, 0, KEY_LIST, -1},
    {"env", "set", add_env_set, reset_env_set, 0, KEY_LIST, -1},
    {"limits", "memory", set_limit, NULL, PLAN_MEMORY, 0, -1},
    {"limits", "swap", set_limit, NULL, PLAN_SWAP, 0, -1},
    {"limits", "cpu", set_limit, NULL, PLAN_CPU, 0, -1},
    {"limits", "pids", set_limit, NULL, PLAN_PIDS, 0, -1},
    {"limits", "wall", set_limit, NULL, PLAN_WALL, 0, -1},
    {"limits", "nofile", set_limit, NULL, PLAN_NOFILE, 0, -1},
    {"limits", "tmp", set_limit, NULL, PLAN_TMP, 0, -1},
    {"network", "mode", set_net_mode, NULL, 0, 0, -1},
    {"network", "allow", add_allow, reset_allow, 0, KEY_LIST | KEY_COMMAS, -1},
    {"seccomp", "deny", add_syscall, reset_syscalls, 1, KEY_LIST, -1},
    {"seccomp", "allow", add_syscall, reset_syscalls, 0, KEY_LIST, -1},
    {"seccomp", "on_violation", set_on_violation, NULL, 0, 0, -1},
    {"sandbox", "degrade", set_degrade, NULL, 0, 0, -1},
    {"sandbox", "terminal", set_terminal, NULL, 0, 0, -1},
    {"sandbox", "hostname", set_hostname, NULL, 0, 0, -1},
    {"budget", "unit", set_budget_unit, NULL, 0, 0, -1},
    {"budget", "cpu", set_price, NULL, PLAN_PRICE_CPU, 0, -1},
    {"budget", "wall", set_price, NULL, PLAN_PRICE_WALL, 0, -1},
    {"budget", "hold", set_price, NULL, PLAN_HOLD, 0, -1},
    {"tool", "description", NULL, NULL, offsetof(ToolSpec, description), KEY_TEXT, TOOL_DESCRIPTION},
    {"tool", "command", set_tool_command, NULL, 0, 0, -1},
    {"tool", "secret", add_tool_secret, reset_tool_secrets, 0, KEY_LIST, -1},
    {"tool", "args", set_tool_args, NULL, 0, 0, -1},
    {"tool", "rule", NULL, NULL, offsetof(ToolSpec, rule), KEY_TEXT, TOOL_RULE},
    {"tool", "approve", NULL, NULL, offsetof(ToolSpec, approve), KEY_TEXT, TOOL_APPROVE},
    {"tool", "cost", set_tool_cost, NULL, 0, 0, -1},
    {"tool", "max_cost", set_tool_cost, NULL, 1, 0, -1},
    {"tool", "rate", set_tool_rate, NULL, 0, 0, -1},
    {"tool", "timeout", set_tool_timeout, NULL, 0, 0, -1},
};

static bool section_known(const char *section)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (streq(keys[i].section, section))
			return true;
	return false;
}

static const KeyInfo *key_lookup(const char *section, const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (streq(keys[i].section, section) && streq(keys[i].key, key))
			return &keys[i];
	return NULL;
}

/* Applies one value: a whole scalar, or the words of a list. */
static int apply_value(Loader *l, const KeyInfo *k, const Where *w, const char *value, bool continuation)
{
	_cleanup_strv_free_ char **words = NULL;
	int r;

	if (k->flags & KEY_TEXT) {
		r = set_text(l, w, value, k->arg, continuation);
		if (r < 0 || continuation)
			return r; /* the origin stays the key's first line */
		return set_string(w->tool ? &w->tool->origins[k->field] : &l->plan->origins[k->field], w->origin) < 0
			   ? oom(l)
			   : 0;
	}
	if (!(k->flags & KEY_LIST))
		return k->parse(l, w, value, k->arg);
	if (isempty(value)) {
		k->reset(l, w, k->arg);
		return 0;
	}
	r = split_words(value, k->flags & KEY_COMMAS ? "," : "", &words);
	if (r == -EBADMSG)
		return bad_value(l, w, value, k->key, "unterminated double quote");
	if (r < 0)
		return oom(l);
	STRV_FOREACH (s, words) {
		r = k->parse(l, w, *s, k->arg);
		if (r < 0)
			return r;
	}
	return 0;
}

static int apply_entry(Loader *l, const char *path, const Entry *e)
{
	char origin[PATH_MAX + 16];
	Where w = {.origin = origin, .section = e->section, .key = e->key};
	const char *kind = e->section, *tool;
	const KeyInfo *k;

	snprintf(origin, sizeof(origin), "%s:%u", path, e->line);
	if (isempty(e->section))
		return fail(l, -EINVAL, "%s: key '%s' outside of any section", origin, e->key);
	tool = startswith(e->section, "tool");
	if (tool && (*tool == ' ' || *tool == '\t' || *tool == 0)) {
		char header[PATH_MAX + 16];
		kind = "tool";
		tool += strspn(tool, " \t");
		if (!name_valid(tool, TOOL_NAME_MAX))
			return fail(l, -EINVAL,
				    "%s:%u: invalid tool name '%s' in [%s]: expected up to %d letters, digits, "
				    "'.', '_' or '-'",
				    path, e->section_line, tool, e->section, TOOL_NAME_MAX);
		snprintf(header, sizeof(header), "%s:%u", path, e->section_line);
		if (tool_get(l, tool, &w.tool) < 0 || set_string(&w.tool->origins[TOOL_SECTION], header) < 0)
			return oom(l);
	}
	if (!section_known(kind))
		return fail(l, -EINVAL, "%s:%u: unknown section [%s]", path, e->section_line, e->section);
	k = key_lookup(kind, e->key);
	if (!k)
		return fail(l, -EINVAL, "%s: unknown key '%s' in [%s]", origin, e->key, e->section);
	if (e->continuation && !(k->flags & (KEY_LIST | KEY_TEXT)))
		return fail(l, -EINVAL, "%s: indented line continues '%s' in [%s], which takes one value", origin,
			    e->key, e->section);
	if (!k->parse && !(k->flags & KEY_TEXT))
		return 0; /* version, include: see load_file() */
	return apply_value(l, k, &w, e->value, e->continuation);
}

/* ---- reading a file ---- */

typedef struct Reader {
	const char *p, *end;
	unsigned line;	       /* the line last handed to inih */
	unsigned header_line;  /* the last line that looked like a [section] header */
	unsigned long_line;    /* the first line too long for inih's buffer */
	unsigned long_section; /* the first header whose name inih would cut */
	int max_line;	       /* characters of a line that fit inih's buffer */
	bool indented;
	bool oom;
	ParsedFile *pf;
} Reader;

static char *reader_next(char *buf, int size, void *userdata)
{
	Reader *rd = userdata;
	const char *nl, *s;
	size_t len;

	if (rd->oom || rd->long_line || rd->long_section || rd->p >= rd->end)
		return NULL;
	nl = memchr(rd->p, '\n', (size_t) (rd->end - rd->p));
	len = nl ? (size_t) (nl - rd->p) + 1 : (size_t) (rd->end - rd->p);
	rd->line++;
	rd->max_line = size - 2; /* room for the newline and the NUL */
	if (len >= (size_t) size) {
		rd->long_line = rd->line;
		return NULL;
	}
	memcpy(buf, rd->p, len);
	buf[len] = 0;
	rd->p += len;
	s = buf;
	if (rd->line == 1 && startswith(s, "\xEF\xBB\xBF"))
		s += 3;
	rd->indented = *s == ' ' || *s == '\t';
	s += strspn(s, " \t");
	if (*s == '[') {
		rd->header_line = rd->line;
		/* inih silently cuts section names after 49 characters */
		if (strcspn(s + 1, "]\n") > 49) {
			rd->long_section = rd->line;
			return NULL;
		}
	}
	return buf;
}

static int reader_entry(void *userdata, const char *section, const char *name, const char *value)
{
	Reader *rd = userdata;
	ParsedFile *pf = rd->pf;
	const Entry *prev = pf->n_entries ? &pf->entries[pf->n_entries - 1] : NULL;
	Entry *n, e = {
		      .line = rd->line,
		      .section_line = rd->header_line ? rd->header_line : rd->line,
		  };

	/* inih continues the previous key on an indented line, and calls us
	 * again with that key's name. */
	e.continuation = rd->indented && prev && prev->line < rd->line && rd->header_line < prev->line &&
			 streq(prev->key, name) && streq(prev->section, section);
	n = realloc(pf->entries, (pf->n_entries + 1) * sizeof(Entry));
	if (!n)
		goto oom;
	pf->entries = n;
	e.section = strdup(section);
	e.key = strdup(name);
	e.value = strdup(value);
	if (!e.section || !e.key || !e.value) {
		free(e.section);
		free(e.key);
		free(e.value);
		goto oom;
	}
	pf->entries[pf->n_entries++] = e;
	return 1;
oom:
	rd->oom = true;
	return 0;
}

static int parse_file(Loader *l, const char *path, const char *data, size_t size, ParsedFile *ret)
{
	_cleanup_(parsed_file_done) ParsedFile pf = {};
	Reader rd = {.p = data, .end = data + size, .pf = &pf};
	int r;

	if (memchr(data, 0, size))
		return fail(l, -EINVAL, "%s: contains a NUL byte; a profile is a text file", path);
	r = ini_parse_stream(reader_next, &rd, reader_entry, &rd);
	if (rd.oom || r == -2)
		return oom(l);
	if (r > 0)
		return fail(l, -EINVAL, "%s:%d: syntax error: expected [section], key = value, or a comment", path, r);
	if (r < 0)
		return fail(l, -EIO, "%s: cannot parse", path);
	if (rd.long_line)
		return fail(l, -EINVAL,
			    "%s:%u: line too long: at most %d characters; split the list over several lines", path,
			    rd.long_line, rd.max_line);
	if (rd.long_section)
		return fail(l, -EINVAL, "%s:%u: section name too long: at most 49 characters", path, rd.long_section);
	*ret = pf;
	pf = (ParsedFile){};
	return 0;
}

/* ---- finding files ---- */

/* The strings up to NULL in one new string (no printf: this is on the
 * start-up path of every run). */
static char *strjoin(const char *s, ...)
{
	va_list ap;
	size_t len = 0;
	char *r, *p;

	va_start(ap, s);
	for (const char *a = s; a; a = va_arg(ap, const char *))
		len += strlen(a);
	va_end(ap);
	r = p = malloc(len + 1);
	if (!r)
		return NULL;
	va_start(ap, s);
	for (const char *a = s; a; a = va_arg(ap, const char *))
		p = stpcpy(p, a);
	va_end(ap);
	return r;
}

static int search_path(Loader *l, char ***ret)
{
	_cleanup_strv_free_ char **dirs = NULL;
	const char *env = getenv("KDC_CONFIG_PATH");

	if (l->search) {
		*ret = l->search;
		return 0;
	}
	if (!isempty(env)) {
		_cleanup_free_ char *cwd = NULL;
		if (strv_split(env, ":", &dirs) < 0)
			return -ENOMEM;
		/* Relative entries are taken from the current directory now, so
		 * every path the plan and its errors name is absolute. */
		for (size_t i = 0; dirs[i]; i++) {
			char *a;
			if (dirs[i][0] == '/')
				continue;
			if (!cwd && !(cwd = getcwd(NULL, 0)))
				return negative_errno();
			a = strjoin(cwd, "/", dirs[i], NULL);
			if (!a)
				return -ENOMEM;
			free(dirs[i]);
			dirs[i] = a;
		}
	} else {
		_cleanup_free_ char *user = NULL;
		const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
		if (!isempty(xdg) && xdg[0] == '/') {
			if (!(user = strjoin(xdg, "/kdc", NULL)))
				return -ENOMEM;
		} else if (!isempty(home) && home[0] == '/') {
			if (!(user = strjoin(home, "/.config/kdc", NULL)))
				return -ENOMEM;
		}
		if ((user && strv_extend(&dirs, user) < 0) || strv_extend(&dirs, SYSCONFDIR "/kdc") < 0 ||
		    strv_extend(&dirs, PKGDATADIR) < 0)
			return -ENOMEM;
	}
	l->search = TAKE_PTR(dirs);
	*ret = l->search;
	return 0;
}

/* "/p.ini:3: " before a message about an include, nothing for the top file. */
#define AT_FMT "%s%s"
#define AT_ARGS(where) (where) ?: "", (where) ? ": " : ""

/* NAME: <dir>/NAME.ini beside the including file first (dir is NULL for the
 * top file), then <search>/profiles/NAME.ini. A PATH (with a '/'): relative to
 * dir, or to the current directory for the top file. Returns the path as it
 * will be shown, and the open file. */
static int find_profile(Loader *l, const char *dir, const char *what, const char *where, char **ret_path, int *ret_fd)
{
	_cleanup_strv_free_ char **tried = NULL;
	_cleanup_free_ char *joined = NULL;
	char **search;
	int r;

	if (strchr(what, '/')) {
		_cleanup_free_ char *p = NULL, *cwd = NULL;
		int fd;
		if (what[0] == '/')
			p = strdup(what);
		else if (dir) {
			const char *rel = what;
			while (startswith(rel, "./"))
				rel += 2;
			p = strjoin(dir, "/", rel, NULL);
		} else if ((cwd = getcwd(NULL, 0)))
			p = strjoin(streq(cwd, "/") ? "" : cwd, "/", startswith(what, "./") ?: what, NULL);
		else
			return fail(l, -errno, "cannot find the current directory: %s", strerror(errno));
		if (!p)
			return oom(l);
		fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return fail(l, -errno, AT_FMT "cannot open profile '%s': %s", AT_ARGS(where), p,
				    strerror(errno));
		*ret_path = TAKE_PTR(p);
		*ret_fd = fd;
		return 0;
	}
	if (!name_valid(what, NAME_MAX - 4))
		return fail(l, -EINVAL, AT_FMT "invalid profile name '%s': expected letters, digits, '.', '_' or '-'",
			    AT_ARGS(where), what);
	r = search_path(l, &search);
	if (r == -ENOMEM)
		return oom(l);
	if (r < 0)
		return fail(l, r, "cannot find the current directory: %s", strerror(-r));
	for (size_t i = dir ? 0 : 1;; i++) {
		_cleanup_free_ char *p = NULL;
		int fd;

		if (i > 0 && !search[i - 1])
			break;
		p = i == 0 ? strjoin(dir, "/", what, ".ini", NULL)
			   : strjoin(search[i - 1], "/profiles/", what, ".ini", NULL);
		if (!p)
			return oom(l);
		fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0) {
			*ret_path = TAKE_PTR(p);
			*ret_fd = fd;
			return 0;
		}
		/* Only a missing file moves on: an unreadable one is an error, not a
		 * reason to quietly take the next one on the path. */
		if (errno != ENOENT && errno != ENOTDIR)
			return fail(l, -errno, AT_FMT "cannot open profile '%s': %s", AT_ARGS(where), p,
				    strerror(errno));
		if (strv_push(&tried, p) < 0)
			return oom(l);
		p = NULL;
	}
	joined = strv_join(tried, ", ");
	if (!joined)
		return oom(l);
	return fail(l, -ENOENT, AT_FMT "profile '%s' not found (searched %s)", AT_ARGS(where), what, joined);
}

static int load_file(Loader *l, char *path, int fd, const char *included_at);

static int load_includes(Loader *l, const char *path, const ParsedFile *pf)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash;

	if (!dir)
		return oom(l);
	slash = strrchr(dir, '/');
	slash[slash == dir] = 0; /* "/p.ini" -> "/" */
	for (size_t i = 0; i < pf->n_entries; i++) {
		const Entry *e = &pf->entries[i];
		_cleanup_strv_free_ char **words = NULL;
		char origin[PATH_MAX + 16];

		if (!streq(e->section, "profile") || !streq(e->key, "include"))
			continue;
		snprintf(origin, sizeof(origin), "%s:%u", path, e->line);
		if (split_words(e->value, ",", &words) < 0)
			return oom(l);
		STRV_FOREACH (w, words) {
			char *found = NULL;
			int fd = -EBADF;
			int r = find_profile(l, dir, *w, origin, &found, &fd);
			if (r < 0)
				return r;
			r = load_file(l, found, fd, origin);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Loads one file: its includes first, then its own values. Takes path and
 * fd. included_at is the "file:line" of the include, NULL for the top file.
 * Files are told apart by device and inode, so a cycle is found however
 * the path to a file is spelled. */
static int load_file(Loader *l, char *path_, int fd_, const char *included_at)
{
	_cleanup_(parsed_file_done) ParsedFile pf = {};
	_cleanup_free_ char *path = path_, *data = NULL;
	_cleanup_close_ int fd = fd_;
	size_t depth = l->depth;
	bool have_version = false;
	struct stat st;
	ssize_t n;
	int r;

	if (fstat(fd, &st) < 0)
		return fail(l, -errno, AT_FMT "cannot read profile '%s': %s", AT_ARGS(included_at), path,
			    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(l, S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL,
			    AT_FMT "cannot read profile '%s': not a regular file", AT_ARGS(included_at), path);
	for (size_t i = 0; i < depth; i++) {
		_cleanup_free_ char *chain = NULL;
		if (l->stack[i].dev != st.st_dev || l->stack[i].ino != st.st_ino)
			continue;
		for (size_t j = i; j <= depth; j++) {
			char *c = strjoin(chain ?: "", chain ? " -> " : "", l->stack[j < depth ? j : i].path, NULL);
			if (!c)
				return oom(l);
			free(chain);
			chain = c;
		}
		return fail(l, -ELOOP, "%s: include cycle: %s", included_at, chain);
	}
	if (depth >= INCLUDE_DEPTH_MAX)
		return fail(l, -ELOOP, "%s: includes nested more than %d deep", included_at, INCLUDE_DEPTH_MAX);
	if (st.st_size > PROFILE_SIZE_MAX)
		return fail(l, -EFBIG, "%s: larger than %d bytes; a profile is a small text file", path,
			    PROFILE_SIZE_MAX);
	data = malloc((size_t) st.st_size + 2);
	if (!data)
		return oom(l);
	n = loop_read(fd, data, (size_t) st.st_size + 1);
	if (n < 0)
		return fail(l, (int) n, AT_FMT "cannot read profile '%s': %s", AT_ARGS(included_at), path,
			    strerror((int) -n));
	if (n > st.st_size)
		return fail(l, -EBUSY, "%s: changed while it was read", path);
	data[n] = 0;
	r = parse_file(l, path, data, (size_t) n, &pf);
	if (r < 0)
		return r;
	for (size_t i = 0; i < pf.n_entries; i++) {
		const Entry *e = &pf.entries[i];
		if (streq(e->section, "profile") && streq(e->key, "version")) {
			if (!streq(e->value, PROFILE_VERSION))
				return fail(l, -EINVAL,
					    "%s:%u: unsupported version '%s' in [profile]: expected " PROFILE_VERSION,
					    path, e->line, e->value);
			have_version = true;
		}
	}
	if (!have_version && !included_at)
		return fail(l, -EINVAL, "%s: missing 'version = " PROFILE_VERSION "' in [profile]", path);
	if (!l->plan->profile_path && !(l->plan->profile_path = strdup(path)))
		return oom(l);

	l->stack[depth] = (IncludeFrame){.path = path, .dev = st.st_dev, .ino = st.st_ino};
	l->depth++;
	r = load_includes(l, path, &pf);
	l->depth--;
	if (r < 0)
		return r;

	for (size_t i = 0; i < pf.n_entries; i++) {
		r = apply_entry(l, path, &pf.entries[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- command-line overrides ---- */

static int set_identity(Loader *l, const char *option, const char *value, char **field, PlanField f)
{
	if (!value)
		return 0;
	if (!name_valid(value, 64))
		return fail(l, -EINVAL, "%s: invalid name '%s': expected up to 64 letters, digits, '.', '_' or '-'",
			    option, value);
	if (set_string(field, value) < 0)
		return oom(l);
	return set_origin(l, f, option);
}

static int apply_option_list(Loader *l, const char *option, const char *key, char **values,
			     int (*add)(Loader *l, const Where *w, const char *word, size_t arg), size_t arg)
{
	Where w = {.origin = option, .key = key};
	STRV_FOREACH (v, values) {
		int r = add(l, &w, *v, arg);
		if (r < 0)
			return r;
	}
	return 0;
}

static int apply_overrides(Loader *l, const ProfileOverrides *o)
{
	Plan *p = l->plan;
	static const struct {
		const char *option, *key;
		size_t offset;
		int (*set)(Loader *l, const Where *w, const char *value, size_t arg);
		size_t arg;
	} scalars[] = {
	    {"--workdir", "workdir", offsetof(ProfileOverrides, workdir), set_workdir, 0},
	    {"--net", "mode", offsetof(ProfileOverrides, net), set_net_mode, 0},
	    {"--memory", "memory", offsetof(ProfileOverrides, memory), set_limit, PLAN_MEMORY},
	    {"--cpu", "cpu", offsetof(ProfileOverrides, cpu), set_limit, PLAN_CPU},
	    {"--pids", "pids", offsetof(ProfileOverrides, pids), set_limit, PLAN_PIDS},
	    {"--timeout", "wall", offsetof(ProfileOverrides, timeout), set_limit, PLAN_WALL},
	};
	int r;

	if (!o)
		return 0;
	if ((r = set_identity(l, "--tenant", o->tenant, &p->tenant, PLAN_TENANT)) < 0 ||
	    (r = set_identity(l, "--project", o->project, &p->project, PLAN_PROJECT)) < 0 ||
	    (r = set_identity(l, "--user", o->user, &p->user, PLAN_USER)) < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(scalars); i++) {
		const char *v = *(const char *const *) ((const char *) o + scalars[i].offset);
		Where w = {.origin = scalars[i].option, .key = scalars[i].key};
		if (!v)
			continue;
		if (isempty(v))
			return fail(l, -EINVAL, "%s: empty value", scalars[i].option);
		r = scalars[i].set(l, &w, v, scalars[i].arg);
		if (r < 0)
			return r;
	}
	if ((r = apply_option_list(l, "--ro-bind", "ro", o->ro_binds, add_bind, MOUNT_RO)) < 0 ||
	    (r = apply_option_list(l, "--bind", "rw", o->binds, add_bind, MOUNT_RW)) < 0 ||
	    (r = apply_option_list(l, "--tmpfs", "tmpfs", o->tmpfs, add_tmpfs, 0)) < 0 ||
	    (r = apply_option_list(l, "--allow", "allow", o->allow, add_allow, 0)) < 0)
		return r;
	STRV_FOREACH (e, o->env) {
		Where w = {.origin = "--env", .key = "env"};
		r = strchr(*e, '=') ? add_env_set(l, &w, *e, 0) : add_env_keep(l, &w, *e, 0);
		if (r < 0)
			return r;
	}
	if (o->argv && o->argv[0]) {
		strv_free(p->argv);
		if (!(p->argv = strv_copy(o->argv)))
			return oom(l);
		return set_origin(l, PLAN_ARGV, "the command line");
	}
	return 0;
}

/* ---- the final checks ---- */

static int resolve_workdir(Loader *l)
{
	Plan *p = l->plan;
	const char *at = p->origins[PLAN_WORKDIR] ?: "workdir = cwd (built-in default)";
	_cleanup_free_ char *real = NULL;
	struct stat st;

	if (streq(p->workdir, "none")) {
		free(p->workdir);
		p->workdir = NULL;
		return 0;
	}
	real = realpath(streq(p->workdir, "cwd") ? "." : p->workdir, NULL);
	if (!real)
		return fail(l, -errno, "%s: cannot use workdir '%s': %s", at, p->workdir, strerror(errno));
	if (stat(real, &st) < 0)
		return fail(l, -errno, "%s: cannot use workdir '%s': %s", at, real, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail(l, -ENOTDIR, "%s: cannot use workdir '%s': %s", at, real, strerror(ENOTDIR));
	/* The whole host read-write at /work is never what anyone meant. */
	if (streq(real, "/"))
		return fail(l, -EINVAL,
			    "%s: refusing '/' as the workdir; cd into a project directory, pass --workdir DIR, "
			    "or set workdir = none",
			    at);
	free(p->workdir);
	p->workdir = TAKE_PTR(real);
	return 0;
}

static int check_mount(Loader *l, MountSpec *m)
{
	const Plan *p = l->plan;
	static const char *const owned[] = {"/proc", "/dev", "/tmp"};
	const char *key = mount_key(m->kind);
	struct stat st;

	if (streq(m->dest, "/"))
		return fail(l, -EINVAL, "%s: %s destination '/' is the box's root: mount something below it", m->origin,
			    key);
	for (size_t i = 0; i < ARRAY_SIZE(owned); i++)
		if (path_under(m->dest, owned[i]))
			return fail(l, -EINVAL, "%s: %s destination '%s' is inside %s, which kdc mounts itself%s",
				    m->origin, key, m->dest, owned[i],
				    streq(owned[i], "/tmp") ? " (size it with [limits] tmp)" : "");
	if (p->workdir && path_under(m->dest, "/work") && !(m->kind == MOUNT_MASK && !streq(m->dest, "/work")))
		return fail(l, -EINVAL,
			    "%s: %s destination '%s' is inside the workdir mounted at /work; set workdir = none "
			    "to use /work",
			    m->origin, key, m->dest);
	if (m->kind == MOUNT_TMPFS && m->size == 0 && p->tmp_size != LIMIT_UNSET)
		m->size = p->tmp_size;
	if (m->kind != MOUNT_RO && m->kind != MOUNT_RO_TRY && m->kind != MOUNT_RW)
		return 0;
	if (lstat(m->source, &st) < 0) {
		if (m->kind == MOUNT_RO_TRY && (errno == ENOENT || errno == ENOTDIR || errno == EACCES))
			return 0; /* the mounts module skips it */
		return fail(l, -errno, "%s: cannot use %s source '%s': %s", m->origin, key, m->source, strerror(errno));
	}
	if (S_ISLNK(st.st_mode) && streq(m->source, m->dest)) {
		/* The box gets the same link (Debian 12: /bin -> usr/bin). */
		char target[PATH_MAX];
		ssize_t n = readlink(m->source, target, sizeof(target) - 1);
		if (n < 0)
			return fail(l, -errno, "%s: cannot read link '%s': %s", m->origin, m->source, strerror(errno));
		target[n] = 0;
		if (set_string(&m->source, target) < 0)
			return oom(l);
		m->kind = MOUNT_SYMLINK;
	} else if (S_ISLNK(st.st_mode) && stat(m->source, &st) < 0) {
		if (m->kind == MOUNT_RO_TRY)
			return 0;
		return fail(l, -errno, "%s: cannot use %s source '%s': %s", m->origin, key, m->source, strerror(errno));
	}
	return 0;
}

static int finalize_mounts(Loader *l)
{
	Plan *p = l->plan;
	int r;

	if (p->home_tmpfs) {
		Where w = {.origin = p->origins[PLAN_HOME], .key = "home"};
		_cleanup_free_ char *d = strdup(HOME_DIR);
		for (size_t i = 0; i < p->n_mounts; i++)
			if (path_under(p->mounts[i].dest, HOME_DIR))
				return fail(l, -EINVAL, "%s: %s destination '%s' collides with home = tmpfs at %s",
					    p->mounts[i].origin, mount_key(p->mounts[i].kind), p->mounts[i].dest,
					    HOME_DIR);
		if (!d)
			return oom(l);
		r = mounts_put(l, MOUNT_TMPFS, NULL, TAKE_PTR(d), 0, w.origin);
		if (r < 0)
			return r;
		r = add_env_set(l, &w, "HOME=" HOME_DIR, 0);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < p->n_mounts; i++) {
		r = check_mount(l, &p->mounts[i]);
		if (r < 0)
			return r;
	}
	/* Parents before children, whatever order they were given in, so a
	 * mask below a bind is not hidden by it. Insertion sort: stable, and
	 * the lists are short. */
	for (size_t i = 1; i < p->n_mounts; i++) {
		MountSpec m = p->mounts[i];
		size_t j = i, d = path_depth(m.dest);
		for (; j > 0 && path_depth(p->mounts[j - 1].dest) > d; j--)
			p->mounts[j] = p->mounts[j - 1];
		p->mounts[j] = m;
	}
	return 0;
}

static int finalize_budget(Loader *l)
{
	static const char *const names[] = {"cpu", "wall", "hold"};
	Plan *p = l->plan;

	for (size_t i = 0; i < 3; i++) {
		const char *u = l->price_unit[i];
		if (!u[0])
			continue;
		if (!p->budget_unit[0]) {
			snprintf(p->budget_unit, sizeof(p->budget_unit), "%s", u);
			continue;
		}
		if (!streq(u, p->budget_unit))
			return fail(l, -EINVAL, "%s: unit '%s' of '%s' in [budget] differs from unit '%s'%s%s",
				    p->origins[PLAN_PRICE_CPU + i], u, names[i], p->budget_unit,
				    l->unit_given ? " set at " : "", l->unit_given ? p->origins[PLAN_BUDGET_UNIT] : "");
	}
	return 0;
}

static int finalize_tools(Loader *l)
{
	Plan *p = l->plan;

	for (size_t i = 0; i < p->n_tools; i++) {
		ToolSpec *t = &p->tools[i];
		if (!t->command)
			return fail(l, -EINVAL, "%s: [tool %s] has no command", t->origins[TOOL_SECTION], t->name);
		if (t->origins[TOOL_COST] && t->origins[TOOL_MAX_COST] && t->max_cost < t->cost)
			return fail(l, -EINVAL, "%s: max_cost of [tool %s] is less than its cost",
				    t->origins[TOOL_MAX_COST], t->name);
	}
	return 0;
}

static int finalize(Loader *l)
{
	Plan *p = l->plan;
	int r;

	r = resolve_workdir(l);
	if (r < 0)
		return r;
	r = finalize_mounts(l);
	if (r < 0)
		return r;
	if (p->swap == LIMIT_UNSET && p->memory != LIMIT_UNSET && !p->origins[PLAN_SWAP])
		p->swap = 0; /* a memory limit means no swap unless asked for */
	if (!p->hostname && !(p->hostname = strdup(DEFAULT_HOSTNAME)))
		return oom(l);
	r = finalize_budget(l);
	if (r < 0)
		return r;
	return finalize_tools(l);
}

int profile_load(const char *name_or_path, const ProfileOverrides *o, Plan **ret, char **ret_error)
{
	_cleanup_plan_free_ Plan *plan = NULL;
	char *file = NULL;
	Loader l = {};
	int fd = -EBADF;
	int r;

	if (!name_or_path)
		name_or_path = "default";
	plan = calloc(1, sizeof(Plan));
	if (!plan)
		return -ENOMEM;
	*plan = (Plan){
	    .net = NET_NONE,
	    .memory = LIMIT_UNSET,
	    .swap = LIMIT_UNSET,
	    .cpu = LIMIT_UNSET,
	    .pids = LIMIT_UNSET,
	    .wall_usec = LIMIT_UNSET,
	    .nofile = LIMIT_UNSET,
	    .tmp_size = LIMIT_UNSET,
	};
	l.plan = plan;
	if (!(plan->profile_name = strdup(name_or_path)) || !(plan->workdir = strdup("cwd"))) {
		r = oom(&l);
		goto finish;
	}
	r = find_profile(&l, NULL, name_or_path, NULL, &file, &fd);
	if (r >= 0)
		r = load_file(&l, file, fd, NULL);
	if (r >= 0)
		r = apply_overrides(&l, o);
	if (r >= 0)
		r = finalize(&l);
finish:
	strv_free(l.search);
	if (r < 0) {
		if (ret_error)
			*ret_error = l.error ? TAKE_PTR(l.error) : strdup(strerror(-r));
		free(l.error);
		return r;
	}
	free(l.error);
	*ret = TAKE_PTR(plan);
	return 0;
}

/* ---- --print-profile ---- */

/* A word as the loader reads it back: quoted when it holds blanks, quotes,
 * backslashes or ';', or is empty. */
static void print_word(FILE *f, const char *s)
{
	if (*s && !strpbrk(s, " \t\"\\;")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void print_origin(FILE *f, const char *origin)
{
	if (origin)
		fprintf(f, " ; from %s\n", origin);
	else
		fputs(" ; built-in default\n", f);
}

static void print_kv(FILE *f, const char *key, const char *value, const char *origin)
{
	fprintf(f, isempty(value) ? "%s =" : "%s = %s", key, value ?: "");
	print_origin(f, origin);
}

/* Entries that home = tmpfs made are printed as comments: read back, the
 * home key makes them again. */
static void print_list(FILE *f, const char *key, char *const *items, char *const *origins, const char *made_by_home)
{
	for (size_t i = 0; items && items[i]; i++) {
		fprintf(f, "%s%s = ", made_by_home && streq(items[i], made_by_home) ? "; " : "", key);
		print_word(f, items[i]);
		print_origin(f, origins ? origins[i] : NULL);
	}
}

static void print_limit(FILE *f, const Plan *p, const char *key, PlanField field)
{
	uint64_t v = *limit_field((Plan *) p, field);
	char buf[64] = "";

	if (v != LIMIT_UNSET) {
		if (field == PLAN_CPU)
			units_format_cpu(buf, sizeof(buf), v);
		else if (field == PLAN_WALL)
			units_format_duration(buf, sizeof(buf), v);
		else if (field == PLAN_PIDS || field == PLAN_NOFILE)
			snprintf(buf, sizeof(buf), "%" PRIu64, v);
		else
			units_format_size(buf, sizeof(buf), v);
	}
	if (field == PLAN_SWAP && !p->origins[PLAN_SWAP] && v == 0)
		fprintf(f, "swap = 0 ; built-in default (no swap when memory is limited)\n");
	else
		print_kv(f, key, buf, p->origins[field]);
}

static void print_amount(FILE *f, const char *key, int64_t v, const char *unit, const char *origin)
{
	char buf[80] = "";
	if (origin || v)
		units_format_amount(buf, sizeof(buf), v, unit);
	print_kv(f, key, buf, origin);
}

static void print_mounts(FILE *f, const Plan *p)
{
	for (size_t i = 0; i < p->n_mounts; i++) {
		const MountSpec *m = &p->mounts[i];
		char size[32];

		if (p->home_tmpfs && m->kind == MOUNT_TMPFS && streq(m->dest, HOME_DIR))
			fputs("; ", f); /* see print_list() */
		fprintf(f, "%s = ", mount_key(m->kind));
		switch (m->kind) {
		case MOUNT_SYMLINK:
			print_word(f, m->dest);
			fputs(" ; symlink to ", f);
			print_word(f, m->source);
			break;
		case MOUNT_TMPFS:
			print_word(f, m->dest);
			if (m->size) {
				fputc(':', f);
				fputs(units_format_size(size, sizeof(size), m->size), f);
			}
			break;
		case MOUNT_MASK:
			print_word(f, m->dest);
			break;
		default:
			print_word(f, m->source);
			if (!streq(m->source, m->dest)) {
				fputc(':', f);
				print_word(f, m->dest);
			}
		}
		print_origin(f, m->origin);
	}
}

static void print_tool(FILE *f, const ToolSpec *t)
{
	char buf[80];

	fprintf(f, "\n[tool %s] ; from %s\n", t->name, t->origins[TOOL_SECTION]);
	if (t->description)
		print_kv(f, "description", t->description, t->origins[TOOL_DESCRIPTION]);
	print_kv(f, "command", t->command, t->origins[TOOL_COMMAND]);
	print_list(f, "secret", t->secrets, t->secrets_origins, NULL);
	if (t->args)
		print_kv(f, "args", t->args, t->origins[TOOL_ARGS]);
	if (t->rule)
		print_kv(f, "rule", t->rule, t->origins[TOOL_RULE]);
	if (t->approve)
		print_kv(f, "approve", t->approve, t->origins[TOOL_APPROVE]);
	if (t->origins[TOOL_COST])
		print_amount(f, "cost", t->cost, t->cost_unit, t->origins[TOOL_COST]);
	if (t->origins[TOOL_MAX_COST])
		print_amount(f, "max_cost", t->max_cost, t->cost_unit, t->origins[TOOL_MAX_COST]);
	if (t->rate)
		print_kv(f, "rate", t->rate, t->origins[TOOL_RATE]);
	if (t->timeout_usec)
		print_kv(f, "timeout", units_format_duration(buf, sizeof(buf), t->timeout_usec),
			 t->origins[TOOL_TIMEOUT]);
}

int profile_print(const Plan *p, FILE *f)
{
	char degrade[128] = "";

	fprintf(f, "; kdc profile '%s' resolved from %s\n", p->profile_name, p->profile_path);
	if (p->tenant)
		fprintf(f, "; tenant %s ; from %s\n", p->tenant, p->origins[PLAN_TENANT]);
	if (p->project)
		fprintf(f, "; project %s ; from %s\n", p->project, p->origins[PLAN_PROJECT]);
	if (p->user)
		fprintf(f, "; user %s ; from %s\n", p->user, p->origins[PLAN_USER]);

	fputs("\n[profile]\nversion = " PROFILE_VERSION "\n", f);
	if (p->description)
		print_kv(f, "description", p->description, p->origins[PLAN_DESCRIPTION]);

	fputs("\n[filesystem]\n", f);
	print_kv(f, "workdir", p->workdir ?: "none", p->origins[PLAN_WORKDIR]);
	print_kv(f, "home", p->home_tmpfs ? "tmpfs" : "none", p->origins[PLAN_HOME]);
	print_mounts(f, p);

	fputs("\n[env]\n", f);
	print_list(f, "keep", p->env_keep, p->env_keep_origins, NULL);
	print_list(f, "set", p->env_set, p->env_set_origins, p->home_tmpfs ? "HOME=" HOME_DIR : NULL);

	fputs("\n[limits]\n", f);
	print_limit(f, p, "memory", PLAN_MEMORY);
	print_limit(f, p, "swap", PLAN_SWAP);
	print_limit(f, p, "cpu", PLAN_CPU);
	print_limit(f, p, "pids", PLAN_PIDS);
	print_limit(f, p, "wall", PLAN_WALL);
	print_limit(f, p, "nofile", PLAN_NOFILE);
	print_limit(f, p, "tmp", PLAN_TMP);

	fputs("\n[network]\n", f);
	print_kv(f, "mode", net_mode_to_string(p->net), p->origins[PLAN_NET]);
	print_list(f, "allow", p->allow, p->allow_origins, NULL);

	fputs("\n[seccomp]\n", f);
	print_list(f, "deny", p->seccomp_deny, p->seccomp_deny_origins, NULL);
	print_list(f, "allow", p->seccomp_allow, p->seccomp_allow_origins, NULL);
	print_kv(f, "on_violation", p->seccomp_kill ? "kill" : "errno", p->origins[PLAN_SECCOMP_KILL]);

	fputs("\n[sandbox]\n", f);
	for (unsigned bit = 1; bit & DEGRADE_ALL; bit <<= 1)
		if (p->degrade & bit) {
			if (degrade[0])
				strcat(degrade, ",");
			strcat(degrade, degrade_to_string((Degrade) bit));
		}
	print_kv(f, "degrade", degrade, p->origins[PLAN_DEGRADE]);
	print_kv(f, "terminal", p->terminal ? "yes" : "no", p->origins[PLAN_TERMINAL]);
	print_kv(f, "hostname", p->hostname, p->origins[PLAN_HOSTNAME]);

	fputs("\n[budget]\n", f);
	print_kv(f, "unit", p->budget_unit, p->origins[PLAN_BUDGET_UNIT]);
	print_amount(f, "cpu", p->price_cpu_s, p->budget_unit, p->origins[PLAN_PRICE_CPU]);
	print_amount(f, "wall", p->price_wall_s, p->budget_unit, p->origins[PLAN_PRICE_WALL]);
	print_amount(f, "hold", p->hold, p->budget_unit, p->origins[PLAN_HOLD]);

	for (size_t i = 0; i < p->n_tools; i++)
		print_tool(f, &p->tools[i]);

	fputs("\n; command:", f);
	if (!p->argv)
		fputs(" (none)", f);
	STRV_FOREACH (a, p->argv) {
		fputc(' ', f);
		print_word(f, *a);
	}
	if (p->argv)
		fprintf(f, " ; from %s", p->origins[PLAN_ARGV]);
	fputc('\n', f);
	return fflush(f) == 0 && !ferror(f) ? 0 : negative_errno();
}
