/* SPDX-License-Identifier: MIT */
#pragma once

#include <errno.h>
#include "shared/macro.h"

/* Logging for the binaries. Library code (src/core) never logs: it returns
 * -errno and the caller, who knows what the user was doing, logs once.
 *
 * Every line is prefixed with the program name ("kdc-run: ").
 * log_*_errno(r, ...) sets errno to -r so "%m" names the error, and returns r
 * (always negative) so callers can write `return log_error_errno(r, ...)`. */

enum {
	LOG_LEVEL_QUIET = 0,  /* --quiet: errors only */
	LOG_LEVEL_NOTICE = 1, /* default: errors, warnings, end reason */
	LOG_LEVEL_INFO = 2,   /* --verbose */
	LOG_LEVEL_DEBUG = 3,  /* --verbose --verbose */
};

void log_set_program(const char *name);
const char *log_program(void);
void log_set_level(int level);
int log_get_level(void);

/* While a sink is set, every line (whatever the level, with its prefix but
 * without the program name) goes to it instead of stderr: the ledger clerk
 * hands its lines to the kdc-run it serves, which prints them at its own
 * level. NULL restores stderr. */
typedef void (*LogSink)(int level, const char *line, void *userdata);
void log_set_sink(LogSink sink, void *userdata);

int log_full_errno(int level, int error, const char *prefix, const char *fmt, ...) _printf_(4, 5);

#define log_error(...) log_full_errno(LOG_LEVEL_QUIET, 0, NULL, __VA_ARGS__)
#define log_error_errno(r, ...) log_full_errno(LOG_LEVEL_QUIET, (r), NULL, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_LEVEL_NOTICE, 0, "warning: ", __VA_ARGS__)
#define log_warning_errno(r, ...) log_full_errno(LOG_LEVEL_NOTICE, (r), "warning: ", __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_LEVEL_NOTICE, 0, NULL, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_LEVEL_INFO, 0, NULL, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_LEVEL_DEBUG, 0, "debug: ", __VA_ARGS__)

/* For allocation failures: prints "out of memory" and returns -ENOMEM. */
int log_oom(void);
