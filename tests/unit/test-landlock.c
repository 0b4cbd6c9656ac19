/* SPDX-License-Identifier: MIT */
/* Landlock: ABI detection, handled rights per ABI, refusal of what the
 * kernel lacks unless degraded, and (each in its own forked test process)
 * the filesystem ruleset, the abstract-socket scope, the signal scope and
 * the TCP bind denial at work, each with a positive control before. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "core/landlock.h"
#include "shared/macro.h"
#include "check-run.h"

START_TEST(handled_rights)
{
	ck_assert_uint_eq(landlock_fs_handled(0), 0);
	ck_assert_uint_eq(landlock_fs_handled(1), 0x1fff);
	ck_assert_uint_eq(landlock_fs_handled(2), 0x3fff);
	ck_assert_uint_eq(landlock_fs_handled(3), 0x7fff);
	ck_assert_uint_eq(landlock_fs_handled(4), 0x7fff);
	ck_assert_uint_eq(landlock_fs_handled(5), 0xffff);
	ck_assert_uint_eq(landlock_fs_handled(7), 0xffff);
	ck_assert_int_ge(landlock_abi(), 0);
}
END_TEST

START_TEST(relative_path_refused)
{
	char *ro[] = {"usr", NULL};
	LandlockPlan p = {.ro_paths = ro, .fs = true};
	int fd = -1;

	ck_assert_int_eq(landlock_prepare(&p, &fd), -EINVAL);
	ck_assert_int_eq(fd, -1);
}
END_TEST

START_TEST(missing_features_refused_unless_degraded)
{
	LandlockPlan p = {.scope_abstract_unix = true};
	int abi = landlock_abi(), fd = -EBADF, r;

	r = landlock_prepare(&p, &fd);
	if (abi >= 6) {
		ck_assert_int_eq(r, LANDLOCK_ENFORCED_ABSTRACT_UNIX);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
		close(fd);
	} else {
		ck_assert_int_eq(r, -EOPNOTSUPP);
		p.degrade = true;
		ck_assert_int_eq(landlock_prepare(&p, &fd), 0);
		ck_assert_int_eq(fd, -EBADF);
	}
	/* Nothing asked, nothing created. */
	p = (LandlockPlan){};
	ck_assert_int_eq(landlock_prepare(&p, &fd), 0);
	ck_assert_int_eq(fd, -EBADF);
}
END_TEST

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t) strlen(s));
	close(fd);
}

static int try_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* The test directory is made and removed by the parent (an unchecked
 * fixture): the forked test restricts itself and could not remove it. */
static char tmpl[] = "/tmp/kdc-test-landlock.XXXXXX";
static char *dir = NULL;

static void dir_setup(void)
{
	dir = mkdtemp(tmpl);
	ck_assert_ptr_nonnull(dir);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void dir_teardown(void)
{
	if (dir)
		(void) nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

START_TEST(filesystem_ruleset)
{
	char ro[PATH_MAX], rw[PATH_MAX], out[PATH_MAX], f[PATH_MAX + 16];
	char *ro_paths[] = {ro, "/usr", "/lib", "/lib64", "/bin", NULL}, *rw_paths[] = {rw, NULL};
	LandlockPlan p = {.ro_paths = ro_paths, .rw_paths = rw_paths, .fs = true};

	if (landlock_abi() < 2) {
		/* Best effort there: nothing is enforced, and it says so. */
		ck_assert_int_eq(landlock_apply(&p), 0);
		return;
	}
	snprintf(ro, sizeof(ro), "%s/ro", dir);
	snprintf(rw, sizeof(rw), "%s/rw", dir);
	snprintf(out, sizeof(out), "%s/outside", dir);
	ck_assert_int_eq(mkdir(ro, 0755), 0);
	ck_assert_int_eq(mkdir(rw, 0755), 0);
	snprintf(f, sizeof(f), "%s/file", ro);
	write_file(f, "ro");
	write_file(out, "canary");

	/* Positive controls. */
	ck_assert_int_eq(try_open(out, O_RDONLY), 0);
	ck_assert_int_eq(try_open(f, O_WRONLY), 0);

	ck_assert_int_eq(landlock_apply(&p), LANDLOCK_ENFORCED_FS);

	ck_assert_int_eq(try_open(f, O_RDONLY), 0);
	ck_assert_int_eq(try_open(f, O_WRONLY), -EACCES);
	ck_assert_int_eq(try_open(out, O_RDONLY), -EACCES);
	snprintf(f, sizeof(f), "%s/new", ro);
	ck_assert_int_eq(try_open(f, O_WRONLY | O_CREAT), -EACCES);
	snprintf(f, sizeof(f), "%s/new", rw);
	ck_assert_int_eq(try_open(f, O_WRONLY | O_CREAT), 0);
	ck_assert_int_eq(unlink(f), 0);
	ck_assert_int_eq(mknod(f, S_IFIFO | 0644, 0), 0); /* a fifo is fine in rw */
	ck_assert_int_eq(try_open("/usr/bin/env", O_RDONLY), 0);
	ck_assert_int_eq(try_open("/etc/passwd", O_RDONLY), -EACCES);
}
END_TEST

static socklen_t abstract_addr(struct sockaddr_un *sun, const char *name)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path + 1, name, strlen(name));
	return (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
}

static int abstract_connect(const char *name)
{
	struct sockaddr_un sun;
	socklen_t len = abstract_addr(&sun, name);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r = 0;

	ck_assert_int_ge(fd, 0);
	if (connect(fd, (struct sockaddr *) &sun, len) < 0)
		r = -errno;
	close(fd);
	return r;
}

START_TEST(abstract_unix_scope)
{
	LandlockPlan p = {.scope_abstract_unix = true};
	struct sockaddr_un sun;
	char name[64];
	socklen_t len;
	int l;

	if (landlock_abi() < 6) {
		ck_assert_int_eq(landlock_apply(&p), -EOPNOTSUPP);
		return;
	}
	snprintf(name, sizeof(name), "kdc-test-landlock-%d", (int) getpid());
	len = abstract_addr(&sun, name);
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *) &sun, len), 0);
	ck_assert_int_eq(listen(l, 8), 0);

	ck_assert_int_eq(abstract_connect(name), 0); /* alive */
	ck_assert_int_eq(landlock_apply(&p), LANDLOCK_ENFORCED_ABSTRACT_UNIX);
	ck_assert_int_eq(abstract_connect(name), -EPERM);
	close(l);
}
END_TEST

START_TEST(signal_scope)
{
	LandlockPlan p = {.scope_signal = true};
	pid_t child;

	if (landlock_abi() < 6) {
		ck_assert_int_eq(landlock_apply(&p), -EOPNOTSUPP);
		return;
	}
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	ck_assert_int_eq(kill(child, 0), 0); /* positive control */
	ck_assert_int_eq(landlock_apply(&p), LANDLOCK_ENFORCED_SIGNAL);
	ck_assert_int_eq(kill(child, SIGTERM), -1);
	ck_assert_int_eq(errno, EPERM);
	/* The child dies with us (PR_SET_PDEATHSIG). */
}
END_TEST

static int bind_tcp_loopback(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r = 0;

	ck_assert_int_ge(fd, 0);
	if (bind(fd, (struct sockaddr *) &sin, sizeof(sin)) < 0)
		r = -errno;
	close(fd);
	return r;
}

START_TEST(tcp_bind_denied)
{
	LandlockPlan p = {.deny_tcp_bind = true};

	if (landlock_abi() < 4) {
		ck_assert_int_eq(landlock_apply(&p), -EOPNOTSUPP);
		return;
	}
	ck_assert_int_eq(bind_tcp_loopback(), 0);
	ck_assert_int_eq(landlock_apply(&p), LANDLOCK_ENFORCED_TCP_BIND);
	ck_assert_int_eq(bind_tcp_loopback(), -EACCES);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("landlock");
	TCase *tc = tcase_create("core");
	SRunner *sr;

	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_test(tc, handled_rights);
	tcase_add_test(tc, relative_path_refused);
	tcase_add_test(tc, missing_features_refused_unless_degraded);
	tcase_add_test(tc, filesystem_ruleset);
	tcase_add_test(tc, abstract_unix_scope);
	tcase_add_test(tc, signal_scope);
	tcase_add_test(tc, tcp_bind_denied);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	/* Each test restricts its own process: they must be forked. */
	srunner_set_fork_status(sr, CK_FORK);
	return check_run(sr);
}
