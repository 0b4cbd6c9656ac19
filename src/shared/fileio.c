/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/fileio.h"
#include "shared/macro.h"

int read_full_file_at(int dirfd, const char *path, char **ret, size_t *ret_size)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, alloc = 0;

	if (fd < 0)
		return negative_errno();
	for (;;) {
		ssize_t n;
		if (alloc - size < 4096) {
			char *nb;
			if (alloc > (64u << 20))
				return -EFBIG;
			alloc = alloc ? alloc * 2 : 4096;
			nb = realloc(buf, alloc + 1);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		n = read(fd, buf + size, alloc - size);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		size += (size_t) n;
	}
	if (!buf && !(buf = malloc(1)))
		return -ENOMEM;
	buf[size] = 0;
	if (ret_size)
		*ret_size = size;
	*ret = TAKE_PTR(buf);
	return 0;
}

int read_full_file(const char *path, char **ret, size_t *ret_size)
{
	return read_full_file_at(AT_FDCWD, path, ret, ret_size);
}

int loop_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t) n;
	}
	return 0;
}

ssize_t loop_read(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		done += (size_t) n;
	}
	return (ssize_t) done;
}

int write_string_file_at(int dirfd, const char *path, const char *s)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	size_t len = strlen(s);
	ssize_t n;

	if (fd < 0)
		return negative_errno();
	/* One write(): cgroupfs and procfs take a value per write call. */
	n = write(fd, s, len);
	if (n < 0)
		return negative_errno();
	if ((size_t) n != len)
		return -EIO;
	return 0;
}

int write_string_file(const char *path, const char *s)
{
	return write_string_file_at(AT_FDCWD, path, s);
}

int read_keyed_u64_at(int dirfd, const char *path, const char *key, uint64_t *ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t kl = strlen(key);
	int r;

	r = read_full_file_at(dirfd, path, &buf, NULL);
	if (r < 0)
		return r;
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(line + kl + 1, &end, 10);
			if (errno || end == line + kl + 1)
				return -EBADMSG;
			*ret = v;
			return 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

int write_file_atomic(const char *path, const char *data, size_t len, unsigned mode)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (fchmod(fd, mode) < 0 || (r = loop_write(fd, data, len)) < 0 || fsync(fd) < 0) {
		r = negative_errno();
		(void) unlink(tmp);
		return r;
	}
	if (rename(tmp, path) < 0) {
		r = negative_errno();
		(void) unlink(tmp);
		return r;
	}
	return 0;
}

int mkdir_p(const char *path, unsigned mode)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return negative_errno();
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}
