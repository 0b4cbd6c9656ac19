/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/ledger-lock.h"
#include "shared/macro.h"

#define LOCK_MAGIC UINT64_C(0x6b64632d6c6f636b) /* "kdc-lock" */
#define LOCK_SIZE 4096

struct LedgerLockShared {
	uint64_t magic; /* written last, with release order, once the mutex is ready */
	pthread_mutex_t mutex;
};

static int init_shared(int fd, LedgerLockShared *s)
{
	pthread_mutexattr_t attr;
	int r = 0;

	/* One initialiser at a time; the others see the magic afterwards. */
	if (flock(fd, LOCK_EX) < 0)
		return negative_errno();
	if (__atomic_load_n(&s->magic, __ATOMIC_ACQUIRE) != LOCK_MAGIC) {
		if (pthread_mutexattr_init(&attr) != 0)
			r = -ENOMEM;
		else {
			if (pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) != 0 ||
			    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) != 0 ||
			    pthread_mutex_init(&s->mutex, &attr) != 0)
				r = -EINVAL;
			pthread_mutexattr_destroy(&attr);
		}
		if (r == 0)
			__atomic_store_n(&s->magic, LOCK_MAGIC, __ATOMIC_RELEASE);
	}
	(void) flock(fd, LOCK_UN);
	return r;
}

int ledger_lock_open(const char *db_path, LedgerLock *ret)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -EBADF;
	LedgerLockShared *s;
	struct stat st;
	int r;

	if (asprintf(&path, "%s-lock", db_path) < 0)
		return -ENOMEM;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return -EBADF;
	/* Concurrent openers may all extend it: the same size, no harm. */
	if (st.st_size < LOCK_SIZE && ftruncate(fd, LOCK_SIZE) < 0)
		return negative_errno();
	s = mmap(NULL, LOCK_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED)
		return negative_errno();
	if (__atomic_load_n(&s->magic, __ATOMIC_ACQUIRE) != LOCK_MAGIC) {
		r = init_shared(fd, s);
		if (r < 0) {
			munmap(s, LOCK_SIZE);
			return r;
		}
	}
	*ret = (LedgerLock){.fd = TAKE_FD(fd), .shared = s};
	return 0;
}

void ledger_lock_close(LedgerLock *l)
{
	if (l->shared)
		(void) munmap(l->shared, LOCK_SIZE);
	l->shared = NULL;
	l->fd = safe_close(l->fd);
}

int ledger_lock_acquire(LedgerLock *l, uint64_t deadline_usec)
{
	struct timespec dl = {
	    .tv_sec = (time_t) (deadline_usec / 1000000),
	    .tv_nsec = (long) (deadline_usec % 1000000) * 1000,
	};
	int r;

	if (!l->shared)
		return 0;
	r = pthread_mutex_clocklock(&l->shared->mutex, CLOCK_MONOTONIC, &dl);
	switch (r) {
	case 0:
		return 0;
	case EOWNERDEAD:
		/* The previous holder died; SQLite rolls back its half-written
		 * transaction itself. The queue is usable again. */
		(void) pthread_mutex_consistent(&l->shared->mutex);
		return 0;
	case ETIMEDOUT:
		return -ETIMEDOUT;
	case ENOTRECOVERABLE:
		/* Cannot happen with our own protocol; go on without the queue. */
		(void) munmap(l->shared, LOCK_SIZE);
		l->shared = NULL;
		return 0;
	default:
		return -r;
	}
}

void ledger_lock_release(LedgerLock *l)
{
	if (l->shared)
		(void) pthread_mutex_unlock(&l->shared->mutex);
}
