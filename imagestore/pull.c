/* Pulling an image: resolve, pick the platform, fetch the config, then the
 * missing layers in parallel (each streamed once through its digest, the
 * decompressor and the tar reader into a staging dir), verify, move into
 * place, and record last. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/crash.h"
#include "common/singleflight.h"
#include "common/xalloc.h"
#include "imagestore/internal.h"
#include "imagestore/pull_layers.h"
#include "imagestore/reference.h"

struct pull {
    struct imagestore *is;
    const struct pull_request *req;
    struct imgref ref;
    struct registry_repo *repo;
    char top_digest[DIGEST_MAX_STR];      /* what the tag resolved to: the repo digest */
    char manifest_digest[DIGEST_MAX_STR]; /* the platform's manifest */
    char *manifest_json;
    size_t manifest_len;
    struct manifest *manifest;
    char *config_json;
    size_t config_len;
    struct image_config *config;
};

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int fetch_manifest(struct pull *p, const char *reference, struct crib_err *err)
{
    _cleanup_free_ char *content_type = NULL;
    int r;

    free(p->manifest_json);
    manifest_free(p->manifest);
    p->manifest = NULL;
    r = registry_get_manifest(p->repo, reference, MANIFEST_MAX_BYTES, &p->manifest_json,
                              &p->manifest_len, &content_type, p->manifest_digest, err);
    if (r < 0)
        return r;
    r = manifest_parse(p->manifest_json, p->manifest_len, content_type, &p->manifest, err);
    return r < 0 ? crib_wrap(err, "manifest %s", p->manifest_digest) : 0;
}

/* The tag or digest, then the platform's manifest when that is an index. */
static int resolve(struct pull *p, struct crib_err *err)
{
    const struct imagestore_options *o = &p->is->opts;
    const struct descriptor *entry;
    _cleanup_free_ char *entry_digest = NULL;
    int r = fetch_manifest(p, p->ref.digest ? p->ref.digest : p->ref.tag, err);

    if (r < 0)
        return r;
    memcpy(p->top_digest, p->manifest_digest, sizeof(p->top_digest));
    if (p->manifest->kind == MANIFEST_IMAGE)
        return 0;
    r = manifest_select(p->manifest, o->os, o->architecture, o->variant, &entry, err);
    if (r < 0)
        return r;
    entry_digest = xstrdup(entry->digest);
    r = fetch_manifest(p, entry_digest, err);
    if (r >= 0 && p->manifest->kind != MANIFEST_IMAGE)
        r = crib_fail(err, CRIB_INVALID, 0, "index entry %s is an index itself", entry_digest);
    return r;
}

/* The config: from the content store when an earlier pull kept it. */
static int fetch_config(struct pull *p, struct crib_err *err)
{
    const char *digest = p->manifest->config.digest;
    struct crib_err ignored;
    int r = content_get(p->is->content, digest, IMAGE_CONFIG_MAX_BYTES, &p->config_json,
                        &p->config_len, &ignored);

    if (r < 0)
        r = registry_get_blob(p->repo, digest, IMAGE_CONFIG_MAX_BYTES, &p->config_json,
                              &p->config_len, err);
    if (r >= 0)
        r = image_config_parse(p->config_json, p->config_len, &p->config, err);
    if (r >= 0 && p->config->n_diff_ids != p->manifest->n_layers)
        r = crib_fail(err, CRIB_INVALID, 0,
                      "the manifest has %zu layers and the config %zu diff_ids",
                      p->manifest->n_layers, p->config->n_diff_ids);
    return r < 0 ? crib_wrap(err, "config %s", digest) : 0;
}

static void add_name(char ***v, size_t *n, char *name_owned)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = name_owned;
}

static bool has_name(char **v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], name) == 0)
            return true;
    return false;
}

/* The tag and repo digest this pull gives its image. */
static void wanted_names(struct pull *p, struct image_record *names)
{
    if (p->ref.tag && !p->ref.digest)
        add_name(&names->tags, &names->n_tags, imgref_tagged(&p->ref));
    add_name(&names->digests, &names->n_digests, imgref_digested(&p->ref, p->top_digest));
}

/* A re-pull of an image already here (the same manifest, every layer in
 * place) fetches nothing more: at most its names move. Sets *ret_done. */
static int try_warm(struct pull *p, bool *ret_done, struct crib_err *err)
{
    struct image_record *img = NULL;
    struct image_record names = {.id = p->manifest->config.digest};
    bool missing = false;
    int r;

    *ret_done = false;
    if (images_find(p->is->store, NULL, 0, digest_hex(names.id), &img, err) < 0)
        return err->code == CRIB_NOT_FOUND ? 0 : crib_err_ret(err);
    for (size_t i = 0; i < img->n_layers && !missing; i++)
        missing = !layerstore_has(p->is->layers, img->layers[i].chain_id);
    r = 0;
    if (!missing && strcmp(img->manifest_digest, p->manifest_digest) == 0) {
        wanted_names(p, &names);
        for (size_t i = 0; i < names.n_tags && !missing; i++)
            missing = !has_name(img->tags, img->n_tags, names.tags[i]);
        for (size_t i = 0; i < names.n_digests && !missing; i++)
            missing = !has_name(img->digests, img->n_digests, names.digests[i]);
        r = missing ? images_add_names(p->is->store, &names, err) : 0;
        *ret_done = r >= 0;
        images_strv_free(names.tags, names.n_tags);
        images_strv_free(names.digests, names.n_digests);
    }
    image_record_free(img);
    return r;
}

static int record(struct pull *p, struct pulled_layers *pl, struct crib_err *err)
{
    struct image_layer *layers = pl->layers;
    size_t n_layers = pl->n_layers;
    struct image_record img = {
        .id = p->manifest->config.digest,
        .manifest_digest = p->manifest_digest,
        .pulled_ns = now_ns(),
        .user = p->config->user,
        .n_layers = n_layers,
        .layers = layers,
    };
    int r;

    for (size_t i = 0; i < n_layers; i++)
        img.size += layers[i].size;
    wanted_names(p, &img);
    r = content_put(p->is->content, p->manifest_digest, p->manifest_json, p->manifest_len, err);
    if (r >= 0)
        r = content_put(p->is->content, img.id, p->config_json, p->config_len, err);
    CRASH_POINT("pull-blobs-written");
    if (r >= 0)
        r = pull_layers_commit(p->is, pl, err);
    if (r >= 0)
        r = images_add(p->is->store, &img, err);
    images_strv_free(img.tags, img.n_tags);
    images_strv_free(img.digests, img.n_digests);
    return r;
}

static int run_pull(struct pull *p, char **ret_id, struct crib_err *err)
{
    struct pulled_layers pl = {0};
    bool pulled = false, warm = false;
    struct registry *reg;
    int r = imagestore_registry(p->is, &reg, err);

    if (r >= 0)
        r = registry_repo_open(reg, &p->ref, p->req->auth, p->req->cancel, &p->repo, err);
    if (r >= 0)
        r = resolve(p, err);
    CRASH_POINT("pull-resolved");
    if (r >= 0)
        r = try_warm(p, &warm, err);
    if (r >= 0 && warm) {
        *ret_id = xstrdup(p->manifest->config.digest);
        return 0;
    }
    if (r >= 0)
        r = fetch_config(p, err);
    if (r >= 0) {
        r = pull_layers(p->is, p->repo, p->req, p->manifest, p->config, &pl, err);
        pulled = r >= 0;
    }
    CRASH_POINT("pull-layers-done");
    if (r >= 0)
        r = record(p, &pl, err);
    /* Unrecorded, the layers this pull put in place must go again; the blobs
     * are removed by the next start-up's reconcile if no image claims them. */
    if (r < 0 && pulled)
        pull_layers_abandon(p->is, &pl);
    else if (pulled)
        pull_layers_done(&pl);
    if (r >= 0)
        *ret_id = xstrdup(p->manifest->config.digest);
    return r;
}

static void pull_done(struct pull *p)
{
    registry_repo_close(p->repo);
    imgref_done(&p->ref);
    free(p->manifest_json);
    manifest_free(p->manifest);
    free(p->config_json);
    image_config_free(p->config);
}

static int run_pull_flight(void *ctx, char **ret_id, struct crib_err *err)
{
    return run_pull(ctx, ret_id, err);
}

/* A pull cancelled by its own client says nothing about the others waiting
 * for it: they pull again. */
static bool leader_cancelled(const struct crib_err *err)
{
    return err->errnum == ECANCELED;
}

int imagestore_pull(struct imagestore *is, const struct pull_request *req, char **ret_id,
                    struct crib_err *err)
{
    struct pull p = {.is = is, .req = req};
    _cleanup_free_ char *key = NULL;
    int r = imgref_parse(req->image, &p.ref, err);

    if (r < 0)
        return r;
    key = imgref_format(&p.ref);
    r = singleflight_do(&is->pulls, key, run_pull_flight, &p, leader_cancelled, ret_id, err);
    pull_done(&p);
    atomic_fetch_add(r < 0 ? &is->counters.pulls_failed : &is->counters.pulls_ok, 1);
    if (r < 0)
        return crib_wrap(err, "pull %s", key);
    return 0;
}
