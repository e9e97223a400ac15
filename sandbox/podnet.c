#include "sandbox/podnet.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/crash.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "netcni/cni.h"

#define PODNET_FILE_MAX_BYTES (1u << 20)

static void json_putp(struct json_object **o)
{
    if (*o)
        json_object_put(*o);
}

static int save(const char *dir, const struct cniconf *conf, const struct podnet_pod *pod,
                const char *result_json, struct crib_err *err)
{
    _cleanup_(json_putp) struct json_object *o = json_object_new_object();
    _cleanup_free_ char *path = xasprintf("%s/cni.json", dir);
    struct json_object *who = json_object_new_object();
    const char *text;

    json_object_object_add(who, "id", json_object_new_string(pod->id));
    json_object_object_add(who, "namespace", json_object_new_string(pod->namespace));
    json_object_object_add(who, "name", json_object_new_string(pod->name));
    json_object_object_add(who, "uid", json_object_new_string(pod->uid));
    /* DEL needs the same capability args: portmap removes only the port
     * mappings it is told of. */
    if (pod->capability_args)
        json_object_object_add(who, "capabilityArgs", json_object_new_string(pod->capability_args));
    json_object_object_add(o, "pod", who);
    json_object_object_add(o, "conf", json_tokener_parse(conf->json));
    json_object_object_add(o, "result", result_json ? json_tokener_parse(result_json) : NULL);
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    return fs_write_volatile(path, text, strlen(text), 0600, err);
}

/* The result's addresses without their prefix lengths, comma-separated,
 * in the plugin's order (the first is the pod's primary IP). */
static void all_ips(const struct cni_result *res, char ips[PODNET_IPS_MAX])
{
    size_t len = 0;

    ips[0] = '\0';
    for (size_t i = 0; i < res->n_ips && len < PODNET_IPS_MAX; i++) {
        int n = snprintf(ips + len, PODNET_IPS_MAX - len, "%s%.*s", len ? "," : "",
                         (int)strcspn(res->ips[i].address, "/"), res->ips[i].address);

        if (n < 0 || (size_t)n >= PODNET_IPS_MAX - len) {
            ips[len] = '\0'; /* what does not fit is left out whole */
            break;
        }
        len += (size_t)n;
    }
}

int podnet_add(const struct cniconf_dirs *dirs, const char *dir, const struct podnet_pod *pod,
               char ret_ips[PODNET_IPS_MAX], struct crib_err *err)
{
    _cleanup_free_ char *netns = xasprintf("%s/net", dir);
    struct cni_runtime rt = {.container_id = pod->id,
                             .netns = netns,
                             .ifname = "eth0",
                             .pod_namespace = pod->namespace,
                             .pod_name = pod->name,
                             .pod_uid = pod->uid,
                             .capability_args = pod->capability_args};
    struct cni_result *res = NULL;
    struct cniconf conf = {0};
    int r = cniconf_load(dirs, &conf, err);

    if (r < 0) {
        err->code = CRIB_STATE; /* the node's network is not ready: NetworkReady says so too */
        return crib_wrap(err, "pod network");
    }
    /* Before ADD: a plugin may allocate and then fail, or we may crash. */
    r = save(dir, &conf, pod, NULL, err);
    if (r >= 0)
        r = cni_add(&conf, dirs, &rt, PODNET_TIMEOUT_MS, &res, err);
    CRASH_POINT("pod-run-network");
    if (r >= 0)
        r = save(dir, &conf, pod, res->json, err);
    if (r >= 0)
        all_ips(res, ret_ips);
    cni_result_free(res);
    cniconf_done(&conf);
    return r;
}

static const char *get_str(struct json_object *o, const char *key)
{
    struct json_object *v;

    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : "";
}

/* Runs DEL (check false) or CHECK with what ADD used and gave, as saved in
 * the pod's cni.json. */
static int run_saved(const struct cniconf_dirs *dirs, const char *dir, struct json_object *saved,
                     bool check, struct crib_err *err)
{
    struct json_object *c, *res, *who;
    _cleanup_free_ char *netns = xasprintf("%s/net", dir);
    struct cni_result *prev = NULL;
    struct cniconf conf = {0};
    struct cni_runtime rt = {.netns = netns, .ifname = "eth0"};
    const char *text;
    int r;

    if (!json_object_object_get_ex(saved, "conf", &c) ||
        !json_object_object_get_ex(saved, "pod", &who))
        return crib_fail(err, CRIB_INTERNAL, 0, "%s/cni.json is incomplete", dir);
    rt.container_id = get_str(who, "id");
    rt.pod_namespace = get_str(who, "namespace");
    rt.pod_name = get_str(who, "name");
    rt.pod_uid = get_str(who, "uid");
    rt.capability_args = *get_str(who, "capabilityArgs") ? get_str(who, "capabilityArgs") : NULL;
    text = json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN);
    r = cniconf_parse(text, strlen(text), 1, &conf, err);
    if (r >= 0 && json_object_object_get_ex(saved, "result", &res) && res) {
        text = json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN);
        r = cni_result_parse(text, strlen(text), &prev, err);
    }
    if (r >= 0 && check)
        r = prev ? cni_check(&conf, dirs, &rt, prev, PODNET_TIMEOUT_MS, err) : 0;
    else if (r >= 0)
        r = cni_del(&conf, dirs, &rt, prev, PODNET_TIMEOUT_MS, err);
    cni_result_free(prev);
    cniconf_done(&conf);
    return r;
}

static int read_saved(const char *dir, struct json_object **ret, struct crib_err *err)
{
    _cleanup_free_ char *path = xasprintf("%s/cni.json", dir);
    _cleanup_free_ char *text = NULL;
    int r = fs_read_file(path, PODNET_FILE_MAX_BYTES, &text, NULL, err);

    if (r < 0)
        return err->code == CRIB_NOT_FOUND ? 1 : r;
    *ret = json_tokener_parse(text);
    if (!*ret)
        return crib_fail(err, CRIB_INTERNAL, 0, "%s is not JSON", path);
    return 0;
}

int podnet_del(const struct cniconf_dirs *dirs, const char *dir, struct crib_err *err)
{
    _cleanup_free_ char *path = xasprintf("%s/cni.json", dir);
    _cleanup_(json_putp) struct json_object *saved = NULL;
    int r = read_saved(dir, &saved, err);

    if (r != 0)
        return r < 0 ? r : 0;
    /* A plugin's DEL may fail for a moment (a lock, a busy iptables); the
     * spec makes DEL idempotent, so it is tried again before giving up. */
    for (unsigned attempt = 0;; attempt++) {
        r = run_saved(dirs, dir, saved, false, err);
        if (r >= 0 || attempt + 1 == PODNET_DEL_ATTEMPTS || err->code == CRIB_NOT_FOUND)
            break;
        log_info("pod network DEL failed (%s), trying again", err->msg);
        poll(NULL, 0, PODNET_DEL_BACKOFF_MS << attempt);
    }
    if (r < 0)
        return crib_wrap(err, "pod network");
    if (unlink(path) < 0 && errno != ENOENT)
        return crib_fail(err, CRIB_INTERNAL, errno, "remove %s", path);
    return 0;
}

int podnet_check(const struct cniconf_dirs *dirs, const char *dir, struct crib_err *err)
{
    _cleanup_(json_putp) struct json_object *saved = NULL;
    int r = read_saved(dir, &saved, err);

    if (r != 0)
        return r < 0 ? r : 0;
    r = run_saved(dirs, dir, saved, true, err);
    /* A config older than CNI 0.4.0 has no CHECK: nothing to learn. */
    if (r < 0 && err->code == CRIB_UNIMPLEMENTED)
        return 0;
    return r < 0 ? crib_wrap(err, "pod network CHECK") : 0;
}
