/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "core/ledger-sql.h"
#include "core/ratelimit.h"
#include "shared/macro.h"
#include "shared/units.h"

const char ratelimit_schema_v1[] = "CREATE TABLE ratelimits ("
				   " name TEXT PRIMARY KEY,"
				   " tat INTEGER NOT NULL,"
				   " last_now INTEGER NOT NULL) WITHOUT ROWID;\n";

int ratelimit_parse(const char *s, RateLimit *ret)
{
	char count_s[32], period_s[64], rest[64];
	uint64_t count, period, burst = 0;
	const char *slash, *p;
	size_t n;
	int r;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash || (size_t) (slash - s) >= sizeof(count_s))
		return -EINVAL;
	memcpy(count_s, s, (size_t) (slash - s));
	count_s[slash - s] = 0;
	r = units_parse_uint64(count_s, &count);
	if (r < 0)
		return r;

	p = slash + 1;
	n = strcspn(p, " \t");
	if (n == 0 || n + 1 >= sizeof(period_s))
		return -EINVAL;
	/* "min" alone means one minute. */
	snprintf(period_s, sizeof(period_s), "%s%.*s", isalpha((unsigned char) *p) ? "1" : "", (int) n, p);
	r = units_parse_duration(period_s, false, &period);
	if (r < 0)
		return r;

	p += n;
	p += strspn(p, " \t");
	if (*p) {
		const char *b = startswith(p, "burst");
		if (!b || !strchr(" \t", *b) || !*b)
			return -EINVAL;
		b += strspn(b, " \t");
		n = strcspn(b, " \t");
		if (n == 0 || n >= sizeof(rest) || b[n + strspn(b + n, " \t")])
			return -EINVAL;
		memcpy(rest, b, n);
		rest[n] = 0;
		r = units_parse_uint64(rest, &burst);
		if (r < 0)
			return r;
	}
	if (count == 0 || period == 0)
		return -ERANGE;
	*ret = (RateLimit){
	    .interval_usec = period / count + (period % count != 0),
	    .burst = burst,
	};
	return 0;
}

char *ratelimit_format(char *buf, size_t len, const RateLimit *rl)
{
	static const struct {
		const char *name;
		uint64_t usec;
	} periods[] = {
	    {"s", USEC_PER_SEC},
	    {"min", 60 * USEC_PER_SEC},
	    {"h", 3600 * USEC_PER_SEC},
	    {"d", 86400 * USEC_PER_SEC},
	};
	char d[32];
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(periods); i++)
		if (rl->interval_usec > 0 && periods[i].usec % rl->interval_usec == 0 &&
		    periods[i].usec / rl->interval_usec >= 1) {
			n = (size_t) snprintf(buf, len, "%" PRIu64 "/%s", periods[i].usec / rl->interval_usec,
					      periods[i].name);
			break;
		}
	if (n == 0)
		n = (size_t) snprintf(buf, len, "1/%s", units_format_duration(d, sizeof(d), rl->interval_usec));
	if (rl->burst > 0 && n < len)
		snprintf(buf + n, len - n, " burst %" PRIu64, rl->burst);
	return buf;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	uint64_t r;
	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

bool ratelimit_gcra(const RateLimit *rl, GcraState *st, uint64_t now, uint64_t *ret_retry_usec)
{
	uint64_t tau = sat_mul(rl->burst, rl->interval_usec), tat;

	/* Never let time run backwards for this key. */
	if (now < st->last_now)
		now = st->last_now;
	st->last_now = now;

	tat = MAX(st->tat, now);
	if (tat - now > tau) {
		if (ret_retry_usec)
			*ret_retry_usec = tat - now - tau;
		return false;
	}
	/* A TAT that cannot be represented would let everything through:
	 * fail closed instead (only a clock in the year 586,000 gets here). */
	if (__builtin_add_overflow(tat, rl->interval_usec, &st->tat)) {
		st->tat = UINT64_MAX;
		if (ret_retry_usec)
			*ret_retry_usec = UINT64_MAX;
		return false;
	}
	if (ret_retry_usec)
		*ret_retry_usec = 0;
	return true;
}

int ratelimit_check(sqlite3 *db, const char *key, const RateLimit *rl, uint64_t now_usec, bool *ret_allowed,
		    uint64_t *ret_retry_usec)
{
	_cleanup_sql_finalize_ sqlite3_stmt *get = NULL, *put = NULL;
	GcraState st = {0};
	uint64_t retry = 0;
	bool allowed;
	int rc;

	if (!key || rl->interval_usec == 0)
		return -EINVAL;
	/* Stored as SQLite integers: a time beyond what they hold cannot be
	 * limited correctly, so the caller denies. */
	if (now_usec > (uint64_t) INT64_MAX / 2)
		return -ERANGE;
	rc = sqlite3_prepare_v2(db, "SELECT tat, last_now FROM ratelimits WHERE name = ?1", -1, &get, NULL);
	if (rc != SQLITE_OK)
		return ledger_sql_errno(db, rc);
	sqlite3_bind_text(get, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(get);
	if (rc == SQLITE_ROW) {
		int64_t tat = sqlite3_column_int64(get, 0), last = sqlite3_column_int64(get, 1);
		/* A negative value is a damaged row: fail closed. */
		if (tat < 0 || last < 0)
			return -EBADMSG;
		st = (GcraState){.tat = (uint64_t) tat, .last_now = (uint64_t) last};
	} else if (rc != SQLITE_DONE)
		return ledger_sql_errno(db, rc);

	allowed = ratelimit_gcra(rl, &st, now_usec, &retry);
	if (st.tat > (uint64_t) INT64_MAX)
		return -ERANGE;

	rc = sqlite3_prepare_v2(db,
				"INSERT INTO ratelimits (name, tat, last_now) VALUES (?1, ?2, ?3)"
				" ON CONFLICT (name) DO UPDATE SET tat = excluded.tat, last_now = excluded.last_now",
				-1, &put, NULL);
	if (rc != SQLITE_OK)
		return ledger_sql_errno(db, rc);
	sqlite3_bind_text(put, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(put, 2, (int64_t) st.tat);
	sqlite3_bind_int64(put, 3, (int64_t) st.last_now);
	rc = sqlite3_step(put);
	if (rc != SQLITE_DONE)
		return ledger_sql_errno(db, rc);

	*ret_allowed = allowed;
	if (ret_retry_usec)
		*ret_retry_usec = retry;
	return 0;
}
