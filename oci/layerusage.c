#include "oci/layerusage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/xalloc.h"
#include "storage/rootfs.h"

struct layer_usage_entry {
    char id[IDS_LEN + 1];
    struct layer_usage usage;
    int64_t monotonic_ns;
};

void layer_usage_cache_init(struct layer_usage_cache *c, int64_t max_age_ns)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    c->max_age_ns = max_age_ns;
}

void layer_usage_cache_done(struct layer_usage_cache *c)
{
    pthread_mutex_destroy(&c->lock);
    free(c->entries);
    memset(c, 0, sizeof(*c));
}

/* The entry of id, or NULL; under the lock. */
static struct layer_usage_entry *find(struct layer_usage_cache *c, const char *id)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->entries[i].id, id) == 0)
            return &c->entries[i];
    return NULL;
}

static void store(struct layer_usage_cache *c, const char *id, const struct layer_usage *u,
                  int64_t now)
{
    struct layer_usage_entry *e;

    pthread_mutex_lock(&c->lock);
    e = find(c, id);
    if (!e) {
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 32;
            c->entries = xrealloc(c->entries, c->cap * sizeof(*c->entries));
        }
        e = &c->entries[c->n++];
        snprintf(e->id, sizeof(e->id), "%s", id);
    }
    e->usage = *u;
    e->monotonic_ns = now;
    pthread_mutex_unlock(&c->lock);
}

int layer_usage_get(struct layer_usage_cache *c, const char *id, const char *dir,
                    struct layer_usage *ret, struct crib_err *err)
{
    int64_t now = clock_ns(CLOCK_MONOTONIC);
    struct layer_usage_entry *e;
    struct layer_usage u;
    int r;

    pthread_mutex_lock(&c->lock);
    e = find(c, id);
    if (e && now - e->monotonic_ns < c->max_age_ns) {
        *ret = e->usage;
        pthread_mutex_unlock(&c->lock);
        return 0;
    }
    pthread_mutex_unlock(&c->lock);
    u.measured_ns = clock_ns(CLOCK_REALTIME);
    r = rootfs_usage(dir, &u.bytes, &u.inodes, err);
    if (r < 0)
        return r;
    store(c, id, &u, now);
    *ret = u;
    return 0;
}

void layer_usage_forget(struct layer_usage_cache *c, const char *id)
{
    struct layer_usage_entry *e;

    pthread_mutex_lock(&c->lock);
    e = find(c, id);
    if (e)
        *e = c->entries[--c->n];
    pthread_mutex_unlock(&c->lock);
}
