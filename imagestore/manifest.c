/* Image manifests and indexes: OCI image-spec v1.1 and Docker's schema 2 and
 * manifest list. The registry's bytes are hostile until proven otherwise:
 * every field is type-checked, every digest validated, every count capped. */
#include "imagestore/manifest.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "common/xalloc.h"
#include "imagestore/docjson.h"

CRIB_DEFINE_CLEANUP(struct manifest, manifest_free)

#define SCHEMA1_MSG                                                                                \
    "schema 1 manifests are not supported; push the image again with a current client"

/* Longest media type we compare; anything longer cannot be one we know. */
#define MEDIA_TYPE_MAX 128

struct manifest_type {
    const char *media_type;
    enum manifest_kind kind;
};

static const struct manifest_type manifest_types[] = {
    {MEDIA_OCI_INDEX, MANIFEST_INDEX},
    {MEDIA_DOCKER_LIST, MANIFEST_INDEX},
    {MEDIA_OCI_MANIFEST, MANIFEST_IMAGE},
    {MEDIA_DOCKER_MANIFEST, MANIFEST_IMAGE},
};

static const char *const schema1_types[] = {
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
};

/* Content-Types that say nothing about the document: some registries and
 * S3-backed mirrors serve manifests fetched by digest with these. */
static const char *const generic_types[] = {
    "application/json",
    "application/octet-stream",
    "binary/octet-stream",
    "text/plain",
};

struct layer_type {
    const char *media_type;
    enum layer_compression compression;
};

/* Tar layers only: anything else (helm charts, signatures, wasm) cannot be
 * unpacked into a rootfs. The Docker zstd type is the one containerd defines. */
static const struct layer_type layer_types[] = {
    {"application/vnd.oci.image.layer.v1.tar", LAYER_NONE},
    {"application/vnd.oci.image.layer.v1.tar+gzip", LAYER_GZIP},
    {"application/vnd.oci.image.layer.v1.tar+zstd", LAYER_ZSTD},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar", LAYER_NONE},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", LAYER_GZIP},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", LAYER_ZSTD},
    {"application/vnd.docker.image.rootfs.diff.tar", LAYER_NONE},
    {"application/vnd.docker.image.rootfs.diff.tar.gzip", LAYER_GZIP},
    {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", LAYER_GZIP},
    {"application/vnd.docker.image.rootfs.diff.tar.zstd", LAYER_ZSTD},
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

/* A Content-Type without its parameters, trimmed and lowercased (media types
 * are case-insensitive, RFC 6838). False when it is too long to be known. */
static bool bare_media_type(const char *content_type, char out[MEDIA_TYPE_MAX])
{
    const char *start = content_type, *end;
    size_t n = 0;

    while (*start == ' ' || *start == '\t')
        start++;
    end = start + strcspn(start, ";");
    while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if ((size_t)(end - start) >= MEDIA_TYPE_MAX)
        return false;
    for (const char *p = start; p < end; p++)
        out[n++] = (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
    out[n] = '\0';
    return true;
}

/* Returns 1 with *ret_type (an entry of manifest_types) for a manifest or index type, 0
 * for a generic Content-Type (is_header only), or a CRIB_INVALID error. */
static int classify(const char *type, bool is_header, const struct manifest_type **ret_type,
                    struct crib_err *err)
{
    const char *where = is_header ? "Content-Type" : "mediaType";
    char bare[MEDIA_TYPE_MAX];

    if (!bare_media_type(type, bare))
        return crib_fail(err, CRIB_INVALID, 0, "unknown manifest %s '%.100s'", where, type);
    if (is_header && (!*bare || in_list(bare, generic_types, ARRAY_SIZE(generic_types))))
        return 0;
    if (in_list(bare, schema1_types, ARRAY_SIZE(schema1_types)))
        return crib_fail(err, CRIB_INVALID, 0, SCHEMA1_MSG);
    for (size_t i = 0; i < ARRAY_SIZE(manifest_types); i++) {
        if (strcmp(bare, manifest_types[i].media_type) == 0) {
            *ret_type = &manifest_types[i];
            return 1;
        }
    }
    return crib_fail(err, CRIB_INVALID, 0, "unknown manifest %s '%.100s'", where, type);
}

static int check_schema_version(struct json_object *root, struct crib_err *err)
{
    struct json_object *v;
    int64_t version;

    if (!json_object_object_get_ex(root, "schemaVersion", &v) ||
        !json_object_is_type(v, json_type_int))
        return crib_fail(err, CRIB_INVALID, 0, "no integer \"schemaVersion\"");
    version = json_object_get_int64(v);
    if (version == 1)
        return crib_fail(err, CRIB_INVALID, 0, SCHEMA1_MSG);
    if (version != 2)
        return crib_fail(err, CRIB_INVALID, 0, "schemaVersion is %lld, not 2", (long long)version);
    return 0;
}

/* Without a media type, the shape decides; OCI names are the default because
 * Docker documents always carry their mediaType. */
static int kind_from_shape(struct json_object *root, const struct manifest_type **ret_type,
                           struct crib_err *err)
{
    struct json_object *v;

    if (json_object_object_get_ex(root, "manifests", &v) && json_object_is_type(v, json_type_array))
        *ret_type = &manifest_types[0]; /* MEDIA_OCI_INDEX */
    else if (json_object_object_get_ex(root, "config", NULL) &&
             json_object_object_get_ex(root, "layers", NULL))
        *ret_type = &manifest_types[2]; /* MEDIA_OCI_MANIFEST */
    else
        return crib_fail(err, CRIB_INVALID, 0,
                         "neither an image manifest nor an index: no mediaType, no \"manifests\" "
                         "array, no \"config\" and \"layers\"");
    return 0;
}

/* The Content-Type wins over the mediaType field, which wins over the shape:
 * a registry serves a manifest with the type it was pushed with, and OCI makes
 * the field optional. A field that contradicts the header's kind is refused:
 * one document must not be read two ways. */
static int decide_type(struct json_object *root, const char *content_type,
                       const struct manifest_type **ret_type, struct crib_err *err)
{
    const struct manifest_type *header = NULL, *field = NULL;
    const char *media_type;
    int r;

    if (content_type) {
        r = classify(content_type, true, &header, err);
        if (r < 0)
            return r;
    }
    r = docjson_string(root, "mediaType", "mediaType", &media_type, err);
    if (r < 0)
        return r;
    if (media_type) {
        r = classify(media_type, false, &field, err);
        if (r < 0)
            return r;
    }
    r = check_schema_version(root, err);
    if (r < 0)
        return r;
    if (header && field && header->kind != field->kind)
        return crib_fail(err, CRIB_INVALID, 0, "mediaType '%s' contradicts Content-Type '%s'",
                         field->media_type, header->media_type);
    *ret_type = header ? header : field;
    if (*ret_type)
        return 0;
    return kind_from_shape(root, ret_type, err);
}

static void descriptor_done(struct descriptor *d)
{
    free(d->media_type);
    free(d->digest);
    free(d->os);
    free(d->architecture);
    free(d->variant);
}

/* obj[key], which must be a string; what names obj ("layer 3"). */
static int required_string(struct json_object *obj, const char *key, const char *what,
                           const char **ret, struct crib_err *err)
{
    char path[64];
    int r;

    snprintf(path, sizeof(path), "%s %s", what, key);
    r = docjson_string(obj, key, path, ret, err);
    if (r == 0)
        return crib_fail(err, CRIB_INVALID, 0, "%s has no %s", what, key);
    return r < 0 ? r : 0;
}

/* Fills d from a descriptor object; what names it ("layer 3"). */
static int parse_descriptor(struct json_object *obj, const char *what, struct descriptor *d,
                            struct crib_err *err)
{
    struct json_object *size;
    char path[64];
    const char *s;
    int r;

    if (!json_object_is_type(obj, json_type_object))
        return crib_fail(err, CRIB_INVALID, 0, "%s is not an object", what);
    r = required_string(obj, "mediaType", what, &s, err);
    if (r < 0)
        return r;
    d->media_type = xstrdup(s);
    r = required_string(obj, "digest", what, &s, err);
    if (r < 0)
        return r;
    snprintf(path, sizeof(path), "%s digest", what);
    r = digest_check(s, path, err);
    if (r < 0)
        return r;
    d->digest = xstrdup(s);
    if (!json_object_object_get_ex(obj, "size", &size) || !json_object_is_type(size, json_type_int))
        return crib_fail(err, CRIB_INVALID, 0, "%s has no integer size", what);
    d->size = json_object_get_int64(size);
    if (d->size < 0)
        return crib_fail(err, CRIB_INVALID, 0, "%s size %lld is negative", what,
                         (long long)d->size);
    return 0;
}

static int parse_layer(struct json_object *obj, size_t i, struct descriptor *d,
                       struct crib_err *err)
{
    char what[32];
    int r;

    snprintf(what, sizeof(what), "layer %zu", i);
    r = parse_descriptor(obj, what, d, err);
    if (r < 0)
        return r;
    for (size_t k = 0; k < ARRAY_SIZE(layer_types); k++) {
        if (strcmp(d->media_type, layer_types[k].media_type) == 0) {
            d->compression = layer_types[k].compression;
            return 0;
        }
    }
    return crib_fail(err, CRIB_INVALID, 0,
                     "layer %zu has media type '%.100s', which is not a container image layer", i,
                     d->media_type);
}

/* The array at root[key], capped at max entries. */
static int get_array(struct json_object *root, const char *key, size_t max,
                     struct json_object **ret, size_t *ret_n, struct crib_err *err)
{
    struct json_object *arr;
    size_t n;

    if (!json_object_object_get_ex(root, key, &arr))
        return crib_fail(err, CRIB_INVALID, 0, "no \"%s\"", key);
    if (!json_object_is_type(arr, json_type_array))
        return crib_fail(err, CRIB_INVALID, 0, "\"%s\" is not an array", key);
    n = json_object_array_length(arr);
    if (n > max)
        return crib_fail(err, CRIB_LIMIT, 0, "%zu %s, over the limit of %zu", n, key, max);
    *ret = arr;
    *ret_n = n;
    return 0;
}

static int parse_image(struct json_object *root, struct manifest *m, struct crib_err *err)
{
    struct json_object *config, *layers;
    size_t n;
    int r;

    if (!json_object_object_get_ex(root, "config", &config))
        return crib_fail(err, CRIB_INVALID, 0, "no \"config\" descriptor");
    r = parse_descriptor(config, "config", &m->config, err);
    if (r < 0)
        return r;
    if (strcmp(m->config.media_type, MEDIA_OCI_CONFIG) != 0 &&
        strcmp(m->config.media_type, MEDIA_DOCKER_CONFIG) != 0)
        return crib_fail(err, CRIB_INVALID, 0,
                         "config has media type '%.100s', which is not a container image config",
                         m->config.media_type);
    r = get_array(root, "layers", MANIFEST_MAX_LAYERS, &layers, &n, err);
    if (r < 0)
        return r;
    m->layers = xcalloc(n, sizeof(*m->layers));
    for (size_t i = 0; i < n; i++) {
        /* Counted before parsing, so manifest_free sees a half-filled entry. */
        m->n_layers++;
        r = parse_layer(json_object_array_get_idx(layers, i), i, &m->layers[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int parse_platform(struct json_object *entry, const char *what, struct descriptor *d,
                          struct crib_err *err)
{
    static const char *const keys[] = {"os", "architecture", "variant"};
    char **fields[] = {&d->os, &d->architecture, &d->variant};
    struct json_object *platform;
    int r;

    if (!json_object_object_get_ex(entry, "platform", &platform) || !platform)
        return 0;
    if (!json_object_is_type(platform, json_type_object))
        return crib_fail(err, CRIB_INVALID, 0, "%s platform is not an object", what);
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        char path[64];

        snprintf(path, sizeof(path), "%s platform.%s", what, keys[i]);
        r = docjson_strdup(platform, keys[i], path, fields[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int parse_index(struct json_object *root, struct manifest *m, struct crib_err *err)
{
    struct json_object *entries;
    size_t n;
    int r;

    r = get_array(root, "manifests", MANIFEST_MAX_ENTRIES, &entries, &n, err);
    if (r < 0)
        return r;
    m->manifests = xcalloc(n, sizeof(*m->manifests));
    for (size_t i = 0; i < n; i++) {
        struct json_object *entry = json_object_array_get_idx(entries, i);
        char what[32];

        snprintf(what, sizeof(what), "manifest %zu", i);
        m->n_manifests++;
        r = parse_descriptor(entry, what, &m->manifests[i], err);
        if (r < 0)
            return r;
        r = parse_platform(entry, what, &m->manifests[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

int manifest_parse(const char *data, size_t len, const char *content_type,
                   struct manifest **ret_manifest, struct crib_err *err)
{
    _cleanup_(docjson_putp) struct json_object *root = NULL;
    _cleanup_(manifest_freep) struct manifest *m = NULL;
    const struct manifest_type *type = NULL;
    int r;

    r = docjson_parse(data, len, MANIFEST_MAX_BYTES, "manifest", &root, err);
    if (r < 0)
        return r;
    r = decide_type(root, content_type, &type, err);
    if (r < 0)
        return r;
    m = xcalloc(1, sizeof(*m));
    m->kind = type->kind;
    m->media_type = xstrdup(type->media_type);
    if (m->kind == MANIFEST_INDEX)
        r = parse_index(root, m, err);
    else
        r = parse_image(root, m, err);
    if (r < 0)
        return r;
    *ret_manifest = TAKE_PTR(m);
    return 0;
}

/* A platform after aliases are resolved; the strings are borrowed. */
struct platform {
    const char *os, *architecture, *variant;
    bool is_variant_implied; /* the arch's default, not written in the document */
};

struct arch_alias {
    const char *name, *architecture, *variant;
};

/* Names that uname, Debian and old images use for the GOARCH values the specs use. */
static const struct arch_alias arch_aliases[] = {
    {"x86_64", "amd64", NULL}, {"x86-64", "amd64", NULL}, {"aarch64", "arm64", NULL},
    {"armhf", "arm", "v7"},    {"armel", "arm", "v6"},
};

static struct platform normalize(const char *os, const char *architecture, const char *variant)
{
    struct platform p = {os, architecture, variant, false};

    for (size_t i = 0; architecture && i < ARRAY_SIZE(arch_aliases); i++) {
        if (strcmp(architecture, arch_aliases[i].name) == 0) {
            p.architecture = arch_aliases[i].architecture;
            if (!p.variant)
                p.variant = arch_aliases[i].variant;
            break;
        }
    }
    return p;
}

/* An entry without a variant is built for the arch's baseline, as containerd
 * reads it: arm64 means v8, arm means v7. */
static struct platform entry_platform(const struct descriptor *d)
{
    struct platform p = normalize(d->os, d->architecture, d->variant);

    if (!p.variant && p.architecture && strcmp(p.architecture, "arm64") == 0)
        p = (struct platform){p.os, p.architecture, "v8", true};
    else if (!p.variant && p.architecture && strcmp(p.architecture, "arm") == 0)
        p = (struct platform){p.os, p.architecture, "v7", true};
    return p;
}

/* Attestation manifests (buildkit's provenance and SBOM) sit in the index
 * with platform unknown/unknown; they are not images. */
static bool is_image_entry(const struct descriptor *d)
{
    return d->os && d->architecture &&
           !(strcmp(d->os, "unknown") == 0 && strcmp(d->architecture, "unknown") == 0);
}

/* 0: no match; 1: a match by default or wildcard; 2: the variant as written. */
static int match_score(const struct platform *want, const struct descriptor *d)
{
    struct platform have;

    if (!is_image_entry(d))
        return 0;
    have = entry_platform(d);
    if (strcmp(want->os, have.os) != 0 || strcmp(want->architecture, have.architecture) != 0)
        return 0;
    if (!want->variant)
        return 1;
    if (!have.variant) /* an arch without variants, such as amd64 */
        return 1;
    if (strcmp(want->variant, have.variant) != 0)
        return 0;
    return have.is_variant_implied ? 1 : 2;
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool listed_before(const struct manifest *index, size_t i)
{
    const struct descriptor *d = &index->manifests[i];

    for (size_t j = 0; j < i; j++) {
        const struct descriptor *e = &index->manifests[j];

        if (is_image_entry(e) && str_eq(d->os, e->os) && str_eq(d->architecture, e->architecture) &&
            str_eq(d->variant, e->variant))
            return true;
    }
    return false;
}

/* "os/arch[/variant]", the form kubelet and docker print. */
static void format_platform(const struct descriptor *d, char *out, size_t size)
{
    snprintf(out, size, "%.40s/%.40s%s%.20s", d->os, d->architecture, d->variant ? "/" : "",
             d->variant ? d->variant : "");
}

/* "linux/arm64, linux/s390x", each once, cut short to fit an error message. */
static void list_platforms(const struct manifest *index, char *out, size_t size)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < index->n_manifests; i++) {
        char name[128];
        int n;

        if (!is_image_entry(&index->manifests[i]) || listed_before(index, i))
            continue;
        format_platform(&index->manifests[i], name, sizeof(name));
        n = snprintf(out + used, size - used, "%s%s", used ? ", " : "", name);
        if (n < 0 || (size_t)n >= size - used) {
            snprintf(out + used, size - used, "%s", used ? ", ..." : "...");
            return;
        }
        used += (size_t)n;
    }
}

static int not_found(const struct manifest *index, const char *os, const char *architecture,
                     const char *variant, struct crib_err *err)
{
    char have[300];

    list_platforms(index, have, sizeof(have));
    return crib_fail(err, CRIB_NOT_FOUND, 0, "no image for %.40s/%.40s%s%.20s in the index (%s%s)",
                     os, architecture, variant ? "/" : "", variant ? variant : "",
                     have[0] ? "it has " : "it lists no platforms", have);
}

int manifest_select(const struct manifest *index, const char *os, const char *architecture,
                    const char *variant, const struct descriptor **ret_entry, struct crib_err *err)
{
    struct platform want = normalize(os, architecture, variant);
    const struct descriptor *best = NULL;
    int best_score = 0;

    if (index->kind != MANIFEST_INDEX)
        return crib_fail(err, CRIB_INVALID, 0, "%s is not an index", index->media_type);
    for (size_t i = 0; i < index->n_manifests && best_score < 2; i++) {
        int score = match_score(&want, &index->manifests[i]);

        if (score > best_score) {
            best = &index->manifests[i];
            best_score = score;
        }
    }
    if (!best)
        return not_found(index, os, architecture, variant, err);
    *ret_entry = best;
    return 0;
}

void manifest_free(struct manifest *m)
{
    if (!m)
        return;
    free(m->media_type);
    descriptor_done(&m->config);
    for (size_t i = 0; i < m->n_layers; i++)
        descriptor_done(&m->layers[i]);
    free(m->layers);
    for (size_t i = 0; i < m->n_manifests; i++)
        descriptor_done(&m->manifests[i]);
    free(m->manifests);
    free(m);
}
