#include "common/workq.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"

/* Enough for handlers and the libraries they call; most of it is never touched. */
#define WORKQ_STACK_BYTES (1u << 20)

struct job {
    void (*fn)(void *arg);
    void *arg;
};

struct workq {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    char name[16];
    unsigned max_threads, n_threads, n_idle;
    pthread_t *threads;
    struct job *ring;
    unsigned cap, head, len;
    bool stopping;
};

static void *worker_main(void *p)
{
    struct workq *q = p;

    pthread_mutex_lock(&q->lock);
    for (;;) {
        struct job job;

        while (q->len == 0 && !q->stopping) {
            q->n_idle++;
            pthread_cond_wait(&q->wake, &q->lock);
            q->n_idle--;
        }
        if (q->len == 0)
            break;
        job = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
        pthread_mutex_unlock(&q->lock);
        job.fn(job.arg);
        pthread_mutex_lock(&q->lock);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

struct workq *workq_new(const char *name, unsigned max_threads, unsigned max_queued)
{
    struct workq *q = xcalloc(1, sizeof(*q));

    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->wake, NULL);
    snprintf(q->name, sizeof(q->name), "%s", name);
    q->max_threads = max_threads ? max_threads : 1;
    q->threads = xcalloc(q->max_threads, sizeof(*q->threads));
    q->cap = max_queued ? max_queued : 1;
    q->ring = xcalloc(q->cap, sizeof(*q->ring));
    return q;
}

/* Called with the lock held: a new thread when every thread is busy. */
static void maybe_grow(struct workq *q)
{
    pthread_attr_t attr;
    int r;

    if (q->n_idle >= q->len || q->n_threads >= q->max_threads)
        return;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKQ_STACK_BYTES);
    r = pthread_create(&q->threads[q->n_threads], &attr, worker_main, q);
    pthread_attr_destroy(&attr);
    if (r != 0) {
        /* The jobs still run on the threads there are. */
        log_warn("workq %s: cannot start thread %u: %s, ignoring", q->name, q->n_threads + 1,
                 strerror(r));
        return;
    }
    pthread_setname_np(q->threads[q->n_threads], q->name);
    q->n_threads++;
}

int workq_push(struct workq *q, void (*fn)(void *arg), void *arg)
{
    int r = 0;

    pthread_mutex_lock(&q->lock);
    if (q->stopping) {
        r = -ESHUTDOWN;
    } else if (q->len == q->cap) {
        r = -EAGAIN;
    } else {
        q->ring[(q->head + q->len) % q->cap] = (struct job){fn, arg};
        q->len++;
        maybe_grow(q);
        pthread_cond_signal(&q->wake);
    }
    pthread_mutex_unlock(&q->lock);
    return r;
}

void workq_free(struct workq *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_broadcast(&q->wake);
    pthread_mutex_unlock(&q->lock);
    for (unsigned i = 0; i < q->n_threads; i++)
        pthread_join(q->threads[i], NULL);
    pthread_cond_destroy(&q->wake);
    pthread_mutex_destroy(&q->lock);
    free(q->threads);
    free(q->ring);
    free(q);
}
