/* The image store as the CRI sees it: pull, look up, list, remove, usage.
 * It joins the registry client, the content store, the layer store and the
 * records, and reconciles them at start-up.
 *
 * Locking: one lock for the table of pulls in flight, held only to look
 * the table up; no lock is held across network I/O or unpacking. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/store.h"
#include "imagestore/images.h"
#include "imagestore/manifest.h"
#include "imagestore/registry.h"

struct imagestore_options {
    const char *root_dir;
    const char *const *hosts_dirs; /* registry config dirs (certs.d), NULL-terminated */
    unsigned max_parallel_layers;
    uint64_t max_layer_bytes; /* uncompressed bytes one layer may unpack to */
    unsigned connect_timeout_ms, stall_timeout_ms, request_timeout_ms;
    /* The platform to pick from indexes; NULL: this machine's. */
    const char *os, *architecture, *variant;
};

struct pull_progress {
    const char *image;
    uint64_t done_bytes, total_bytes;
    unsigned layers_done, layers_total;
};

struct pull_request {
    const char *image; /* as the client wrote it */
    const struct registry_auth *auth;
    const struct registry_cancel *cancel;
    /* Called now and then from the pulling thread while layers arrive. */
    void (*progress)(const struct pull_progress *p, void *ctx);
    void *progress_ctx;
};

struct fs_usage {
    char *mountpoint;
    int64_t used_bytes, inodes_used;
};

struct imagestore;

/* Opens the stores under root_dir and reconciles them with the records:
 * staging dirs, layer dirs and blobs without a record are removed; images
 * whose layers are missing are forgotten. Errors: CRIB_INTERNAL.
 * Free with imagestore_close(). */
int imagestore_open(struct store *store, const struct imagestore_options *opts,
                    struct imagestore **ret_is, struct crib_err *err);
void imagestore_close(struct imagestore *is);

/* Pulls req->image; the same image pulled twice at once is fetched once.
 * Returns the image ID in *ret_id (free() it).
 * Errors: CRIB_INVALID (bad reference, bad content), CRIB_NOT_FOUND (no such
 * image or platform), CRIB_DENIED, CRIB_LIMIT, CRIB_UNAVAILABLE (registry
 * down, cancelled), CRIB_TIMEOUT, CRIB_INTERNAL. */
int imagestore_pull(struct imagestore *is, const struct pull_request *req, char **ret_id,
                    struct crib_err *err);

/* Finds an image by ID, ID prefix, tag or digest reference.
 * Errors: CRIB_NOT_FOUND, CRIB_INVALID (malformed or ambiguous key). */
int imagestore_find(struct imagestore *is, const char *key, struct image_record **ret_image,
                    struct crib_err *err);

/* The image's config (parsed) and its raw JSON (free() it); either may be NULL
 * when not wanted. Errors: CRIB_INTERNAL (the blob is missing or bad). */
int imagestore_config(struct imagestore *is, const struct image_record *img,
                      struct image_config **ret_config, char **ret_json, struct crib_err *err);

/* The dir of layer chain_id (free() it), for a container's rootfs. */
char *imagestore_layer_dir(struct imagestore *is, const char *chain_id);

/* All images. Free each with image_record_free() and the array with free(). */
int imagestore_list(struct imagestore *is, struct image_record ***ret_images, size_t *ret_n,
                    struct crib_err *err);

/* Removes the image key names, with all its names; layers no other image
 * uses go too. An unknown key is not an error (*ret_removed false).
 * Errors: CRIB_INVALID (malformed key), CRIB_INTERNAL. */
int imagestore_remove(struct imagestore *is, const char *key, bool *ret_removed,
                      struct crib_err *err);

/* Pull activity since start, for cribd's own metrics. */
struct imagestore_counters {
    atomic_uint_fast64_t pulls_ok, pulls_failed;
    atomic_uint_fast64_t layer_bytes; /* layer bytes fetched from registries */
};

/* The counters (read them with atomic_load). */
const struct imagestore_counters *imagestore_counters(const struct imagestore *is);

/* What the image store holds, for ImageFsInfo. Free mountpoint. */
int imagestore_usage(struct imagestore *is, struct fs_usage *ret_usage, struct crib_err *err);
