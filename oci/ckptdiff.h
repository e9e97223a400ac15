/* A container's writable layer (its overlay upper dir) as a tar diff plus
 * the paths it deletes, and back again: what a checkpoint archive carries as
 * rootfs-diff.tar and deleted.files (checkpointctl's layout, ckptarchive.h). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* The paths a writable layer deletes from the image below it, relative to
 * the rootfs ("etc/motd", no leading "/"), in the order found.
 * An opaque dir (trusted.overlay.opaque=y: the lower dir's content hidden)
 * is listed here AND carried as a dir in the diff, "deleted and made again",
 * as containers/storage reports overlay changes (overlayDeletedFile), so the
 * list stays a plain JSON array that checkpointctl and Podman read.
 * ckpt_diff_apply reads it back the same way: a deleted path that the diff
 * holds as a dir becomes opaque, any other one a whiteout. */
struct ckpt_deleted {
    char **paths;
    size_t n_paths;
};

/* Frees the paths; d may be reused after. */
void ckpt_deleted_done(struct ckpt_deleted *d);

/* Appends a copy of path. */
void ckpt_deleted_add(struct ckpt_deleted *d, const char *path);

/* Writes the content of upper_dir to out_fd as a pax tar, paths relative to
 * upper_dir, walked in name order, neither crossing mounts (a dir of another
 * fs is kept, empty) nor following symlinks. Regular files, dirs, symlinks,
 * char/block devices and fifos become entries with their mode, owner and
 * mtime; a file with several links is stored once and linked after; files
 * and dirs keep their xattrs except overlay's own (trusted.overlay.*,
 * user.overlay.*). Whiteouts (0/0 char devices) are not entries: they and
 * opaque dirs go to *ret_deleted (see struct ckpt_deleted), which belongs to
 * the caller (ckpt_deleted_done) and is written only on success. Sockets
 * are skipped: tar cannot hold them. The deadline (CLOCK_MONOTONIC ns, 0 for
 * none) is checked between entries and blocks.
 * Errors: CRIB_TIMEOUT, CRIB_LIMIT (a tree over 512 dirs deep),
 * CRIB_INTERNAL naming the path and the step. */
int ckpt_diff_write(const char *upper_dir, int out_fd, int64_t deadline_ns,
                    struct ckpt_deleted *ret_deleted, struct crib_err *err);

/* Applies a diff to upper_dir, the empty upper dir of a new container: the
 * tar at diff_tar_path (NULL for none) is unpacked as a layer is
 * (unpack_layer: every path resolved in upper_dir, never through a symlink),
 * then each deleted path becomes an opaque marker when the diff made it a
 * dir, else a whiteout (0/0 char device) in place of whatever is there; a
 * leading "/" is allowed (Podman writes them) and missing parents are made
 * 0755, root's. On failure upper_dir is emptied again.
 * Errors: CRIB_INVALID naming the member or deleted path and the problem,
 * CRIB_INTERNAL (also when upper_dir is not empty). */
int ckpt_diff_apply(const char *diff_tar_path, const struct ckpt_deleted *deleted,
                    const char *upper_dir, struct crib_err *err);
