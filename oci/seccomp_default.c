/* The RuntimeDefault profile, from the tables below: what the peers'
 * defaults (Docker's, containerd's) allow, in crib's own layout. */
#include "oci/seccomp.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "oci/internal.h"

/* The name tables read best packed, so clang-format leaves them alone. */
/* clang-format off */

/* Allowed to every container, by topic. Left out on purpose, as in the
 * peers' defaults: whatever reaches the host kernel's global state (mount,
 * modules, clock, reboot, swap, keyrings, kexec, userfaultfd, ...). */
static const char *const files_syscalls[] = {
    "access", "chdir", "chmod", "chown", "chown32", "close", "close_range", "copy_file_range",
    "creat", "dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
    "fallocate", "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl",
    "fcntl64", "fdatasync", "flock", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64",
    "fsync", "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents", "getdents64",
    "lchown", "lchown32", "link", "linkat", "_llseek", "lseek", "lstat", "lstat64", "mkdir",
    "mkdirat", "mknod", "mknodat", "name_to_handle_at", "newfstatat", "open", "openat",
    "openat2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read",
    "readahead", "readlink", "readlinkat", "readv", "rename", "renameat", "renameat2", "rmdir",
    "sendfile", "sendfile64", "splice", "stat", "stat64", "statfs", "statfs64", "statx",
    "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "tee", "truncate",
    "truncate64", "umask", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64",
    "utimes", "vmsplice", "write", "writev", NULL,
};

static const char *const xattr_syscalls[] = {
    "fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "lgetxattr",
    "listxattr", "llistxattr", "lremovexattr", "lsetxattr", "removexattr", "setxattr", NULL,
};

static const char *const event_syscalls[] = {
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
    "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "fanotify_mark",
    "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel",
    "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_setup",
    "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "ioctl",
    "ioprio_get", "ioprio_set", "poll", "ppoll", "ppoll_time64", "pselect6",
    "pselect6_time64", "select", "_newselect", "signalfd", "signalfd4", "timerfd_create",
    "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", NULL,
};

static const char *const memory_syscalls[] = {
    "brk", "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore", "mlock",
    "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mremap", "msync", "munlock",
    "munlockall", "munmap", "pkey_alloc", "pkey_free", "pkey_mprotect", "remap_file_pages",
    NULL,
};

static const char *const process_syscalls[] = {
    "capget", "capset", "execve", "execveat", "exit", "exit_group", "fork", "futex",
    "futex_time64", "futex_waitv", "get_robust_list", "get_thread_area", "getcpu", "getpgid",
    "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getrlimit", "getrusage",
    "getsid", "gettid", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self",
    "pidfd_open", "pidfd_send_signal", "prctl", "prlimit64", "process_mrelease",
    "restart_syscall", "rseq", "sched_get_priority_max", "sched_get_priority_min",
    "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
    "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp",
    "set_robust_list", "set_thread_area", "set_tid_address", "setpgid", "setpriority",
    "setrlimit", "setsid", "sysinfo", "ugetrlimit", "uname", "vfork", "wait4", "waitid",
    "waitpid", NULL,
};

static const char *const credential_syscalls[] = {
    "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
    "getgroups32", "getresgid", "getresgid32", "getresuid", "getresuid32", "getuid",
    "getuid32", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
    "setgroups", "setgroups32", "setregid", "setregid32", "setresgid", "setresgid32",
    "setresuid", "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32", NULL,
};

static const char *const signal_syscalls[] = {
    "kill", "pause", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo", "sigaltstack", "sigprocmask", "sigreturn", "tgkill", "tkill", NULL,
};

/* adjtimex and clock_adjtime read the clock; setting it needs CAP_SYS_TIME,
 * which the kernel checks itself. */
static const char *const time_syscalls[] = {
    "adjtimex", "alarm", "clock_adjtime", "clock_adjtime64", "clock_getres",
    "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "getitimer", "gettimeofday", "nanosleep", "setitimer", "time",
    "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
    "timer_settime", "timer_settime64", "times", NULL,
};

/* socket itself is in special_rules below. */
static const char *const network_syscalls[] = {
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt",
    "listen", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send",
    "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown", "socketcall", "socketpair",
    NULL,
};

static const char *const ipc_syscalls[] = {
    "ipc", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
    "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "msgctl",
    "msgget", "msgrcv", "msgsnd", "pipe", "pipe2", "semctl", "semget", "semop", "semtimedop",
    "semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget", NULL,
};

/* Only this machine's architecture gets its own syscalls. */
#if defined(__x86_64__)
static const char *const arch_syscalls[] = {"arch_prctl", "modify_ldt", NULL};
static const char *const default_arches[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
                                             "SCMP_ARCH_X32", NULL};
#elif defined(__aarch64__)
static const char *const arch_syscalls[] = {
    "arm_fadvise64_64", "arm_sync_file_range", "breakpoint", "cacheflush", "set_tls",
    "sync_file_range2", NULL,
};
static const char *const default_arches[] = {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", NULL};
#else
/* Elsewhere runc filters for the native arch alone. */
static const char *const arch_syscalls[] = {NULL};
static const char *const default_arches[] = {NULL};
#endif

static const char *const *const base_groups[] = {
    files_syscalls, xattr_syscalls, event_syscalls, memory_syscalls, process_syscalls,
    credential_syscalls, signal_syscalls, time_syscalls, network_syscalls, ipc_syscalls,
    arch_syscalls,
};

static const char *const admin_syscalls[] = {
    "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
    "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open",
    "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount",
    "umount2", "unshare", NULL,
};
static const char *const ptrace_syscalls[] = {
    "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace",
    NULL,
};
/* Before 4.8 a ptraced process could skip its seccomp filter, so tracing is
 * open to all only on newer kernels (as in Docker's default). */
static const char *const trace_syscalls[] = {"process_vm_readv", "process_vm_writev", "ptrace",
                                             NULL};
static const char *const module_syscalls[] = {"delete_module", "finit_module", "init_module",
                                              NULL};
static const char *const settime_syscalls[] = {"clock_settime", "clock_settime64",
                                               "settimeofday", "stime", NULL};
static const char *const numa_syscalls[] = {"get_mempolicy", "mbind", "set_mempolicy",
                                            "set_mempolicy_home_node", NULL};

/* clang-format on */

/* Syscalls that a capability makes safe to allow: the kernel checks the
 * capability too, the filter only keeps the rest of the attack surface shut. */
static const struct gated_group {
    const char *cap; /* NULL: no capability needed */
    unsigned min_kernel_major, min_kernel_minor;
    const char *const *names;
} gated_groups[] = {
    {"CAP_SYS_ADMIN", 0, 0, admin_syscalls},
    {"CAP_SYS_PTRACE", 0, 0, ptrace_syscalls},
    {NULL, 4, 8, trace_syscalls},
    {"CAP_SYS_MODULE", 0, 0, module_syscalls},
    {"CAP_SYS_TIME", 0, 0, settime_syscalls},
    {"CAP_SYS_NICE", 0, 0, numa_syscalls},
    {"CAP_DAC_READ_SEARCH", 0, 0, (const char *const[]){"open_by_handle_at", NULL}},
    {"CAP_SYS_BOOT", 0, 0, (const char *const[]){"reboot", NULL}},
    {"CAP_SYS_CHROOT", 0, 0, (const char *const[]){"chroot", NULL}},
    {"CAP_SYS_PACCT", 0, 0, (const char *const[]){"acct", NULL}},
    {"CAP_SYS_RAWIO", 0, 0, (const char *const[]){"ioperm", "iopl", NULL}},
    {"CAP_SYS_TTY_CONFIG", 0, 0, (const char *const[]){"vhangup", NULL}},
    {"CAP_SYSLOG", 0, 0, (const char *const[]){"syslog", NULL}},
    {"CAP_BPF", 0, 0, (const char *const[]){"bpf", NULL}},
    {"CAP_PERFMON", 0, 0, (const char *const[]){"perf_event_open", NULL}},
};

/* s390 passes clone's flags second (its clone takes the stack first). */
#if defined(__s390x__) || defined(__s390__)
#define CLONE_FLAGS_ARG 1
#else
#define CLONE_FLAGS_ARG 0
#endif
#define CLONE_NS_FLAGS                                                                             \
    (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |     \
     CLONE_NEWCGROUP)

/* Rules for one syscall with one argument check, or another action. */
static const struct special_rule {
    const char *name;
    const char *unless_cap; /* the rule is left out when the container has it */
    const char *action;
    int errno_ret; /* -1: none */
    int index;     /* -1: no argument check */
    uint64_t value;
    const char *op;
} special_rules[] = {
    /* vsock reaches the host (or hypervisor) past the pod's network. */
    {"socket", NULL, SECCOMP_ACT_ALLOW, -1, 0, AF_VSOCK, "SCMP_CMP_NE"},
    /* The personalities programs ask for; others open old kernel paths. */
    {"personality", NULL, SECCOMP_ACT_ALLOW, -1, 0, PER_LINUX, "SCMP_CMP_EQ"},
    {"personality", NULL, SECCOMP_ACT_ALLOW, -1, 0, PER_LINUX32, "SCMP_CMP_EQ"},
    {"personality", NULL, SECCOMP_ACT_ALLOW, -1, 0, UNAME26, "SCMP_CMP_EQ"},
    {"personality", NULL, SECCOMP_ACT_ALLOW, -1, 0, UNAME26 | PER_LINUX32, "SCMP_CMP_EQ"},
    {"personality", NULL, SECCOMP_ACT_ALLOW, -1, 0, 0xffffffff, "SCMP_CMP_EQ"}, /* query only */
    /* Threads and processes, but no new namespaces without CAP_SYS_ADMIN. */
    {"clone", "CAP_SYS_ADMIN", SECCOMP_ACT_ALLOW, -1, CLONE_FLAGS_ARG, CLONE_NS_FLAGS,
     "SCMP_CMP_MASKED_EQ"},
    /* clone3 passes its flags in memory a filter cannot read: ENOSYS makes
     * glibc fall back to clone, which the rule above checks. */
    {"clone3", "CAP_SYS_ADMIN", SECCOMP_ACT_ERRNO, ENOSYS, -1, 0, NULL},
};

/* Whether libseccomp knows name on this machine: runc resolves names for the
 * native arch, and a name it cannot resolve would only be noise. */
static bool native_knows(const char *name)
{
    return seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR;
}

static void add_names(struct json_object *names, const char *const *list)
{
    for (; *list; list++)
        if (native_knows(*list) && !seccomp_json_names_have(names, *list))
            json_object_array_add(names, json_object_new_string(*list));
}

static struct json_object *allowed_names(const char *const *caps, size_t n_caps)
{
    struct json_object *names = json_object_new_array();

    for (size_t i = 0; i < ARRAY_SIZE(base_groups); i++)
        add_names(names, base_groups[i]);
    for (size_t i = 0; i < ARRAY_SIZE(gated_groups); i++) {
        const struct gated_group *g = &gated_groups[i];

        if (g->cap && !seccomp_caps_have(caps, n_caps, g->cap))
            continue;
        if (g->min_kernel_major &&
            !seccomp_kernel_at_least(g->min_kernel_major, g->min_kernel_minor))
            continue;
        add_names(names, g->names);
    }
    return names;
}

static void add_special_rules(struct json_object *syscalls, const char *const *caps, size_t n_caps)
{
    for (size_t i = 0; i < ARRAY_SIZE(special_rules); i++) {
        const struct special_rule *s = &special_rules[i];
        struct json_object *names, *args = NULL;

        if (!native_knows(s->name) ||
            (s->unless_cap && seccomp_caps_have(caps, n_caps, s->unless_cap)))
            continue;
        names = json_object_new_array();
        json_object_array_add(names, json_object_new_string(s->name));
        if (s->index >= 0) {
            args = json_object_new_array();
            json_object_array_add(args, seccomp_json_arg_new(s->index, s->value, 0, s->op));
        }
        seccomp_json_rule_add(syscalls, names, s->action, s->errno_ret, args);
    }
}

struct json_object *seccomp_default_profile(const char *const *caps, size_t n_caps)
{
    struct json_object *profile = json_object_new_object();
    struct json_object *arch_list = json_object_new_array();
    struct json_object *syscalls = json_object_new_array();

    json_object_object_add(profile, "defaultAction", json_object_new_string(SECCOMP_ACT_ERRNO));
    json_object_object_add(profile, "defaultErrnoRet", json_object_new_int(EPERM));
    for (const char *const *a = default_arches; *a; a++)
        json_object_array_add(arch_list, json_object_new_string(*a));
    if (json_object_array_length(arch_list) > 0)
        json_object_object_add(profile, "architectures", arch_list);
    else
        json_object_put(arch_list);
    seccomp_json_rule_add(syscalls, allowed_names(caps, n_caps), SECCOMP_ACT_ALLOW, -1, NULL);
    add_special_rules(syscalls, caps, n_caps);
    json_object_object_add(profile, "syscalls", syscalls);
    return profile;
}
