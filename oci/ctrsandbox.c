/* The pods' sandboxes, for handlers whose pods are one (runsc: oci/gvisor.c),
 * and what their runtime alone can say of a container in one. */
#include "oci/container.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "common/cgdriver.h"
#include "common/cleanup.h"
#include "common/keylock.h"
#include "common/log.h"
#include "oci/ctrctx.h"
#include "oci/gvisor.h"

int ctr_runtime_stats(struct ctr_ctx *ctx, const char *handler, const char *id,
                      struct shim_stats *ret, struct crib_err *err)
{
    struct oci_handler *h = ctr_find_handler(ctx, handler);

    if (!h || h->kind != HANDLER_RUNSC)
        return 1;
    return shim_events_stats(h, id, ret, err);
}

bool ctr_handler_sandboxed(struct ctr_ctx *ctx, const char *handler)
{
    struct oci_handler *h = ctr_find_handler(ctx, handler);

    return h && h->kind == HANDLER_RUNSC;
}

int ctr_sandbox_create(struct ctr_ctx *ctx, const char *handler, const struct ctr_pod *pod,
                       struct crib_err *err)
{
    struct oci_handler *h = ctr_find_handler(ctx, handler);
    _cleanup_free_ char *cgroups_path = NULL;
    struct keylock_entry *lock;
    int r;

    if (!h)
        return crib_fail(err, CRIB_NOT_FOUND, ENOENT, "runtime handler '%s' is not configured",
                         handler);
    if (h->kind != HANDLER_RUNSC)
        return 0;
    if (pod->cgroup_parent && *pod->cgroup_parent)
        cgroups_path = ctx->cgroup_driver->container_path(pod->cgroup_parent, pod->id);
    /* The same RunPodSandbox twice at once runs one pod (pod_run) and so
     * asks twice for its sandbox: the second finds it made. */
    lock = keylock_acquire(&ctx->locks, pod->id);
    r = gvisor_sandbox_running(h, pod->id)
            ? 0
            : gvisor_sandbox_create(&ctx->gvisor, h, pod, cgroups_path, err);
    keylock_release(&ctx->locks, lock);
    return r;
}

int ctr_sandbox_remove(struct ctr_ctx *ctx, const char *handler, const char *pod_id,
                       struct crib_err *err)
{
    struct oci_handler *h = ctr_find_handler(ctx, handler);

    if (!h || h->kind != HANDLER_RUNSC)
        return 0;
    return gvisor_sandbox_remove(&ctx->gvisor, h, pod_id, err);
}

bool ctr_sandbox_running(struct ctr_ctx *ctx, const char *handler, const char *pod_id)
{
    struct oci_handler *h = ctr_find_handler(ctx, handler);

    return !h || h->kind != HANDLER_RUNSC || gvisor_sandbox_running(h, pod_id);
}

void ctr_sandbox_prune(struct ctr_ctx *ctx, bool (*keep)(const char *pod_id, void *arg), void *arg)
{
    _cleanup_closedir_ DIR *dir = opendir(ctx->gvisor_dir);
    struct dirent *e;

    while (dir && (e = readdir(dir))) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "exits") == 0 || keep(e->d_name, arg))
            continue;
        for (size_t i = 0; i < ctx->n_handlers; i++) {
            struct crib_err err;

            if (ctx->handlers[i].kind == HANDLER_RUNSC &&
                gvisor_sandbox_remove(&ctx->gvisor, &ctx->handlers[i], e->d_name, &err) < 0)
                log_warn("gVisor sandbox %s without a pod: %s, ignoring", e->d_name, err.msg);
        }
    }
}
