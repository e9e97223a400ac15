/* The writable layers' disk usage, for the stats RPCs. Walking a layer costs
 * a syscall per entry, and the kubelet asks for every container every few
 * seconds, so each figure is kept for a bounded age and walked again after. */
#pragma once

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct layer_usage {
    int64_t bytes, inodes;
    int64_t measured_ns; /* CLOCK_REALTIME of the walk, the CRI's timestamp */
};

struct layer_usage_cache {
    pthread_mutex_t lock;
    int64_t max_age_ns;
    struct layer_usage_entry *entries;
    size_t n, cap;
};

void layer_usage_cache_init(struct layer_usage_cache *c, int64_t max_age_ns);
void layer_usage_cache_done(struct layer_usage_cache *c);

/* The usage of dir, the writable layer of id: as measured within the max
 * age, or walked now (outside the lock). Errors: rootfs_usage's. */
int layer_usage_get(struct layer_usage_cache *c, const char *id, const char *dir,
                    struct layer_usage *ret, struct crib_err *err);

/* Drops id's figure (its container was removed). */
void layer_usage_forget(struct layer_usage_cache *c, const char *id);
