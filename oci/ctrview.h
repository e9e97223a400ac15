/* The container records as the store has them, in memory, by creation
 * time: what the calls that read many (ListContainers, the kubelet's relist
 * every second, ID prefixes) read instead of the database. The lifecycle
 * puts a record here after every commit; readers share a read lock. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "oci/containers.h"

struct ctr_view {
    pthread_rwlock_t lock;
    struct ctr_record **items;
    size_t n, cap;
};

void ctr_view_init(struct ctr_view *v);
void ctr_view_done(struct ctr_view *v);

/* Replaces the record of id with c (taken), or drops it when c is NULL.
 * Returns the state the view had for id, or -1 when it had none. */
int ctr_view_put(struct ctr_view *v, const char *id, struct ctr_record *c);

/* Replaces every record with list (taken; by creation time). */
void ctr_view_reset(struct ctr_view *v, struct ctr_record **list, size_t n);

/* Calls fn for every record (of pod_id when not NULL) under the read lock. */
void ctr_view_each(struct ctr_view *v, const char *pod_id,
                   void (*fn)(const struct ctr_record *c, void *arg), void *arg);

/* The full ID (free() it) of the one container whose ID starts with key.
 * Errors: CRIB_NOT_FOUND (none, or the prefix is ambiguous). */
int ctr_view_resolve(struct ctr_view *v, const char *key, char **ret_id, struct crib_err *err);

/* The pod ID of container id (free() it), or NULL when the view has none. */
char *ctr_view_pod_of(struct ctr_view *v, const char *id);

/* Whether a container uses image_id. */
bool ctr_view_uses_image(struct ctr_view *v, const char *image_id);
