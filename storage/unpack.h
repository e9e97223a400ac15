/* Layer unpacking: a compressed tar stream, read once, straight into a layer
 * dir, with overlayfs whiteouts. Nothing is ever written outside the dir. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/digest.h"
#include "common/err.h"

enum unpack_compression {
    UNPACK_AUTO, /* from the first bytes: gzip, zstd, or plain tar */
    UNPACK_NONE,
    UNPACK_GZIP,
    UNPACK_ZSTD,
};

/* Reads up to size bytes of the compressed stream into buf. Returns the count
 * (> 0), 0 at the end, or a negative errno with err filled (passed through). */
typedef ssize_t (*unpack_read_fn)(void *ctx, void *buf, size_t size, struct crib_err *err);

struct unpack_options {
    enum unpack_compression compression;
    /* The uncompressed tar stream may not exceed this (decompression bombs):
     * CRIB_LIMIT. 0 means no limit. */
    uint64_t max_unpacked_bytes;
};

struct unpack_result {
    char compressed_digest[DIGEST_MAX_STR]; /* sha256 of the bytes read */
    char diff_id[DIGEST_MAX_STR];           /* sha256 of the uncompressed tar stream */
    uint64_t compressed_bytes;
    uint64_t tar_bytes;     /* size of the uncompressed tar stream */
    uint64_t content_bytes; /* sum of regular file sizes written */
    uint64_t n_inodes;      /* inodes created: entries, whiteouts, missing parent dirs;
                               not hardlinks, nor dirs that were there already */
};

/* Extracts the tar stream read through read_fn into dir_fd, an empty dir.
 * Every path is resolved from dir_fd with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS): an entry whose name is
 * absolute or has a ".." component, a hardlink whose target is, and an entry
 * whose parent path goes through a symlink are refused. Symlinks themselves
 * are created as they are (absolute targets are normal), never followed.
 * Missing parent dirs are created (0755, root's). A later entry replaces an
 * earlier one at its path, except that a dir entry over a dir updates it.
 * Whiteouts ".wh.NAME" become 0/0 character devices NAME; ".wh..wh..opq" sets
 * trusted.overlay.opaque=y on its dir; other ".wh..wh." names (aufs metadata)
 * are skipped. Regular files, dirs, symlinks, hardlinks, char/block devices
 * and fifos are created with numeric owner, mode (setuid/setgid/sticky kept),
 * xattrs (security.capability included) and mtime (a dir's after its
 * content). user.* xattrs, which Linux allows only on files and dirs, are
 * skipped on the others; xattrs of symlinks and nodes are set through
 * /proc/self/fd. The stream is read to its end, so the digests cover all of
 * it; a gzip stream may have several members, but nothing after them.
 * Errors: CRIB_INVALID naming the entry and the problem (bad tar, traversal),
 * CRIB_LIMIT (over max_unpacked_bytes), CRIB_INTERNAL (I/O), or read_fn's own. */
int unpack_layer(int dir_fd, unpack_read_fn read_fn, void *read_ctx,
                 const struct unpack_options *opts, struct unpack_result *ret_result,
                 struct crib_err *err);
