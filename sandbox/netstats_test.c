#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/testing.h"
#include "sandbox/netstats.h"

#define HEADER                                                                                     \
    "Inter-|   Receive                                                |  Transmit\n"               \
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "     \
    "drop fifo colls carrier compressed\n"

static int test_parses_kernel_text(void)
{
    static const char text[] =
        HEADER "    lo: 62519054    7987    0    0    0     0          0         0 62519054    "
               "7987    0    0    0     0       0          0\n"
               "  eth0: 34247918     751    2    3    0     0          0         0    38969     "
               "485    4    5    0     0       0          0\n"
               "net1:18446744073709551615 1 0 0 0 0 0 0 7 8 0 0 0 0 0 0\n";
    struct net_sample s = {.timestamp_ns = 5};
    const struct net_iface *eth0, *net1;
    struct crib_err err;

    CHECK_INT(netstats_parse(text, sizeof(text) - 1, &s, &err), 0);
    CHECK_INT(s.n_ifaces, 2);
    CHECK(!s.is_truncated);
    CHECK_INT(s.timestamp_ns, 0);
    CHECK(netstats_find(&s, "lo") == NULL);
    eth0 = netstats_find(&s, "eth0");
    net1 = netstats_find(&s, "net1");
    CHECK(eth0 && net1);
    if (!eth0 || !net1)
        return 0;
    CHECK_INT(eth0->rx_bytes, 34247918);
    CHECK_INT(eth0->rx_packets, 751);
    CHECK_INT(eth0->rx_errors, 2);
    CHECK_INT(eth0->rx_dropped, 3);
    CHECK_INT(eth0->tx_bytes, 38969);
    CHECK_INT(eth0->tx_packets, 485);
    CHECK_INT(eth0->tx_errors, 4);
    CHECK_INT(eth0->tx_dropped, 5);
    CHECK(net1->rx_bytes == UINT64_MAX);
    CHECK_INT(net1->tx_bytes, 7);
    return 0;
}

static int test_rejects_hostile_lines(void)
{
    static const char *const bad[] = {
        "eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",              /* no colon */
        "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n",                /* 15 counters */
        "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n",          /* 17 */
        "eth0: 1 2 3 x 5 6 7 8 9 10 11 12 13 14 15 16\n",             /* not a number */
        "eth0: -1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",            /* negative */
        ": 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",                 /* no name */
        "abcdefghijklmnop: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", /* 16-char name */
        "a b: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",              /* two words */
        "e/0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",              /* a slash */
        "eth0: 18446744073709551616 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
        "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", /* cut */
        "garbage\n",
    };
    struct net_sample s = {.n_ifaces = 99};
    struct crib_err err;

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        CHECK(netstats_parse(bad[i], strlen(bad[i]), &s, &err) < 0);
        CHECK_INT(err.code, CRIB_INVALID);
        CHECK_INT(s.n_ifaces, 99); /* untouched on failure */
    }
    return 0;
}

static int test_keeps_the_first_interfaces_of_many(void)
{
    char text[64 * 80];
    size_t len = 0;
    struct net_sample s;
    struct crib_err err;

    for (int i = 0; i < 40; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len,
                                "veth%d: %d 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", i, i);
    CHECK_INT(netstats_parse(text, len, &s, &err), 0);
    CHECK_INT(s.n_ifaces, NETSTATS_MAX_IFACES);
    CHECK(s.is_truncated);
    CHECK_STR(s.ifaces[31].name, "veth31");
    CHECK_INT(s.ifaces[31].rx_bytes, 31);
    return 0;
}

/* What the thread that made the test namespace hands back. */
struct test_netns {
    int netns_fd, tap_fd;
    const char *failed; /* the step that failed, or NULL */
    int errnum;
    size_t tx_bytes_read;
};

#define RX_FRAMES 3
#define RX_FRAME_BYTES 60
#define TX_FRAMES 2
#define TX_FRAME_BYTES 100

static bool fail_at(struct test_netns *t, const char *step)
{
    t->failed = step;
    t->errnum = errno;
    return false;
}

/* A tap device crib0, up, with IPv6 off so the kernel sends nothing of its own. */
static bool make_tap(struct test_netns *t)
{
    struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
    _cleanup_close_ int sock = -1, v6 = open("/proc/sys/net/ipv6/conf/default/disable_ipv6",
                                             O_WRONLY | O_CLOEXEC);

    if (v6 >= 0 && write(v6, "1", 1) != 1)
        return fail_at(t, "disable IPv6");
    t->tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (t->tap_fd < 0)
        return fail_at(t, "open /dev/net/tun");
    strcpy(ifr.ifr_name, "crib0");
    if (ioctl(t->tap_fd, TUNSETIFF, &ifr) < 0)
        return fail_at(t, "TUNSETIFF");
    sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifr.ifr_flags = IFF_UP;
    if (sock < 0 || ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
        return fail_at(t, "bring crib0 up");
    return true;
}

/* Frames written to the tap fd arrive on crib0 (rx); frames sent on crib0
 * are counted as tx once read back from the fd. */
static bool pass_traffic(struct test_netns *t)
{
    unsigned char frame[TX_FRAME_BYTES] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
                                           0,    0,    0,    0,    1,    0x88, 0xb5};
    struct sockaddr_ll to = {
        .sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex("crib0"), .sll_halen = 6};
    _cleanup_close_ int raw = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    ssize_t n;

    for (int i = 0; i < RX_FRAMES; i++)
        if (write(t->tap_fd, frame, RX_FRAME_BYTES) != RX_FRAME_BYTES)
            return fail_at(t, "write to the tap");
    memset(to.sll_addr, 0xff, 6);
    for (int i = 0; raw >= 0 && i < TX_FRAMES; i++)
        if (sendto(raw, frame, sizeof(frame), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
            return fail_at(t, "send on crib0");
    if (raw < 0)
        return fail_at(t, "packet socket");
    while ((n = read(t->tap_fd, frame, sizeof(frame))) > 0)
        t->tx_bytes_read += (size_t)n;
    return true;
}

static void *make_netns(void *arg)
{
    struct test_netns *t = arg;

    /* unshare moves only this thread, which ends here. */
    if (unshare(CLONE_NEWNET) < 0) {
        fail_at(t, "unshare(CLONE_NEWNET)");
        return NULL;
    }
    t->netns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (t->netns_fd < 0)
        fail_at(t, "open the new netns");
    else if (make_tap(t))
        pass_traffic(t);
    return NULL;
}

static ino_t own_netns(void)
{
    struct stat st;

    return stat("/proc/thread-self/ns/net", &st) == 0 ? st.st_ino : 0;
}

static void check_crib0(const struct test_netns *t, const struct net_sample *s)
{
    const struct net_iface *tap = netstats_find(s, "crib0");

    CHECK_INT(s->n_ifaces, 1); /* crib0 alone: lo is left out */
    CHECK(netstats_find(s, "lo") == NULL);
    CHECK(tap != NULL);
    if (!tap)
        return;
    CHECK_INT(tap->rx_packets, RX_FRAMES);
    CHECK_INT(tap->rx_bytes, RX_FRAMES * RX_FRAME_BYTES);
    CHECK_INT(tap->rx_errors, 0);
    CHECK(t->tx_bytes_read >= TX_FRAMES * TX_FRAME_BYTES);
    CHECK_INT(tap->tx_bytes, t->tx_bytes_read);
    CHECK_INT(tap->tx_errors, 0);
}

static int test_reads_a_pod_netns(void)
{
    struct test_netns t = {.netns_fd = -1, .tap_fd = -1};
    ino_t before = own_netns();
    struct net_sample s;
    struct crib_err err;
    pthread_t thread;

    pthread_create(&thread, NULL, make_netns, &t);
    pthread_join(thread, NULL);
    if (t.failed && (t.errnum == EPERM || t.errnum == ENOENT || t.errnum == ENODEV)) {
        printf("  skip: %s: %s (needs root, CONFIG_TUN and AF_PACKET)\n", t.failed,
               strerror(t.errnum));
        if (t.netns_fd >= 0)
            close(t.netns_fd);
        if (t.tap_fd >= 0)
            close(t.tap_fd);
        return TEST_SKIP;
    }
    CHECK(t.failed == NULL);
    if (t.failed)
        fprintf(stderr, "  %s: %s\n", t.failed, strerror(t.errnum));
    CHECK_INT(netstats_read(t.netns_fd, &s, &err), 0);
    CHECK(s.timestamp_ns > 0);
    CHECK_INT(own_netns(), before); /* the caller's thread did not move */
    check_crib0(&t, &s);
    close(t.netns_fd);
    close(t.tap_fd);
    return 0;
}

static int test_refuses_an_fd_that_is_no_netns(void)
{
    _cleanup_close_ int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct net_sample s;
    struct crib_err err;

    CHECK(netstats_read(fd, &s, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, "join the network namespace");
    return 0;
}

TEST_MAIN(TEST(test_parses_kernel_text), TEST(test_rejects_hostile_lines),
          TEST(test_keeps_the_first_interfaces_of_many), TEST(test_reads_a_pod_netns),
          TEST(test_refuses_an_fd_that_is_no_netns))
