/* Manifests and indexes as a registry might serve them. The first byte picks
 * the Content-Type, so every classification path is reached; an index that
 * parses is then searched for a few platforms. */
#include <stddef.h>
#include <stdint.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "imagestore/manifest.h"

static const char *const content_types[] = {
    NULL, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST, MEDIA_DOCKER_LIST, MEDIA_DOCKER_MANIFEST,
};

struct want {
    const char *os, *architecture, *variant;
};

static const struct want wants[] = {
    {"linux", "amd64", NULL}, {"linux", "arm64", "v8"},     {"linux", "armhf", NULL},
    {"linux", "arm", "v6"},   {"unknown", "unknown", NULL},
};

/* What callers rely on: every digest valid, every size non-negative. */
static void check_descriptors(const struct descriptor *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!digest_is_valid(d[i].digest) || d[i].size < 0 || !d[i].media_type)
            __builtin_trap();
}

static void select_some(const struct manifest *m)
{
    struct crib_err err;

    for (size_t i = 0; i < ARRAY_SIZE(wants); i++) {
        const struct descriptor *d = NULL;
        int r = manifest_select(m, wants[i].os, wants[i].architecture, wants[i].variant, &d, &err);

        if (r == 0 && (d < m->manifests || d >= m->manifests + m->n_manifests))
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct manifest *m = NULL;
    struct crib_err err;

    if (size < 1)
        return 0;
    if (manifest_parse((const char *)data + 1, size - 1,
                       content_types[data[0] % ARRAY_SIZE(content_types)], &m, &err) < 0)
        return 0;
    if (m->kind == MANIFEST_INDEX) {
        check_descriptors(m->manifests, m->n_manifests);
        select_some(m);
    } else {
        check_descriptors(&m->config, 1);
        check_descriptors(m->layers, m->n_layers);
    }
    manifest_free(m);
    return 0;
}
