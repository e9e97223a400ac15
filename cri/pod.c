/* RuntimeService pods: RunPodSandbox, StopPodSandbox, RemovePodSandbox,
 * PodSandboxStatus, ListPodSandbox, StreamPodSandboxes. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cri/internal.h"
#include "oci/container.h"
#include "sandbox/pod.h"

#define CRI_PODS_PER_MESSAGE 256

/* protobuf-c map entries all have one layout (base, key, value), so one
 * converter serves labels and annotations. */
static struct pod_kv *kv_from(struct cri_call *call, Runtime__V1__PodSandboxConfig__LabelsEntry **e,
                              size_t n)
{
    struct pod_kv *kv = arena_alloc(&call->arena, (n ? n : 1) * sizeof(*kv));

    for (size_t i = 0; i < n; i++)
        kv[i] = (struct pod_kv){e[i]->key, e[i]->value};
    return kv;
}

static struct ns_id_range *ranges_of(struct cri_call *call, Runtime__V1__IDMapping **m, size_t n)
{
    struct ns_id_range *r = arena_alloc(&call->arena, (n ? n : 1) * sizeof(*r));

    for (size_t i = 0; i < n; i++)
        r[i] = (struct ns_id_range){m[i]->container_id, m[i]->host_id, m[i]->length};
    return r;
}

static void userns_of(struct cri_call *call, const Runtime__V1__UserNamespace *u,
                      struct pod_config *cfg)
{
    /* No options: the node's user namespace, as before user namespaces. */
    cfg->userns_mode = u ? (enum pod_ns_mode)u->mode : POD_NS_NODE;
    if (!u)
        return;
    cfg->n_uid_ranges = u->n_uids;
    cfg->uid_ranges = ranges_of(call, u->uids, u->n_uids);
    cfg->n_gid_ranges = u->n_gids;
    cfg->gid_ranges = ranges_of(call, u->gids, u->n_gids);
}

static void namespaces_of(struct cri_call *call, const Runtime__V1__PodSandboxConfig *c,
                          struct pod_config *cfg)
{
    const Runtime__V1__NamespaceOption *ns = NULL;

    if (c->linux && c->linux->security_context)
        ns = c->linux->security_context->namespace_options;
    /* Without options the kubelet means a pod of its own: shared network and
     * IPC, a PID namespace per container. */
    cfg->net_mode = ns ? (enum pod_ns_mode)ns->network : POD_NS_POD;
    cfg->ipc_mode = ns ? (enum pod_ns_mode)ns->ipc : POD_NS_POD;
    cfg->pid_mode = ns ? (enum pod_ns_mode)ns->pid : POD_NS_CONTAINER;
    userns_of(call, ns ? ns->userns_options : NULL, cfg);
}

static void sysctls_of(struct cri_call *call, const Runtime__V1__LinuxPodSandboxConfig *l,
                       struct pod_config *cfg)
{
    const char **names, **values;

    if (!l || !l->n_sysctls)
        return;
    names = arena_alloc(&call->arena, l->n_sysctls * sizeof(*names));
    values = arena_alloc(&call->arena, l->n_sysctls * sizeof(*values));
    for (size_t i = 0; i < l->n_sysctls; i++) {
        names[i] = l->sysctls[i]->key;
        values[i] = l->sysctls[i]->value;
    }
    cfg->n_sysctls = l->n_sysctls;
    cfg->sysctl_names = names;
    cfg->sysctl_values = values;
}

/* CNI's portMappings capability: what the portmap plugin reads. */
static void add_port_mappings(struct json_object *o, const Runtime__V1__PodSandboxConfig *c)
{
    static const char *const protocols[] = {"tcp", "udp", "sctp"};
    struct json_object *list = json_object_new_array();

    for (size_t i = 0; i < c->n_port_mappings; i++) {
        const Runtime__V1__PortMapping *pm = c->port_mappings[i];
        struct json_object *m;

        /* No host port: the container port is only documentation, nothing to map. */
        if (pm->host_port <= 0)
            continue;
        m = json_object_new_object();
        json_object_object_add(m, "hostPort", json_object_new_int(pm->host_port));
        json_object_object_add(m, "containerPort", json_object_new_int(pm->container_port));
        json_object_object_add(
            m, "protocol",
            json_object_new_string((unsigned)pm->protocol < 3 ? protocols[pm->protocol] : "tcp"));
        json_object_object_add(m, "hostIP", json_object_new_string(pm->host_ip ? pm->host_ip : ""));
        json_object_array_add(list, m);
    }
    if (json_object_array_length(list))
        json_object_object_add(o, "portMappings", list);
    else
        json_object_put(list);
}

/* A Kubernetes quantity ("10M", "1Gi", "500k", "1000") in bits per second. */
static int parse_rate(const char *s, int64_t *ret)
{
    static const struct {
        const char *suffix;
        double factor;
    } units[] = {{"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
                 {"k", 1e3},     {"M", 1e6},        {"G", 1e9},           {"T", 1e12},
                 {"", 1.0}};
    char *end;
    double v = strtod(s, &end);

    if (end == s || v <= 0)
        return -EINVAL;
    for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            v *= units[i].factor;
            if (v > (double)INT64_MAX)
                return -EINVAL;
            *ret = (int64_t)v;
            return 0;
        }
    }
    return -EINVAL;
}

static const char *annotation(const Runtime__V1__PodSandboxConfig *c, const char *key)
{
    for (size_t i = 0; i < c->n_annotations; i++)
        if (strcmp(c->annotations[i]->key, key) == 0)
            return c->annotations[i]->value;
    return NULL;
}

/* CNI's bandwidth capability from the pod's kubernetes.io/{ingress,egress}-
 * bandwidth annotations, as the peers pass it: rates in bits/s, no burst limit. */
static int add_bandwidth(struct json_object *o, const Runtime__V1__PodSandboxConfig *c,
                         struct crib_err *err)
{
    static const char *const keys[][2] = {{"kubernetes.io/ingress-bandwidth", "ingress"},
                                          {"kubernetes.io/egress-bandwidth", "egress"}};
    struct json_object *bw = NULL;

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        const char *v = annotation(c, keys[i][0]);
        char name[32];
        int64_t rate;

        if (!v)
            continue;
        if (parse_rate(v, &rate) < 0) {
            json_object_put(bw);
            return crib_fail(err, CRIB_INVALID, 0, "annotation %s: '%s' is not a bandwidth",
                             keys[i][0], v);
        }
        if (!bw)
            bw = json_object_new_object();
        snprintf(name, sizeof(name), "%sRate", keys[i][1]);
        json_object_object_add(bw, name, json_object_new_int64(rate));
        snprintf(name, sizeof(name), "%sBurst", keys[i][1]);
        json_object_object_add(bw, name, json_object_new_int64(INT32_MAX));
    }
    if (bw)
        json_object_object_add(o, "bandwidth", bw);
    return 0;
}

static struct json_object *strings(char **v, size_t n)
{
    struct json_object *a = json_object_new_array();

    for (size_t i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_string(v[i]));
    return a;
}

/* CNI's dns capability from the pod's DNSConfig. */
static void add_dns(struct json_object *o, const Runtime__V1__DNSConfig *dns)
{
    struct json_object *d;

    if (!dns || (!dns->n_servers && !dns->n_searches && !dns->n_options))
        return;
    d = json_object_new_object();
    json_object_object_add(d, "servers", strings(dns->servers, dns->n_servers));
    json_object_object_add(d, "searches", strings(dns->searches, dns->n_searches));
    json_object_object_add(d, "options", strings(dns->options, dns->n_options));
    json_object_object_add(o, "dns", d);
}

/* The capability args CNI plugins may ask for (runtimeConfig), or NULL. */
static int capability_args_of(struct cri_call *call, const Runtime__V1__PodSandboxConfig *c,
                              const char **ret, struct crib_err *err)
{
    struct json_object *o = json_object_new_object();
    int r;

    add_port_mappings(o, c);
    add_dns(o, c->dns_config);
    r = add_bandwidth(o, c, err);
    *ret =
        r < 0 || !json_object_object_length(o)
            ? NULL
            : arena_strdup(&call->arena, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return r;
}

/* The CRI's resources as cgroup limits (0: unset, as in the CRI), or NULL. */
static const struct cgroup_limits *limits_of(struct cri_call *call,
                                             const Runtime__V1__LinuxContainerResources *res)
{
    struct cgroup_limits *l;

    if (!res)
        return NULL;
    l = arena_alloc(&call->arena, sizeof(*l));
    *l = (struct cgroup_limits){
        .cpu_shares = res->cpu_shares,
        .cpu_quota_us = res->cpu_quota,
        .cpu_period_us = res->cpu_period,
        .memory_bytes = res->memory_limit_in_bytes,
        .cpuset_cpus = res->cpuset_cpus && *res->cpuset_cpus ? res->cpuset_cpus : NULL,
        .cpuset_mems = res->cpuset_mems && *res->cpuset_mems ? res->cpuset_mems : NULL,
    };
    return l;
}

static int config_of(struct cri_call *call, const Runtime__V1__RunPodSandboxRequest *in,
                     struct pod_config *cfg, struct crib_err *err)
{
    const Runtime__V1__PodSandboxConfig *c = in->config;
    const Runtime__V1__DNSConfig *dns;

    if (!c || !c->metadata)
        return crib_fail(err, CRIB_INVALID, 0, "config.metadata is missing");
    dns = c->dns_config;
    *cfg = (struct pod_config){
        .name = c->metadata->name,
        .namespace = c->metadata->namespace_,
        .uid = c->metadata->uid,
        .attempt = c->metadata->attempt,
        .hostname = c->hostname,
        .log_directory = c->log_directory,
        .runtime_handler = in->runtime_handler,
        .cgroup_parent = c->linux ? c->linux->cgroup_parent : NULL,
        .overhead = limits_of(call, c->linux ? c->linux->overhead : NULL),
        .resources = limits_of(call, c->linux ? c->linux->resources : NULL),
        .n_labels = c->n_labels,
        .labels =
            kv_from(call, (Runtime__V1__PodSandboxConfig__LabelsEntry **)c->labels, c->n_labels),
        .n_annotations = c->n_annotations,
        .annotations = kv_from(call, (Runtime__V1__PodSandboxConfig__LabelsEntry **)c->annotations,
                               c->n_annotations),
    };
    if (dns)
        cfg->dns = (struct pod_dns){(const char *const *)dns->servers,  dns->n_servers,
                                    (const char *const *)dns->searches, dns->n_searches,
                                    (const char *const *)dns->options,  dns->n_options};
    namespaces_of(call, c, cfg);
    sysctls_of(call, c->linux, cfg);
    return capability_args_of(call, c, &cfg->capability_args, err);
}

/* A pod whose handler makes one sandbox of it (runsc) gets it once its
 * namespaces and network are there; a sandbox that fails takes the pod. */
static int run_sandbox(struct cri_call *call, const char *id, const char *handler,
                       struct crib_err *err)
{
    struct ctr_pod pod;
    const char *ignored;
    struct crib_err undo;
    int r;

    if (!ctr_handler_sandboxed(call->rt->containers, handler))
        return 0;
    r = cri_ctr_pod_of(call, id, &pod, &ignored, err);
    if (r >= 0)
        r = ctr_sandbox_create(call->rt->containers, handler, &pod, err);
    if (r < 0 &&
        (pod_stop(call->rt->pods, id, &undo) < 0 || pod_remove(call->rt->pods, id, &undo) < 0))
        log_warn("pod %s: removing it after its sandbox failed: %s, ignoring", id, undo.msg);
    return r;
}

/* Ends a pod's sandbox (if its handler made one), after its containers. */
static int end_sandbox(struct cri_call *call, const char *id, struct crib_err *err)
{
    struct pod_record *p = NULL;
    int r = pod_get(call->rt->pods, id, &p, err);

    if (r < 0)
        return err->code == CRIB_NOT_FOUND ? 0 : r;
    r = ctr_sandbox_remove(call->rt->containers, p->runtime_handler, id, err);
    pod_record_free(p);
    return r;
}

int cri_run_pod_sandbox(struct cri_call *call, const ProtobufCMessage *req,
                        ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__RunPodSandboxRequest *in = (const Runtime__V1__RunPodSandboxRequest *)req;
    Runtime__V1__RunPodSandboxResponse *resp;
    struct pod_config cfg;
    _cleanup_free_ char *id = NULL;
    int r = config_of(call, in, &cfg, err);

    if (r >= 0)
        r = pod_run(call->rt->pods, &cfg, &id, err);
    if (r >= 0)
        r = run_sandbox(call, id, cfg.runtime_handler, err);
    if (r < 0)
        return r;
    log_info("pod %s/%s is %s", cfg.namespace, cfg.name, id);
    resp = CRI_NEW(call, Runtime__V1__RunPodSandboxResponse,
                   runtime__v1__run_pod_sandbox_response__init);
    resp->pod_sandbox_id = arena_strdup(&call->arena, id);
    *ret_resp = &resp->base;
    return 0;
}

/* Stops (or removes) every container of a pod, before the pod itself. */
static int each_container(struct cri_call *call, const char *pod_id, bool remove,
                          struct crib_err *err)
{
    size_t n;
    char **ids = ctr_list_ids(call->rt->containers, pod_id, &n);
    int r = 0;

    for (size_t i = 0; i < n; i++) {
        if (r >= 0)
            r = remove ? ctr_remove(call->rt->containers, ids[i], err)
                       : ctr_stop(call->rt->containers, ids[i], 0, err);
        free(ids[i]);
    }
    free(ids);
    return r;
}

int cri_stop_pod_sandbox(struct cri_call *call, const ProtobufCMessage *req,
                         ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__StopPodSandboxRequest *in = (const Runtime__V1__StopPodSandboxRequest *)req;
    int r = each_container(call, in->pod_sandbox_id, false, err);

    if (r >= 0)
        r = end_sandbox(call, in->pod_sandbox_id, err);
    if (r >= 0)
        r = pod_stop(call->rt->pods, in->pod_sandbox_id, err);

    if (r < 0)
        return r;
    *ret_resp = &CRI_NEW(call, Runtime__V1__StopPodSandboxResponse,
                         runtime__v1__stop_pod_sandbox_response__init)
                     ->base;
    return 0;
}

int cri_remove_pod_sandbox(struct cri_call *call, const ProtobufCMessage *req,
                           ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__RemovePodSandboxRequest *in =
        (const Runtime__V1__RemovePodSandboxRequest *)req;
    int r = each_container(call, in->pod_sandbox_id, true, err);

    if (r >= 0)
        r = end_sandbox(call, in->pod_sandbox_id, err);
    if (r >= 0)
        r = pod_remove(call->rt->pods, in->pod_sandbox_id, err);

    if (r < 0)
        return r;
    *ret_resp = &CRI_NEW(call, Runtime__V1__RemovePodSandboxResponse,
                         runtime__v1__remove_pod_sandbox_response__init)
                     ->base;
    return 0;
}

int cri_validate_pod_id(const ProtobufCMessage *req, struct crib_err *err)
{
    /* Every request of this group has pod_sandbox_id as field 1. */
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(req->descriptor, 1);
    const char *id = f && f->type == PROTOBUF_C_TYPE_STRING
                         ? *(const char *const *)((const char *)req + f->offset)
                         : NULL;

    if (!id || !*id)
        return crib_fail(err, CRIB_INVALID, 0, "pod_sandbox_id is empty");
    return 0;
}

static Runtime__V1__PodSandboxMetadata *metadata_of(struct cri_call *call,
                                                    const struct pod_record *p)
{
    Runtime__V1__PodSandboxMetadata *m =
        CRI_NEW(call, Runtime__V1__PodSandboxMetadata, runtime__v1__pod_sandbox_metadata__init);

    m->name = arena_strdup(&call->arena, p->name);
    m->namespace_ = arena_strdup(&call->arena, p->namespace);
    m->uid = arena_strdup(&call->arena, p->uid);
    m->attempt = p->attempt;
    return m;
}

Runtime__V1__PodSandbox *cri_sandbox_of(struct cri_call *call, const struct pod_record *p)
{
    Runtime__V1__PodSandbox *o =
        CRI_NEW(call, Runtime__V1__PodSandbox, runtime__v1__pod_sandbox__init);

    o->id = arena_strdup(&call->arena, p->id);
    o->metadata = metadata_of(call, p);
    o->state = p->state == POD_READY ? RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY
                                     : RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
    o->created_at = p->created_ns;
    o->n_labels = p->n_labels;
    o->labels = cri_map_entries(call, &runtime__v1__pod_sandbox__labels_entry__descriptor,
                                (const struct cri_kv *)p->labels, p->n_labels);
    o->n_annotations = p->n_annotations;
    o->annotations = cri_map_entries(call, &runtime__v1__pod_sandbox__annotations_entry__descriptor,
                                     (const struct cri_kv *)p->annotations, p->n_annotations);
    o->runtime_handler = arena_strdup(&call->arena, p->runtime_handler);
    return o;
}

static Runtime__V1__IDMapping **mapping_out(struct cri_call *call, const struct ns_id_range *r)
{
    Runtime__V1__IDMapping **m = arena_alloc(&call->arena, sizeof(*m));

    m[0] = CRI_NEW(call, Runtime__V1__IDMapping, runtime__v1__idmapping__init);
    m[0]->container_id = r->container_id;
    m[0]->host_id = r->host_id;
    m[0]->length = r->length;
    return m;
}

static Runtime__V1__UserNamespace *userns_status(struct cri_call *call, const struct pod_record *p)
{
    Runtime__V1__UserNamespace *u =
        CRI_NEW(call, Runtime__V1__UserNamespace, runtime__v1__user_namespace__init);
    struct ns_userns userns;

    u->mode = RUNTIME__V1__NAMESPACE_MODE__NODE;
    if (pods_userns_parse(p->userns, &userns) == 1) {
        u->mode = RUNTIME__V1__NAMESPACE_MODE__POD;
        u->n_uids = u->n_gids = 1;
        u->uids = mapping_out(call, &userns.uid);
        u->gids = mapping_out(call, &userns.gid);
    }
    return u;
}

/* The recorded IPs ("a,b,...") as the CRI reports them: the first as ip,
 * the others (the other family, in a dual-stack pod) as additional_ips. */
static void network_of(struct cri_call *call, const char *ips,
                       Runtime__V1__PodSandboxNetworkStatus *net)
{
    size_t len = strcspn(ips, ","), n = 0;

    net->ip = arena_strndup(&call->arena, ips, len);
    for (const char *p = ips + len; *p; p += strcspn(p + 1, ",") + 1)
        n++;
    net->additional_ips = arena_alloc(&call->arena, (n ? n : 1) * sizeof(*net->additional_ips));
    for (const char *p = ips + len; *p == ',';) {
        size_t l = strcspn(p + 1, ",");
        Runtime__V1__PodIP *ip = CRI_NEW(call, Runtime__V1__PodIP, runtime__v1__pod_ip__init);

        ip->ip = arena_strndup(&call->arena, p + 1, l);
        net->additional_ips[net->n_additional_ips++] = ip;
        p += l + 1;
    }
}

static Runtime__V1__LinuxPodSandboxStatus *linux_status(struct cri_call *call,
                                                        const struct pod_record *p)
{
    Runtime__V1__LinuxPodSandboxStatus *l = CRI_NEW(call, Runtime__V1__LinuxPodSandboxStatus,
                                                    runtime__v1__linux_pod_sandbox_status__init);
    Runtime__V1__Namespace *ns =
        CRI_NEW(call, Runtime__V1__Namespace, runtime__v1__namespace__init);

    ns->options = CRI_NEW(call, Runtime__V1__NamespaceOption, runtime__v1__namespace_option__init);
    ns->options->network = (Runtime__V1__NamespaceMode)p->net_mode;
    ns->options->pid = (Runtime__V1__NamespaceMode)p->pid_mode;
    ns->options->ipc = (Runtime__V1__NamespaceMode)p->ipc_mode;
    ns->options->userns_options = userns_status(call, p);
    l->namespaces = ns;
    return l;
}

Runtime__V1__PodSandboxStatus *cri_pod_status_of(struct cri_call *call, const struct pod_record *p)
{
    Runtime__V1__PodSandbox *sb = cri_sandbox_of(call, p);
    Runtime__V1__PodSandboxStatus *st =
        CRI_NEW(call, Runtime__V1__PodSandboxStatus, runtime__v1__pod_sandbox_status__init);

    st->id = sb->id;
    st->metadata = sb->metadata;
    st->state = sb->state;
    st->created_at = sb->created_at;
    st->n_labels = sb->n_labels;
    st->labels = (Runtime__V1__PodSandboxStatus__LabelsEntry **)sb->labels;
    st->n_annotations = sb->n_annotations;
    st->annotations = (Runtime__V1__PodSandboxStatus__AnnotationsEntry **)sb->annotations;
    st->runtime_handler = sb->runtime_handler;
    st->network = CRI_NEW(call, Runtime__V1__PodSandboxNetworkStatus,
                          runtime__v1__pod_sandbox_network_status__init);
    network_of(call, p->ip, st->network);
    st->linux = linux_status(call, p);
    return st;
}

/* crictl inspectp's view: where the pod lives and what the kubelet said of
 * its resources. */
static char *verbose_info(struct cri_call *call, const struct pod_record *p)
{
    struct json_object *o = json_object_new_object();
    struct json_object *res = *p->resources ? json_tokener_parse(p->resources) : NULL;
    _cleanup_free_ char *dir = pod_dir(call->rt->pods, p->id);
    char *text;

    json_object_object_add(o, "runtimeHandler", json_object_new_string(p->runtime_handler));
    json_object_object_add(o, "cgroupDriver",
                           json_object_new_string(call->rt->cgroup_driver->name));
    json_object_object_add(o, "cgroupParent", json_object_new_string(p->cgroup_parent));
    json_object_object_add(o, "stateDir", json_object_new_string(dir));
    if (json_object_is_type(res, json_type_object)) {
        json_object_object_foreach (res, key, value)
            json_object_object_add(o, key, json_object_get(value));
    }
    json_object_put(res);
    text = arena_strdup(&call->arena, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return text;
}

int cri_pod_sandbox_status(struct cri_call *call, const ProtobufCMessage *req,
                           ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__PodSandboxStatusRequest *in =
        (const Runtime__V1__PodSandboxStatusRequest *)req;
    Runtime__V1__PodSandboxStatusResponse *resp;
    struct pod_record *p = NULL;
    int r = pod_get(call->rt->pods, in->pod_sandbox_id, &p, err);

    if (r < 0)
        return r;
    resp = CRI_NEW(call, Runtime__V1__PodSandboxStatusResponse,
                   runtime__v1__pod_sandbox_status_response__init);
    resp->status = cri_pod_status_of(call, p);
    if (in->verbose) {
        resp->n_info = 1;
        resp->info =
            cri_map_entries(call, &runtime__v1__pod_sandbox_status_response__info_entry__descriptor,
                            &(struct cri_kv){"info", verbose_info(call, p)}, 1);
    }
    pod_record_free(p);
    *ret_resp = &resp->base;
    return 0;
}

static bool pod_matches(const struct pod_record *p, const Runtime__V1__PodSandboxFilter *f)
{
    if (!f)
        return true;
    if (f->id && *f->id && strncmp(p->id, f->id, strlen(f->id)) != 0)
        return false;
    if (f->state && (int)f->state->state != (p->state == POD_READY ? 0 : 1))
        return false;
    return cri_labels_match((const struct cri_kv *)p->labels, p->n_labels,
                            (void *const *)f->label_selector, f->n_label_selector);
}

/* The pods a filter selects (id prefix, state, labels), converted. */
static Runtime__V1__PodSandbox **select_pods(struct cri_call *call,
                                             const Runtime__V1__PodSandboxFilter *f, size_t *ret_n,
                                             struct crib_err *err)
{
    struct pod_record **list;
    Runtime__V1__PodSandbox **out;
    size_t n, k = 0;

    if (pod_list(call->rt->pods, &list, &n, err) < 0)
        return NULL;
    out = arena_alloc(&call->arena, (n ? n : 1) * sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        if (pod_matches(list[i], f))
            out[k++] = cri_sandbox_of(call, list[i]);
        pod_record_free(list[i]);
    }
    free(list);
    *ret_n = k;
    return out;
}

int cri_list_pod_sandbox(struct cri_call *call, const ProtobufCMessage *req,
                         ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__ListPodSandboxRequest *in = (const Runtime__V1__ListPodSandboxRequest *)req;
    Runtime__V1__ListPodSandboxResponse *resp = CRI_NEW(
        call, Runtime__V1__ListPodSandboxResponse, runtime__v1__list_pod_sandbox_response__init);

    resp->items = select_pods(call, in->filter, &resp->n_items, err);
    if (!resp->items)
        return crib_err_ret(err);
    *ret_resp = &resp->base;
    return 0;
}

int cri_stream_pod_sandboxes(struct cri_call *call, const ProtobufCMessage *req,
                             ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__StreamPodSandboxesRequest *in =
        (const Runtime__V1__StreamPodSandboxesRequest *)req;
    size_t n = 0;
    Runtime__V1__PodSandbox **items = select_pods(call, in->filter, &n, err);
    int r = items ? 0 : crib_err_ret(err);

    (void)ret_resp;
    for (size_t i = 0; r >= 0 && i < n; i += CRI_PODS_PER_MESSAGE) {
        Runtime__V1__StreamPodSandboxesResponse msg =
            RUNTIME__V1__STREAM_POD_SANDBOXES_RESPONSE__INIT;

        msg.pod_sandboxes = items + i;
        msg.n_pod_sandboxes = n - i < CRI_PODS_PER_MESSAGE ? n - i : CRI_PODS_PER_MESSAGE;
        r = cri_call_send(call, &msg.base, err);
    }
    return r;
}

int cri_update_pod_sandbox_resources(struct cri_call *call, const ProtobufCMessage *req,
                                     ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__UpdatePodSandboxResourcesRequest *in =
        (const Runtime__V1__UpdatePodSandboxResourcesRequest *)req;
    int r = pod_update_resources(call->rt->pods, in->pod_sandbox_id, limits_of(call, in->overhead),
                                 limits_of(call, in->resources), err);
    if (r < 0)
        return r;
    *ret_resp = &CRI_NEW(call, Runtime__V1__UpdatePodSandboxResourcesResponse,
                         runtime__v1__update_pod_sandbox_resources_response__init)
                     ->base;
    return 0;
}
