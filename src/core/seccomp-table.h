/* Generated from doc/seccomp-policy.txt by src/core/seccomp-table.awk: do not edit. */
static const SeccompTableEntry seccomp_table[] = {
	{ "read", SECCOMP_ENTRY_ALLOW, false },
	{ "write", SECCOMP_ENTRY_ALLOW, false },
	{ "open", SECCOMP_ENTRY_ALLOW, false },
	{ "close", SECCOMP_ENTRY_ALLOW, false },
	{ "stat", SECCOMP_ENTRY_ALLOW, false },
	{ "fstat", SECCOMP_ENTRY_ALLOW, false },
	{ "lstat", SECCOMP_ENTRY_ALLOW, false },
	{ "poll", SECCOMP_ENTRY_ALLOW, false },
	{ "lseek", SECCOMP_ENTRY_ALLOW, false },
	{ "ioctl", SECCOMP_ENTRY_ARGS, true },
	{ "pread64", SECCOMP_ENTRY_ALLOW, false },
	{ "pwrite64", SECCOMP_ENTRY_ALLOW, false },
	{ "readv", SECCOMP_ENTRY_ALLOW, false },
	{ "writev", SECCOMP_ENTRY_ALLOW, false },
	{ "access", SECCOMP_ENTRY_ALLOW, false },
	{ "pipe", SECCOMP_ENTRY_ALLOW, false },
	{ "select", SECCOMP_ENTRY_ALLOW, false },
	{ "dup", SECCOMP_ENTRY_ALLOW, false },
	{ "dup2", SECCOMP_ENTRY_ALLOW, false },
	{ "sendfile", SECCOMP_ENTRY_ALLOW, false },
	{ "fcntl", SECCOMP_ENTRY_ALLOW, false },
	{ "flock", SECCOMP_ENTRY_ALLOW, false },
	{ "fsync", SECCOMP_ENTRY_ALLOW, false },
	{ "fdatasync", SECCOMP_ENTRY_ALLOW, false },
	{ "truncate", SECCOMP_ENTRY_ALLOW, false },
	{ "ftruncate", SECCOMP_ENTRY_ALLOW, false },
	{ "getdents", SECCOMP_ENTRY_ALLOW, false },
	{ "getcwd", SECCOMP_ENTRY_ALLOW, false },
	{ "chdir", SECCOMP_ENTRY_ALLOW, false },
	{ "fchdir", SECCOMP_ENTRY_ALLOW, false },
	{ "rename", SECCOMP_ENTRY_ALLOW, false },
	{ "mkdir", SECCOMP_ENTRY_ALLOW, false },
	{ "rmdir", SECCOMP_ENTRY_ALLOW, false },
	{ "creat", SECCOMP_ENTRY_ALLOW, false },
	{ "link", SECCOMP_ENTRY_ALLOW, false },
	{ "unlink", SECCOMP_ENTRY_ALLOW, false },
	{ "symlink", SECCOMP_ENTRY_ALLOW, false },
	{ "readlink", SECCOMP_ENTRY_ALLOW, false },
	{ "chmod", SECCOMP_ENTRY_ALLOW, false },
	{ "fchmod", SECCOMP_ENTRY_ALLOW, false },
	{ "chown", SECCOMP_ENTRY_ALLOW, false },
	{ "fchown", SECCOMP_ENTRY_ALLOW, false },
	{ "lchown", SECCOMP_ENTRY_ALLOW, false },
	{ "umask", SECCOMP_ENTRY_ALLOW, false },
	{ "mknod", SECCOMP_ENTRY_ARGS, true },
	{ "statfs", SECCOMP_ENTRY_ALLOW, false },
	{ "fstatfs", SECCOMP_ENTRY_ALLOW, false },
	{ "sync", SECCOMP_ENTRY_ALLOW, false },
	{ "readahead", SECCOMP_ENTRY_ALLOW, false },
	{ "setxattr", SECCOMP_ENTRY_ALLOW, false },
	{ "lsetxattr", SECCOMP_ENTRY_ALLOW, false },
	{ "fsetxattr", SECCOMP_ENTRY_ALLOW, false },
	{ "getxattr", SECCOMP_ENTRY_ALLOW, false },
	{ "lgetxattr", SECCOMP_ENTRY_ALLOW, false },
	{ "fgetxattr", SECCOMP_ENTRY_ALLOW, false },
	{ "listxattr", SECCOMP_ENTRY_ALLOW, false },
	{ "llistxattr", SECCOMP_ENTRY_ALLOW, false },
	{ "flistxattr", SECCOMP_ENTRY_ALLOW, false },
	{ "removexattr", SECCOMP_ENTRY_ALLOW, false },
	{ "lremovexattr", SECCOMP_ENTRY_ALLOW, false },
	{ "fremovexattr", SECCOMP_ENTRY_ALLOW, false },
	{ "getdents64", SECCOMP_ENTRY_ALLOW, false },
	{ "fadvise64", SECCOMP_ENTRY_ALLOW, false },
	{ "utime", SECCOMP_ENTRY_ALLOW, false },
	{ "utimes", SECCOMP_ENTRY_ALLOW, false },
	{ "openat", SECCOMP_ENTRY_ALLOW, false },
	{ "mkdirat", SECCOMP_ENTRY_ALLOW, false },
	{ "mknodat", SECCOMP_ENTRY_ARGS, true },
	{ "fchownat", SECCOMP_ENTRY_ALLOW, false },
	{ "futimesat", SECCOMP_ENTRY_ALLOW, false },
	{ "newfstatat", SECCOMP_ENTRY_ALLOW, false },
	{ "unlinkat", SECCOMP_ENTRY_ALLOW, false },
	{ "renameat", SECCOMP_ENTRY_ALLOW, false },
	{ "linkat", SECCOMP_ENTRY_ALLOW, false },
	{ "symlinkat", SECCOMP_ENTRY_ALLOW, false },
	{ "readlinkat", SECCOMP_ENTRY_ALLOW, false },
	{ "fchmodat", SECCOMP_ENTRY_ALLOW, false },
	{ "faccessat", SECCOMP_ENTRY_ALLOW, false },
	{ "pselect6", SECCOMP_ENTRY_ALLOW, false },
	{ "ppoll", SECCOMP_ENTRY_ALLOW, false },
	{ "splice", SECCOMP_ENTRY_ALLOW, false },
	{ "tee", SECCOMP_ENTRY_ALLOW, false },
	{ "sync_file_range", SECCOMP_ENTRY_ALLOW, false },
	{ "vmsplice", SECCOMP_ENTRY_ALLOW, false },
	{ "utimensat", SECCOMP_ENTRY_ALLOW, false },
	{ "fallocate", SECCOMP_ENTRY_ALLOW, false },
	{ "dup3", SECCOMP_ENTRY_ALLOW, false },
	{ "pipe2", SECCOMP_ENTRY_ALLOW, false },
	{ "preadv", SECCOMP_ENTRY_ALLOW, false },
	{ "pwritev", SECCOMP_ENTRY_ALLOW, false },
	{ "syncfs", SECCOMP_ENTRY_ALLOW, false },
	{ "renameat2", SECCOMP_ENTRY_ALLOW, false },
	{ "copy_file_range", SECCOMP_ENTRY_ALLOW, false },
	{ "preadv2", SECCOMP_ENTRY_ALLOW, false },
	{ "pwritev2", SECCOMP_ENTRY_ALLOW, false },
	{ "statx", SECCOMP_ENTRY_ALLOW, false },
	{ "close_range", SECCOMP_ENTRY_ALLOW, false },
	{ "openat2", SECCOMP_ENTRY_ALLOW, false },
	{ "faccessat2", SECCOMP_ENTRY_ALLOW, false },
	{ "fchmodat2", SECCOMP_ENTRY_ALLOW, false },
	{ "memfd_create", SECCOMP_ENTRY_ALLOW, false },
	{ "inotify_init", SECCOMP_ENTRY_ALLOW, false },
	{ "inotify_add_watch", SECCOMP_ENTRY_ALLOW, false },
	{ "inotify_rm_watch", SECCOMP_ENTRY_ALLOW, false },
	{ "inotify_init1", SECCOMP_ENTRY_ALLOW, false },
	{ "epoll_create", SECCOMP_ENTRY_ALLOW, false },
	{ "epoll_wait", SECCOMP_ENTRY_ALLOW, false },
	{ "epoll_ctl", SECCOMP_ENTRY_ALLOW, false },
	{ "epoll_pwait", SECCOMP_ENTRY_ALLOW, false },
	{ "epoll_create1", SECCOMP_ENTRY_ALLOW, false },
	{ "epoll_pwait2", SECCOMP_ENTRY_ALLOW, false },
	{ "eventfd", SECCOMP_ENTRY_ALLOW, false },
	{ "eventfd2", SECCOMP_ENTRY_ALLOW, false },
	{ "signalfd", SECCOMP_ENTRY_ALLOW, false },
	{ "signalfd4", SECCOMP_ENTRY_ALLOW, false },
	{ "timerfd_create", SECCOMP_ENTRY_ALLOW, false },
	{ "timerfd_settime", SECCOMP_ENTRY_ALLOW, false },
	{ "timerfd_gettime", SECCOMP_ENTRY_ALLOW, false },
	{ "io_setup", SECCOMP_ENTRY_ALLOW, false },
	{ "io_destroy", SECCOMP_ENTRY_ALLOW, false },
	{ "io_getevents", SECCOMP_ENTRY_ALLOW, false },
	{ "io_submit", SECCOMP_ENTRY_ALLOW, false },
	{ "io_cancel", SECCOMP_ENTRY_ALLOW, false },
	{ "io_pgetevents", SECCOMP_ENTRY_ALLOW, false },
	{ "landlock_create_ruleset", SECCOMP_ENTRY_ALLOW, false },
	{ "landlock_add_rule", SECCOMP_ENTRY_ALLOW, false },
	{ "landlock_restrict_self", SECCOMP_ENTRY_ALLOW, false },
	{ "ustat", SECCOMP_ENTRY_ENOSYS, false },
	{ "sysfs", SECCOMP_ENTRY_ENOSYS, false },
	{ "fanotify_mark", SECCOMP_ENTRY_ENOSYS, false },
	{ "cachestat", SECCOMP_ENTRY_ENOSYS, false },
	{ "mmap", SECCOMP_ENTRY_ALLOW, false },
	{ "mprotect", SECCOMP_ENTRY_ALLOW, false },
	{ "munmap", SECCOMP_ENTRY_ALLOW, false },
	{ "brk", SECCOMP_ENTRY_ALLOW, false },
	{ "mremap", SECCOMP_ENTRY_ALLOW, false },
	{ "msync", SECCOMP_ENTRY_ALLOW, false },
	{ "mincore", SECCOMP_ENTRY_ALLOW, false },
	{ "madvise", SECCOMP_ENTRY_ALLOW, false },
	{ "mlock", SECCOMP_ENTRY_ALLOW, false },
	{ "munlock", SECCOMP_ENTRY_ALLOW, false },
	{ "mlockall", SECCOMP_ENTRY_ALLOW, false },
	{ "munlockall", SECCOMP_ENTRY_ALLOW, false },
	{ "mlock2", SECCOMP_ENTRY_ALLOW, false },
	{ "remap_file_pages", SECCOMP_ENTRY_ALLOW, false },
	{ "mbind", SECCOMP_ENTRY_ALLOW, false },
	{ "set_mempolicy", SECCOMP_ENTRY_ALLOW, false },
	{ "get_mempolicy", SECCOMP_ENTRY_ALLOW, false },
	{ "set_mempolicy_home_node", SECCOMP_ENTRY_ALLOW, false },
	{ "pkey_mprotect", SECCOMP_ENTRY_ALLOW, false },
	{ "pkey_alloc", SECCOMP_ENTRY_ALLOW, false },
	{ "pkey_free", SECCOMP_ENTRY_ALLOW, false },
	{ "membarrier", SECCOMP_ENTRY_ALLOW, false },
	{ "map_shadow_stack", SECCOMP_ENTRY_ALLOW, false },
	{ "migrate_pages", SECCOMP_ENTRY_ENOSYS, false },
	{ "move_pages", SECCOMP_ENTRY_ENOSYS, false },
	{ "process_madvise", SECCOMP_ENTRY_ENOSYS, false },
	{ "process_mrelease", SECCOMP_ENTRY_ENOSYS, false },
	{ "memfd_secret", SECCOMP_ENTRY_ENOSYS, false },
	{ "modify_ldt", SECCOMP_ENTRY_ENOSYS, false },
	{ "rt_sigaction", SECCOMP_ENTRY_ALLOW, false },
	{ "rt_sigprocmask", SECCOMP_ENTRY_ALLOW, false },
	{ "rt_sigreturn", SECCOMP_ENTRY_ALLOW, false },
	{ "rt_sigpending", SECCOMP_ENTRY_ALLOW, false },
	{ "rt_sigtimedwait", SECCOMP_ENTRY_ALLOW, false },
	{ "rt_sigqueueinfo", SECCOMP_ENTRY_ALLOW, false },
	{ "rt_sigsuspend", SECCOMP_ENTRY_ALLOW, false },
	{ "rt_tgsigqueueinfo", SECCOMP_ENTRY_ALLOW, false },
	{ "sigaltstack", SECCOMP_ENTRY_ALLOW, false },
	{ "pause", SECCOMP_ENTRY_ALLOW, false },
	{ "kill", SECCOMP_ENTRY_ALLOW, false },
	{ "tkill", SECCOMP_ENTRY_ALLOW, false },
	{ "tgkill", SECCOMP_ENTRY_ALLOW, false },
	{ "clone", SECCOMP_ENTRY_ARGS, true },
	{ "clone3", SECCOMP_ENTRY_ENOSYS, true },
	{ "fork", SECCOMP_ENTRY_ALLOW, false },
	{ "vfork", SECCOMP_ENTRY_ALLOW, false },
	{ "execve", SECCOMP_ENTRY_ALLOW, false },
	{ "execveat", SECCOMP_ENTRY_ALLOW, false },
	{ "exit", SECCOMP_ENTRY_ALLOW, false },
	{ "exit_group", SECCOMP_ENTRY_ALLOW, false },
	{ "wait4", SECCOMP_ENTRY_ALLOW, false },
	{ "waitid", SECCOMP_ENTRY_ALLOW, false },
	{ "getpid", SECCOMP_ENTRY_ALLOW, false },
	{ "getppid", SECCOMP_ENTRY_ALLOW, false },
	{ "gettid", SECCOMP_ENTRY_ALLOW, false },
	{ "getpgrp", SECCOMP_ENTRY_ALLOW, false },
	{ "getpgid", SECCOMP_ENTRY_ALLOW, false },
	{ "setpgid", SECCOMP_ENTRY_ALLOW, false },
	{ "getsid", SECCOMP_ENTRY_ALLOW, false },
	{ "setsid", SECCOMP_ENTRY_ALLOW, false },
	{ "set_tid_address", SECCOMP_ENTRY_ALLOW, false },
	{ "set_robust_list", SECCOMP_ENTRY_ALLOW, false },
	{ "get_robust_list", SECCOMP_ENTRY_ALLOW, false },
	{ "restart_syscall", SECCOMP_ENTRY_ALLOW, false },
	{ "futex", SECCOMP_ENTRY_ALLOW, false },
	{ "futex_waitv", SECCOMP_ENTRY_ALLOW, false },
	{ "futex_wake", SECCOMP_ENTRY_ALLOW, false },
	{ "futex_wait", SECCOMP_ENTRY_ALLOW, false },
	{ "futex_requeue", SECCOMP_ENTRY_ALLOW, false },
	{ "rseq", SECCOMP_ENTRY_ALLOW, false },
	{ "arch_prctl", SECCOMP_ENTRY_ALLOW, false },
	{ "prctl", SECCOMP_ENTRY_ALLOW, false },
	{ "seccomp", SECCOMP_ENTRY_ALLOW, false },
	{ "pidfd_open", SECCOMP_ENTRY_ALLOW, false },
	{ "pidfd_send_signal", SECCOMP_ENTRY_ALLOW, false },
	{ "sched_yield", SECCOMP_ENTRY_ALLOW, false },
	{ "sched_setparam", SECCOMP_ENTRY_ALLOW, false },
	{ "sched_getparam", SECCOMP_ENTRY_ALLOW, false },
	{ "sched_setscheduler", SECCOMP_ENTRY_ALLOW, false },
	{ "sched_getscheduler", SECCOMP_ENTRY_ALLOW, false },
	{ "sched_get_priority_max", SECCOMP_ENTRY_ALLOW, false },
	{ "sched_get_priority_min", SECCOMP_ENTRY_ALLOW, false },
	{ "sched_rr_get_interval", SECCOMP_ENTRY_ALLOW, false },
	{ "sched_setaffinity", SECCOMP_ENTRY_ALLOW, false },
	{ "sched_getaffinity", SECCOMP_ENTRY_ALLOW, false },
	{ "sched_setattr", SECCOMP_ENTRY_ALLOW, false },
	{ "sched_getattr", SECCOMP_ENTRY_ALLOW, false },
	{ "getpriority", SECCOMP_ENTRY_ALLOW, false },
	{ "setpriority", SECCOMP_ENTRY_ALLOW, false },
	{ "ioprio_set", SECCOMP_ENTRY_ALLOW, false },
	{ "ioprio_get", SECCOMP_ENTRY_ALLOW, false },
	{ "getcpu", SECCOMP_ENTRY_ALLOW, false },
	{ "personality", SECCOMP_ENTRY_ARGS, true },
	{ "set_thread_area", SECCOMP_ENTRY_ENOSYS, false },
	{ "get_thread_area", SECCOMP_ENTRY_ENOSYS, false },
	{ "getuid", SECCOMP_ENTRY_ALLOW, false },
	{ "getgid", SECCOMP_ENTRY_ALLOW, false },
	{ "geteuid", SECCOMP_ENTRY_ALLOW, false },
	{ "getegid", SECCOMP_ENTRY_ALLOW, false },
	{ "setuid", SECCOMP_ENTRY_ALLOW, false },
	{ "setgid", SECCOMP_ENTRY_ALLOW, false },
	{ "setreuid", SECCOMP_ENTRY_ALLOW, false },
	{ "setregid", SECCOMP_ENTRY_ALLOW, false },
	{ "setresuid", SECCOMP_ENTRY_ALLOW, false },
	{ "getresuid", SECCOMP_ENTRY_ALLOW, false },
	{ "setresgid", SECCOMP_ENTRY_ALLOW, false },
	{ "getresgid", SECCOMP_ENTRY_ALLOW, false },
	{ "setfsuid", SECCOMP_ENTRY_ALLOW, false },
	{ "setfsgid", SECCOMP_ENTRY_ALLOW, false },
	{ "getgroups", SECCOMP_ENTRY_ALLOW, false },
	{ "setgroups", SECCOMP_ENTRY_ALLOW, false },
	{ "capget", SECCOMP_ENTRY_ALLOW, false },
	{ "capset", SECCOMP_ENTRY_ALLOW, false },
	{ "getrlimit", SECCOMP_ENTRY_ALLOW, false },
	{ "setrlimit", SECCOMP_ENTRY_ALLOW, false },
	{ "prlimit64", SECCOMP_ENTRY_ALLOW, false },
	{ "getrusage", SECCOMP_ENTRY_ALLOW, false },
	{ "times", SECCOMP_ENTRY_ALLOW, false },
	{ "sysinfo", SECCOMP_ENTRY_ALLOW, false },
	{ "uname", SECCOMP_ENTRY_ALLOW, false },
	{ "getrandom", SECCOMP_ENTRY_ALLOW, false },
	{ "nanosleep", SECCOMP_ENTRY_ALLOW, false },
	{ "getitimer", SECCOMP_ENTRY_ALLOW, false },
	{ "alarm", SECCOMP_ENTRY_ALLOW, false },
	{ "setitimer", SECCOMP_ENTRY_ALLOW, false },
	{ "gettimeofday", SECCOMP_ENTRY_ALLOW, false },
	{ "time", SECCOMP_ENTRY_ALLOW, false },
	{ "clock_gettime", SECCOMP_ENTRY_ALLOW, false },
	{ "clock_getres", SECCOMP_ENTRY_ALLOW, false },
	{ "clock_nanosleep", SECCOMP_ENTRY_ALLOW, false },
	{ "timer_create", SECCOMP_ENTRY_ALLOW, false },
	{ "timer_settime", SECCOMP_ENTRY_ALLOW, false },
	{ "timer_gettime", SECCOMP_ENTRY_ALLOW, false },
	{ "timer_getoverrun", SECCOMP_ENTRY_ALLOW, false },
	{ "timer_delete", SECCOMP_ENTRY_ALLOW, false },
	{ "settimeofday", SECCOMP_ENTRY_DENY, false },
	{ "clock_settime", SECCOMP_ENTRY_DENY, false },
	{ "adjtimex", SECCOMP_ENTRY_DENY, false },
	{ "clock_adjtime", SECCOMP_ENTRY_DENY, false },
	{ "shmget", SECCOMP_ENTRY_ALLOW, false },
	{ "shmat", SECCOMP_ENTRY_ALLOW, false },
	{ "shmctl", SECCOMP_ENTRY_ALLOW, false },
	{ "shmdt", SECCOMP_ENTRY_ALLOW, false },
	{ "semget", SECCOMP_ENTRY_ALLOW, false },
	{ "semop", SECCOMP_ENTRY_ALLOW, false },
	{ "semctl", SECCOMP_ENTRY_ALLOW, false },
	{ "semtimedop", SECCOMP_ENTRY_ALLOW, false },
	{ "msgget", SECCOMP_ENTRY_ALLOW, false },
	{ "msgsnd", SECCOMP_ENTRY_ALLOW, false },
	{ "msgrcv", SECCOMP_ENTRY_ALLOW, false },
	{ "msgctl", SECCOMP_ENTRY_ALLOW, false },
	{ "mq_open", SECCOMP_ENTRY_ALLOW, false },
	{ "mq_unlink", SECCOMP_ENTRY_ALLOW, false },
	{ "mq_timedsend", SECCOMP_ENTRY_ALLOW, false },
	{ "mq_timedreceive", SECCOMP_ENTRY_ALLOW, false },
	{ "mq_notify", SECCOMP_ENTRY_ALLOW, false },
	{ "mq_getsetattr", SECCOMP_ENTRY_ALLOW, false },
	{ "socket", SECCOMP_ENTRY_ARGS, true },
	{ "socketpair", SECCOMP_ENTRY_ARGS, true },
	{ "connect", SECCOMP_ENTRY_ALLOW, false },
	{ "accept", SECCOMP_ENTRY_ALLOW, false },
	{ "accept4", SECCOMP_ENTRY_ALLOW, false },
	{ "sendto", SECCOMP_ENTRY_ALLOW, false },
	{ "recvfrom", SECCOMP_ENTRY_ALLOW, false },
	{ "sendmsg", SECCOMP_ENTRY_ALLOW, false },
	{ "recvmsg", SECCOMP_ENTRY_ALLOW, false },
	{ "sendmmsg", SECCOMP_ENTRY_ALLOW, false },
	{ "recvmmsg", SECCOMP_ENTRY_ALLOW, false },
	{ "shutdown", SECCOMP_ENTRY_ALLOW, false },
	{ "bind", SECCOMP_ENTRY_ALLOW, false },
	{ "listen", SECCOMP_ENTRY_ALLOW, false },
	{ "getsockname", SECCOMP_ENTRY_ALLOW, false },
	{ "getpeername", SECCOMP_ENTRY_ALLOW, false },
	{ "setsockopt", SECCOMP_ENTRY_ALLOW, false },
	{ "getsockopt", SECCOMP_ENTRY_ALLOW, false },
	{ "setns", SECCOMP_ENTRY_DENY, true },
	{ "unshare", SECCOMP_ENTRY_DENY, true },
	{ "mount", SECCOMP_ENTRY_DENY, false },
	{ "umount2", SECCOMP_ENTRY_DENY, false },
	{ "pivot_root", SECCOMP_ENTRY_DENY, false },
	{ "chroot", SECCOMP_ENTRY_DENY, false },
	{ "open_tree", SECCOMP_ENTRY_DENY, false },
	{ "move_mount", SECCOMP_ENTRY_DENY, false },
	{ "fsopen", SECCOMP_ENTRY_DENY, false },
	{ "fsconfig", SECCOMP_ENTRY_DENY, false },
	{ "fsmount", SECCOMP_ENTRY_DENY, false },
	{ "fspick", SECCOMP_ENTRY_DENY, false },
	{ "mount_setattr", SECCOMP_ENTRY_DENY, false },
	{ "ptrace", SECCOMP_ENTRY_DENY, false },
	{ "process_vm_readv", SECCOMP_ENTRY_DENY, false },
	{ "process_vm_writev", SECCOMP_ENTRY_DENY, false },
	{ "pidfd_getfd", SECCOMP_ENTRY_DENY, false },
	{ "kcmp", SECCOMP_ENTRY_DENY, false },
	{ "bpf", SECCOMP_ENTRY_DENY, false },
	{ "userfaultfd", SECCOMP_ENTRY_DENY, false },
	{ "io_uring_setup", SECCOMP_ENTRY_DENY, false },
	{ "io_uring_enter", SECCOMP_ENTRY_DENY, false },
	{ "io_uring_register", SECCOMP_ENTRY_DENY, false },
	{ "perf_event_open", SECCOMP_ENTRY_DENY, false },
	{ "fanotify_init", SECCOMP_ENTRY_DENY, false },
	{ "add_key", SECCOMP_ENTRY_DENY, false },
	{ "request_key", SECCOMP_ENTRY_DENY, false },
	{ "keyctl", SECCOMP_ENTRY_DENY, false },
	{ "name_to_handle_at", SECCOMP_ENTRY_DENY, false },
	{ "open_by_handle_at", SECCOMP_ENTRY_DENY, false },
	{ "uselib", SECCOMP_ENTRY_DENY, false },
	{ "lookup_dcookie", SECCOMP_ENTRY_DENY, false },
	{ "nfsservctl", SECCOMP_ENTRY_DENY, false },
	{ "_sysctl", SECCOMP_ENTRY_DENY, false },
	{ "kexec_load", SECCOMP_ENTRY_DENY, false },
	{ "kexec_file_load", SECCOMP_ENTRY_DENY, false },
	{ "init_module", SECCOMP_ENTRY_DENY, false },
	{ "finit_module", SECCOMP_ENTRY_DENY, false },
	{ "delete_module", SECCOMP_ENTRY_DENY, false },
	{ "reboot", SECCOMP_ENTRY_DENY, false },
	{ "swapon", SECCOMP_ENTRY_DENY, false },
	{ "swapoff", SECCOMP_ENTRY_DENY, false },
	{ "syslog", SECCOMP_ENTRY_DENY, false },
	{ "acct", SECCOMP_ENTRY_DENY, false },
	{ "quotactl", SECCOMP_ENTRY_DENY, false },
	{ "quotactl_fd", SECCOMP_ENTRY_DENY, false },
	{ "iopl", SECCOMP_ENTRY_DENY, false },
	{ "ioperm", SECCOMP_ENTRY_DENY, false },
	{ "sethostname", SECCOMP_ENTRY_DENY, false },
	{ "setdomainname", SECCOMP_ENTRY_DENY, false },
	{ "vhangup", SECCOMP_ENTRY_ENOSYS, false },
	{ "create_module", SECCOMP_ENTRY_ENOSYS, false },
	{ "get_kernel_syms", SECCOMP_ENTRY_ENOSYS, false },
	{ "query_module", SECCOMP_ENTRY_ENOSYS, false },
	{ "getpmsg", SECCOMP_ENTRY_ENOSYS, false },
	{ "putpmsg", SECCOMP_ENTRY_ENOSYS, false },
	{ "afs_syscall", SECCOMP_ENTRY_ENOSYS, false },
	{ "tuxcall", SECCOMP_ENTRY_ENOSYS, false },
	{ "security", SECCOMP_ENTRY_ENOSYS, false },
	{ "vserver", SECCOMP_ENTRY_ENOSYS, false },
	{ "epoll_ctl_old", SECCOMP_ENTRY_ENOSYS, false },
	{ "epoll_wait_old", SECCOMP_ENTRY_ENOSYS, false },
};
/* The same, as text: part of the cache key (one line per entry: name action [fixed]). */
static const char seccomp_table_text[] =
	"read allow\n"
	"write allow\n"
	"open allow\n"
	"close allow\n"
	"stat allow\n"
	"fstat allow\n"
	"lstat allow\n"
	"poll allow\n"
	"lseek allow\n"
	"ioctl args fixed\n"
	"pread64 allow\n"
	"pwrite64 allow\n"
	"readv allow\n"
	"writev allow\n"
	"access allow\n"
	"pipe allow\n"
	"select allow\n"
	"dup allow\n"
	"dup2 allow\n"
	"sendfile allow\n"
	"fcntl allow\n"
	"flock allow\n"
	"fsync allow\n"
	"fdatasync allow\n"
	"truncate allow\n"
	"ftruncate allow\n"
	"getdents allow\n"
	"getcwd allow\n"
	"chdir allow\n"
	"fchdir allow\n"
	"rename allow\n"
	"mkdir allow\n"
	"rmdir allow\n"
	"creat allow\n"
	"link allow\n"
	"unlink allow\n"
	"symlink allow\n"
	"readlink allow\n"
	"chmod allow\n"
	"fchmod allow\n"
	"chown allow\n"
	"fchown allow\n"
	"lchown allow\n"
	"umask allow\n"
	"mknod args fixed\n"
	"statfs allow\n"
	"fstatfs allow\n"
	"sync allow\n"
	"readahead allow\n"
	"setxattr allow\n"
	"lsetxattr allow\n"
	"fsetxattr allow\n"
	"getxattr allow\n"
	"lgetxattr allow\n"
	"fgetxattr allow\n"
	"listxattr allow\n"
	"llistxattr allow\n"
	"flistxattr allow\n"
	"removexattr allow\n"
	"lremovexattr allow\n"
	"fremovexattr allow\n"
	"getdents64 allow\n"
	"fadvise64 allow\n"
	"utime allow\n"
	"utimes allow\n"
	"openat allow\n"
	"mkdirat allow\n"
	"mknodat args fixed\n"
	"fchownat allow\n"
	"futimesat allow\n"
	"newfstatat allow\n"
	"unlinkat allow\n"
	"renameat allow\n"
	"linkat allow\n"
	"symlinkat allow\n"
	"readlinkat allow\n"
	"fchmodat allow\n"
	"faccessat allow\n"
	"pselect6 allow\n"
	"ppoll allow\n"
	"splice allow\n"
	"tee allow\n"
	"sync_file_range allow\n"
	"vmsplice allow\n"
	"utimensat allow\n"
	"fallocate allow\n"
	"dup3 allow\n"
	"pipe2 allow\n"
	"preadv allow\n"
	"pwritev allow\n"
	"syncfs allow\n"
	"renameat2 allow\n"
	"copy_file_range allow\n"
	"preadv2 allow\n"
	"pwritev2 allow\n"
	"statx allow\n"
	"close_range allow\n"
	"openat2 allow\n"
	"faccessat2 allow\n"
	"fchmodat2 allow\n"
	"memfd_create allow\n"
	"inotify_init allow\n"
	"inotify_add_watch allow\n"
	"inotify_rm_watch allow\n"
	"inotify_init1 allow\n"
	"epoll_create allow\n"
	"epoll_wait allow\n"
	"epoll_ctl allow\n"
	"epoll_pwait allow\n"
	"epoll_create1 allow\n"
	"epoll_pwait2 allow\n"
	"eventfd allow\n"
	"eventfd2 allow\n"
	"signalfd allow\n"
	"signalfd4 allow\n"
	"timerfd_create allow\n"
	"timerfd_settime allow\n"
	"timerfd_gettime allow\n"
	"io_setup allow\n"
	"io_destroy allow\n"
	"io_getevents allow\n"
	"io_submit allow\n"
	"io_cancel allow\n"
	"io_pgetevents allow\n"
	"landlock_create_ruleset allow\n"
	"landlock_add_rule allow\n"
	"landlock_restrict_self allow\n"
	"ustat enosys\n"
	"sysfs enosys\n"
	"fanotify_mark enosys\n"
	"cachestat enosys\n"
	"mmap allow\n"
	"mprotect allow\n"
	"munmap allow\n"
	"brk allow\n"
	"mremap allow\n"
	"msync allow\n"
	"mincore allow\n"
	"madvise allow\n"
	"mlock allow\n"
	"munlock allow\n"
	"mlockall allow\n"
	"munlockall allow\n"
	"mlock2 allow\n"
	"remap_file_pages allow\n"
	"mbind allow\n"
	"set_mempolicy allow\n"
	"get_mempolicy allow\n"
	"set_mempolicy_home_node allow\n"
	"pkey_mprotect allow\n"
	"pkey_alloc allow\n"
	"pkey_free allow\n"
	"membarrier allow\n"
	"map_shadow_stack allow\n"
	"migrate_pages enosys\n"
	"move_pages enosys\n"
	"process_madvise enosys\n"
	"process_mrelease enosys\n"
	"memfd_secret enosys\n"
	"modify_ldt enosys\n"
	"rt_sigaction allow\n"
	"rt_sigprocmask allow\n"
	"rt_sigreturn allow\n"
	"rt_sigpending allow\n"
	"rt_sigtimedwait allow\n"
	"rt_sigqueueinfo allow\n"
	"rt_sigsuspend allow\n"
	"rt_tgsigqueueinfo allow\n"
	"sigaltstack allow\n"
	"pause allow\n"
	"kill allow\n"
	"tkill allow\n"
	"tgkill allow\n"
	"clone args fixed\n"
	"clone3 enosys fixed\n"
	"fork allow\n"
	"vfork allow\n"
	"execve allow\n"
	"execveat allow\n"
	"exit allow\n"
	"exit_group allow\n"
	"wait4 allow\n"
	"waitid allow\n"
	"getpid allow\n"
	"getppid allow\n"
	"gettid allow\n"
	"getpgrp allow\n"
	"getpgid allow\n"
	"setpgid allow\n"
	"getsid allow\n"
	"setsid allow\n"
	"set_tid_address allow\n"
	"set_robust_list allow\n"
	"get_robust_list allow\n"
	"restart_syscall allow\n"
	"futex allow\n"
	"futex_waitv allow\n"
	"futex_wake allow\n"
	"futex_wait allow\n"
	"futex_requeue allow\n"
	"rseq allow\n"
	"arch_prctl allow\n"
	"prctl allow\n"
	"seccomp allow\n"
	"pidfd_open allow\n"
	"pidfd_send_signal allow\n"
	"sched_yield allow\n"
	"sched_setparam allow\n"
	"sched_getparam allow\n"
	"sched_setscheduler allow\n"
	"sched_getscheduler allow\n"
	"sched_get_priority_max allow\n"
	"sched_get_priority_min allow\n"
	"sched_rr_get_interval allow\n"
	"sched_setaffinity allow\n"
	"sched_getaffinity allow\n"
	"sched_setattr allow\n"
	"sched_getattr allow\n"
	"getpriority allow\n"
	"setpriority allow\n"
	"ioprio_set allow\n"
	"ioprio_get allow\n"
	"getcpu allow\n"
	"personality args fixed\n"
	"set_thread_area enosys\n"
	"get_thread_area enosys\n"
	"getuid allow\n"
	"getgid allow\n"
	"geteuid allow\n"
	"getegid allow\n"
	"setuid allow\n"
	"setgid allow\n"
	"setreuid allow\n"
	"setregid allow\n"
	"setresuid allow\n"
	"getresuid allow\n"
	"setresgid allow\n"
	"getresgid allow\n"
	"setfsuid allow\n"
	"setfsgid allow\n"
	"getgroups allow\n"
	"setgroups allow\n"
	"capget allow\n"
	"capset allow\n"
	"getrlimit allow\n"
	"setrlimit allow\n"
	"prlimit64 allow\n"
	"getrusage allow\n"
	"times allow\n"
	"sysinfo allow\n"
	"uname allow\n"
	"getrandom allow\n"
	"nanosleep allow\n"
	"getitimer allow\n"
	"alarm allow\n"
	"setitimer allow\n"
	"gettimeofday allow\n"
	"time allow\n"
	"clock_gettime allow\n"
	"clock_getres allow\n"
	"clock_nanosleep allow\n"
	"timer_create allow\n"
	"timer_settime allow\n"
	"timer_gettime allow\n"
	"timer_getoverrun allow\n"
	"timer_delete allow\n"
	"settimeofday deny-eperm\n"
	"clock_settime deny-eperm\n"
	"adjtimex deny-eperm\n"
	"clock_adjtime deny-eperm\n"
	"shmget allow\n"
	"shmat allow\n"
	"shmctl allow\n"
	"shmdt allow\n"
	"semget allow\n"
	"semop allow\n"
	"semctl allow\n"
	"semtimedop allow\n"
	"msgget allow\n"
	"msgsnd allow\n"
	"msgrcv allow\n"
	"msgctl allow\n"
	"mq_open allow\n"
	"mq_unlink allow\n"
	"mq_timedsend allow\n"
	"mq_timedreceive allow\n"
	"mq_notify allow\n"
	"mq_getsetattr allow\n"
	"socket args fixed\n"
	"socketpair args fixed\n"
	"connect allow\n"
	"accept allow\n"
	"accept4 allow\n"
	"sendto allow\n"
	"recvfrom allow\n"
	"sendmsg allow\n"
	"recvmsg allow\n"
	"sendmmsg allow\n"
	"recvmmsg allow\n"
	"shutdown allow\n"
	"bind allow\n"
	"listen allow\n"
	"getsockname allow\n"
	"getpeername allow\n"
	"setsockopt allow\n"
	"getsockopt allow\n"
	"setns deny-eperm fixed\n"
	"unshare deny-eperm fixed\n"
	"mount deny-eperm\n"
	"umount2 deny-eperm\n"
	"pivot_root deny-eperm\n"
	"chroot deny-eperm\n"
	"open_tree deny-eperm\n"
	"move_mount deny-eperm\n"
	"fsopen deny-eperm\n"
	"fsconfig deny-eperm\n"
	"fsmount deny-eperm\n"
	"fspick deny-eperm\n"
	"mount_setattr deny-eperm\n"
	"ptrace deny-eperm\n"
	"process_vm_readv deny-eperm\n"
	"process_vm_writev deny-eperm\n"
	"pidfd_getfd deny-eperm\n"
	"kcmp deny-eperm\n"
	"bpf deny-eperm\n"
	"userfaultfd deny-eperm\n"
	"io_uring_setup deny-eperm\n"
	"io_uring_enter deny-eperm\n"
	"io_uring_register deny-eperm\n"
	"perf_event_open deny-eperm\n"
	"fanotify_init deny-eperm\n"
	"add_key deny-eperm\n"
	"request_key deny-eperm\n"
	"keyctl deny-eperm\n"
	"name_to_handle_at deny-eperm\n"
	"open_by_handle_at deny-eperm\n"
	"uselib deny-eperm\n"
	"lookup_dcookie deny-eperm\n"
	"nfsservctl deny-eperm\n"
	"_sysctl deny-eperm\n"
	"kexec_load deny-eperm\n"
	"kexec_file_load deny-eperm\n"
	"init_module deny-eperm\n"
	"finit_module deny-eperm\n"
	"delete_module deny-eperm\n"
	"reboot deny-eperm\n"
	"swapon deny-eperm\n"
	"swapoff deny-eperm\n"
	"syslog deny-eperm\n"
	"acct deny-eperm\n"
	"quotactl deny-eperm\n"
	"quotactl_fd deny-eperm\n"
	"iopl deny-eperm\n"
	"ioperm deny-eperm\n"
	"sethostname deny-eperm\n"
	"setdomainname deny-eperm\n"
	"vhangup enosys\n"
	"create_module enosys\n"
	"get_kernel_syms enosys\n"
	"query_module enosys\n"
	"getpmsg enosys\n"
	"putpmsg enosys\n"
	"afs_syscall enosys\n"
	"tuxcall enosys\n"
	"security enosys\n"
	"vserver enosys\n"
	"epoll_ctl_old enosys\n"
	"epoll_wait_old enosys\n";
#define SECCOMP_SOURCE_ID "79741c4445cd0a15"
