/* Locks per object (a container, a pod), made on first use and freed when
 * nobody holds or waits for them, so operations on one object are ordered
 * while others go on (design.md: locks are per object, not global). */
#pragma once

#include <pthread.h>

struct keylock_entry;

struct keylock {
    pthread_mutex_t lock; /* held only to look the table up */
    struct keylock_entry *entries;
};

void keylock_init(struct keylock *kl);
void keylock_done(struct keylock *kl);

/* Blocks until key's lock is held; returns the handle to release. */
struct keylock_entry *keylock_acquire(struct keylock *kl, const char *key);
void keylock_release(struct keylock *kl, struct keylock_entry *e);
