#include "netcni/cni.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/proc.h"
#include "common/xalloc.h"
#include "netcni/internal.h"

/* How much of a failing plugin's stderr goes into the error message. */
#define CNI_STDERR_SNIPPET 160
#define CNI_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* The spec's error code 11: "try again later". */
#define CNI_ERR_TRY_AGAIN 11

enum {
    ENV_COMMAND,
    ENV_CONTAINERID,
    ENV_NETNS,
    ENV_IFNAME,
    ENV_ARGS,
    ENV_PATH,
    ENV_SYSPATH,
    N_ENV
};

/* One operation (ADD, CHECK, DEL) over the plugins of one network. */
struct cni_op {
    const char *command;
    const struct cniconf *conf;
    const struct cniconf_dirs *dirs;
    const struct cni_runtime *rt;
    int timeout_ms;
    struct json_object *cap_args; /* parsed rt->capability_args, or NULL */
    char *env[N_ENV + 1];
};

static char *join_dirs(const char *const *dirs)
{
    char *joined = xstrdup("");

    for (size_t i = 0; dirs[i]; i++) {
        char *next = xasprintf("%s%s%s", joined, i ? ":" : "", dirs[i]);

        free(joined);
        joined = next;
    }
    return joined;
}

static char *cni_args(const struct cni_runtime *rt)
{
    return xasprintf("IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;"
                     "K8S_POD_INFRA_CONTAINER_ID=%s;K8S_POD_UID=%s",
                     rt->pod_namespace ? rt->pod_namespace : "", rt->pod_name ? rt->pod_name : "",
                     rt->container_id, rt->pod_uid ? rt->pod_uid : "");
}

static void op_done(struct cni_op *op)
{
    for (size_t i = 0; i < N_ENV; i++)
        free(op->env[i]);
    if (op->cap_args)
        json_object_put(op->cap_args);
}

/* Fills the environment the spec gives every plugin, and parses the capability args. */
static int op_init(struct cni_op *op, const char *command, struct crib_err *err)
{
    const struct cni_runtime *rt = op->rt;
    _cleanup_free_ char *bin_path = join_dirs(op->dirs->bin_dirs);
    _cleanup_free_ char *args = cni_args(rt);
    const char *path = getenv("PATH");

    op->command = command;
    op->env[ENV_COMMAND] = xasprintf("CNI_COMMAND=%s", command);
    op->env[ENV_CONTAINERID] = xasprintf("CNI_CONTAINERID=%s", rt->container_id);
    op->env[ENV_NETNS] = xasprintf("CNI_NETNS=%s", rt->netns ? rt->netns : "");
    op->env[ENV_IFNAME] = xasprintf("CNI_IFNAME=%s", rt->ifname ? rt->ifname : "eth0");
    op->env[ENV_ARGS] = xasprintf("CNI_ARGS=%s", args);
    op->env[ENV_PATH] = xasprintf("CNI_PATH=%s", bin_path);
    op->env[ENV_SYSPATH] = xasprintf("PATH=%s", path && *path ? path : CNI_DEFAULT_PATH);
    if (!rt->capability_args)
        return 0;
    op->cap_args = json_tokener_parse(rt->capability_args);
    if (!op->cap_args || !json_object_is_type(op->cap_args, json_type_object))
        return crib_fail(err, CRIB_INVALID, 0, "CNI capability args are not a JSON object");
    return 0;
}

static int find_plugin(const struct cni_op *op, const char *type, char **ret_path,
                       struct crib_err *err)
{
    if (!*type) /* cniconf checked the types; an empty one would name the dir itself */
        return crib_fail(err, CRIB_INVALID, 0, "a plugin of network '%s' has no type",
                         op->conf->name);
    for (const char *const *d = op->dirs->bin_dirs; *d; d++) {
        char *path = xasprintf("%s/%s", *d, type);

        if (access(path, X_OK) == 0) {
            *ret_path = path;
            return 0;
        }
        free(path);
    }
    return crib_fail(err, CRIB_NOT_FOUND, 0, "CNI plugin '%s' of network '%s' is not in %s", type,
                     op->conf->name, op->env[ENV_PATH] + strlen("CNI_PATH="));
}

/* The capability args the plugin asks for ("capabilities": {"portMappings": true}). */
static void add_runtime_config(const struct cni_op *op, struct json_object *plugin)
{
    struct json_object *caps, *rc;

    if (!op->cap_args || !json_object_object_get_ex(plugin, "capabilities", &caps) ||
        !json_object_is_type(caps, json_type_object))
        return;
    rc = json_object_new_object();
    json_object_object_foreach (caps, key, wanted) {
        struct json_object *arg;

        if (json_object_get_boolean(wanted) && json_object_object_get_ex(op->cap_args, key, &arg))
            json_object_object_add(rc, key, json_object_get(arg));
    }
    if (json_object_object_length(rc) > 0)
        json_object_object_add(plugin, "runtimeConfig", rc);
    else
        json_object_put(rc);
}

/* The plugin's stdin: its own object plus the list's cniVersion and name,
 * prevResult and runtimeConfig. */
static char *plugin_stdin(const struct cni_op *op, struct json_object *plugin_conf,
                          const char *prev_result)
{
    _cleanup_(json_putp) struct json_object *plugin = NULL;
    struct json_object *prev;

    json_object_deep_copy(plugin_conf, &plugin, NULL);
    json_object_object_add(plugin, "cniVersion", json_object_new_string(op->conf->cni_version));
    json_object_object_add(plugin, "name", json_object_new_string(op->conf->name));
    json_object_object_del(plugin, "prevResult");
    prev = prev_result ? json_tokener_parse(prev_result) : NULL;
    if (prev)
        json_object_object_add(plugin, "prevResult", prev);
    add_runtime_config(op, plugin);
    return xstrdup(json_object_to_json_string_ext(plugin, JSON_C_TO_STRING_PLAIN));
}

static const char *get_string(struct json_object *obj, const char *key)
{
    struct json_object *v;

    if (!obj || !json_object_object_get_ex(obj, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return "";
    return json_object_get_string(v);
}

/* A failing plugin prints {"cniVersion", "code", "msg", "details"} on stdout. */
static int plugin_error(const struct cni_op *op, const char *type, const struct proc_result *res,
                        struct crib_err *err)
{
    _cleanup_(json_putp) struct json_object *o = json_tokener_parse(res->output);
    struct json_object *code_obj;
    int code = -1;

    if (o && json_object_object_get_ex(o, "code", &code_obj) &&
        json_object_is_type(code_obj, json_type_int))
        code = json_object_get_int(code_obj);
    if (res->term_signal)
        return crib_fail(err, CRIB_INTERNAL, 0, "CNI plugin '%s' %s killed by signal %d", type,
                         op->command, res->term_signal);
    if (code < 0)
        return crib_fail(err, CRIB_INTERNAL, 0, "CNI plugin '%s' %s failed (exit %d): %.160s%s%.*s",
                         type, op->command, res->exit_code, res->output,
                         *res->errout ? "; stderr: " : "", CNI_STDERR_SNIPPET, res->errout);
    return crib_fail(err, code == CNI_ERR_TRY_AGAIN ? CRIB_UNAVAILABLE : CRIB_INTERNAL, 0,
                     "CNI plugin '%s' %s failed: code %d: %s%s%s%s%.*s", type, op->command, code,
                     get_string(o, "msg"), *get_string(o, "details") ? ": " : "",
                     get_string(o, "details"), *res->errout ? "; stderr: " : "", CNI_STDERR_SNIPPET,
                     res->errout);
}

/* Runs one plugin; on success *ret_stdout (ADD only) holds its result. */
static int run_plugin(const struct cni_op *op, struct json_object *plugin_conf,
                      const char *prev_result, char **ret_stdout, struct crib_err *err)
{
    const char *type = get_string(plugin_conf, "type");
    _cleanup_free_ char *path = NULL;
    _cleanup_free_ char *in = NULL;
    struct proc_result res;
    int r;

    r = find_plugin(op, type, &path, err);
    if (r < 0)
        return r;
    in = plugin_stdin(op, plugin_conf, prev_result);
    r = proc_run_io((const char *const[]){path, NULL}, (const char *const *)op->env, in, strlen(in),
                    op->timeout_ms, CNI_RESULT_MAX_BYTES, &res, err);
    if (r < 0)
        return crib_wrap(err, "CNI plugin '%s' %s", type, op->command);
    if (res.exit_code != 0 || res.term_signal)
        r = plugin_error(op, type, &res, err);
    else if (ret_stdout)
        *ret_stdout = TAKE_PTR(res.output);
    proc_result_done(&res);
    return r;
}

/* The plugins array of the conflist. */
static struct json_object *plugins_of(struct json_object *list)
{
    struct json_object *plugins;

    if (!list || !json_object_object_get_ex(list, "plugins", &plugins) ||
        !json_object_is_type(plugins, json_type_array))
        return NULL;
    return plugins;
}

static bool is_json_object(const char *text)
{
    _cleanup_(json_putp) struct json_object *o = json_tokener_parse(text);

    return o && json_object_is_type(o, json_type_object);
}

static int run_add(struct cni_op *op, struct json_object *plugins, struct cni_result **ret_result,
                   struct crib_err *err)
{
    _cleanup_free_ char *prev = NULL;
    size_t n = json_object_array_length(plugins);
    int r;

    for (size_t i = 0; i < n; i++) {
        char *out = NULL;

        r = run_plugin(op, json_object_array_get_idx(plugins, i), prev, &out, err);
        if (r < 0)
            return r;
        free(prev);
        prev = out;
        if (i + 1 < n && !is_json_object(prev))
            return crib_fail(err, CRIB_INTERNAL, 0, "CNI plugin '%s' ADD printed no JSON result",
                             get_string(json_object_array_get_idx(plugins, i), "type"));
    }
    r = cni_result_parse(prev, strlen(prev), ret_result, err);
    if (r < 0) {
        err->code = CRIB_INTERNAL; /* a plugin's bad output is not the caller's bad input */
        return crib_wrap(err, "network '%s' ADD", op->conf->name);
    }
    return 0;
}

/* DEL goes on past a failing plugin so that the others still release what
 * they hold; the first failure is returned. */
static int run_del(struct cni_op *op, struct json_object *plugins, const char *prev,
                   struct crib_err *err)
{
    struct crib_err first;
    int ret = 0;

    for (size_t i = json_object_array_length(plugins); i-- > 0;) {
        int r = run_plugin(op, json_object_array_get_idx(plugins, i), prev, NULL, err);

        if (r < 0 && ret == 0) {
            ret = r;
            first = *err;
        }
    }
    if (ret < 0)
        *err = first;
    return ret;
}

static int run_check(struct cni_op *op, struct json_object *plugins, const char *prev,
                     struct crib_err *err)
{
    for (size_t i = 0; i < json_object_array_length(plugins); i++) {
        int r = run_plugin(op, json_object_array_get_idx(plugins, i), prev, NULL, err);

        if (r < 0)
            return r;
    }
    return 0;
}

static int run_op(struct cni_op *op, const char *command, const char *prev,
                  struct cni_result **ret_result, struct crib_err *err)
{
    _cleanup_(json_putp) struct json_object *list = NULL;
    struct json_object *plugins;
    int r;

    r = op_init(op, command, err);
    if (r < 0)
        return r;
    list = op->conf->json ? json_tokener_parse(op->conf->json) : NULL;
    plugins = plugins_of(list);
    if (!plugins)
        return crib_fail(err, CRIB_INVALID, 0, "network '%s' has no plugin list", op->conf->name);
    if (strcmp(command, "ADD") == 0)
        r = run_add(op, plugins, ret_result, err);
    else if (strcmp(command, "DEL") == 0)
        r = run_del(op, plugins, prev, err);
    else
        r = run_check(op, plugins, prev, err);
    return r;
}

int cni_add(const struct cniconf *conf, const struct cniconf_dirs *dirs,
            const struct cni_runtime *rt, int timeout_ms, struct cni_result **ret_result,
            struct crib_err *err)
{
    struct cni_op op = {.conf = conf, .dirs = dirs, .rt = rt, .timeout_ms = timeout_ms};
    int r = run_op(&op, "ADD", NULL, ret_result, err);

    op_done(&op);
    return r;
}

int cni_del(const struct cniconf *conf, const struct cniconf_dirs *dirs,
            const struct cni_runtime *rt, const struct cni_result *prev, int timeout_ms,
            struct crib_err *err)
{
    struct cni_op op = {.conf = conf, .dirs = dirs, .rt = rt, .timeout_ms = timeout_ms};
    int r = run_op(&op, "DEL", prev ? prev->json : NULL, NULL, err);

    op_done(&op);
    return r;
}

/* CHECK came with spec 0.4.0. */
static bool has_check(const char *version)
{
    return strncmp(version, "0.1.", 4) != 0 && strncmp(version, "0.2.", 4) != 0 &&
           strncmp(version, "0.3.", 4) != 0;
}

int cni_check(const struct cniconf *conf, const struct cniconf_dirs *dirs,
              const struct cni_runtime *rt, const struct cni_result *prev, int timeout_ms,
              struct crib_err *err)
{
    struct cni_op op = {.conf = conf, .dirs = dirs, .rt = rt, .timeout_ms = timeout_ms};
    int r;

    if (!has_check(conf->cni_version))
        return crib_fail(err, CRIB_UNIMPLEMENTED, 0, "network '%s' is CNI %s, which has no CHECK",
                         conf->name, conf->cni_version);
    r = run_op(&op, "CHECK", prev ? prev->json : NULL, NULL, err);
    op_done(&op);
    return r;
}
