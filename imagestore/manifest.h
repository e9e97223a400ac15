/* Manifests, indexes and image configs: OCI image-spec v1 and Docker's
 * schema 2 / manifest list. Schema 1 is refused. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define MANIFEST_MAX_BYTES (4u << 20)
#define IMAGE_CONFIG_MAX_BYTES (8u << 20)
#define MANIFEST_MAX_LAYERS 1000
#define MANIFEST_MAX_ENTRIES 1000

#define MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MEDIA_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

enum manifest_kind { MANIFEST_IMAGE, MANIFEST_INDEX };

enum layer_compression { LAYER_NONE, LAYER_GZIP, LAYER_ZSTD };

struct descriptor {
    char *media_type;
    char *digest; /* validated */
    int64_t size; /* >= 0 */
    /* index entries only (NULL when absent) */
    char *os, *architecture, *variant;
    /* layers only */
    enum layer_compression compression;
};

struct manifest {
    enum manifest_kind kind;
    char *media_type;
    /* MANIFEST_IMAGE */
    struct descriptor config;
    size_t n_layers;
    struct descriptor *layers;
    /* MANIFEST_INDEX */
    size_t n_manifests;
    struct descriptor *manifests;
};

/* Parses a manifest or index. content_type is the registry's Content-Type
 * (may be NULL or empty: then the mediaType field, then the document's shape
 * decide). Every digest is validated; layer media types must be tar layers
 * (plain, gzip, zstd; OCI or Docker; non-distributable/foreign included).
 * Errors: CRIB_INVALID naming the problem (schema 1, unknown media type, bad
 * digest, missing field), CRIB_LIMIT (too big, too many layers).
 * On success free *ret with manifest_free(). */
int manifest_parse(const char *data, size_t len, const char *content_type,
                   struct manifest **ret_manifest, struct crib_err *err);

/* Picks an index entry for os/architecture/variant (variant NULL: any; for
 * arm64 an entry without variant matches "v8"). Entries that are not image
 * manifests (attestations: platform unknown/unknown) are passed over.
 * Errors: CRIB_NOT_FOUND listing the platforms the index has.
 * *ret_entry points into index. */
int manifest_select(const struct manifest *index, const char *os, const char *architecture,
                    const char *variant, const struct descriptor **ret_entry, struct crib_err *err);

void manifest_free(struct manifest *m);

struct image_config {
    char *os, *architecture, *variant;
    char *created; /* RFC 3339, or NULL */
    char *user;    /* Config.User, or NULL */
    char *working_dir;
    char *stop_signal;
    size_t n_env, n_entrypoint, n_cmd, n_volumes, n_labels, n_diff_ids;
    char **env; /* "K=V" */
    char **entrypoint;
    char **cmd;
    char **volumes;    /* paths (the keys of Config.Volumes) */
    char **label_keys; /* with label_values, same index */
    char **label_values;
    char **diff_ids; /* rootfs.diff_ids, validated digests, in layer order */
};

/* Parses an image config (OCI or Docker). rootfs.type must be "layers" and
 * every diff_id a valid digest.
 * Errors: CRIB_INVALID naming the field, CRIB_LIMIT. Free with image_config_free(). */
int image_config_parse(const char *data, size_t len, struct image_config **ret_config,
                       struct crib_err *err);

void image_config_free(struct image_config *c);
