#include "common/keylock.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

struct keylock_entry {
    struct keylock_entry *next;
    char *key;
    unsigned users; /* holder and waiters */
    pthread_mutex_t lock;
};

void keylock_init(struct keylock *kl)
{
    pthread_mutex_init(&kl->lock, NULL);
    kl->entries = NULL;
}

void keylock_done(struct keylock *kl)
{
    pthread_mutex_destroy(&kl->lock);
}

struct keylock_entry *keylock_acquire(struct keylock *kl, const char *key)
{
    struct keylock_entry *e;

    pthread_mutex_lock(&kl->lock);
    for (e = kl->entries; e && strcmp(e->key, key) != 0; e = e->next)
        ;
    if (!e) {
        e = xcalloc(1, sizeof(*e));
        e->key = xstrdup(key);
        pthread_mutex_init(&e->lock, NULL);
        e->next = kl->entries;
        kl->entries = e;
    }
    e->users++;
    pthread_mutex_unlock(&kl->lock);
    pthread_mutex_lock(&e->lock);
    return e;
}

void keylock_release(struct keylock *kl, struct keylock_entry *e)
{
    pthread_mutex_unlock(&e->lock);
    pthread_mutex_lock(&kl->lock);
    if (--e->users == 0) {
        struct keylock_entry **p = &kl->entries;

        while (*p != e)
            p = &(*p)->next;
        *p = e->next;
        pthread_mutex_destroy(&e->lock);
        free(e->key);
        free(e);
    }
    pthread_mutex_unlock(&kl->lock);
}
