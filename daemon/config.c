#include "daemon/config.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cgdriver.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/proc.h"
#include "common/xalloc.h"

#define CONFIG_MAX_DROPINS 64
#define CONFIG_MAX_WORKERS 256

static void json_putp(struct json_object **o)
{
    if (*o)
        json_object_put(*o);
}

void config_set(char **field, const char *value)
{
    free(*field);
    *field = value ? xstrdup(value) : NULL;
}

/* name in the dir of the running binary: helpers installed beside cribd. */
static void config_set_beside_self(char **field, const char *name)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash;

    if (n <= 0) {
        config_set(field, name);
        return;
    }
    self[n] = '\0';
    slash = strrchr(self, '/');
    free(*field);
    *field = xasprintf("%.*s/%s", (int)(slash - self), self, name);
}

static void runtime_set(struct config_runtime *rt, const char *name, const char *path,
                        const char *type)
{
    config_set(&rt->name, name);
    config_set(&rt->path, path);
    config_set(&rt->type, type);
}

void config_defaults(struct crib_config *cfg)
{
    char self_path[PATH_MAX];

    memset(cfg, 0, sizeof(*cfg));
    config_set(&cfg->root_dir, "/var/lib/crib");
    config_set(&cfg->state_dir, "/run/crib");
    config_set(&cfg->listen, "/run/crib/crib.sock");
    cfg->log_level = LOG_LEVEL_INFO;
    cfg->log_format = LOG_FORMAT_LOGFMT;
    /* The kubelet must use the same driver; systemd's is right where systemd
     * is the init, as on most nodes. */
    config_set(&cfg->cgroup_driver,
               access("/run/systemd/system", F_OK) == 0 ? "systemd" : "cgroupfs");
    config_set(&cfg->default_runtime, "runc");
    config_set(&cfg->conmon, "conmon");
    config_set_beside_self(&cfg->infra, "crib-infra");
    config_set_beside_self(&cfg->runsc_wrapper, "crib-runsc");
    runtime_set(&cfg->runtimes[0], "runc", "runc", "runc");
    cfg->n_runtimes = 1;
    /* gVisor where it is installed, as the RuntimeClass handler "runsc". */
    if (proc_find_program("runsc", self_path, sizeof(self_path), NULL) == 0)
        runtime_set(&cfg->runtimes[cfg->n_runtimes++], "runsc", "runsc", "runsc");
    config_set(&cfg->cni_conf_dir, "/etc/cni/net.d");
    config_set(&cfg->cni_bin_dirs[0], "/opt/cni/bin");
    config_set(&cfg->cni_bin_dirs[1], "/usr/lib/cni");
    config_set(&cfg->registry_dirs[0], "/etc/crib/certs.d");
    cfg->max_parallel_layers = 3;
    cfg->max_layer_bytes = 64ull << 30;
    cfg->stall_timeout_s = 30;
    cfg->workers = 4;
    cfg->long_workers = 16;
    cfg->shutdown_timeout_s = 10;
    config_set(&cfg->metrics_address, "");
    /* The kubelet's own streaming server defaults: loopback, a token lives 4 minutes. */
    config_set(&cfg->streaming_address, "127.0.0.1");
    cfg->streaming_token_ttl_s = 240;
    cfg->streaming_max_sessions = 128;
}

static int want_type(struct json_object *v, enum json_type t, const char *key, struct crib_err *err)
{
    if (!json_object_is_type(v, t))
        return crib_fail(err, CRIB_INVALID, 0, "\"%s\" must be a %s", key, json_type_to_name(t));
    return 0;
}

static int get_str(struct json_object *v, const char *key, char **field, struct crib_err *err)
{
    int r = want_type(v, json_type_string, key, err);

    if (r < 0)
        return r;
    if (json_object_get_string_len(v) == 0)
        return crib_fail(err, CRIB_INVALID, 0, "\"%s\" must not be empty", key);
    config_set(field, json_object_get_string(v));
    return 0;
}

/* A string where "" means off. */
static int get_optional_str(struct json_object *v, const char *key, char **field,
                            struct crib_err *err)
{
    int r = want_type(v, json_type_string, key, err);

    if (r >= 0)
        config_set(field, json_object_get_string(v));
    return r;
}

static int get_uint(struct json_object *v, const char *key, unsigned min, unsigned max,
                    unsigned *field, struct crib_err *err)
{
    int64_t n;
    int r = want_type(v, json_type_int, key, err);

    if (r < 0)
        return r;
    n = json_object_get_int64(v);
    if (n < min || n > max)
        return crib_fail(err, CRIB_INVALID, 0, "\"%s\" must be between %u and %u", key, min, max);
    *field = (unsigned)n;
    return 0;
}

static int get_bytes(struct json_object *v, const char *key, uint64_t *field, struct crib_err *err)
{
    int r = want_type(v, json_type_int, key, err);

    if (r < 0)
        return r;
    if (json_object_get_int64(v) < (1 << 20))
        return crib_fail(err, CRIB_INVALID, 0, "\"%s\" must be at least 1 MiB", key);
    *field = (uint64_t)json_object_get_int64(v);
    return 0;
}

static struct config_runtime *runtime_slot(struct crib_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_runtimes; i++)
        if (strcmp(cfg->runtimes[i].name, name) == 0)
            return &cfg->runtimes[i];
    if (cfg->n_runtimes == CONFIG_MAX_RUNTIMES)
        return NULL;
    config_set(&cfg->runtimes[cfg->n_runtimes].name, name);
    return &cfg->runtimes[cfg->n_runtimes++];
}

static int get_flags(struct config_runtime *rt, struct json_object *arr, struct crib_err *err)
{
    size_t n;
    int r = want_type(arr, json_type_array, "flags", err);

    if (r < 0)
        return r;
    n = json_object_array_length(arr);
    if (n > CONFIG_MAX_RUNTIME_FLAGS)
        return crib_fail(err, CRIB_INVALID, 0, "\"flags\" may list at most %d flags",
                         CONFIG_MAX_RUNTIME_FLAGS);
    for (size_t i = 0; i <= CONFIG_MAX_RUNTIME_FLAGS; i++)
        config_set(&rt->flags[i], NULL);
    for (size_t i = 0; i < n; i++) {
        r = get_str(json_object_array_get_idx(arr, i), "flags", &rt->flags[i], err);
        if (r < 0)
            return r;
        /* A flag, never a command or an argument of one. */
        if (strncmp(rt->flags[i], "--", 2) != 0 || strncmp(rt->flags[i], "--root", 6) == 0)
            return crib_fail(err, CRIB_INVALID, 0,
                             "\"flags\": '%s' is not a global flag (--NAME[=VALUE], not --root)",
                             rt->flags[i]);
    }
    return 0;
}

static int apply_runtime(struct config_runtime *rt, struct json_object *obj, struct crib_err *err)
{
    int r = want_type(obj, json_type_object, rt->name, err);

    if (r < 0)
        return r;
    json_object_object_foreach (obj, key, v) {
        if (strcmp(key, "path") == 0)
            r = get_str(v, key, &rt->path, err);
        else if (strcmp(key, "root") == 0)
            r = get_str(v, key, &rt->root, err);
        else if (strcmp(key, "type") == 0)
            r = get_str(v, key, &rt->type, err);
        else if (strcmp(key, "flags") == 0)
            r = get_flags(rt, v, err);
        else
            r = crib_fail(err, CRIB_INVALID, 0, "unknown key \"%s\"", key);
        if (r < 0)
            return crib_wrap(err, "runtimes.%s", rt->name);
    }
    return 0;
}

static int apply_runtimes(struct crib_config *cfg, struct json_object *obj, struct crib_err *err)
{
    int r = want_type(obj, json_type_object, "runtimes", err);

    if (r < 0)
        return r;
    json_object_object_foreach (obj, name, v) {
        struct config_runtime *rt;

        if (!*name)
            return crib_fail(err, CRIB_INVALID, 0, "runtimes: a handler name must not be empty");
        rt = runtime_slot(cfg, name);
        if (!rt)
            return crib_fail(err, CRIB_LIMIT, 0, "runtimes: more than %d handlers",
                             CONFIG_MAX_RUNTIMES);
        r = apply_runtime(rt, v, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int apply_dirs(char **dirs, struct json_object *arr, const char *key, struct crib_err *err)
{
    size_t n;
    int r = want_type(arr, json_type_array, key, err);

    if (r < 0)
        return r;
    n = json_object_array_length(arr);
    if (n == 0 || n > CONFIG_MAX_DIRS)
        return crib_fail(err, CRIB_INVALID, 0, "\"%s\" must list 1 to %d dirs", key,
                         CONFIG_MAX_DIRS);
    for (size_t i = 0; i < CONFIG_MAX_DIRS; i++)
        config_set(&dirs[i], NULL);
    for (size_t i = 0; i < n; i++) {
        r = get_str(json_object_array_get_idx(arr, i), key, &dirs[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int apply_cni(struct crib_config *cfg, struct json_object *obj, struct crib_err *err)
{
    int r = want_type(obj, json_type_object, "cni", err);

    if (r < 0)
        return r;
    json_object_object_foreach (obj, key, v) {
        if (strcmp(key, "confDir") == 0)
            r = get_str(v, key, &cfg->cni_conf_dir, err);
        else if (strcmp(key, "binDirs") == 0)
            r = apply_dirs(cfg->cni_bin_dirs, v, key, err);
        else
            r = crib_fail(err, CRIB_INVALID, 0, "unknown key \"%s\"", key);
        if (r < 0)
            return crib_wrap(err, "cni");
    }
    return 0;
}

static int apply_streaming_key(struct crib_config *cfg, const char *key, struct json_object *v,
                               struct crib_err *err)
{
    if (strcmp(key, "address") == 0)
        return get_str(v, key, &cfg->streaming_address, err);
    if (strcmp(key, "port") == 0)
        return get_uint(v, key, 0, 65535, &cfg->streaming_port, err);
    if (strcmp(key, "tlsCert") == 0)
        return get_str(v, key, &cfg->streaming_tls_cert, err);
    if (strcmp(key, "tlsKey") == 0)
        return get_str(v, key, &cfg->streaming_tls_key, err);
    if (strcmp(key, "tokenTTLSeconds") == 0)
        return get_uint(v, key, 1, 86400, &cfg->streaming_token_ttl_s, err);
    if (strcmp(key, "maxSessions") == 0)
        return get_uint(v, key, 1, 4096, &cfg->streaming_max_sessions, err);
    return crib_fail(err, CRIB_INVALID, 0, "unknown key \"%s\"", key);
}

static int apply_streaming(struct crib_config *cfg, struct json_object *obj, struct crib_err *err)
{
    int r = want_type(obj, json_type_object, "streaming", err);

    if (r < 0)
        return r;
    json_object_object_foreach (obj, key, v) {
        r = apply_streaming_key(cfg, key, v, err);
        if (r < 0)
            return crib_wrap(err, "streaming");
    }
    return 0;
}

static int apply_enum(struct json_object *v, const char *key, struct crib_config *cfg,
                      struct crib_err *err)
{
    int r = want_type(v, json_type_string, key, err);
    const char *s = json_object_get_string(v);

    if (r < 0)
        return r;
    if (strcmp(key, "logLevel") == 0)
        r = log_level_parse(s, &cfg->log_level);
    else
        r = log_format_parse(s, &cfg->log_format);
    if (r < 0)
        return crib_fail(err, CRIB_INVALID, 0, "\"%s\": unknown value '%s'", key, s);
    return 0;
}

static int apply_key(struct crib_config *cfg, const char *key, struct json_object *v,
                     struct crib_err *err)
{
    if (strcmp(key, "rootDir") == 0)
        return get_str(v, key, &cfg->root_dir, err);
    if (strcmp(key, "stateDir") == 0)
        return get_str(v, key, &cfg->state_dir, err);
    if (strcmp(key, "listen") == 0)
        return get_str(v, key, &cfg->listen, err);
    if (strcmp(key, "logLevel") == 0 || strcmp(key, "logFormat") == 0)
        return apply_enum(v, key, cfg, err);
    if (strcmp(key, "cgroupDriver") == 0)
        return get_str(v, key, &cfg->cgroup_driver, err);
    if (strcmp(key, "infraPath") == 0)
        return get_str(v, key, &cfg->infra, err);
    if (strcmp(key, "runscWrapperPath") == 0)
        return get_str(v, key, &cfg->runsc_wrapper, err);
    if (strcmp(key, "conmonPath") == 0)
        return get_str(v, key, &cfg->conmon, err);
    if (strcmp(key, "defaultRuntime") == 0)
        return get_str(v, key, &cfg->default_runtime, err);
    if (strcmp(key, "runtimes") == 0)
        return apply_runtimes(cfg, v, err);
    if (strcmp(key, "cni") == 0)
        return apply_cni(cfg, v, err);
    if (strcmp(key, "streaming") == 0)
        return apply_streaming(cfg, v, err);
    if (strcmp(key, "registryConfigDirs") == 0)
        return apply_dirs(cfg->registry_dirs, v, key, err);
    if (strcmp(key, "maxParallelLayers") == 0)
        return get_uint(v, key, 1, 64, &cfg->max_parallel_layers, err);
    if (strcmp(key, "maxLayerBytes") == 0)
        return get_bytes(v, key, &cfg->max_layer_bytes, err);
    if (strcmp(key, "stallTimeoutSeconds") == 0)
        return get_uint(v, key, 1, 3600, &cfg->stall_timeout_s, err);
    if (strcmp(key, "workers") == 0)
        return get_uint(v, key, 1, CONFIG_MAX_WORKERS, &cfg->workers, err);
    if (strcmp(key, "longWorkers") == 0)
        return get_uint(v, key, 1, CONFIG_MAX_WORKERS, &cfg->long_workers, err);
    if (strcmp(key, "shutdownTimeoutSeconds") == 0)
        return get_uint(v, key, 0, 3600, &cfg->shutdown_timeout_s, err);
    if (strcmp(key, "metricsAddress") == 0)
        return get_optional_str(v, key, &cfg->metrics_address, err);
    return crib_fail(err, CRIB_INVALID, 0, "unknown key \"%s\"", key);
}

int config_apply_json(struct crib_config *cfg, const char *text, size_t len, struct crib_err *err)
{
    _cleanup_(json_putp) struct json_object *root = NULL;
    struct json_tokener *tok;
    enum json_tokener_error jerr;
    int r;

    if (len > CONFIG_MAX_BYTES)
        return crib_fail(err, CRIB_LIMIT, 0, "config over %u bytes", CONFIG_MAX_BYTES);
    tok = json_tokener_new();
    root = json_tokener_parse_ex(tok, text, (int)len);
    jerr = json_tokener_get_error(tok);
    /* Trailing bytes after the object would be silently lost: refuse them. */
    if (root && jerr == json_tokener_success && json_tokener_get_parse_end(tok) < len)
        jerr = json_tokener_error_parse_unexpected;
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success)
        return crib_fail(err, CRIB_INVALID, 0, "not valid JSON: %s", json_tokener_error_desc(jerr));
    if (!json_object_is_type(root, json_type_object))
        return crib_fail(err, CRIB_INVALID, 0, "the config must be a JSON object");
    json_object_object_foreach (root, key, v) {
        r = apply_key(cfg, key, v, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int apply_file(struct crib_config *cfg, const char *path, bool must_exist,
                      struct crib_err *err)
{
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = fs_read_file(path, CONFIG_MAX_BYTES, &text, &len, err);

    if (r < 0 && err->code == CRIB_NOT_FOUND && !must_exist)
        return 0;
    if (r < 0)
        return crib_wrap(err, "config");
    r = config_apply_json(cfg, text, len, err);
    if (r < 0)
        return crib_wrap(err, "config %s", path);
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int apply_dropins(struct crib_config *cfg, const char *path, struct crib_err *err)
{
    _cleanup_free_ char *dir = xasprintf("%s.d", path);
    _cleanup_closedir_ DIR *d = opendir(dir);
    char *names[CONFIG_MAX_DROPINS];
    struct dirent *de;
    size_t n = 0;
    int r = 0;

    if (!d)
        return errno == ENOENT ? 0 : crib_fail(err, CRIB_INTERNAL, errno, "config dir %s", dir);
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);

        if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        if (n == CONFIG_MAX_DROPINS) {
            r = crib_fail(err, CRIB_LIMIT, 0, "%s: more than %d drop-ins", dir, CONFIG_MAX_DROPINS);
            break;
        }
        names[n++] = xasprintf("%s/%s", dir, de->d_name);
    }
    qsort(names, n, sizeof(*names), name_cmp);
    for (size_t i = 0; i < n; i++) {
        if (r >= 0)
            r = apply_file(cfg, names[i], true, err);
        free(names[i]);
    }
    return r;
}

int config_load(struct crib_config *cfg, const char *path, bool must_exist, struct crib_err *err)
{
    int r = apply_file(cfg, path, must_exist, err);

    if (r < 0)
        return r;
    return apply_dropins(cfg, path, err);
}

static int finish_runtime(struct crib_config *cfg, struct config_runtime *rt, struct crib_err *err)
{
    if (!rt->type)
        config_set(&rt->type, rt->name);
    if (strcmp(rt->type, "runc") != 0 && strcmp(rt->type, "crun") != 0 &&
        strcmp(rt->type, "runsc") != 0)
        return crib_fail(err, CRIB_INVALID, 0, "runtimes.%s: unknown type '%s' (runc, crun, runsc)",
                         rt->name, rt->type);
    if (!rt->path)
        config_set(&rt->path, rt->type);
    if (!rt->root)
        rt->root = xasprintf("%s/%s", cfg->state_dir, rt->name);
    return 0;
}

int config_finish(struct crib_config *cfg, struct crib_err *err)
{
    bool found = false;
    int r;

    if (!cgroup_driver_find(cfg->cgroup_driver))
        return crib_fail(err, CRIB_INVALID, 0,
                         "cgroupDriver: unknown value '%s' (cgroupfs, systemd)",
                         cfg->cgroup_driver);
    for (const char **p = (const char *[]){cfg->root_dir, cfg->state_dir, cfg->listen, NULL}; *p;
         p++)
        if ((*p)[0] != '/')
            return crib_fail(err, CRIB_INVALID, 0, "path '%s' must be absolute", *p);
    for (size_t i = 0; i < cfg->n_runtimes; i++) {
        r = finish_runtime(cfg, &cfg->runtimes[i], err);
        if (r < 0)
            return r;
        found = found || strcmp(cfg->runtimes[i].name, cfg->default_runtime) == 0;
    }
    if (!found)
        return crib_fail(err, CRIB_INVALID, 0, "defaultRuntime '%s' is not in \"runtimes\"",
                         cfg->default_runtime);
    if (!cfg->streaming_tls_cert != !cfg->streaming_tls_key)
        return crib_fail(err, CRIB_INVALID, 0, "streaming: tlsCert and tlsKey go together");
    return 0;
}

static struct json_object *strv_to_json(char *const *v);

static struct json_object *runtimes_to_json(const struct crib_config *cfg)
{
    struct json_object *rts = json_object_new_object();

    for (size_t i = 0; i < cfg->n_runtimes; i++) {
        const struct config_runtime *rt = &cfg->runtimes[i];
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "path", json_object_new_string(rt->path ? rt->path : ""));
        json_object_object_add(o, "root", json_object_new_string(rt->root ? rt->root : ""));
        json_object_object_add(o, "type", json_object_new_string(rt->type ? rt->type : ""));
        json_object_object_add(o, "flags", strv_to_json(rt->flags));
        json_object_object_add(rts, rt->name, o);
    }
    return rts;
}

static struct json_object *strv_to_json(char *const *v)
{
    struct json_object *a = json_object_new_array();

    for (size_t i = 0; v[i]; i++)
        json_object_array_add(a, json_object_new_string(v[i]));
    return a;
}

static struct json_object *streaming_to_json(const struct crib_config *cfg)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "address", json_object_new_string(cfg->streaming_address));
    json_object_object_add(o, "port", json_object_new_int((int)cfg->streaming_port));
    /* Unset, they are left out: "" is not a value the file may hold. */
    if (cfg->streaming_tls_cert)
        json_object_object_add(o, "tlsCert", json_object_new_string(cfg->streaming_tls_cert));
    if (cfg->streaming_tls_key)
        json_object_object_add(o, "tlsKey", json_object_new_string(cfg->streaming_tls_key));
    json_object_object_add(o, "tokenTTLSeconds",
                           json_object_new_int((int)cfg->streaming_token_ttl_s));
    json_object_object_add(o, "maxSessions", json_object_new_int((int)cfg->streaming_max_sessions));
    return o;
}

char *config_to_json(const struct crib_config *cfg)
{
    _cleanup_(json_putp) struct json_object *o = json_object_new_object();
    struct json_object *cni = json_object_new_object();

    json_object_object_add(o, "rootDir", json_object_new_string(cfg->root_dir));
    json_object_object_add(o, "stateDir", json_object_new_string(cfg->state_dir));
    json_object_object_add(o, "listen", json_object_new_string(cfg->listen));
    json_object_object_add(o, "logLevel", json_object_new_string(log_level_name(cfg->log_level)));
    json_object_object_add(
        o, "logFormat",
        json_object_new_string(cfg->log_format == LOG_FORMAT_JSON ? "json" : "logfmt"));
    json_object_object_add(o, "cgroupDriver", json_object_new_string(cfg->cgroup_driver));
    json_object_object_add(o, "defaultRuntime", json_object_new_string(cfg->default_runtime));
    json_object_object_add(o, "conmonPath", json_object_new_string(cfg->conmon));
    json_object_object_add(o, "infraPath", json_object_new_string(cfg->infra));
    json_object_object_add(o, "runscWrapperPath", json_object_new_string(cfg->runsc_wrapper));
    json_object_object_add(o, "runtimes", runtimes_to_json(cfg));
    json_object_object_add(cni, "confDir", json_object_new_string(cfg->cni_conf_dir));
    json_object_object_add(cni, "binDirs", strv_to_json(cfg->cni_bin_dirs));
    json_object_object_add(o, "cni", cni);
    json_object_object_add(o, "registryConfigDirs", strv_to_json(cfg->registry_dirs));
    json_object_object_add(o, "maxParallelLayers",
                           json_object_new_int((int)cfg->max_parallel_layers));
    json_object_object_add(o, "maxLayerBytes",
                           json_object_new_int64((int64_t)cfg->max_layer_bytes));
    json_object_object_add(o, "stallTimeoutSeconds",
                           json_object_new_int((int)cfg->stall_timeout_s));
    json_object_object_add(o, "workers", json_object_new_int((int)cfg->workers));
    json_object_object_add(o, "longWorkers", json_object_new_int((int)cfg->long_workers));
    json_object_object_add(o, "shutdownTimeoutSeconds",
                           json_object_new_int((int)cfg->shutdown_timeout_s));
    json_object_object_add(o, "metricsAddress", json_object_new_string(cfg->metrics_address));
    json_object_object_add(o, "streaming", streaming_to_json(cfg));
    return xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

void config_done(struct crib_config *cfg)
{
    free(cfg->root_dir);
    free(cfg->state_dir);
    free(cfg->listen);
    free(cfg->cgroup_driver);
    free(cfg->metrics_address);
    free(cfg->conmon);
    free(cfg->infra);
    free(cfg->runsc_wrapper);
    free(cfg->default_runtime);
    for (size_t i = 0; i < cfg->n_runtimes; i++) {
        free(cfg->runtimes[i].name);
        free(cfg->runtimes[i].path);
        free(cfg->runtimes[i].root);
        free(cfg->runtimes[i].type);
        for (size_t j = 0; cfg->runtimes[i].flags[j]; j++)
            free(cfg->runtimes[i].flags[j]);
    }
    free(cfg->cni_conf_dir);
    free(cfg->streaming_address);
    free(cfg->streaming_tls_cert);
    free(cfg->streaming_tls_key);
    for (size_t i = 0; cfg->cni_bin_dirs[i]; i++)
        free(cfg->cni_bin_dirs[i]);
    for (size_t i = 0; cfg->registry_dirs[i]; i++)
        free(cfg->registry_dirs[i]);
    memset(cfg, 0, sizeof(*cfg));
}
