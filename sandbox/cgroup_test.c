#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "sandbox/cgroup.h"

static char parent[64];

static char *knob(const struct cgroup_layout *l, const char *controller_mount, const char *name)
{
    _cleanup_free_ char *path = xasprintf("%s%s/pod/%s", controller_mount, parent, name);
    char *text = NULL;
    struct crib_err err;

    (void)l;
    if (fs_read_file(path, 4096, &text, NULL, &err) < 0)
        return NULL;
    text[strcspn(text, "\n")] = '\0';
    return text;
}

/* The mount whose comma-separated controller list names controller exactly. */
static const char *mount_of(const struct cgroup_layout *l, const char *controller)
{
    for (size_t i = 0; i < l->n_v1; i++) {
        _cleanup_free_ char *list = xstrdup(l->v1[i].controllers);

        for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
            if (strcmp(t, controller) == 0)
                return l->v1[i].mount;
    }
    return NULL;
}

static int test_layout_of_a_hybrid_mountinfo(void)
{
    char path[] = "/tmp/crib-mountinfo-XXXXXX";
    int fd = mkstemp(path);
    static const char text[] =
        "30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
        "31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "32 30 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "33 30 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n";
    struct cgroup_layout l;
    struct crib_err err;

    CHECK(write(fd, text, sizeof(text) - 1) == sizeof(text) - 1);
    close(fd);
    CHECK_INT(cgroup_layout_detect(path, &l, &err), 0);
    CHECK_INT(l.version, CGROUP_V1);
    CHECK_INT(l.n_v1, 2);
    CHECK_STR(l.v1[0].controllers, "cpu,cpuacct");
    CHECK_STR(l.v1[0].mount, "/sys/fs/cgroup/cpu,cpuacct");
    CHECK_STR(l.v2_root, "/sys/fs/cgroup/unified");
    cgroup_layout_done(&l);
    unlink(path);
    return 0;
}

static int test_shares_to_weight(void)
{
    CHECK_INT(cgroup_shares_to_weight(2), 1);
    CHECK_INT(cgroup_shares_to_weight(1024), 39);
    CHECK_INT(cgroup_shares_to_weight(262144), 10000);
    return 0;
}

static int test_bad_paths(void)
{
    struct cgroup_layout l = {.version = CGROUP_V2, .v2_root = "/nonexistent"};
    static const char *const bad[] = {"relative", "/a/../b", "/a/./b", "/a/..", "/a\nb"};
    struct crib_err err;

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        CHECK(cgroup_create(&l, bad[i], &err) < 0);
        CHECK_INT(err.code, CRIB_INVALID);
    }
    return 0;
}

static int test_create_limit_remove_on_this_host(void)
{
    struct cgroup_limits lim = {.cpu_shares = 512,
                                .cpu_quota_us = 50000,
                                .cpu_period_us = 100000,
                                .memory_bytes = 64 << 20,
                                .pids_max = 100};
    _cleanup_free_ char *pod = xasprintf("%s/pod", parent);
    _cleanup_free_ char *shares = NULL, *quota = NULL, *mem = NULL, *pids = NULL, *cpus = NULL;
    struct cgroup_layout l;
    struct crib_err err;

    CHECK_INT(cgroup_layout_detect(NULL, &l, &err), 0);
    if (l.version != CGROUP_V1) {
        printf("  (this host is cgroup v2; checking the v2 knobs)\n");
    }
    CHECK_INT(cgroup_create(&l, pod, &err), 0);
    CHECK_INT(cgroup_set_limits(&l, pod, &lim, &err), 0);
    if (l.version == CGROUP_V1) {
        CHECK_STR(shares = knob(&l, mount_of(&l, "cpu"), "cpu.shares"), "512");
        CHECK_STR(quota = knob(&l, mount_of(&l, "cpu"), "cpu.cfs_quota_us"), "50000");
        CHECK_STR(mem = knob(&l, mount_of(&l, "memory"), "memory.limit_in_bytes"), "67108864");
        CHECK_STR(pids = knob(&l, mount_of(&l, "pids"), "pids.max"), "100");
        cpus = knob(&l, mount_of(&l, "cpuset"), "cpuset.cpus");
        CHECK(cpus && *cpus); /* inherited, so tasks could join */
    } else {
        CHECK_STR(mem = knob(&l, l.v2_root, "memory.max"), "67108864");
        CHECK_STR(quota = knob(&l, l.v2_root, "cpu.max"), "50000 100000");
    }
    CHECK_INT(cgroup_remove(&l, pod, &err), 0);
    CHECK_INT(cgroup_remove(&l, pod, &err), 0);
    CHECK_INT(cgroup_remove(&l, parent, &err), 0);
    cgroup_layout_done(&l);
    return 0;
}

int main(void)
{
    static const struct test_case cases[] = {
        TEST(test_layout_of_a_hybrid_mountinfo),
        TEST(test_shares_to_weight),
        TEST(test_bad_paths),
        TEST(test_create_limit_remove_on_this_host),
    };

    if (geteuid() != 0) {
        printf("skip: making cgroups needs root\n");
        return TEST_SKIP;
    }
    snprintf(parent, sizeof(parent), "/crib-cgroup-test-%d", (int)getpid());
    return test_run(cases, ARRAY_SIZE(cases));
}
