#include "oci/ctrview.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static void free_items(struct ctr_record **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ctr_record_free(items[i]);
    free(items);
}

void ctr_view_init(struct ctr_view *v)
{
    pthread_rwlock_init(&v->lock, NULL);
    v->items = NULL;
    v->n = v->cap = 0;
}

void ctr_view_done(struct ctr_view *v)
{
    free_items(v->items, v->n);
    pthread_rwlock_destroy(&v->lock);
}

int ctr_view_put(struct ctr_view *v, const char *id, struct ctr_record *c)
{
    size_t i = 0;
    int was = -1;

    pthread_rwlock_wrlock(&v->lock);
    while (i < v->n && strcmp(v->items[i]->id, id) != 0)
        i++;
    if (i < v->n) {
        was = (int)v->items[i]->state;
        ctr_record_free(v->items[i]);
        if (c) {
            v->items[i] = c;
        } else {
            memmove(v->items + i, v->items + i + 1, (v->n - i - 1) * sizeof(*v->items));
            v->n--;
        }
    } else if (c) {
        if (v->n == v->cap) {
            v->cap = v->cap ? 2 * v->cap : 64;
            v->items = xrealloc(v->items, v->cap * sizeof(*v->items));
        }
        v->items[v->n++] = c; /* the newest: creation order holds */
    }
    pthread_rwlock_unlock(&v->lock);
    return was;
}

void ctr_view_reset(struct ctr_view *v, struct ctr_record **list, size_t n)
{
    pthread_rwlock_wrlock(&v->lock);
    free_items(v->items, v->n);
    v->items = list;
    v->n = v->cap = n;
    pthread_rwlock_unlock(&v->lock);
}

void ctr_view_each(struct ctr_view *v, const char *pod_id,
                   void (*fn)(const struct ctr_record *c, void *arg), void *arg)
{
    pthread_rwlock_rdlock(&v->lock);
    for (size_t i = 0; i < v->n; i++)
        if (!pod_id || strcmp(v->items[i]->pod_id, pod_id) == 0)
            fn(v->items[i], arg);
    pthread_rwlock_unlock(&v->lock);
}

int ctr_view_resolve(struct ctr_view *v, const char *key, char **ret_id, struct crib_err *err)
{
    size_t len = strlen(key), hits = 0;
    char *found = NULL;

    pthread_rwlock_rdlock(&v->lock);
    for (size_t i = 0; i < v->n && len; i++)
        if (strncmp(v->items[i]->id, key, len) == 0 && hits++ == 0)
            found = xstrdup(v->items[i]->id);
    pthread_rwlock_unlock(&v->lock);
    if (hits > 1) {
        free(found);
        return crib_fail(err, CRIB_NOT_FOUND, ENOENT, "container ID prefix %s is ambiguous", key);
    }
    if (!found)
        return crib_fail(err, CRIB_NOT_FOUND, ENOENT, "container %s", key);
    *ret_id = found;
    return 0;
}

bool ctr_view_uses_image(struct ctr_view *v, const char *image_id)
{
    bool used = false;

    pthread_rwlock_rdlock(&v->lock);
    for (size_t i = 0; i < v->n && !used; i++)
        used = strcmp(v->items[i]->image_id, image_id) == 0;
    pthread_rwlock_unlock(&v->lock);
    return used;
}

char *ctr_view_pod_of(struct ctr_view *v, const char *id)
{
    char *pod_id = NULL;

    pthread_rwlock_rdlock(&v->lock);
    for (size_t i = 0; i < v->n && !pod_id; i++)
        if (strcmp(v->items[i]->id, id) == 0)
            pod_id = xstrdup(v->items[i]->pod_id);
    pthread_rwlock_unlock(&v->lock);
    return pod_id;
}
