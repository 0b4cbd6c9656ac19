/* SPDX-License-Identifier: MIT */
/*
 * box-probe: one attack (or one observation) per invocation, run inside the
 * box by the integration tests and, as the positive control, outside it.
 * Prints "ok" (or the observation) on success, else the errno's name, and
 * exits 0 either way unless the arguments are wrong (exit 2). The tests
 * compare the printed word with what the policy says.
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static int streq_(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static int report(int r)
{
	if (r >= 0)
		puts("ok");
	else {
		const char *n = strerrorname_np(errno);
		puts(n ? n : "unknown-errno");
	}
	return 0;
}

static int do_read(const char *path)
{
	char b;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return report(-1);
	if (read(fd, &b, 1) < 0)
		return report(-1);
	close(fd);
	return report(0);
}

static int do_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		return report(-1);
	if (write(fd, "x", 1) < 0)
		return report(-1);
	close(fd);
	return report(0);
}

static int do_connect(int family, int type, const char *addr, const char *port)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd = socket(family, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return report(-1);
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *) &ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t) atoi(port));
		if (inet_pton(AF_INET, addr, &a->sin_addr) != 1)
			return 2;
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *) &ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t) atoi(port));
		if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1)
			return 2;
		len = sizeof(*a);
	}
	return report(connect(fd, (struct sockaddr *) &ss, len));
}

static int do_unix(const char *name, bool abstract)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return report(-1);
	if (abstract) {
		a.sun_path[0] = 0;
		strncpy(a.sun_path + 1, name, sizeof(a.sun_path) - 2);
		len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	} else {
		strncpy(a.sun_path, name, sizeof(a.sun_path) - 1);
		len = sizeof(a);
	}
	return report(connect(fd, (struct sockaddr *) &a, len));
}

static int do_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int self;

	if (!d)
		return report(-1);
	self = dirfd(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) != self)
			printf("%s ", de->d_name);
	putchar('\n');
	closedir(d);
	return 0;
}

static int do_status(void)
{
	/* The lines of /proc/self/status the privilege tests look at. */
	static const char *const keys[] = {
	    "Uid:", "Gid:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:", NULL};
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return report(-1);
	while (fgets(line, sizeof(line), f))
		for (const char *const *k = keys; *k; k++)
			if (strncmp(line, *k, strlen(*k)) == 0)
				fputs(line, stdout);
	fclose(f);
	return 0;
}

static int do_ps(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	if (!d)
		return report(-1);
	while ((de = readdir(d)))
		if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
			printf("%s ", de->d_name);
	putchar('\n');
	closedir(d);
	return 0;
}

int main(int argc, char *argv[])
{
	const char *cmd = argc > 1 ? argv[1] : "";
	const char *a1 = argc > 2 ? argv[2] : NULL;
	const char *a2 = argc > 3 ? argv[3] : NULL;

	if (streq_(cmd, "read") && a1)
		return do_read(a1);
	if (streq_(cmd, "write") && a1)
		return do_write(a1);
	if (streq_(cmd, "stat") && a1) {
		struct stat st;
		return report(stat(a1, &st));
	}
	if (streq_(cmd, "open-write") && a1) /* no O_CREAT: an existing file for writing */
		return report(open(a1, O_WRONLY | O_CLOEXEC | O_NOCTTY));
	if (streq_(cmd, "mkdir") && a1)
		return report(mkdir(a1, 0755));
	if (streq_(cmd, "mknod") && a1)
		return report(mknod(a1, S_IFCHR | 0600, makedev(1, 1)));
	if (streq_(cmd, "kill-all")) {
		int r = kill(-1, SIGKILL);
		return report(r);
	}
	if (streq_(cmd, "kill") && a1)
		return report(kill(atoi(a1), 0));
	if (streq_(cmd, "ptrace") && a1)
		return report((int) ptrace(PTRACE_ATTACH, atoi(a1), NULL, NULL));
	if (streq_(cmd, "pidfd-getfd") && a1) {
		int pfd = (int) syscall(SYS_pidfd_open, atoi(a1), 0);
		if (pfd < 0)
			return report(-1);
		return report((int) syscall(SYS_pidfd_getfd, pfd, 0, 0));
	}
	if (streq_(cmd, "vm-read") && a1) {
		char buf[8];
		struct iovec l = {buf, sizeof(buf)}, r = {(void *) 0x400000, sizeof(buf)};
		return report((int) process_vm_readv(atoi(a1), &l, 1, &r, 1, 0));
	}
	if (streq_(cmd, "tiocsti")) {
		char c = '#';
		return report(ioctl(0, TIOCSTI, &c));
	}
	if (streq_(cmd, "tioclinux")) {
		char sub = 6; /* TIOCL_GETSHIFTSTATE: harmless when allowed */
		return report(ioctl(0, TIOCLINUX, &sub));
	}
	if (streq_(cmd, "status"))
		return do_status();
	if (streq_(cmd, "fds"))
		return do_fds();
	if (streq_(cmd, "ps"))
		return do_ps();
	if (streq_(cmd, "cwd")) {
		char b[4096];
		if (!getcwd(b, sizeof(b)))
			return report(-1);
		puts(b);
		return 0;
	}
	if (streq_(cmd, "euid")) {
		printf("%u\n", (unsigned) geteuid());
		return 0;
	}
	if (streq_(cmd, "env")) {
		extern char **environ;
		for (char **e = environ; *e; e++)
			puts(*e);
		return 0;
	}
	if (streq_(cmd, "tcp4") && a1 && a2)
		return do_connect(AF_INET, SOCK_STREAM, a1, a2);
	if (streq_(cmd, "tcp6") && a1 && a2)
		return do_connect(AF_INET6, SOCK_STREAM, a1, a2);
	if (streq_(cmd, "udp4") && a1 && a2)
		return do_connect(AF_INET, SOCK_DGRAM, a1, a2);
	if (streq_(cmd, "bind4") && a1 && a2) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) atoi(a2))};
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return report(-1);
		if (inet_pton(AF_INET, a1, &a.sin_addr) != 1)
			return 2;
		return report(bind(fd, (struct sockaddr *) &a, sizeof(a)));
	}
	if (streq_(cmd, "raw4"))
		return report(socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
	if (streq_(cmd, "abstract") && a1)
		return do_unix(a1, true);
	if (streq_(cmd, "unix") && a1)
		return do_unix(a1, false);
	if (streq_(cmd, "sleep-ignoring-term")) {
		signal(SIGTERM, SIG_IGN);
		for (;;)
			pause();
	}
	if (streq_(cmd, "daemon")) {
		/* double fork + setsid, the way a daemon escapes its parent */
		if (fork() == 0) {
			setsid();
			if (fork() == 0) {
				int fd = open(a1 ? a1 : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
				dprintf(fd, "%d\n", (int) getpid());
				close(fd);
				for (;;)
					pause();
			}
			_exit(0);
		}
		sleep(1);
		return 0;
	}
	fprintf(stderr, "usage: box-probe COMMAND [ARG...] (see the source)\n");
	return 2;
}
