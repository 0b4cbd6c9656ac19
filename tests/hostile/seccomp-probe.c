/* SPDX-License-Identifier: MIT */
/* seccomp-probe: one attack on the kernel surface the seccomp policy
 * closes, and what came of it.
 *
 *   seccomp-probe ATTACK       prints "ATTACK RESULT" (RESULT: "ok" or an
 *                              errno name such as "EPERM"); exit 0
 *   seccomp-probe --list       the attacks, one per line
 *
 * Run under seccomp-exec with and without the filter by
 * tests/integration/31-seccomp-attacks.sh. The arguments are chosen so that
 * without the filter the kernel answers with something other than EPERM
 * where it can (a path that does not exist gives ENOENT after the lookup),
 * and so that even as root, unfiltered, nothing outside the probe changes:
 * no host mount, no hostname, no module, no clock, no kexec image, no
 * process but the probe's own children (no ptrace of pid 1). Whatever the
 * probe creates lives in its current directory, which the test owns. */

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/fanotify.h>
#include <linux/io_uring.h>
#include <linux/kcmp.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/personality.h>
#include <sys/quota.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/timex.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define NOPATH "/nonexistent-kdc-probe"

/* ---- helpers ---------------------------------------------------------------- */

static long ret(long r)
{
	return r < 0 ? -errno : r;
}

/* A child that waits to be killed, and dies with us. */
static pid_t victim(void)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		for (;;)
			pause();
	}
	return pid;
}

static void reap(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* raw clone: the copy returns 0 and exits at once. */
static long a_clone(unsigned long flags)
{
	long r = syscall(SYS_clone, flags | SIGCHLD, 0L, 0L, 0L, 0L);
	if (r == 0)
		_exit(0);
	if (r < 0)
		return -errno;
	waitpid((pid_t) r, NULL, 0);
	return 0;
}

/* A pty whose slave is our controlling terminal (TIOCSTI wants that). */
static int open_ctty(void)
{
	int m, s;

	(void) setsid(); /* we are not a group leader under seccomp-exec */
	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		return -errno;
	s = open(ptsname(m), O_RDWR | O_CLOEXEC);
	if (s < 0)
		return -errno;
	(void) ioctl(s, TIOCSCTTY, 0);
	return s;
}

/* ---- the attacks ----------------------------------------------------------- */

static long a_tiocsti(unsigned long arg)
{
	char c = 'x';
	int t = open_ctty();
	return t < 0 ? t : ret(ioctl(t, TIOCSTI, &c));
}

static long a_tiocsti_hi(unsigned long arg)
{
	/* The kernel truncates cmd to 32 bits: TIOCSTI with garbage above. */
	char c = 'x';
	int t = open_ctty();
	return t < 0 ? t : ret(syscall(SYS_ioctl, (long) t, (1L << 32) | TIOCSTI, &c));
}

static long a_tioclinux(unsigned long arg)
{
	char sub = 6; /* TIOCL_GETSHIFTSTATE */
	int t = open_ctty();
	return t < 0 ? t : ret(ioctl(t, TIOCLINUX, &sub));
}

static long a_tcgets(unsigned long arg)
{
	struct termios tio;
	int t = open_ctty();
	return t < 0 ? t : ret(ioctl(t, TCGETS, &tio));
}

static long a_personality(unsigned long persona)
{
	return ret(syscall(SYS_personality, persona));
}

static long a_clone3_newuser(unsigned long arg)
{
	struct clone_args args = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
	long r = syscall(SYS_clone3, &args, sizeof(args));

	if (r == 0)
		_exit(0);
	if (r < 0)
		return -errno;
	waitpid((pid_t) r, NULL, 0);
	return 0;
}

static long a_unshare_user(unsigned long arg)
{
	return ret(unshare(CLONE_NEWUSER));
}

static long a_setns(unsigned long arg)
{
	int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : ret(setns(fd, CLONE_NEWNET));
}

static long a_mount(unsigned long arg)
{
	return ret(mount("none", NOPATH, "tmpfs", 0, NULL));
}
static long a_umount(unsigned long arg)
{
	return ret(umount2(NOPATH, 0));
}
static long a_pivot_root(unsigned long arg)
{
	return ret(syscall(SYS_pivot_root, NOPATH "-a", NOPATH "-b"));
}
static long a_chroot(unsigned long arg)
{
	return ret(chroot(NOPATH));
}
static long a_open_tree(unsigned long arg)
{
	return ret(syscall(SYS_open_tree, AT_FDCWD, NOPATH, 0));
}

static long a_move_mount(unsigned long arg)
{
	return ret(syscall(SYS_move_mount, AT_FDCWD, NOPATH "-a", AT_FDCWD, NOPATH "-b", 0));
}

static long a_fsopen(unsigned long arg)
{
	return ret(syscall(SYS_fsopen, "kdc-no-such-fs", 0));
}
static long a_fspick(unsigned long arg)
{
	return ret(syscall(SYS_fspick, AT_FDCWD, NOPATH, 0));
}
static long a_fsconfig(unsigned long arg)
{
	return ret(syscall(SYS_fsconfig, -1, 0, NULL, NULL, 0));
}
static long a_fsmount(unsigned long arg)
{
	return ret(syscall(SYS_fsmount, -1, 0, 0));
}
static long a_mount_setattr(unsigned long arg)
{
	return ret(syscall(SYS_mount_setattr, -1, "", 0, NULL, 0));
}

static long a_ptrace(unsigned long arg)
{
	pid_t v = victim();
	long r = ret(syscall(SYS_ptrace, (long) PTRACE_ATTACH, (long) v, 0L, 0L));
	reap(v);
	return r;
}

static long a_process_vm_readv(unsigned long arg)
{
	static char secret[16] = "kdc-canary";
	char buf[16];
	pid_t v = victim();
	struct iovec local = {buf, sizeof buf}, remote = {secret, sizeof secret};
	long r = ret(syscall(SYS_process_vm_readv, (long) v, &local, 1L, &remote, 1L, 0L));
	reap(v);
	return r;
}

static long a_pidfd_getfd(unsigned long arg)
{
	pid_t v = victim();
	int pfd = (int) syscall(SYS_pidfd_open, v, 0);
	long r = pfd < 0 ? -errno : ret(syscall(SYS_pidfd_getfd, pfd, 0, 0));
	reap(v);
	return r;
}

static long a_kcmp(unsigned long arg)
{
	pid_t v = victim();
	long r = ret(syscall(SYS_kcmp, (long) getpid(), (long) v, (long) KCMP_FILE, 0L, 0L));
	reap(v);
	return r;
}

static long a_bpf(unsigned long arg)
{
	union bpf_attr attr = {.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1};
	return ret(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
}

static long a_userfaultfd(unsigned long arg)
{
	return ret(syscall(SYS_userfaultfd, UFFD_USER_MODE_ONLY | O_CLOEXEC));
}

static long a_io_uring_setup(unsigned long arg)
{
	struct io_uring_params p = {0};
	return ret(syscall(SYS_io_uring_setup, 1, &p));
}

static long a_perf_event_open(unsigned long arg)
{
	struct perf_event_attr a = {.type = PERF_TYPE_SOFTWARE,
				    .size = sizeof(a),
				    .config = PERF_COUNT_SW_CPU_CLOCK,
				    .exclude_kernel = 1,
				    .exclude_hv = 1};
	return ret(syscall(SYS_perf_event_open, &a, 0, -1, -1, 0));
}

static long a_fanotify_init(unsigned long arg)
{
	return ret(syscall(SYS_fanotify_init, FAN_CLASS_NOTIF, O_RDONLY));
}

static long a_keyctl(unsigned long arg)
{
	return ret(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 1));
}

static long a_add_key(unsigned long arg)
{
	return ret(syscall(SYS_add_key, "user", "kdc-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING));
}

static long a_request_key(unsigned long arg)
{
	return ret(syscall(SYS_request_key, "user", "kdc-probe-none", NULL, 0));
}

static long a_name_to_handle_at(unsigned long arg)
{
	struct {
		struct file_handle h;
		unsigned char b[MAX_HANDLE_SZ];
	} fh = {.h.handle_bytes = MAX_HANDLE_SZ};
	int mnt;
	return ret(syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &fh.h, &mnt, 0));
}

static long a_open_by_handle_at(unsigned long arg)
{
	struct {
		struct file_handle h;
		unsigned char b[8];
	} fh = {.h.handle_bytes = 8, .h.handle_type = 1};
	return ret(syscall(SYS_open_by_handle_at, AT_FDCWD, &fh.h, O_RDONLY | O_CLOEXEC));
}

static long a_kexec_load(unsigned long arg)
{
	return ret(syscall(SYS_kexec_load, 0L, 0L, NULL, 0xdead0000L));
}
static long a_kexec_file_load(unsigned long arg)
{
	return ret(syscall(SYS_kexec_file_load, -1, -1, 0L, NULL, 0xdead0000L));
}
static long a_init_module(unsigned long arg)
{
	return ret(syscall(SYS_init_module, NULL, 0L, ""));
}
static long a_finit_module(unsigned long arg)
{
	return ret(syscall(SYS_finit_module, -1, "", 0));
}
static long a_delete_module(unsigned long arg)
{
	return ret(syscall(SYS_delete_module, "kdc_no_such_module", O_NONBLOCK));
}

static long a_reboot(unsigned long arg)
{
	/* wrong magic: the kernel says EINVAL once it got that far */
	return ret(syscall(SYS_reboot, 0, 0, LINUX_REBOOT_CMD_CAD_OFF, NULL));
}

static long a_swapon(unsigned long arg)
{
	return ret(syscall(SYS_swapon, NOPATH, 0));
}
static long a_swapoff(unsigned long arg)
{
	return ret(syscall(SYS_swapoff, NOPATH));
}
static long a_syslog(unsigned long arg)
{
	return ret(klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0));
}
static long a_acct(unsigned long arg)
{
	return ret(syscall(SYS_acct, NOPATH "/x"));
}

static long a_quotactl(unsigned long arg)
{
	unsigned fmt;
	return ret(quotactl(QCMD(Q_GETFMT, USRQUOTA), NOPATH, 0, (caddr_t) &fmt));
}

static long a_iopl(unsigned long arg)
{
	return ret(syscall(SYS_iopl, 4));
}
static long a_ioperm(unsigned long arg)
{
	return ret(syscall(SYS_ioperm, 0x80L, 1L, 0L)); /* turn off: allowed to all */
}

static long a_settimeofday(unsigned long arg)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = 2000000}; /* invalid */
	return ret(syscall(SYS_settimeofday, &tv, NULL));
}

static long a_clock_settime(unsigned long arg)
{
	struct timespec ts = {0};
	return ret(syscall(SYS_clock_settime, CLOCK_MONOTONIC, &ts));
}

static long a_adjtimex(unsigned long arg)
{
	struct timex tx = {.modes = 0}; /* read only */
	return ret(syscall(SYS_adjtimex, &tx));
}

static long a_clock_adjtime(unsigned long arg)
{
	struct timex tx = {.modes = 0};
	return ret(syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx));
}

static long a_sethostname(unsigned long arg)
{
	return ret(syscall(SYS_sethostname, NULL, 1000L));
}
static long a_setdomainname(unsigned long arg)
{
	return ret(syscall(SYS_setdomainname, NULL, 1000L));
}
static long a_uselib(unsigned long arg)
{
	return ret(syscall(SYS_uselib, NOPATH));
}
static long a_lookup_dcookie(unsigned long arg)
{
	return ret(syscall(SYS_lookup_dcookie, 0L, NULL, 0L));
}
static long a_nfsservctl(unsigned long arg)
{
	return ret(syscall(SYS_nfsservctl, 0L, NULL, NULL));
}
static long a_sysctl(unsigned long arg)
{
	return ret(syscall(SYS__sysctl, NULL));
}
static long a_modify_ldt(unsigned long arg)
{
	return ret(syscall(SYS_modify_ldt, 0, NULL, 0L));
}

static long a_socket_packet(unsigned long arg)
{
	return ret(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
}
static long a_socket_raw(unsigned long arg)
{
	return ret(socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
}
static long a_socket_raw6(unsigned long arg)
{
	return ret(socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6));
}
static long a_socket_icmp(unsigned long arg)
{
	return ret(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP));
}
static long a_socket_badproto(unsigned long arg)
{
	return ret(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_UDP));
}
static long a_socket_netlink(unsigned long arg)
{
	return ret(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0 /* ROUTE */));
}

static long a_socket_domain_hi(unsigned long arg)
{
	/* The kernel truncates the family to an int: AF_INET with garbage above. */
	return ret(syscall(SYS_socket, (1L << 32) | AF_INET, (long) (SOCK_STREAM | SOCK_CLOEXEC), 0L));
}

static long a_socket_tcp(unsigned long arg)
{
	return ret(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
}
static long a_socket_udp6(unsigned long arg)
{
	return ret(socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
}
static long a_socket_unix(unsigned long arg)
{
	return ret(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
}

static long a_socketpair_inet(unsigned long arg)
{
	int sv[2];
	return ret(socketpair(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
}

static long a_mknod_chr(unsigned long arg)
{
	long r = ret(mknod("kdc-probe-chr", S_IFCHR | 0600, makedev(1, 3)));
	(void) unlink("kdc-probe-chr");
	return r;
}

static long a_mknodat_blk(unsigned long arg)
{
	long r = ret(mknodat(AT_FDCWD, "kdc-probe-blk", S_IFBLK | 0600, makedev(7, 0)));
	(void) unlink("kdc-probe-blk");
	return r;
}

static long a_mknod_fifo(unsigned long arg)
{
	long r = ret(mknod("kdc-probe-fifo", S_IFIFO | 0600, 0));
	(void) unlink("kdc-probe-fifo");
	return r;
}

/* x32 ABI: x86_64 arch, number | __X32_SYSCALL_BIT. Without the filter this
 * kernel says ENOSYS (x32 is not built); with it, the process is killed. */
static long a_x32_getpid(unsigned long arg)
{
	return ret(syscall(0x40000000L | SYS_getpid));
}

/* i386 ABI through int 0x80 (getpid is 20 there). Where the kernel has no
 * ia32 emulation this faults (SIGSEGV) before seccomp sees anything. */
static long a_int80_getpid(unsigned long arg)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
	return r < 0 && r > -4096 ? r : 0;
}

/* Each attack gets its table line's argument (most ignore it). */
static const struct {
	const char *name;
	long (*run)(unsigned long arg);
	unsigned long arg;
} attacks[] = {
    {"tiocsti", a_tiocsti},
    {"tiocsti-hi", a_tiocsti_hi},
    {"tioclinux", a_tioclinux},
    {"tcgets", a_tcgets},
    {"clone-newuser", a_clone, CLONE_NEWUSER},
    {"clone-newns", a_clone, CLONE_NEWNS},
    {"clone-newpid", a_clone, CLONE_NEWPID},
    {"clone-newnet", a_clone, CLONE_NEWNET},
    {"clone-newipc", a_clone, CLONE_NEWIPC},
    {"clone-newuts", a_clone, CLONE_NEWUTS},
    {"clone-newcgroup", a_clone, CLONE_NEWCGROUP},
    {"clone-fork", a_clone, 0},
    {"clone3-newuser", a_clone3_newuser},
    {"unshare-user", a_unshare_user},
    {"setns", a_setns},
    {"mount", a_mount},
    {"umount2", a_umount},
    {"pivot_root", a_pivot_root},
    {"chroot", a_chroot},
    {"open_tree", a_open_tree},
    {"move_mount", a_move_mount},
    {"fsopen", a_fsopen},
    {"fspick", a_fspick},
    {"fsconfig", a_fsconfig},
    {"fsmount", a_fsmount},
    {"mount_setattr", a_mount_setattr},
    {"ptrace", a_ptrace},
    {"process_vm_readv", a_process_vm_readv},
    {"pidfd_getfd", a_pidfd_getfd},
    {"kcmp", a_kcmp},
    {"bpf", a_bpf},
    {"userfaultfd", a_userfaultfd},
    {"io_uring_setup", a_io_uring_setup},
    {"perf_event_open", a_perf_event_open},
    {"fanotify_init", a_fanotify_init},
    {"keyctl", a_keyctl},
    {"add_key", a_add_key},
    {"request_key", a_request_key},
    {"name_to_handle_at", a_name_to_handle_at},
    {"open_by_handle_at", a_open_by_handle_at},
    {"kexec_load", a_kexec_load},
    {"kexec_file_load", a_kexec_file_load},
    {"init_module", a_init_module},
    {"finit_module", a_finit_module},
    {"delete_module", a_delete_module},
    {"reboot", a_reboot},
    {"swapon", a_swapon},
    {"swapoff", a_swapoff},
    {"syslog", a_syslog},
    {"acct", a_acct},
    {"quotactl", a_quotactl},
    {"iopl", a_iopl},
    {"ioperm", a_ioperm},
    {"settimeofday", a_settimeofday},
    {"clock_settime", a_clock_settime},
    {"adjtimex", a_adjtimex},
    {"clock_adjtime", a_clock_adjtime},
    {"sethostname", a_sethostname},
    {"setdomainname", a_setdomainname},
    {"uselib", a_uselib},
    {"lookup_dcookie", a_lookup_dcookie},
    {"nfsservctl", a_nfsservctl},
    {"_sysctl", a_sysctl},
    {"modify_ldt", a_modify_ldt},
    {"socket-packet", a_socket_packet},
    {"socket-raw", a_socket_raw},
    {"socket-raw6", a_socket_raw6},
    {"socket-icmp", a_socket_icmp},
    {"socket-badproto", a_socket_badproto},
    {"socket-netlink", a_socket_netlink},
    {"socket-domain-hi", a_socket_domain_hi},
    {"socket-tcp", a_socket_tcp},
    {"socket-udp6", a_socket_udp6},
    {"socket-unix", a_socket_unix},
    {"socketpair-inet", a_socketpair_inet},
    {"mknod-chr", a_mknod_chr},
    {"mknodat-blk", a_mknodat_blk},
    {"mknod-fifo", a_mknod_fifo},
    {"personality-linux32", a_personality, PER_LINUX32},
    {"personality-norandom", a_personality, ADDR_NO_RANDOMIZE},
    {"personality-linux", a_personality, PER_LINUX},
    {"x32-getpid", a_x32_getpid},
    {"int80-getpid", a_int80_getpid},
};

int main(int argc, char *argv[])
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s ATTACK | --list\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
		long r;

		if (strcmp(argv[1], "--list") == 0) {
			puts(attacks[i].name);
			continue;
		}
		if (strcmp(argv[1], attacks[i].name) != 0)
			continue;
		r = attacks[i].run(attacks[i].arg);
		printf("%s %s\n", attacks[i].name, r >= 0 ? "ok" : strerrorname_np((int) -r) ?: "EUNKNOWN");
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (strcmp(argv[1], "--list") == 0)
		return 0;
	fprintf(stderr, "%s: no attack '%s'\n", argv[0], argv[1]);
	return 2;
}
