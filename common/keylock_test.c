#include "common/keylock.h"

#include <pthread.h>
#include <unistd.h>

#include "common/testing.h"

struct shared {
    struct keylock *kl;
    const char *key;
    int inside, max_inside;
    pthread_mutex_t m;
};

static void *worker(void *arg)
{
    struct shared *s = arg;

    for (int i = 0; i < 200; i++) {
        struct keylock_entry *e = keylock_acquire(s->kl, s->key);

        pthread_mutex_lock(&s->m);
        if (++s->inside > s->max_inside)
            s->max_inside = s->inside;
        pthread_mutex_unlock(&s->m);
        pthread_mutex_lock(&s->m);
        s->inside--;
        pthread_mutex_unlock(&s->m);
        keylock_release(s->kl, e);
    }
    return NULL;
}

/* One holder at a time per key, and the table is empty once nobody holds. */
static int test_one_holder_per_key(void)
{
    struct keylock kl;
    struct shared s = {.kl = &kl, .key = "c1", .m = PTHREAD_MUTEX_INITIALIZER};
    pthread_t t[4];

    keylock_init(&kl);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker, &s);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK_INT(s.max_inside, 1);
    CHECK(kl.entries == NULL);
    keylock_done(&kl);
    return 0;
}

/* Different keys do not wait for each other. */
static int test_keys_are_independent(void)
{
    struct keylock kl;
    struct keylock_entry *a, *b;

    keylock_init(&kl);
    a = keylock_acquire(&kl, "a");
    b = keylock_acquire(&kl, "b"); /* would deadlock with one global lock */
    CHECK(a != b);
    keylock_release(&kl, b);
    keylock_release(&kl, a);
    CHECK(kl.entries == NULL);
    keylock_done(&kl);
    return 0;
}

TEST_MAIN(TEST(test_one_holder_per_key), TEST(test_keys_are_independent))
