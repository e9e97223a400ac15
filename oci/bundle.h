/* A container's OCI bundle: config.json built from its pod, its image and
 * its CRI config (process, user, mounts and the copies they bind from,
 * devices, seccomp, namespaces, resources), over a rootfs already mounted.
 * The container lifecycle (container.c) makes the rootfs and runs the shim;
 * this module decides what runs in it and how. */
#pragma once

#include <sys/types.h>

#include "common/err.h"
#include "oci/container.h"
#include "oci/user.h"

struct bundle_request {
    const char *id;
    const char *dir;          /* the bundle: config.json and copies/ go here */
    const char *rootfs;       /* mounted */
    const char *cgroups_path; /* the spec's, as the node's cgroup driver names it */
    const struct ctr_pod *pod;
    const struct ctr_image *img;
    const struct ctr_config *cfg;
    int userns_fd;          /* the pod's user namespace (volumes are idmapped into it), or -1 */
    pid_t target_pid;       /* PID mode TARGET: the target container's first process */
    const char *sandbox_id; /* the gVisor sandbox the container joins (runsc), or NULL */
};

/* The annotations runsc reads (runsc/specutils, as containerd sets them):
 * whether a spec makes a sandbox or joins one, and which. */
#define BUNDLE_CONTAINER_TYPE "io.kubernetes.cri.container-type"
#define BUNDLE_SANDBOX_ID "io.kubernetes.cri.sandbox-id"

/* Resolves the container's user in its rootfs and writes dir/config.json;
 * volumes that need a copy (recursive read-only, idmapped, image volumes)
 * are mounted under dir/copies/. *ret_ids gets the effective identity.
 * Errors: CRIB_INVALID naming the field, CRIB_NOT_FOUND (a device, a
 * seccomp profile), CRIB_INTERNAL. */
int bundle_write(const struct bundle_request *req, struct user_ids *ret_ids, struct crib_err *err);

/* Unmounts what is mounted under dir/copies: once the container has its own mounts (the host's
 * would keep host paths busy), and before the bundle is removed. */
int bundle_unmount_copies(const char *dir, struct crib_err *err);
