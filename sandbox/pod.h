/* Pod sandbox lifecycle: run (namespaces pinned, files written, sysctls set,
 * cgroup made, then recorded), stop, remove; and start-up reconciliation. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/cgdriver.h"
#include "common/err.h"
#include "common/store.h"
#include "netcni/cniconf.h"
#include "sandbox/cgroup.h"
#include "sandbox/ns.h"
#include "sandbox/podfiles.h"
#include "sandbox/pods.h"

struct pod_config {
    const char *name, *namespace, *uid;
    uint32_t attempt;
    const char *hostname;
    const char *log_directory;
    const char *runtime_handler;
    struct pod_dns dns;
    enum pod_ns_mode net_mode, pid_mode, ipc_mode;
    const char *cgroup_parent; /* NULL or "": none; a path, or a slice under systemd */
    /* As the kubelet states them, recorded with the pod; NULL: not given. */
    const struct cgroup_limits *overhead, *resources;
    size_t n_labels, n_annotations;
    const struct pod_kv *labels, *annotations;
    size_t n_sysctls;
    const char *const *sysctl_names, *const *sysctl_values;
    const char *capability_args; /* CNI runtimeConfig, e.g. {"portMappings": [...]}, or NULL */
    /* The pod's user namespace: NODE (none of its own) or POD with exactly
     * one uid and one gid range starting at container ID 0. */
    enum pod_ns_mode userns_mode;
    size_t n_uid_ranges, n_gid_ranges;
    const struct ns_id_range *uid_ranges, *gid_ranges;
};

struct sandbox_ctx;

/* Lifecycle changes, as GetContainerEvents reports them for pods. */
enum pod_change { POD_CHANGE_CREATED, POD_CHANGE_STARTED, POD_CHANGE_STOPPED, POD_CHANGE_DELETED };

/* Told of each change once it is committed, on the thread that made it. */
typedef void (*pod_observer_fn)(void *arg, const char *id, enum pod_change change);

/* Opens the pods' state under state_dir/pods and removes what a crash left
 * half-made (a pod dir without a record, its network included). cni must
 * outlive the context. infra_binary is crib-infra, the init of pods that
 * share a PID namespace; cgroup_driver names the pods' cgroup parents.
 * sandboxed_handlers (NULL-terminated) name the handlers whose pods are
 * one sandbox that owns their network (runsc's stack takes the addresses
 * CNI gave): their networks are not CHECKed at start-up. Errors: CRIB_INTERNAL. Free
 * with sandbox_close(). */
int sandbox_open(struct store *store, const char *state_dir, const struct cniconf_dirs *cni,
                 const char *infra_binary, const struct cgroup_driver *cgroup_driver,
                 const char *const *sandboxed_handlers, struct sandbox_ctx **ret_ctx,
                 struct crib_err *err);
void sandbox_close(struct sandbox_ctx *ctx);

/* Sets the one observer (NULL: none); returns once no call of the old one runs. */
void pod_observe(struct sandbox_ctx *ctx, pod_observer_fn fn, void *arg);

/* Checks cfg without side effects. Errors: CRIB_INVALID naming the field. */
int pod_config_check(const struct pod_config *cfg, struct crib_err *err);

/* Runs a pod: its namespaces, files, sysctls, cgroup and network are in place
 * before it is recorded READY; a failure undoes them. *ret_id (free() it) is
 * 64 hex. Errors: CRIB_INVALID, CRIB_EXISTS (same metadata), CRIB_STATE (no
 * CNI network), the plugins' errors, CRIB_INTERNAL. */
int pod_run(struct sandbox_ctx *ctx, const struct pod_config *cfg, char **ret_id,
            struct crib_err *err);

/* Stops a pod: its network goes (CNI DEL), it is NOTREADY; an unknown or
 * stopped pod is fine. Errors: the plugins' errors (the kubelet retries). */
int pod_stop(struct sandbox_ctx *ctx, const char *id, struct crib_err *err);

/* Removes a pod and everything it holds; an unknown pod is fine. */
int pod_remove(struct sandbox_ctx *ctx, const char *id, struct crib_err *err);

/* Limits the pod's cgroup (a pod without one has nothing to limit) to
 * resources plus overhead (sandbox/podres.h), and records both; NULL: not
 * given. Errors: CRIB_NOT_FOUND, CRIB_INVALID (a value the kernel refuses),
 * CRIB_INTERNAL. */
int pod_update_resources(struct sandbox_ctx *ctx, const char *id,
                         const struct cgroup_limits *overhead,
                         const struct cgroup_limits *resources, struct crib_err *err);

/* The pod's state dir (free() it): its namespace pins (net, ipc, uts) and
 * files (hostname, hosts, resolv.conf, shm) for containers to join. */
char *pod_dir(const struct sandbox_ctx *ctx, const char *id);

/* The cgroup hierarchies that pods' and containers' cgroups live in. */
const struct cgroup_layout *pod_cgroup_layout(const struct sandbox_ctx *ctx);

/* The pod's cgroup dir in the hierarchies (free() it), or NULL when it has
 * no cgroup parent. */
char *pod_cgroup_dir(const struct sandbox_ctx *ctx, const struct pod_record *pod);

/* Opens the pod's network namespace (close() it), or returns -1: a
 * host-network pod has none of its own, and a removed pod none left. */
int pod_open_netns(const struct sandbox_ctx *ctx, const struct pod_record *pod);

/* Errors: CRIB_NOT_FOUND. Free with pod_record_free(). */
int pod_get(struct sandbox_ctx *ctx, const char *id, struct pod_record **ret_pod,
            struct crib_err *err);

/* All pods. Free each with pod_record_free() and the array with free(). */
int pod_list(struct sandbox_ctx *ctx, struct pod_record ***ret_pods, size_t *ret_n,
             struct crib_err *err);
