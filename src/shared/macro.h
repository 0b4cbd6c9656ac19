/* SPDX-License-Identifier: MIT */
#pragma once

/* Cleanup helpers in the style of systemd and bubblewrap: every resource is
 * owned by a cleanup variable initialised where it is declared, and leaves
 * its scope only through TAKE_PTR()/TAKE_FD(). Destructors accept NULL / -1. */

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <stdbool.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _pure_ __attribute__((pure))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define STRLEN(s) (sizeof(s) - 1)
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define TAKE_PTR(p)                      \
	({                               \
		__typeof__(p) _p_ = (p); \
		(p) = NULL;              \
		_p_;                     \
	})
#define TAKE_FD(fd)              \
	({                       \
		int _fd_ = (fd); \
		(fd) = -EBADF;   \
		_fd_;            \
	})

/* Define a cleanup function for a pointer type whose destructor takes the
 * pointer itself: DEFINE_TRIVIAL_CLEANUP_FUNC(FILE *, fclose) gives
 * fclosep(FILE **). */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
	static inline void func##p(type *p)     \
	{                                       \
		if (*p)                         \
			(void) func(*p);        \
	}

static inline void freep(void *p)
{
	free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		(void) close(fd);
		errno = saved;
	}
	return -EBADF;
}
static inline void closep(int *fd)
{
	*fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

DEFINE_TRIVIAL_CLEANUP_FUNC(FILE *, fclose)
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline void close_pairp(int (*p)[2])
{
	(*p)[0] = safe_close((*p)[0]);
	(*p)[1] = safe_close((*p)[1]);
}
#define _cleanup_close_pair_ _cleanup_(close_pairp)

/* -errno from the last failed libc call, never 0 even if errno was lost. */
static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

#define streq(a, b) (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)
#define isempty(s) (!(s) || !*(s))

static inline const char *startswith(const char *s, const char *prefix)
{
	size_t l = 0;
	while (prefix[l]) {
		if (s[l] != prefix[l])
			return NULL;
		l++;
	}
	return s + l;
}
