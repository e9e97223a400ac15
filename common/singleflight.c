#include "common/singleflight.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

struct singleflight_call {
    struct singleflight_call *next;
    char *key;
    unsigned waiters;
    bool done;
    int result;
    struct crib_err err;
    char *value;
    pthread_cond_t cond;
};

void singleflight_init(struct singleflight *sf)
{
    pthread_mutex_init(&sf->lock, NULL);
    sf->calls = NULL;
}

void singleflight_done(struct singleflight *sf)
{
    pthread_mutex_destroy(&sf->lock);
}

static void call_free(struct singleflight_call *c)
{
    pthread_cond_destroy(&c->cond);
    free(c->key);
    free(c->value);
    free(c);
}

static struct singleflight_call *running(struct singleflight *sf, const char *key)
{
    for (struct singleflight_call *c = sf->calls; c; c = c->next)
        if (strcmp(c->key, key) == 0)
            return c;
    return NULL;
}

static void unlink_call(struct singleflight *sf, struct singleflight_call *c)
{
    for (struct singleflight_call **pp = &sf->calls; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            return;
        }
}

/* Called with the lock held; returns 1 when the waiter should run again. */
static int wait_for(struct singleflight *sf, struct singleflight_call *c,
                    bool (*retry)(const struct crib_err *), char **ret_value, struct crib_err *err)
{
    int r;

    c->waiters++;
    while (!c->done)
        pthread_cond_wait(&c->cond, &sf->lock);
    r = c->result;
    if (r < 0 && retry && retry(&c->err))
        r = 1;
    else if (r < 0)
        *err = c->err;
    else
        *ret_value = xstrdup(c->value);
    if (--c->waiters == 0)
        call_free(c);
    return r;
}

static int lead(struct singleflight *sf, const char *key, singleflight_fn fn, void *ctx,
                char **ret_value, struct crib_err *err)
{
    struct singleflight_call *c = xcalloc(1, sizeof(*c));
    int r;

    c->key = xstrdup(key);
    pthread_cond_init(&c->cond, NULL);
    c->next = sf->calls;
    sf->calls = c;
    pthread_mutex_unlock(&sf->lock);
    r = fn(ctx, ret_value, err);
    pthread_mutex_lock(&sf->lock);
    c->done = true;
    c->result = r;
    if (r < 0)
        c->err = *err;
    else
        c->value = xstrdup(*ret_value);
    unlink_call(sf, c);
    pthread_cond_broadcast(&c->cond);
    if (c->waiters == 0)
        call_free(c);
    return r;
}

int singleflight_do(struct singleflight *sf, const char *key, singleflight_fn fn, void *ctx,
                    bool (*retry)(const struct crib_err *err), char **ret_value,
                    struct crib_err *err)
{
    int r;

    pthread_mutex_lock(&sf->lock);
    for (;;) {
        struct singleflight_call *c = running(sf, key);

        if (!c) {
            r = lead(sf, key, fn, ctx, ret_value, err);
            break;
        }
        r = wait_for(sf, c, retry, ret_value, err);
        if (r <= 0)
            break;
    }
    pthread_mutex_unlock(&sf->lock);
    return r;
}
