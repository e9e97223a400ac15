/* The layers of one pull: those not yet stored are fetched in parallel
 * (bounded), each streamed through a pipe from the registry client into the
 * unpacker, verified, and moved into the layer store. */
#pragma once

#include "imagestore/imagestore.h"
#include "imagestore/internal.h"

/* Makes every layer of m present, returning the image's layers bottom first
 * (free with pull_layers_free). Crash point pull-layer-unpacked.
 * Errors: as imagestore_pull. */
int pull_layers(struct imagestore *is, struct registry_repo *repo, const struct pull_request *req,
                const struct manifest *m, const struct image_config *config,
                struct image_layer **ret_layers, size_t *ret_n, struct crib_err *err);

void pull_layers_free(struct image_layer *layers, size_t n);
