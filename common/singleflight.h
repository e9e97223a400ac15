/* Single flight: concurrent calls for the same key run the work once; the
 * others wait and share its result. (The same image pulled twice at once;
 * a kubelet retrying RunPodSandbox while the first attempt still runs.) */
#pragma once

#include <pthread.h>
#include <stdbool.h>

#include "common/err.h"

struct singleflight_call;

struct singleflight {
    pthread_mutex_t lock; /* held only to look the table up */
    struct singleflight_call *calls;
};

void singleflight_init(struct singleflight *sf);
void singleflight_done(struct singleflight *sf);

/* The work: returns 0 and a new string in *ret_value (free() it), or a
 * negative errno with err filled. */
typedef int (*singleflight_fn)(void *ctx, char **ret_value, struct crib_err *err);

/* Runs fn for key unless a call for key is running; then waits for it and
 * returns its result (a copy of its value, or its error). A waiter whose
 * leader failed in a way that says nothing about the waiter (retry returns
 * true, e.g. the leader's own client cancelled) runs again itself. */
int singleflight_do(struct singleflight *sf, const char *key, singleflight_fn fn, void *ctx,
                    bool (*retry)(const struct crib_err *err), char **ret_value,
                    struct crib_err *err);
