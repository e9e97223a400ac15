/* Container lifecycle: create (rootfs, spec, shim), start, stop, remove,
 * exec, update; exits noticed from the shim's exit files; start-up
 * reconciliation. The caller (cri/) supplies what the container takes from
 * its pod and its image, so this module knows neither sandboxes nor the
 * image store. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/store.h"
#include "oci/containers.h"
#include "oci/handler.h"
#include "oci/layerusage.h"
#include "oci/shim.h"
#include "oci/spec.h"
#include "oci/user.h"

enum ctr_seccomp { CTR_SECCOMP_RUNTIME_DEFAULT = 0, CTR_SECCOMP_UNCONFINED, CTR_SECCOMP_LOCALHOST };

/* What a container takes from its pod. */
struct ctr_pod {
    const char *id;
    const char *dir; /* the pod's state dir: hostname, hosts, resolv.conf, shm */
    /* Namespace paths to join; NULL where the pod uses the node's. */
    const char *netns, *ipcns, *utsns;
    const char *pidns;                       /* the pod's shared PID namespace (infra), or NULL */
    const char *userns;                      /* the pod's user namespace, or NULL: the node's */
    struct spec_id_mapping uid_map, gid_map; /* with userns */
    bool host_net, host_ipc, host_pid;
    const char *hostname;
    const char *cgroup_parent; /* "" or NULL: none */
    const char *log_directory;
    bool has_shm; /* dir/shm is the pod's /dev/shm */
};

/* What a container takes from its image. */
struct ctr_image {
    const char *requested; /* as the client wrote it */
    const char *id, *ref;
    const char *const *layer_dirs; /* bottom first */
    size_t n_layers;
    const char *const *env, *const *entrypoint, *const *cmd;
    size_t n_env, n_entrypoint, n_cmd;
    const char *user, *working_dir, *stop_signal;
};

struct ctr_config {
    const char *name;
    uint32_t attempt;
    const char *const *command, *const *args;
    size_t n_command, n_args;
    const char *working_dir;
    const char *const *env_keys, *const *env_values;
    size_t n_env;
    const struct ctr_mount *mounts;
    size_t n_mounts;
    const struct spec_device *devices; /* path, host_path and permissions set */
    size_t n_devices;
    const struct ctr_kv *labels, *annotations;
    size_t n_labels, n_annotations;
    const char *log_path; /* relative to the pod's log_directory */
    bool stdin_open, stdin_once, tty;
    /* security */
    const char *const *cap_add, *const *cap_drop;
    size_t n_cap_add, n_cap_drop;
    bool privileged, no_new_privs, readonly_rootfs;
    int pid_mode; /* CRI NamespaceMode: POD, CONTAINER, NODE, TARGET */
    const char *target_id;
    struct user_request user;
    const char *const *masked_paths, *const *readonly_paths;
    size_t n_masked_paths, n_readonly_paths;
    bool masked_paths_set, readonly_paths_set;
    const char *apparmor_profile; /* NULL: none */
    enum ctr_seccomp seccomp;
    const char *seccomp_profile; /* Localhost: the file */
    struct spec_resources resources;
    int64_t oom_score_adj;
    int stop_signal; /* 0: the image's, else SIGTERM */
};

struct ctr_options {
    const char *root_dir;  /* persistent: ROOT/containers/<id>/{upper,work} */
    const char *state_dir; /* volatile: STATE/containers/<id> (bundle), STATE/exits */
    const char *conmon;
    const struct cgroup_driver *cgroup_driver; /* names the containers' cgroups */
    const char *infra; /* crib-infra: the first container of a gVisor sandbox */
};

struct ctr_ctx;

/* Lifecycle changes, as GetContainerEvents reports them. */
enum ctr_change { CTR_CHANGE_CREATED, CTR_CHANGE_STARTED, CTR_CHANGE_STOPPED, CTR_CHANGE_DELETED };

/* Told of each change once it is committed, on the thread that made it;
 * it must not call back into the context's lifecycle calls. */
typedef void (*ctr_observer_fn)(void *arg, const char *id, const char *pod_id,
                                enum ctr_change change);

/* Opens the container state and reconciles it with the records: bundles
 * and writable layers without a record are removed (their runtime state
 * too), and running containers whose process has gone become EXITED.
 * handlers must outlive the context; "" names handlers[default_handler]. Free with ctr_close(). */
int ctr_open(struct store *store, const struct ctr_options *opts, struct oci_handler *handlers,
             size_t n_handlers, size_t default_handler, struct ctr_ctx **ret_ctx,
             struct crib_err *err);
void ctr_close(struct ctr_ctx *ctx);

/* Sets the one observer (NULL: none); returns once no call of the old one runs. */
void ctr_observe(struct ctr_ctx *ctx, ctr_observer_fn fn, void *arg);

/* Checks cfg without side effects. Errors: CRIB_INVALID naming the field. */
int ctr_config_check(const struct ctr_config *cfg, struct crib_err *err);

/* Creates a container in pod: its rootfs, spec and shim exist before it is
 * recorded CREATED. handler is the pod's runtime handler name ("" default).
 * *ret_id (free() it) is 64 hex. Errors: CRIB_INVALID, CRIB_EXISTS,
 * CRIB_NOT_FOUND (handler, seccomp profile), CRIB_INTERNAL. */
int ctr_create(struct ctr_ctx *ctx, const struct ctr_pod *pod, const char *handler,
               const struct ctr_image *image, const struct ctr_config *cfg, char **ret_id,
               struct crib_err *err);

/* Checkpoints running container id into one archive at location
 * (oci/ckptarchive.h: 0600, root's, never left partial) within timeout_s
 * (0: a default); the container keeps running. Errors: CRIB_NOT_FOUND,
 * CRIB_STATE (not running; CRIU cannot work on this machine, with criu's
 * reason; a runsc container, which shares its pod's sandbox), CRIB_TIMEOUT,
 * CRIB_INTERNAL with the runtime's message. */
int ctr_checkpoint(struct ctr_ctx *ctx, const char *id, const char *location, int64_t timeout_s,
                   struct crib_err *err);

/* A pod checkpoint (the unreleased CRI's CheckpointPod): the n running
 * containers ids of pod_id, all under one handler, are paused, each is
 * captured into output_path/NAME.tar as ctr_checkpoint does, output_path/
 * pod.json says which is which, and all are resumed before it returns,
 * whatever happened. output_path must be an existing empty dir; on failure
 * it is left empty. Errors: CRIB_NOT_FOUND, CRIB_INVALID (a container of
 * another pod or handler, a bad output dir), CRIB_STATE (not running; CRIU
 * cannot work here; runsc, as for ctr_checkpoint), CRIB_TIMEOUT,
 * CRIB_INTERNAL. */
int ctr_checkpoint_pod(struct ctr_ctx *ctx, const char *pod_id, const char *const *ids, size_t n,
                       const char *output_path, int64_t timeout_s, struct crib_err *err);

/* Container id's usage from its runtime's own accounting, for a handler
 * whose containers the host's cgroups cannot see apart (runsc). Returns 1
 * when handler's containers have cgroups of their own (read those).
 * Errors: CRIB_INTERNAL. */
int ctr_runtime_stats(struct ctr_ctx *ctx, const char *handler, const char *id,
                      struct shim_stats *ret, struct crib_err *err);

/* Whether the pods of handler ("" default) are each one sandbox that
 * their containers join (runsc), made by ctr_sandbox_create. */
bool ctr_handler_sandboxed(struct ctr_ctx *ctx, const char *handler);

/* Makes and starts pod's sandbox (oci/gvisor.h) when its handler's pods
 * have one and it does not run yet; else does nothing. On failure nothing
 * of it is left.
 * Errors: CRIB_NOT_FOUND (handler, runsc, crib-infra), CRIB_TIMEOUT,
 * CRIB_INTERNAL with the runtime's message. */
int ctr_sandbox_create(struct ctr_ctx *ctx, const char *handler, const struct ctr_pod *pod,
                       struct crib_err *err);

/* Ends and removes pod_id's sandbox, if its handler's pods have one; one
 * that is not there is fine. Errors: CRIB_INTERNAL. */
int ctr_sandbox_remove(struct ctr_ctx *ctx, const char *handler, const char *pod_id,
                       struct crib_err *err);

/* Whether pod_id's sandbox runs; true for a handler whose pods have none. */
bool ctr_sandbox_running(struct ctr_ctx *ctx, const char *handler, const char *pod_id);

/* Removes every sandbox whose pod keep() does not know: what a crash left
 * between a sandbox's making and its pod's record going. */
void ctr_sandbox_prune(struct ctr_ctx *ctx, bool (*keep)(const char *pod_id, void *arg), void *arg);

/* Errors: CRIB_NOT_FOUND, CRIB_STATE (not CREATED), the runtime's error
 * (the container is then EXITED with reason StartError). */
int ctr_start(struct ctr_ctx *ctx, const char *id, struct crib_err *err);

/* Stops a container: its stop signal, then SIGKILL after timeout_s. An
 * unknown or exited container is fine. */
int ctr_stop(struct ctr_ctx *ctx, const char *id, int64_t timeout_s, struct crib_err *err);

/* Removes a container (killing it first); an unknown one is fine. */
int ctr_remove(struct ctr_ctx *ctx, const char *id, struct crib_err *err);

/* The record with its state brought up to date (an exit the shim recorded
 * is noticed here). Errors: CRIB_NOT_FOUND. Free with ctr_record_free(). */
int ctr_get(struct ctr_ctx *ctx, const char *id, struct ctr_record **ret, struct crib_err *err);

/* Calls fn for every container (of pod_id when not NULL), by creation time,
 * with a read lock held: fn must not call back into this module. */
void ctr_each(struct ctr_ctx *ctx, const char *pod_id,
              void (*fn)(const struct ctr_record *c, void *arg), void *arg);

/* The IDs of every container (of pod_id when not NULL); free each and the vector. */
char **ctr_list_ids(struct ctr_ctx *ctx, const char *pod_id, size_t *ret_n);

/* Finds a container by full ID or unique ID prefix. Errors: CRIB_NOT_FOUND. */
int ctr_resolve_id(struct ctr_ctx *ctx, const char *key, char **ret_id, struct crib_err *err);

/* Runs argv in a running container. Errors: CRIB_NOT_FOUND, CRIB_STATE,
 * CRIB_TIMEOUT, CRIB_INTERNAL. */
int ctr_exec_sync(struct ctr_ctx *ctx, const char *id, const char *const *argv, int timeout_s,
                  struct shim_exec_result *ret_result, struct crib_err *err);

/* Applies new resources to a created or running container and records them. */
int ctr_update_resources(struct ctr_ctx *ctx, const char *id, const struct spec_resources *res,
                         struct crib_err *err);

/* Asks the shim to reopen the log. Errors: CRIB_NOT_FOUND, CRIB_STATE (not running). */
int ctr_reopen_log(struct ctr_ctx *ctx, const char *id, struct crib_err *err);

/* The writable layer's usage, measured at most CTR_LAYER_USAGE_MAX_AGE_NS
 * ago. Errors: CRIB_INTERNAL. */
int ctr_layer_usage(struct ctr_ctx *ctx, const char *id, struct layer_usage *ret,
                    struct crib_err *err);

/* Where the writable layers are (the stats' filesystem mountpoint). */
const char *ctr_layers_dir(const struct ctr_ctx *ctx);

/* Container id's cgroup dir in the hierarchies, for a pod whose cgroup
 * parent is cgroup_parent ("" or NULL: none). free() it. */
char *ctr_cgroup_dir(const struct ctr_ctx *ctx, const char *cgroup_parent, const char *id);

/* Whether any container uses image_id (an image in use cannot be removed). */
bool ctr_image_in_use(struct ctr_ctx *ctx, const char *image_id);

/* Writable layers' bytes and inodes, and their count, for ImageFsInfo. */
int ctr_usage(struct ctr_ctx *ctx, int64_t *ret_bytes, int64_t *ret_inodes, size_t *ret_n,
              struct crib_err *err);

/* The pid of a running container's first process (0 when not running), for a
 * container that joins another's PID namespace (TARGET). */
pid_t ctr_pid(struct ctr_ctx *ctx, const char *id);

/* Starts argv in running container id for a streaming session (flags:
 * enum shim_exec_flags). No lock is held once it returns, so a session never
 * delays Stop. Errors: CRIB_NOT_FOUND, CRIB_STATE (not running), CRIB_INTERNAL. */
int ctr_exec_start(struct ctr_ctx *ctx, const char *id, const char *const *argv, unsigned flags,
                   struct shim_exec_proc *ret, struct crib_err *err);

/* Joins running container id's stdio through its shim; *ret_fd is the
 * caller's. Errors: CRIB_NOT_FOUND, CRIB_STATE (not running). */
int ctr_attach(struct ctr_ctx *ctx, const char *id, int *ret_fd, struct crib_err *err);

/* Resizes container id's terminal. Errors: CRIB_STATE (its shim has gone). */
int ctr_resize(struct ctr_ctx *ctx, const char *id, uint16_t width, uint16_t height,
               struct crib_err *err);
