/* Image records in the store: images, their names, their layers. Only the
 * records: the layer dirs and blobs they stand for are written before a
 * record is added and removed after it is deleted (design.md). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/store.h"

struct image_layer {
    char *chain_id;
    char *diff_id;
    int64_t size;   /* bytes of content */
    int64_t inodes; /* entries */
};

struct image_record {
    char *id;              /* the config digest */
    char *manifest_digest; /* of the platform manifest pulled */
    int64_t size;          /* sum of the layers' content bytes */
    int64_t pulled_ns;
    bool pinned;
    char *user; /* the config's User, or NULL */
    size_t n_tags, n_digests, n_layers;
    char **tags;                /* "docker.io/library/busybox:1.36", sorted */
    char **digests;             /* "docker.io/library/busybox@sha256:...", sorted */
    struct image_layer *layers; /* bottom first */
};

/* Records img: its layers (those not yet known), the image, and its names
 * (a name that pointed at another image moves to this one). One transaction;
 * crash point image-record-commit. Errors: CRIB_INTERNAL. */
int images_add(struct store *s, const struct image_record *img, struct crib_err *err);

/* Points the names of img (tags and digests) at img->id, which must be
 * recorded. Errors: CRIB_INTERNAL. */
int images_add_names(struct store *s, const struct image_record *img, struct crib_err *err);

/* Finds an image by key: a full ID (with or without "sha256:"), a name
 * (exactly as recorded), or an unambiguous ID prefix.
 * Errors: CRIB_NOT_FOUND, CRIB_INVALID (an ambiguous prefix), CRIB_INTERNAL.
 * Free *ret with image_record_free(). */
int images_find(struct store *s, const char *const *names, size_t n_names, const char *id_prefix,
                struct image_record **ret_image, struct crib_err *err);

/* All images, sorted by ID. Free each with image_record_free() and the array with free(). */
int images_list(struct store *s, struct image_record ***ret_images, size_t *ret_n,
                struct crib_err *err);

/* Deletes image id with its names, and the layers no other image uses; their
 * chain IDs are returned (free with images_strv_free) for the caller to
 * remove the dirs after this commit. Crash point image-remove-commit.
 * Errors: CRIB_NOT_FOUND, CRIB_INTERNAL. */
int images_remove(struct store *s, const char *id, char ***ret_orphans, size_t *ret_n,
                  struct crib_err *err);

/* Whether layer chain_id is recorded, and then its bytes and inodes.
 * Errors: CRIB_INTERNAL. */
int images_layer_info(struct store *s, const char *chain_id, bool *ret_found, int64_t *ret_size,
                      int64_t *ret_inodes, struct crib_err *err);

/* Every recorded layer's chain ID and every recorded blob digest (image IDs
 * and manifest digests), for start-up reconciliation. Free with images_strv_free. */
int images_known_layers(struct store *s, char ***ret_ids, size_t *ret_n, struct crib_err *err);
int images_known_blobs(struct store *s, char ***ret_digests, size_t *ret_n, struct crib_err *err);

/* Sum of recorded layers' bytes and inodes, for ImageFsInfo. */
int images_usage(struct store *s, int64_t *ret_bytes, int64_t *ret_inodes, struct crib_err *err);

void image_record_free(struct image_record *img);
void images_strv_free(char **v, size_t n);
