#include "sandbox/ns.h"

#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

#define NS_HOSTNAME_MAX 64 /* HOST_NAME_MAX on Linux */

static const struct {
    enum ns_kind kind;
    const char *name;
    int clone_flag;
} kinds_table[] = {
    {NS_NET, "net", CLONE_NEWNET}, {NS_IPC, "ipc", CLONE_NEWIPC},    {NS_UTS, "uts", CLONE_NEWUTS},
    {NS_PID, "pid", CLONE_NEWPID}, {NS_USER, "user", CLONE_NEWUSER},
};

const char *ns_name(enum ns_kind kind)
{
    for (size_t i = 0; i < ARRAY_SIZE(kinds_table); i++)
        if (kinds_table[i].kind == kind)
            return kinds_table[i].name;
    return "?";
}

/* The helper: makes the namespaces, says so, and waits to be let go. Only
 * system calls here: it is a fork of a threaded daemon. It closes its copy
 * of the hold pipe's write end, or its read would never see the end. */
/* A new network namespace's lo is down. containerd and CRI-O always bring it
 * up, whatever the CNI config says, and port-forwarding (to 127.0.0.1 in the
 * pod) needs it: do the same. System calls only (see helper_main). */
static int loopback_up(void)
{
    struct ifreq ifr = {.ifr_name = "lo"};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int r = -1;

    if (fd < 0)
        return -1;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP;
        r = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    close(fd);
    return r;
}

static void __attribute__((noreturn))
helper_main(int flags, const char *hostname, int ready[2], int hold[2])
{
    char status = 0;

    close(ready[0]);
    close(hold[1]);
    if (unshare(flags) < 0 || (hostname && sethostname(hostname, strlen(hostname)) < 0) ||
        ((flags & CLONE_NEWNET) && loopback_up() < 0))
        status = (char)errno;
    (void)!write(ready[1], &status, 1);
    (void)!read(hold[0], &status, 1); /* returns at EOF: the parent is done */
    _exit(0);
}

struct helper {
    pid_t pid;
    int hold_fd; /* closing it lets the helper exit */
};

static int start_helper(unsigned kinds, const char *hostname, struct helper *h,
                        struct crib_err *err)
{
    int ready[2], hold[2], flags = 0;
    char status = 0;

    for (size_t i = 0; i < ARRAY_SIZE(kinds_table); i++)
        if (kinds & kinds_table[i].kind)
            flags |= kinds_table[i].clone_flag;
    if (pipe2(ready, O_CLOEXEC) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "pipe");
    if (pipe2(hold, O_CLOEXEC) < 0) {
        close(ready[0]);
        close(ready[1]);
        return crib_fail(err, CRIB_INTERNAL, errno, "pipe");
    }
    h->pid = fork();
    if (h->pid == 0)
        helper_main(flags, (kinds & NS_UTS) ? hostname : NULL, ready, hold);
    close(ready[1]);
    close(hold[0]);
    h->hold_fd = hold[1];
    if (h->pid < 0 || read(ready[0], &status, 1) != 1 || status != 0) {
        int e = h->pid < 0 ? errno : status ? status : EIO;

        close(ready[0]);
        return crib_fail(err, CRIB_INTERNAL, e, "make namespaces");
    }
    close(ready[0]);
    return 0;
}

static void stop_helper(struct helper *h)
{
    if (h->hold_fd >= 0)
        close(h->hold_fd);
    if (h->pid > 0)
        while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
            ;
}

static int pin_one(const char *dir, pid_t pid, const char *name, struct crib_err *err)
{
    _cleanup_free_ char *target = xasprintf("%s/%s", dir, name);
    _cleanup_free_ char *source = xasprintf("/proc/%d/ns/%s", (int)pid, name);
    int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0444);

    if (fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "create %s", target);
    close(fd);
    if (mount(source, target, NULL, MS_BIND, NULL) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "pin %s on %s", source, target);
    return 0;
}

static int check_hostname(const char *hostname, struct crib_err *err)
{
    size_t len = hostname ? strlen(hostname) : 0;

    if (len == 0 || len > NS_HOSTNAME_MAX)
        return crib_fail(err, CRIB_INVALID, 0, "hostname must have 1 to %d characters",
                         NS_HOSTNAME_MAX);
    for (size_t i = 0; i < len; i++)
        if (!((hostname[i] >= 'a' && hostname[i] <= 'z') ||
              (hostname[i] >= 'A' && hostname[i] <= 'Z') ||
              (hostname[i] >= '0' && hostname[i] <= '9') || hostname[i] == '-' ||
              hostname[i] == '.'))
            return crib_fail(err, CRIB_INVALID, 0,
                             "hostname '%.64s' has a character a hostname cannot have", hostname);
    return 0;
}

/* Writes the helper's uid_map and gid_map: one range each. */
static int write_maps(pid_t pid, const struct ns_userns *userns, struct crib_err *err)
{
    const struct ns_id_range *ranges[] = {&userns->uid, &userns->gid};
    const char *files[] = {"uid_map", "gid_map"};

    for (size_t i = 0; i < 2; i++) {
        _cleanup_free_ char *path = xasprintf("/proc/%d/%s", (int)pid, files[i]);
        _cleanup_free_ char *line =
            xasprintf("%u %u %u\n", ranges[i]->container_id, ranges[i]->host_id, ranges[i]->length);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);

        if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line))
            return crib_fail(err, CRIB_INTERNAL, errno, "write %s", path);
    }
    return 0;
}

int ns_pin_new(const char *dir, unsigned kinds, const char *hostname, struct crib_err *err)
{
    return ns_pin_new_mapped(dir, kinds, hostname, NULL, err);
}

int ns_pin_new_mapped(const char *dir, unsigned kinds, const char *hostname,
                      const struct ns_userns *userns, struct crib_err *err)
{
    struct helper h = {.pid = -1, .hold_fd = -1};
    int r = 0;

    if (userns)
        kinds |= NS_USER;

    if (kinds & NS_UTS) {
        r = check_hostname(hostname, err);
        if (r < 0)
            return r;
    }
    r = start_helper(kinds, hostname, &h, err);
    /* The other namespaces were made in the same unshare, so the new user
     * namespace owns them and the pod's root has its capabilities there. */
    if (r >= 0 && userns)
        r = write_maps(h.pid, userns, err);
    for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(kinds_table); i++)
        if (kinds & kinds_table[i].kind)
            r = pin_one(dir, h.pid, kinds_table[i].name, err);
    stop_helper(&h);
    if (r < 0) {
        struct crib_err ignored;

        (void)ns_unpin(dir, &ignored);
    }
    return r;
}

int ns_pin_pid(const char *dir, pid_t pid, struct crib_err *err)
{
    return pin_one(dir, pid, "pid", err);
}

int ns_unpin(const char *dir, struct crib_err *err)
{
    for (size_t i = 0; i < ARRAY_SIZE(kinds_table); i++) {
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, kinds_table[i].name);

        /* EINVAL: not a mount point (never pinned, or unpinned before a crash). */
        if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
            return crib_fail(err, CRIB_INTERNAL, errno, "unpin %s", path);
        if (unlink(path) < 0 && errno != ENOENT)
            return crib_fail(err, CRIB_INTERNAL, errno, "remove %s", path);
    }
    return 0;
}

struct connect_job {
    int netns_fd;
    const char *ip; /* NULL: loopback, IPv4 then IPv6 */
    uint16_t port;
    int fd;     /* the connected socket */
    int errnum; /* or why not */
};

/* A SYN that nothing answers (a pod without a route back) must not hold a
 * session for the kernel's two minutes. */
#define NS_CONNECT_TIMEOUT_MS 5000

/* Connects to ip (NULL: loopback) of family, port. Returns the fd or -errno. */
static int connect_to(int family, const char *ip, uint16_t port)
{
    struct sockaddr_in in4 = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in6 in6 = {
        .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    struct pollfd p = {.events = POLLOUT};
    socklen_t len = sizeof(int);
    int fd, r, e = 0;

    if (ip && inet_pton(family, ip,
                        family == AF_INET ? (void *)&in4.sin_addr : (void *)&in6.sin6_addr) != 1)
        return -EINVAL;
    fd = p.fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    r = family == AF_INET ? connect(fd, (struct sockaddr *)&in4, sizeof(in4))
                          : connect(fd, (struct sockaddr *)&in6, sizeof(in6));
    if (r < 0 && errno == EINPROGRESS) {
        r = poll(&p, 1, NS_CONNECT_TIMEOUT_MS);
        e = r == 0 ? ETIMEDOUT : r < 0 ? errno : 0;
        if (!e && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
            e = errno;
        r = e ? -1 : 0;
        errno = e;
    }
    if (r < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

/* A thread of its own joins the namespace and ends right after: a socket
 * stays in the namespace it was made in, and no cribd thread moves. */
static void *connect_in_netns(void *arg)
{
    struct connect_job *job = arg;
    int fd;

    if (job->netns_fd >= 0 && setns(job->netns_fd, CLONE_NEWNET) < 0) {
        job->errnum = errno;
        return NULL;
    }
    if (job->ip) {
        fd = connect_to(strchr(job->ip, ':') ? AF_INET6 : AF_INET, job->ip, job->port);
        if (fd < 0)
            job->errnum = -fd;
        else
            job->fd = fd;
        return NULL;
    }
    fd = connect_to(AF_INET, NULL, job->port);
    /* A listener on ::1 only (IPv6-only services) is found too. */
    if (fd == -ECONNREFUSED) {
        int fd6 = connect_to(AF_INET6, NULL, job->port);

        if (fd6 >= 0)
            fd = fd6;
    }
    if (fd < 0)
        job->errnum = -fd;
    else
        job->fd = fd;
    return NULL;
}

int ns_connect_loopback(int netns_fd, uint16_t port, int *ret_fd, struct crib_err *err)
{
    return ns_connect(netns_fd, NULL, port, ret_fd, err);
}

int ns_connect(int netns_fd, const char *ip, uint16_t port, int *ret_fd, struct crib_err *err)
{
    struct connect_job job = {.netns_fd = netns_fd, .ip = ip, .port = port, .fd = -1};
    pthread_t t;
    int r = pthread_create(&t, NULL, connect_in_netns, &job);

    if (r != 0)
        return crib_fail(err, CRIB_INTERNAL, r, "start a thread to connect in the pod");
    pthread_join(t, NULL);
    if (job.fd < 0)
        return crib_fail(err, job.errnum == ECONNREFUSED ? CRIB_UNAVAILABLE : CRIB_INTERNAL,
                         job.errnum, "dial tcp %s:%u", ip ? ip : "localhost", port);
    *ret_fd = job.fd;
    return 0;
}
