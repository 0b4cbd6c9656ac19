/* SPDX-License-Identifier: MIT */
#pragma once

/* The box's seccomp policy: an allowlist (doc/seccomp-policy.txt) compiled
 * with libseccomp into classic BPF.
 *
 *   unlisted syscall          -> ENOSYS (libc falls back, as for clone3)
 *   forbidden (deny-eperm)    -> EPERM, or SIGSYS kill with kill_on_violation
 *   ioctl/clone/socket/...    -> argument rules (see the table's header)
 *   not x86_64, or x32        -> SIGSYS kill, always
 *
 * Use: sandbox_seccomp_validate() while planning (unprivileged, pure);
 * sandbox_seccomp_build() in the parent before clone; in the child, after
 * PR_SET_NO_NEW_PRIVS and as the very last step before exec,
 * sandbox_seccomp_install(). Prefix: sandbox_seccomp_ (type SeccompProgram). */

#include <stdbool.h>
#include <stddef.h>

struct sock_fprog;

typedef struct SeccompOptions {
	char **extra_deny;	/* names made deny-eperm (kill with kill_on_violation); NULL = none */
	char **extra_allow;	/* names opened; never an "args" or "fixed" one (see validate) */
	bool kill_on_violation; /* [seccomp] on_violation = kill: deny-eperm -> SIGSYS */
	/* With kill_on_violation: a violation is SECCOMP_RET_USER_NOTIF instead,
	 * for a supervisor that reads the syscall, kills and reports it
	 * (install with sandbox_seccomp_install_listener()). Without a
	 * listener such a call would fail with ENOSYS, so never install a
	 * notify program with sandbox_seccomp_install(). */
	bool notify_on_violation;
	/* true: AF_INET/AF_INET6 TCP and UDP sockets are allowed, as every
	 * network mode needs (none and proxy still reach 127.0.0.1 inside the
	 * box's own netns: the proxy lives there; filtered mode relies on the
	 * egress BPF programs). false: only AF_UNIX sockets, for a profile that
	 * wants no IP at all; AF_INET/6 then fail with EAFNOSUPPORT.
	 * Raw, packet, netlink and every other family are refused either way. */
	bool allow_inet;
} SeccompOptions;

/* Validates syscall names (unknown name -> -EINVAL with *ret_bad_name set). Unprivileged, no side effects.
 * Also: a name in extra_allow whose table line is "args" or "fixed" (clone, ioctl, socket, setns, unshare,
 * clone3, ...) -> -EPERM; a name in both lists -> -EEXIST; not x86_64 -> -EOPNOTSUPP. *ret_bad_name
 * points into o (or is NULL for -EOPNOTSUPP) and is set only on failure. */
int sandbox_seccomp_validate(const SeccompOptions *o, const char **ret_bad_name);

/* Builds the filter and returns it as classic BPF (struct sock_fprog owned by ret) so
 * it can be built BEFORE clone and installed in the child with one prctl/seccomp() call.
 * Served from the cache ($XDG_CACHE_HOME/kdc/seccomp, else ~/.cache/kdc/seccomp, root
 * without XDG_CACHE_HOME: /var/cache/kdc/seccomp) when a valid entry exists; a cache
 * that cannot be read or written is ignored, never an error. */
typedef struct SeccompProgram SeccompProgram;
int sandbox_seccomp_build(const SeccompOptions *o, SeccompProgram **ret);

/* In the child, after no_new_privs; async-signal-safe-ish: no malloc. */
int sandbox_seccomp_install(const SeccompProgram *p);
/* The same, returning the user-notification listener fd (O_CLOEXEC). */
int sandbox_seccomp_install_listener(const SeccompProgram *p);

void sandbox_seccomp_program_free(SeccompProgram *p);
static inline void sandbox_seccomp_program_freep(SeccompProgram **p)
{
	sandbox_seccomp_program_free(*p);
}
#define _cleanup_seccomp_program_free_ __attribute__((cleanup(sandbox_seccomp_program_freep)))

/* Name of syscall nr for the native arch ("unknown" if none) — kdc-run prints it for end reason 'seccomp'. */
const char *sandbox_seccomp_syscall_name(int nr);

/* For tests, benchmarks and --verbose: the program itself, and whether it came from the cache. */
const struct sock_fprog *sandbox_seccomp_program_fprog(const SeccompProgram *p);
bool sandbox_seccomp_program_from_cache(const SeccompProgram *p);
