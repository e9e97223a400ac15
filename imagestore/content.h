/* The content store: manifests and image configs as blobs named by digest,
 * under ROOT/blobs/<algo>/<hex>. Layers are not kept as blobs: they are
 * unpacked once into the layer store (design.md). */
#pragma once

#include <stddef.h>

#include "common/err.h"

struct content_store;

/* Errors: CRIB_INTERNAL. Free with content_close(). */
int content_open(const char *root_dir, struct content_store **ret_store, struct crib_err *err);
void content_close(struct content_store *cs);

/* Writes data as blob digest after checking that data hashes to it; written
 * atomically and synced, so a present blob is always whole (and is kept).
 * Errors: CRIB_INVALID (digest mismatch), CRIB_INTERNAL. */
int content_put(struct content_store *cs, const char *digest, const void *data, size_t len,
                struct crib_err *err);

/* Reads blob digest (at most max_bytes) into a new buffer (free() it).
 * Errors: CRIB_NOT_FOUND, CRIB_LIMIT, CRIB_INTERNAL. */
int content_get(struct content_store *cs, const char *digest, size_t max_bytes, char **ret_data,
                size_t *ret_len, struct crib_err *err);

/* Removes blob digest; a missing one is fine. Errors: CRIB_INTERNAL. */
int content_remove(struct content_store *cs, const char *digest, struct crib_err *err);

/* Removes what an interrupted content_put left (temporary files); returns
 * how many. For start-up. */
int content_clear_temp(struct content_store *cs);

/* Calls fn for each blob present, with its digest. */
int content_each(struct content_store *cs, void (*fn)(const char *digest, void *ctx), void *ctx,
                 struct crib_err *err);
