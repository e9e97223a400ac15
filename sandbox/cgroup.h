/* Pod and container cgroups with the cgroupfs driver, on cgroup v1, v2 and
 * hybrid hosts (v1 controllers beside an empty v2 tree, as here). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define CGROUP_MAX_V1 16

enum cgroup_version { CGROUP_V1 = 1, CGROUP_V2 = 2 };

struct cgroup_layout {
    enum cgroup_version version; /* where limits go: v1 controllers or the v2 tree */
    char *v2_root;               /* the cgroup2 mount, or NULL (hybrid hosts have one too) */
    size_t n_v1;
    struct {
        char *controllers; /* "cpu", "cpu,cpuacct", "name=systemd" */
        char *mount;
    } v1[CGROUP_MAX_V1];
};

/* Limits; 0 (or NULL) leaves a knob as it is. */
struct cgroup_limits {
    int64_t cpu_shares;   /* v1 cpu.shares, converted to cpu.weight on v2 */
    int64_t cpu_quota_us; /* -1: no quota */
    int64_t cpu_period_us;
    int64_t memory_bytes; /* -1: no limit */
    int64_t pids_max;     /* -1: no limit */
    const char *cpuset_cpus;
    const char *cpuset_mems;
};

/* Finds the cgroup mounts from mountinfo (a test may pass its own file).
 * Errors: CRIB_INTERNAL (no cgroup mounted). Free with cgroup_layout_done(). */
int cgroup_layout_detect(const char *mountinfo_path, struct cgroup_layout *ret_layout,
                         struct crib_err *err);
void cgroup_layout_done(struct cgroup_layout *l);

/* Creates cgroup path ("/kubepods/pod1234", absolute in the hierarchy) and
 * its missing parents in every hierarchy; on v1 a new cpuset gets its
 * parent's cpus and mems, on v2 each parent delegates the controllers it has.
 * Errors: CRIB_INVALID (bad path), CRIB_INTERNAL naming the dir. */
int cgroup_create(const struct cgroup_layout *l, const char *path, struct crib_err *err);

/* Writes the limits that are set. Errors: CRIB_INVALID (a value the kernel
 * refuses, naming the knob), CRIB_INTERNAL. */
int cgroup_set_limits(const struct cgroup_layout *l, const char *path,
                      const struct cgroup_limits *lim, struct crib_err *err);

/* Removes cgroup path (not its parents) in every hierarchy; a missing one is
 * fine. Errors: CRIB_STATE (processes still in it), CRIB_INTERNAL. */
int cgroup_remove(const struct cgroup_layout *l, const char *path, struct crib_err *err);

/* The mount of the v1 hierarchy that has controller ("memory", "cpuacct"),
 * or NULL; borrowed from l, valid until cgroup_layout_done(). */
const char *cgroup_v1_mount(const struct cgroup_layout *l, const char *controller);

/* cpu.weight (v2) for v1 cpu.shares, as runc converts it. */
uint64_t cgroup_shares_to_weight(uint64_t shares);
