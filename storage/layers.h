/* The layer store: one dir per unpacked layer, named by chain ID, under
 * ROOT/storage/layers; layers are unpacked into ROOT/storage/tmp and renamed
 * into place only once complete and verified. The database records which
 * layers exist; this module only keeps the dirs (design.md: disk effects
 * complete before the commit, start-up reconciles). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct layer_store;

/* Opens (creating) ROOT/storage with its layers/ and tmp/ dirs.
 * Errors: CRIB_INTERNAL. Free with layerstore_close(). */
int layerstore_open(const char *root_dir, struct layer_store **ret_store, struct crib_err *err);
void layerstore_close(struct layer_store *ls);

/* Makes a new empty staging dir. Returns its dir fd (caller closes) and its
 * name in *ret_name (free() it). Errors: CRIB_INTERNAL. */
int layerstore_stage(struct layer_store *ls, char **ret_name, struct crib_err *err);

/* Moves staging dir `name` into place as layer chain_id. Returns 0, or 1 when
 * that layer was already there (another pull won the race: the staging dir is
 * removed). Crash point: layer-commit-rename (before the rename).
 * Errors: CRIB_INTERNAL. */
int layerstore_commit(struct layer_store *ls, const char *name, const char *chain_id,
                      struct crib_err *err);

/* Removes a staging dir; failures are logged at debug and ignored. */
void layerstore_discard(struct layer_store *ls, const char *name);

/* Removes layer chain_id's dir; a missing one is fine. Errors: CRIB_INTERNAL. */
int layerstore_remove(struct layer_store *ls, const char *chain_id, struct crib_err *err);

/* True when layer chain_id's dir exists. */
bool layerstore_has(struct layer_store *ls, const char *chain_id);

/* The absolute path of layer chain_id's dir. New string: free() it. */
char *layerstore_path(struct layer_store *ls, const char *chain_id);

/* Calls fn for every layer dir present, with its chain ID ("sha256:..."). */
int layerstore_each(struct layer_store *ls, void (*fn)(const char *chain_id, void *ctx), void *ctx,
                    struct crib_err *err);

/* Empties tmp/: what an interrupted unpack left. Returns how many were removed. */
int layerstore_clear_staging(struct layer_store *ls, struct crib_err *err);

/* The mountpoint of the filesystem holding the store, for ImageFsInfo.
 * A static-lifetime string owned by ls. */
const char *layerstore_mountpoint(struct layer_store *ls);
