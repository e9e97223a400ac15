/* Container root filesystems: an overlay of an image's layer dirs (lower,
 * read-only) with the container's own upper and work dirs, kept under
 * ROOT/storage/containers/<id>/ (design.md: Rootfs). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct rootfs_spec {
    const char *const *lower_dirs; /* absolute layer dirs, bottom first */
    size_t n_lower;
    /* Absolute; both on the same fs; made if missing. Both NULL: a
     * read-only overlay of the layers alone. */
    const char *upper_dir, *work_dir;
    const char *target; /* absolute mountpoint; made if missing */
    bool read_only;     /* mounted MS_RDONLY (upper still made) */
    /* With idmap, the layers are idmapped into the user namespace
     * idmap_userns_fd (an fd of its pin; mount_setattr MOUNT_ATTR_IDMAP) so
     * that the image's root owns its files inside, and the upper dir belongs
     * to the namespace's root, owner_uid:owner_gid on the host. */
    bool idmap;
    int idmap_userns_fd;
    uint32_t owner_uid, owner_gid;
};

/* Mounts the overlay on target. With the new mount API (fsopen "overlay",
 * fsconfig "lowerdir+" per layer, top layer first as overlay wants it, kernel
 * >= 6.8) the layer count is not bounded by a page of options; on older
 * kernels falls back to mount(2) with a lowerdir= list, and when that list
 * would not fit a page, to short symlinks "l/0", "l/1", ... in a dir beside
 * upper_dir, mounted from that dir. An image with a single layer and no
 * upper still gets an overlay (so the layer dir is never written): overlay
 * wants two layers then, so an empty dir "empty" beside target goes below.
 * Errors: CRIB_INVALID (no layers; a path that is relative or holds ':', ','
 * or '\\'), CRIB_INTERNAL naming the step and errno. */
int rootfs_mount(const struct rootfs_spec *spec, struct crib_err *err);

/* Unmounts target (lazily, MNT_DETACH, after a plain umount fails with
 * EBUSY); not mounted is fine. Errors: CRIB_INTERNAL. */
int rootfs_unmount(const char *target, struct crib_err *err);

/* Makes target (created if missing) a recursive bind of source, changed
 * before it is attached: with recursive_readonly every mount, submounts
 * included, is read-only and private; with idmap_userns_fd >= 0 the top
 * mount is idmapped into that user namespace. What a container's volume
 * binds from when runc cannot do either itself. Undo with rootfs_unmount().
 * Errors: CRIB_NOT_FOUND (no source), CRIB_INTERNAL. */
int rootfs_bind_copy(const char *source, const char *target, bool recursive_readonly,
                     int idmap_userns_fd, struct crib_err *err);

/* True when target is a mountpoint (statx STATX_ATTR_MOUNT_ROOT or a
 * different st_dev from its parent). */
bool rootfs_is_mounted(const char *target);

/* Bytes and inodes used below dir (the upper dir: the writable layer), not
 * crossing mounts and not following symlinks; an entry counts one inode (hard
 * links too). Errors: CRIB_INTERNAL (also for a tree over 256 dirs deep). */
int rootfs_usage(const char *dir, int64_t *ret_bytes, int64_t *ret_inodes, struct crib_err *err);
