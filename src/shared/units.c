/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "shared/macro.h"
#include "shared/units.h"

/* Parses "<digits>[.<digits>]" at *p into an integer scaled by 10^frac_digits,
 * exactly. Extra fractional digits beyond frac_digits must be zero (so a
 * value that cannot be represented is rejected, never rounded). */
static int parse_decimal(const char **p, unsigned frac_digits, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;
	unsigned n_int = 0, n_frac = 0;

	while (isdigit((unsigned char) *s)) {
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t) (*s - '0'), &v))
			return -ERANGE;
		s++;
		n_int++;
	}
	if (*s == '.') {
		s++;
		while (isdigit((unsigned char) *s)) {
			if (n_frac < frac_digits) {
				if (__builtin_mul_overflow(v, 10, &v) ||
				    __builtin_add_overflow(v, (uint64_t) (*s - '0'), &v))
					return -ERANGE;
			} else if (*s != '0')
				return -EINVAL; /* more precision than we can hold exactly */
			s++;
			n_frac++;
		}
		if (n_frac == 0)
			return -EINVAL;
	}
	if (n_int == 0 && n_frac == 0)
		return -EINVAL;
	for (unsigned i = MIN(n_frac, frac_digits); i < frac_digits; i++)
		if (__builtin_mul_overflow(v, 10, &v))
			return -ERANGE;
	*p = s;
	*ret = v;
	return 0;
}

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

int units_parse_uint64(const char *s, uint64_t *ret)
{
	uint64_t v;
	const char *p = s;
	int r;

	if (!s || !isdigit((unsigned char) *s))
		return -EINVAL;
	r = parse_decimal(&p, 0, &v);
	if (r < 0)
		return r;
	if (*p)
		return -EINVAL;
	*ret = v;
	return 0;
}

int units_parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	return -EINVAL;
}

static bool is_max(const char *s)
{
	return strcasecmp(s, "max") == 0 || strcasecmp(s, "infinity") == 0 || strcasecmp(s, "unlimited") == 0;
}

int units_parse_size(const char *s, bool allow_max, uint64_t *ret)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} table[] = {
	    {"", 0},	 {"B", 0},  {"K", 10},	{"KB", 10},  {"KiB", 10}, {"M", 20},  {"MB", 20},
	    {"MiB", 20}, {"G", 30}, {"GB", 30}, {"GiB", 30}, {"T", 40},	  {"TB", 40}, {"TiB", 40},
	};
	const char *p = s;
	uint64_t v;
	int r;

	if (!s)
		return -EINVAL;
	if (is_max(s)) {
		if (!allow_max)
			return -EINVAL;
		*ret = UINT64_MAX;
		return 0;
	}
	/* Up to 3 fractional digits: "1.5G" is exact, "1.0001G" is refused. */
	r = parse_decimal(&p, 3, &v);
	if (r < 0)
		return r;
	p = skip_space(p);
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		uint64_t b;
		if (strcasecmp(p, table[i].suffix) != 0)
			continue;
		if (__builtin_mul_overflow(v, UINT64_C(1) << table[i].shift, &b))
			return -ERANGE;
		if (b % 1000 != 0)
			return -EINVAL; /* fractional byte count */
		*ret = b / 1000;
		return 0;
	}
	return -EINVAL;
}

char *units_format_size(char *buf, size_t len, uint64_t v)
{
	static const char suffix[] = "KMGT";

	if (v == UINT64_MAX) {
		snprintf(buf, len, "max");
		return buf;
	}
	for (int i = 3; i >= 0; i--) {
		uint64_t unit = UINT64_C(1) << (10 * (i + 1));
		if (v >= unit && v % unit == 0) {
			snprintf(buf, len, "%" PRIu64 "%c", v / unit, suffix[i]);
			return buf;
		}
	}
	snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

int units_parse_duration(const char *s, bool allow_max, uint64_t *ret_usec)
{
	static const struct {
		const char *suffix;
		uint64_t usec;
	} table[] = {
	    /* longest first so "ms" is not read as "m" */
	    {"usec", 1},
	    {"us", 1},
	    {"msec", USEC_PER_MSEC},
	    {"ms", USEC_PER_MSEC},
	    {"sec", USEC_PER_SEC},
	    {"s", USEC_PER_SEC},
	    {"min", 60 * USEC_PER_SEC},
	    {"m", 60 * USEC_PER_SEC},
	    {"h", 3600 * USEC_PER_SEC},
	    {"d", 86400 * USEC_PER_SEC},
	    {"w", 7 * 86400 * USEC_PER_SEC},
	};
	const char *p = s;
	uint64_t total = 0;
	bool any = false;

	if (!s)
		return -EINVAL;
	if (is_max(s)) {
		if (!allow_max)
			return -EINVAL;
		*ret_usec = UINT64_MAX;
		return 0;
	}
	while (*p) {
		uint64_t v, part;
		size_t i;
		int r;

		p = skip_space(p);
		/* 6 fractional digits so "1.5ms" and "0.25s" are exact */
		r = parse_decimal(&p, 6, &v);
		if (r < 0)
			return r;
		p = skip_space(p);
		if (!*p) {
			if (any)
				return -EINVAL; /* "1m30" is ambiguous */
			part = v;		/* bare number: seconds, already scaled by 10^6 */
		} else {
			for (i = 0; i < ARRAY_SIZE(table); i++) {
				size_t l = strlen(table[i].suffix);
				if (strncmp(p, table[i].suffix, l) == 0 && !isalpha((unsigned char) p[l]))
					break;
			}
			if (i == ARRAY_SIZE(table))
				return -EINVAL;
			p += strlen(table[i].suffix);
			if (__builtin_mul_overflow(v, table[i].usec, &part))
				return -ERANGE;
			if (part % MICRO != 0)
				return -EINVAL; /* below a microsecond */
			part /= MICRO;
		}
		if (__builtin_add_overflow(total, part, &total))
			return -ERANGE;
		any = true;
	}
	if (!any)
		return -EINVAL;
	*ret_usec = total;
	return 0;
}

char *units_format_duration(char *buf, size_t len, uint64_t usec)
{
	if (usec == UINT64_MAX)
		snprintf(buf, len, "infinity");
	else if (usec % (3600 * USEC_PER_SEC) == 0 && usec)
		snprintf(buf, len, "%" PRIu64 "h", usec / (3600 * USEC_PER_SEC));
	else if (usec % (60 * USEC_PER_SEC) == 0 && usec)
		snprintf(buf, len, "%" PRIu64 "m", usec / (60 * USEC_PER_SEC));
	else if (usec % USEC_PER_SEC == 0)
		snprintf(buf, len, "%" PRIu64 "s", usec / USEC_PER_SEC);
	else if (usec % USEC_PER_MSEC == 0)
		snprintf(buf, len, "%" PRIu64 "ms", usec / USEC_PER_MSEC);
	else
		snprintf(buf, len, "%" PRIu64 "us", usec);
	return buf;
}

int units_parse_cpu(const char *s, uint64_t *ret_millicores)
{
	const char *p = s;
	uint64_t v;
	int r;

	if (!s)
		return -EINVAL;
	if (is_max(s)) {
		*ret_millicores = UINT64_MAX;
		return 0;
	}
	r = parse_decimal(&p, 3, &v);
	if (r < 0)
		return r;
	p = skip_space(p);
	if (*p == '%' && !p[1]) {
		if (v % 100 != 0)
			return -EINVAL;
		v /= 100; /* 150% -> 1.5 cores -> 1500 millicores (v was 150000) */
	} else if (*p)
		return -EINVAL;
	if (v == 0)
		return -ERANGE;
	*ret_millicores = v;
	return 0;
}

char *units_format_cpu(char *buf, size_t len, uint64_t m)
{
	if (m == UINT64_MAX)
		snprintf(buf, len, "max");
	else if (m % 1000 == 0)
		snprintf(buf, len, "%" PRIu64, m / 1000);
	else {
		char frac[4];
		int n = 3;
		snprintf(frac, sizeof(frac), "%03" PRIu64, m % 1000);
		while (n > 1 && frac[n - 1] == '0')
			frac[--n] = 0;
		snprintf(buf, len, "%" PRIu64 ".%s", m / 1000, frac);
	}
	return buf;
}

int units_parse_micro(const char *s, bool allow_negative, int64_t *ret)
{
	const char *p = s;
	bool neg = false;
	uint64_t v;
	int r;

	if (!s)
		return -EINVAL;
	if (*p == '-') {
		if (!allow_negative)
			return -ERANGE;
		neg = true;
		p++;
	} else if (*p == '+')
		p++;
	if (!isdigit((unsigned char) *p) && *p != '.')
		return -EINVAL;
	r = parse_decimal(&p, 6, &v);
	if (r < 0)
		return r;
	if (*p)
		return -EINVAL;
	if (v > (uint64_t) INT64_MAX)
		return -ERANGE;
	*ret = neg ? -(int64_t) v : (int64_t) v;
	return 0;
}

char *units_format_micro(char *buf, size_t len, int64_t v)
{
	uint64_t a = v < 0 ? (uint64_t) (-(v + 1)) + 1 : (uint64_t) v;
	char frac[8];
	int n = 6;

	snprintf(frac, sizeof(frac), "%06" PRIu64, a % MICRO);
	while (n > 2 && frac[n - 1] == '0')
		frac[--n] = 0;
	snprintf(buf, len, "%s%" PRIu64 ".%s", v < 0 ? "-" : "", a / MICRO, frac);
	return buf;
}

bool units_valid_unit_name(const char *s)
{
	size_t n = 0;

	if (!s || !isalpha((unsigned char) s[0]))
		return false;
	for (; s[n]; n++)
		if (!isalnum((unsigned char) s[n]) && s[n] != '_' && s[n] != '-')
			return false;
	return n < UNITS_NAME_MAX;
}

int units_parse_amount(const char *s, bool allow_negative, int64_t *ret_micro, char ret_unit[UNITS_NAME_MAX])
{
	char num[64];
	const char *u;
	size_t n;
	int64_t v;
	int r;

	if (!s)
		return -EINVAL;
	/* number part: sign, digits and one dot; the unit starts at the first
	 * letter (so "3600cpu-s" splits as 3600 / "cpu-s"). */
	for (u = s; *u && (isdigit((unsigned char) *u) || *u == '.' || *u == '-' || *u == '+'); u++)
		;
	n = (size_t) (u - s);
	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n);
	num[n] = 0;
	u = skip_space(u);
	if (!units_valid_unit_name(u))
		return -EINVAL;
	r = units_parse_micro(num, allow_negative, &v);
	if (r < 0)
		return r;
	*ret_micro = v;
	snprintf(ret_unit, UNITS_NAME_MAX, "%s", u);
	return 0;
}

char *units_format_amount(char *buf, size_t len, int64_t micro, const char *unit)
{
	char n[40];
	snprintf(buf, len, "%s%s", units_format_micro(n, sizeof(n), micro), unit ? unit : "");
	return buf;
}
