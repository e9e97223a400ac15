#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/singleflight.h"
#include "common/testing.h"
#include "common/xalloc.h"

static atomic_int runs;
static struct singleflight sf;

static int slow_work(void *ctx, char **ret_value, struct crib_err *err)
{
    (void)err;
    atomic_fetch_add(&runs, 1);
    usleep(100000);
    *ret_value = xstrdup(ctx);
    return 0;
}

static int failing_work(void *ctx, char **ret_value, struct crib_err *err)
{
    (void)ctx;
    (void)ret_value;
    atomic_fetch_add(&runs, 1);
    usleep(100000);
    return crib_fail(err, CRIB_UNAVAILABLE, ECANCELED, "leader cancelled");
}

struct caller {
    pthread_t t;
    singleflight_fn fn;
    int result;
    char *value;
    struct crib_err err;
};

static bool cancelled(const struct crib_err *err)
{
    return err->errnum == ECANCELED;
}

static void *call(void *p)
{
    struct caller *c = p;

    c->result = singleflight_do(&sf, "key", c->fn, "v", NULL, &c->value, &c->err);
    return NULL;
}

static int test_concurrent_calls_run_once_and_share_the_value(void)
{
    struct caller c[5] = {0};

    atomic_store(&runs, 0);
    for (int i = 0; i < 5; i++) {
        c[i].fn = slow_work;
        pthread_create(&c[i].t, NULL, call, &c[i]);
    }
    for (int i = 0; i < 5; i++) {
        pthread_join(c[i].t, NULL);
        CHECK_INT(c[i].result, 0);
        CHECK_STR(c[i].value, "v");
        free(c[i].value);
    }
    CHECK_INT(atomic_load(&runs), 1);
    return 0;
}

static int test_errors_are_shared_unless_retry_says_so(void)
{
    struct caller c[3] = {0};
    char *value = NULL;
    struct crib_err err;

    atomic_store(&runs, 0);
    for (int i = 0; i < 3; i++) {
        c[i].fn = failing_work;
        pthread_create(&c[i].t, NULL, call, &c[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(c[i].t, NULL);
        CHECK(c[i].result < 0);
        CHECK_CONTAINS(c[i].err.msg, "leader cancelled");
    }
    CHECK_INT(atomic_load(&runs), 1);
    /* A later call is a new flight. */
    CHECK_INT(singleflight_do(&sf, "key", slow_work, "w", cancelled, &value, &err), 0);
    CHECK_STR(value, "w");
    free(value);
    return 0;
}

int main(void)
{
    static const struct test_case cases[] = {
        TEST(test_concurrent_calls_run_once_and_share_the_value),
        TEST(test_errors_are_shared_unless_retry_says_so),
    };
    int r;

    singleflight_init(&sf);
    r = test_run(cases, ARRAY_SIZE(cases));
    singleflight_done(&sf);
    return r;
}
