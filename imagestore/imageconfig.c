/* Image configs (OCI image-spec config.md; Docker's image JSON has the same
 * fields): what to run, and the diff_ids that check the unpacked layers. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "common/xalloc.h"
#include "imagestore/docjson.h"
#include "imagestore/manifest.h"

/* Per list (Env, Cmd, Labels, ...). Real images have tens; the cap keeps what
 * later becomes an OCI runtime spec bounded well below the document cap. */
#define IMAGE_CONFIG_MAX_ITEMS 10000

CRIB_DEFINE_CLEANUP(struct image_config, image_config_free)

struct string_field {
    const char *key, *path;
    size_t offset; /* of a char * in struct image_config */
};

static const struct string_field top_fields[] = {
    {"os", "os", offsetof(struct image_config, os)},
    {"architecture", "architecture", offsetof(struct image_config, architecture)},
    {"variant", "variant", offsetof(struct image_config, variant)},
    {"created", "created", offsetof(struct image_config, created)},
};

static const struct string_field run_fields[] = {
    {"User", "config.User", offsetof(struct image_config, user)},
    {"WorkingDir", "config.WorkingDir", offsetof(struct image_config, working_dir)},
    {"StopSignal", "config.StopSignal", offsetof(struct image_config, stop_signal)},
};

static int parse_strings(struct json_object *obj, const struct string_field *fields, size_t n,
                         struct image_config *c, struct crib_err *err)
{
    for (size_t i = 0; i < n; i++) {
        char **field = (char **)((char *)c + fields[i].offset);
        int r = docjson_strdup(obj, fields[i].key, fields[i].path, field, err);

        if (r < 0)
            return r;
    }
    return 0;
}

/* The object at obj[key]; absent or null gives NULL and 0. */
static int get_object(struct json_object *obj, const char *key, const char *path,
                      struct json_object **ret, struct crib_err *err)
{
    struct json_object *v = NULL;

    *ret = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || !v)
        return 0;
    if (!json_object_is_type(v, json_type_object))
        return crib_fail(err, CRIB_INVALID, 0, "%s is not an object", path);
    if ((size_t)json_object_object_length(v) > IMAGE_CONFIG_MAX_ITEMS)
        return crib_fail(err, CRIB_LIMIT, 0, "%s has %d entries, over the limit of %d", path,
                         json_object_object_length(v), IMAGE_CONFIG_MAX_ITEMS);
    *ret = v;
    return 1;
}

/* Docker writes Volumes as {"/data": {}}: only the keys mean anything. */
static int parse_volumes(struct json_object *cfg, struct image_config *c, struct crib_err *err)
{
    struct json_object *volumes;
    int r = get_object(cfg, "Volumes", "config.Volumes", &volumes, err);

    if (r <= 0)
        return r;
    c->volumes = xcalloc((size_t)json_object_object_length(volumes), sizeof(*c->volumes));
    json_object_object_foreach (volumes, key, val) {
        (void)val;
        c->volumes[c->n_volumes++] = xstrdup(key);
    }
    return 0;
}

static int parse_labels(struct json_object *cfg, struct image_config *c, struct crib_err *err)
{
    struct json_object *labels;
    size_t n;
    int r = get_object(cfg, "Labels", "config.Labels", &labels, err);

    if (r <= 0)
        return r;
    n = (size_t)json_object_object_length(labels);
    c->label_keys = xcalloc(n, sizeof(*c->label_keys));
    c->label_values = xcalloc(n, sizeof(*c->label_values));
    json_object_object_foreach (labels, key, val) {
        _cleanup_free_ char *path = xasprintf("config.Labels[\"%.100s\"]", key);
        const char *value;

        (void)val;
        r = docjson_string(labels, key, path, &value, err);
        if (r <= 0)
            return r < 0 ? r : crib_fail(err, CRIB_INVALID, 0, "%s is null", path);
        c->label_keys[c->n_labels] = xstrdup(key);
        c->label_values[c->n_labels++] = xstrdup(value);
    }
    return 0;
}

static int parse_run_config(struct json_object *root, struct image_config *c, struct crib_err *err)
{
    struct json_object *cfg;
    int r = get_object(root, "config", "config", &cfg, err);

    if (r <= 0)
        return r;
    r = parse_strings(cfg, run_fields, ARRAY_SIZE(run_fields), c, err);
    if (r < 0)
        return r;
    r = docjson_string_array(cfg, "Env", "config.Env", IMAGE_CONFIG_MAX_ITEMS, &c->env, &c->n_env,
                             err);
    if (r < 0)
        return r;
    r = docjson_string_array(cfg, "Entrypoint", "config.Entrypoint", IMAGE_CONFIG_MAX_ITEMS,
                             &c->entrypoint, &c->n_entrypoint, err);
    if (r < 0)
        return r;
    r = docjson_string_array(cfg, "Cmd", "config.Cmd", IMAGE_CONFIG_MAX_ITEMS, &c->cmd, &c->n_cmd,
                             err);
    if (r < 0)
        return r;
    r = parse_volumes(cfg, c, err);
    if (r < 0)
        return r;
    return parse_labels(cfg, c, err);
}

static int parse_rootfs(struct json_object *root, struct image_config *c, struct crib_err *err)
{
    struct json_object *rootfs;
    const char *type;
    int r = get_object(root, "rootfs", "rootfs", &rootfs, err);

    if (r <= 0)
        return r < 0 ? r : crib_fail(err, CRIB_INVALID, 0, "no \"rootfs\" object");
    r = docjson_string(rootfs, "type", "rootfs.type", &type, err);
    if (r < 0)
        return r;
    if (!type || strcmp(type, "layers") != 0)
        return crib_fail(err, CRIB_INVALID, 0, "rootfs.type is '%.40s', not 'layers'",
                         type ? type : "(none)");
    /* One diff_id per layer: more than a manifest may list is no usable image. */
    r = docjson_string_array(rootfs, "diff_ids", "rootfs.diff_ids", MANIFEST_MAX_LAYERS,
                             &c->diff_ids, &c->n_diff_ids, err);
    if (r <= 0)
        return r < 0 ? r : crib_fail(err, CRIB_INVALID, 0, "no rootfs.diff_ids array");
    for (size_t i = 0; i < c->n_diff_ids; i++) {
        char path[40];

        snprintf(path, sizeof(path), "rootfs.diff_ids[%zu]", i);
        r = digest_check(c->diff_ids[i], path, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int image_config_parse(const char *data, size_t len, struct image_config **ret_config,
                       struct crib_err *err)
{
    _cleanup_(docjson_putp) struct json_object *root = NULL;
    _cleanup_(image_config_freep) struct image_config *c = NULL;
    int r;

    r = docjson_parse(data, len, IMAGE_CONFIG_MAX_BYTES, "image config", &root, err);
    if (r < 0)
        return r;
    c = xcalloc(1, sizeof(*c));
    r = parse_strings(root, top_fields, ARRAY_SIZE(top_fields), c, err);
    if (r < 0)
        return r;
    r = parse_run_config(root, c, err);
    if (r < 0)
        return r;
    r = parse_rootfs(root, c, err);
    if (r < 0)
        return r;
    *ret_config = TAKE_PTR(c);
    return 0;
}

void image_config_free(struct image_config *c)
{
    if (!c)
        return;
    free(c->os);
    free(c->architecture);
    free(c->variant);
    free(c->created);
    free(c->user);
    free(c->working_dir);
    free(c->stop_signal);
    docjson_strv_free(c->env, c->n_env);
    docjson_strv_free(c->entrypoint, c->n_entrypoint);
    docjson_strv_free(c->cmd, c->n_cmd);
    docjson_strv_free(c->volumes, c->n_volumes);
    docjson_strv_free(c->label_keys, c->n_labels);
    docjson_strv_free(c->label_values, c->n_labels);
    docjson_strv_free(c->diff_ids, c->n_diff_ids);
    free(c);
}
