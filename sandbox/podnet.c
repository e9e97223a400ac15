#include "sandbox/podnet.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/crash.h"
#include "common/fs.h"
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

static void first_ip(const struct cni_result *res, char ip[INET6_ADDRSTRLEN])
{
    ip[0] = '\0';
    if (res->n_ips > 0)
        snprintf(ip, INET6_ADDRSTRLEN, "%.*s", (int)strcspn(res->ips[0].address, "/"),
                 res->ips[0].address);
}

int podnet_add(const struct cniconf_dirs *dirs, const char *dir, const struct podnet_pod *pod,
               char ret_ip[INET6_ADDRSTRLEN], struct crib_err *err)
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
        first_ip(res, ret_ip);
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

static int del_with(const struct cniconf_dirs *dirs, const char *dir, struct json_object *saved,
                    struct crib_err *err)
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
    if (r >= 0)
        r = cni_del(&conf, dirs, &rt, prev, PODNET_TIMEOUT_MS, err);
    cni_result_free(prev);
    cniconf_done(&conf);
    return r;
}

int podnet_del(const struct cniconf_dirs *dirs, const char *dir, struct crib_err *err)
{
    _cleanup_free_ char *path = xasprintf("%s/cni.json", dir);
    _cleanup_free_ char *text = NULL;
    _cleanup_(json_putp) struct json_object *saved = NULL;
    int r = fs_read_file(path, PODNET_FILE_MAX_BYTES, &text, NULL, err);

    if (r < 0)
        return err->code == CRIB_NOT_FOUND ? 0 : r;
    saved = json_tokener_parse(text);
    if (!saved)
        return crib_fail(err, CRIB_INTERNAL, 0, "%s is not JSON", path);
    r = del_with(dirs, dir, saved, err);
    if (r < 0)
        return crib_wrap(err, "pod network");
    if (unlink(path) < 0 && errno != ENOENT)
        return crib_fail(err, CRIB_INTERNAL, errno, "remove %s", path);
    return 0;
}
