/* Container records in the store. A container's bundle, rootfs and shim
 * exist before its record is added and are gone before it is deleted;
 * start-up reconciles the two (design.md). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/store.h"

/* Numbered as the CRI numbers ContainerState. */
enum ctr_state { CTR_CREATED = 0, CTR_RUNNING = 1, CTR_EXITED = 2, CTR_UNKNOWN = 3 };

struct ctr_kv {
    char *key, *value;
};

struct ctr_mount {
    char *container_path, *host_path; /* an image volume: host_path names the image */
    bool readonly, recursive_readonly;
    int propagation; /* as the CRI numbers MountPropagation */
    /* An image volume (Mount.image): its layer dirs, bottom first, and the
     * path inside it to mount (NULL: all). Not recorded. */
    const char *const *image_layers;
    size_t n_image_layers;
    const char *image_sub_path;
};

struct ctr_resources {
    int64_t cpu_period, cpu_quota, cpu_shares, memory_limit, memory_swap_limit, oom_score_adj;
    char *cpuset_cpus, *cpuset_mems;
};

struct ctr_record {
    char *id, *pod_id, *name;
    uint32_t attempt;
    char *handler;   /* the runtime handler's name */
    char *image;     /* as the client asked for it */
    char *image_id;  /* the config digest */
    char *image_ref; /* a repo digest when the image has one, else the ID */
    enum ctr_state state;
    int64_t created_ns, started_ns, finished_ns;
    int exit_code;
    char *reason, *message;
    pid_t pid; /* the first process, with its start time (shim.h) */
    uint64_t start_ticks;
    char *log_path; /* absolute, or "" */
    int stop_signal;
    bool tty, stdin_open, stdin_once;
    uint32_t uid, gid;
    size_t n_groups;
    uint32_t *groups;
    size_t n_labels, n_annotations, n_mounts;
    struct ctr_kv *labels, *annotations;
    struct ctr_mount *mounts;
    struct ctr_resources resources;
    /* A reader's wire encoding of this record (cri/ keeps its Container
     * message here), made once and freed with it: a record in the view is
     * replaced on every change, never modified. See ctr_encoding_set(). */
    void *encoding;
};

/* Adds c. Crash point container-create-commit. Errors: CRIB_EXISTS naming
 * the container that holds the same pod, name and attempt; CRIB_INTERNAL. */
int containers_add(struct store *s, const struct ctr_record *c, struct crib_err *err);

/* Errors: CRIB_NOT_FOUND, CRIB_INTERNAL. Free with ctr_record_free(). */
int containers_get(struct store *s, const char *id, struct ctr_record **ret, struct crib_err *err);

/* The ID (free() it) of the container with this pod, name and attempt, or NULL. */
int containers_find(struct store *s, const char *pod_id, const char *name, uint32_t attempt,
                    char **ret_id, struct crib_err *err);

/* All containers (of pod_id only, when not NULL), by creation time. Free each
 * with ctr_record_free() and the array with free(). */
int containers_list(struct store *s, const char *pod_id, struct ctr_record ***ret, size_t *ret_n,
                    struct crib_err *err);

/* CREATED -> RUNNING. Crash point container-start-commit. Returns 0, or 1
 * when the container was not CREATED. */
int containers_set_running(struct store *s, const char *id, int64_t started_ns,
                           struct crib_err *err);

/* CREATED or RUNNING -> EXITED with the exit status; a container already
 * EXITED keeps its first status (returns 1). Crash point container-exit-commit. */
int containers_set_exited(struct store *s, const char *id, int exit_code, int64_t finished_ns,
                          const char *reason, const char *message, struct crib_err *err);

/* Replaces the recorded resources (after UpdateContainerResources). */
int containers_set_resources(struct store *s, const char *id, const struct ctr_resources *res,
                             struct crib_err *err);

/* Deletes the record; a missing one is fine. Crash point container-remove-commit. */
int containers_delete(struct store *s, const char *id, struct crib_err *err);

/* The encoding a reader cached with record c (see ctr_record.encoding), or
 * NULL; and setting it: returns the one that stays (enc, or one another
 * thread set first, in which case enc is freed). Safe under ctr_each. */
void *ctr_encoding_get(const struct ctr_record *c);
void *ctr_encoding_set(const struct ctr_record *c, void *enc);

void ctr_record_free(struct ctr_record *c);
