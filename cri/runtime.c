/* RuntimeService: Version, Status, RuntimeConfig, UpdateRuntimeConfig. */
#include <stdio.h>
#include <string.h>

#include "common/cgdriver.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "cri/internal.h"
#include "netcni/podcidr.h"

#ifndef CRIB_VERSION
#define CRIB_VERSION "unknown"
#endif

/* The kubelet checks version "0.1.0" of the runtime API handshake. */
#define CRI_KUBELET_API_VERSION "0.1.0"

int cri_version(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **ret_resp,
                struct crib_err *err)
{
    Runtime__V1__VersionResponse *resp =
        CRI_NEW(call, Runtime__V1__VersionResponse, runtime__v1__version_response__init);

    (void)req;
    (void)err;
    resp->version = CRI_KUBELET_API_VERSION;
    resp->runtime_name = "crib";
    resp->runtime_version = CRIB_VERSION;
    resp->runtime_api_version = "v1";
    *ret_resp = &resp->base;
    return 0;
}

static Runtime__V1__RuntimeCondition *condition(struct cri_call *call, const char *type, bool ok,
                                                const char *reason, const struct crib_err *why)
{
    Runtime__V1__RuntimeCondition *c =
        CRI_NEW(call, Runtime__V1__RuntimeCondition, runtime__v1__runtime_condition__init);

    c->type = (char *)type;
    c->status = ok;
    if (!ok) {
        c->reason = (char *)reason;
        c->message = arena_strdup(&call->arena, why->msg);
    }
    return c;
}

static Runtime__V1__RuntimeCondition *runtime_ready(struct cri_call *call)
{
    struct cri_runtime *rt = call->rt;
    struct crib_err why;
    bool ok = handler_probe(&rt->handlers[rt->default_handler], NULL, 0, &why) >= 0;

    return condition(call, "RuntimeReady", ok, "OCIRuntimeNotReady", &why);
}

static Runtime__V1__RuntimeCondition *network_ready(struct cri_call *call)
{
    struct cniconf conf = {0};
    struct crib_err why;
    bool ok = cniconf_load(&call->rt->cni, &conf, &why) >= 0 &&
              cniconf_check_plugins(&conf, &call->rt->cni, &why) >= 0;

    cniconf_done(&conf);
    return condition(call, "NetworkReady", ok, "NetworkPluginNotReady", &why);
}

static Runtime__V1__RuntimeHandler *handler_entry(struct cri_call *call, const char *name,
                                                  const struct oci_handler *h)
{
    Runtime__V1__RuntimeHandler *e =
        CRI_NEW(call, Runtime__V1__RuntimeHandler, runtime__v1__runtime_handler__init);
    Runtime__V1__RuntimeHandlerFeatures *f = CRI_NEW(call, Runtime__V1__RuntimeHandlerFeatures,
                                                     runtime__v1__runtime_handler_features__init);

    f->recursive_read_only_mounts = h->features.recursive_read_only_mounts;
    f->user_namespaces = h->features.user_namespaces;
    e->name = (char *)name;
    e->features = f;
    return e;
}

/* The default handler is listed under the empty name too, as the kubelet
 * looks up a pod without a RuntimeClass that way. */
static void add_handlers(struct cri_call *call, Runtime__V1__StatusResponse *resp)
{
    struct cri_runtime *rt = call->rt;

    resp->n_runtime_handlers = rt->n_handlers + 1;
    resp->runtime_handlers =
        arena_alloc(&call->arena, resp->n_runtime_handlers * sizeof(*resp->runtime_handlers));
    resp->runtime_handlers[0] = handler_entry(call, "", &rt->handlers[rt->default_handler]);
    for (size_t i = 0; i < rt->n_handlers; i++)
        resp->runtime_handlers[i + 1] = handler_entry(call, rt->handlers[i].name, &rt->handlers[i]);
}

static void add_info(struct cri_call *call, Runtime__V1__StatusResponse *resp, const char *key,
                     const char *value)
{
    Runtime__V1__StatusResponse__InfoEntry *e =
        CRI_NEW(call, Runtime__V1__StatusResponse__InfoEntry,
                runtime__v1__status_response__info_entry__init);
    Runtime__V1__StatusResponse__InfoEntry **grown =
        arena_alloc(&call->arena, (resp->n_info + 1) * sizeof(*grown));

    if (resp->n_info)
        memcpy(grown, resp->info, resp->n_info * sizeof(*grown));
    e->key = (char *)key;
    e->value = arena_strdup(&call->arena, value);
    grown[resp->n_info++] = e;
    resp->info = grown;
}

static int add_verbose_info(struct cri_call *call, Runtime__V1__StatusResponse *resp,
                            struct crib_err *err)
{
    struct cri_runtime *rt = call->rt;
    _cleanup_free_ char *cidr = NULL;
    char version[128];
    struct crib_err ignored;
    int r;

    add_info(call, resp, "config", rt->config_json);
    if (handler_probe(&rt->handlers[rt->default_handler], version, sizeof(version), &ignored) >= 0)
        add_info(call, resp, "runtimeVersion", version);
    r = podcidr_get(rt->store, &cidr, err);
    if (r < 0)
        return r;
    if (cidr)
        add_info(call, resp, "podCIDR", cidr);
    return 0;
}

int cri_status(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **ret_resp,
               struct crib_err *err)
{
    const Runtime__V1__StatusRequest *in = (const Runtime__V1__StatusRequest *)req;
    Runtime__V1__StatusResponse *resp =
        CRI_NEW(call, Runtime__V1__StatusResponse, runtime__v1__status_response__init);
    Runtime__V1__RuntimeStatus *status =
        CRI_NEW(call, Runtime__V1__RuntimeStatus, runtime__v1__runtime_status__init);
    int r;

    status->n_conditions = 2;
    status->conditions = arena_alloc(&call->arena, 2 * sizeof(*status->conditions));
    status->conditions[0] = runtime_ready(call);
    status->conditions[1] = network_ready(call);
    resp->status = status;
    add_handlers(call, resp);
    /* Each feature turns true only once crib really supports it. */
    resp->features =
        CRI_NEW(call, Runtime__V1__RuntimeFeatures, runtime__v1__runtime_features__init);
    /* Merge and Strict are resolved by crib itself (oci/user.c). */
    resp->features->supplemental_groups_policy = true;
    if (in->verbose) {
        r = add_verbose_info(call, resp, err);
        if (r < 0)
            return r;
    }
    *ret_resp = &resp->base;
    return 0;
}

int cri_runtime_config(struct cri_call *call, const ProtobufCMessage *req,
                       ProtobufCMessage **ret_resp, struct crib_err *err)
{
    Runtime__V1__RuntimeConfigResponse *resp = CRI_NEW(call, Runtime__V1__RuntimeConfigResponse,
                                                       runtime__v1__runtime_config_response__init);
    Runtime__V1__LinuxRuntimeConfiguration *linux_cfg =
        CRI_NEW(call, Runtime__V1__LinuxRuntimeConfiguration,
                runtime__v1__linux_runtime_configuration__init);

    (void)req;
    (void)err;
    linux_cfg->cgroup_driver = call->rt->cgroup_driver == &cgroup_driver_systemd
                                   ? RUNTIME__V1__CGROUP_DRIVER__SYSTEMD
                                   : RUNTIME__V1__CGROUP_DRIVER__CGROUPFS;
    resp->linux = linux_cfg;
    *ret_resp = &resp->base;
    return 0;
}

static const char *requested_cidr(const Runtime__V1__UpdateRuntimeConfigRequest *in)
{
    if (!in->runtime_config || !in->runtime_config->network_config)
        return "";
    return in->runtime_config->network_config->pod_cidr;
}

int cri_validate_update_runtime_config(const ProtobufCMessage *req, struct crib_err *err)
{
    const char *cidr = requested_cidr((const Runtime__V1__UpdateRuntimeConfigRequest *)req);
    int r;

    if (!*cidr)
        return 0;
    r = podcidr_validate(cidr, err);
    return r < 0 ? crib_wrap(err, "runtime_config.network_config.pod_cidr") : 0;
}

/* An empty pod CIDR changes nothing: the kubelet sends one only once the node
 * has it, and never means to clear it. */
int cri_update_runtime_config(struct cri_call *call, const ProtobufCMessage *req,
                              ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const char *cidr = requested_cidr((const Runtime__V1__UpdateRuntimeConfigRequest *)req);
    int r;

    if (*cidr) {
        r = podcidr_set(call->rt->store, cidr, err);
        if (r < 0)
            return r;
        log_info("pod CIDR set to %s", cidr);
    }
    *ret_resp = &CRI_NEW(call, Runtime__V1__UpdateRuntimeConfigResponse,
                         runtime__v1__update_runtime_config_response__init)
                     ->base;
    return 0;
}
