/* SPDX-License-Identifier: MIT */
#pragma once

/* GCRA rate limits (the generic cell rate algorithm, as in ATM and in
 * redis-cell): one emission interval T and a burst b. A request at time t
 * is allowed when TAT - t <= b*T, where TAT is the theoretical arrival time
 * of the next request; allowing it moves TAT to max(TAT, t) + T. At most
 * b + 1 + floor(w / T) requests are allowed in any window of length w.
 *
 * The clock is made monotonic per key: a time earlier than the latest one
 * seen for that key is taken as that latest time, so a clock stepping
 * backwards can never grant extra capacity. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sqlite3 sqlite3;

typedef struct RateLimit {
	uint64_t interval_usec; /* T: one request per interval, sustained */
	uint64_t burst;		/* b: extra requests allowed at once */
} RateLimit;

/* "10/min", "10/min burst 5", "2/s", "1/30s", "100/h burst 20". The period
 * is a duration (units_parse_duration) with an implicit 1 ("min" = "1min");
 * T = period / count, rounded up (never more than asked for). -EINVAL,
 * -ERANGE for a zero count or period. */
int ratelimit_parse(const char *s, RateLimit *ret);
/* Inverse of ratelimit_parse() for display: "10/min burst 5" when exact,
 * otherwise "1/6s". buf >= 64. */
char *ratelimit_format(char *buf, size_t len, const RateLimit *rl);

typedef struct GcraState {
	uint64_t tat;	   /* theoretical arrival time, usec */
	uint64_t last_now; /* latest time seen, usec */
} GcraState;

/* The pure decision. Always raises st->last_now; moves st->tat only when the
 * request is allowed. On a denial ret_retry_usec (may be NULL) says how long
 * until one request would pass. */
bool ratelimit_gcra(const RateLimit *rl, GcraState *st, uint64_t now_usec, uint64_t *ret_retry_usec);

/* The same against the state stored in the ledger's ratelimits table under
 * key, in the caller's (write) transaction. Returns 0 and the decision, or
 * -errno: a caller that cannot read or write the state must deny. */
int ratelimit_check(sqlite3 *db, const char *key, const RateLimit *rl, uint64_t now_usec, bool *ret_allowed,
		    uint64_t *ret_retry_usec);

/* Schema of the ratelimits table for the ledger's migration. */
extern const char ratelimit_schema_v1[];
