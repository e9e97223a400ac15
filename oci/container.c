#include "oci/container.h"
#include "oci/internal.h"
#include "oci/ctrctx.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cgdriver.h"
#include "common/cleanup.h"
#include "common/clock.h"
#include "common/crash.h"
#include "common/fs.h"
#include "common/ids.h"
#include "common/keylock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "oci/bundle.h"
#include "oci/ctrview.h"
#include "oci/gvisor.h"
#include "oci/layerusage.h"
#include "storage/rootfs.h"

#define CTR_SHIM_TIMEOUT_MS 60000
/* How long conmon may take to write the exit file once the process is gone. */
#define CTR_EXIT_FILE_WAIT_MS 5000
#define CTR_KILL_WAIT_MS 30000
/* How long a runsc container may take to go after `runsc kill` SIGKILL
 * before its waiter is killed in its stead. */
#define CTR_RUNSC_KILL_WAIT_MS 5000
/* How often a stop signal the process does not handle yet is looked at again. */
#define CTR_RESIGNAL_MS 100
/* How old a writable layer's measured usage may be: the kubelet polls stats
 * every 10 s or so, and most layers change little between. */
#define CTR_LAYER_USAGE_MAX_AGE_NS (10 * 1000000000LL)

struct oci_handler *ctr_find_handler(struct ctr_ctx *ctx, const char *name)
{
    if (!name || !*name)
        return ctx->n_handlers ? &ctx->handlers[ctx->default_handler] : NULL;
    for (size_t i = 0; i < ctx->n_handlers; i++)
        if (strcmp(ctx->handlers[i].name, name) == 0)
            return &ctx->handlers[i];
    return NULL;
}

char *ctr_bundle_of(const struct ctr_ctx *ctx, const char *id)
{
    return xasprintf("%s/%s", ctx->bundles_dir, id);
}

/* The on-disk state of a container goes, in reverse order of its making:
 * runtime state, rootfs mount, bundle, writable layer. What is already gone
 * is fine, so this runs again after a crash. */
static int teardown(struct ctr_ctx *ctx, const char *id, struct oci_handler *h,
                    struct crib_err *err)
{
    _cleanup_free_ char *bundle = ctr_bundle_of(ctx, id);
    _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", bundle);
    _cleanup_close_ int bundles = -1, layers = -1;
    int r = 0;

    for (size_t i = 0; i < ctx->n_handlers && r >= 0; i++)
        if (!h || &ctx->handlers[i] == h)
            r = shim_delete(&ctx->shim, &ctx->handlers[i], id, err);
    if (r >= 0 && (!h || h->kind == HANDLER_RUNSC))
        shim_end_waiter(bundle);
    if (r >= 0)
        r = rootfs_unmount(rootfs, err);
    if (r >= 0)
        r = bundle_unmount_copies(bundle, err);
    if (r < 0)
        return r;
    bundles = open(ctx->bundles_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    layers = open(ctx->layers_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (bundles < 0 || layers < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open the container dirs");
    r = fs_remove_tree_at(bundles, id, err);
    if (r >= 0)
        r = fs_remove_tree_at(layers, id, err);
    return r;
}

void ctr_observe(struct ctr_ctx *ctx, ctr_observer_fn fn, void *arg)
{
    pthread_rwlock_wrlock(&ctx->observer_lock);
    ctx->observer = fn;
    ctx->observer_arg = arg;
    pthread_rwlock_unlock(&ctx->observer_lock);
}

/* The change from state was to state now (-1: no record), or -1 for none. */
static int change_of(int was, int now)
{
    if (now == -1)
        return was == -1 ? -1 : CTR_CHANGE_DELETED;
    if (now == CTR_EXITED)
        return was == CTR_EXITED ? -1 : CTR_CHANGE_STOPPED;
    if (now == CTR_RUNNING)
        return was == CTR_RUNNING ? -1 : CTR_CHANGE_STARTED;
    return was == -1 ? CTR_CHANGE_CREATED : -1;
}

static void tell_observer(struct ctr_ctx *ctx, const char *id, const char *pod_id, int change)
{
    if (change < 0)
        return;
    pthread_rwlock_rdlock(&ctx->observer_lock);
    if (ctx->observer)
        ctx->observer(ctx->observer_arg, id, pod_id, (enum ctr_change)change);
    pthread_rwlock_unlock(&ctx->observer_lock);
}

/* Brings the view of id in step with the store after a commit, and tells
 * the observer what changed. */
static void view_sync(struct ctr_ctx *ctx, const char *id)
{
    struct ctr_record *c = NULL;
    _cleanup_free_ char *pod_id = NULL;
    struct crib_err err;
    int r = containers_get(ctx->store, id, &c, &err), now, was;

    if (r < 0 && err.code != CRIB_NOT_FOUND) {
        log_warn("container %s: %s", id, err.msg);
        return;
    }
    now = c ? (int)c->state : -1;
    pod_id = c ? xstrdup(c->pod_id) : ctr_view_pod_of(&ctx->view, id);
    was = ctr_view_put(&ctx->view, id, c);
    tell_observer(ctx, id, pod_id ? pod_id : "", change_of(was, now));
}

/* Replaces *c with its record as the store has it now. */
static int reload(struct ctr_ctx *ctx, struct ctr_record *c, struct crib_err *err)
{
    struct ctr_record *fresh, old;
    int r = containers_get(ctx->store, c->id, &fresh, err);

    if (r < 0)
        return r;
    old = *c;
    *c = *fresh;
    *fresh = old;
    ctr_record_free(fresh);
    return 0;
}

static const char *exit_reason(const struct shim_exit *ex)
{
    if (ex->oom_killed)
        return "OOMKilled";
    return ex->code == 0 ? "Completed" : "Error";
}

/* Brings a CREATED or RUNNING record up to date with what the shim saw:
 * an exit file means the container has exited. A process gone with no
 * exit file and no conmon left to write one is recorded as exited too. */
static int refresh(struct ctr_ctx *ctx, struct ctr_record *c, struct crib_err *err)
{
    _cleanup_free_ char *bundle = NULL;
    struct shim_exit ex;
    struct proc_identity proc = {c->pid, c->start_ticks};
    int r;

    if (c->state != CTR_CREATED && c->state != CTR_RUNNING)
        return 0;
    bundle = ctr_bundle_of(ctx, c->id);
    r = shim_read_exit(&ctx->shim, c->id, bundle, &ex, err);
    if (r < 0)
        return r;
    if (r == 1) {
        if (proc_alive(&proc))
            return 0;
        r = shim_await_exit(&ctx->shim, c->id, bundle, CTR_EXIT_FILE_WAIT_MS, &ex, err);
        if (r < 0)
            return r;
        if (r == 1)
            ex = (struct shim_exit){.code = 255, .finished_ns = clock_ns(CLOCK_REALTIME)};
    }
    r = containers_set_exited(ctx->store, c->id, ex.code, ex.finished_ns,
                              r == 1 ? "Unknown" : exit_reason(&ex),
                              r == 1 ? "the container's shim has gone" : "", err);
    if (r < 0)
        return r;
    view_sync(ctx, c->id);
    /* What the store has now: this exit, or one another thread recorded first. */
    return reload(ctx, c, err);
}

static void list_free(struct ctr_record **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ctr_record_free(list[i]);
    free(list);
}

static bool listed(struct ctr_record **list, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i]->id, id) == 0)
            return true;
    return false;
}

/* Removes dir entries that no record names: what a crash left half-made. */
static void remove_unrecorded(struct ctr_ctx *ctx, const char *dir, struct ctr_record **list,
                              size_t n)
{
    _cleanup_(closedirp) DIR *d = opendir(dir);
    struct dirent *de;

    while (d && (de = readdir(d))) {
        struct crib_err err;

        if (de->d_name[0] == '.' || listed(list, n, de->d_name))
            continue;
        log_info("container %s: removing what an interrupted create left", de->d_name);
        if (teardown(ctx, de->d_name, NULL, &err) < 0)
            log_warn("container %s: %s", de->d_name, err.msg);
    }
}

/* A crash between `runc start` and its commit leaves a started container
 * recorded CREATED: its process has already left `runc init`. */
static void reconcile_started(struct ctr_ctx *ctx, struct ctr_record *c)
{
    struct proc_identity proc = {c->pid, c->start_ticks};
    struct oci_handler *h = ctr_find_handler(ctx, c->handler);
    char status[32];
    struct crib_err err;

    if (c->state != CTR_CREATED || !h || !proc_alive(&proc))
        return;
    if (shim_state(h, c->id, status, sizeof(status), &err) < 0 || strcmp(status, "running") != 0)
        return;
    if (containers_set_running(ctx->store, c->id, clock_ns(CLOCK_REALTIME), &err) < 0)
        log_warn("container %s: %s", c->id, err.msg);
    c->state = CTR_RUNNING;
    /* Under runsc the crash may have come before the waiter was told: it
     * waits for the container from now on (a second word is harmless). */
    if (h->kind == HANDLER_RUNSC && proc_signal(&proc, SIGUSR1, &err) < 0)
        log_warn("container %s: %s", c->id, err.msg);
}

static int reconcile(struct ctr_ctx *ctx, struct crib_err *err)
{
    struct ctr_record **list;
    size_t n;
    int r = containers_list(ctx->store, NULL, &list, &n, err);

    if (r < 0)
        return r;
    remove_unrecorded(ctx, ctx->bundles_dir, list, n);
    remove_unrecorded(ctx, ctx->layers_dir, list, n);
    for (size_t i = 0; i < n && r >= 0; i++) {
        reconcile_started(ctx, list[i]);
        ctr_checkpoint_reconcile(ctx, list[i]);
        r = refresh(ctx, list[i], err);
    }
    list_free(list, n);
    return r;
}

/* The view afresh from the store, after start-up reconciliation. */
static int view_load(struct ctr_ctx *ctx, struct crib_err *err)
{
    struct ctr_record **list;
    size_t n;
    int r = containers_list(ctx->store, NULL, &list, &n, err);

    if (r < 0)
        return r;
    ctr_view_reset(&ctx->view, list, n);
    return 0;
}

static bool is_container_id(const char *s)
{
    size_t n = strspn(s, "0123456789abcdef");

    return n == IDS_LEN && s[n] == '\0';
}

/* conmon writes EXIT_DIR/<id> when a container's process exits: the record
 * follows at once, without anyone polling (exits while cribd was down are
 * found by reconcile). */
static void note_exit(struct ctr_ctx *ctx, const char *id)
{
    struct ctr_record *c = NULL;
    struct crib_err err;

    if (containers_get(ctx->store, id, &c, &err) < 0)
        return;
    if (refresh(ctx, c, &err) < 0)
        log_warn("container %s: %s", id, err.msg);
    ctr_record_free(c);
}

static void *exit_watcher(void *arg)
{
    struct ctr_ctx *ctx = arg;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

    for (;;) {
        struct pollfd pfd[2] = {{.fd = ctx->watch_fd, .events = POLLIN},
                                {.fd = ctx->stop_fd, .events = POLLIN}};
        ssize_t n;

        if (poll(pfd, 2, -1) < 0 && errno != EINTR)
            break;
        if (pfd[1].revents)
            break;
        n = read(ctx->watch_fd, buf, sizeof(buf));
        for (ssize_t off = 0; n > 0 && off < n;) {
            const struct inotify_event *ev = (const struct inotify_event *)(buf + off);

            if (ev->len && is_container_id(ev->name))
                note_exit(ctx, ev->name);
            off += (ssize_t)(sizeof(*ev) + ev->len);
        }
    }
    return NULL;
}

static int watch_exits(struct ctr_ctx *ctx, struct crib_err *err)
{
    int r;

    ctx->watch_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    ctx->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (ctx->watch_fd < 0 || ctx->stop_fd < 0 ||
        inotify_add_watch(ctx->watch_fd, ctx->exit_dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "watch %s", ctx->exit_dir);
    r = pthread_create(&ctx->watcher, NULL, exit_watcher, ctx);
    if (r != 0)
        return crib_fail(err, CRIB_INTERNAL, r, "start the exit watcher");
    pthread_setname_np(ctx->watcher, "cri-exits");
    ctx->watching = true;
    return 0;
}

void ctr_close(struct ctr_ctx *ctx)
{
    if (!ctx)
        return;
    if (ctx->watching) {
        (void)!write(ctx->stop_fd, &(uint64_t){1}, sizeof(uint64_t));
        pthread_join(ctx->watcher, NULL);
    }
    if (ctx->watch_fd >= 0)
        close(ctx->watch_fd);
    if (ctx->stop_fd >= 0)
        close(ctx->stop_fd);
    ctr_view_done(&ctx->view);
    layer_usage_cache_done(&ctx->layer_usage);
    pthread_rwlock_destroy(&ctx->observer_lock);
    keylock_done(&ctx->locks);
    free(ctx->layers_dir);
    free(ctx->bundles_dir);
    free(ctx->exit_dir);
    free(ctx->socket_dir);
    free(ctx->conmon);
    free(ctx->gvisor_dir);
    free(ctx->gvisor_exit_dir);
    free(ctx->infra);
    free(ctx);
}

CRIB_DEFINE_CLEANUP(struct ctr_ctx, ctr_close)

int ctr_open(struct store *store, const struct ctr_options *opts, struct oci_handler *handlers,
             size_t n_handlers, size_t default_handler, struct ctr_ctx **ret_ctx,
             struct crib_err *err)
{
    _cleanup_(ctr_closep) struct ctr_ctx *ctx = xcalloc(1, sizeof(*ctx));
    const char *dirs[5];
    int r;

    ctx->store = store;
    ctx->handlers = handlers;
    ctx->n_handlers = n_handlers;
    ctx->default_handler = default_handler;
    ctx->watch_fd = ctx->stop_fd = -1;
    keylock_init(&ctx->locks);
    ctr_view_init(&ctx->view);
    layer_usage_cache_init(&ctx->layer_usage, CTR_LAYER_USAGE_MAX_AGE_NS);
    pthread_rwlock_init(&ctx->observer_lock, NULL);
    ctx->layers_dir = xasprintf("%s/containers", opts->root_dir);
    ctx->bundles_dir = xasprintf("%s/containers", opts->state_dir);
    ctx->exit_dir = xasprintf("%s/exits", opts->state_dir);
    ctx->socket_dir = xasprintf("%s/attach", opts->state_dir);
    ctx->conmon = xstrdup(opts->conmon && *opts->conmon ? opts->conmon : "conmon");
    ctx->cgroup_driver = opts->cgroup_driver;
    ctx->shim = (struct shim_paths){ctx->conmon, ctx->exit_dir, ctx->socket_dir};
    ctx->gvisor_dir = xasprintf("%s/gvisor", opts->state_dir);
    ctx->gvisor_exit_dir = xasprintf("%s/gvisor/exits", opts->state_dir);
    ctx->infra = xstrdup(opts->infra ? opts->infra : "crib-infra");
    ctx->gvisor = (struct gvisor_paths){
        ctx->gvisor_dir, ctx->infra, {ctx->conmon, ctx->gvisor_exit_dir, ctx->socket_dir}};
    dirs[0] = ctx->layers_dir;
    dirs[1] = ctx->bundles_dir;
    dirs[2] = ctx->exit_dir;
    dirs[3] = ctx->socket_dir;
    dirs[4] = ctx->gvisor_exit_dir;
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        r = fs_mkdir_p(dirs[i], 0711, err);
        /* Traversable (not listable) by a pod's user-namespaced root. */
        if (r >= 0 && chmod(dirs[i], 0711) < 0)
            r = crib_fail(err, CRIB_INTERNAL, errno, "chmod %s", dirs[i]);
        if (r < 0)
            return r;
    }
    /* Watching first, so that no exit between the two goes unnoticed. */
    r = watch_exits(ctx, err);
    if (r >= 0)
        r = reconcile(ctx, err);
    if (r >= 0)
        r = view_load(ctx, err);
    if (r < 0)
        return crib_wrap(err, "reconcile containers");
    *ret_ctx = TAKE_PTR(ctx);
    return 0;
}

static char *log_path_of(const struct ctr_pod *pod, const struct ctr_config *cfg)
{
    if (!pod->log_directory || !*pod->log_directory || !cfg->log_path || !*cfg->log_path)
        return xstrdup("");
    return xasprintf("%s/%s", pod->log_directory, cfg->log_path);
}

static int stop_signal_of(const struct ctr_image *img, const struct ctr_config *cfg)
{
    int sig = cfg->stop_signal;

    if (!sig && img->stop_signal && *img->stop_signal)
        sig = spec_signal_number(img->stop_signal);
    return sig > 0 ? sig : SIGTERM;
}

static struct ctr_record record_of(const char *id, const struct ctr_pod *pod,
                                   const struct oci_handler *h, const struct ctr_image *img,
                                   const struct ctr_config *cfg, const struct user_ids *ids,
                                   const struct proc_identity *proc, char *log_path)
{
    return (struct ctr_record){
        .id = (char *)id,
        .pod_id = (char *)pod->id,
        .name = (char *)cfg->name,
        .attempt = cfg->attempt,
        .handler = h->name,
        .image = (char *)img->requested,
        .image_id = (char *)img->id,
        .image_ref = (char *)img->ref,
        .state = CTR_CREATED,
        .created_ns = clock_ns(CLOCK_REALTIME),
        .pid = proc->pid,
        .start_ticks = proc->start_ticks,
        .log_path = log_path,
        .stop_signal = stop_signal_of(img, cfg),
        .tty = cfg->tty,
        .stdin_open = cfg->stdin_open,
        .stdin_once = cfg->stdin_once,
        .uid = ids->uid,
        .gid = ids->gid,
        .n_groups = ids->n_groups,
        .groups = (uint32_t *)ids->groups,
        .n_labels = cfg->n_labels,
        .labels = (struct ctr_kv *)cfg->labels,
        .n_annotations = cfg->n_annotations,
        .annotations = (struct ctr_kv *)cfg->annotations,
        .n_mounts = cfg->n_mounts,
        .mounts = (struct ctr_mount *)cfg->mounts,
        .resources =
            {
                .cpu_period = cfg->resources.cpu_period,
                .cpu_quota = cfg->resources.cpu_quota,
                .cpu_shares = cfg->resources.cpu_shares,
                .memory_limit = cfg->resources.memory_limit,
                .memory_swap_limit = cfg->resources.memory_swap_limit,
                .oom_score_adj = cfg->oom_score_adj,
                .cpuset_cpus = (char *)cfg->resources.cpuset_cpus,
                .cpuset_mems = (char *)cfg->resources.cpuset_mems,
            },
    };
}

/* Makes everything a container needs on disk and starts its shim. */
static int make_container(struct ctr_ctx *ctx, const struct ctr_pod *pod, struct oci_handler *h,
                          const struct ctr_image *img, const struct ctr_config *cfg, const char *id,
                          pid_t target_pid, struct crib_err *err)
{
    _cleanup_free_ char *layer = xasprintf("%s/%s", ctx->layers_dir, id);
    _cleanup_free_ char *upper = xasprintf("%s/upper", layer), *work = xasprintf("%s/work", layer);
    _cleanup_free_ char *bundle = ctr_bundle_of(ctx, id);
    _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", bundle);
    _cleanup_free_ char *log_path = log_path_of(pod, cfg);
    _cleanup_free_ char *log_dir = NULL;
    _cleanup_free_ char *cgroups_path =
        ctx->cgroup_driver->container_path(pod->cgroup_parent ? pod->cgroup_parent : "", id);
    _cleanup_close_ int userns_fd = -1;
    struct user_ids ids;
    struct proc_identity proc;
    struct ctr_record rec;
    int r;

    r = fs_mkdir_p(upper, 0755, err);
    if (r >= 0)
        r = fs_mkdir_p(work, 0700, err);
    if (r >= 0)
        r = fs_mkdir_p(rootfs, 0711, err); /* a user-namespaced runc must reach it */
    if (r >= 0 && pod->userns) {
        userns_fd = open(pod->userns, O_RDONLY | O_CLOEXEC);
        if (userns_fd < 0)
            r = crib_fail(err, CRIB_INTERNAL, errno, "open the pod's user namespace %s",
                          pod->userns);
    }
    if (r >= 0)
        r = rootfs_mount(&(struct rootfs_spec){.lower_dirs = img->layer_dirs,
                                               .n_lower = img->n_layers,
                                               .upper_dir = upper,
                                               .work_dir = work,
                                               .target = rootfs,
                                               .idmap = userns_fd >= 0,
                                               .idmap_userns_fd = userns_fd,
                                               .owner_uid = pod->uid_map.host_id,
                                               .owner_gid = pod->gid_map.host_id},
                         err);
    CRASH_POINT("container-create-rootfs");
    if (r >= 0)
        r = bundle_write(&(struct bundle_request){id, bundle, rootfs, cgroups_path, pod, img, cfg,
                                                  userns_fd, target_pid,
                                                  h->kind == HANDLER_RUNSC ? pod->id : NULL},
                         &ids, err);
    if (r >= 0 && *log_path) {
        log_dir = xstrdup(log_path);
        *strrchr(log_dir, '/') = '\0';
        r = fs_mkdir_p(log_dir, 0755, err);
    }
    if (r >= 0)
        r = shim_create(&ctx->shim, h,
                        &(struct shim_create_request){
                            id, bundle, log_path, cfg->tty, cfg->stdin_open, cfg->stdin_once,
                            CTR_SHIM_TIMEOUT_MS, h->kind == HANDLER_RUNSC},
                        &proc, err);
    /* The container's mount namespace has its own copies of the read-only
     * trees now; the host's would keep the host paths busy (a user could not
     * unmount or remove them). */
    if (r >= 0)
        r = bundle_unmount_copies(bundle, err);
    CRASH_POINT("container-create-shim");
    if (r >= 0) {
        rec = record_of(id, pod, h, img, cfg, &ids, &proc, log_path);
        r = containers_add(ctx->store, &rec, err);
    }
    return r;
}

/* PID mode TARGET joins the namespace of another running container. */
static int target_pid_of(struct ctr_ctx *ctx, const struct ctr_config *cfg, pid_t *ret,
                         struct crib_err *err)
{
    _cleanup_free_ char *target = NULL;
    int r;

    *ret = 0;
    if (cfg->pid_mode != 3)
        return 0;
    r = ctr_resolve_id(ctx, cfg->target_id, &target, err);
    if (r < 0)
        return crib_wrap(err, "namespace_options.target_id");
    *ret = ctr_pid(ctx, target);
    if (*ret <= 0)
        return crib_fail(err, CRIB_STATE, 0, "target container %s is not running", target);
    return 0;
}

int ctr_create(struct ctr_ctx *ctx, const struct ctr_pod *pod, const char *handler,
               const struct ctr_image *image, const struct ctr_config *cfg, char **ret_id,
               struct crib_err *err)
{
    struct oci_handler *h = ctr_find_handler(ctx, handler);
    _cleanup_free_ char *holder = NULL;
    struct ctr_pod joined;
    char id[IDS_LEN + 1];
    pid_t target_pid;
    int r;

    if (!h)
        return crib_fail(err, CRIB_NOT_FOUND, ENOENT, "runtime handler '%s' is not configured",
                         handler);
    r = ctr_config_check(cfg, err);
    if (r >= 0)
        r = containers_find(ctx->store, pod->id, cfg->name, cfg->attempt, &holder, err);
    if (r >= 0 && holder)
        return crib_fail(err, CRIB_EXISTS, EEXIST,
                         "container %s (attempt %u) in pod %s is already container %s", cfg->name,
                         cfg->attempt, pod->id, holder);
    if (r >= 0)
        r = target_pid_of(ctx, cfg, &target_pid, err);
    if (r < 0 || ids_new(id, err) < 0)
        return crib_err_ret(err);
    if (h->kind == HANDLER_RUNSC) {
        /* A runsc pod is one gVisor sandbox (ctr_sandbox_create): its
         * containers share the sandbox's own PID, IPC and UTS namespaces;
         * the host's pinned ones are not theirs to join. */
        joined = *pod;
        joined.pidns = joined.ipcns = joined.utsns = joined.userns = NULL;
        pod = &joined;
    }
    r = make_container(ctx, pod, h, image, cfg, id, target_pid, err);
    if (r < 0) {
        struct crib_err undo;

        if (teardown(ctx, id, h, &undo) < 0)
            log_warn("container %s: cleaning up after a failed create: %s, ignoring", id, undo.msg);
        return r;
    }
    view_sync(ctx, id);
    *ret_id = xstrdup(id);
    return 0;
}

/* Runs fn on the record of id with the container's lock held. */
static int with_container(struct ctr_ctx *ctx, const char *id,
                          int (*fn)(struct ctr_ctx *ctx, struct ctr_record *c, void *arg,
                                    struct crib_err *err),
                          void *arg, struct crib_err *err)
{
    struct keylock_entry *lock = keylock_acquire(&ctx->locks, id);
    struct ctr_record *c = NULL;
    int r = containers_get(ctx->store, id, &c, err);

    if (r >= 0)
        r = refresh(ctx, c, err);
    if (r >= 0)
        r = fn(ctx, c, arg, err);
    if (c)
        view_sync(ctx, id);
    ctr_record_free(c);
    keylock_release(&ctx->locks, lock);
    return r;
}

static int do_start(struct ctr_ctx *ctx, struct ctr_record *c, void *arg, struct crib_err *err)
{
    struct oci_handler *h = ctr_find_handler(ctx, c->handler);
    int r;

    (void)arg;
    if (c->state != CTR_CREATED)
        return crib_fail(err, CRIB_STATE, 0, "container %s is %s, not created", c->id,
                         c->state == CTR_RUNNING ? "running" : "exited");
    if (!h)
        return crib_fail(err, CRIB_NOT_FOUND, ENOENT, "runtime handler '%s' is gone", c->handler);
    if (h->kind == HANDLER_RUNSC) {
        _cleanup_free_ char *bundle = ctr_bundle_of(ctx, c->id);

        r = shim_start_joined(h, c->id, bundle, &(struct proc_identity){c->pid, c->start_ticks},
                              CTR_SHIM_TIMEOUT_MS, err);
    } else {
        r = shim_start(h, c->id, CTR_SHIM_TIMEOUT_MS, err);
    }
    if (r < 0) {
        struct crib_err ignored;

        /* As the peers report it: exited with 128, reason StartError. */
        containers_set_exited(ctx->store, c->id, 128, clock_ns(CLOCK_REALTIME), "StartError",
                              err->msg, &ignored);
        /* Recorded first: the waiter's end is an exit of its own to conmon. */
        if (h->kind == HANDLER_RUNSC) {
            _cleanup_free_ char *bundle = ctr_bundle_of(ctx, c->id);

            shim_end_waiter(bundle);
        }
        return r;
    }
    CRASH_POINT("container-start");
    r = containers_set_running(ctx->store, c->id, clock_ns(CLOCK_REALTIME), err);
    return r < 0 ? r : 0;
}

int ctr_start(struct ctr_ctx *ctx, const char *id, struct crib_err *err)
{
    return with_container(ctx, id, do_start, NULL, err);
}

/* Kills a container's first process and waits for conmon's exit record. */
static int kill_and_record(struct ctr_ctx *ctx, struct ctr_record *c, struct crib_err *err)
{
    struct proc_identity proc = {c->pid, c->start_ticks};
    _cleanup_free_ char *bundle = ctr_bundle_of(ctx, c->id);
    struct oci_handler *h = ctr_find_handler(ctx, c->handler);
    struct shim_exit ex;
    int r = 0;

    /* A runsc container's process is its waiter (oci/runsc_main.c), which
     * exits when the container does; a waiter whose container never
     * started or is gone already is killed itself. */
    if (h && h->kind == HANDLER_RUNSC && c->state == CTR_RUNNING) {
        struct crib_err ignored;

        if (shim_kill(h, c->id, SIGKILL, &ignored) == 0)
            r = proc_wait_gone(&proc, CTR_RUNSC_KILL_WAIT_MS, err);
    }
    if (r >= 0)
        r = proc_signal(&proc, SIGKILL, err);
    if (r >= 0)
        r = proc_wait_gone(&proc, CTR_KILL_WAIT_MS, err);
    if (r == 1)
        return crib_fail(err, CRIB_TIMEOUT, 0, "container %s did not die after SIGKILL", c->id);
    if (r < 0)
        return r;
    r = shim_await_exit(&ctx->shim, c->id, bundle, CTR_EXIT_FILE_WAIT_MS, &ex, err);
    if (r < 0)
        return r;
    if (r == 1)
        ex = (struct shim_exit){.code = 128 + SIGKILL, .finished_ns = clock_ns(CLOCK_REALTIME)};
    r = containers_set_exited(ctx->store, c->id, ex.code, ex.finished_ns, exit_reason(&ex), "",
                              err);
    return r < 0 ? r : 0;
}

/* Sends the stop signal and waits up to timeout_ms for the process to go.
 * A container's first process is the init of its PID namespace, and an init
 * ignores a signal it has no handler for yet (one stopped just after its
 * start): such a signal is sent again once the handler is there. */
static int signal_and_wait(const struct proc_identity *proc, int sig, long long timeout_ms,
                           struct crib_err *err)
{
    long long deadline = clock_mono_ms() + timeout_ms;
    bool caught = sig == SIGKILL || proc_catches(proc, sig);
    int r = proc_signal(proc, sig, err);

    while (r == 0) {
        long long left = deadline - clock_mono_ms();

        if (left <= 0)
            return 1;
        r = proc_wait_gone(proc, (int)(caught || left < CTR_RESIGNAL_MS ? left : CTR_RESIGNAL_MS),
                           err);
        if (r != 1 || caught)
            return r;
        if (proc_catches(proc, sig)) {
            caught = true;
            r = proc_signal(proc, sig, err);
        } else {
            r = 0;
        }
    }
    return r < 0 ? r : 0;
}

/* signal_and_wait for a container in a gVisor sandbox: the signal goes
 * through runsc, and its waiter goes when the container does. */
static int signal_runsc_and_wait(const struct oci_handler *h, const struct ctr_record *c, int sig,
                                 long long timeout_ms, struct crib_err *err)
{
    struct proc_identity proc = {c->pid, c->start_ticks};
    int r = shim_kill(h, c->id, sig, err);

    if (r < 0)
        return proc_alive(&proc) ? r : 0;
    return proc_wait_gone(&proc, (int)(timeout_ms > INT_MAX ? INT_MAX : timeout_ms), err);
}

static int do_stop(struct ctr_ctx *ctx, struct ctr_record *c, void *arg, struct crib_err *err)
{
    int64_t timeout_s = *(int64_t *)arg;
    struct proc_identity proc = {c->pid, c->start_ticks};
    struct oci_handler *h = ctr_find_handler(ctx, c->handler);
    long long timeout_ms = timeout_s > INT_MAX / 1000 ? INT_MAX : timeout_s * 1000;
    int sig = c->stop_signal ? c->stop_signal : SIGTERM, r;

    if (c->state == CTR_EXITED)
        return 0;
    if (c->state == CTR_RUNNING && timeout_s > 0) {
        r = h && h->kind == HANDLER_RUNSC ? signal_runsc_and_wait(h, c, sig, timeout_ms, err)
                                          : signal_and_wait(&proc, sig, timeout_ms, err);
        if (r < 0)
            return r;
    }
    return kill_and_record(ctx, c, err);
}

int ctr_stop(struct ctr_ctx *ctx, const char *id, int64_t timeout_s, struct crib_err *err)
{
    int r = with_container(ctx, id, do_stop, &timeout_s, err);

    return r < 0 && err->code == CRIB_NOT_FOUND ? 0 : r;
}

static int do_remove(struct ctr_ctx *ctx, struct ctr_record *c, void *arg, struct crib_err *err)
{
    int r = 0;

    (void)arg;
    if (c->state != CTR_EXITED)
        r = kill_and_record(ctx, c, err);
    if (r >= 0)
        r = teardown(ctx, c->id, ctr_find_handler(ctx, c->handler), err);
    CRASH_POINT("container-remove");
    if (r >= 0)
        r = containers_delete(ctx->store, c->id, err);
    if (r >= 0)
        layer_usage_forget(&ctx->layer_usage, c->id);
    return r;
}

int ctr_remove(struct ctr_ctx *ctx, const char *id, struct crib_err *err)
{
    int r = with_container(ctx, id, do_remove, NULL, err);

    return r < 0 && err->code == CRIB_NOT_FOUND ? 0 : r;
}

int ctr_get(struct ctr_ctx *ctx, const char *id, struct ctr_record **ret, struct crib_err *err)
{
    struct ctr_record *c;
    int r = containers_get(ctx->store, id, &c, err);

    if (r < 0)
        return r;
    r = refresh(ctx, c, err);
    if (r < 0) {
        ctr_record_free(c);
        return r;
    }
    *ret = c;
    return 0;
}

void ctr_each(struct ctr_ctx *ctx, const char *pod_id,
              void (*fn)(const struct ctr_record *c, void *arg), void *arg)
{
    ctr_view_each(&ctx->view, pod_id, fn, arg);
}

struct id_list {
    char **ids;
    size_t n;
};

static void add_id(const struct ctr_record *c, void *arg)
{
    struct id_list *l = arg;

    l->ids = xrealloc(l->ids, (l->n + 1) * sizeof(*l->ids));
    l->ids[l->n++] = xstrdup(c->id);
}

char **ctr_list_ids(struct ctr_ctx *ctx, const char *pod_id, size_t *ret_n)
{
    struct id_list l = {0};

    ctr_each(ctx, pod_id, add_id, &l);
    *ret_n = l.n;
    return l.ids ? l.ids : xcalloc(1, sizeof(char *));
}

int ctr_resolve_id(struct ctr_ctx *ctx, const char *key, char **ret_id, struct crib_err *err)
{
    return ctr_view_resolve(&ctx->view, key, ret_id, err);
}

int ctr_running(struct ctr_ctx *ctx, const char *id, struct oci_handler **ret_handler,
                char **ret_bundle, struct crib_err *err)
{
    struct ctr_record *c;
    int r = ctr_get(ctx, id, &c, err);

    if (r < 0)
        return r;
    *ret_handler = ctr_find_handler(ctx, c->handler);
    if (c->state != CTR_RUNNING)
        r = crib_fail(err, CRIB_STATE, 0, "container %s is not running", id);
    else if (!*ret_handler)
        r = crib_fail(err, CRIB_NOT_FOUND, ENOENT, "runtime handler '%s' is gone", c->handler);
    ctr_record_free(c);
    if (r >= 0)
        *ret_bundle = ctr_bundle_of(ctx, id);
    return r;
}

const struct shim_paths *ctr_shim_paths(const struct ctr_ctx *ctx)
{
    return &ctx->shim;
}

static int do_update(struct ctr_ctx *ctx, struct ctr_record *c, void *arg, struct crib_err *err)
{
    const struct spec_resources *res = arg;
    struct oci_handler *h = ctr_find_handler(ctx, c->handler);
    struct json_object *o;
    struct ctr_resources rec;
    int r;

    if (c->state == CTR_EXITED)
        return crib_fail(err, CRIB_STATE, 0, "container %s has exited", c->id);
    if (!h)
        return crib_fail(err, CRIB_NOT_FOUND, ENOENT, "runtime handler '%s' is gone", c->handler);
    o = spec_resources_build(res);
    r = shim_update(h, c->id, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), err);
    json_object_put(o);
    if (r < 0)
        return r;
    rec = c->resources;
    rec.cpu_period = res->cpu_period;
    rec.cpu_quota = res->cpu_quota;
    rec.cpu_shares = res->cpu_shares;
    rec.memory_limit = res->memory_limit;
    rec.memory_swap_limit = res->memory_swap_limit;
    rec.cpuset_cpus = (char *)(res->cpuset_cpus ? res->cpuset_cpus : "");
    rec.cpuset_mems = (char *)(res->cpuset_mems ? res->cpuset_mems : "");
    return containers_set_resources(ctx->store, c->id, &rec, err);
}

int ctr_update_resources(struct ctr_ctx *ctx, const char *id, const struct spec_resources *res,
                         struct crib_err *err)
{
    return with_container(ctx, id, do_update, (void *)res, err);
}

int ctr_reopen_log(struct ctr_ctx *ctx, const char *id, struct crib_err *err)
{
    _cleanup_free_ char *bundle = ctr_bundle_of(ctx, id);
    struct ctr_record *c;
    int r = ctr_get(ctx, id, &c, err);

    if (r < 0)
        return r;
    if (c->state != CTR_RUNNING)
        r = crib_fail(err, CRIB_STATE, 0, "container %s is not running", id);
    else if (!*c->log_path)
        r = 0; /* no log: nothing to reopen */
    else
        r = shim_reopen_log(bundle, c->log_path, err);
    ctr_record_free(c);
    return r;
}

pid_t ctr_pid(struct ctr_ctx *ctx, const char *id)
{
    struct ctr_record *c;
    struct crib_err err;
    pid_t pid = 0;

    if (ctr_get(ctx, id, &c, &err) < 0)
        return 0;
    if (c->state == CTR_RUNNING)
        pid = c->pid;
    ctr_record_free(c);
    return pid;
}
