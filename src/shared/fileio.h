/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Small file helpers for /proc, /sys and cgroupfs. All return -errno. */

/* Reads a whole (small) file; NUL-terminated; ret_size may be NULL. */
int read_full_file(const char *path, char **ret, size_t *ret_size);
int read_full_file_at(int dirfd, const char *path, char **ret, size_t *ret_size);
/* Writes s to an existing file (O_WRONLY|O_CLOEXEC, no O_CREAT), one write. */
int write_string_file(const char *path, const char *s);
int write_string_file_at(int dirfd, const char *path, const char *s);
/* Reads "key value" lines (cgroup *.stat, *.events): the value of key. */
int read_keyed_u64_at(int dirfd, const char *path, const char *key, uint64_t *ret);
/* Writes all of buf to fd, retrying on EINTR and short writes. */
int loop_write(int fd, const void *buf, size_t len);
/* Reads exactly len bytes unless EOF: returns the number read. */
ssize_t loop_read(int fd, void *buf, size_t len);
/* Atomically writes a new file (temp + rename) with the given mode. */
int write_file_atomic(const char *path, const char *data, size_t len, unsigned mode);
/* mkdir -p with mode for each created component. */
int mkdir_p(const char *path, unsigned mode);
