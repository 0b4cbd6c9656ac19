/* SPDX-License-Identifier: MIT */
#pragma once

/* How the child reports a failure to the parent (crun's model): the code
 * that fails fills a BoxError with -errno and a message naming the object;
 * the child sends it over the sync socket and exits; the parent prints it
 * once. Library code never logs. */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "shared/macro.h"

typedef struct BoxError {
	int32_t error; /* -errno */
	char msg[480];
} BoxError;

/* Formats msg (with ": <strerror>" appended when r < 0) and returns r. */
static inline _printf_(3, 4) int box_error_set(BoxError *e, int r, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!e)
		return r;
	e->error = r;
	va_start(ap, fmt);
	(void) vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strnlen(e->msg, sizeof(e->msg));
	if (r < 0 && n < sizeof(e->msg))
		(void) snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(-r));
	return r;
}
