#include "sandbox/sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "sandbox/ns.h"

/* The prefixes of namespaced sysctls (the kernel's ipc_sysctls, uts_kern_table
 * and every per-netns table). */
static const struct {
    const char *prefix;
    unsigned kind;
} namespaced[] = {
    {"kernel.shm", NS_IPC}, {"kernel.msg", NS_IPC},      {"kernel.sem", NS_IPC},
    {"fs.mqueue.", NS_IPC}, {"kernel.hostname", NS_UTS}, {"kernel.domainname", NS_UTS},
    {"net.", NS_NET},
};

/* "net/ipv4/conf/eth0.100/forwarding" and "net.ipv4.ip_forward" alike:
 * the dotted form, for matching. */
static void dotted(const char *name, char *out, size_t size)
{
    bool slashes = strchr(name, '/') != NULL;

    snprintf(out, size, "%s", name);
    for (char *p = out; slashes && *p; p++)
        if (*p == '/')
            *p = '.';
}

unsigned sysctl_namespace(const char *name)
{
    char d[SYSCTL_NAME_MAX + 1];

    dotted(name, d, sizeof(d));
    for (size_t i = 0; i < ARRAY_SIZE(namespaced); i++)
        if (strncmp(d, namespaced[i].prefix, strlen(namespaced[i].prefix)) == 0)
            return namespaced[i].kind;
    return 0;
}

static bool well_formed(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > SYSCTL_NAME_MAX || name[0] == '.' || name[0] == '/' ||
        strstr(name, "..") || strstr(name, "//"))
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("._-/", *p)))
            return false;
    return true;
}

int sysctl_check(const char *name, const char *value, unsigned pod_kinds, struct crib_err *err)
{
    unsigned kind;

    if (!well_formed(name))
        return crib_fail(err, CRIB_INVALID, 0, "sysctl '%.64s' is not a sysctl name", name);
    if (strlen(value) > SYSCTL_VALUE_MAX || strchr(value, '\n'))
        return crib_fail(err, CRIB_INVALID, 0, "sysctl %s: the value must be one line", name);
    kind = sysctl_namespace(name);
    if (!kind)
        return crib_fail(err, CRIB_INVALID, 0,
                         "sysctl %s is not namespaced: it would change the whole node", name);
    if (!(pod_kinds & kind))
        return crib_fail(
            err, CRIB_INVALID, 0,
            "sysctl %s belongs to the %s namespace, which the pod shares with the node", name,
            ns_name(kind));
    return 0;
}

/* /proc/sys path: '.' separators become '/', unless the name has slashes already. */
static char *proc_path(const char *name)
{
    char *path = xasprintf("/proc/sys/%s", name);

    if (!strchr(name, '/'))
        for (char *p = path + 10; *p; p++)
            if (*p == '.')
                *p = '/';
    return path;
}

/* In the child: join the namespaces the sysctls need, then write them.
 * Returns 0, or the index of the failing sysctl + 1 with errno set. */
static int child_apply(const int *ns_fds, size_t n_ns, char **paths, const char *const *values,
                       size_t n)
{
    for (size_t i = 0; i < n_ns; i++)
        if (ns_fds[i] >= 0 && setns(ns_fds[i], 0) < 0)
            return -1;
    for (size_t i = 0; i < n; i++) {
        int fd = open(paths[i], O_WRONLY | O_CLOEXEC);
        size_t len = strlen(values[i]);

        if (fd < 0 || write(fd, values[i], len) != (ssize_t)len)
            return (int)i + 1;
        close(fd);
    }
    return 0;
}

struct outcome {
    int index; /* 0 ok, -1 setns, else the sysctl's index + 1 */
    int errnum;
};

static int run_child(const int ns_fds[3], char **paths, const char *const *values, size_t n,
                     struct outcome *out, struct crib_err *err)
{
    int fds[2], status;
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "pipe");
    pid = fork();
    if (pid == 0) {
        /* Only system calls from here: this is a fork of a threaded daemon. */
        struct outcome o = {0};

        o.index = child_apply(ns_fds, 3, paths, values, n);
        o.errnum = errno;
        (void)!write(fds[1], &o, sizeof(o));
        _exit(0);
    }
    close(fds[1]);
    if (pid < 0 || read(fds[0], out, sizeof(*out)) != (ssize_t)sizeof(*out)) {
        int e = errno;

        close(fds[0]);
        if (pid > 0)
            waitpid(pid, &status, 0);
        return crib_fail(err, CRIB_INTERNAL, e, "apply sysctls");
    }
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return 0;
}

int sysctl_apply(const char *ns_dir, const char *const *names, const char *const *values, size_t n,
                 struct crib_err *err)
{
    static const unsigned kinds[3] = {NS_NET, NS_IPC, NS_UTS};
    int ns_fds[3] = {-1, -1, -1};
    char **paths = xcalloc(n ? n : 1, sizeof(char *));
    struct outcome out = {0};
    unsigned needed = 0;
    int r = 0;

    for (size_t i = 0; i < n; i++) {
        paths[i] = proc_path(names[i]);
        needed |= sysctl_namespace(names[i]);
    }
    for (size_t k = 0; r >= 0 && k < 3; k++) {
        _cleanup_free_ char *path = xasprintf("%s/%s", ns_dir, ns_name(kinds[k]));

        if ((needed & kinds[k]) && (ns_fds[k] = open(path, O_RDONLY | O_CLOEXEC)) < 0)
            r = crib_fail(err, CRIB_INTERNAL, errno, "open %s", path);
    }
    if (r >= 0 && n > 0)
        r = run_child(ns_fds, paths, values, n, &out, err);
    if (r >= 0 && out.index == -1)
        r = crib_fail(err, CRIB_INTERNAL, out.errnum, "join the pod's namespaces");
    else if (r >= 0 && out.index > 0)
        r = crib_fail(err,
                      out.errnum == ENOENT || out.errnum == EINVAL ? CRIB_INVALID : CRIB_INTERNAL,
                      out.errnum, "sysctl %s=%s", names[out.index - 1], values[out.index - 1]);
    for (size_t k = 0; k < 3; k++)
        if (ns_fds[k] >= 0)
            close(ns_fds[k]);
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    return r;
}
