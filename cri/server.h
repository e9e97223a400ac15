/* The CRI gRPC server: RuntimeService and ImageService on a unix socket. */
#pragma once

#include <stddef.h>

#include "common/cgdriver.h"
#include "common/err.h"
#include "common/store.h"
#include "imagestore/imagestore.h"
#include "sandbox/pod.h"
#include "netcni/cniconf.h"
#include "oci/handler.h"

/* What the handlers serve from; owned by the daemon, read-only while serving
 * except where a field says otherwise. */
struct cri_runtime {
    const char *config_json; /* the config in force, for verbose Status */
    const struct cgroup_driver *cgroup_driver;
    struct oci_handler *handlers; /* each has its own probe lock */
    size_t n_handlers;
    size_t default_handler; /* index into handlers */
    struct cniconf_dirs cni;
    struct store *store;
    struct imagestore *images;
    struct sandbox_ctx *pods;
    struct ctr_ctx *containers;
    struct eventhub *events;         /* GetContainerEvents: the server makes and ends it */
    struct cgstats_cache *cpu_rates; /* the stats RPCs' last CPU samples: the server's too */
    struct rpcstats *rpc_stats;      /* per-RPC counters, from start to stop */
    const char **rpc_names;
    struct stream_server *streaming; /* Exec/Attach/PortForward URLs; the daemon's */
};

struct stream_server;

struct cri_server_options {
    const char *socket_path;
    unsigned workers;      /* threads for short calls */
    unsigned long_workers; /* threads for long calls */
    unsigned shutdown_timeout_ms;
    struct cri_runtime *runtime;
};

struct cri_server;

/* Creates the socket (parent dirs made, mode 0660, a stale socket replaced)
 * and starts serving. Refuses a socket another server still answers on.
 * Errors: CRIB_EXISTS (socket in use), CRIB_INTERNAL. */
int cri_server_start(const struct cri_server_options *opts, struct cri_server **ret_server,
                     struct crib_err *err);

/* Stops accepting calls, lets calls in flight finish for up to the shutdown
 * timeout, cancels the rest, and frees the server. Returns 0, or -EBUSY when
 * handlers were still running after cancellation: the server is then left
 * allocated, and so must be the cri_runtime they use, until the process exits. */
int cri_server_stop(struct cri_server *server);

/* cribd's own metrics in Prometheus text format (free() it), or NULL when
 * out of memory. Safe while serving. */
char *cri_metrics_text(struct cri_runtime *rt);
