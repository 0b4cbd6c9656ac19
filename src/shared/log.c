/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "shared/log.h"

static const char *program = "kdc";
static int max_level = LOG_LEVEL_NOTICE;
static LogSink sink;
static void *sink_userdata;

void log_set_program(const char *name)
{
	const char *slash = strrchr(name, '/');
	program = slash ? slash + 1 : name;
}

const char *log_program(void)
{
	return program;
}

void log_set_level(int level)
{
	max_level = level;
}

int log_get_level(void)
{
	return max_level;
}

void log_set_sink(LogSink s, void *userdata)
{
	sink = s;
	sink_userdata = userdata;
}

int log_full_errno(int level, int error, const char *prefix, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (error > 0)
		error = -error;

	if (sink || level <= max_level) {
		char buf[2048];

		/* "%m" in fmt refers to the error we were handed, not to
		 * whatever errno happens to hold now. */
		errno = error < 0 ? -error : saved;
		va_start(ap, fmt);
		(void) vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		if (sink) {
			char line[2100];
			snprintf(line, sizeof(line), "%s%s", prefix ? prefix : "", buf);
			sink(level, line, sink_userdata);
		} else
			(void) fprintf(stderr, "%s: %s%s\n", program, prefix ? prefix : "", buf);
	}

	errno = saved;
	return error < 0 ? error : -EINVAL;
}

int log_oom(void)
{
	(void) log_error("out of memory");
	return -ENOMEM;
}
