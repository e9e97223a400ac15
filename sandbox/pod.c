#include "sandbox/pod.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/crash.h"
#include "common/fs.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/singleflight.h"
#include "common/xalloc.h"
#include "sandbox/infra.h"
#include "sandbox/ns.h"
#include "sandbox/podnet.h"
#include "sandbox/podres.h"
#include "sandbox/sysctl.h"

struct sandbox_ctx {
    struct store *store;
    char *pods_dir; /* STATE/pods */
    int pods_fd;
    struct cgroup_layout cgroups;
    const struct cgroup_driver *cgroup_driver;
    struct cniconf_dirs cni;
    struct singleflight runs; /* by pod metadata */
    char *infra_binary;
    pthread_rwlock_t observer_lock; /* held for reading while the observer runs */
    pod_observer_fn observer;
    void *observer_arg;
};

void pod_observe(struct sandbox_ctx *ctx, pod_observer_fn fn, void *arg)
{
    pthread_rwlock_wrlock(&ctx->observer_lock);
    ctx->observer = fn;
    ctx->observer_arg = arg;
    pthread_rwlock_unlock(&ctx->observer_lock);
}

static void tell_observer(struct sandbox_ctx *ctx, const char *id, enum pod_change change)
{
    pthread_rwlock_rdlock(&ctx->observer_lock);
    if (ctx->observer)
        ctx->observer(ctx->observer_arg, id, change);
    pthread_rwlock_unlock(&ctx->observer_lock);
}

char *pod_dir(const struct sandbox_ctx *ctx, const char *id)
{
    return xasprintf("%s/%s", ctx->pods_dir, id);
}

/* Which namespaces a pod owns, by its modes. UTS follows the network: a
 * host-network pod has the node's hostname, as the kubelet expects. */
static unsigned owned_kinds(enum pod_ns_mode net, enum pod_ns_mode ipc)
{
    return (net == POD_NS_NODE ? 0 : NS_NET | NS_UTS) | (ipc == POD_NS_NODE ? 0 : NS_IPC);
}

/* Undoes whatever of a pod's state exists; each step is idempotent, so it
 * also finishes a removal a crash interrupted. A failing CNI DEL stops a
 * removal the kubelet will retry; undoing a run that never completed goes on
 * past it (with a log line), as nobody would retry that. */
/* The pod's cgroup_parent as a dir crib makes and removes, or NULL: none,
 * or the systemd driver's slice, which the kubelet and systemd own. */
static char *owned_parent_dir(const struct sandbox_ctx *ctx, const char *cgroup_parent)
{
    if (!ctx->cgroup_driver->makes_parent_dirs || !cgroup_parent)
        return NULL;
    return ctx->cgroup_driver->parent_dir(cgroup_parent);
}

static int teardown(struct sandbox_ctx *ctx, const char *id, const char *cgroup_parent,
                    bool net_must_succeed, struct crib_err *err)
{
    _cleanup_free_ char *dir = pod_dir(ctx, id);
    _cleanup_free_ char *cgroup_dir = owned_parent_dir(ctx, cgroup_parent);
    int r = podnet_del(&ctx->cni, dir, err);

    if (r < 0 && !net_must_succeed) {
        log_warn("pod %s: %s, ignoring", id, err->msg);
        r = 0;
    }
    if (r >= 0)
        r = infra_stop(dir, err);
    if (r >= 0)
        r = ns_unpin(dir, err);
    if (r >= 0)
        r = podfiles_remove(dir, err);
    if (r >= 0 && cgroup_dir)
        r = cgroup_remove(&ctx->cgroups, cgroup_dir, err);
    if (r >= 0)
        r = fs_remove_tree_at(ctx->pods_fd, id, err);
    return r;
}

static bool is_pod_id(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

/* A READY pod whose network no longer is what ADD made (CHECK fails: an
 * interface deleted, an address lost while cribd was down) is NOTREADY, so
 * the kubelet makes it anew. */
static bool listed(const char *const *names, const char *name)
{
    for (; names && *names; names++)
        if (strcmp(*names, name) == 0)
            return true;
    return false;
}

static int check_networks(struct sandbox_ctx *ctx, const char *const *sandboxed_handlers,
                          struct crib_err *err)
{
    struct pod_record **list = NULL;
    size_t n = 0;
    int r = pods_list(ctx->store, &list, &n, err);

    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *dir = pod_dir(ctx, list[i]->id);
        struct crib_err check;

        if (r >= 0 && list[i]->state == POD_READY &&
            !listed(sandboxed_handlers, list[i]->runtime_handler) &&
            podnet_check(&ctx->cni, dir, &check) < 0) {
            log_warn("pod %s: %s: it is NOTREADY now", list[i]->id, check.msg);
            r = pods_set_state(ctx->store, list[i]->id, POD_NOTREADY, err);
        }
        pod_record_free(list[i]);
    }
    free(list);
    return r;
}

/* A recorded pod whose state is gone (a removal cut short) cannot be READY;
 * the kubelet's next RemovePodSandbox finishes it. */
static int mark_broken(struct sandbox_ctx *ctx, struct crib_err *err)
{
    struct pod_record **list = NULL;
    size_t n = 0;
    int r = pods_list(ctx->store, &list, &n, err);

    for (size_t i = 0; i < n; i++) {
        struct stat st;

        if (r >= 0 && list[i]->state == POD_READY &&
            fstatat(ctx->pods_fd, list[i]->id, &st, 0) < 0 && errno == ENOENT)
            r = pods_set_state(ctx->store, list[i]->id, POD_NOTREADY, err);
        pod_record_free(list[i]);
    }
    free(list);
    return r;
}

static int reconcile(struct sandbox_ctx *ctx, const char *const *sandboxed_handlers,
                     struct crib_err *err)
{
    _cleanup_closedir_ DIR *d = opendir(ctx->pods_dir);
    struct dirent *de;
    int r = 0;

    while (r >= 0 && d && (de = readdir(d))) {
        struct pod_record *pod = NULL;

        if (!is_pod_id(de->d_name))
            continue;
        r = pods_get(ctx->store, de->d_name, &pod, err);
        if (r >= 0) {
            pod_record_free(pod);
            continue;
        }
        if (err->code != CRIB_NOT_FOUND)
            break;
        /* Made, never recorded: a run that died before its commit. The cgroup
         * it may have made is unknown here; the kubelet's cgroup GC owns it. */
        log_info("removing pod %s, which was never completed", de->d_name);
        r = teardown(ctx, de->d_name, NULL, false, err);
    }
    if (r >= 0)
        r = mark_broken(ctx, err);
    return r < 0 ? r : check_networks(ctx, sandboxed_handlers, err);
}

int sandbox_open(struct store *store, const char *state_dir, const struct cniconf_dirs *cni,
                 const char *infra_binary, const struct cgroup_driver *cgroup_driver,
                 const char *const *sandboxed_handlers, struct sandbox_ctx **ret_ctx,
                 struct crib_err *err)
{
    struct sandbox_ctx *ctx = xcalloc(1, sizeof(*ctx));
    int r;

    ctx->infra_binary = xstrdup(infra_binary);
    pthread_rwlock_init(&ctx->observer_lock, NULL);
    ctx->cgroup_driver = cgroup_driver;
    ctx->store = store;
    ctx->cni = *cni;
    singleflight_init(&ctx->runs);
    ctx->pods_fd = -1;
    ctx->pods_dir = xasprintf("%s/pods", state_dir);
    r = fs_mkdir_p(ctx->pods_dir, 0711, err);
    if (r >= 0) {
        ctx->pods_fd = open(ctx->pods_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (ctx->pods_fd < 0)
            r = crib_fail(err, CRIB_INTERNAL, errno, "open %s", ctx->pods_dir);
    }
    if (r >= 0)
        r = cgroup_layout_detect(NULL, &ctx->cgroups, err);
    if (r >= 0)
        r = reconcile(ctx, sandboxed_handlers, err);
    if (r < 0) {
        sandbox_close(ctx);
        return r;
    }
    *ret_ctx = ctx;
    return 0;
}

void sandbox_close(struct sandbox_ctx *ctx)
{
    if (!ctx)
        return;
    cgroup_layout_done(&ctx->cgroups);
    singleflight_done(&ctx->runs);
    pthread_rwlock_destroy(&ctx->observer_lock);
    closep(&ctx->pods_fd);
    free(ctx->pods_dir);
    free(ctx->infra_binary);
    free(ctx);
}

static int check_range(const char *what, const struct ns_id_range *r, struct crib_err *err)
{
    if (r->container_id != 0)
        return crib_fail(err, CRIB_INVALID, 0,
                         "userns_options.%s: the range must start at container ID 0 (root), not %u",
                         what, r->container_id);
    if (r->length == 0 || (uint64_t)r->host_id + r->length > UINT32_MAX)
        return crib_fail(err, CRIB_INVALID, 0, "userns_options.%s: bad range %u+%u", what,
                         r->host_id, r->length);
    return 0;
}

/* User namespaces as the kubelet asks for them (KEP-127): the pod's own,
 * with one range each, or the node's. */
static int check_userns(const struct pod_config *cfg, struct crib_err *err)
{
    int r;

    if (cfg->userns_mode == POD_NS_NODE)
        return 0;
    if (cfg->userns_mode != POD_NS_POD)
        return crib_fail(err, CRIB_INVALID, 0,
                         "userns_options.mode %s is not supported: use POD or NODE",
                         cfg->userns_mode == POD_NS_CONTAINER ? "CONTAINER" : "TARGET");
    if (cfg->n_uid_ranges != 1 || cfg->n_gid_ranges != 1)
        return crib_fail(err, CRIB_INVALID, 0,
                         "userns_options: exactly one uid and one gid mapping are supported "
                         "(got %zu and %zu)",
                         cfg->n_uid_ranges, cfg->n_gid_ranges);
    if (cfg->net_mode == POD_NS_NODE || cfg->ipc_mode == POD_NS_NODE)
        return crib_fail(err, CRIB_INVALID, 0,
                         "userns_options: a pod with its own user namespace cannot use the node's "
                         "network or IPC namespace");
    r = check_range("uids", cfg->uid_ranges, err);
    return r < 0 ? r : check_range("gids", cfg->gid_ranges, err);
}

static int check_modes(const struct pod_config *cfg, struct crib_err *err)
{
    if (cfg->net_mode != POD_NS_POD && cfg->net_mode != POD_NS_NODE)
        return crib_fail(err, CRIB_INVALID, 0,
                         "linux.security_context.namespace_options.network must be POD or NODE");
    if (cfg->ipc_mode != POD_NS_POD && cfg->ipc_mode != POD_NS_NODE)
        return crib_fail(err, CRIB_INVALID, 0,
                         "linux.security_context.namespace_options.ipc must be POD or NODE");
    if (cfg->pid_mode == POD_NS_TARGET)
        return crib_fail(err, CRIB_INVALID, 0,
                         "linux.security_context.namespace_options.pid TARGET is for containers");
    return check_userns(cfg, err);
}

int pod_config_check(const struct pod_config *cfg, struct crib_err *err)
{
    unsigned kinds = owned_kinds(cfg->net_mode, cfg->ipc_mode);
    int r = 0;

    if (!cfg->name || !*cfg->name)
        return crib_fail(err, CRIB_INVALID, 0, "metadata.name is empty");
    if (!cfg->namespace || !*cfg->namespace)
        return crib_fail(err, CRIB_INVALID, 0, "metadata.namespace is empty");
    if (!cfg->uid || !*cfg->uid)
        return crib_fail(err, CRIB_INVALID, 0, "metadata.uid is empty");
    r = check_modes(cfg, err);
    if (r >= 0)
        r = podfiles_check_dns(&cfg->dns, err);
    for (size_t i = 0; r >= 0 && i < cfg->n_sysctls; i++)
        r = sysctl_check(cfg->sysctl_names[i], cfg->sysctl_values[i], kinds, err);
    return r;
}

/* Without a hostname a pod has the node's, as with the peers. node holds
 * it when needed, so the result lives as long as node. */
static const char *pod_hostname(const struct pod_config *cfg, char node[static 65])
{
    if (cfg->hostname && *cfg->hostname)
        return cfg->hostname;
    memset(node, 0, 65);
    if (gethostname(node, 64) < 0)
        snprintf(node, 65, "localhost");
    return node;
}

/* The pod's state on disk, in the order teardown() undoes it. */
static const struct ns_userns *userns_of(const struct pod_config *cfg, struct ns_userns *buf)
{
    if (cfg->userns_mode != POD_NS_POD)
        return NULL;
    buf->uid = cfg->uid_ranges[0];
    buf->gid = cfg->gid_ranges[0];
    return buf;
}

static int make_state(struct sandbox_ctx *ctx, const char *id, const struct pod_config *cfg,
                      const char *hostname, char ips[PODNET_IPS_MAX], struct crib_err *err)
{
    struct podnet_pod net = {id, cfg->namespace, cfg->name, cfg->uid, cfg->capability_args};
    _cleanup_free_ char *dir = pod_dir(ctx, id);
    _cleanup_free_ char *cgroup_dir = owned_parent_dir(ctx, cfg->cgroup_parent);
    unsigned kinds = owned_kinds(cfg->net_mode, cfg->ipc_mode);
    struct ns_userns userns;
    struct pod_files_spec files = {.hostname = hostname,
                                   .host_network = cfg->net_mode == POD_NS_NODE,
                                   .host_ipc = cfg->ipc_mode == POD_NS_NODE,
                                   .dns = &cfg->dns};
    int r = mkdirat(ctx->pods_fd, id, 0711) < 0
                ? crib_fail(err, CRIB_INTERNAL, errno, "mkdir %s", dir)
                : 0;

    CRASH_POINT("pod-run-dir");
    if (r >= 0 && kinds)
        r = ns_pin_new_mapped(dir, kinds, hostname, userns_of(cfg, &userns), err);
    if (r >= 0 && cfg->pid_mode == POD_NS_POD)
        r = infra_start(dir, ctx->infra_binary, cfg->userns_mode == POD_NS_POD, err);
    CRASH_POINT("pod-run-namespaces");
    if (r >= 0)
        r = podfiles_write(dir, &files, err);
    if (r >= 0 && cfg->n_sysctls)
        r = sysctl_apply(dir, cfg->sysctl_names, cfg->sysctl_values, cfg->n_sysctls, err);
    if (r >= 0 && cgroup_dir)
        r = cgroup_create(&ctx->cgroups, cgroup_dir, err);
    /* Last: the network is the step most likely to fail, and the costliest. */
    if (r >= 0 && cfg->net_mode != POD_NS_NODE)
        r = podnet_add(&ctx->cni, dir, &net, ips, err);
    if (r >= 0 && *ips) {
        char primary[INET6_ADDRSTRLEN];

        snprintf(primary, sizeof(primary), "%.*s", (int)strcspn(ips, ","), ips);
        r = podfiles_set_ip(dir, hostname, primary, err);
    }
    return r;
}

static struct pod_record record_of(const char *id, const struct pod_config *cfg,
                                   const char *hostname, const char *ip, char *userns_text,
                                   char *resources)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (struct pod_record){
        .id = (char *)id,
        .name = (char *)cfg->name,
        .namespace = (char *)cfg->namespace,
        .uid = (char *)cfg->uid,
        .attempt = cfg->attempt,
        .state = POD_READY,
        .created_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
        .hostname = (char *)hostname,
        .log_directory = (char *)(cfg->log_directory ? cfg->log_directory : ""),
        .runtime_handler = (char *)(cfg->runtime_handler ? cfg->runtime_handler : ""),
        .net_mode = cfg->net_mode,
        .pid_mode = cfg->pid_mode,
        .ipc_mode = cfg->ipc_mode,
        .cgroup_parent = (char *)(cfg->cgroup_parent ? cfg->cgroup_parent : ""),
        .n_labels = cfg->n_labels,
        .labels = (struct pod_kv *)cfg->labels,
        .n_annotations = cfg->n_annotations,
        .annotations = (struct pod_kv *)cfg->annotations,
        .ip = (char *)ip,
        .userns = userns_text,
        .resources = resources,
    };
}

static int run_once(struct sandbox_ctx *ctx, const struct pod_config *cfg, char **ret_id,
                    struct crib_err *err)
{
    _cleanup_free_ char *holder = NULL, *userns_text = NULL;
    _cleanup_free_ char *resources = podres_to_json(cfg->overhead, cfg->resources);
    struct ns_userns userns;
    char id[IDS_LEN + 1], node[65], ip[PODNET_IPS_MAX] = "";
    const char *hostname = pod_hostname(cfg, node);
    struct pod_record rec;
    int r = pods_find_by_metadata(ctx->store, cfg->name, cfg->namespace, cfg->uid, cfg->attempt,
                                  &holder, err);

    if (r >= 0 && holder)
        return crib_fail(err, CRIB_EXISTS, EEXIST,
                         "pod %s/%s (uid %s, attempt %u) is already pod %s", cfg->namespace,
                         cfg->name, cfg->uid, cfg->attempt, holder);
    if (r < 0 || ids_new(id, err) < 0)
        return crib_err_ret(err);
    r = make_state(ctx, id, cfg, hostname, ip, err);
    userns_text = pods_userns_format(userns_of(cfg, &userns));
    rec = record_of(id, cfg, hostname, ip, userns_text, resources);
    if (r >= 0)
        r = pods_add(ctx->store, &rec, err);
    if (r < 0) {
        struct crib_err undo;

        if (teardown(ctx, id, err->code == CRIB_EXISTS ? NULL : cfg->cgroup_parent, false, &undo) <
            0)
            log_warn("pod %s: cleaning up after a failed run: %s, ignoring", id, undo.msg);
        return r;
    }
    /* No pause container: the pod is created and started in one step. */
    tell_observer(ctx, id, POD_CHANGE_CREATED);
    tell_observer(ctx, id, POD_CHANGE_STARTED);
    *ret_id = xstrdup(id);
    return 0;
}

struct run_args {
    struct sandbox_ctx *ctx;
    const struct pod_config *cfg;
};

static int run_flight(void *p, char **ret_id, struct crib_err *err)
{
    struct run_args *a = p;

    return run_once(a->ctx, a->cfg, ret_id, err);
}

/* A kubelet whose RunPodSandbox timed out sends it again, the same metadata,
 * while the first may still run: it gets that run's pod, not "exists". */
int pod_run(struct sandbox_ctx *ctx, const struct pod_config *cfg, char **ret_id,
            struct crib_err *err)
{
    struct run_args a = {ctx, cfg};
    _cleanup_free_ char *key = NULL;
    int r = pod_config_check(cfg, err);

    if (r >= 0)
        r = ctx->cgroup_driver->check_parent(cfg->cgroup_parent ? cfg->cgroup_parent : "", err);
    if (r < 0)
        return r;
    key = xasprintf("%s/%s/%s/%u", cfg->namespace, cfg->name, cfg->uid, cfg->attempt);
    return singleflight_do(&ctx->runs, key, run_flight, &a, NULL, ret_id, err);
}

int pod_stop(struct sandbox_ctx *ctx, const char *id, struct crib_err *err)
{
    _cleanup_free_ char *dir = pod_dir(ctx, id);
    int r = is_pod_id(id) ? podnet_del(&ctx->cni, dir, err) : 0;

    /* A stopped pod runs nothing: its infra process (if any) goes too. */
    if (r >= 0 && is_pod_id(id))
        r = infra_stop(dir, err);
    if (r < 0)
        return r;
    r = pods_set_state(ctx->store, id, POD_NOTREADY, err);
    if (r == 1)
        tell_observer(ctx, id, POD_CHANGE_STOPPED);
    /* The kubelet stops pods it may have removed already, and critest checks it. */
    return r < 0 && err->code == CRIB_NOT_FOUND ? 0 : r < 0 ? r : 0;
}

int pod_remove(struct sandbox_ctx *ctx, const char *id, struct crib_err *err)
{
    struct pod_record *pod = NULL;
    int r = pods_get(ctx->store, id, &pod, err);

    if (r < 0)
        return err->code == CRIB_NOT_FOUND ? 0 : r;
    r = teardown(ctx, pod->id, pod->cgroup_parent, true, err);
    CRASH_POINT("pod-remove-state");
    if (r >= 0)
        r = pods_delete(ctx->store, pod->id, err);
    if (r >= 0)
        tell_observer(ctx, pod->id, POD_CHANGE_DELETED);
    pod_record_free(pod);
    return r;
}

int pod_update_resources(struct sandbox_ctx *ctx, const char *id,
                         const struct cgroup_limits *overhead,
                         const struct cgroup_limits *resources, struct crib_err *err)
{
    _cleanup_free_ char *cgroup_dir = NULL, *recorded = NULL;
    struct pod_record *pod = NULL;
    int r = pods_get(ctx->store, id, &pod, err);

    if (r < 0)
        return r;
    cgroup_dir = ctx->cgroup_driver->parent_dir(pod->cgroup_parent);
    pod_record_free(pod);
    /* Under systemd these are the slice's knobs, written through cgroupfs as
     * runc's systemd driver also does; the kubelet made the slice and keeps
     * systemd's own view of it. */
    if (cgroup_dir && resources) {
        struct cgroup_limits total = podres_total(overhead, resources);

        r = cgroup_set_limits(&ctx->cgroups, cgroup_dir, &total, err);
    }
    recorded = podres_to_json(overhead, resources);
    return r < 0 ? r : pods_set_resources(ctx->store, id, recorded, err);
}

int pod_get(struct sandbox_ctx *ctx, const char *id, struct pod_record **ret_pod,
            struct crib_err *err)
{
    return pods_get(ctx->store, id, ret_pod, err);
}

int pod_list(struct sandbox_ctx *ctx, struct pod_record ***ret_pods, size_t *ret_n,
             struct crib_err *err)
{
    return pods_list(ctx->store, ret_pods, ret_n, err);
}

const struct cgroup_layout *pod_cgroup_layout(const struct sandbox_ctx *ctx)
{
    return &ctx->cgroups;
}

char *pod_cgroup_dir(const struct sandbox_ctx *ctx, const struct pod_record *pod)
{
    return ctx->cgroup_driver->parent_dir(pod->cgroup_parent);
}

int pod_open_netns(const struct sandbox_ctx *ctx, const struct pod_record *pod)
{
    _cleanup_free_ char *path = NULL;

    if (pod->net_mode == POD_NS_NODE)
        return -1;
    path = xasprintf("%s/%s/%s", ctx->pods_dir, pod->id, ns_name(NS_NET));
    return open(path, O_RDONLY | O_CLOEXEC);
}
