#include "imagestore/imagestore.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "common/cleanup.h"
#include "common/crash.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "imagestore/internal.h"
#include "imagestore/reference.h"

static bool in_list(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

struct orphan_scan {
    char **known;
    size_t n_known;
    char **orphans;
    size_t n_orphans;
};

static void collect_orphan(const char *id, void *p)
{
    struct orphan_scan *scan = p;

    if (!in_list(scan->known, scan->n_known, id)) {
        scan->orphans = xrealloc(scan->orphans, (scan->n_orphans + 1) * sizeof(char *));
        scan->orphans[scan->n_orphans++] = xstrdup(id);
    }
}

/* Layer dirs without a record are what a pull left when it died between the
 * rename and the commit: they go. */
static int remove_orphan_layers(struct imagestore *is, struct crib_err *err)
{
    struct orphan_scan scan = {0};
    int r = images_known_layers(is->store, &scan.known, &scan.n_known, err);

    if (r >= 0)
        r = layerstore_each(is->layers, collect_orphan, &scan, err);
    for (size_t i = 0; r >= 0 && i < scan.n_orphans; i++) {
        log_debug("removing unrecorded layer %s", scan.orphans[i]);
        r = layerstore_remove(is->layers, scan.orphans[i], err);
    }
    images_strv_free(scan.known, scan.n_known);
    images_strv_free(scan.orphans, scan.n_orphans);
    return r;
}

static int remove_orphan_blobs(struct imagestore *is, struct crib_err *err)
{
    struct orphan_scan scan = {0};
    int r = images_known_blobs(is->store, &scan.known, &scan.n_known, err);

    if (r >= 0)
        r = content_each(is->content, collect_orphan, &scan, err);
    for (size_t i = 0; r >= 0 && i < scan.n_orphans; i++)
        r = content_remove(is->content, scan.orphans[i], err);
    images_strv_free(scan.known, scan.n_known);
    images_strv_free(scan.orphans, scan.n_orphans);
    return r;
}

/* An image whose layer dir is gone (removed by hand) cannot run: forget it,
 * so the kubelet pulls it again. */
static int forget_broken_images(struct imagestore *is, struct crib_err *err)
{
    struct image_record **list = NULL;
    size_t n = 0;
    int r = images_list(is->store, &list, &n, err);

    for (size_t i = 0; r >= 0 && i < n; i++) {
        for (size_t j = 0; j < list[i]->n_layers; j++) {
            char **orphans = NULL;
            size_t n_orphans = 0;

            if (layerstore_has(is->layers, list[i]->layers[j].chain_id))
                continue;
            log_warn("image %s lost layer %s: forgetting the image", list[i]->id,
                     list[i]->layers[j].chain_id);
            r = images_remove(is->store, list[i]->id, &orphans, &n_orphans, err);
            images_strv_free(orphans, n_orphans);
            break;
        }
    }
    for (size_t i = 0; i < n; i++)
        image_record_free(list[i]);
    free(list);
    return r;
}

static int reconcile(struct imagestore *is, struct crib_err *err)
{
    int r = layerstore_clear_staging(is->layers, err);

    if (r > 0)
        log_info("removed %d unfinished layer unpacks", r);
    if (r >= 0 && content_clear_temp(is->content) > 0)
        log_info("removed unfinished blob writes");
    if (r >= 0)
        r = forget_broken_images(is, err);
    if (r >= 0)
        r = remove_orphan_layers(is, err);
    if (r >= 0)
        r = remove_orphan_blobs(is, err);
    return r < 0 ? crib_wrap(err, "reconcile images") : 0;
}

/* This machine's platform in OCI's words (GOARCH names). */
static void host_platform(char **ret_arch, char **ret_variant)
{
    static const struct {
        const char *machine, *arch, *variant;
    } map[] = {
        {"x86_64", "amd64", NULL}, {"aarch64", "arm64", NULL},   {"armv7l", "arm", "v7"},
        {"armv6l", "arm", "v6"},   {"i686", "386", NULL},        {"ppc64le", "ppc64le", NULL},
        {"s390x", "s390x", NULL},  {"riscv64", "riscv64", NULL},
    };
    struct utsname u;

    uname(&u);
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(u.machine, map[i].machine) == 0) {
            *ret_arch = xstrdup(map[i].arch);
            *ret_variant = map[i].variant ? xstrdup(map[i].variant) : NULL;
            return;
        }
    *ret_arch = xstrdup(u.machine);
    *ret_variant = NULL;
}

static void copy_options(struct imagestore *is, const struct imagestore_options *o)
{
    size_t n = 0;

    is->opts = *o;
    is->os = xstrdup(o->os ? o->os : "linux");
    if (o->architecture) {
        is->architecture = xstrdup(o->architecture);
        is->variant = o->variant ? xstrdup(o->variant) : NULL;
    } else {
        host_platform(&is->architecture, &is->variant);
    }
    is->opts.os = is->os;
    is->opts.architecture = is->architecture;
    is->opts.variant = is->variant;
    while (o->hosts_dirs && o->hosts_dirs[n])
        n++;
    is->hosts_dirs = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        is->hosts_dirs[i] = xstrdup(o->hosts_dirs[i]);
    is->opts.hosts_dirs = (const char *const *)is->hosts_dirs;
    is->opts.root_dir = NULL;
}

int imagestore_open(struct store *store, const struct imagestore_options *opts,
                    struct imagestore **ret_is, struct crib_err *err)
{
    struct imagestore *is = xcalloc(1, sizeof(*is));
    int r;

    is->store = store;
    pthread_mutex_init(&is->lock, NULL);
    singleflight_init(&is->pulls);
    copy_options(is, opts);
    r = layerstore_open(opts->root_dir, &is->layers, err);
    if (r >= 0)
        r = content_open(opts->root_dir, &is->content, err);
    if (r >= 0)
        r = reconcile(is, err);
    if (r < 0) {
        imagestore_close(is);
        return r;
    }
    *ret_is = is;
    return 0;
}

/* The registry client is made at the first pull: TLS and libcurl cost
 * memory that a node which never pulls need not pay. */
int imagestore_registry(struct imagestore *is, struct registry **ret, struct crib_err *err)
{
    struct registry_options ro = {
        .hosts_dirs = is->opts.hosts_dirs,
        .connect_timeout_ms = is->opts.connect_timeout_ms,
        .stall_timeout_ms = is->opts.stall_timeout_ms,
        .request_timeout_ms = is->opts.request_timeout_ms,
        .max_attempts = 3,
    };
    int r = 0;

    pthread_mutex_lock(&is->lock);
    if (!is->registry)
        r = registry_new(&ro, &is->registry, err);
    *ret = is->registry;
    pthread_mutex_unlock(&is->lock);
    return r;
}

void imagestore_close(struct imagestore *is)
{
    if (!is)
        return;
    registry_free(is->registry);
    content_close(is->content);
    layerstore_close(is->layers);
    for (size_t i = 0; is->hosts_dirs && is->hosts_dirs[i]; i++)
        free(is->hosts_dirs[i]);
    free(is->hosts_dirs);
    free(is->os);
    free(is->architecture);
    free(is->variant);
    pthread_mutex_destroy(&is->lock);
    singleflight_done(&is->pulls);
    free(is);
}

int imagestore_find(struct imagestore *is, const char *key, struct image_record **ret_image,
                    struct crib_err *err)
{
    const char *hex = strncmp(key, "sha256:", 7) == 0 ? key + 7 : key;
    _cleanup_free_ char *tagged = NULL, *digested = NULL;
    const char *names[2];
    size_t n = 0;
    struct imgref ref;
    struct crib_err parse_err;

    if (imgref_is_id(key))
        return images_find(is->store, NULL, 0, hex, ret_image, err);
    if (imgref_parse(key, &ref, &parse_err) >= 0) {
        if (ref.digest)
            names[n++] = digested = imgref_digested(&ref, ref.digest);
        else if (ref.tag)
            names[n++] = tagged = imgref_tagged(&ref);
        imgref_done(&ref);
    } else if (!imgref_is_id_prefix(key)) {
        *err = parse_err;
        return crib_err_ret(err);
    }
    return images_find(is->store, names, n, imgref_is_id_prefix(key) ? hex : NULL, ret_image, err);
}

int imagestore_config(struct imagestore *is, const struct image_record *img,
                      struct image_config **ret_config, char **ret_json, struct crib_err *err)
{
    _cleanup_free_ char *json = NULL;
    size_t len;
    int r = content_get(is->content, img->id, IMAGE_CONFIG_MAX_BYTES, &json, &len, err);

    if (r < 0) {
        err->code = CRIB_INTERNAL; /* a recorded image without its config is corruption */
        return crib_wrap(err, "image %s", img->id);
    }
    if (ret_config) {
        r = image_config_parse(json, len, ret_config, err);
        if (r < 0)
            return crib_wrap(err, "image %s", img->id);
    }
    if (ret_json)
        *ret_json = TAKE_PTR(json);
    return 0;
}

int imagestore_list(struct imagestore *is, struct image_record ***ret_images, size_t *ret_n,
                    struct crib_err *err)
{
    return images_list(is->store, ret_images, ret_n, err);
}

int imagestore_remove(struct imagestore *is, const char *key, bool *ret_removed,
                      struct crib_err *err)
{
    struct image_record *img = NULL;
    char **orphans = NULL;
    size_t n = 0;
    int r = imagestore_find(is, key, &img, err);

    *ret_removed = false;
    if (r < 0)
        return err->code == CRIB_NOT_FOUND ? 0 : r;
    r = images_remove(is->store, img->id, &orphans, &n, err);
    if (r < 0 && err->code == CRIB_NOT_FOUND)
        r = 0; /* removed by a concurrent call */
    else if (r >= 0)
        *ret_removed = true;
    /* Records first, then the files: a crash in between leaves orphans that
     * start-up removes, never a record without its files. */
    CRASH_POINT("image-remove-files");
    for (size_t i = 0; r >= 0 && i < n; i++)
        r = layerstore_remove(is->layers, orphans[i], err);
    if (r >= 0 && *ret_removed)
        r = content_remove(is->content, img->id, err);
    if (r >= 0 && *ret_removed)
        r = content_remove(is->content, img->manifest_digest, err);
    images_strv_free(orphans, n);
    image_record_free(img);
    return r;
}

int imagestore_usage(struct imagestore *is, struct fs_usage *ret_usage, struct crib_err *err)
{
    int r = images_usage(is->store, &ret_usage->used_bytes, &ret_usage->inodes_used, err);

    if (r < 0)
        return r;
    ret_usage->mountpoint = xstrdup(layerstore_mountpoint(is->layers));
    return 0;
}

char *imagestore_layer_dir(struct imagestore *is, const char *chain_id)
{
    return layerstore_path(is->layers, chain_id);
}

const struct imagestore_counters *imagestore_counters(const struct imagestore *is)
{
    return &is->counters;
}
