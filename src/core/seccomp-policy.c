/* SPDX-License-Identifier: MIT */
/* The box's seccomp policy: doc/seccomp-policy.txt compiled with libseccomp.
 *
 * Why a cache, and why no SHA-256. Figures from the reference machine (a
 * 2-core VM, kernel 6.18, libseccomp 2.5.4, where a syscall costs 1.5-2 us
 * and a page fault 15-50 us):
 *   compiling (seccomp_init, ~370 rules, seccomp_export_bpf): 2.2-4.4 ms,
 *     ten times the ~0.3 ms the start-up budget leaves for seccomp;
 *   reading a cached program back: 23-75 us in a warm process, 140-190 us
 *     as the first build of a fresh process with malloc and stdio in use
 *     (as kdc-run's are once it has read its profile);
 *   the first EVP_Digest(SHA-256) of a process: 3.1-3.4 ms (OpenSSL 3
 *     fetches its provider), and linking libcrypto at all: +3.3 ms per exec.
 * Precompiling at build time would serve only the default variants; a
 * cache serves every variant ([seccomp] lists included), so: a cache, whose
 * key is compared byte for byte (the canonical description of everything
 * the program depends on) and whose file name and damage check use a plain
 * 64-bit FNV-1a. Keying it with SHA-256 would cost more than compiling.
 * tests/integration/33-seccomp-cache.sh prints the figures again.
 * (Installing the program takes 0.2-0.4 ms more in the child, ~0.2 ms of it
 * the kernel's fixed cost for attaching any filter, however short.)
 *
 * The cache is as trusted as the user's own home: an entry is used only if
 * the caller owns it and nobody else may write it, and written only into a
 * directory of the same kind. Whoever can write there is the user already.
 * The box must never get the cache directory writable (kdc-run does not
 * mount $XDG_CACHE_HOME into it). */

#include "core/seccomp-policy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <sched.h>
#include <unistd.h>

#include "shared/fileio.h"
#include "shared/macro.h"
#include "shared/strv.h"

/* Bump when the argument rules or the way the table is compiled change. */
#define SECCOMP_POLICY_VERSION 1

#if defined(__x86_64__) && !defined(__ILP32__)
#define POLICY_ARCH SCMP_ARCH_X86_64
#define POLICY_SUPPORTED 1
#else
#define POLICY_ARCH SCMP_ARCH_NATIVE
#define POLICY_SUPPORTED 0
#endif

typedef enum SeccompEntryAction {
	SECCOMP_ENTRY_ALLOW,
	SECCOMP_ENTRY_DENY,
	SECCOMP_ENTRY_ENOSYS,
	SECCOMP_ENTRY_ARGS,
} SeccompEntryAction;

typedef struct SeccompTableEntry {
	const char *name;
	SeccompEntryAction action;
	bool fixed;
} SeccompTableEntry;

#include "seccomp-table.h" /* generated: seccomp_table[], seccomp_table_text[] */

struct SeccompProgram {
	struct sock_fprog fprog; /* .filter points at insns */
	bool from_cache;
	struct sock_filter insns[];
};

DEFINE_TRIVIAL_CLEANUP_FUNC(scmp_filter_ctx, seccomp_release)

static const SeccompTableEntry *table_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(seccomp_table); i++)
		if (streq(seccomp_table[i].name, name))
			return &seccomp_table[i];
	return NULL;
}

/* The native syscall number, or -1 for names that are not x86_64 syscalls
 * (libseccomp gives negative pseudo-numbers for other architectures' ones). */
static int resolve(const char *name)
{
	int nr = seccomp_syscall_resolve_name_arch(POLICY_ARCH, name);
	return nr >= 0 ? nr : -1;
}

/* 0 if name may stand in the deny list (allow = false) or in the allow
 * list; else why not (see sandbox_seccomp_validate()). */
static int check_name(const SeccompOptions *o, const char *name, bool allow)
{
	const SeccompTableEntry *e;

	if (resolve(name) < 0)
		return -EINVAL;
	if (!allow)
		return 0;
	/* Argument-filtered and structural ones stay closed: allowing clone
	 * or socket wholesale would drop their argument rules, clone3 would
	 * bypass clone's, setns and unshare the namespaces. */
	e = table_find(name);
	if (e && e->fixed)
		return -EPERM;
	if (strv_contains(o->extra_deny, name))
		return -EEXIST;
	return 0;
}

int sandbox_seccomp_validate(const SeccompOptions *o, const char **ret_bad_name)
{
	char *const *lists[] = {o->extra_deny, o->extra_allow};

	if (!POLICY_SUPPORTED) {
		if (ret_bad_name)
			*ret_bad_name = NULL;
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
		for (char *const *n = lists[i]; n && *n; n++) {
			int r = check_name(o, *n, i == 1);
			if (r < 0) {
				if (ret_bad_name)
					*ret_bad_name = *n;
				return r;
			}
		}
	return 0;
}

/* ---- compiling with libseccomp ------------------------------------------ */

/* Adds rules with `action` that together match exactly the arguments whose
 * field, (arg >> shift) & field, is outside the sorted set `set`, while the
 * conditions in pre[] hold. libseccomp allows one comparison per argument
 * and rule, so the complement is cut into aligned power-of-two blocks of
 * field values, one MASKED_EQ rule each; when the field is the whole
 * register, everything above the largest value is one GT.
 *
 * Which bits to compare:
 *   UINT64_MAX  the whole register, where the rules beside use plain EQ: a
 *               value with stray high bits is then refused (over-refusing,
 *               never under);
 *   UINT32_MAX  an int the kernel truncates, where the set is what must be
 *               denied: a value and its twins with garbage in the high half
 *               land on the same side, whichever it is;
 *   a bit field the socket type (0xf) or the file type in a mode (0xf << 12),
 *               whose neighbours are flags that do not matter here. */
static int add_rules_not_in(scmp_filter_ctx ctx, uint32_t action, int nr, const struct scmp_arg_cmp *pre,
			    unsigned n_pre, unsigned arg, unsigned shift, uint64_t field, const uint64_t *set,
			    size_t n_set)
{
	const bool whole = field == UINT64_MAX;
	struct scmp_arg_cmp c[6];
	uint64_t lo = 0;
	int r;

	if (n_pre >= ARRAY_SIZE(c) || (whole && shift != 0))
		return -EINVAL;
	if (n_pre > 0)
		memcpy(c, pre, n_pre * sizeof(*pre));

	for (size_t i = 0; i <= n_set; i++) {
		uint64_t hi; /* inclusive end of the gap */

		if (i < n_set) {
			if (set[i] < lo || set[i] > field)
				return -EINVAL; /* not sorted, duplicate, or not in the field */
			if (set[i] == lo) {
				lo = set[i] + 1;
				continue;
			}
			hi = set[i] - 1;
		} else {
			if (n_set > 0 && set[n_set - 1] == field)
				break;
			if (whole && n_set > 0) {
				c[n_pre] = SCMP_CMP(arg, SCMP_CMP_GT, set[n_set - 1]);
				return seccomp_rule_add_array(ctx, action, nr, n_pre + 1, c);
			}
			hi = field;
		}

		/* [lo, hi] as aligned power-of-two blocks. */
		while (lo <= hi) {
			uint64_t size = lo != 0 ? lo & -lo : whole ? (uint64_t) 1 << 63 : field + 1;

			while (size > 1 && size - 1 > hi - lo)
				size >>= 1;
			c[n_pre] = SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, (~(size - 1) & field) << shift, lo << shift);
			r = seccomp_rule_add_array(ctx, action, nr, n_pre + 1, c);
			if (r < 0)
				return r;
			if (hi - lo == size - 1)
				break; /* also guards lo + size wrapping past the top */
			lo += size;
		}
		if (i < n_set)
			lo = set[i] + 1;
	}
	return 0;
}

#define ARGC(...) (sizeof((struct scmp_arg_cmp[]){__VA_ARGS__}) / sizeof(struct scmp_arg_cmp))
#define RULE(ctx, action, nr, ...) \
	seccomp_rule_add_array(ctx, action, nr, ARGC(__VA_ARGS__), (struct scmp_arg_cmp[]){__VA_ARGS__})

static int rules_ioctl(scmp_filter_ctx ctx, int nr, const SeccompOptions *o, uint32_t deny)
{
	/* cmd is an unsigned int to the kernel: compare the low half only, both
	 * ways, so TIOCSTI | 1 << 32 is TIOCSTI here as it is there. */
	static const uint64_t bad[] = {TIOCSTI, TIOCLINUX};
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		r = RULE(ctx, deny, nr, SCMP_A1(SCMP_CMP_MASKED_EQ, UINT32_MAX, bad[i]));
		if (r < 0)
			return r;
	}
	return add_rules_not_in(ctx, SCMP_ACT_ALLOW, nr, NULL, 0, 1, 0, UINT32_MAX, bad, ARRAY_SIZE(bad));
}

static int rules_clone(scmp_filter_ctx ctx, int nr, const SeccompOptions *o, uint32_t deny)
{
	/* x86_64: clone(flags, newsp, parent_tid, child_tid, tls). CLONE_NEWTIME
	 * is not among them: for clone that bit is part of the exit signal, and
	 * it is only honoured by unshare and clone3, both closed. */
	static const uint64_t ns[] = {CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
				      CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET};
	uint64_t all = 0;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
		all |= ns[i];
		r = RULE(ctx, deny, nr, SCMP_A0(SCMP_CMP_MASKED_EQ, ns[i], ns[i]));
		if (r < 0)
			return r;
	}
	return RULE(ctx, SCMP_ACT_ALLOW, nr, SCMP_A0(SCMP_CMP_MASKED_EQ, all, 0));
}

/* socket(domain, type, protocol) for AF_INET or AF_INET6: TCP and UDP only. */
static int rules_socket_inet(scmp_filter_ctx ctx, int nr, uint64_t family, uint32_t deny)
{
	static const uint64_t types[] = {SOCK_STREAM, SOCK_DGRAM}; /* sorted */
	static const uint64_t protocols[][2] = {
	    {0, IPPROTO_TCP}, /* for SOCK_STREAM */
	    {0, IPPROTO_UDP}, /* for SOCK_DGRAM */
	};
	const struct scmp_arg_cmp fam = SCMP_A0(SCMP_CMP_EQ, family);
	int r;

	/* The type's low 4 bits (SOCK_TYPE_MASK) are the type, the bits above
	 * SOCK_NONBLOCK and SOCK_CLOEXEC. SOCK_RAW, SOCK_SEQPACKET (SCTP),
	 * SOCK_PACKET, ...: refused. */
	r = add_rules_not_in(ctx, deny, nr, &fam, 1, 1, 0, 0xf, types, ARRAY_SIZE(types));
	if (r < 0)
		return r;
	for (size_t t = 0; t < ARRAY_SIZE(types); t++) {
		const struct scmp_arg_cmp pre[] = {fam, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, types[t])};

		for (size_t p = 0; p < ARRAY_SIZE(protocols[t]); p++) {
			r = RULE(ctx, SCMP_ACT_ALLOW, nr, pre[0], pre[1], SCMP_A2(SCMP_CMP_EQ, protocols[t][p]));
			if (r < 0)
				return r;
		}
		/* IPPROTO_ICMP (ping sockets), SCTP, MPTCP, UDPLITE, ... */
		r = add_rules_not_in(ctx, deny, nr, pre, ARRAY_SIZE(pre), 2, 0, UINT64_MAX, protocols[t],
				     ARRAY_SIZE(protocols[t]));
		if (r < 0)
			return r;
	}
	return 0;
}

static int rules_socket(scmp_filter_ctx ctx, int nr, const SeccompOptions *o, uint32_t deny)
{
	static const uint64_t with_inet[] = {AF_UNIX, AF_INET, AF_INET6, AF_PACKET};
	static const uint64_t unix_only[] = {AF_UNIX, AF_PACKET};
	int r;

	r = RULE(ctx, SCMP_ACT_ALLOW, nr, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	if (r < 0)
		return r;
	/* AF_PACKET is refused outright like a raw socket (it bypasses every
	 * egress hook); the other families are merely "not supported". */
	r = RULE(ctx, deny, nr, SCMP_A0(SCMP_CMP_EQ, AF_PACKET));
	if (r < 0)
		return r;
	if (o->allow_inet) {
		r = rules_socket_inet(ctx, nr, AF_INET, deny);
		if (r < 0)
			return r;
		r = rules_socket_inet(ctx, nr, AF_INET6, deny);
		if (r < 0)
			return r;
		return add_rules_not_in(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), nr, NULL, 0, 0, 0, UINT64_MAX, with_inet,
					ARRAY_SIZE(with_inet));
	}
	return add_rules_not_in(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), nr, NULL, 0, 0, 0, UINT64_MAX, unix_only,
				ARRAY_SIZE(unix_only));
}

static int rules_socketpair(scmp_filter_ctx ctx, int nr, const SeccompOptions *o, uint32_t deny)
{
	static const uint64_t ok[] = {AF_UNIX};
	int r;

	r = RULE(ctx, SCMP_ACT_ALLOW, nr, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	if (r < 0)
		return r;
	return add_rules_not_in(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), nr, NULL, 0, 0, 0, UINT64_MAX, ok, ARRAY_SIZE(ok));
}

/* mknod(path, mode, dev) and mknodat(dirfd, path, mode, dev): no device nodes. */
static int rules_mknod_at(scmp_filter_ctx ctx, int nr, unsigned mode_arg, uint32_t deny)
{
	/* File types are the 4 bits of S_IFMT; the kernel itself turns away
	 * the values that are no file type (EINVAL). */
	static const uint64_t devices[] = {S_IFCHR >> 12, S_IFBLK >> 12}; /* sorted */
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(devices); i++) {
		r = RULE(ctx, deny, nr, SCMP_CMP(mode_arg, SCMP_CMP_MASKED_EQ, S_IFMT, devices[i] << 12));
		if (r < 0)
			return r;
	}
	return add_rules_not_in(ctx, SCMP_ACT_ALLOW, nr, NULL, 0, mode_arg, 12, 0xf, devices, ARRAY_SIZE(devices));
}

static int rules_mknod(scmp_filter_ctx ctx, int nr, const SeccompOptions *o, uint32_t deny)
{
	return rules_mknod_at(ctx, nr, 1, deny);
}

static int rules_mknodat(scmp_filter_ctx ctx, int nr, const SeccompOptions *o, uint32_t deny)
{
	return rules_mknod_at(ctx, nr, 2, deny);
}

static int rules_personality(scmp_filter_ctx ctx, int nr, const SeccompOptions *o, uint32_t deny)
{
	/* PER_LINUX (0) only: no READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, ... */
	int r = RULE(ctx, SCMP_ACT_ALLOW, nr, SCMP_A0(SCMP_CMP_EQ, 0));
	if (r < 0)
		return r;
	return RULE(ctx, deny, nr, SCMP_A0(SCMP_CMP_GT, 0));
}

/* The C half of every "args" line in doc/seccomp-policy.txt. */
static const struct {
	const char *name;
	int (*add)(scmp_filter_ctx ctx, int nr, const SeccompOptions *o, uint32_t deny);
} arg_rules[] = {
    {"ioctl", rules_ioctl},
    {"clone", rules_clone},
    {"socket", rules_socket},
    {"socketpair", rules_socketpair},
    {"mknod", rules_mknod},
    {"mknodat", rules_mknodat},
    {"personality", rules_personality},
};

static int add_entry_rules(scmp_filter_ctx ctx, const char *name, SeccompEntryAction action, const SeccompOptions *o,
			   uint32_t deny)
{
	int nr = resolve(name);

	/* A name this libseccomp cannot resolve stays at the default, ENOSYS:
	 * closed, whatever the table says. */
	if (nr < 0)
		return 0;

	switch (action) {
	case SECCOMP_ENTRY_ALLOW:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	case SECCOMP_ENTRY_DENY:
		return seccomp_rule_add(ctx, deny, nr, 0);
	case SECCOMP_ENTRY_ENOSYS:
		return 0; /* the default action */
	case SECCOMP_ENTRY_ARGS:
		for (size_t i = 0; i < ARRAY_SIZE(arg_rules); i++)
			if (streq(arg_rules[i].name, name))
				return arg_rules[i].add(ctx, nr, o, deny);
		return -EBADMSG; /* table and code disagree: a build bug */
	}
	return -EINVAL;
}

static SeccompEntryAction effective_action(const SeccompOptions *o, const char *name, SeccompEntryAction table)
{
	if (strv_contains(o->extra_deny, name))
		return SECCOMP_ENTRY_DENY;
	if (strv_contains(o->extra_allow, name))
		return SECCOMP_ENTRY_ALLOW;
	return table;
}

static int program_new(size_t n_insns, SeccompProgram **ret)
{
	SeccompProgram *p;

	if (n_insns == 0 || n_insns > BPF_MAXINSNS)
		return -E2BIG;
	p = calloc(1, sizeof(SeccompProgram) + n_insns * sizeof(struct sock_filter));
	if (!p)
		return -ENOMEM;
	p->fprog.len = n_insns;
	p->fprog.filter = p->insns;
	*ret = p;
	return 0;
}

static int compile(const SeccompOptions *o, SeccompProgram **ret)
{
	_cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
	_cleanup_close_ int fd = -EBADF;
	SeccompProgram *p = NULL;
	/* notify: the violation waits for kdc-run, which reads the syscall,
	 * kills the box and reports it by name (SIGSYS alone carries none). */
	uint32_t deny = !o->kill_on_violation	 ? SCMP_ACT_ERRNO(EPERM)
			: o->notify_on_violation ? SCMP_ACT_NOTIFY
						 : SCMP_ACT_KILL_PROCESS;
	off_t size;
	int r;

	ctx = seccomp_init(SCMP_ACT_ERRNO(ENOSYS));
	if (!ctx)
		return -ENOMEM;
	/* Only native x86_64: i386 (int 0x80) and, as libseccomp adds for an
	 * x86_64-only filter, x32 (nr | __X32_SYSCALL_BIT) are killed before
	 * any number is looked at. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r < 0)
		return r;
	/* A binary search over the numbers instead of a linear chain: calls
	 * that are not constant-allow (the kernel caches those) find their
	 * rules in ~9 comparisons. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (r < 0)
		return r;

	for (size_t i = 0; i < ARRAY_SIZE(seccomp_table); i++) {
		const SeccompTableEntry *e = &seccomp_table[i];
		r = add_entry_rules(ctx, e->name, effective_action(o, e->name, e->action), o, deny);
		if (r < 0)
			return r;
	}
	/* Names from the profile that the table does not list (validated). */
	for (char *const *n = o->extra_deny; n && *n; n++)
		if (!table_find(*n) && (r = add_entry_rules(ctx, *n, SECCOMP_ENTRY_DENY, o, deny)) < 0)
			return r;
	for (char *const *n = o->extra_allow; n && *n; n++)
		if (!table_find(*n) && (r = add_entry_rules(ctx, *n, SECCOMP_ENTRY_ALLOW, o, deny)) < 0)
			return r;

	/* libseccomp 2.5 exports to a file descriptor only. */
	fd = memfd_create("kdc-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return r;
	size = lseek(fd, 0, SEEK_END);
	if (size < 0)
		return negative_errno();
	if (size % sizeof(struct sock_filter) != 0)
		return -EBADMSG;
	r = program_new(size / sizeof(struct sock_filter), &p);
	if (r < 0)
		return r;
	if (pread(fd, p->insns, size, 0) != size) {
		free(p);
		return -EIO;
	}
	*ret = p;
	return 0;
}

/* ---- the cache ------------------------------------------------------------ */

/* An entry: CacheHeader, the canonical description (padded with NULs to a
 * multiple of 8), the instructions. The whole file is a multiple of 8. */
#define CACHE_MAGIC "KDCSECC1"		  /* 8 bytes, no NUL stored; the 1 is the format */
#define CACHE_MAX_DESCRIPTION (16 * 1024) /* the [seccomp] lists, mostly */

typedef struct CacheHeader {
	char magic[8];
	uint32_t n_insns;
	uint32_t description_len;
	uint64_t checksum; /* FNV-1a 64 of the instructions */
} CacheHeader;

_Static_assert(sizeof(CacheHeader) == 24, "cache header layout");
_Static_assert(sizeof(CacheHeader) % sizeof(struct sock_filter) == 0, "whole file a multiple of 8");

#define ALIGN8(x) (((x) + 7) & ~(size_t) 7)

/* FNV-1a, 64 bits: names entries and catches accidental damage. It is no
 * defence against a writer, and needs none: whoever can write the cache
 * directory is the user (see the top of this file). */
static uint64_t fnv1a64(const void *data, size_t len)
{
	const unsigned char *b = data;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* "label a b c": the set of names, sorted, without duplicates. */
static int fputs_sorted(FILE *f, const char *label, char *const *l)
{
	_cleanup_strv_free_ char **c = strv_copy(l);
	size_t n = strv_length(c);

	if (!c)
		return -ENOMEM;
	qsort(c, n, sizeof(char *), cmp_str);
	fputs(label, f);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || !streq(c[i], c[i - 1]))
			fprintf(f, " %s", c[i]);
	fputc('\n', f);
	return 0;
}

/* Everything the compiled program depends on, as one canonical text: the
 * cache key, compared byte for byte on read. */
static int describe(const SeccompOptions *o, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	const struct scmp_version *v = seccomp_version();
	FILE *f;
	int r;

	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "kdc-seccomp %d %s\nlibseccomp %u.%u.%u\narch %u\nkill %d\ninet %d\n", SECCOMP_POLICY_VERSION,
		SECCOMP_SOURCE_ID, v ? v->major : 0, v ? v->minor : 0, v ? v->micro : 0, (unsigned) POLICY_ARCH,
		o->kill_on_violation + (o->kill_on_violation && o->notify_on_violation), o->allow_inet);
	r = fputs_sorted(f, "deny", o->extra_deny);
	if (r >= 0)
		r = fputs_sorted(f, "allow", o->extra_allow);
	/* The table by fingerprint: its 7 KiB spelt out in every entry cost a
	 * page fault or two more per run than they are worth. */
	fprintf(f, "table %zu %016llx\n", sizeof(seccomp_table_text) - 1,
		(unsigned long long) fnv1a64(seccomp_table_text, sizeof(seccomp_table_text) - 1));
	if (ferror(f))
		r = -ENOMEM;
	if (fclose(f) != 0 || r < 0 || !buf)
		return -ENOMEM;
	if (len > CACHE_MAX_DESCRIPTION)
		return -E2BIG;
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static int cache_dir(char **ret)
{
	const char *x = secure_getenv("XDG_CACHE_HOME");
	char *d = NULL;

	if (x && x[0] == '/') {
		if (asprintf(&d, "%s/kdc/seccomp", x) < 0)
			return -ENOMEM;
	} else if (geteuid() == 0) {
		d = strdup("/var/cache/kdc/seccomp");
		if (!d)
			return -ENOMEM;
	} else {
		const char *h = secure_getenv("HOME");
		if (!h || h[0] != '/')
			return -ENOENT;
		if (asprintf(&d, "%s/.cache/kdc/seccomp", h) < 0)
			return -ENOMEM;
	}
	*ret = d;
	return 0;
}

#define CACHE_NAME_MAX sizeof("0123456789abcdef.bpf")

static void cache_file_name(const char *description, size_t len, char out[CACHE_NAME_MAX])
{
	snprintf(out, CACHE_NAME_MAX, "%016llx.bpf", (unsigned long long) fnv1a64(description, len));
}

/* Ours and not writable by anyone else: only then is its content ours. */
static bool stat_trusted(const struct stat *st)
{
	return st->st_uid == geteuid() && (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

static int open_trusted_dir(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!stat_trusted(&st))
		return -EPERM;
	return TAKE_FD(fd);
}

static int cache_read(const char *dir, const char *description, size_t description_len, SeccompProgram **ret)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ SeccompProgram *p = NULL;
	const size_t head = sizeof(CacheHeader) + ALIGN8(description_len);
	char name[CACHE_NAME_MAX], buf[sizeof(CacheHeader) + CACHE_MAX_DESCRIPTION];
	CacheHeader h;
	struct stat st;
	size_t n, body;
	int r;

	/* The file itself must be ours (see stat_trusted), which also makes
	 * the directory's state moot for reading: whatever path led here, a
	 * file we own whose content matches the key is one we wrote. */
	cache_file_name(description, description_len, name);
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode) || !stat_trusted(&st))
		return -EPERM;
	if (st.st_size % sizeof(struct sock_filter) != 0 || st.st_size < (off_t) (head + sizeof(struct sock_filter)) ||
	    st.st_size > (off_t) (head + BPF_MAXINSNS * sizeof(struct sock_filter)))
		return -EBADMSG;
	body = st.st_size - head;
	n = body / sizeof(struct sock_filter);
	r = program_new(n, &p);
	if (r < 0)
		return r;
	/* One read: header and key onto the stack, the program in place. */
	if (readv(fd, (struct iovec[]){{buf, head}, {p->insns, body}}, 2) != st.st_size)
		return -EBADMSG;

	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, CACHE_MAGIC, sizeof(h.magic)) != 0 || h.n_insns != n ||
	    h.description_len != description_len)
		return -EBADMSG;
	/* The key, byte for byte. */
	if (memcmp(buf + sizeof(h), description, description_len) != 0)
		return -EBADMSG;
	for (size_t i = sizeof(h) + description_len; i < head; i++)
		if (buf[i] != 0)
			return -EBADMSG;
	if (fnv1a64(p->insns, body) != h.checksum)
		return -EBADMSG;
	p->from_cache = true;
	*ret = TAKE_PTR(p);
	return 0;
}

static int cache_write(const char *dir, const char *description, size_t description_len, const SeccompProgram *p)
{
	_cleanup_close_ int dfd = -EBADF;
	_cleanup_free_ char *buf = NULL, *path = NULL;
	char name[CACHE_NAME_MAX];
	size_t body = p->fprog.len * sizeof(struct sock_filter), total;
	CacheHeader h = {.n_insns = p->fprog.len, .description_len = description_len};
	int r;

	r = mkdir_p(dir, 0700);
	if (r < 0)
		return r;
	dfd = open_trusted_dir(dir); /* never write where others can */
	if (dfd < 0)
		return dfd;

	memcpy(h.magic, CACHE_MAGIC, sizeof(h.magic));
	h.checksum = fnv1a64(p->insns, body);
	total = sizeof(h) + ALIGN8(description_len) + body;
	buf = calloc(1, total);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), description, description_len);
	memcpy(buf + sizeof(h) + ALIGN8(description_len), p->insns, body);

	cache_file_name(description, description_len, name);
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return -ENOMEM;
	return write_file_atomic(path, buf, total, 0600);
}

int sandbox_seccomp_build(const SeccompOptions *o, SeccompProgram **ret)
{
	_cleanup_free_ char *dir = NULL, *description = NULL;
	SeccompProgram *p = NULL;
	bool cache;
	size_t len = 0;
	int r;

	r = sandbox_seccomp_validate(o, NULL);
	if (r < 0)
		return r;
	r = describe(o, &description, &len);
	if (r < 0 && r != -E2BIG)
		return r;

	/* Any cache problem (no HOME, unreadable, foreign, corrupt, a key too
	 * long to keep) means: compile. */
	cache = r >= 0 && cache_dir(&dir) >= 0;
	if (cache && cache_read(dir, description, len, &p) >= 0) {
		*ret = p;
		return 0;
	}
	r = compile(o, &p);
	if (r < 0)
		return r;
	if (cache)
		(void) cache_write(dir, description, len, p);
	*ret = p;
	return 0;
}

int sandbox_seccomp_install(const SeccompProgram *p)
{
	/* One system call, no allocation: safe between clone and exec. Needs
	 * no_new_privs (or CAP_SYS_ADMIN), else EACCES. */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p->fprog, 0, 0) < 0)
		return -errno;
	return 0;
}

int sandbox_seccomp_install_listener(const SeccompProgram *p)
{
	/* The listener fd comes back O_CLOEXEC. */
	long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &p->fprog);
	if (fd < 0)
		return -errno;
	return (int) fd;
}

void sandbox_seccomp_program_free(SeccompProgram *p)
{
	free(p);
}

const struct sock_fprog *sandbox_seccomp_program_fprog(const SeccompProgram *p)
{
	return &p->fprog;
}

bool sandbox_seccomp_program_from_cache(const SeccompProgram *p)
{
	return p->from_cache;
}

const char *sandbox_seccomp_syscall_name(int nr)
{
	_cleanup_free_ char *n = NULL;
	const SeccompTableEntry *e;

	if (nr < 0)
		return "unknown";
	n = seccomp_syscall_resolve_num_arch(POLICY_ARCH, nr);
	if (!n)
		return "unknown";
	/* Hand out the table's static copy of the name (every name libseccomp
	 * knows up to max-nr is listed; the unit test holds us to it). */
	e = table_find(n);
	return e ? e->name : "unknown";
}
