#include "common/cgdriver.h"

#include <stdlib.h>

#include "common/testing.h"

/* Slices nest by their dashes, as systemd lays them out. */
static int test_slice_dirs(void)
{
    static const struct {
        const char *name, *dir; /* dir NULL: refused */
    } cases[] = {
        {"kubepods.slice", "/kubepods.slice"},
        {"kubepods-besteffort.slice", "/kubepods.slice/kubepods-besteffort.slice"},
        {"kubepods-burstable-pod0a1b_c2.slice",
         "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0a1b_c2.slice"},
        {"-.slice", "/"},
        {"system.slice", "/system.slice"},
        {"kubepods", NULL},
        {".slice", NULL},
        {"-kubepods.slice", NULL},
        {"kubepods-.slice", NULL},
        {"kube--pods.slice", NULL},
        {"kube/pods.slice", NULL},
        {"kube pods.slice", NULL},
        {"/kubepods/pod1", NULL},
        {"kubepods.scope", NULL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *dir = cgroup_slice_dir(cases[i].name);

        if (cases[i].dir)
            CHECK_STR(dir, cases[i].dir);
        else if (dir)
            CHECK_STR(dir, "(refused)");
        free(dir);
    }
    return 0;
}

static int test_long_slice_name_is_refused(void)
{
    char name[300];

    memset(name, 'a', sizeof(name));
    strcpy(name + sizeof(name) - 7, ".slice");
    CHECK(cgroup_slice_dir(name) == NULL);
    return 0;
}

static int test_cgroupfs_names(void)
{
    const struct cgroup_driver *d = cgroup_driver_find("cgroupfs");
    struct crib_err err = {0};
    char *s;

    CHECK(d == &cgroup_driver_cgroupfs);
    CHECK(d->makes_parent_dirs);
    CHECK(d->runtime_flag == NULL);
    CHECK_INT(d->check_parent("", &err), 0);
    CHECK_INT(d->check_parent("/kubepods/burstable/pod12", &err), 0);
    CHECK(d->check_parent("kubepods.slice", &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK(d->check_parent("/kubepods/../etc", &err) < 0);
    CHECK(d->check_parent("/kubepods/..", &err) < 0);
    CHECK(d->parent_dir("") == NULL);
    CHECK_STR(s = d->parent_dir("/kubepods/pod1"), "/kubepods/pod1");
    free(s);
    CHECK_STR(s = d->container_path("/kubepods/pod1", "abc"), "/kubepods/pod1/crib-abc");
    free(s);
    CHECK_STR(s = d->container_path("", "abc"), "/crib/crib-abc");
    free(s);
    CHECK_STR(s = d->container_dir("/kubepods/pod1", "abc"), "/kubepods/pod1/crib-abc");
    free(s);
    return 0;
}

static int test_systemd_names(void)
{
    const struct cgroup_driver *d = cgroup_driver_find("systemd");
    struct crib_err err = {0};
    char *s;

    CHECK(d == &cgroup_driver_systemd);
    CHECK(!d->makes_parent_dirs);
    CHECK_STR(d->runtime_flag, "--systemd-cgroup");
    CHECK_INT(d->check_parent("", &err), 0);
    CHECK_INT(d->check_parent("kubepods-besteffort-pod12.slice", &err), 0);
    CHECK(d->check_parent("/kubepods/besteffort/pod12", &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, "/kubepods/besteffort/pod12");
    CHECK_STR(s = d->parent_dir("kubepods-pod1.slice"), "/kubepods.slice/kubepods-pod1.slice");
    free(s);
    /* runc, crun and runsc take "slice:prefix:name" and make prefix-name.scope. */
    CHECK_STR(s = d->container_path("kubepods-pod1.slice", "abc"), "kubepods-pod1.slice:crib:abc");
    free(s);
    CHECK_STR(s = d->container_path("", "abc"), "system.slice:crib:abc");
    free(s);
    CHECK_STR(s = d->container_dir("kubepods-pod1.slice", "abc"),
              "/kubepods.slice/kubepods-pod1.slice/crib-abc.scope");
    free(s);
    CHECK_STR(s = d->container_dir("-.slice", "abc"), "/crib-abc.scope");
    free(s);
    CHECK(cgroup_driver_find("cgroupv2") == NULL);
    return 0;
}

TEST_MAIN(TEST(test_slice_dirs), TEST(test_long_slice_name_is_refused), TEST(test_cgroupfs_names),
          TEST(test_systemd_names))
