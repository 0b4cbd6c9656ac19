/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parsing and printing of values with units. All parsers are exact (no
 * floating point), reject trailing garbage, overflow and negative values, and
 * return 0 or -EINVAL / -ERANGE; they never log. */

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)
#define MICRO UINT64_C(1000000)

/* Sizes: "512", "512K", "1.5G", "64MiB", "2k" (binary multiples; K=1024).
 * "max"/"infinity" give UINT64_MAX when allow_max. */
int units_parse_size(const char *s, bool allow_max, uint64_t *ret);
/* "1.5G" style, shortest exact form; "max" for UINT64_MAX. buf >= 32. */
char *units_format_size(char *buf, size_t len, uint64_t v);

/* Durations in microseconds: "30" (seconds), "30s", "1.5m", "250ms", "2h",
 * "1d", "1h30m". "infinity" gives UINT64_MAX when allow_max. */
int units_parse_duration(const char *s, bool allow_max, uint64_t *ret_usec);
char *units_format_duration(char *buf, size_t len, uint64_t usec);

/* CPU in millicores: "1.5" cores or "150%" -> 1500; "max" -> UINT64_MAX. */
int units_parse_cpu(const char *s, uint64_t *ret_millicores);
char *units_format_cpu(char *buf, size_t len, uint64_t millicores);

/* Exact decimal with up to 6 fractional digits into micro-units:
 * "12.50" -> 12500000. Optional leading '-' only when allow_negative. */
int units_parse_micro(const char *s, bool allow_negative, int64_t *ret);
/* Shortest exact decimal, at least two fractional digits ("12.50",
 * "0.000010", "3"->"3.00"). */
char *units_format_micro(char *buf, size_t len, int64_t v);

/* An amount with its unit: "12.50USD", "0.000010 USD", "3600cpu-s",
 * "100tokens". Unit names are [A-Za-z][A-Za-z0-9_-]*, at most 31 chars.
 * ret_unit (>= 32 bytes) receives the unit; a missing unit is -EINVAL. */
#define UNITS_NAME_MAX 32
int units_parse_amount(const char *s, bool allow_negative, int64_t *ret_micro, char ret_unit[UNITS_NAME_MAX]);
char *units_format_amount(char *buf, size_t len, int64_t micro, const char *unit);
bool units_valid_unit_name(const char *s);

/* Plain numbers. */
int units_parse_uint64(const char *s, uint64_t *ret);
int units_parse_bool(const char *s, bool *ret);
