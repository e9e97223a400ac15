#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "imagestore/manifest.h"

CRIB_DEFINE_CLEANUP(struct manifest, manifest_free)
CRIB_DEFINE_CLEANUP(struct image_config, image_config_free)

/* Documents are written with ' for " so they stay readable; j() swaps them. */
static char *j(const char *s)
{
    char *out = xstrdup(s);

    for (char *p = out; *p; p++)
        if (*p == '\'')
            *p = '"';
    return out;
}

#define HEX64(c)                                                                                   \
    c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
        c c c c c c c c c c c c c c c c c
#define DA "sha256:" HEX64("a")
#define DB "sha256:" HEX64("b")
#define DC "sha256:" HEX64("c")
#define DD "sha256:" HEX64("d")
#define DE "sha256:" HEX64("e")

/* The shape docker buildx pushes: two images and a provenance attestation. */
static const char oci_index[] =
    "{'schemaVersion':2,'mediaType':'application/vnd.oci.image.index.v1+json','manifests':["
    "{'mediaType':'application/vnd.oci.image.manifest.v1+json','digest':'" DA "','size':1234,"
    "'platform':{'architecture':'amd64','os':'linux'}},"
    "{'mediaType':'application/vnd.oci.image.manifest.v1+json','digest':'" DB "','size':1235,"
    "'platform':{'architecture':'arm64','os':'linux','variant':'v8'}},"
    "{'mediaType':'application/vnd.oci.image.manifest.v1+json','digest':'" DC "','size':566,"
    "'annotations':{'vnd.docker.reference.digest':'" DA "',"
    "'vnd.docker.reference.type':'attestation-manifest'},"
    "'platform':{'architecture':'unknown','os':'unknown'}}]}\n";

static const char docker_list[] =
    "{'schemaVersion':2,"
    "'mediaType':'application/vnd.docker.distribution.manifest.list.v2+json','manifests':["
    "{'mediaType':'application/vnd.docker.distribution.manifest.v2+json','size':528,"
    "'digest':'" DA "','platform':{'architecture':'amd64','os':'linux'}},"
    "{'mediaType':'application/vnd.docker.distribution.manifest.v2+json','size':528,"
    "'digest':'" DB "','platform':{'architecture':'arm','os':'linux','variant':'v6'}},"
    "{'mediaType':'application/vnd.docker.distribution.manifest.v2+json','size':528,"
    "'digest':'" DC "','platform':{'architecture':'arm','os':'linux','variant':'v7'}},"
    "{'mediaType':'application/vnd.docker.distribution.manifest.v2+json','size':528,"
    "'digest':'" DD "','platform':{'architecture':'arm64','os':'linux'}},"
    "{'mediaType':'application/vnd.docker.distribution.manifest.v2+json','size':528,"
    "'digest':'" DE "','platform':{'architecture':'s390x','os':'linux'}}]}";

static const char oci_manifest[] =
    "{'schemaVersion':2,'mediaType':'application/vnd.oci.image.manifest.v1+json',"
    "'config':{'mediaType':'application/vnd.oci.image.config.v1+json','digest':'" DA "',"
    "'size':1469},'layers':["
    "{'mediaType':'application/vnd.oci.image.layer.v1.tar+gzip','digest':'" DB "','size':3623807},"
    "{'mediaType':'application/vnd.oci.image.layer.v1.tar+zstd','digest':'" DC "','size':0},"
    "{'mediaType':'application/vnd.oci.image.layer.v1.tar','digest':'" DD "','size':10240}],"
    "'annotations':{'org.opencontainers.image.created':'2024-01-01T00:00:00Z'}}";

static const char docker_manifest[] =
    "{'schemaVersion':2,"
    "'mediaType':'application/vnd.docker.distribution.manifest.v2+json',"
    "'config':{'mediaType':'application/vnd.docker.container.image.v1+json','size':7023,"
    "'digest':'" DA "'},'layers':["
    "{'mediaType':'application/vnd.docker.image.rootfs.diff.tar.gzip','size':32654,"
    "'digest':'" DB "'},"
    "{'mediaType':'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip','size':5,"
    "'digest':'" DC "','urls':['https://mcr.microsoft.com/v2/x/blobs/" DC "']}]}";

/* Parses a document that must be accepted; NULL (a failed check) otherwise. */
static struct manifest *parse_ok(const char *doc, const char *content_type)
{
    _cleanup_free_ char *text = j(doc);
    struct manifest *m = NULL;
    struct crib_err err;
    int r = manifest_parse(text, strlen(text), content_type, &m, &err);

    if (r < 0)
        fprintf(stderr, "  %s\n", err.msg);
    CHECK_INT(r, 0);
    return m;
}

static int test_parse_oci_index_with_attestation(void)
{
    _cleanup_(manifest_freep) struct manifest *m = parse_ok(oci_index, MEDIA_OCI_INDEX);

    if (!m)
        return 1;
    CHECK_INT(m->kind, MANIFEST_INDEX);
    CHECK_STR(m->media_type, MEDIA_OCI_INDEX);
    CHECK_INT(m->n_manifests, 3);
    CHECK_STR(m->manifests[0].digest, DA);
    CHECK_INT(m->manifests[0].size, 1234);
    CHECK_STR(m->manifests[0].os, "linux");
    CHECK_STR(m->manifests[0].architecture, "amd64");
    CHECK(m->manifests[0].variant == NULL);
    CHECK_STR(m->manifests[1].variant, "v8");
    CHECK_STR(m->manifests[2].architecture, "unknown");
    return 0;
}

struct select_case {
    const char *os, *architecture, *variant;
    const char *digest; /* NULL: CRIB_NOT_FOUND with msg */
    const char *msg;
};

static const struct select_case oci_select_cases[] = {
    {"linux", "amd64", NULL, DA, NULL},
    {"linux", "x86_64", NULL, DA, NULL},
    {"linux", "x86-64", NULL, DA, NULL},
    {"linux", "arm64", NULL, DB, NULL},
    {"linux", "aarch64", "v8", DB, NULL},
    {"windows", "amd64", NULL, NULL, "no image for windows/amd64 in the index"},
    {"linux", "s390x", NULL, NULL,
     "no image for linux/s390x in the index (it has linux/amd64, linux/arm64/v8)"},
    /* The attestation is not an image, even when asked for by its platform. */
    {"unknown", "unknown", NULL, NULL, "no image for unknown/unknown"},
};

static const struct select_case docker_select_cases[] = {
    {"linux", "amd64", NULL, DA, NULL},
    {"linux", "arm", "v6", DB, NULL},
    {"linux", "arm", "v7", DC, NULL},
    {"linux", "armhf", NULL, DC, NULL},
    {"linux", "armel", NULL, DB, NULL},
    {"linux", "arm64", "v8", DD, NULL},
    {"linux", "aarch64", NULL, DD, NULL},
    {"linux", "s390x", NULL, DE, NULL},
    {"linux", "arm", "v5", NULL,
     "no image for linux/arm/v5 in the index (it has linux/amd64, linux/arm/v6, linux/arm/v7, "
     "linux/arm64, linux/s390x)"},
    {"linux", "arm64", "v9", NULL, "no image for linux/arm64/v9"},
    {"linux", "ppc64le", NULL, NULL, "no image for linux/ppc64le"},
};

static void check_select(const char *doc, const struct select_case *cases, size_t n)
{
    _cleanup_(manifest_freep) struct manifest *m = parse_ok(doc, NULL);

    if (!m)
        return;
    for (size_t i = 0; i < n; i++) {
        const struct select_case *c = &cases[i];
        const struct descriptor *d = NULL;
        struct crib_err err;
        int r = manifest_select(m, c->os, c->architecture, c->variant, &d, &err);

        if (c->digest) {
            CHECK_INT(r, 0);
            CHECK_STR(d ? d->digest : NULL, c->digest);
            continue;
        }
        CHECK(r < 0);
        CHECK_INT(err.code, CRIB_NOT_FOUND);
        CHECK_CONTAINS(err.msg, c->msg);
    }
}

static int test_select_oci_index_skips_attestations(void)
{
    check_select(oci_index, oci_select_cases, ARRAY_SIZE(oci_select_cases));
    return 0;
}

static int test_select_docker_list_variants_and_aliases(void)
{
    check_select(docker_list, docker_select_cases, ARRAY_SIZE(docker_select_cases));
    return 0;
}

static int test_select_prefers_written_variant(void)
{
    static const char doc[] =
        "{'schemaVersion':2,'manifests':["
        "{'mediaType':'m','digest':'" DA "','size':1,'platform':{'os':'linux','architecture':"
        "'arm64'}},"
        "{'mediaType':'m','digest':'" DB "','size':1,'platform':{'os':'linux','architecture':"
        "'arm64','variant':'v8'}},"
        "{'mediaType':'m','digest':'" DC "','size':1,'platform':{'os':'linux','architecture':"
        "'arm'}}]}";
    static const struct select_case cases[] = {
        {"linux", "arm64", "v8", DB, NULL},
        {"linux", "arm64", NULL, DA, NULL},
        {"linux", "arm", "v7", DC, NULL},
        {"linux", "arm", "v6", NULL, "it has linux/arm64, linux/arm64/v8, linux/arm)"},
    };

    check_select(doc, cases, ARRAY_SIZE(cases));
    return 0;
}

static int test_select_on_image_manifest_is_invalid(void)
{
    _cleanup_(manifest_freep) struct manifest *m = parse_ok(oci_manifest, NULL);
    const struct descriptor *d;
    struct crib_err err;

    if (!m)
        return 1;
    CHECK(manifest_select(m, "linux", "amd64", NULL, &d, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    return 0;
}

static int test_parse_oci_manifest_gzip_zstd_plain(void)
{
    _cleanup_(manifest_freep) struct manifest *m =
        parse_ok(oci_manifest, MEDIA_OCI_MANIFEST "; charset=utf-8");

    if (!m)
        return 1;
    CHECK_INT(m->kind, MANIFEST_IMAGE);
    CHECK_STR(m->media_type, MEDIA_OCI_MANIFEST);
    CHECK_STR(m->config.media_type, MEDIA_OCI_CONFIG);
    CHECK_STR(m->config.digest, DA);
    CHECK_INT(m->config.size, 1469);
    CHECK_INT(m->n_layers, 3);
    CHECK_INT(m->layers[0].compression, LAYER_GZIP);
    CHECK_INT(m->layers[0].size, 3623807);
    CHECK_INT(m->layers[1].compression, LAYER_ZSTD);
    CHECK_INT(m->layers[1].size, 0);
    CHECK_INT(m->layers[2].compression, LAYER_NONE);
    CHECK_STR(m->layers[2].digest, DD);
    return 0;
}

static int test_parse_docker_schema2_with_foreign_layer(void)
{
    _cleanup_(manifest_freep) struct manifest *m = parse_ok(docker_manifest, "application/json");

    if (!m)
        return 1;
    CHECK_INT(m->kind, MANIFEST_IMAGE);
    CHECK_STR(m->media_type, MEDIA_DOCKER_MANIFEST);
    CHECK_STR(m->config.media_type, MEDIA_DOCKER_CONFIG);
    CHECK_INT(m->n_layers, 2);
    CHECK_INT(m->layers[0].compression, LAYER_GZIP);
    CHECK_INT(m->layers[1].compression, LAYER_GZIP);
    CHECK_STR(m->layers[1].digest, DC);
    return 0;
}

struct kind_case {
    const char *text;
    const char *content_type;
    enum manifest_kind kind;
    const char *media_type;
};

static const struct kind_case kind_cases[] = {
    /* No Content-Type and no mediaType: the shape decides. */
    {"{'schemaVersion':2,'manifests':[]}", NULL, MANIFEST_INDEX, MEDIA_OCI_INDEX},
    {"{'schemaVersion':2,'config':{'mediaType':'" MEDIA_OCI_CONFIG "','digest':'" DA
     "','size':2},'layers':[]}",
     "", MANIFEST_IMAGE, MEDIA_OCI_MANIFEST},
    /* The header wins over the field when both name the same kind. */
    {"{'schemaVersion':2,'mediaType':'" MEDIA_OCI_INDEX "','manifests':[]}",
     " Application/VND.Docker.Distribution.Manifest.List.V2+JSON ; q=1", MANIFEST_INDEX,
     MEDIA_DOCKER_LIST},
    {"{'schemaVersion':2,'mediaType':'" MEDIA_DOCKER_LIST "','manifests':[]}",
     "application/octet-stream", MANIFEST_INDEX, MEDIA_DOCKER_LIST},
};

static int test_kind_from_header_field_and_shape(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(kind_cases); i++) {
        _cleanup_(manifest_freep) struct manifest *m =
            parse_ok(kind_cases[i].text, kind_cases[i].content_type);

        if (!m)
            continue;
        CHECK_INT(m->kind, kind_cases[i].kind);
        CHECK_STR(m->media_type, kind_cases[i].media_type);
    }
    return 0;
}

struct hostile_case {
    const char *text;
    const char *content_type;
    enum crib_code code;
    const char *msg;
};

#define CFG "'config':{'mediaType':'" MEDIA_OCI_CONFIG "','digest':'" DA "','size':2}"
#define LAYER(type) "{'mediaType':'" type "','digest':'" DB "','size':3}"
#define IMG(rest) "{'schemaVersion':2,'mediaType':'" MEDIA_OCI_MANIFEST "'," rest "}"

static const struct hostile_case hostile_cases[] = {
    {"{'schemaVersion':1,'name':'library/busybox','tag':'latest','fsLayers':[]}", NULL,
     CRIB_INVALID, "schema 1 manifests are not supported; push the image again"},
    {"{'schemaVersion':1,'signatures':[]}",
     "application/vnd.docker.distribution.manifest.v1+prettyjws", CRIB_INVALID,
     "schema 1 manifests are not supported"},
    {"{'schemaVersion':2,'manifests':[]}", "application/vnd.docker.distribution.manifest.v1+json",
     CRIB_INVALID, "schema 1 manifests are not supported"},
    {"{'schemaVersion':2,'mediaType':'application/vnd.oci.artifact.manifest.v1+json'}", NULL,
     CRIB_INVALID, "unknown manifest mediaType 'application/vnd.oci.artifact.manifest.v1+json'"},
    {"{'schemaVersion':2,'manifests':[]}", "application/vnd.cncf.helm.chart.v1", CRIB_INVALID,
     "unknown manifest Content-Type 'application/vnd.cncf.helm.chart.v1'"},
    {"{'schemaVersion':2,'mediaType':'" MEDIA_OCI_INDEX "','manifests':[]}", MEDIA_OCI_MANIFEST,
     CRIB_INVALID, "contradicts Content-Type"},
    {"{'schemaVersion':3,'manifests':[]}", NULL, CRIB_INVALID, "schemaVersion is 3, not 2"},
    {"{'schemaVersion':'2','manifests':[]}", NULL, CRIB_INVALID, "no integer \"schemaVersion\""},
    {"{'manifests':[]}", NULL, CRIB_INVALID, "no integer \"schemaVersion\""},
    {"{'schemaVersion':2}", NULL, CRIB_INVALID, "neither an image manifest nor an index"},
    {IMG(CFG ",'layers':[{'mediaType':'application/vnd.oci.image.layer.v1.tar',"
             "'digest':'sha256:abc','size':3}]"),
     NULL, CRIB_INVALID, "layer 0 digest 'sha256:abc' is not a sha256 or sha512 digest"},
    {IMG(CFG ",'layers':[{'mediaType':'application/vnd.oci.image.layer.v1.tar',"
             "'digest':'sha256:" HEX64("A") "','size':3}]"),
     NULL, CRIB_INVALID, "layer 0 digest"},
    {IMG(CFG ",'layers':[{'mediaType':'application/vnd.oci.image.layer.v1.tar',"
             "'digest':'" DB "','size':-1}]"),
     NULL, CRIB_INVALID, "layer 0 size -1 is negative"},
    {IMG(CFG ",'layers':[{'mediaType':'application/vnd.oci.image.layer.v1.tar',"
             "'digest':'" DB "','size':1.5}]"),
     NULL, CRIB_INVALID, "layer 0 has no integer size"},
    {IMG(CFG ",'layers':[{'mediaType':'application/vnd.oci.image.layer.v1.tar',"
             "'digest':'" DB "'}]"),
     NULL, CRIB_INVALID, "layer 0 has no integer size"},
    {IMG("'layers':[]"), NULL, CRIB_INVALID, "no \"config\" descriptor"},
    {IMG("'config':null,'layers':[]"), NULL, CRIB_INVALID, "config is not an object"},
    {IMG(CFG ",'layers':{}"), NULL, CRIB_INVALID, "\"layers\" is not an array"},
    {IMG(CFG), NULL, CRIB_INVALID, "no \"layers\""},
    {IMG(CFG ",'layers':[" LAYER("application/vnd.oci.image.layer.v1.tar+gzip") "," LAYER(
         "application/vnd.cncf.helm.chart.content.v1.tar+gzip") "]"),
     NULL, CRIB_INVALID,
     "layer 1 has media type 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', which is not "
     "a container image layer"},
    {IMG(CFG ",'layers':[" LAYER("application/vnd.wasm.content.layer.v1+wasm") "]"), NULL,
     CRIB_INVALID, "which is not a container image layer"},
    {IMG(CFG ",'layers':['x']"), NULL, CRIB_INVALID, "layer 0 is not an object"},
    {IMG(CFG ",'layers':[{'digest':'" DB "','size':3}]"), NULL, CRIB_INVALID,
     "layer 0 has no mediaType"},
    {IMG("'config':{'mediaType':'application/vnd.cncf.helm.config.v1+json','digest':'" DA
         "','size':2},'layers':[]"),
     NULL, CRIB_INVALID,
     "config has media type 'application/vnd.cncf.helm.config.v1+json', which is not a container "
     "image config"},
    {IMG("'config':{'mediaType':'" MEDIA_OCI_CONFIG "','size':2},'layers':[]"), NULL, CRIB_INVALID,
     "config has no digest"},
    {"{'schemaVersion':2,'mediaType':'" MEDIA_OCI_INDEX "','manifests':{}}", NULL, CRIB_INVALID,
     "\"manifests\" is not an array"},
    {"{'schemaVersion':2,'manifests':[{'mediaType':'m','digest':'" DA
     "','size':1,'platform':'linux/amd64'}]}",
     NULL, CRIB_INVALID, "manifest 0 platform is not an object"},
    {"{'schemaVersion':2,'manifests':[{'mediaType':'m','digest':'" DA
     "','size':1,'platform':{'os':7}}]}",
     NULL, CRIB_INVALID, "manifest 0 platform.os is not a string"},
    {"{'schemaVersion':2,'manifests':[{'mediaType':'m','digest':'" DA "\\u0000x','size':1}]}", NULL,
     CRIB_INVALID, "manifest 0 digest is not a string"},
    {"{'schemaVersion':2,'manifests':[]} {}", NULL, CRIB_INVALID, "trailing data"},
    {"{'schemaVersion':2,'manifests':[]}x", NULL, CRIB_INVALID, "trailing data"},
    {"{'schemaVersion':2,'manifests':[],}", NULL, CRIB_INVALID, "not valid JSON"},
    {"{'schemaVersion':2,'manifests':[]", NULL, CRIB_INVALID,
     "not valid JSON: unexpected end of data"},
    {"<html><body>502 Bad Gateway</body></html>", NULL, CRIB_INVALID, "not valid JSON"},
    {"", NULL, CRIB_INVALID, "not valid JSON"},
    {"[{'schemaVersion':2}]", NULL, CRIB_INVALID, "not a JSON object"},
    {"'manifest'", NULL, CRIB_INVALID, "not a JSON object"},
};

/* Parses one document; an accepted one is freed, and *ret_untouched says
 * whether the output was left alone, as the error contract requires. */
typedef int parse_fn(const char *text, const char *content_type, bool *ret_untouched,
                     struct crib_err *err);

static int parse_manifest_case(const char *text, const char *content_type, bool *ret_untouched,
                               struct crib_err *err)
{
    struct manifest *m = NULL;
    int r = manifest_parse(text, strlen(text), content_type, &m, err);

    *ret_untouched = m == NULL;
    manifest_free(m);
    return r;
}

static int parse_config_case(const char *text, const char *content_type, bool *ret_untouched,
                             struct crib_err *err)
{
    struct image_config *c = NULL;
    int r = image_config_parse(text, strlen(text), &c, err);

    (void)content_type;
    *ret_untouched = c == NULL;
    image_config_free(c);
    return r;
}

static void check_refused(const struct hostile_case *cases, size_t n, parse_fn *parse)
{
    for (size_t i = 0; i < n; i++) {
        const struct hostile_case *c = &cases[i];
        _cleanup_free_ char *text = j(c->text);
        struct crib_err err = {0};
        bool untouched = false;
        int r = parse(text, c->content_type, &untouched, &err);

        if (r >= 0 || err.code != c->code || !strstr(err.msg, c->msg))
            fprintf(stderr, "  case %zu: r=%d code=%d msg=%s\n", i, r, err.code, err.msg);
        CHECK(r < 0);
        CHECK(untouched);
        CHECK_INT(err.code, c->code);
        CHECK_CONTAINS(err.msg, c->msg);
    }
}

static int test_parse_rejects_hostile_manifests(void)
{
    check_refused(hostile_cases, ARRAY_SIZE(hostile_cases), parse_manifest_case);
    return 0;
}

static int test_parse_rejects_trailing_nul_and_bad_utf8(void)
{
    static const char nul[] = "{\"schemaVersion\":2,\"manifests\":[]}\0";
    static const char utf8[] = "{\"schemaVersion\":2,\"manifests\":[],\"x\":\"\xff\xfe\"}";
    struct manifest *m = NULL;
    struct crib_err err;

    CHECK(manifest_parse(nul, sizeof(nul) - 1, NULL, &m, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, "trailing data");
    CHECK(manifest_parse(utf8, sizeof(utf8) - 1, NULL, &m, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK(m == NULL);
    return 0;
}

static int test_too_big_is_a_limit(void)
{
    static const struct {
        size_t max_bytes;
        parse_fn *parse;
    } docs[] = {{MANIFEST_MAX_BYTES, parse_manifest_case},
                {IMAGE_CONFIG_MAX_BYTES, parse_config_case}};

    for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
        size_t len = docs[i].max_bytes + 1;
        _cleanup_free_ char *text = xmalloc(len + 1);
        struct crib_err err;
        bool untouched;

        /* Valid JSON, so only the size can be what is refused. */
        memset(text, ' ', len);
        text[0] = '{';
        text[len - 1] = '}';
        text[len] = '\0';
        CHECK(docs[i].parse(text, NULL, &untouched, &err) < 0);
        CHECK_INT(err.code, CRIB_LIMIT);
        CHECK_CONTAINS(err.msg, "over the limit");
    }
    return 0;
}

/* An image manifest with n layers, or an index with n entries. */
static char *many(size_t n, bool is_index)
{
    size_t cap = 256 + n * 160, used;
    char *text = xmalloc(cap);

    used = (size_t)snprintf(text, cap, "{\"schemaVersion\":2,%s:[",
                            is_index ? "\"manifests\""
                                     : "\"config\":{\"mediaType\":\"" MEDIA_OCI_CONFIG
                                       "\",\"digest\":\"" DA "\",\"size\":2},\"layers\"");
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(text + used, cap - used,
                                 "%s{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
                                 "\"digest\":\"" DB "\",\"size\":%zu}",
                                 i ? "," : "", i);
    snprintf(text + used, cap - used, "]}");
    return text;
}

static int test_too_many_layers_and_entries_are_limits(void)
{
    for (int is_index = 0; is_index <= 1; is_index++) {
        _cleanup_free_ char *ok = many(MANIFEST_MAX_LAYERS, is_index);
        _cleanup_free_ char *over = many(MANIFEST_MAX_LAYERS + 1, is_index);
        struct manifest *m = NULL;
        struct crib_err err;

        CHECK_INT(manifest_parse(ok, strlen(ok), NULL, &m, &err), 0);
        manifest_free(m);
        m = NULL;
        CHECK(manifest_parse(over, strlen(over), NULL, &m, &err) < 0);
        CHECK_INT(err.code, CRIB_LIMIT);
        CHECK_CONTAINS(err.msg, is_index ? "1001 manifests, over the limit of 1000"
                                         : "1001 layers, over the limit of 1000");
    }
    return 0;
}

static int test_deep_nesting_is_an_error_not_a_crash(void)
{
    size_t n = 10000;
    _cleanup_free_ char *text = xmalloc(n + 32);
    struct manifest *m = NULL;
    struct image_config *c = NULL;
    struct crib_err err;
    size_t pre;

    strcpy(text, "{\"schemaVersion\":2,\"x\":");
    pre = strlen(text);
    memset(text + pre, '[', n);
    text[pre + n] = '\0';
    CHECK(manifest_parse(text, strlen(text), NULL, &m, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, "not valid JSON");
    CHECK(image_config_parse(text, strlen(text), &c, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    return 0;
}

static const char full_config[] =
    "{'architecture':'arm','variant':'v7','os':'linux','created':'2024-02-27T18:51:37.123Z',"
    "'config':{'User':'1000:1000','Env':['PATH=/usr/local/sbin:/usr/bin','LANG=C.UTF-8'],"
    "'Entrypoint':['/docker-entrypoint.sh'],'Cmd':['nginx','-g','daemon off;'],"
    "'WorkingDir':'/srv','Labels':{'maintainer':'NGINX <docker-maint@nginx.com>','a':''},"
    "'StopSignal':'SIGQUIT','Volumes':{'/var/cache/nginx':{},'/data':{}},"
    "'ExposedPorts':{'80/tcp':{}},'ArgsEscaped':true},"
    "'rootfs':{'type':'layers','diff_ids':['" DA "','" DB "']},"
    "'history':[{'created':'2024-02-27T18:51:37Z','created_by':'ADD file:x in /'}]}";

static int test_image_config_all_fields(void)
{
    _cleanup_free_ char *text = j(full_config);
    _cleanup_(image_config_freep) struct image_config *c = NULL;
    struct crib_err err;

    CHECK_INT(image_config_parse(text, strlen(text), &c, &err), 0);
    if (!c)
        return 1;
    CHECK_STR(c->os, "linux");
    CHECK_STR(c->architecture, "arm");
    CHECK_STR(c->variant, "v7");
    CHECK_STR(c->created, "2024-02-27T18:51:37.123Z");
    CHECK_STR(c->user, "1000:1000");
    CHECK_STR(c->working_dir, "/srv");
    CHECK_STR(c->stop_signal, "SIGQUIT");
    CHECK_INT(c->n_env, 2);
    CHECK_STR(c->env[1], "LANG=C.UTF-8");
    CHECK_INT(c->n_entrypoint, 1);
    CHECK_STR(c->entrypoint[0], "/docker-entrypoint.sh");
    CHECK_INT(c->n_cmd, 3);
    CHECK_STR(c->cmd[2], "daemon off;");
    CHECK_INT(c->n_volumes, 2);
    CHECK_STR(c->volumes[0], "/var/cache/nginx");
    CHECK_STR(c->volumes[1], "/data");
    CHECK_INT(c->n_labels, 2);
    CHECK_STR(c->label_keys[0], "maintainer");
    CHECK_STR(c->label_values[0], "NGINX <docker-maint@nginx.com>");
    CHECK_STR(c->label_values[1], "");
    CHECK_INT(c->n_diff_ids, 2);
    CHECK_STR(c->diff_ids[1], DB);
    return 0;
}

static int test_image_config_minimal_and_nulls(void)
{
    _cleanup_free_ char *text =
        j("{'config':{'Entrypoint':null,'Cmd':null,'Env':null,'Volumes':null,'Labels':null},"
          "'rootfs':{'type':'layers','diff_ids':[]}}");
    _cleanup_(image_config_freep) struct image_config *c = NULL;
    struct crib_err err;

    CHECK_INT(image_config_parse(text, strlen(text), &c, &err), 0);
    if (!c)
        return 1;
    CHECK(c->os == NULL && c->user == NULL && c->entrypoint == NULL && c->cmd == NULL);
    CHECK_INT(c->n_entrypoint + c->n_cmd + c->n_env + c->n_volumes + c->n_labels + c->n_diff_ids,
              0);
    return 0;
}

#define ROOTFS "'rootfs':{'type':'layers','diff_ids':['" DA "']}"

static const struct hostile_case config_cases[] = {
    {"{'rootfs':{'type':'layers','diff_ids':['" DA "','" DB "','" DC "','sha256:zz']}}", NULL,
     CRIB_INVALID, "rootfs.diff_ids[3] 'sha256:zz' is not a sha256 or sha512 digest"},
    {"{'rootfs':{'type':'layers','diff_ids':[7]}}", NULL, CRIB_INVALID,
     "rootfs.diff_ids[0] is not a string"},
    {"{'rootfs':{'type':'layers','diff_ids':'" DA "'}}", NULL, CRIB_INVALID,
     "rootfs.diff_ids is not an array"},
    {"{'rootfs':{'type':'layers'}}", NULL, CRIB_INVALID, "no rootfs.diff_ids array"},
    {"{'rootfs':{'type':'snapshot','diff_ids':[]}}", NULL, CRIB_INVALID,
     "rootfs.type is 'snapshot', not 'layers'"},
    {"{'rootfs':{'diff_ids':[]}}", NULL, CRIB_INVALID, "rootfs.type is '(none)'"},
    {"{'os':'linux'}", NULL, CRIB_INVALID, "no \"rootfs\" object"},
    {"{'rootfs':[]}", NULL, CRIB_INVALID, "rootfs is not an object"},
    {"{'config':{'Env':['A=1',2]}," ROOTFS "}", NULL, CRIB_INVALID,
     "config.Env[1] is not a string"},
    {"{'config':{'Env':'A=1'}," ROOTFS "}", NULL, CRIB_INVALID, "config.Env is not an array"},
    {"{'config':{'Cmd':[null]}," ROOTFS "}", NULL, CRIB_INVALID, "config.Cmd[0] is not a string"},
    {"{'config':{'Entrypoint':'/bin/sh'}," ROOTFS "}", NULL, CRIB_INVALID,
     "config.Entrypoint is not an array"},
    {"{'config':{'User':0}," ROOTFS "}", NULL, CRIB_INVALID, "config.User is not a string"},
    {"{'config':{'Labels':{'a':1}}," ROOTFS "}", NULL, CRIB_INVALID,
     "config.Labels[\"a\"] is not a string"},
    {"{'config':{'Volumes':['/data']}," ROOTFS "}", NULL, CRIB_INVALID,
     "config.Volumes is not an object"},
    {"{'config':'x'," ROOTFS "}", NULL, CRIB_INVALID, "config is not an object"},
    {"{'os':['linux']," ROOTFS "}", NULL, CRIB_INVALID, "os is not a string"},
    {"{'config':{'WorkingDir':'/a\\u0000/b'}," ROOTFS "}", NULL, CRIB_INVALID,
     "config.WorkingDir is not a string"},
    {"{" ROOTFS "}garbage", NULL, CRIB_INVALID, "image config has trailing data"},
    {"[]", NULL, CRIB_INVALID, "image config is not a JSON object"},
    {"nope", NULL, CRIB_INVALID, "image config is not valid JSON"},
};

static int test_image_config_rejects_hostile(void)
{
    check_refused(config_cases, ARRAY_SIZE(config_cases), parse_config_case);
    return 0;
}

static int test_free_accepts_null(void)
{
    manifest_free(NULL);
    image_config_free(NULL);
    return 0;
}

TEST_MAIN(TEST(test_parse_oci_index_with_attestation),
          TEST(test_select_oci_index_skips_attestations),
          TEST(test_select_docker_list_variants_and_aliases),
          TEST(test_select_prefers_written_variant), TEST(test_select_on_image_manifest_is_invalid),
          TEST(test_parse_oci_manifest_gzip_zstd_plain),
          TEST(test_parse_docker_schema2_with_foreign_layer),
          TEST(test_kind_from_header_field_and_shape), TEST(test_parse_rejects_hostile_manifests),
          TEST(test_parse_rejects_trailing_nul_and_bad_utf8), TEST(test_too_big_is_a_limit),
          TEST(test_too_many_layers_and_entries_are_limits),
          TEST(test_deep_nesting_is_an_error_not_a_crash), TEST(test_image_config_all_fields),
          TEST(test_image_config_minimal_and_nulls), TEST(test_image_config_rejects_hostile),
          TEST(test_free_accepts_null))
