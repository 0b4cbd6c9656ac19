/* SPDX-License-Identifier: MIT */
/* kdc-ledger: budgets, holds, usage reports and the audit trail. A thin
 * front end: it parses arguments, calls src/core/ledger.h and prints. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/ledger.h"
#include "run/clerk.h"
#include "run/ledger-plugin.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/units.h"

/* Exit statuses (kdc-ledger(1), EXIT STATUS). */
enum {
	EXIT_OK = 0,
	EXIT_DENIED = 1,   /* refused by a budget or rate limit; verify found a break */
	EXIT_USAGE = 2,	   /* bad command line or invalid argument */
	EXIT_NOTFOUND = 3, /* no such hold, tenant, budget or session */
	EXIT_CONFLICT = 4, /* id reused, hold already settled, post above hold */
	EXIT_EXPIRED = 5,  /* hold expired after its TTL */
	EXIT_DB = 6,	   /* database unavailable: locked, full, read-only, damaged */
};

typedef enum Format {
	FORMAT_TABLE,
	FORMAT_JSON,
	FORMAT_CSV,
} Format;

static const char *arg_db = NULL;

/* jansson's own cleanup helper (json_auto_t). */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* ---- Help ------------------------------------------------------------------
 * Every option of every command is listed here; the man page and the
 * completions list the same ones (a test compares them). */
static const struct {
	const char *name, *synopsis, *summary;
} commands[] = {
    {"init", "init", "create the ledger (and its directory) and migrate its schema"},
    {"tenant add", "tenant add NAME [--rate RATE] [--burst N]", "add a tenant, or change its session rate limit"},
    {"tenant list", "tenant list [--format table|json|csv]", "list tenants"},
    {"tenant rm", "tenant rm NAME", "remove a tenant and its budgets (history stays)"},
    {"budget set", "budget set SCOPE --limit AMOUNT [--period day|week|month|total]",
     "cap a scope (default period: month)"},
    {"budget show", "budget show [SCOPE] [--format table|json|csv]", "spent, held and left per budget"},
    {"budget rm", "budget rm SCOPE [--unit UNIT] [--period PERIOD]", "remove budgets of a scope"},
    {"hold", "hold SCOPE AMOUNT [--id ID] [--ttl DURATION] [--session ID]",
     "reserve AMOUNT against every cap above SCOPE; prints the hold id"},
    {"post", "post ID [AMOUNT] [--tenant NAME]", "spend a hold (all of it, or AMOUNT and release the rest)"},
    {"void", "void ID [--tenant NAME]", "release a hold"},
    {"charge", "charge SCOPE AMOUNT [--id ID] [--session ID]", "hold and post at once; prints the id"},
    {"usage", "usage [SCOPE] [--period day|week|month|total] [--format table|json|csv]",
     "spent per scope in the current period (default: month)"},
    {"report", "report [SCOPE] [--month YYYY-MM] [--format table|json|csv]",
     "spent per tenant, project and user in a month (default: this month)"},
    {"audit",
     "audit [--tenant NAME] [--session ID] [--since WHEN] [--decision allow|deny|error] [--last N]"
     " [--follow] [--format table|json|csv]",
     "show the audit trail"},
    {"sessions", "sessions [--tenant NAME] [--last N] [--format table|json|csv]", "list kdc-run sessions"},
    {"verify", "verify", "check the audit hash chain; names the first broken row"},
    {"gc", "gc", "release holds whose TTL has passed"},
};

static void help_command(FILE *f, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!name || startswith(commands[i].name, name))
			fprintf(f, "  kdc-ledger [--db PATH] %s\n      %s\n", commands[i].synopsis,
				commands[i].summary);
}

static int help(void)
{
	printf("Usage: kdc-ledger [--db PATH] COMMAND [OPTIONS...]\n"
	       "\n"
	       "Budgets, two-phase holds, usage reports and the audit trail of kdc.\n"
	       "\n"
	       "Global options:\n"
	       "  --db PATH        the ledger database (default: $KDC_DB, /var/lib/kdc/kdc.db\n"
	       "                   for root, $XDG_STATE_HOME/kdc/kdc.db otherwise)\n"
	       "  -h, --help       show this help (also after any command)\n"
	       "  --version        show the version\n"
	       "\n"
	       "Commands:\n");
	help_command(stdout, NULL);
	printf("\n"
	       "Amounts are exact decimals with a unit: 12.50USD, 0.000010USD, 3600cpu-s, 100tokens.\n"
	       "Scopes are tenant[/project[/user]]. WHEN is a duration ago (1h, 30m), a date\n"
	       "(2026-11-22), a UTC time (2026-11-22T10:00:00Z) or @SECONDS since the epoch.\n"
	       "\n"
	       "Exit status: 0 ok, 1 denied (budget, rate) or verify failed, 2 usage error,\n"
	       "3 not found, 4 conflict, 5 expired, 6 database unavailable.\n"
	       "See kdc-ledger(1).\n");
	return EXIT_OK;
}

static int usage_error(const char *cmd, const char *fmt, ...) _printf_(2, 3);
static int usage_error(const char *cmd, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_error("%s", buf);
	fprintf(stderr, "Usage:\n");
	help_command(stderr, cmd);
	return EXIT_USAGE;
}

/* ---- Opening -------------------------------------------------------------- */

/* --db, $KDC_DB or the default, made absolute (ledger_path_absolute()). */
static int ledger_db_path(char **ret)
{
	_cleanup_free_ char *path = NULL;
	int r;

	if (arg_db)
		path = strdup(arg_db);
	else {
		r = ledger_default_path(&path);
		if (r < 0)
			return r;
	}
	if (!path)
		return -ENOMEM;
	r = ledger_path_absolute(&path);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(path);
	return 0;
}

static int open_ledger(bool readonly, Ledger **ret)
{
	_cleanup_free_ char *path = NULL;
	int r;

	r = ledger_db_path(&path);
	if (r == -ENOMEM) {
		log_oom();
		return -EXIT_DB;
	}
	if (r < 0) {
		log_error_errno(r, "cannot find the ledger: set --db PATH or KDC_DB (%m)");
		return -EXIT_DB;
	}
	r = ledger_open_full(path, readonly ? LEDGER_OPEN_READONLY : 0, ret);
	switch (r) {
	case 0:
		return 0;
	case -ENOENT:
		log_error("no ledger at '%s' (create it with 'kdc-ledger init')", path);
		break;
	case -EROFS:
	case -EACCES:
	case -EPERM:
		log_error_errno(r, "cannot write the ledger '%s': %m (read-only file system or no permission)", path);
		break;
	case -EINVAL:
		log_error("cannot open the ledger '%s': invalid KDC_LEDGER_FAKE_NOW or KDC_LEDGER_BUSY_TIMEOUT", path);
		break;
	case -EPROTONOSUPPORT:
		log_error("the ledger '%s' was written by a newer kdc (schema above %d)", path, LEDGER_SCHEMA_VERSION);
		break;
	case -EPROTO:
		log_error("the ledger '%s' needs a schema upgrade: run 'kdc-ledger init'", path);
		break;
	case -EBUSY:
		log_error("cannot open the ledger '%s': database is locked (timed out)", path);
		break;
	case -EBADMSG:
		log_error("cannot open the ledger '%s': not a kdc ledger or damaged", path);
		break;
	default:
		log_error_errno(r, "cannot open the ledger '%s': %m", path);
	}
	return -EXIT_DB;
}

/* A database failure during an operation: nothing was changed. */
static int db_error_msg(const char *errmsg, int r, const char *what)
{
	switch (r) {
	case -EBUSY:
		log_error("%s: database is locked (busy timeout reached); nothing was changed", what);
		break;
	case -ENOSPC:
		log_error("%s: disk full; nothing was changed", what);
		break;
	case -EROFS:
		log_error("%s: database is read-only; nothing was changed", what);
		break;
	default:
		log_error_errno(r, "%s: %m (%s); nothing was changed", what, errmsg);
	}
	return EXIT_DB;
}

static int db_error(Ledger *l, int r, const char *what)
{
	return db_error_msg(l ? ledger_errmsg(l) : "", r, what);
}

/* hold, charge, post and void go through the resident clerk of the ledger
 * when there is one (run/clerk.h): many scripts at once then share its
 * group commits. Returns 1 when it answered (*ret_r, *res; *ret_errmsg
 * when *ret_r < 0), 0 when the caller opens the ledger itself. */
typedef enum ClerkCall { CALL_HOLD, CALL_CHARGE, CALL_POST, CALL_VOID } ClerkCall;

static int call_clerk(ClerkCall k, const void *req, int *ret_r, LedgerResult *res, char **ret_errmsg)
{
	_cleanup_free_ char *path = NULL;
	ClerkLedger *c = NULL;
	int r;

	if (ledger_db_path(&path) < 0)
		return 0;
	/* A ledger that is not there is for 'kdc-ledger init' to make, never
	 * for a clerk to create on the way. */
	if (access(path, F_OK) < 0)
		return 0;
	if (clerk_ledger_connect(path, &c) < 0) {
		_cleanup_free_ char *plugin = NULL, *why = NULL;
		if (ledger_plugin_find(&plugin, &why) < 0 || clerk_ledger_fork(path, plugin, &c) < 0)
			return 0;
	}
	switch (k) {
	case CALL_HOLD:
	case CALL_CHARGE:
		r = clerk_ledger_hold(c, req, k == CALL_CHARGE, ret_r, res, ret_errmsg);
		break;
	case CALL_POST:
		r = clerk_ledger_post(c, req, ret_r, res, ret_errmsg);
		break;
	default:
		r = clerk_ledger_void(c, req, ret_r, res, ret_errmsg);
	}
	clerk_ledger_close(c);
	return r;
}

static int code_exit(LedgerCode c)
{
	switch (c) {
	case LEDGER_OK:
		return EXIT_OK;
	case LEDGER_EXHAUSTED:
	case LEDGER_RATE_LIMITED:
		return EXIT_DENIED;
	case LEDGER_UNKNOWN_TENANT:
	case LEDGER_NOT_FOUND:
		return EXIT_NOTFOUND;
	case LEDGER_CONFLICT:
	case LEDGER_ALREADY_POSTED:
	case LEDGER_ALREADY_VOIDED:
	case LEDGER_EXCEEDS_HOLD:
		return EXIT_CONFLICT;
	case LEDGER_EXPIRED:
		return EXIT_EXPIRED;
	default:
		return EXIT_USAGE;
	}
}

/* ---- Parsing helpers ----------------------------------------------------- */

static int parse_format(const char *s, Format *ret)
{
	if (streq(s, "table"))
		*ret = FORMAT_TABLE;
	else if (streq(s, "json"))
		*ret = FORMAT_JSON;
	else if (streq(s, "csv"))
		*ret = FORMAT_CSV;
	else
		return -EINVAL;
	return 0;
}

static int parse_amount(const char *cmd, const char *s, int64_t *ret, char unit[UNITS_NAME_MAX])
{
	/* Negative amounts are passed on so that the ledger refuses (and
	 * audits) them like any other invalid request. */
	int r = units_parse_amount(s, true, ret, unit);
	if (r == -ERANGE)
		return usage_error(cmd, "amount '%s' is out of range (at most 9223372036854.775807)", s);
	if (r < 0)
		return usage_error(cmd,
				   "invalid amount '%s': use a decimal with at most 6 fractional digits and a unit, "
				   "e.g. 12.50USD",
				   s);
	return 0;
}

/* WHEN: a duration ago, YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z], @SECONDS. */
static int parse_when(const char *s, uint64_t now, uint64_t *ret)
{
	unsigned y, mo, d, h = 0, mi = 0, se = 0;
	uint64_t usec;
	int64_t v;
	int n = 0;

	if (s[0] == '@') {
		if (units_parse_micro(s + 1, false, &v) < 0)
			return -EINVAL;
		*ret = (uint64_t) v;
		return 0;
	}
	if (units_parse_duration(s, false, &usec) >= 0) {
		*ret = usec > now ? 0 : now - usec;
		return 0;
	}
	if (sscanf(s, "%4u-%2u-%2u%n", &y, &mo, &d, &n) != 3)
		return -EINVAL;
	if (s[n] == 'T' || s[n] == ' ') {
		int m = 0;
		if (sscanf(s + n + 1, "%2u:%2u%n", &h, &mi, &m) != 2)
			return -EINVAL;
		n += 1 + m;
		if (s[n] == ':') {
			if (sscanf(s + n + 1, "%2u%n", &se, &m) != 1)
				return -EINVAL;
			n += 1 + m;
		}
		if (s[n] == 'Z')
			n++;
	}
	if (s[n] || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || y < 1970)
		return -EINVAL;
	v = ledger_days_from_civil(y, mo, d);
	*ret = ((uint64_t) v * 86400 + h * 3600 + mi * 60 + se) * USEC_PER_SEC;
	return 0;
}

static char *format_time(char buf[static 32], uint64_t usec)
{
	time_t t = (time_t) (usec / USEC_PER_SEC);
	struct tm tm;

	if (usec == 0 || !gmtime_r(&t, &tm))
		snprintf(buf, 32, "-");
	else
		strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* ---- Output: one json array of objects, printed as a table, CSV or JSON.
 * Amounts are strings ("49.80", exact) with a *_micro integer beside them
 * in JSON; no consumer has to parse money as a float. */

typedef struct Column {
	const char *key, *header;
	bool right;	 /* align right in tables */
	bool table_only; /* e.g. the bar */
} Column;

static void cell(const json_t *row, const char *key, char *buf, size_t len)
{
	const json_t *v = json_object_get(row, key);

	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_true(v))
		snprintf(buf, len, "yes");
	else if (json_is_false(v))
		snprintf(buf, len, "no");
	else
		snprintf(buf, len, "%s", "");
}

static void csv_field(const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

/* A CSV cell is the whole value, however long (a table cell is cut). */
static void csv_cell(const json_t *row, const char *key)
{
	const json_t *v = json_object_get(row, key);
	char buf[64];

	if (json_is_string(v))
		csv_field(json_string_value(v));
	else {
		cell(row, key, buf, sizeof(buf));
		csv_field(buf);
	}
}

/* One table line (the header when row is NULL), without trailing blanks. */
static void print_line(const json_t *row, const Column *cols, size_t ncols, const int *width)
{
	char line[4096], buf[1024];
	size_t n = 0, end;

	for (size_t c = 0; c < ncols; c++) {
		if (row)
			cell(row, cols[c].key, buf, sizeof(buf));
		else
			snprintf(buf, sizeof(buf), "%s", cols[c].header);
		if (n < sizeof(line))
			n += (size_t) snprintf(line + n, sizeof(line) - n, "%s%*s", c ? "  " : "",
					       cols[c].right ? width[c] : -width[c], buf);
	}
	end = MIN(n, sizeof(line) - 1);
	while (end > 0 && line[end - 1] == ' ')
		end--;
	printf("%.*s\n", (int) end, line);
}

static int print_rows(json_t *rows, const Column *cols, size_t ncols, Format format)
{
	char buf[1024];
	size_t i, c;
	json_t *row;

	if (format == FORMAT_JSON) {
		if (json_dumpf(rows, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
			return -EIO;
		putchar('\n');
		return 0;
	}
	if (format == FORMAT_CSV) {
		bool first = true;
		for (c = 0; c < ncols; c++)
			if (!cols[c].table_only) {
				printf("%s%s", first ? "" : ",", cols[c].key);
				first = false;
			}
		putchar('\n');
		json_array_foreach(rows, i, row)
		{
			first = true;
			for (c = 0; c < ncols; c++) {
				if (cols[c].table_only)
					continue;
				if (!first)
					putchar(',');
				csv_cell(row, cols[c].key);
				first = false;
			}
			putchar('\n');
		}
		return 0;
	}

	{
		int width[32] = {0};
		if (ncols > ARRAY_SIZE(width))
			return -E2BIG;
		for (c = 0; c < ncols; c++)
			width[c] = (int) strlen(cols[c].header);
		json_array_foreach(rows, i, row) for (c = 0; c < ncols; c++)
		{
			cell(row, cols[c].key, buf, sizeof(buf));
			width[c] = MAX(width[c], (int) strlen(buf));
		}
		print_line(NULL, cols, ncols, width);
		json_array_foreach(rows, i, row) print_line(row, cols, ncols, width);
	}
	return 0;
}

static void set_amount(json_t *o, const char *key, int64_t micro)
{
	char s[40], k[64];

	json_object_set_new(o, key, json_string(units_format_micro(s, sizeof(s), micro)));
	snprintf(k, sizeof(k), "%s_micro", key);
	json_object_set_new(o, k, json_integer(micro));
}

static void set_str(json_t *o, const char *key, const char *v)
{
	json_object_set_new(o, key, v ? json_string(v) : json_null());
}

static void set_time(json_t *o, const char *key, uint64_t usec)
{
	char t[32];
	json_object_set_new(o, key, usec ? json_string(format_time(t, usec)) : json_null());
}

/* ---- Commands --------------------------------------------------------------
 * Each takes argc/argv starting at its own name, like a main(). */

enum {
	ARG_VERSION = 0x100,
	ARG_DB,
	ARG_RATE,
	ARG_BURST,
	ARG_FORMAT,
	ARG_LIMIT,
	ARG_PERIOD,
	ARG_UNIT,
	ARG_ID,
	ARG_TTL,
	ARG_SESSION,
	ARG_TENANT,
	ARG_MONTH,
	ARG_SINCE,
	ARG_DECISION,
	ARG_LAST,
	ARG_FOLLOW,
};

/* getopt_long over a command's own options (getopt reports bad ones). */
static int next_opt(const char *cmd, int argc, char **argv, const struct option *opts)
{
	return getopt_long(argc, argv, "h", opts, NULL);
}

static int bad_option(const char *cmd)
{
	fprintf(stderr, "Try 'kdc-ledger %s --help'.\n", cmd);
	return EXIT_USAGE;
}

#define OPT_HELP                               \
	{                                      \
		"help", no_argument, NULL, 'h' \
	}

static int cmd_help(const char *cmd)
{
	printf("Usage:\n");
	help_command(stdout, cmd);
	printf("\nGlobal option: --db PATH. See kdc-ledger(1).\n");
	return EXIT_OK;
}

/* Parses the options of a command that takes only --help and a fixed number
 * of positionals [min, max]. */
static int simple_args(const char *cmd, int argc, char **argv, int min, int max, bool *ret_help)
{
	static const struct option opts[] = {OPT_HELP, {}};
	int c, n;

	*ret_help = false;
	while ((c = next_opt(cmd, argc, argv, opts)) != -1)
		switch (c) {
		case 'h':
			*ret_help = true;
			return cmd_help(cmd);
		default:
			return bad_option(cmd);
		}
	n = argc - optind;
	if (n < min || n > max)
		return usage_error(cmd, "'%s' takes %s%d argument%s", cmd, min == max ? "" : "at most ", max,
				   max == 1 ? "" : "s");
	return EXIT_OK;
}

static int cmd_init(int argc, char **argv)
{
	_cleanup_ledger_close_ Ledger *l = NULL;
	bool h;
	int r;

	r = simple_args("init", argc, argv, 0, 0, &h);
	if (r != EXIT_OK || h)
		return r;
	r = open_ledger(false, &l);
	if (r < 0)
		return -r;
	printf("ledger ready at %s (schema %d)\n", ledger_path(l), LEDGER_SCHEMA_VERSION);
	return EXIT_OK;
}

static int cmd_tenant_add(int argc, char **argv)
{
	static const struct option opts[] = {
	    OPT_HELP,
	    {"rate", required_argument, NULL, ARG_RATE},
	    {"burst", required_argument, NULL, ARG_BURST},
	    {},
	};
	_cleanup_ledger_close_ Ledger *l = NULL;
	const char *rate_s = NULL, *burst_s = NULL;
	RateLimit rate;
	int c, r;

	while ((c = next_opt("tenant add", argc, argv, opts)) != -1)
		switch (c) {
		case 'h':
			return cmd_help("tenant add");
		case ARG_RATE:
			rate_s = optarg;
			break;
		case ARG_BURST:
			burst_s = optarg;
			break;
		default:
			return bad_option("tenant add");
		}
	if (argc - optind != 1)
		return usage_error("tenant add", "'tenant add' takes one NAME");
	if (!ledger_name_valid(argv[optind]))
		return usage_error("tenant add",
				   "invalid tenant name '%s': use 1-%d letters, digits and ._- "
				   "(starting with a letter or digit)",
				   argv[optind], LEDGER_NAME_MAX);
	if (burst_s && !rate_s)
		return usage_error("tenant add", "--burst needs --rate");
	if (rate_s) {
		r = ratelimit_parse(rate_s, &rate);
		if (r < 0)
			return usage_error("tenant add", "invalid --rate '%s': use COUNT/PERIOD, e.g. 10/min", rate_s);
		if (burst_s && units_parse_uint64(burst_s, &rate.burst) < 0)
			return usage_error("tenant add", "invalid --burst '%s': use a whole number", burst_s);
	}

	r = open_ledger(false, &l);
	if (r < 0)
		return -r;
	r = ledger_tenant_add(l, argv[optind], rate_s ? &rate : NULL);
	if (r < 0)
		return db_error(l, r, "cannot add tenant");
	printf("%s tenant '%s'\n", r > 0 ? "added" : "updated", argv[optind]);
	return EXIT_OK;
}

static int tenant_row(const LedgerTenant *t, void *userdata)
{
	json_t *o = json_object();
	char rs[64];

	set_str(o, "name", t->name);
	set_time(o, "created", t->created_usec);
	set_str(o, "rate", t->has_rate ? ratelimit_format(rs, sizeof(rs), &t->rate) : NULL);
	return json_array_append_new(userdata, o);
}

static int cmd_format_only(const char *cmd, int argc, char **argv, Format *format, bool *ret_help, int max_args)
{
	static const struct option opts[] = {
	    OPT_HELP,
	    {"format", required_argument, NULL, ARG_FORMAT},
	    {},
	};
	int c;

	*ret_help = false;
	while ((c = next_opt(cmd, argc, argv, opts)) != -1)
		switch (c) {
		case 'h':
			*ret_help = true;
			return cmd_help(cmd);
		case ARG_FORMAT:
			if (parse_format(optarg, format) < 0)
				return usage_error(cmd, "invalid --format '%s': use table, json or csv", optarg);
			break;
		default:
			return bad_option(cmd);
		}
	if (argc - optind > max_args)
		return usage_error(cmd, "too many arguments");
	return EXIT_OK;
}

static int cmd_tenant_list(int argc, char **argv)
{
	static const Column cols[] = {
	    {"name", "TENANT"},
	    {"created", "CREATED"},
	    {"rate", "SESSION RATE"},
	};
	_cleanup_ledger_close_ Ledger *l = NULL;
	_cleanup_json_ json_t *rows = json_array();
	Format format = FORMAT_TABLE;
	bool h;
	int r;

	r = cmd_format_only("tenant list", argc, argv, &format, &h, 0);
	if (r != EXIT_OK || h)
		return r;
	r = open_ledger(true, &l);
	if (r < 0)
		return -r;
	r = ledger_tenant_list(l, tenant_row, rows);
	if (r < 0)
		return db_error(l, r, "cannot list tenants");
	return print_rows(rows, cols, ARRAY_SIZE(cols), format) < 0 ? EXIT_DB : EXIT_OK;
}

static int cmd_tenant_rm(int argc, char **argv)
{
	_cleanup_ledger_close_ Ledger *l = NULL;
	bool h;
	int r;

	r = simple_args("tenant rm", argc, argv, 1, 1, &h);
	if (r != EXIT_OK || h)
		return r;
	if (!ledger_name_valid(argv[optind]))
		return usage_error("tenant rm", "invalid tenant name '%s'", argv[optind]);
	r = open_ledger(false, &l);
	if (r < 0)
		return -r;
	r = ledger_tenant_remove(l, argv[optind]);
	if (r == -ENOENT) {
		log_error("no tenant '%s'", argv[optind]);
		return EXIT_NOTFOUND;
	}
	if (r == -EBUSY) {
		log_error("tenant '%s' has pending holds: post or void them first (or wait for their TTL)",
			  argv[optind]);
		return EXIT_CONFLICT;
	}
	if (r < 0)
		return db_error(l, r, "cannot remove tenant");
	printf("removed tenant '%s'\n", argv[optind]);
	return EXIT_OK;
}

static int parse_period_arg(const char *cmd, const char *s, int *ret)
{
	int p = ledger_period_from_string(s);
	if (p < 0)
		return usage_error(cmd, "invalid --period '%s': use day, week, month or total", s);
	*ret = p;
	return EXIT_OK;
}

static int cmd_budget_set(int argc, char **argv)
{
	static const struct option opts[] = {
	    OPT_HELP,
	    {"limit", required_argument, NULL, ARG_LIMIT},
	    {"period", required_argument, NULL, ARG_PERIOD},
	    {},
	};
	_cleanup_ledger_close_ Ledger *l = NULL;
	const char *limit_s = NULL;
	char unit[UNITS_NAME_MAX], x[64];
	int period = LEDGER_PERIOD_MONTH, c, r;
	LedgerScope sc;
	int64_t limit;

	while ((c = next_opt("budget set", argc, argv, opts)) != -1)
		switch (c) {
		case 'h':
			return cmd_help("budget set");
		case ARG_LIMIT:
			limit_s = optarg;
			break;
		case ARG_PERIOD:
			r = parse_period_arg("budget set", optarg, &period);
			if (r != EXIT_OK)
				return r;
			break;
		default:
			return bad_option("budget set");
		}
	if (argc - optind != 1)
		return usage_error("budget set", "'budget set' takes one SCOPE");
	if (ledger_scope_parse(argv[optind], &sc) < 0)
		return usage_error("budget set", "invalid scope '%s': use tenant[/project[/user]]", argv[optind]);
	if (!limit_s)
		return usage_error("budget set", "--limit AMOUNT is required, e.g. --limit 50USD");
	r = parse_amount("budget set", limit_s, &limit, unit);
	if (r != EXIT_OK)
		return r;
	if (limit < 0)
		return usage_error("budget set", "--limit cannot be negative");

	r = open_ledger(false, &l);
	if (r < 0)
		return -r;
	r = ledger_budget_set(l, argv[optind], unit, period, limit);
	if (r == -ENOENT) {
		log_error("unknown tenant '%s' (add it with 'kdc-ledger tenant add %s')", sc.part[0], sc.part[0]);
		return EXIT_NOTFOUND;
	}
	if (r < 0)
		return db_error(l, r, "cannot set budget");
	printf("budget '%s': %s %s per %s\n", argv[optind], units_format_micro(x, sizeof(x), limit), unit,
	       ledger_period_to_string(period));
	return EXIT_OK;
}

static void make_bar(char *buf, size_t width, int64_t limit, int64_t spent, int64_t held)
{
	size_t s, h;

	/* In 128-bit arithmetic: amounts may be near INT64_MAX. */
	if (limit <= 0) {
		s = spent > 0 ? width : 0;
		h = held > 0 ? width - s : 0;
	} else {
		s = (size_t) MIN((__int128) spent * (__int128) width / limit, (__int128) width);
		h = (size_t) MIN((__int128) held * (__int128) width / limit, (__int128) (width - s));
	}
	buf[0] = '[';
	for (size_t i = 0; i < width; i++)
		buf[1 + i] = i < s ? '#' : i < s + h ? '+' : '.';
	buf[width + 1] = ']';
	buf[width + 2] = 0;
}

static int budget_row(const LedgerBudgetStatus *b, void *userdata)
{
	json_t *o = json_object();
	char bar[32];
	int64_t used, left;
	__int128 pct;

	used = b->spent + b->held; /* cannot overflow: held + posted was checked */
	left = MAX(b->limit - used, (int64_t) 0);
	pct = b->limit > 0 ? (__int128) used * 100 / b->limit : (used > 0 ? 100 : 0);
	set_str(o, "scope", b->scope);
	set_str(o, "period", ledger_period_to_string(b->period));
	set_str(o, "unit", b->unit);
	set_amount(o, "limit", b->limit);
	set_amount(o, "spent", b->spent);
	set_amount(o, "held", b->held);
	set_amount(o, "left", left);
	json_object_set_new(o, "used_percent", json_integer((json_int_t) MIN(pct, (__int128) 1000000)));
	make_bar(bar, 20, b->limit, b->spent, b->held);
	set_str(o, "bar", bar);
	return json_array_append_new(userdata, o);
}

static int cmd_budget_show(int argc, char **argv)
{
	static const Column cols[] = {
	    {"scope", "SCOPE"},	      {"period", "PERIOD"},   {"unit", "UNIT"},	      {"limit", "LIMIT", true},
	    {"spent", "SPENT", true}, {"held", "HELD", true}, {"left", "LEFT", true}, {"used_percent", "USED%", true},
	    {"bar", "", false, true},
	};
	_cleanup_ledger_close_ Ledger *l = NULL;
	_cleanup_json_ json_t *rows = json_array();
	Format format = FORMAT_TABLE;
	const char *scope;
	LedgerScope sc;
	bool h;
	int r;

	r = cmd_format_only("budget show", argc, argv, &format, &h, 1);
	if (r != EXIT_OK || h)
		return r;
	scope = optind < argc ? argv[optind] : NULL;
	if (scope && ledger_scope_parse(scope, &sc) < 0)
		return usage_error("budget show", "invalid scope '%s'", scope);
	r = open_ledger(true, &l);
	if (r < 0)
		return -r;
	r = ledger_budget_list(l, scope, budget_row, rows);
	if (r < 0)
		return db_error(l, r, "cannot read budgets");
	if (format == FORMAT_JSON)
		for (size_t i = 0; i < json_array_size(rows); i++)
			json_object_del(json_array_get(rows, i), "bar");
	return print_rows(rows, cols, ARRAY_SIZE(cols), format) < 0 ? EXIT_DB : EXIT_OK;
}

static int cmd_budget_rm(int argc, char **argv)
{
	static const struct option opts[] = {
	    OPT_HELP,
	    {"unit", required_argument, NULL, ARG_UNIT},
	    {"period", required_argument, NULL, ARG_PERIOD},
	    {},
	};
	_cleanup_ledger_close_ Ledger *l = NULL;
	const char *unit = NULL;
	int period = -1, c, r;
	LedgerScope sc;

	while ((c = next_opt("budget rm", argc, argv, opts)) != -1)
		switch (c) {
		case 'h':
			return cmd_help("budget rm");
		case ARG_UNIT:
			if (!units_valid_unit_name(optarg))
				return usage_error("budget rm", "invalid --unit '%s'", optarg);
			unit = optarg;
			break;
		case ARG_PERIOD:
			r = parse_period_arg("budget rm", optarg, &period);
			if (r != EXIT_OK)
				return r;
			break;
		default:
			return bad_option("budget rm");
		}
	if (argc - optind != 1)
		return usage_error("budget rm", "'budget rm' takes one SCOPE");
	if (ledger_scope_parse(argv[optind], &sc) < 0)
		return usage_error("budget rm", "invalid scope '%s'", argv[optind]);
	r = open_ledger(false, &l);
	if (r < 0)
		return -r;
	r = ledger_budget_remove(l, argv[optind], unit, period);
	if (r == -ENOENT) {
		log_error("no matching budget on '%s'", argv[optind]);
		return EXIT_NOTFOUND;
	}
	if (r < 0)
		return db_error(l, r, "cannot remove budget");
	printf("removed budget(s) of '%s'\n", argv[optind]);
	return EXIT_OK;
}

/* A random id for holds and charges given without --id (then not
 * idempotent: scripts that retry pass their own). */
static int random_id(const char *prefix, char buf[static LEDGER_ID_MAX + 1])
{
	uint8_t b[12];
	_cleanup_fclose_ FILE *f = fopen("/dev/urandom", "re");
	int n;

	if (!f || fread(b, 1, sizeof(b), f) != sizeof(b))
		return -EIO;
	n = snprintf(buf, LEDGER_ID_MAX + 1, "%s-", prefix);
	for (size_t i = 0; i < sizeof(b); i++)
		n += snprintf(buf + n, (size_t) (LEDGER_ID_MAX + 1 - n), "%02x", b[i]);
	return 0;
}

static int report_result(const char *what, const char *id, const LedgerResult *res)
{
	if (res->code == LEDGER_OK)
		return EXIT_OK;
	log_error("%s '%s': %s: %s", what, id, ledger_code_to_string(res->code), res->reason);
	return code_exit(res->code);
}

static int cmd_hold_or_charge(int argc, char **argv, bool charge)
{
	static const struct option hold_opts[] = {
	    OPT_HELP,
	    {"id", required_argument, NULL, ARG_ID},
	    {"ttl", required_argument, NULL, ARG_TTL},
	    {"session", required_argument, NULL, ARG_SESSION},
	    {},
	};
	static const struct option charge_opts[] = {
	    OPT_HELP,
	    {"id", required_argument, NULL, ARG_ID},
	    {"session", required_argument, NULL, ARG_SESSION},
	    {},
	};
	const char *cmd = charge ? "charge" : "hold";
	_cleanup_ledger_close_ Ledger *l = NULL;
	_cleanup_free_ char *errmsg = NULL;
	char id[LEDGER_ID_MAX + 1] = "", unit[UNITS_NAME_MAX];
	LedgerHoldRequest req = {.actor = "ledger"};
	LedgerResult res;
	int c, r;

	while ((c = next_opt(cmd, argc, argv, charge ? charge_opts : hold_opts)) != -1)
		switch (c) {
		case 'h':
			return cmd_help(cmd);
		case ARG_ID:
			if (strlen(optarg) > LEDGER_ID_MAX)
				return usage_error(cmd, "--id is longer than %d characters", LEDGER_ID_MAX);
			strcpy(id, optarg);
			break;
		case ARG_TTL:
			r = units_parse_duration(optarg, false, &req.ttl_usec);
			if (r < 0 || req.ttl_usec == 0)
				return usage_error(cmd, "invalid --ttl '%s': use a duration such as 10m or 1h", optarg);
			break;
		case ARG_SESSION:
			req.session = optarg;
			break;
		default:
			return bad_option(cmd);
		}
	if (argc - optind != 2)
		return usage_error(cmd, "'%s' takes SCOPE and AMOUNT", cmd);
	req.scope = argv[optind];
	r = parse_amount(cmd, argv[optind + 1], &req.amount, unit);
	if (r != EXIT_OK)
		return r;
	req.unit = unit;
	if (!id[0] && random_id(charge ? "charge" : "hold", id) < 0) {
		log_error("cannot read /dev/urandom for an id: pass --id");
		return EXIT_USAGE;
	}
	req.id = id;

	if (call_clerk(charge ? CALL_CHARGE : CALL_HOLD, &req, &r, &res, &errmsg) > 0) {
		if (r < 0)
			return db_error_msg(errmsg, r, charge ? "cannot charge" : "cannot place hold");
	} else {
		r = open_ledger(false, &l);
		if (r < 0)
			return -r;
		r = charge ? ledger_charge(l, &req, &res) : ledger_hold(l, &req, &res);
		if (r < 0)
			return db_error(l, r, charge ? "cannot charge" : "cannot place hold");
	}
	if (res.code != LEDGER_OK)
		return report_result(cmd, id, &res);
	printf("%s\n", id);
	return EXIT_OK;
}

static int cmd_post_or_void(int argc, char **argv, bool post)
{
	static const struct option opts[] = {
	    OPT_HELP,
	    {"tenant", required_argument, NULL, ARG_TENANT},
	    {},
	};
	const char *cmd = post ? "post" : "void", *tenant = NULL;
	_cleanup_ledger_close_ Ledger *l = NULL;
	_cleanup_free_ char *errmsg = NULL;
	char unit[UNITS_NAME_MAX];
	LedgerResult res;
	int c, r;

	while ((c = next_opt(cmd, argc, argv, opts)) != -1)
		switch (c) {
		case 'h':
			return cmd_help(cmd);
		case ARG_TENANT:
			tenant = optarg;
			break;
		default:
			return bad_option(cmd);
		}
	if (argc - optind < 1 || argc - optind > (post ? 2 : 1))
		return usage_error(cmd, post ? "'post' takes ID and an optional AMOUNT" : "'void' takes one ID");

	if (post) {
		LedgerPostRequest req = {.id = argv[optind], .tenant = tenant, .full = true, .actor = "ledger"};
		if (argc - optind == 2) {
			r = parse_amount(cmd, argv[optind + 1], &req.amount, unit);
			if (r != EXIT_OK)
				return r;
			req.full = false;
			req.unit = unit;
		}
		if (call_clerk(CALL_POST, &req, &r, &res, &errmsg) == 0) {
			r = open_ledger(false, &l);
			if (r < 0)
				return -r;
			r = ledger_post(l, &req, &res);
		}
	} else {
		LedgerVoidRequest req = {.id = argv[optind], .tenant = tenant, .actor = "ledger"};
		if (call_clerk(CALL_VOID, &req, &r, &res, &errmsg) == 0) {
			r = open_ledger(false, &l);
			if (r < 0)
				return -r;
			r = ledger_void(l, &req, &res);
		}
	}
	if (r < 0)
		return l ? db_error(l, r, post ? "cannot post" : "cannot void")
			 : db_error_msg(errmsg, r, post ? "cannot post" : "cannot void");
	if (res.code != LEDGER_OK)
		return report_result(cmd, argv[optind], &res);
	printf("%s\n", res.reason);
	return EXIT_OK;
}

static int usage_row(const LedgerUsage *u, void *userdata)
{
	json_t *o = json_object();
	LedgerScope sc;
	static const char *const level[] = {"", "tenant", "project", "user"};

	set_str(o, "scope", u->scope);
	set_str(o, "level", ledger_scope_parse(u->scope, &sc) >= 0 ? level[sc.depth] : NULL);
	set_str(o, "unit", u->unit);
	set_amount(o, "spent", u->spent);
	return json_array_append_new(userdata, o);
}

static int cmd_usage_or_report(int argc, char **argv, bool report)
{
	static const struct option usage_opts[] = {
	    OPT_HELP,
	    {"period", required_argument, NULL, ARG_PERIOD},
	    {"format", required_argument, NULL, ARG_FORMAT},
	    {},
	};
	static const struct option report_opts[] = {
	    OPT_HELP,
	    {"month", required_argument, NULL, ARG_MONTH},
	    {"format", required_argument, NULL, ARG_FORMAT},
	    {},
	};
	static const Column cols[] = {
	    {"scope", "SCOPE"},
	    {"level", "LEVEL"},
	    {"unit", "UNIT"},
	    {"spent", "SPENT", true},
	};
	const char *cmd = report ? "report" : "usage", *month = NULL, *scope;
	_cleanup_ledger_close_ Ledger *l = NULL;
	_cleanup_json_ json_t *rows = json_array();
	Format format = FORMAT_TABLE;
	int period = LEDGER_PERIOD_MONTH, c, r;
	int64_t start, end;
	LedgerScope sc;

	while ((c = next_opt(cmd, argc, argv, report ? report_opts : usage_opts)) != -1)
		switch (c) {
		case 'h':
			return cmd_help(cmd);
		case ARG_PERIOD:
			r = parse_period_arg(cmd, optarg, &period);
			if (r != EXIT_OK)
				return r;
			break;
		case ARG_MONTH:
			if (ledger_parse_month(optarg, &start, &end) < 0)
				return usage_error(cmd, "invalid --month '%s': use YYYY-MM, e.g. 2026-11", optarg);
			month = optarg;
			break;
		case ARG_FORMAT:
			if (parse_format(optarg, &format) < 0)
				return usage_error(cmd, "invalid --format '%s': use table, json or csv", optarg);
			break;
		default:
			return bad_option(cmd);
		}
	if (argc - optind > 1)
		return usage_error(cmd, "'%s' takes at most one SCOPE", cmd);
	scope = optind < argc ? argv[optind] : NULL;
	if (scope && ledger_scope_parse(scope, &sc) < 0)
		return usage_error(cmd, "invalid scope '%s'", scope);

	r = open_ledger(true, &l);
	if (r < 0)
		return -r;
	if (!month)
		ledger_period_window(report ? LEDGER_PERIOD_MONTH : period, ledger_now(l), &start, &end);
	r = ledger_usage(l, scope, start, end, usage_row, rows);
	if (r < 0)
		return db_error(l, r, "cannot read usage");
	return print_rows(rows, cols, ARRAY_SIZE(cols), format) < 0 ? EXIT_DB : EXIT_OK;
}

/* ---- audit ---------------------------------------------------------------- */

typedef struct AuditPrint {
	Format format;
	bool stream; /* --follow: one JSON object per line */
	bool header_done;
	json_t *rows; /* JSON, not streaming */
	int64_t last_seq;
} AuditPrint;

static json_t *audit_json(const AuditEntry *e)
{
	json_t *o = json_object();

	json_object_set_new(o, "seq", json_integer(e->seq));
	set_time(o, "time", e->time_usec);
	json_object_set_new(o, "time_usec", json_integer((json_int_t) e->time_usec));
	set_str(o, "tenant", e->rec.tenant);
	set_str(o, "project", e->rec.project);
	set_str(o, "user", e->rec.user);
	set_str(o, "session", e->rec.session);
	set_str(o, "actor", e->rec.actor);
	set_str(o, "action", e->rec.action);
	set_str(o, "object", e->rec.object);
	set_str(o, "decision", e->rec.decision);
	set_str(o, "rule", e->rec.rule);
	set_str(o, "reason", e->rec.reason);
	set_str(o, "detail", e->rec.detail);
	set_str(o, "hash", e->hash);
	return o;
}

static int audit_print(const AuditEntry *e, void *userdata)
{
	static const char *const csv_cols[] = {"seq",	 "time",   "tenant",   "project", "user",   "session", "actor",
					       "action", "object", "decision", "rule",	  "reason", "detail",  "hash"};
	AuditPrint *p = userdata;
	char t[32], scope[LEDGER_SCOPE_MAX];

	p->last_seq = e->seq;
	if (p->format == FORMAT_JSON) {
		json_t *o = audit_json(e);
		if (!p->stream)
			return json_array_append_new(p->rows, o);
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
		putchar('\n');
		return 0;
	}
	if (p->format == FORMAT_CSV) {
		_cleanup_json_ json_t *o = audit_json(e);

		if (!p->header_done) {
			for (size_t i = 0; i < ARRAY_SIZE(csv_cols); i++)
				printf("%s%s", i ? "," : "", csv_cols[i]);
			putchar('\n');
			p->header_done = true;
		}
		for (size_t i = 0; i < ARRAY_SIZE(csv_cols); i++) {
			if (i)
				putchar(',');
			csv_cell(o, csv_cols[i]);
		}
		putchar('\n');
		return 0;
	}
	if (!p->header_done) {
		printf("%6s  %-20s  %-8s  %-10s  %-14s  %-24s  %-20s  %s\n", "SEQ", "TIME", "DECISION", "ACTOR",
		       "ACTION", "OBJECT", "SCOPE", "REASON");
		p->header_done = true;
	}
	snprintf(scope, sizeof(scope), "%s%s%s%s%s", e->rec.tenant ?: "-", e->rec.project ? "/" : "",
		 e->rec.project ?: "", e->rec.user ? "/" : "", e->rec.user ?: "");
	printf("%6" PRId64 "  %-20s  %-8s  %-10s  %-14s  %-24s  %-20s  %s%s%s\n", e->seq, format_time(t, e->time_usec),
	       e->rec.decision ?: "-", e->rec.actor ?: "-", e->rec.action ?: "-", e->rec.object ?: "-", scope,
	       e->rec.rule ?: "", e->rec.rule ? ": " : "", e->rec.reason ?: "");
	return 0;
}

static volatile sig_atomic_t arg_stop = 0;

static void on_signal(int sig)
{
	arg_stop = 1;
}

static int cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
	    OPT_HELP,
	    {"tenant", required_argument, NULL, ARG_TENANT},
	    {"session", required_argument, NULL, ARG_SESSION},
	    {"since", required_argument, NULL, ARG_SINCE},
	    {"decision", required_argument, NULL, ARG_DECISION},
	    {"last", required_argument, NULL, ARG_LAST},
	    {"follow", no_argument, NULL, ARG_FOLLOW},
	    {"format", required_argument, NULL, ARG_FORMAT},
	    {},
	};
	_cleanup_ledger_close_ Ledger *l = NULL;
	_cleanup_json_ json_t *rows = json_array();
	AuditFilter f = {0};
	AuditPrint p = {.format = FORMAT_TABLE};
	const char *since = NULL;
	bool follow = false;
	int c, r;

	while ((c = next_opt("audit", argc, argv, opts)) != -1)
		switch (c) {
		case 'h':
			return cmd_help("audit");
		case ARG_TENANT:
			f.tenant = optarg;
			break;
		case ARG_SESSION:
			f.session = optarg;
			break;
		case ARG_SINCE:
			since = optarg;
			break;
		case ARG_DECISION:
			if (!audit_decision_valid(optarg))
				return usage_error("audit", "invalid --decision '%s': use allow, deny or error",
						   optarg);
			f.decision = optarg;
			break;
		case ARG_LAST:
			if (units_parse_uint64(optarg, &f.last) < 0 || f.last == 0)
				return usage_error("audit", "invalid --last '%s': use a positive number", optarg);
			break;
		case ARG_FOLLOW:
			follow = true;
			break;
		case ARG_FORMAT:
			if (parse_format(optarg, &p.format) < 0)
				return usage_error("audit", "invalid --format '%s': use table, json or csv", optarg);
			break;
		default:
			return bad_option("audit");
		}
	if (optind < argc)
		return usage_error("audit", "'audit' takes no arguments");

	r = open_ledger(true, &l);
	if (r < 0)
		return -r;
	if (since && parse_when(since, ledger_now(l), &f.since_usec) < 0)
		return usage_error("audit",
				   "invalid --since '%s': use 1h, 2026-11-22, 2026-11-22T10:00:00Z or @SECONDS", since);
	p.stream = follow;
	p.rows = rows;
	r = ledger_audit_query(l, &f, audit_print, &p);
	if (r < 0)
		return db_error(l, r, "cannot read the audit trail");
	if (p.format == FORMAT_JSON && !follow)
		return print_rows(rows, NULL, 0, FORMAT_JSON) < 0 ? EXIT_DB : EXIT_OK;
	if (!follow)
		return EXIT_OK;

	/* --follow: poll for rows after the last one shown until a signal. */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	f.last = 0;
	while (!arg_stop) {
		struct timespec ts = {.tv_nsec = 200 * 1000 * 1000};

		if (fflush(stdout) == EOF)
			break; /* reader went away */
		(void) nanosleep(&ts, NULL);
		f.after_seq = p.last_seq;
		r = ledger_audit_query(l, &f, audit_print, &p);
		if (r < 0 && r != -EBUSY)
			return db_error(l, r, "cannot read the audit trail");
	}
	return EXIT_OK;
}

/* ---- sessions -------------------------------------------------------------- */

static int session_row(const LedgerSession *s, void *userdata)
{
	json_t *o = json_object();
	char scope[LEDGER_SCOPE_MAX], d[32], cost[64], x[40];
	const char *state;

	snprintf(scope, sizeof(scope), "%s%s%s%s%s", s->tenant ?: "", s->project ? "/" : "", s->project ?: "",
		 s->user ? "/" : "", s->user ?: "");
	if (s->end_usec)
		state = s->end_reason ?: "ended";
	else if (s->hold_state == LEDGER_HOLD_EXPIRED)
		state = "lost"; /* kdc-run died; its hold expired */
	else
		state = "running";
	set_str(o, "id", s->id);
	set_str(o, "scope", scope);
	set_time(o, "start", s->start_usec);
	set_time(o, "end", s->end_usec);
	set_str(o, "state", state);
	if (s->end_usec) {
		json_object_set_new(o, "exit_status", json_integer(s->exit_status));
		set_str(o, "wall", units_format_duration(d, sizeof(d), s->wall_usec));
		json_object_set_new(o, "wall_usec", json_integer((json_int_t) s->wall_usec));
		json_object_set_new(o, "cpu_usec", json_integer((json_int_t) s->cpu_usec));
		json_object_set_new(o, "memory_peak", json_integer((json_int_t) s->memory_peak));
		json_object_set_new(o, "pids_peak", json_integer((json_int_t) s->pids_peak));
		json_object_set_new(o, "egress_bytes", json_integer((json_int_t) s->egress_bytes));
		snprintf(cost, sizeof(cost), "%s %s", units_format_micro(x, sizeof(x), s->cost), s->unit ?: "");
		set_str(o, "cost", cost);
		json_object_set_new(o, "cost_micro", json_integer(s->cost));
	}
	set_str(o, "unit", s->unit);
	set_str(o, "hold_id", s->hold_id);
	set_str(o, "command", s->command);
	return json_array_append_new(userdata, o);
}

static int cmd_sessions(int argc, char **argv)
{
	static const struct option opts[] = {
	    OPT_HELP,
	    {"tenant", required_argument, NULL, ARG_TENANT},
	    {"last", required_argument, NULL, ARG_LAST},
	    {"format", required_argument, NULL, ARG_FORMAT},
	    {},
	};
	static const Column cols[] = {
	    {"id", "SESSION"},
	    {"scope", "SCOPE"},
	    {"start", "START"},
	    {"state", "STATE"},
	    {"exit_status", "EXIT", true},
	    {"wall", "WALL", true},
	    {"cost", "COST", true},
	    {"command", "COMMAND"},
	};
	_cleanup_ledger_close_ Ledger *l = NULL;
	_cleanup_json_ json_t *rows = json_array();
	Format format = FORMAT_TABLE;
	const char *tenant = NULL;
	uint64_t last = 0;
	int c, r;

	while ((c = next_opt("sessions", argc, argv, opts)) != -1)
		switch (c) {
		case 'h':
			return cmd_help("sessions");
		case ARG_TENANT:
			tenant = optarg;
			break;
		case ARG_LAST:
			if (units_parse_uint64(optarg, &last) < 0 || last == 0)
				return usage_error("sessions", "invalid --last '%s': use a positive number", optarg);
			break;
		case ARG_FORMAT:
			if (parse_format(optarg, &format) < 0)
				return usage_error("sessions", "invalid --format '%s': use table, json or csv", optarg);
			break;
		default:
			return bad_option("sessions");
		}
	if (optind < argc)
		return usage_error("sessions", "'sessions' takes no arguments");
	r = open_ledger(true, &l);
	if (r < 0)
		return -r;
	r = ledger_session_list(l, tenant, last, session_row, rows);
	if (r < 0)
		return db_error(l, r, "cannot list sessions");
	return print_rows(rows, cols, ARRAY_SIZE(cols), format) < 0 ? EXIT_DB : EXIT_OK;
}

static int cmd_verify(int argc, char **argv)
{
	_cleanup_ledger_close_ Ledger *l = NULL;
	AuditVerifyResult v;
	bool h;
	int r;

	r = simple_args("verify", argc, argv, 0, 0, &h);
	if (r != EXIT_OK || h)
		return r;
	r = open_ledger(true, &l);
	if (r < 0)
		return -r;
	r = ledger_verify(l, &v);
	if (r < 0)
		return db_error(l, r, "cannot read the audit trail");
	if (v.first_bad > 0) {
		log_error("audit trail broken at row %" PRId64 ": %s", v.first_bad, v.problem);
		return EXIT_DENIED;
	}
	printf("audit trail intact: %" PRId64 " rows, head %s\n", v.rows, v.head[0] ? v.head : "-");
	return EXIT_OK;
}

static int cmd_gc(int argc, char **argv)
{
	_cleanup_ledger_close_ Ledger *l = NULL;
	bool h;
	int r;

	r = simple_args("gc", argc, argv, 0, 0, &h);
	if (r != EXIT_OK || h)
		return r;
	r = open_ledger(false, &l);
	if (r < 0)
		return -r;
	r = ledger_gc(l);
	if (r < 0)
		return db_error(l, r, "cannot expire holds");
	printf("released %d expired hold%s\n", r, r == 1 ? "" : "s");
	return EXIT_OK;
}

static int cmd_hold(int argc, char **argv)
{
	return cmd_hold_or_charge(argc, argv, false);
}
static int cmd_charge(int argc, char **argv)
{
	return cmd_hold_or_charge(argc, argv, true);
}
static int cmd_post(int argc, char **argv)
{
	return cmd_post_or_void(argc, argv, true);
}
static int cmd_void(int argc, char **argv)
{
	return cmd_post_or_void(argc, argv, false);
}
static int cmd_usage(int argc, char **argv)
{
	return cmd_usage_or_report(argc, argv, false);
}
static int cmd_report(int argc, char **argv)
{
	return cmd_usage_or_report(argc, argv, true);
}

typedef int (*CommandFunc)(int argc, char **argv);

static const struct {
	const char *name;
	CommandFunc func;
} dispatch[] = {
    {"init", cmd_init},
    {"tenant add", cmd_tenant_add},
    {"tenant list", cmd_tenant_list},
    {"tenant rm", cmd_tenant_rm},
    {"budget set", cmd_budget_set},
    {"budget show", cmd_budget_show},
    {"budget rm", cmd_budget_rm},
    {"hold", cmd_hold},
    {"post", cmd_post},
    {"void", cmd_void},
    {"charge", cmd_charge},
    {"usage", cmd_usage},
    {"report", cmd_report},
    {"audit", cmd_audit},
    {"sessions", cmd_sessions},
    {"verify", cmd_verify},
    {"gc", cmd_gc},
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, ARG_VERSION},
	    {"db", required_argument, NULL, ARG_DB},
	    {},
	};
	char name[64];
	int c, sub_argc;
	char **sub_argv;

	log_set_program("kdc-ledger");
	clerk_remember_argv(argc, argv); /* a clerk we fork shows as one in ps */
	/* Stop at the command: its options are its own. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1)
		switch (c) {
		case 'h':
			return help();
		case ARG_VERSION:
			printf("kdc-ledger %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		case ARG_DB:
			if (isempty(optarg))
				return usage_error("", "--db needs a path");
			arg_db = optarg;
			break;
		default:
			fprintf(stderr, "Try 'kdc-ledger --help'.\n");
			return EXIT_USAGE;
		}
	if (optind >= argc) {
		log_error("missing command");
		fprintf(stderr, "Try 'kdc-ledger --help'.\n");
		return EXIT_USAGE;
	}

	sub_argv = argv + optind;
	sub_argc = argc - optind;
	if (streq(sub_argv[0], "tenant") || streq(sub_argv[0], "budget")) {
		if (sub_argc < 2 || startswith(sub_argv[1], "-")) {
			if (sub_argc >= 2 && (streq(sub_argv[1], "--help") || streq(sub_argv[1], "-h")))
				return cmd_help(sub_argv[0]);
			return usage_error(sub_argv[0], "'%s' needs a subcommand", sub_argv[0]);
		}
		snprintf(name, sizeof(name), "%s %s", sub_argv[0], sub_argv[1]);
		sub_argv++;
		sub_argc--;
	} else
		snprintf(name, sizeof(name), "%s", sub_argv[0]);

	for (size_t i = 0; i < ARRAY_SIZE(dispatch); i++)
		if (streq(dispatch[i].name, name)) {
			optind = 0; /* reset getopt for the command's own options */
			return dispatch[i].func(sub_argc, sub_argv);
		}
	log_error("unknown command '%s'", name);
	fprintf(stderr, "Try 'kdc-ledger --help'.\n");
	return EXIT_USAGE;
}
