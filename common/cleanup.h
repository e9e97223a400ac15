/* Scope-bound cleanup (as in crun and systemd): a variable declared with one of
 * these is released on every exit path; TAKE_PTR/TAKE_FD hand it on. */
#pragma once

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
    free(*(void **)p);
}

static inline void closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

static inline void fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}

static inline void closedirp(DIR **d)
{
    if (*d)
        closedir(*d);
}

static inline void unlockp(pthread_mutex_t **m)
{
    if (*m)
        pthread_mutex_unlock(*m);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)
#define _cleanup_unlock_ _cleanup_(unlockp) __attribute__((unused)) /* a guard is never read */

/* Locks m and returns it, for a _cleanup_unlock_ guard. */
static inline pthread_mutex_t *lock_guard(pthread_mutex_t *m)
{
    pthread_mutex_lock(m);
    return m;
}

/* Defines free_fnp(type **) for _cleanup_(free_fnp). */
#define CRIB_DEFINE_CLEANUP(type, free_fn)                                                         \
    static inline void free_fn##p(type **p)                                                        \
    {                                                                                              \
        if (*p)                                                                                    \
            free_fn(*p);                                                                           \
    }

#define TAKE_PTR(p)                                                                                \
    ({                                                                                             \
        __typeof__(p) _taken = (p);                                                                \
        (p) = NULL;                                                                                \
        _taken;                                                                                    \
    })

#define TAKE_FD(fd)                                                                                \
    ({                                                                                             \
        int _taken = (fd);                                                                         \
        (fd) = -1;                                                                                 \
        _taken;                                                                                    \
    })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
