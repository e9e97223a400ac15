#include "cri/eventhub.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xalloc.h"

struct queued_event {
    void *buf;
    size_t len;
};

struct eventhub_sub {
    struct eventhub_sub *next;
    pthread_cond_t wake;
    struct queued_event *ring; /* max_queued slots */
    size_t head, n;
    bool dropped;
};

struct eventhub {
    pthread_mutex_t lock;
    struct eventhub_sub *subs;
    size_t max_queued;
    bool closed;
};

struct eventhub *eventhub_new(size_t max_queued)
{
    struct eventhub *ev = xcalloc(1, sizeof(*ev));

    pthread_mutex_init(&ev->lock, NULL);
    ev->max_queued = max_queued ? max_queued : 1;
    return ev;
}

void eventhub_free(struct eventhub *ev)
{
    if (!ev)
        return;
    pthread_mutex_destroy(&ev->lock);
    free(ev);
}

void eventhub_close(struct eventhub *ev)
{
    pthread_mutex_lock(&ev->lock);
    ev->closed = true;
    for (struct eventhub_sub *s = ev->subs; s; s = s->next)
        pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&ev->lock);
}

static void drain(struct eventhub_sub *s, size_t cap)
{
    for (; s->n; s->n--, s->head = (s->head + 1) % cap)
        free(s->ring[s->head].buf);
}

static void enqueue(struct eventhub *ev, struct eventhub_sub *s, const void *buf, size_t len)
{
    struct queued_event *slot;

    if (s->dropped)
        return;
    if (s->n == ev->max_queued) {
        /* Freed now, not when the slow reader gets round to it. */
        drain(s, ev->max_queued);
        s->dropped = true;
    } else {
        slot = &s->ring[(s->head + s->n++) % ev->max_queued];
        slot->buf = xmalloc(len ? len : 1);
        memcpy(slot->buf, buf, len);
        slot->len = len;
    }
    pthread_cond_signal(&s->wake);
}

void eventhub_publish(struct eventhub *ev, void *buf, size_t len)
{
    pthread_mutex_lock(&ev->lock);
    for (struct eventhub_sub *s = ev->subs; s && !ev->closed; s = s->next)
        enqueue(ev, s, buf, len);
    pthread_mutex_unlock(&ev->lock);
    free(buf);
}

int eventhub_has_subscribers(struct eventhub *ev)
{
    int any;

    pthread_mutex_lock(&ev->lock);
    any = ev->subs != NULL && !ev->closed;
    pthread_mutex_unlock(&ev->lock);
    return any;
}

struct eventhub_sub *eventhub_subscribe(struct eventhub *ev)
{
    struct eventhub_sub *s = xcalloc(1, sizeof(*s));
    pthread_condattr_t attr;

    /* Waits are timed on the monotonic clock: a clock step cannot stall them. */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &attr);
    pthread_condattr_destroy(&attr);
    s->ring = xcalloc(ev->max_queued, sizeof(*s->ring));
    pthread_mutex_lock(&ev->lock);
    s->next = ev->subs;
    ev->subs = s;
    pthread_mutex_unlock(&ev->lock);
    return s;
}

void eventhub_unsubscribe(struct eventhub *ev, struct eventhub_sub *sub)
{
    pthread_mutex_lock(&ev->lock);
    for (struct eventhub_sub **p = &ev->subs; *p; p = &(*p)->next)
        if (*p == sub) {
            *p = sub->next;
            break;
        }
    drain(sub, ev->max_queued);
    pthread_mutex_unlock(&ev->lock);
    pthread_cond_destroy(&sub->wake);
    free(sub->ring);
    free(sub);
}

static struct timespec deadline_in(int timeout_ms)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += timeout_ms / 1000;
    t.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (t.tv_nsec >= 1000000000) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000;
    }
    return t;
}

int eventhub_next(struct eventhub *ev, struct eventhub_sub *sub, int timeout_ms, void **ret_buf,
                  size_t *ret_len)
{
    struct timespec until = deadline_in(timeout_ms);
    int r = 0;

    pthread_mutex_lock(&ev->lock);
    while (!sub->n && !sub->dropped && !ev->closed)
        if (pthread_cond_timedwait(&sub->wake, &ev->lock, &until) == ETIMEDOUT)
            break;
    if (sub->dropped) {
        r = -ENOBUFS;
    } else if (sub->n) {
        *ret_buf = sub->ring[sub->head].buf;
        *ret_len = sub->ring[sub->head].len;
        sub->head = (sub->head + 1) % ev->max_queued;
        sub->n--;
        r = 1;
    } else if (ev->closed) {
        r = -EPIPE;
    }
    pthread_mutex_unlock(&ev->lock);
    return r;
}
