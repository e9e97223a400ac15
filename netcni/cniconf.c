#include "netcni/cniconf.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/xalloc.h"
#include "netcni/internal.h"

/* Conf files are tried in this many at most, so a huge dir cannot stall Status. */
#define CNICONF_MAX_FILES 256

static const char *get_string(struct json_object *obj, const char *key)
{
    struct json_object *v;

    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* A plugin type becomes a file name in a bin dir: keep it to one safe component. */
static int check_type(const char *type, struct crib_err *err)
{
    if (!*type || strchr(type, '/') || strcmp(type, ".") == 0 || strcmp(type, "..") == 0 ||
        strlen(type) > 255)
        return crib_fail(err, CRIB_INVALID, 0, "plugin type '%s' is not a file name", type);
    return 0;
}

static int add_plugin(struct cniconf *c, struct json_object *plugin, size_t index,
                      struct crib_err *err)
{
    const char *type =
        json_object_is_type(plugin, json_type_object) ? get_string(plugin, "type") : NULL;
    int r;

    if (!type)
        return crib_fail(err, CRIB_INVALID, 0, "plugin %zu has no \"type\" string", index);
    r = check_type(type, err);
    if (r < 0)
        return r;
    if (c->n_plugins >= CNICONF_MAX_PLUGINS)
        return crib_fail(err, CRIB_LIMIT, 0, "more than %d plugins", CNICONF_MAX_PLUGINS);
    c->plugin_types[c->n_plugins++] = xstrdup(type);
    return 0;
}

static int parse_object(struct json_object *root, int is_list, struct cniconf *c,
                        struct crib_err *err)
{
    const char *name = get_string(root, "name");
    const char *version = get_string(root, "cniVersion");
    struct json_object *plugins;
    int r;

    if (!name || !*name)
        return crib_fail(err, CRIB_INVALID, 0, "no \"name\" string");
    c->name = xstrdup(name);
    c->cni_version = xstrdup(version ? version : "0.1.0");
    if (!is_list)
        return add_plugin(c, root, 0, err);
    if (!json_object_object_get_ex(root, "plugins", &plugins) ||
        !json_object_is_type(plugins, json_type_array))
        return crib_fail(err, CRIB_INVALID, 0, "no \"plugins\" array");
    if (json_object_array_length(plugins) == 0)
        return crib_fail(err, CRIB_INVALID, 0, "\"plugins\" is empty");
    for (size_t i = 0; i < json_object_array_length(plugins); i++) {
        r = add_plugin(c, json_object_array_get_idx(plugins, i), i, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* The spec turns a single-plugin .conf into a list of that one plugin. */
static char *list_json(struct json_object *root, int is_list, const struct cniconf *c)
{
    _cleanup_(json_putp) struct json_object *list = NULL;
    struct json_object *plugins;

    if (is_list)
        return xstrdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
    list = json_object_new_object();
    plugins = json_object_new_array();
    json_object_object_add(list, "cniVersion", json_object_new_string(c->cni_version));
    json_object_object_add(list, "name", json_object_new_string(c->name));
    json_object_array_add(plugins, json_object_get(root));
    json_object_object_add(list, "plugins", plugins);
    return xstrdup(json_object_to_json_string_ext(list, JSON_C_TO_STRING_PLAIN));
}

int cniconf_parse(const char *text, size_t len, int is_list, struct cniconf *ret_conf,
                  struct crib_err *err)
{
    _cleanup_(json_putp) struct json_object *root = NULL;
    struct cniconf c = {0};
    struct json_tokener *tok;
    int r;

    if (len > CNICONF_MAX_BYTES)
        return crib_fail(err, CRIB_LIMIT, 0, "config over %u bytes", CNICONF_MAX_BYTES);
    tok = json_tokener_new();
    root = json_tokener_parse_ex(tok, text, (int)len);
    if (!root || json_tokener_get_error(tok) != json_tokener_success) {
        r = crib_fail(err, CRIB_INVALID, 0, "not valid JSON: %s",
                      json_tokener_error_desc(json_tokener_get_error(tok)));
        json_tokener_free(tok);
        return r;
    }
    json_tokener_free(tok);
    if (!json_object_is_type(root, json_type_object))
        return crib_fail(err, CRIB_INVALID, 0, "not a JSON object");
    r = parse_object(root, is_list, &c, err);
    if (r < 0) {
        cniconf_done(&c);
        return r;
    }
    c.json = list_json(root, is_list, &c);
    *ret_conf = c;
    return 0;
}

static int conf_kind(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (!dot || name[0] == '.')
        return -1;
    if (strcmp(dot, ".conflist") == 0)
        return 1;
    if (strcmp(dot, ".conf") == 0 || strcmp(dot, ".json") == 0)
        return 0;
    return -1;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t list_conf_files(DIR *d, char **names, size_t max)
{
    struct dirent *de;
    size_t n = 0;

    while ((de = readdir(d)) && n < max)
        if (conf_kind(de->d_name) >= 0)
            names[n++] = xstrdup(de->d_name);
    qsort(names, n, sizeof(*names), name_cmp);
    return n;
}

static int try_file(const char *dir, const char *name, struct cniconf *ret_conf)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
    _cleanup_free_ char *text = NULL;
    struct crib_err ignored;
    size_t len;

    if (fs_read_file(path, CNICONF_MAX_BYTES, &text, &len, &ignored) < 0)
        return -1;
    if (cniconf_parse(text, len, conf_kind(name), ret_conf, &ignored) < 0)
        return -1;
    ret_conf->file = TAKE_PTR(path);
    return 0;
}

int cniconf_load(const struct cniconf_dirs *dirs, struct cniconf *ret_conf, struct crib_err *err)
{
    _cleanup_closedir_ DIR *d = opendir(dirs->conf_dir);
    char *names[CNICONF_MAX_FILES];
    size_t n;
    int r = -1;

    if (!d)
        return crib_fail(err, CRIB_NOT_FOUND, errno, "CNI config dir %s", dirs->conf_dir);
    n = list_conf_files(d, names, CNICONF_MAX_FILES);
    for (size_t i = 0; i < n; i++) {
        if (r < 0)
            r = try_file(dirs->conf_dir, names[i], ret_conf);
        free(names[i]);
    }
    if (r < 0)
        return crib_fail(err, CRIB_NOT_FOUND, 0, "no valid CNI network config in %s",
                         dirs->conf_dir);
    return 0;
}

int cniconf_check_plugins(const struct cniconf *conf, const struct cniconf_dirs *dirs,
                          struct crib_err *err)
{
    for (size_t i = 0; i < conf->n_plugins; i++) {
        bool found = false;

        for (const char *const *d = dirs->bin_dirs; *d && !found; d++) {
            _cleanup_free_ char *path = xasprintf("%s/%s", *d, conf->plugin_types[i]);

            found = access(path, X_OK) == 0;
        }
        if (!found)
            return crib_fail(err, CRIB_NOT_FOUND, 0,
                             "CNI plugin '%s' of network '%s' (%s) is not in the plugin dirs",
                             conf->plugin_types[i], conf->name, conf->file ? conf->file : "-");
    }
    return 0;
}

void cniconf_done(struct cniconf *c)
{
    free(c->file);
    free(c->name);
    free(c->cni_version);
    free(c->json);
    for (size_t i = 0; i < c->n_plugins; i++)
        free(c->plugin_types[i]);
    memset(c, 0, sizeof(*c));
}
