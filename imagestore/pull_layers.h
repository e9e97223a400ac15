/* The layers of one pull: those not yet stored are fetched in parallel
 * (bounded), each streamed through a pipe from the registry client into the
 * unpacker, verified, and moved into the layer store. */
#pragma once

#include "imagestore/imagestore.h"
#include "imagestore/internal.h"

/* The layers of one pull: the image's layers bottom first, and the staging
 * dirs of those this pull unpacked, waiting to be moved into place. */
struct pulled_layers {
    struct image_layer *layers;
    size_t n_layers;
    char **staged; /* per layer: a staging dir name, or NULL when already stored */
    bool *renamed; /* per layer: moved into place by this pull */
};

/* Fetches and unpacks every layer of m not yet stored into staging dirs and
 * verifies them; nothing is moved into place yet, so a failure leaves nothing.
 * Crash point pull-layer-unpacked. Errors: as imagestore_pull.
 * Free *ret with pull_layers_abandon() or pull_layers_done(). */
int pull_layers(struct imagestore *is, struct registry_repo *repo, const struct pull_request *req,
                const struct manifest *m, const struct image_config *config,
                struct pulled_layers *ret, struct crib_err *err);

/* Moves the staged layers into place, just before the record is written.
 * Crash point layer-commit-rename. Errors: CRIB_INTERNAL. */
int pull_layers_commit(struct imagestore *is, struct pulled_layers *pl, struct crib_err *err);

/* Undoes a pull that will not be recorded: removes its staging dirs and the
 * layer dirs it moved into place, then frees pl. */
void pull_layers_abandon(struct imagestore *is, struct pulled_layers *pl);

/* Frees pl after the record is committed. */
void pull_layers_done(struct pulled_layers *pl);
