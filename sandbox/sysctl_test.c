#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "sandbox/ns.h"
#include "sandbox/sysctl.h"

static char dir[] = "/tmp/crib-sysctl-test-XXXXXX";

static const struct {
    const char *name, *value;
    unsigned pod_kinds;
    const char *msg; /* NULL: accepted */
} checks[] = {
    {"net.ipv4.ip_local_port_range", "1024 65000", NS_NET | NS_IPC | NS_UTS, NULL},
    {"net/ipv4/conf/eth0.100/forwarding", "1", NS_NET, NULL},
    {"kernel.shm_rmid_forced", "1", NS_IPC, NULL},
    {"kernel.msgmax", "8192", NS_IPC, NULL},
    {"fs.mqueue.msg_max", "20", NS_IPC, NULL},
    {"kernel.pid_max", "100000", NS_NET | NS_IPC | NS_UTS, "not namespaced"},
    {"vm.swappiness", "1", NS_NET | NS_IPC | NS_UTS, "not namespaced"},
    {"net.core.somaxconn", "1024", NS_IPC, "shares with the node"},
    {"kernel.shmmax", "1", NS_NET, "ipc namespace"},
    {"../../etc/passwd", "x", NS_NET, "not a sysctl name"},
    {"net..ipv4", "1", NS_NET, "not a sysctl name"},
    {"", "1", NS_NET, "not a sysctl name"},
    {"net.ipv4.tcp_syncookies", "1\nnet.ipv4.ip_forward=1", NS_NET, "one line"},
};

static int test_check_table(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(checks); i++) {
        struct crib_err err;
        int r = sysctl_check(checks[i].name, checks[i].value, checks[i].pod_kinds, &err);

        if (!checks[i].msg) {
            CHECK_INT(r, 0);
            continue;
        }
        CHECK(r < 0);
        CHECK_INT(err.code, CRIB_INVALID);
        CHECK_CONTAINS(err.msg, checks[i].msg);
    }
    return 0;
}

/* Reads a /proc/sys file from inside the pinned net namespace. */
static char *read_in_pod(const char *name, int nstype, const char *proc_path)
{
    _cleanup_free_ char *ns = xasprintf("%s/%s", dir, name);
    int fds[2], status;
    char buf[128] = "";
    pid_t pid;

    if (pipe(fds) < 0)
        return NULL;
    pid = fork();
    if (pid == 0) {
        int fd = open(ns, O_RDONLY), in;
        ssize_t n;

        if (fd < 0 || setns(fd, nstype) < 0 || (in = open(proc_path, O_RDONLY)) < 0)
            _exit(1);
        n = read(in, buf, sizeof(buf) - 1);
        (void)!write(fds[1], buf, n > 0 ? (size_t)n : 0);
        _exit(0);
    }
    close(fds[1]);
    (void)!read(fds[0], buf, sizeof(buf) - 1);
    close(fds[0]);
    waitpid(pid, &status, 0);
    return xstrdup(buf);
}

static int test_apply_inside_the_pod_only(void)
{
    const char *names[] = {"net.ipv4.ip_local_port_range", "net.core.somaxconn",
                           "kernel.shm_rmid_forced"};
    const char *values[] = {"20000 30000", "777", "1"};
    _cleanup_free_ char *host_range = NULL, *host_somax = NULL, *range = NULL, *somax = NULL,
                        *rmid = NULL, *after_range = NULL;
    struct crib_err err;

    CHECK_INT(fs_read_file("/proc/sys/net/ipv4/ip_local_port_range", 128, &host_range, NULL, &err),
              0);
    CHECK_INT(fs_read_file("/proc/sys/net/core/somaxconn", 128, &host_somax, NULL, &err), 0);
    CHECK_INT(ns_pin_new(dir, NS_NET | NS_IPC, NULL, &err), 0);
    CHECK_INT(sysctl_apply(dir, names, values, 3, &err), 0);
    range = read_in_pod("net", CLONE_NEWNET, "/proc/sys/net/ipv4/ip_local_port_range");
    somax = read_in_pod("net", CLONE_NEWNET, "/proc/sys/net/core/somaxconn");
    rmid = read_in_pod("ipc", CLONE_NEWIPC, "/proc/sys/kernel/shm_rmid_forced");
    CHECK_STR(range, "20000\t30000\n");
    CHECK_STR(somax, "777\n");
    CHECK_STR(rmid, "1\n");
    CHECK_INT(fs_read_file("/proc/sys/net/ipv4/ip_local_port_range", 128, &after_range, NULL, &err),
              0);
    CHECK_STR(after_range, host_range);
    CHECK(sysctl_apply(dir, (const char *[]){"net.ipv4.no_such_knob"}, (const char *[]){"1"}, 1,
                       &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, "net.ipv4.no_such_knob");
    CHECK_INT(ns_unpin(dir, &err), 0);
    return 0;
}

int main(void)
{
    static const struct test_case cases[] = {
        TEST(test_check_table),
        TEST(test_apply_inside_the_pod_only),
    };
    struct crib_err err;
    int r;

    if (geteuid() != 0) {
        printf("skip: pod namespaces need root\n");
        return TEST_SKIP;
    }
    if (!mkdtemp(dir))
        return 1;
    r = test_run(cases, ARRAY_SIZE(cases));
    (void)ns_unpin(dir, &err);
    rmdir(dir);
    return r;
}
