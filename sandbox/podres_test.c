#include "sandbox/podres.h"

#include <stdlib.h>

#include "common/testing.h"

static int test_total_adds_overhead_where_both_limit(void)
{
    struct cgroup_limits res = {.cpu_shares = 512,
                                .cpu_quota_us = 50000,
                                .cpu_period_us = 100000,
                                .memory_bytes = 64 << 20,
                                .cpuset_cpus = "0-1"};
    struct cgroup_limits ovh = {
        .cpu_shares = 10, .cpu_quota_us = 5000, .cpu_period_us = 50000, .memory_bytes = 8 << 20};
    struct cgroup_limits t = podres_total(&ovh, &res);

    CHECK_INT(t.cpu_shares, 522);
    /* 5 ms per 50 ms is 10 ms per 100 ms. */
    CHECK_INT(t.cpu_quota_us, 60000);
    CHECK_INT(t.cpu_period_us, 100000);
    CHECK_INT(t.memory_bytes, 72 << 20);
    CHECK_STR(t.cpuset_cpus, "0-1");
    return 0;
}

/* A knob the containers leave unlimited stays unlimited: overhead alone
 * must not cap a pod whose containers set no limit. */
static int test_unlimited_stays_unlimited(void)
{
    struct cgroup_limits res = {.cpu_quota_us = -1};
    struct cgroup_limits ovh = {.cpu_quota_us = 5000, .memory_bytes = 8 << 20, .cpu_shares = 10};
    struct cgroup_limits t = podres_total(&ovh, &res);

    CHECK_INT(t.memory_bytes, 0);
    CHECK_INT(t.cpu_quota_us, -1);
    CHECK_INT(t.cpu_shares, 0);
    t = podres_total(NULL, &(struct cgroup_limits){.memory_bytes = 1 << 20});
    CHECK_INT(t.memory_bytes, 1 << 20);
    return 0;
}

static int test_json_names_what_was_given(void)
{
    struct cgroup_limits res = {.memory_bytes = 64 << 20, .cpuset_mems = "0"};
    char *both = podres_to_json(&(struct cgroup_limits){.cpu_shares = 2}, &res);
    char *none = podres_to_json(NULL, NULL);

    CHECK_CONTAINS(both, "\"overhead\":{\"cpu_shares\":2,");
    CHECK_CONTAINS(both, "\"memory_limit_in_bytes\":67108864");
    CHECK_CONTAINS(both, "\"cpuset_mems\":\"0\"");
    CHECK(!strstr(both, "cpuset_cpus"));
    CHECK_STR(none, "{}");
    free(both);
    free(none);
    return 0;
}

TEST_MAIN(TEST(test_total_adds_overhead_where_both_limit), TEST(test_unlimited_stays_unlimited),
          TEST(test_json_names_what_was_given))
