/* Pod records in the store. The pod's files and namespaces are made before
 * a record is added and removed before it is deleted. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/store.h"

enum pod_state { POD_READY = 0, POD_NOTREADY = 1 };

/* NamespaceOption modes, numbered as the CRI numbers them. */
enum pod_ns_mode { POD_NS_POD = 0, POD_NS_CONTAINER = 1, POD_NS_NODE = 2, POD_NS_TARGET = 3 };

struct pod_kv {
    char *key, *value;
};

struct pod_record {
    char *id;
    char *name, *namespace, *uid;
    uint32_t attempt;
    enum pod_state state;
    int64_t created_ns;
    char *hostname;
    char *log_directory;
    char *runtime_handler;
    enum pod_ns_mode net_mode, pid_mode, ipc_mode;
    char *cgroup_parent; /* "" when none */
    size_t n_labels, n_annotations;
    struct pod_kv *labels, *annotations;
    char *ip;        /* "" until the network gives one */
    char *userns;    /* "" (the node's) or "UC UH UL GC GH GL": see pods_userns_parse */
    char *resources; /* overhead and resources as JSON (sandbox/podres.h), or "" */
};

struct ns_userns;

/* The text form of a pod's user namespace ranges, and back. Returns 1 when
 * text names a user namespace, 0 for "" (the node's), -EINVAL when malformed. */
char *pods_userns_format(const struct ns_userns *u);
int pods_userns_parse(const char *text, struct ns_userns *ret);

/* Adds pod; crash point pod-run-commit. Errors: CRIB_EXISTS naming the pod
 * that holds the same metadata, CRIB_INTERNAL. */
int pods_add(struct store *s, const struct pod_record *pod, struct crib_err *err);

/* Errors: CRIB_NOT_FOUND, CRIB_INTERNAL. Free with pod_record_free(). */
int pods_get(struct store *s, const char *id, struct pod_record **ret_pod, struct crib_err *err);

/* The ID of the pod with this metadata, or NULL (free() it). */
int pods_find_by_metadata(struct store *s, const char *name, const char *namespace, const char *uid,
                          uint32_t attempt, char **ret_id, struct crib_err *err);

/* All pods, by creation time. Free each with pod_record_free(), the array with free(). */
int pods_list(struct store *s, struct pod_record ***ret_pods, size_t *ret_n, struct crib_err *err);

/* Returns 1 when the state changed, 0 when the pod was in it already.
 * Errors: CRIB_NOT_FOUND, CRIB_INTERNAL. */
int pods_set_state(struct store *s, const char *id, enum pod_state state, struct crib_err *err);

/* Records the pod's overhead and resources (JSON). Errors: CRIB_NOT_FOUND, CRIB_INTERNAL. */
int pods_set_resources(struct store *s, const char *id, const char *resources,
                       struct crib_err *err);

/* Deletes the record; a missing one is fine. Crash point pod-remove-commit. */
int pods_delete(struct store *s, const char *id, struct crib_err *err);

void pod_record_free(struct pod_record *pod);
