#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "common/testing.h"
#include "common/workq.h"

static atomic_int done, running, peak;

static void job(void *arg)
{
    int now = atomic_fetch_add(&running, 1) + 1;
    int old = atomic_load(&peak);

    while (now > old && !atomic_compare_exchange_weak(&peak, &old, now))
        ;
    usleep((useconds_t)(uintptr_t)arg);
    atomic_fetch_sub(&running, 1);
    atomic_fetch_add(&done, 1);
}

static int test_runs_every_job_with_bounded_threads(void)
{
    struct workq *q = workq_new("t", 3, 100);

    atomic_store(&done, 0);
    atomic_store(&peak, 0);
    for (int i = 0; i < 50; i++)
        CHECK_INT(workq_push(q, job, (void *)(uintptr_t)2000), 0);
    workq_free(q);
    CHECK_INT(atomic_load(&done), 50);
    CHECK(atomic_load(&peak) <= 3);
    CHECK(atomic_load(&peak) >= 2);
    return 0;
}

static int test_full_queue_refuses(void)
{
    struct workq *q = workq_new("t", 1, 2);
    int refused = 0;

    atomic_store(&done, 0);
    for (int i = 0; i < 10; i++)
        if (workq_push(q, job, (void *)(uintptr_t)50000) == -EAGAIN)
            refused++;
    CHECK(refused >= 7);
    workq_free(q);
    CHECK_INT(atomic_load(&done), 10 - refused);
    return 0;
}

TEST_MAIN(TEST(test_runs_every_job_with_bounded_threads), TEST(test_full_queue_refuses))
