/* Cgroup drivers: how a pod's cgroup_parent and a container's cgroup are
 * named. Under cgroupfs they are paths that crib makes itself; under systemd
 * the parent is a slice ("kubepods-besteffort-pod12.slice") and a container
 * is a scope in it, which the OCI runtime asks systemd for. One driver is
 * chosen at start-up, as the kubelet's cgroupDriver must match it. */
#pragma once

#include <stdbool.h>

#include "common/err.h"

struct cgroup_driver {
    const char *name; /* "cgroupfs" or "systemd": the config's and RuntimeConfig's word */
    /* cgroupfs: crib makes the pod's parent dir and removes it with the pod.
     * systemd: slices are units the kubelet and systemd own. */
    bool makes_parent_dirs;
    const char *runtime_flag; /* the OCI runtime's global flag for this driver, or NULL */
    /* Checks a pod's cgroup_parent ("" is none). Errors: CRIB_INVALID naming it. */
    int (*check_parent)(const char *parent, struct crib_err *err);
    /* The parent's path in the cgroup hierarchies, or NULL for "" (free() it). */
    char *(*parent_dir)(const char *parent);
    /* The container's cgroupsPath for the OCI spec (free() it). */
    char *(*container_path)(const char *parent, const char *id);
    /* The container's path in the cgroup hierarchies (free() it). */
    char *(*container_dir)(const char *parent, const char *id);
};

extern const struct cgroup_driver cgroup_driver_cgroupfs;
extern const struct cgroup_driver cgroup_driver_systemd;

/* The driver named name, or NULL. */
const struct cgroup_driver *cgroup_driver_find(const char *name);

/* Checks a path in the cgroup hierarchies: absolute, bounded, without "."
 * or ".." parts. Errors: CRIB_INVALID naming it. */
int cgroup_path_check(const char *path, struct crib_err *err);

/* systemd's path for a slice: "a-b.slice" -> "/a.slice/a-b.slice", as
 * systemd nests slices by their dashes; "-.slice" is the root. NULL when
 * name is not a valid slice name. */
char *cgroup_slice_dir(const char *name);
