#include "sandbox/netstats.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "sandbox/internal.h"

/* ~130 bytes a line: room for far more interfaces than are kept. */
#define NETSTATS_FILE_MAX 65536

/* The 16 counters of a /proc/net/dev line, in the kernel's order:
 * rx bytes packets errs drop fifo frame compressed multicast,
 * tx bytes packets errs drop fifo colls carrier compressed. */
enum {
    RX_BYTES,
    RX_PACKETS,
    RX_ERRS,
    RX_DROP,
    TX_BYTES = 8,
    TX_PACKETS,
    TX_ERRS,
    TX_DROP,
    N_COLS = 16
};

static bool valid_name(struct span name)
{
    if (name.n == 0 || name.n >= NETSTATS_NAME_MAX)
        return false;
    for (size_t i = 0; i < name.n; i++)
        if (name.p[i] == '/' || name.p[i] == '\0' || (unsigned char)name.p[i] <= ' ')
            return false;
    return true;
}

/* "  NAME: c0 c1 ... c15" into *ret. */
static bool parse_iface(struct span line, struct net_iface *ret)
{
    struct span left, name, extra, rest, word;
    uint64_t col[N_COLS];
    size_t n = 0;

    /* Names cannot hold ':' (dev_valid_name), so the first one ends it. */
    if (!scan_split(line, ':', &left, &rest) || !scan_word(&left, &name) ||
        scan_word(&left, &extra) || !valid_name(name))
        return false;
    while (scan_word(&rest, &word))
        if (n == N_COLS || !scan_u64(word, &col[n++]))
            return false;
    if (n != N_COLS)
        return false;
    memset(ret, 0, sizeof(*ret));
    memcpy(ret->name, name.p, name.n);
    ret->rx_bytes = col[RX_BYTES];
    ret->rx_packets = col[RX_PACKETS];
    ret->rx_errors = col[RX_ERRS];
    ret->rx_dropped = col[RX_DROP];
    ret->tx_bytes = col[TX_BYTES];
    ret->tx_packets = col[TX_PACKETS];
    ret->tx_errors = col[TX_ERRS];
    ret->tx_dropped = col[TX_DROP];
    return true;
}

int netstats_parse(const char *text, size_t len, struct net_sample *ret, struct crib_err *err)
{
    struct scan s = scan_init(text, len);
    struct net_sample out = {0};
    struct net_iface iface;
    struct span line, word;
    int r;

    while ((r = scan_line(&s, &line)) > 0) {
        struct span probe = line;

        if (!scan_word(&probe, &word) || memchr(line.p, '|', line.n))
            continue; /* blank or header */
        if (!parse_iface(line, &iface))
            return crib_fail(err, CRIB_INVALID, 0, "line %u: expected NAME: and 16 counters",
                             s.lineno);
        if (strcmp(iface.name, "lo") == 0)
            continue;
        if (out.n_ifaces == NETSTATS_MAX_IFACES)
            out.is_truncated = true;
        else
            out.ifaces[out.n_ifaces++] = iface;
    }
    if (r < 0)
        return crib_fail(err, CRIB_INVALID, 0,
                         "line %u: no newline at its end, or longer than %d bytes", s.lineno,
                         SCAN_LINE_MAX);
    *ret = out;
    return 0;
}

/* What the thread in the pod's namespace brings back. */
struct netns_job {
    int netns_fd;
    int errnum;       /* 0, or why step failed */
    const char *step; /* for the message */
    size_t len;
    char buf[NETSTATS_FILE_MAX];
};

/* Runs in a short-lived thread of its own: setns() moves only the calling
 * thread, and this one ends right after, so no thread of cribd ever changes
 * namespace. /proc/thread-self/net/dev then shows that namespace's devices.
 * Chosen over an RTM_GETLINK dump on a NETLINK_ROUTE socket made in the
 * namespace: the same 64-bit counters (both come from dev_get_stats), the
 * file cAdvisor reads, and a text parser that is fuzzed instead of a netlink
 * message walker. */
static void *read_in_netns(void *arg)
{
    struct netns_job *job = arg;
    _cleanup_close_ int fd = -1;
    ssize_t n = 1;

    if (setns(job->netns_fd, CLONE_NEWNET) < 0) {
        job->errnum = errno;
        job->step = "join the network namespace";
        return NULL;
    }
    fd = open("/proc/thread-self/net/dev", O_RDONLY | O_CLOEXEC);
    while (fd >= 0 && job->len < sizeof(job->buf) &&
           (n = read(fd, job->buf + job->len, sizeof(job->buf) - job->len)) > 0)
        job->len += (size_t)n;
    if (fd < 0 || n < 0) {
        job->errnum = errno;
        job->step = "read /proc/thread-self/net/dev";
    }
    return NULL;
}

/* A full buffer ends mid-line: keep the whole lines and say so. */
static size_t whole_lines(const char *buf, size_t len, bool *is_cut)
{
    *is_cut = len == NETSTATS_FILE_MAX;
    if (!*is_cut)
        return len;
    while (len > 0 && buf[len - 1] != '\n')
        len--;
    return len;
}

int netstats_read(int netns_fd, struct net_sample *ret, struct crib_err *err)
{
    _cleanup_free_ struct netns_job *job = xcalloc(1, sizeof(*job));
    int64_t timestamp_ns;
    struct timespec ts;
    pthread_t thread;
    bool is_cut;
    size_t len;
    int r;

    job->netns_fd = netns_fd;
    clock_gettime(CLOCK_REALTIME, &ts);
    timestamp_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    r = pthread_create(&thread, NULL, read_in_netns, job);
    if (r != 0)
        return crib_fail(err, CRIB_INTERNAL, r, "start a thread to read network counters");
    pthread_join(thread, NULL);
    if (job->errnum)
        return crib_fail(err, job->errnum == EINVAL ? CRIB_INVALID : CRIB_INTERNAL, job->errnum,
                         "%s", job->step);
    len = whole_lines(job->buf, job->len, &is_cut);
    r = netstats_parse(job->buf, len, ret, err);
    if (r < 0)
        return crib_wrap(err, "/proc/net/dev of the pod");
    ret->is_truncated |= is_cut;
    ret->timestamp_ns = timestamp_ns;
    return 0;
}

const struct net_iface *netstats_find(const struct net_sample *s, const char *name)
{
    for (size_t i = 0; i < s->n_ifaces; i++)
        if (strcmp(s->ifaces[i].name, name) == 0)
            return &s->ifaces[i];
    return NULL;
}
