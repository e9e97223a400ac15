/* Shared inside storage/ only: hooks its own tests need. */
#pragma once

#include "common/err.h"
#include "storage/rootfs.h"

enum rootfs_mount_flags {
    /* Skip fsopen/fsconfig and mount as a kernel before 6.8 must (mount(2)
     * with a lowerdir= list, or short links when that list is too long). */
    ROOTFS_MOUNT_LEGACY = 1u << 0,
};

/* rootfs_mount with flags (enum rootfs_mount_flags). */
int rootfs_mount_with(const struct rootfs_spec *spec, unsigned flags, struct crib_err *err);
