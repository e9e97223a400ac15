/* RuntimeService containers: CreateContainer, StartContainer, StopContainer,
 * RemoveContainer, ContainerStatus, ListContainers, StreamContainers,
 * UpdateContainerResources, ReopenContainerLog, ExecSync. */
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cri/internal.h"
#include "imagestore/imagestore.h"
#include "oci/container.h"
#include "sandbox/pod.h"

#define CRI_CONTAINERS_PER_MESSAGE 256

int cri_validate_container_id(const ProtobufCMessage *req, struct crib_err *err)
{
    /* Every request of this group has container_id as field 1. */
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(req->descriptor, 1);
    const char *id = f && f->type == PROTOBUF_C_TYPE_STRING
                         ? *(const char *const *)((const char *)req + f->offset)
                         : NULL;

    if (!id || !*id)
        return crib_fail(err, CRIB_INVALID, 0, "container_id is empty");
    return 0;
}

/* The CRI's Signal enum, in its order (SIGNAL_RUNTIME_DEFAULT is 0). */
static int signal_of(Runtime__V1__Signal s)
{
    static const char *const names[] = {
        NULL,      "SIGABRT", "SIGALRM", "SIGBUS",    "SIGCHLD",  "SIGCLD",  "SIGCONT",
        "SIGFPE",  "SIGHUP",  "SIGILL",  "SIGINT",    "SIGIO",    "SIGIOT",  "SIGKILL",
        "SIGPIPE", "SIGPOLL", "SIGPROF", "SIGPWR",    "SIGQUIT",  "SIGSEGV", "SIGSTKFLT",
        "SIGSTOP", "SIGSYS",  "SIGTERM", "SIGTRAP",   "SIGTSTP",  "SIGTTIN", "SIGTTOU",
        "SIGURG",  "SIGUSR1", "SIGUSR2", "SIGVTALRM", "SIGWINCH", "SIGXCPU", "SIGXFSZ",
    };

    if ((unsigned)s >= ARRAY_SIZE(names) || !names[s])
        return 0;
    return spec_signal_number(names[s]);
}

static Runtime__V1__Signal signal_enum(int sig)
{
    for (int s = 1; s <= RUNTIME__V1__SIGNAL__SIGNAL_SIGXFSZ; s++)
        if (signal_of((Runtime__V1__Signal)s) == sig)
            return (Runtime__V1__Signal)s;
    return RUNTIME__V1__SIGNAL__SIGNAL_RUNTIME_DEFAULT;
}

static void resources_of(const Runtime__V1__LinuxContainerResources *r, struct spec_resources *out)
{
    if (!r)
        return;
    *out = (struct spec_resources){
        .cpu_period = r->cpu_period,
        .cpu_quota = r->cpu_quota,
        .cpu_shares = r->cpu_shares,
        .memory_limit = r->memory_limit_in_bytes,
        .memory_swap_limit = r->memory_swap_limit_in_bytes,
        .cpuset_cpus = r->cpuset_cpus,
        .cpuset_mems = r->cpuset_mems,
    };
}

static void hugepages_of(struct cri_call *call, const Runtime__V1__LinuxContainerResources *r,
                         struct spec_resources *out)
{
    const char **sizes;
    uint64_t *limits;

    if (!r || !r->n_hugepage_limits)
        return;
    sizes = arena_alloc(&call->arena, r->n_hugepage_limits * sizeof(*sizes));
    limits = arena_alloc(&call->arena, r->n_hugepage_limits * sizeof(*limits));
    for (size_t i = 0; i < r->n_hugepage_limits; i++) {
        sizes[i] = r->hugepage_limits[i]->page_size;
        limits[i] = r->hugepage_limits[i]->limit;
    }
    out->n_hugepages = r->n_hugepage_limits;
    out->hugepage_sizes = sizes;
    out->hugepage_limits = limits;
}

static void unified_of(struct cri_call *call, const Runtime__V1__LinuxContainerResources *r,
                       struct spec_resources *out)
{
    const char **keys, **values;

    if (!r || !r->n_unified)
        return;
    keys = arena_alloc(&call->arena, r->n_unified * sizeof(*keys));
    values = arena_alloc(&call->arena, r->n_unified * sizeof(*values));
    for (size_t i = 0; i < r->n_unified; i++) {
        keys[i] = r->unified[i]->key;
        values[i] = r->unified[i]->value;
    }
    out->n_unified = r->n_unified;
    out->unified_keys = keys;
    out->unified_values = values;
}

static bool apparmor_enabled(void)
{
    char c = 0;
    FILE *f = fopen("/sys/module/apparmor/parameters/enabled", "re");

    if (f) {
        c = (char)fgetc(f);
        fclose(f);
    }
    return c == 'Y';
}

static void security_of(struct cri_call *call, const Runtime__V1__LinuxContainerSecurityContext *sc,
                        struct ctr_config *cfg)
{
    int64_t *groups;

    cfg->pid_mode = 1; /* CONTAINER unless told otherwise */
    /* No profile named: unconfined, as the peers run it (with or without a
     * security context at all). */
    cfg->seccomp = CTR_SECCOMP_UNCONFINED;
    if (!sc)
        return;
    if (sc->capabilities) {
        cfg->cap_add = (const char *const *)sc->capabilities->add_capabilities;
        cfg->n_cap_add = sc->capabilities->n_add_capabilities;
        cfg->cap_drop = (const char *const *)sc->capabilities->drop_capabilities;
        cfg->n_cap_drop = sc->capabilities->n_drop_capabilities;
    }
    cfg->privileged = sc->privileged;
    cfg->no_new_privs = sc->no_new_privs;
    cfg->readonly_rootfs = sc->readonly_rootfs;
    if (sc->namespace_options) {
        cfg->pid_mode = sc->namespace_options->pid;
        cfg->target_id = sc->namespace_options->target_id;
    }
    cfg->user = (struct user_request){
        .has_uid = sc->run_as_user != NULL,
        .uid = sc->run_as_user ? sc->run_as_user->value : 0,
        .has_gid = sc->run_as_group != NULL,
        .gid = sc->run_as_group ? sc->run_as_group->value : 0,
        .username = sc->run_as_username && *sc->run_as_username ? sc->run_as_username : NULL,
        .n_supplemental_groups = sc->n_supplemental_groups,
        .policy = sc->supplemental_groups_policy == RUNTIME__V1__SUPPLEMENTAL_GROUPS_POLICY__Strict
                      ? USER_GROUPS_STRICT
                      : USER_GROUPS_MERGE,
    };
    groups = arena_alloc(&call->arena, (sc->n_supplemental_groups + 1) * sizeof(*groups));
    if (sc->n_supplemental_groups)
        memcpy(groups, sc->supplemental_groups, sc->n_supplemental_groups * sizeof(*groups));
    cfg->user.supplemental_groups = groups;
    /* The kubelet sends empty lists for "Unmasked" procMount: then none. */
    cfg->masked_paths = (const char *const *)sc->masked_paths;
    cfg->n_masked_paths = sc->n_masked_paths;
    cfg->masked_paths_set = sc->n_masked_paths > 0 || sc->n_readonly_paths > 0;
    cfg->readonly_paths = (const char *const *)sc->readonly_paths;
    cfg->n_readonly_paths = sc->n_readonly_paths;
    cfg->readonly_paths_set = cfg->masked_paths_set;
    /* A Localhost AppArmor profile is the runtime's to apply where the node
     * has AppArmor; elsewhere it is ignored, and said so. */
    if (sc->apparmor &&
        sc->apparmor->profile_type == RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost) {
        if (apparmor_enabled())
            cfg->apparmor_profile = sc->apparmor->localhost_ref;
        else
            log_info("container %s: AppArmor profile %s ignored: AppArmor is not enabled here",
                     cfg->name, sc->apparmor->localhost_ref);
    }
    if (sc->seccomp) {
        cfg->seccomp =
            sc->seccomp->profile_type == RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost
                ? CTR_SECCOMP_LOCALHOST
            : sc->seccomp->profile_type == RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined
                ? CTR_SECCOMP_UNCONFINED
                : CTR_SECCOMP_RUNTIME_DEFAULT;
        cfg->seccomp_profile = sc->seccomp->localhost_ref;
    }
}

/* An image volume's layers, from the image store: the image must be there
 * (the kubelet pulls it first). */
static int image_volume_of(struct cri_call *call, const char *key, struct ctr_mount *m,
                           struct crib_err *err)
{
    struct image_record *img = NULL;
    const char **dirs;
    int r = imagestore_find(call->rt->images, key, &img, err);

    if (r < 0)
        return crib_wrap(err, "image volume %s", key);
    dirs = arena_alloc(&call->arena, (img->n_layers + 1) * sizeof(*dirs));
    for (size_t i = 0; i < img->n_layers; i++) {
        char *d = imagestore_layer_dir(call->rt->images, img->layers[i].chain_id);

        dirs[i] = arena_strdup(&call->arena, d);
        free(d);
    }
    m->image_layers = dirs;
    m->n_image_layers = img->n_layers;
    image_record_free(img);
    return 0;
}

static int mounts_of(struct cri_call *call, const Runtime__V1__ContainerConfig *c,
                     struct ctr_config *cfg, struct crib_err *err)
{
    struct ctr_mount *m = arena_alloc(&call->arena, (c->n_mounts + 1) * sizeof(*m));

    for (size_t i = 0; i < c->n_mounts; i++) {
        const Runtime__V1__Mount *in = c->mounts[i];
        bool image = in->image && in->image->image && *in->image->image;

        m[i] = (struct ctr_mount){
            .container_path = in->container_path,
            .host_path = image ? in->image->image : in->host_path,
            .readonly = in->readonly || image,
            .recursive_readonly = in->recursive_read_only,
            .propagation = in->propagation,
            .image_sub_path = image ? in->image_sub_path : NULL,
        };
        if (image) {
            int r = image_volume_of(call, in->image->image, &m[i], err);

            if (r < 0)
                return r;
        }
    }
    cfg->mounts = m;
    cfg->n_mounts = c->n_mounts;
    return 0;
}

static void devices_of(struct cri_call *call, const Runtime__V1__ContainerConfig *c,
                       struct ctr_config *cfg)
{
    struct spec_device *d = arena_alloc(&call->arena, (c->n_devices + 1) * sizeof(*d));

    for (size_t i = 0; i < c->n_devices; i++)
        d[i] = (struct spec_device){.path = c->devices[i]->container_path,
                                    .host_path = c->devices[i]->host_path,
                                    .permissions = c->devices[i]->permissions};
    cfg->devices = d;
    cfg->n_devices = c->n_devices;
}

/* protobuf-c map entries all have one layout (base, key, value). */
static struct ctr_kv *kv_of(struct cri_call *call, Runtime__V1__ContainerConfig__LabelsEntry **e,
                            size_t n)
{
    struct ctr_kv *kv = arena_alloc(&call->arena, (n ? n : 1) * sizeof(*kv));

    for (size_t i = 0; i < n; i++)
        kv[i] = (struct ctr_kv){e[i]->key, e[i]->value};
    return kv;
}

static int config_of(struct cri_call *call, const Runtime__V1__ContainerConfig *c,
                     struct ctr_config *cfg, struct crib_err *err)
{
    const char **keys, **values;
    const Runtime__V1__LinuxContainerConfig *l = c->linux;
    int r;

    if (!c->metadata)
        return crib_fail(err, CRIB_INVALID, 0, "config.metadata is missing");
    if (!c->image || !c->image->image || !*c->image->image)
        return crib_fail(err, CRIB_INVALID, 0, "config.image.image is empty");
    keys = arena_alloc(&call->arena, (c->n_envs + 1) * sizeof(*keys));
    values = arena_alloc(&call->arena, (c->n_envs + 1) * sizeof(*values));
    for (size_t i = 0; i < c->n_envs; i++) {
        const ProtobufCBinaryData *v = &c->envs[i]->value;

        if (memchr(v->data, '\0', v->len))
            return crib_fail(err, CRIB_INVALID, 0, "envs[%zu] (%s): the value holds a NUL byte", i,
                             c->envs[i]->key);
        keys[i] = c->envs[i]->key;
        values[i] = arena_strndup(&call->arena, (const char *)v->data, v->len);
    }
    *cfg = (struct ctr_config){
        .name = c->metadata->name,
        .attempt = c->metadata->attempt,
        .command = (const char *const *)c->command,
        .n_command = c->n_command,
        .args = (const char *const *)c->args,
        .n_args = c->n_args,
        .working_dir = c->working_dir,
        .env_keys = keys,
        .env_values = values,
        .n_env = c->n_envs,
        .labels = kv_of(call, c->labels, c->n_labels),
        .n_labels = c->n_labels,
        .annotations = kv_of(call, (Runtime__V1__ContainerConfig__LabelsEntry **)c->annotations,
                             c->n_annotations),
        .n_annotations = c->n_annotations,
        .log_path = c->log_path,
        .stdin_open = c->stdin,
        .stdin_once = c->stdin_once,
        .tty = c->tty,
        .stop_signal = signal_of(c->stop_signal),
    };
    devices_of(call, c, cfg);
    security_of(call, l ? l->security_context : NULL, cfg);
    r = mounts_of(call, c, cfg, err);
    if (r < 0)
        return r;
    if (l && l->resources) {
        resources_of(l->resources, &cfg->resources);
        hugepages_of(call, l->resources, &cfg->resources);
        unified_of(call, l->resources, &cfg->resources);
        cfg->oom_score_adj = l->resources->oom_score_adj;
    }
    return 0;
}

int cri_ctr_pod_of(struct cri_call *call, const char *pod_id, struct ctr_pod *out,
                   const char **ret_handler, struct crib_err *err)
{
    struct pod_record *p = NULL;
    struct ns_userns userns;
    char *dir;
    int r = pod_get(call->rt->pods, pod_id, &p, err);

    if (r < 0)
        return r;
    if (p->state != POD_READY) {
        r = crib_fail(err, CRIB_STATE, 0, "pod %s is not ready", pod_id);
        pod_record_free(p);
        return r;
    }
    dir = pod_dir(call->rt->pods, p->id);
    *out = (struct ctr_pod){
        .id = arena_strdup(&call->arena, p->id),
        .dir = arena_strdup(&call->arena, dir),
        .host_net = p->net_mode == POD_NS_NODE,
        .host_ipc = p->ipc_mode == POD_NS_NODE,
        .host_pid = p->pid_mode == POD_NS_NODE,
        .hostname = arena_strdup(&call->arena, p->hostname),
        .cgroup_parent = arena_strdup(&call->arena, p->cgroup_parent),
        .log_directory = arena_strdup(&call->arena, p->log_directory),
        .has_shm = p->ipc_mode != POD_NS_NODE,
    };
    if (!out->host_net) {
        out->netns = arena_printf(&call->arena, "%s/net", dir);
        out->utsns = arena_printf(&call->arena, "%s/uts", dir);
    }
    if (!out->host_ipc)
        out->ipcns = arena_printf(&call->arena, "%s/ipc", dir);
    if (p->pid_mode == POD_NS_POD)
        out->pidns = arena_printf(&call->arena, "%s/pid", dir);
    if (pods_userns_parse(p->userns, &userns) == 1) {
        out->userns = arena_printf(&call->arena, "%s/user", dir);
        out->uid_map = (struct spec_id_mapping){userns.uid.container_id, userns.uid.host_id,
                                                userns.uid.length};
        out->gid_map = (struct spec_id_mapping){userns.gid.container_id, userns.gid.host_id,
                                                userns.gid.length};
    }
    *ret_handler = arena_strdup(&call->arena, p->runtime_handler);
    free(dir);
    pod_record_free(p);
    return 0;
}

/* What the container takes from its image; strings live in the call's arena. */
static int image_of(struct cri_call *call, const char *key, struct ctr_image *out,
                    struct crib_err *err)
{
    struct image_record *img = NULL;
    struct image_config *ic = NULL;
    const char **dirs;
    int r = imagestore_find(call->rt->images, key, &img, err);

    if (r < 0)
        return crib_wrap(err, "image %s", key);
    r = imagestore_config(call->rt->images, img, &ic, NULL, err);
    if (r < 0) {
        image_record_free(img);
        return r;
    }
    dirs = arena_alloc(&call->arena, (img->n_layers + 1) * sizeof(*dirs));
    for (size_t i = 0; i < img->n_layers; i++) {
        char *d = imagestore_layer_dir(call->rt->images, img->layers[i].chain_id);

        dirs[i] = arena_strdup(&call->arena, d);
        free(d);
    }
    *out = (struct ctr_image){
        .requested = key,
        .id = arena_strdup(&call->arena, img->id),
        .ref = arena_strdup(&call->arena, img->n_digests ? img->digests[0] : img->id),
        .layer_dirs = dirs,
        .n_layers = img->n_layers,
        .env = arena_strv(&call->arena, ic->env, ic->n_env),
        .n_env = ic->n_env,
        .entrypoint = arena_strv(&call->arena, ic->entrypoint, ic->n_entrypoint),
        .n_entrypoint = ic->n_entrypoint,
        .cmd = arena_strv(&call->arena, ic->cmd, ic->n_cmd),
        .n_cmd = ic->n_cmd,
        .user = ic->user ? arena_strdup(&call->arena, ic->user) : NULL,
        .working_dir = ic->working_dir ? arena_strdup(&call->arena, ic->working_dir) : NULL,
        .stop_signal = ic->stop_signal ? arena_strdup(&call->arena, ic->stop_signal) : NULL,
    };
    image_config_free(ic);
    image_record_free(img);
    return 0;
}

int cri_create_container(struct cri_call *call, const ProtobufCMessage *req,
                         ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__CreateContainerRequest *in =
        (const Runtime__V1__CreateContainerRequest *)req;
    Runtime__V1__CreateContainerResponse *resp;
    struct ctr_config cfg;
    struct ctr_pod pod;
    struct ctr_image image;
    const char *handler = NULL;
    _cleanup_free_ char *id = NULL;
    int r;

    if (!in->pod_sandbox_id || !*in->pod_sandbox_id)
        return crib_fail(err, CRIB_INVALID, 0, "pod_sandbox_id is empty");
    if (!in->config)
        return crib_fail(err, CRIB_INVALID, 0, "config is missing");
    r = config_of(call, in->config, &cfg, err);
    if (r >= 0)
        r = cri_ctr_pod_of(call, in->pod_sandbox_id, &pod, &handler, err);
    if (r >= 0)
        r = image_of(call, in->config->image->image, &image, err);
    if (r >= 0)
        r = ctr_create(call->rt->containers, &pod, handler, &image, &cfg, &id, err);
    if (r < 0)
        return r;
    log_info("container %s in pod %s is %s", cfg.name, pod.id, id);
    resp = CRI_NEW(call, Runtime__V1__CreateContainerResponse,
                   runtime__v1__create_container_response__init);
    resp->container_id = arena_strdup(&call->arena, id);
    *ret_resp = &resp->base;
    return 0;
}

/* Start, Stop, Remove and ReopenContainerLog accept an unambiguous ID
 * prefix, as crictl users expect. */
static int resolve(struct cri_call *call, const char *key, char **ret_id, struct crib_err *err)
{
    return ctr_resolve_id(call->rt->containers, key, ret_id, err);
}

int cri_start_container(struct cri_call *call, const ProtobufCMessage *req,
                        ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__StartContainerRequest *in = (const Runtime__V1__StartContainerRequest *)req;
    _cleanup_free_ char *id = NULL;
    int r = resolve(call, in->container_id, &id, err);

    if (r >= 0)
        r = ctr_start(call->rt->containers, id, err);
    if (r < 0)
        return r;
    *ret_resp = &CRI_NEW(call, Runtime__V1__StartContainerResponse,
                         runtime__v1__start_container_response__init)
                     ->base;
    return 0;
}

int cri_stop_container(struct cri_call *call, const ProtobufCMessage *req,
                       ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__StopContainerRequest *in = (const Runtime__V1__StopContainerRequest *)req;
    _cleanup_free_ char *id = NULL;
    int r = resolve(call, in->container_id, &id, err);

    /* Stopping what does not exist is done already (the kubelet retries). */
    if (r < 0 && err->code == CRIB_NOT_FOUND)
        r = 0;
    else if (r >= 0)
        r = ctr_stop(call->rt->containers, id, in->timeout, err);
    if (r < 0)
        return r;
    *ret_resp = &CRI_NEW(call, Runtime__V1__StopContainerResponse,
                         runtime__v1__stop_container_response__init)
                     ->base;
    return 0;
}

int cri_remove_container(struct cri_call *call, const ProtobufCMessage *req,
                         ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__RemoveContainerRequest *in =
        (const Runtime__V1__RemoveContainerRequest *)req;
    _cleanup_free_ char *id = NULL;
    int r = resolve(call, in->container_id, &id, err);

    if (r < 0 && err->code == CRIB_NOT_FOUND)
        r = 0;
    else if (r >= 0)
        r = ctr_remove(call->rt->containers, id, err);
    if (r < 0)
        return r;
    *ret_resp = &CRI_NEW(call, Runtime__V1__RemoveContainerResponse,
                         runtime__v1__remove_container_response__init)
                     ->base;
    return 0;
}

static Runtime__V1__ContainerMetadata *metadata_of(struct cri_call *call,
                                                   const struct ctr_record *c)
{
    Runtime__V1__ContainerMetadata *m =
        CRI_NEW(call, Runtime__V1__ContainerMetadata, runtime__v1__container_metadata__init);

    m->name = arena_strdup(&call->arena, c->name);
    m->attempt = c->attempt;
    return m;
}

static Runtime__V1__ImageSpec *image_spec_of(struct cri_call *call, const char *image)
{
    Runtime__V1__ImageSpec *s =
        CRI_NEW(call, Runtime__V1__ImageSpec, runtime__v1__image_spec__init);

    s->image = arena_strdup(&call->arena, image);
    return s;
}

Runtime__V1__Container *cri_container_of(struct cri_call *call, const struct ctr_record *c)
{
    Runtime__V1__Container *o = CRI_NEW(call, Runtime__V1__Container, runtime__v1__container__init);

    o->id = arena_strdup(&call->arena, c->id);
    o->pod_sandbox_id = arena_strdup(&call->arena, c->pod_id);
    o->metadata = metadata_of(call, c);
    o->image = image_spec_of(call, c->image);
    o->image_ref = arena_strdup(&call->arena, c->image_ref);
    o->image_id = arena_strdup(&call->arena, c->image_id);
    o->state = (Runtime__V1__ContainerState)c->state;
    o->created_at = c->created_ns;
    o->n_labels = c->n_labels;
    o->labels = cri_map_entries(call, &runtime__v1__container__labels_entry__descriptor,
                                (const struct cri_kv *)c->labels, c->n_labels);
    o->n_annotations = c->n_annotations;
    o->annotations = cri_map_entries(call, &runtime__v1__container__annotations_entry__descriptor,
                                     (const struct cri_kv *)c->annotations, c->n_annotations);
    return o;
}

static Runtime__V1__Mount **mounts_out(struct cri_call *call, const struct ctr_record *c)
{
    Runtime__V1__Mount **out = arena_alloc(&call->arena, (c->n_mounts + 1) * sizeof(*out));

    for (size_t i = 0; i < c->n_mounts; i++) {
        Runtime__V1__Mount *m = CRI_NEW(call, Runtime__V1__Mount, runtime__v1__mount__init);

        m->container_path = arena_strdup(&call->arena, c->mounts[i].container_path);
        m->host_path = arena_strdup(&call->arena, c->mounts[i].host_path);
        m->readonly = c->mounts[i].readonly;
        m->recursive_read_only = c->mounts[i].recursive_readonly;
        m->propagation = (Runtime__V1__MountPropagation)c->mounts[i].propagation;
        out[i] = m;
    }
    return out;
}

static Runtime__V1__ContainerResources *resources_out(struct cri_call *call,
                                                      const struct ctr_record *c)
{
    Runtime__V1__ContainerResources *r =
        CRI_NEW(call, Runtime__V1__ContainerResources, runtime__v1__container_resources__init);
    Runtime__V1__LinuxContainerResources *l = CRI_NEW(call, Runtime__V1__LinuxContainerResources,
                                                      runtime__v1__linux_container_resources__init);

    l->cpu_period = c->resources.cpu_period;
    l->cpu_quota = c->resources.cpu_quota;
    l->cpu_shares = c->resources.cpu_shares;
    l->memory_limit_in_bytes = c->resources.memory_limit;
    l->memory_swap_limit_in_bytes = c->resources.memory_swap_limit;
    l->oom_score_adj = c->resources.oom_score_adj;
    l->cpuset_cpus = arena_strdup(&call->arena, c->resources.cpuset_cpus);
    l->cpuset_mems = arena_strdup(&call->arena, c->resources.cpuset_mems);
    r->linux = l;
    return r;
}

static Runtime__V1__ContainerUser *user_out(struct cri_call *call, const struct ctr_record *c)
{
    Runtime__V1__ContainerUser *u =
        CRI_NEW(call, Runtime__V1__ContainerUser, runtime__v1__container_user__init);
    Runtime__V1__LinuxContainerUser *l =
        CRI_NEW(call, Runtime__V1__LinuxContainerUser, runtime__v1__linux_container_user__init);

    l->uid = c->uid;
    l->gid = c->gid;
    l->n_supplemental_groups = c->n_groups;
    l->supplemental_groups = arena_alloc(&call->arena, (c->n_groups + 1) * sizeof(int64_t));
    for (size_t i = 0; i < c->n_groups; i++)
        l->supplemental_groups[i] = c->groups[i];
    u->linux = l;
    return u;
}

static char *verbose_info(struct cri_call *call, const struct ctr_record *c)
{
    struct json_object *o = json_object_new_object();
    char *text;

    json_object_object_add(o, "pid", json_object_new_int(c->state == CTR_RUNNING ? c->pid : 0));
    json_object_object_add(o, "sandboxID", json_object_new_string(c->pod_id));
    json_object_object_add(o, "runtimeHandler", json_object_new_string(c->handler));
    text = arena_strdup(&call->arena, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return text;
}

Runtime__V1__ContainerStatus *cri_container_status_of(struct cri_call *call,
                                                      const struct ctr_record *c)
{
    Runtime__V1__Container *co = cri_container_of(call, c);
    Runtime__V1__ContainerStatus *st =
        CRI_NEW(call, Runtime__V1__ContainerStatus, runtime__v1__container_status__init);

    st->id = co->id;
    st->metadata = co->metadata;
    st->state = co->state;
    st->created_at = c->created_ns;
    st->started_at = c->started_ns;
    st->finished_at = c->finished_ns;
    st->exit_code = c->exit_code;
    st->image = co->image;
    st->image_ref = co->image_ref;
    st->image_id = co->image_id;
    st->reason = arena_strdup(&call->arena, c->reason);
    st->message = arena_strdup(&call->arena, c->message);
    st->n_labels = co->n_labels;
    st->labels = (Runtime__V1__ContainerStatus__LabelsEntry **)co->labels;
    st->n_annotations = co->n_annotations;
    st->annotations = (Runtime__V1__ContainerStatus__AnnotationsEntry **)co->annotations;
    st->n_mounts = c->n_mounts;
    st->mounts = mounts_out(call, c);
    st->log_path = arena_strdup(&call->arena, c->log_path);
    st->resources = resources_out(call, c);
    st->user = user_out(call, c);
    st->stop_signal = signal_enum(c->stop_signal);
    return st;
}

int cri_container_status(struct cri_call *call, const ProtobufCMessage *req,
                         ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__ContainerStatusRequest *in =
        (const Runtime__V1__ContainerStatusRequest *)req;
    Runtime__V1__ContainerStatusResponse *resp;
    struct ctr_record *c = NULL;
    _cleanup_free_ char *id = NULL;
    int r = resolve(call, in->container_id, &id, err);

    if (r >= 0)
        r = ctr_get(call->rt->containers, id, &c, err);
    if (r < 0)
        return r;
    resp = CRI_NEW(call, Runtime__V1__ContainerStatusResponse,
                   runtime__v1__container_status_response__init);
    resp->status = cri_container_status_of(call, c);
    if (in->verbose) {
        resp->n_info = 1;
        resp->info =
            cri_map_entries(call, &runtime__v1__container_status_response__info_entry__descriptor,
                            &(struct cri_kv){"info", verbose_info(call, c)}, 1);
    }
    ctr_record_free(c);
    *ret_resp = &resp->base;
    return 0;
}

bool cri_container_filter_matches(const struct ctr_record *c, const char *id, const char *pod_id,
                                  void *const *selector, size_t n_selector)
{
    if (id && *id && strncmp(c->id, id, strlen(id)) != 0)
        return false;
    if (pod_id && *pod_id && strncmp(c->pod_id, pod_id, strlen(pod_id)) != 0)
        return false;
    return cri_labels_match((const struct cri_kv *)c->labels, c->n_labels, selector, n_selector);
}

static bool container_matches(const struct ctr_record *c, const Runtime__V1__ContainerFilter *f)
{
    if (!f)
        return true;
    if (f->state && (int)f->state->state != (int)c->state)
        return false;
    return cri_container_filter_matches(c, f->id, f->pod_sandbox_id,
                                        (void *const *)f->label_selector, f->n_label_selector);
}

/* A full pod ID in the filter narrows the walk; a prefix is matched later. */
static const char *pod_filter(const Runtime__V1__ContainerFilter *f)
{
    return f && f->pod_sandbox_id && strlen(f->pod_sandbox_id) == 64 ? f->pod_sandbox_id : NULL;
}

struct selection {
    struct cri_call *call;
    const Runtime__V1__ContainerFilter *filter;
    Runtime__V1__Container **items;
    size_t n, cap;
};

static void select_one(const struct ctr_record *c, void *arg)
{
    struct selection *s = arg;
    Runtime__V1__Container **grown;

    if (!container_matches(c, s->filter))
        return;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        grown = arena_alloc(&s->call->arena, s->cap * sizeof(*grown));
        if (s->n)
            memcpy(grown, s->items, s->n * sizeof(*grown));
        s->items = grown;
    }
    s->items[s->n++] = cri_container_of(s->call, c);
}

/* The containers a filter selects (id prefix, pod, state, labels), converted. */
static Runtime__V1__Container **
select_containers(struct cri_call *call, const Runtime__V1__ContainerFilter *f, size_t *ret_n)
{
    struct selection s = {.call = call, .filter = f};

    ctr_each(call->rt->containers, pod_filter(f), select_one, &s);
    *ret_n = s.n;
    return s.items ? s.items : arena_alloc(&call->arena, sizeof(*s.items));
}

/* A container's Container message, encoded once per record version: the
 * kubelet lists every second, and most containers do not change between. */
struct wire {
    size_t len;
    uint8_t data[];
};

static const struct wire *encoded(struct cri_call *call, const struct ctr_record *c)
{
    const struct wire *w = ctr_encoding_get(c);
    Runtime__V1__Container *m;
    struct wire *made;
    size_t len;

    if (w)
        return w;
    m = cri_container_of(call, c);
    len = protobuf_c_message_get_packed_size(&m->base);
    made = xmalloc(sizeof(*made) + len);
    made->len = protobuf_c_message_pack(&m->base, made->data);
    return ctr_encoding_set(c, made);
}

struct raw_list {
    struct cri_call *call;
    const Runtime__V1__ContainerFilter *filter;
    uint8_t *buf;
    size_t len, cap;
};

static size_t put_varint(uint8_t *out, size_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* Appends field 1 (containers) of ListContainersResponse: tag, length, message. */
static void append_encoded(const struct ctr_record *c, void *arg)
{
    struct raw_list *l = arg;
    const struct wire *w;
    size_t need;

    if (!container_matches(c, l->filter))
        return;
    w = encoded(l->call, c);
    need = l->len + 1 + 10 + w->len;
    if (need > l->cap) {
        l->cap = need > 2 * l->cap ? need : 2 * l->cap;
        l->buf = xrealloc(l->buf, l->cap);
    }
    l->buf[l->len++] = (1 << 3) | 2; /* field 1, length-delimited */
    l->len += put_varint(l->buf + l->len, w->len);
    memcpy(l->buf + l->len, w->data, w->len);
    l->len += w->len;
}

int cri_list_containers(struct cri_call *call, const ProtobufCMessage *req,
                        ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__ListContainersRequest *in = (const Runtime__V1__ListContainersRequest *)req;
    const Runtime__V1__ContainerFilter *f = in->filter;
    struct raw_list l = {.call = call, .filter = f};

    (void)err;
    ctr_each(call->rt->containers, pod_filter(f), append_encoded, &l);
    cri_call_reply_raw(call, l.buf ? l.buf : xmalloc(1), l.len);
    *ret_resp = NULL;
    return 0;
}

int cri_stream_containers(struct cri_call *call, const ProtobufCMessage *req,
                          ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__StreamContainersRequest *in =
        (const Runtime__V1__StreamContainersRequest *)req;
    size_t n = 0;
    Runtime__V1__Container **items = select_containers(call, in->filter, &n);
    int r = 0;

    (void)ret_resp;
    for (size_t i = 0; r >= 0 && i < n; i += CRI_CONTAINERS_PER_MESSAGE) {
        Runtime__V1__StreamContainersResponse msg = RUNTIME__V1__STREAM_CONTAINERS_RESPONSE__INIT;

        msg.containers = items + i;
        msg.n_containers = n - i < CRI_CONTAINERS_PER_MESSAGE ? n - i : CRI_CONTAINERS_PER_MESSAGE;
        r = cri_call_send(call, &msg.base, err);
    }
    return r;
}

int cri_update_container_resources(struct cri_call *call, const ProtobufCMessage *req,
                                   ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__UpdateContainerResourcesRequest *in =
        (const Runtime__V1__UpdateContainerResourcesRequest *)req;
    struct spec_resources res = {0};
    _cleanup_free_ char *id = NULL;
    int r = resolve(call, in->container_id, &id, err);

    resources_of(in->linux, &res);
    hugepages_of(call, in->linux, &res);
    unified_of(call, in->linux, &res);
    if (r >= 0)
        r = ctr_update_resources(call->rt->containers, id, &res, err);
    if (r < 0)
        return r;
    *ret_resp = &CRI_NEW(call, Runtime__V1__UpdateContainerResourcesResponse,
                         runtime__v1__update_container_resources_response__init)
                     ->base;
    return 0;
}

int cri_reopen_container_log(struct cri_call *call, const ProtobufCMessage *req,
                             ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__ReopenContainerLogRequest *in =
        (const Runtime__V1__ReopenContainerLogRequest *)req;
    _cleanup_free_ char *id = NULL;
    int r = resolve(call, in->container_id, &id, err);

    if (r >= 0)
        r = ctr_reopen_log(call->rt->containers, id, err);
    if (r < 0)
        return r;
    *ret_resp = &CRI_NEW(call, Runtime__V1__ReopenContainerLogResponse,
                         runtime__v1__reopen_container_log_response__init)
                     ->base;
    return 0;
}

int cri_exec_sync(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **ret_resp,
                  struct crib_err *err)
{
    const Runtime__V1__ExecSyncRequest *in = (const Runtime__V1__ExecSyncRequest *)req;
    Runtime__V1__ExecSyncResponse *resp;
    struct shim_exec_result res;
    _cleanup_free_ char *id = NULL;
    const char **argv;
    int r;

    if (!in->n_cmd)
        return crib_fail(err, CRIB_INVALID, 0, "cmd is empty");
    r = resolve(call, in->container_id, &id, err);
    if (r < 0)
        return r;
    argv = arena_alloc(&call->arena, (in->n_cmd + 1) * sizeof(*argv));
    memcpy(argv, in->cmd, in->n_cmd * sizeof(*argv));
    argv[in->n_cmd] = NULL;
    r = ctr_exec_sync(call->rt->containers, id, argv, (int)in->timeout, &res, err);
    if (r < 0)
        return r;
    resp = CRI_NEW(call, Runtime__V1__ExecSyncResponse, runtime__v1__exec_sync_response__init);
    resp->stdout.data = arena_alloc(&call->arena, res.out_len + 1);
    memcpy(resp->stdout.data, res.out, res.out_len);
    resp->stdout.len = res.out_len;
    resp->stderr.data = arena_alloc(&call->arena, res.errout_len + 1);
    memcpy(resp->stderr.data, res.errout, res.errout_len);
    resp->stderr.len = res.errout_len;
    resp->exit_code = res.exit_code;
    shim_exec_result_done(&res);
    *ret_resp = &resp->base;
    return 0;
}
