/* SPDX-License-Identifier: MIT */
/* Unit tests for src/core/seccomp-policy.c: name validation, the table
 * against libseccomp, the compiled program evaluated instruction by
 * instruction on made-up seccomp_data (so i386 and x32 can be checked on a
 * kernel that has neither), the cache, and one live install. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/seccomp-policy.h"
#include "shared/macro.h"
#include "shared/strv.h"
#include "check-run.h"

#define RET_ALLOW SECCOMP_RET_ALLOW
#define RET_KILL SECCOMP_RET_KILL_PROCESS
#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | (e))

/* ---- a classic BPF interpreter for what seccomp accepts ------------------ */

struct data {
	int nr;
	uint32_t arch;
	uint64_t ip;
	uint64_t args[6];
};

static uint32_t load_word(const struct data *d, uint32_t k)
{
	uint32_t w;
	if (k % 4 != 0 || k + 4 > sizeof(*d))
		ck_abort_msg("load at %u", k);
	memcpy(&w, (const char *) d + k, 4);
	return w;
}

static uint32_t run(const struct sock_fprog *f, const struct data *d)
{
	uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = {0};

	for (unsigned pc = 0; pc < f->len; pc++) {
		const struct sock_filter *i = &f->filter[pc];
		uint32_t k = i->k, src;

		switch (BPF_CLASS(i->code)) {
		case BPF_LD:
			if (i->code == (BPF_LD | BPF_W | BPF_ABS))
				A = load_word(d, k);
			else if (i->code == (BPF_LD | BPF_MEM))
				A = M[k];
			else if (i->code == (BPF_LD | BPF_IMM))
				A = k;
			else
				ck_abort_msg("ld %#x", i->code);
			break;
		case BPF_LDX:
			if (i->code == (BPF_LDX | BPF_MEM))
				X = M[k];
			else if (i->code == (BPF_LDX | BPF_IMM))
				X = k;
			else
				ck_abort_msg("ldx %#x", i->code);
			break;
		case BPF_ST:
			M[k] = A;
			break;
		case BPF_STX:
			M[k] = X;
			break;
		case BPF_ALU:
			src = BPF_SRC(i->code) == BPF_X ? X : k;
			switch (BPF_OP(i->code)) {
			case BPF_AND:
				A &= src;
				break;
			case BPF_OR:
				A |= src;
				break;
			case BPF_ADD:
				A += src;
				break;
			case BPF_SUB:
				A -= src;
				break;
			case BPF_LSH:
				A <<= src;
				break;
			case BPF_RSH:
				A >>= src;
				break;
			case BPF_NEG:
				A = -A;
				break;
			default:
				ck_abort_msg("alu %#x", i->code);
			}
			break;
		case BPF_JMP: {
			bool t;
			src = BPF_SRC(i->code) == BPF_X ? X : k;
			switch (BPF_OP(i->code)) {
			case BPF_JA:
				pc += k;
				continue;
			case BPF_JEQ:
				t = A == src;
				break;
			case BPF_JGT:
				t = A > src;
				break;
			case BPF_JGE:
				t = A >= src;
				break;
			case BPF_JSET:
				t = (A & src) != 0;
				break;
			default:
				ck_abort_msg("jmp %#x", i->code);
			}
			pc += t ? i->jt : i->jf;
			break;
		}
		case BPF_RET:
			if (BPF_RVAL(i->code) != BPF_K)
				ck_abort_msg("ret %#x", i->code);
			return k;
		case BPF_MISC:
			if (BPF_MISCOP(i->code) == BPF_TAX)
				X = A;
			else
				A = X;
			break;
		}
	}
	ck_abort_msg("fell off the end of the program");
	return 0;
}

static uint32_t eval(const SeccompProgram *p, uint32_t arch, int nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct data d = {.nr = nr, .arch = arch, .args = {a0, a1, a2}};
	return run(sandbox_seccomp_program_fprog(p), &d);
}
#define X86(p, nr, a0, a1, a2) eval(p, AUDIT_ARCH_X86_64, nr, a0, a1, a2)

/* For the big loops: Check's ck_assert_* report every passing assertion to
 * the parent process (a write per call); this only costs on failure. */
#define expect_ret(got, want)                                             \
	do {                                                              \
		uint32_t _g = (got), _w = (want);                         \
		if (_g != _w)                                             \
			ck_abort_msg("%s = %#x, want %#x", #got, _g, _w); \
	} while (0)

/* ---- helpers ------------------------------------------------------------------ */

static char cache_root[] = "/tmp/kdc-test-seccomp.XXXXXX";

static void rm_rf(const char *path)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	ck_assert_int_eq(system(cmd), 0);
}

/* Once, in the parent: the cache root, removed even when a test fails. */
static void setup_root(void)
{
	ck_assert_ptr_nonnull(mkdtemp(cache_root));
	ck_assert_int_eq(setenv("XDG_CACHE_HOME", cache_root, 1), 0);
}

static void teardown_root(void)
{
	rm_rf(cache_root);
}

/* Before each test: an empty cache. */
static void setup(void)
{
	char dir[sizeof(cache_root) + 8];
	snprintf(dir, sizeof dir, "%s/kdc", cache_root);
	rm_rf(dir);
	ck_assert_int_eq(setenv("XDG_CACHE_HOME", cache_root, 1), 0);
}

static SeccompProgram *build(const SeccompOptions *o)
{
	SeccompProgram *p = NULL;
	int r = sandbox_seccomp_build(o, &p);
	ck_assert_msg(r == 0, "build: %s", strerror(-r));
	return p;
}

static bool same_program(const SeccompProgram *a, const SeccompProgram *b)
{
	const struct sock_fprog *x = sandbox_seccomp_program_fprog(a), *y = sandbox_seccomp_program_fprog(b);
	return x->len == y->len && memcmp(x->filter, y->filter, x->len * sizeof(struct sock_filter)) == 0;
}

typedef struct Line {
	char name[64];
	char action[16];
} Line;

/* Reads doc/seccomp-policy.txt directly: an independent reading of the
 * source the build turned into C. */
static size_t read_table(Line *lines, size_t max, int *ret_max_nr)
{
	const char *top = getenv("top_srcdir");
	char path[4096], buf[512];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/doc/seccomp-policy.txt", top ? top : ".");
	f = fopen(path, "re");
	ck_assert_msg(f, "%s: %m", path);
	*ret_max_nr = -1;
	while (fgets(buf, sizeof buf, f)) {
		char *hash;
		if (sscanf(buf, "# max-nr %d", ret_max_nr) == 1)
			continue;
		hash = strchr(buf, '#');
		if (hash)
			*hash = 0;
		if (sscanf(buf, "%63s %15s", lines[n].name, lines[n].action) == 2) {
			ck_assert_uint_lt(n, max);
			n++;
		}
	}
	fclose(f);
	return n;
}

static const char *entry_action(const Line *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (streq(t[i].name, name))
			return t[i].action;
	return NULL;
}

/* ---- validation ------------------------------------------------------------ */

START_TEST(validate_names)
{
	char *deny[] = {"ptrace", "read", NULL}, *allow[] = {"ptrace", NULL};
	char *bogus[] = {"read", "no_such_call", NULL}, *i386_only[] = {"vm86", NULL};
	char *clone[] = {"clone", NULL}, *clone3[] = {"clone3", NULL}, *ioctl[] = {"ioctl", NULL};
	char *setns[] = {"setns", NULL}, *unshare[] = {"unshare", NULL}, *empty[] = {"", NULL};
	char *reopen[] = {"io_uring_setup", "vhangup", NULL};
	const char *bad = "untouched";

	ck_assert_int_eq(sandbox_seccomp_validate(&(SeccompOptions){0}, &bad), 0);
	ck_assert_str_eq(bad, "untouched"); /* set only on failure */
	ck_assert_int_eq(sandbox_seccomp_validate(&(SeccompOptions){.extra_deny = deny}, &bad), 0);
	ck_assert_int_eq(sandbox_seccomp_validate(&(SeccompOptions){.extra_allow = reopen}, &bad), 0);

	ck_assert_int_eq(sandbox_seccomp_validate(&(SeccompOptions){.extra_deny = bogus}, &bad), -EINVAL);
	ck_assert_str_eq(bad, "no_such_call");
	ck_assert_int_eq(sandbox_seccomp_validate(&(SeccompOptions){.extra_allow = bogus}, &bad), -EINVAL);
	ck_assert_str_eq(bad, "no_such_call");
	ck_assert_int_eq(sandbox_seccomp_validate(&(SeccompOptions){.extra_allow = i386_only}, &bad), -EINVAL);
	ck_assert_str_eq(bad, "vm86");
	ck_assert_int_eq(sandbox_seccomp_validate(&(SeccompOptions){.extra_deny = empty}, &bad), -EINVAL);

	/* Argument-filtered and structural syscalls cannot be opened. */
	ck_assert_int_eq(sandbox_seccomp_validate(&(SeccompOptions){.extra_allow = clone}, &bad), -EPERM);
	ck_assert_str_eq(bad, "clone");
	ck_assert_int_eq(sandbox_seccomp_validate(&(SeccompOptions){.extra_allow = clone3}, &bad), -EPERM);
	ck_assert_int_eq(sandbox_seccomp_validate(&(SeccompOptions){.extra_allow = ioctl}, &bad), -EPERM);
	ck_assert_int_eq(sandbox_seccomp_validate(&(SeccompOptions){.extra_allow = setns}, &bad), -EPERM);
	ck_assert_int_eq(sandbox_seccomp_validate(&(SeccompOptions){.extra_allow = unshare}, &bad), -EPERM);
	/* ... but they can always be closed further. */
	ck_assert_int_eq(sandbox_seccomp_validate(&(SeccompOptions){.extra_deny = clone}, &bad), 0);

	ck_assert_int_eq(sandbox_seccomp_validate(&(SeccompOptions){.extra_deny = deny, .extra_allow = allow}, &bad),
			 -EEXIST);
	ck_assert_str_eq(bad, "ptrace");

	/* build validates too */
	SeccompProgram *p = NULL;
	ck_assert_int_eq(sandbox_seccomp_build(&(SeccompOptions){.extra_allow = clone}, &p), -EPERM);
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(table_matches_libseccomp)
{
	static Line t[1024];
	int max_nr;
	size_t n = read_table(t, ARRAY_SIZE(t), &max_nr);

	ck_assert_int_gt(max_nr, 400);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, t[i].name) >= 0,
			      "'%s' is no x86_64 syscall for libseccomp", t[i].name);
	/* Every syscall libseccomp knows up to max-nr has a decision. */
	for (int nr = 0; nr <= max_nr; nr++) {
		_cleanup_free_ char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
		if (!name)
			continue;
		ck_assert_msg(entry_action(t, n, name), "syscall %d '%s' missing from doc/seccomp-policy.txt", nr,
			      name);
		ck_assert_str_eq(sandbox_seccomp_syscall_name(nr), name);
	}
	ck_assert_str_eq(sandbox_seccomp_syscall_name(SYS_unshare), "unshare");
	ck_assert_str_eq(sandbox_seccomp_syscall_name(-1), "unknown");
	ck_assert_str_eq(sandbox_seccomp_syscall_name(100000), "unknown");
	ck_assert_str_eq(sandbox_seccomp_syscall_name(0x40000000 | SYS_read), "unknown");
}
END_TEST

/* ---- the compiled program ------------------------------------------------------- */

START_TEST(program_follows_table)
{
	static Line t[1024];
	int max_nr;
	size_t n = read_table(t, ARRAY_SIZE(t), &max_nr);
	_cleanup_seccomp_program_free_ SeccompProgram *p = build(&(SeccompOptions){.allow_inet = true});
	_cleanup_seccomp_program_free_ SeccompProgram *k =
	    build(&(SeccompOptions){.allow_inet = true, .kill_on_violation = true});

	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, t[i].name);
		/* all-ones arguments: no argument rule lets those through */
		uint32_t got = X86(p, nr, -1, -1, -1), got_kill = X86(k, nr, -1, -1, -1);

		if (streq(t[i].action, "allow")) {
			ck_assert_msg(got == RET_ALLOW, "%s: %#x", t[i].name, got);
			ck_assert_uint_eq(got_kill, RET_ALLOW);
		} else if (streq(t[i].action, "deny-eperm")) {
			ck_assert_msg(got == RET_ERRNO(EPERM), "%s: %#x", t[i].name, got);
			ck_assert_msg(got_kill == RET_KILL, "%s: %#x", t[i].name, got_kill);
		} else if (streq(t[i].action, "enosys")) {
			ck_assert_msg(got == RET_ERRNO(ENOSYS), "%s: %#x", t[i].name, got);
			ck_assert_uint_eq(got_kill, RET_ERRNO(ENOSYS));
		} else
			ck_assert_str_eq(t[i].action, "args");
	}
	/* Unlisted numbers, above max-nr or never assigned. */
	for (int nr = max_nr + 1; nr < 1024; nr++)
		expect_ret(X86(p, nr, 0, 0, 0), RET_ERRNO(ENOSYS));
	ck_assert_uint_eq(X86(p, -1, 0, 0, 0), RET_ERRNO(ENOSYS));
}
END_TEST

START_TEST(program_checks_arch_first)
{
	_cleanup_seccomp_program_free_ SeccompProgram *p = build(&(SeccompOptions){.allow_inet = true});
	static const uint32_t foreign[] = {AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64, AUDIT_ARCH_X86_64 & ~__AUDIT_ARCH_64BIT,
					   0};

	/* i386 (int 0x80) with the numbers of read (3), exit (1), socketcall (102): killed whatever the number. */
	for (size_t i = 0; i < ARRAY_SIZE(foreign); i++)
		for (int nr = 0; nr < 512; nr++)
			expect_ret(eval(p, foreign[i], nr, 0, 0, 0), RET_KILL);
	/* x32: x86_64 arch, nr | __X32_SYSCALL_BIT. */
	for (int nr = 0; nr < 1024; nr++)
		expect_ret(X86(p, 0x40000000 | nr, 0, 0, 0), RET_KILL);
	ck_assert_uint_eq(X86(p, 0x7fffffff, 0, 0, 0), RET_KILL);
	ck_assert_uint_eq(X86(p, SYS_read, 0, 0, 0), RET_ALLOW);
}
END_TEST

START_TEST(program_ioctl)
{
	_cleanup_seccomp_program_free_ SeccompProgram *p = build(&(SeccompOptions){.allow_inet = true});
	uint64_t x = 0x9e3779b97f4a7c15ull;

	ck_assert_uint_eq(X86(p, SYS_ioctl, 0, TIOCSTI, 0), RET_ERRNO(EPERM));
	ck_assert_uint_eq(X86(p, SYS_ioctl, 0, TIOCLINUX, 0), RET_ERRNO(EPERM));
	/* The kernel truncates cmd to 32 bits: so must the rule. */
	ck_assert_uint_eq(X86(p, SYS_ioctl, 0, 1ull << 32 | TIOCSTI, 0), RET_ERRNO(EPERM));
	ck_assert_uint_eq(X86(p, SYS_ioctl, 0, 0xffffffff00000000ull | TIOCLINUX, 0), RET_ERRNO(EPERM));
	ck_assert_uint_eq(X86(p, SYS_ioctl, 0, TCGETS, 0), RET_ALLOW);
	ck_assert_uint_eq(X86(p, SYS_ioctl, 0, FIONREAD, 0), RET_ALLOW);
	/* An _IOR cmd passed through a signed int arrives sign-extended. */
	ck_assert_uint_eq(X86(p, SYS_ioctl, 0, (uint64_t) (int64_t) (int32_t) 0x80045432, 0), RET_ALLOW);
	for (uint64_t c = 0; c < 0x10000; c++) {
		uint32_t want = (c == TIOCSTI || c == TIOCLINUX) ? RET_ERRNO(EPERM) : RET_ALLOW;
		expect_ret(X86(p, SYS_ioctl, 0, c, 0), want);
		expect_ret(X86(p, SYS_ioctl, 0, c | 0xdead000000000000ull, 0), want);
	}
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
		uint32_t lo = (uint32_t) x;
		expect_ret(X86(p, SYS_ioctl, 0, x, 0),
			   (lo == TIOCSTI || lo == TIOCLINUX) ? RET_ERRNO(EPERM) : RET_ALLOW);
	}
}
END_TEST

START_TEST(program_clone)
{
	_cleanup_seccomp_program_free_ SeccompProgram *p = build(&(SeccompOptions){.allow_inet = true});
	_cleanup_seccomp_program_free_ SeccompProgram *k = build(&(SeccompOptions){.kill_on_violation = true});
	static const uint64_t ns[] = {CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
				      CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET};
	const uint64_t thread = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
				CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;

	ck_assert_uint_eq(X86(p, SYS_clone, SIGCHLD, 0, 0), RET_ALLOW);
	ck_assert_uint_eq(X86(p, SYS_clone, thread, 0, 0), RET_ALLOW);
	ck_assert_uint_eq(X86(p, SYS_clone, CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0), RET_ALLOW);
	for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
		ck_assert_uint_eq(X86(p, SYS_clone, ns[i] | SIGCHLD, 0, 0), RET_ERRNO(EPERM));
		ck_assert_uint_eq(X86(p, SYS_clone, ns[i] | thread, 0, 0), RET_ERRNO(EPERM));
		ck_assert_uint_eq(X86(k, SYS_clone, ns[i], 0, 0), RET_KILL);
	}
	ck_assert_uint_eq(X86(p, SYS_clone3, 0, 0, 0), RET_ERRNO(ENOSYS));
	ck_assert_uint_eq(X86(k, SYS_clone3, 0, 0, 0), RET_ERRNO(ENOSYS));
	ck_assert_uint_eq(X86(p, SYS_unshare, 0, 0, 0), RET_ERRNO(EPERM));
	ck_assert_uint_eq(X86(k, SYS_setns, 0, 0, 0), RET_KILL);
}
END_TEST

static uint32_t want_socket(bool inet, uint64_t d, uint64_t t, uint64_t proto)
{
	if (d == AF_UNIX)
		return RET_ALLOW;
	if (d == AF_PACKET)
		return RET_ERRNO(EPERM);
	if (!inet || (d != AF_INET && d != AF_INET6))
		return RET_ERRNO(EAFNOSUPPORT);
	if ((t & 0xf) == SOCK_STREAM)
		return proto == 0 || proto == IPPROTO_TCP ? RET_ALLOW : RET_ERRNO(EPERM);
	if ((t & 0xf) == SOCK_DGRAM)
		return proto == 0 || proto == IPPROTO_UDP ? RET_ALLOW : RET_ERRNO(EPERM);
	return RET_ERRNO(EPERM);
}

START_TEST(program_socket)
{
	for (int inet = 0; inet <= 1; inet++) {
		_cleanup_seccomp_program_free_ SeccompProgram *p = build(&(SeccompOptions){.allow_inet = inet});
		static const uint64_t types[] = {SOCK_STREAM,
						 SOCK_DGRAM,
						 SOCK_RAW,
						 SOCK_SEQPACKET,
						 SOCK_PACKET,
						 SOCK_STREAM | SOCK_CLOEXEC,
						 SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
						 SOCK_RAW | SOCK_CLOEXEC,
						 0,
						 15};

		for (uint64_t d = 0; d < 64; d++)
			for (size_t t = 0; t < ARRAY_SIZE(types); t++)
				for (uint64_t proto = 0; proto < 300; proto++)
					if (X86(p, SYS_socket, d, types[t], proto) !=
					    want_socket(inet, d, types[t], proto))
						ck_abort_msg("inet=%d socket(%lu, %#lx, %lu) = %#x", inet,
							     (unsigned long) d, (unsigned long) types[t],
							     (unsigned long) proto,
							     X86(p, SYS_socket, d, types[t], proto));
		/* stray high bits never help */
		ck_assert_uint_eq(X86(p, SYS_socket, 1ull << 32 | AF_INET, SOCK_STREAM, 0), RET_ERRNO(EAFNOSUPPORT));
		ck_assert_uint_eq(X86(p, SYS_socket, 1ull << 32 | AF_PACKET, SOCK_RAW, 0), RET_ERRNO(EAFNOSUPPORT));
		ck_assert_uint_eq(X86(p, SYS_socket, AF_NETLINK, SOCK_RAW, 0), RET_ERRNO(EAFNOSUPPORT));
		ck_assert_uint_eq(X86(p, SYS_socket, UINT64_MAX, 0, 0), RET_ERRNO(EAFNOSUPPORT));
		if (inet) {
			ck_assert_uint_eq(X86(p, SYS_socket, AF_INET, SOCK_STREAM, 1ull << 32 | IPPROTO_TCP),
					  RET_ERRNO(EPERM));
			ck_assert_uint_eq(X86(p, SYS_socket, AF_INET6, SOCK_DGRAM, UINT64_MAX), RET_ERRNO(EPERM));
			ck_assert_uint_eq(X86(p, SYS_socket, AF_INET, 1ull << 32 | SOCK_DGRAM, 0), RET_ALLOW);
		}
		ck_assert_uint_eq(X86(p, SYS_socketpair, AF_UNIX, SOCK_STREAM, 0), RET_ALLOW);
		ck_assert_uint_eq(X86(p, SYS_socketpair, AF_INET, SOCK_STREAM, 0), RET_ERRNO(EAFNOSUPPORT));
		ck_assert_uint_eq(X86(p, SYS_socketpair, 0, SOCK_STREAM, 0), RET_ERRNO(EAFNOSUPPORT));
	}

	/* kill mode: EPERM outcomes kill, "not supported" does not (glibc probes netlink). */
	_cleanup_seccomp_program_free_ SeccompProgram *k =
	    build(&(SeccompOptions){.allow_inet = true, .kill_on_violation = true});
	ck_assert_uint_eq(X86(k, SYS_socket, AF_INET, SOCK_RAW, IPPROTO_ICMP), RET_KILL);
	ck_assert_uint_eq(X86(k, SYS_socket, AF_PACKET, SOCK_RAW, 0), RET_KILL);
	ck_assert_uint_eq(X86(k, SYS_socket, AF_NETLINK, SOCK_RAW, 0), RET_ERRNO(EAFNOSUPPORT));
	ck_assert_uint_eq(X86(k, SYS_socket, AF_INET6, SOCK_STREAM, 0), RET_ALLOW);
}
END_TEST

START_TEST(program_mknod_personality)
{
	_cleanup_seccomp_program_free_ SeccompProgram *p = build(&(SeccompOptions){.allow_inet = true});

	for (uint64_t fmt = 0; fmt < 16; fmt++) {
		uint64_t mode = fmt << 12 | 0644;
		uint32_t want = (mode & S_IFMT) == S_IFCHR || (mode & S_IFMT) == S_IFBLK ? RET_ERRNO(EPERM) : RET_ALLOW;
		ck_assert_uint_eq(X86(p, SYS_mknod, 0, mode, 0), want);
		ck_assert_uint_eq(X86(p, SYS_mknod, 0, 0xffff000000000000ull | mode, 0), want);
		ck_assert_uint_eq(X86(p, SYS_mknodat, 0, 0, mode), want);
		ck_assert_uint_eq(X86(p, SYS_mknodat, AT_FDCWD, 0, mode), want);
	}
	ck_assert_uint_eq(X86(p, SYS_personality, 0, 0, 0), RET_ALLOW);
	ck_assert_uint_eq(X86(p, SYS_personality, 8 /* PER_LINUX32 */, 0, 0), RET_ERRNO(EPERM));
	ck_assert_uint_eq(X86(p, SYS_personality, 0x0040000 /* ADDR_NO_RANDOMIZE */, 0, 0), RET_ERRNO(EPERM));
	ck_assert_uint_eq(X86(p, SYS_personality, 0xffffffff, 0, 0), RET_ERRNO(EPERM));
	ck_assert_uint_eq(X86(p, SYS_personality, 1ull << 32, 0, 0), RET_ERRNO(EPERM));
}
END_TEST

START_TEST(program_extra_lists)
{
	char *deny[] = {"read", "ioctl", "vhangup", NULL}, *allow[] = {"ptrace", "io_uring_setup", "ustat", NULL};
	_cleanup_seccomp_program_free_ SeccompProgram *p =
	    build(&(SeccompOptions){.extra_deny = deny, .extra_allow = allow});
	_cleanup_seccomp_program_free_ SeccompProgram *k =
	    build(&(SeccompOptions){.extra_deny = deny, .extra_allow = allow, .kill_on_violation = true});

	ck_assert_uint_eq(X86(p, SYS_read, 0, 0, 0), RET_ERRNO(EPERM));
	ck_assert_uint_eq(X86(k, SYS_read, 0, 0, 0), RET_KILL);
	ck_assert_uint_eq(X86(p, SYS_ioctl, 0, TCGETS, 0), RET_ERRNO(EPERM)); /* wholesale, rules or not */
	ck_assert_uint_eq(X86(p, SYS_vhangup, 0, 0, 0), RET_ERRNO(EPERM));
	ck_assert_uint_eq(X86(p, SYS_ptrace, 0, 0, 0), RET_ALLOW);
	ck_assert_uint_eq(X86(p, SYS_io_uring_setup, 0, 0, 0), RET_ALLOW);
	ck_assert_uint_eq(X86(p, SYS_ustat, 0, 0, 0), RET_ALLOW);
	ck_assert_uint_eq(X86(p, SYS_write, 0, 0, 0), RET_ALLOW);
	ck_assert_uint_eq(X86(p, SYS_mount, 0, 0, 0), RET_ERRNO(EPERM));
	/* no inet without allow_inet */
	ck_assert_uint_eq(X86(p, SYS_socket, AF_INET, SOCK_STREAM, 0), RET_ERRNO(EAFNOSUPPORT));
}
END_TEST

/* ---- the cache ------------------------------------------------------------------- */

static char *cache_dir_path(void)
{
	char *d;
	ck_assert_int_ge(asprintf(&d, "%s/kdc/seccomp", cache_root), 0);
	return d;
}

/* The one .bpf file in the cache directory, or NULL. */
static char *only_cache_file(void)
{
	_cleanup_free_ char *dir = cache_dir_path();
	char *found = NULL;
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l > 4 && streq(de->d_name + l - 4, ".bpf")) {
			free(found);
			ck_assert_int_ge(asprintf(&found, "%s/%s", dir, de->d_name), 0);
			n++;
		}
	}
	closedir(d);
	ck_assert_int_le(n, 1);
	return found;
}

static size_t count_cache_files(void)
{
	_cleanup_free_ char *dir = cache_dir_path();
	struct dirent *de;
	DIR *d = opendir(dir);
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

START_TEST(cache_round_trip)
{
	char *deny_a[] = {"ptrace", "read", NULL}, *deny_b[] = {"read", "ptrace", "read", NULL};
	const SeccompOptions o = {.allow_inet = true};
	_cleanup_seccomp_program_free_ SeccompProgram *a = build(&o);
	_cleanup_free_ char *file = NULL, *dir = cache_dir_path();
	struct stat st;

	ck_assert(!sandbox_seccomp_program_from_cache(a));
	file = only_cache_file();
	ck_assert_ptr_nonnull(file);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_size % 8, 0);
	ck_assert_int_gt(st.st_size, 24 + 8 * sandbox_seccomp_program_fprog(a)->len);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);

	_cleanup_seccomp_program_free_ SeccompProgram *b = build(&o);
	ck_assert(sandbox_seccomp_program_from_cache(b));
	ck_assert(same_program(a, b));

	/* Other options, other entry; the list order and duplicates do not matter. */
	_cleanup_seccomp_program_free_ SeccompProgram *c = build(&(SeccompOptions){.extra_deny = deny_a});
	ck_assert(!sandbox_seccomp_program_from_cache(c));
	ck_assert(!same_program(a, c));
	ck_assert_uint_eq(count_cache_files(), 2);
	_cleanup_seccomp_program_free_ SeccompProgram *d = build(&(SeccompOptions){.extra_deny = deny_b});
	ck_assert(sandbox_seccomp_program_from_cache(d));
	ck_assert(same_program(c, d));
	ck_assert_uint_eq(count_cache_files(), 2);

	/* An unusable cache directory is no error: the program is compiled. */
	ck_assert_int_eq(setenv("XDG_CACHE_HOME", "/proc/no-such-dir", 1), 0);
	_cleanup_seccomp_program_free_ SeccompProgram *e = build(&o);
	ck_assert(!sandbox_seccomp_program_from_cache(e));
	ck_assert(same_program(a, e));
	ck_assert_int_eq(setenv("XDG_CACHE_HOME", cache_root, 1), 0);
}
END_TEST

typedef enum Corruption {
	TRUNCATE_HEADER,
	NOT_MULTIPLE_OF_8,
	FLIP_BODY,
	FLIP_MAGIC,
	FLIP_KEY,
	WRONG_COUNT,
	EMPTY,
	GROUP_WRITABLE,
	FOREIGN_OWNER,
	SYMLINK,
	OTHER_OPTIONS,
	_CORRUPTION_MAX,
} Corruption;

static void rewrite(const char *file, long off, const void *data, size_t len)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, data, len, off), (ssize_t) len);
	close(fd);
}

START_TEST(cache_rejects_corruption)
{
	const SeccompOptions o = {.allow_inet = true};
	char *other_deny[] = {"ptrace", NULL};
	_cleanup_seccomp_program_free_ SeccompProgram *good = build(&o);
	_cleanup_free_ char *file = only_cache_file();
	Corruption c = _i;
	struct stat before, after;
	off_t size;
	uint32_t u;

	ck_assert_ptr_nonnull(file);
	ck_assert_int_eq(stat(file, &before), 0);
	size = before.st_size;
	switch (c) {
	case TRUNCATE_HEADER:
		ck_assert_int_eq(truncate(file, 23), 0);
		break;
	case NOT_MULTIPLE_OF_8:
		rewrite(file, size, "abc", 3);
		break;
	case FLIP_BODY:
		/* turn the last RET into RET ALLOW: a weakened filter */
		u = SECCOMP_RET_ALLOW;
		rewrite(file, size - 4, &u, 4);
		break;
	case FLIP_MAGIC:
		rewrite(file, 0, "X", 1);
		break;
	case FLIP_KEY:
		/* the description: "kdc-seccomp 1" becomes "kdc-seccomp 2" */
		rewrite(file, 24 + 12, "2", 1);
		break;
	case WRONG_COUNT:
		u = sandbox_seccomp_program_fprog(good)->len - 1;
		rewrite(file, 8, &u, 4);
		break;
	case EMPTY:
		ck_assert_int_eq(truncate(file, 0), 0);
		break;
	case GROUP_WRITABLE:
		ck_assert_int_eq(chmod(file, 0620), 0);
		break;
	case FOREIGN_OWNER:
		if (geteuid() != 0)
			return; /* cannot give files away */
		ck_assert_int_eq(chown(file, 65534, 65534), 0);
		break;
	case SYMLINK: {
		/* a valid entry reached through a symlink is not used */
		_cleanup_free_ char *moved = NULL;
		ck_assert_int_ge(asprintf(&moved, "%s/elsewhere.bpf", cache_root), 0);
		ck_assert_int_eq(rename(file, moved), 0);
		ck_assert_int_eq(symlink(moved, file), 0);
		break;
	}
	case OTHER_OPTIONS: {
		/* a valid entry for other options copied under this key */
		_cleanup_seccomp_program_free_ SeccompProgram *q = NULL;
		_cleanup_free_ char *cmd = NULL, *dir = cache_dir_path();
		ck_assert_int_ge(asprintf(&cmd, "mv '%s' '%s.keep'", file, file), 0);
		ck_assert_int_eq(system(cmd), 0);
		q = build(&(SeccompOptions){.extra_deny = other_deny});
		free(cmd);
		ck_assert_int_ge(asprintf(&cmd, "cd '%s' && mv *.bpf '%s' && rm -f '%s.keep'", dir, file, file), 0);
		ck_assert_int_eq(system(cmd), 0);
		break;
	}
	default:
		ck_abort();
	}
	ck_assert_int_eq(lstat(file, &before), 0);

	_cleanup_seccomp_program_free_ SeccompProgram *p = build(&o);
	ck_assert_msg(!sandbox_seccomp_program_from_cache(p), "corruption %d accepted", c);
	ck_assert(same_program(good, p));

	/* The bad entry was replaced by a good one (atomically: a new inode). */
	ck_assert_int_eq(lstat(file, &after), 0);
	ck_assert(S_ISREG(after.st_mode));
	ck_assert_uint_eq(after.st_uid, geteuid());
	ck_assert_uint_eq(after.st_mode & 07777, 0600);
	ck_assert_uint_ne(after.st_ino, before.st_ino);
	_cleanup_seccomp_program_free_ SeccompProgram *again = build(&o);
	ck_assert(sandbox_seccomp_program_from_cache(again));
	ck_assert(same_program(good, again));
}
END_TEST

START_TEST(cache_untrusted_dir)
{
	const SeccompOptions o = {.allow_inet = true};
	_cleanup_seccomp_program_free_ SeccompProgram *good = build(&o);
	_cleanup_free_ char *dir = cache_dir_path(), *file = only_cache_file();

	/* A directory others may write to is neither read nor written. */
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_int_eq(unlink(file), 0);
	_cleanup_seccomp_program_free_ SeccompProgram *p = build(&o);
	ck_assert(!sandbox_seccomp_program_from_cache(p));
	ck_assert_uint_eq(count_cache_files(), 0);
	ck_assert(same_program(good, p));
}
END_TEST

/* ---- installed for real ---------------------------------------------------------- */

START_TEST(install_live)
{
	_cleanup_seccomp_program_free_ SeccompProgram *p = build(&(SeccompOptions){.allow_inet = true});
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || sandbox_seccomp_install(p) < 0)
			_exit(10);
		if (syscall(SYS_getppid) <= 0)
			_exit(11);
		if (unshare(CLONE_NEWUSER) == 0 || errno != EPERM)
			_exit(12);
		if (syscall(SYS_clone3, NULL, 0) == 0 || errno != ENOSYS)
			_exit(13);
		if (syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL) == 0 || errno != EPERM)
			_exit(14);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			_exit(15);
		if (socket(AF_NETLINK, SOCK_RAW, 0) >= 0 || errno != EAFNOSUPPORT)
			_exit(16);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);

	/* Without no_new_privs an unprivileged caller cannot install (EACCES). */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (geteuid() == 0 && setresuid(65534, 65534, 65534) < 0)
			_exit(10);
		_exit(sandbox_seccomp_install(p) == -EACCES ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("seccomp");
	TCase *tc = tcase_create("core");
	SRunner *sr;

	tcase_add_unchecked_fixture(tc, setup_root, teardown_root);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, validate_names);
	tcase_add_test(tc, table_matches_libseccomp);
	tcase_add_test(tc, program_follows_table);
	tcase_add_test(tc, program_checks_arch_first);
	tcase_add_test(tc, program_ioctl);
	tcase_add_test(tc, program_clone);
	tcase_add_test(tc, program_socket);
	tcase_add_test(tc, program_mknod_personality);
	tcase_add_test(tc, program_extra_lists);
	tcase_add_test(tc, cache_round_trip);
	tcase_add_loop_test(tc, cache_rejects_corruption, 0, _CORRUPTION_MAX);
	tcase_add_test(tc, cache_untrusted_dir);
	tcase_add_test(tc, install_live);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	return check_run(sr);
}
