/* The container context's own state, shared by oci/'s container files
 * (container.c: the lifecycle; ctrsandbox.c: pods' sandboxes; ctrusage.c:
 * what containers use; ctrckpt.c: checkpoints) and by no one else. */
#pragma once

#include <pthread.h>
#include <stdbool.h>

#include "common/keylock.h"
#include "common/store.h"
#include "oci/container.h"
#include "oci/ctrview.h"
#include "oci/gvisor.h"
#include "oci/layerusage.h"
#include "oci/shim.h"

struct ctr_ctx {
    struct store *store;
    struct oci_handler *handlers;
    size_t n_handlers, default_handler;
    const struct cgroup_driver *cgroup_driver;
    char *layers_dir;  /* ROOT/containers: writable layers */
    char *bundles_dir; /* STATE/containers */
    struct shim_paths shim;
    char *exit_dir, *socket_dir, *conmon;
    struct gvisor_paths gvisor; /* pods' gVisor sandboxes */
    char *gvisor_dir, *gvisor_exit_dir, *infra;
    struct keylock locks;
    struct ctr_view view; /* in step with every commit: view_sync() */
    struct layer_usage_cache layer_usage;
    pthread_rwlock_t observer_lock; /* held for reading while the observer runs */
    ctr_observer_fn observer;
    void *observer_arg;
    pthread_t watcher; /* notes exits as conmon records them */
    int watch_fd, stop_fd;
    bool watching;
};

/* The handler named name ("" the default), or NULL. */
struct oci_handler *ctr_find_handler(struct ctr_ctx *ctx, const char *name);

/* Container id's bundle dir; free() it. */
char *ctr_bundle_of(const struct ctr_ctx *ctx, const char *id);
