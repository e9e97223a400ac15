/* Checkpoint archives: one tar holding everything CheckpointContainer saves
 * and a restore needs, laid out as checkpointctl, Podman and CRI-O lay out
 * theirs (checkpointctl lib/metadata.go), so their tools can inspect it:
 *
 *   crib.json         crib's own: {"version": 1, "handler": "runc"|"runsc",
 *                     "handlerName", "imageRef", "imageId"}
 *   config.dump       checkpointctl's ContainerConfig: id, name, rootfsImage,
 *                     rootfsImageRef (NAME@DIGEST, as containerd), rootfsImageName
 *                     (NAME:TAG), runtime, createdTime, checkpointedTime
 *                     (RFC 3339, as Go writes time.Time), restoredTime,
 *                     restored; crib's own fields stay in crib.json, so no
 *                     name can clash with a peer's
 *   spec.dump         the container's OCI spec
 *   cri-config.json   crib's own: the CRI ContainerConfig (optional)
 *   deleted.files     JSON array of the paths the writable layer deletes
 *                     (struct ckpt_deleted; optional)
 *   rootfs-diff.tar   the writable layer (ckpt_diff_write; optional)
 *   checkpoint/       the runtime's images: CRIU's for runc (inventory.img is
 *                     required), runsc's state file checkpoint.img
 *
 * Plain tar (checkpointctl reads plain tar); the reader also takes gzip and
 * zstd, as Podman's --compress writes them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "oci/ckptdiff.h"
#include "oci/handler.h"

#define CKPT_CRIB_JSON "crib.json"
#define CKPT_CONFIG_DUMP "config.dump"
#define CKPT_SPEC_DUMP "spec.dump"
#define CKPT_CRI_CONFIG "cri-config.json"
#define CKPT_DELETED_FILES "deleted.files"
#define CKPT_ROOTFS_DIFF "rootfs-diff.tar"
#define CKPT_IMAGES_DIR "checkpoint"
#define CKPT_CRIB_VERSION 1

/* Any one JSON member is at most this big: a spec is some KiB. */
#define CKPT_JSON_MAX_BYTES (4u << 20)
#define CKPT_DEFAULT_MAX_BYTES (64ull << 30)
#define CKPT_DEFAULT_MAX_MEMBERS 100000u

/* What ckpt_archive_write puts in an archive. Strings NULL when unknown
 * (left out), except spec_json, id and checkpoint_dir. */
struct ckpt_contents {
    enum handler_kind handler;
    const char *handler_name;     /* the RuntimeClass handler name */
    const char *runtime;          /* config.dump "runtime": runc, crun or runsc */
    const char *checkpoint_dir;   /* the runtime's images: its files and dirs go to checkpoint/ */
    const char *spec_json;        /* the OCI spec text */
    const char *cri_config_json;  /* the CRI ContainerConfig as JSON text */
    const char *rootfs_diff_path; /* a tar from ckpt_diff_write */
    const struct ckpt_deleted *deleted; /* from ckpt_diff_write */
    const char *id, *name;              /* the container's */
    const char *image;                  /* the image as the CRI config named it */
    const char *image_name;             /* NAME:TAG */
    const char *image_ref;              /* NAME@DIGEST */
    const char *image_id;               /* the image's id (sha256:...) */
    int64_t created_ns;                 /* ns since the epoch */
    int64_t checkpointed_ns;            /* ns since the epoch; 0 is now */
};

/* Writes the archive at dest_path (replacing a file there): a temp file in
 * the same dir (O_EXCL, 0600, root's: a checkpoint holds every memory page
 * of the container), fsync'd and renamed into place, the dir fsync'd.
 * deadline_ns (CLOCK_MONOTONIC, 0 for none) is checked between members and
 * blocks. On any failure the temp file is removed: nothing partial is left.
 * Errors: CRIB_TIMEOUT, CRIB_INVALID (a JSON text that does not parse, no
 * id), CRIB_INTERNAL naming the step and errno. */
int ckpt_archive_write(const struct ckpt_contents *c, const char *dest_path, int64_t deadline_ns,
                       struct crib_err *err);

/* Bounds on what an archive may hold; 0 fields take the defaults. */
struct ckpt_limits {
    uint64_t max_bytes;   /* sum of the members' sizes and rootfs-diff.tar's entries' */
    uint64_t max_members; /* members; also rootfs-diff.tar's entries and deleted paths */
};

/* What an archive says. Borrowed from the archive: valid until
 * ckpt_archive_free. Strings are NULL when the archive leaves them out. */
struct ckpt_meta {
    enum handler_kind handler;
    const char *handler_name;
    const char *runtime;
    const char *id, *name;
    const char *image, *image_name, *image_ref, *image_id;
    const char *config_text; /* config.dump as stored */
    const char *spec_text;   /* spec.dump as stored */
    const char *cri_config_text;
    const struct ckpt_deleted *deleted; /* normalized: relative, no leading "/" */
    bool has_rootfs_diff;
};

struct ckpt_archive;

/* Opens the archive at path (plain, gzip or zstd tar) and validates it all:
 * member names relative without "..", only files and dirs, no duplicates,
 * sizes and counts within limits (NULL: the defaults), JSON members that
 * parse with the expected types, a known handler (crib.json's, else one
 * inferred from config.dump's runtime), the handler's images present, and
 * every entry of rootfs-diff.tar staying inside the rootfs (no "..", no
 * absolute name, no path or hard link through a symlink it made).
 * On success *ret_archive belongs to the caller (ckpt_archive_free) and
 * keeps the file open. Errors: CRIB_NOT_FOUND (no file at path),
 * CRIB_INVALID naming the member and the problem, CRIB_INTERNAL. */
int ckpt_archive_open(const char *path, const struct ckpt_limits *limits,
                      struct ckpt_archive **ret_archive, struct crib_err *err);

/* As ckpt_archive_open, over len bytes at buf, which must outlive the
 * archive (the fuzz target's entry). Errors: CRIB_INVALID, CRIB_INTERNAL. */
int ckpt_archive_open_memory(const void *buf, size_t len, const struct ckpt_limits *limits,
                             struct ckpt_archive **ret_archive, struct crib_err *err);

/* Closes and frees a; NULL is fine. */
void ckpt_archive_free(struct ckpt_archive *a);

/* The archive's metadata; borrowed, valid until ckpt_archive_free. */
const struct ckpt_meta *ckpt_archive_meta(const struct ckpt_archive *a);

/* Extracts every member into dest_dir (absolute), which it makes (0700; its parent
 * must exist), files 0600 and dirs 0700, root's, each created with O_EXCL
 * below dest_dir through openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS), the
 * members checked again as they are read. On failure dest_dir is removed.
 * Errors: CRIB_EXISTS (dest_dir exists), CRIB_INVALID (the file changed
 * since it was opened), CRIB_INTERNAL. */
int ckpt_archive_extract(struct ckpt_archive *a, const char *dest_dir, struct crib_err *err);
