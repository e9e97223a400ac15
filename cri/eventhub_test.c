#include "cri/eventhub.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "common/testing.h"

static void publish_text(struct eventhub *ev, const char *text)
{
    eventhub_publish(ev, strdup(text), strlen(text));
}

static int next_is(struct eventhub *ev, struct eventhub_sub *s, const char *want)
{
    void *buf = NULL;
    size_t len = 0;
    int r = eventhub_next(ev, s, 1000, &buf, &len);
    int ok = r == 1 && len == strlen(want) && memcmp(buf, want, len) == 0;

    free(buf);
    return ok;
}

static int test_every_subscriber_gets_every_event_in_order(void)
{
    struct eventhub *ev = eventhub_new(8);
    struct eventhub_sub *a, *b;

    CHECK(!eventhub_has_subscribers(ev));
    publish_text(ev, "before"); /* nobody listens: dropped */
    a = eventhub_subscribe(ev);
    b = eventhub_subscribe(ev);
    CHECK(eventhub_has_subscribers(ev));
    publish_text(ev, "one");
    publish_text(ev, "two");
    CHECK(next_is(ev, a, "one"));
    CHECK(next_is(ev, a, "two"));
    CHECK(next_is(ev, b, "one"));
    CHECK(next_is(ev, b, "two"));
    eventhub_unsubscribe(ev, a);
    eventhub_unsubscribe(ev, b);
    eventhub_free(ev);
    return 0;
}

static int test_wait_times_out_with_nothing(void)
{
    struct eventhub *ev = eventhub_new(8);
    struct eventhub_sub *s = eventhub_subscribe(ev);
    void *buf = NULL;
    size_t len;

    CHECK_INT(eventhub_next(ev, s, 20, &buf, &len), 0);
    CHECK(buf == NULL);
    eventhub_unsubscribe(ev, s);
    eventhub_free(ev);
    return 0;
}

/* A reader that falls max_queued behind is dropped; the others go on. */
static int test_a_slow_subscriber_is_dropped_and_bounded(void)
{
    struct eventhub *ev = eventhub_new(4);
    struct eventhub_sub *slow = eventhub_subscribe(ev), *fast = eventhub_subscribe(ev);
    void *buf;
    size_t len;

    for (int i = 0; i < 10; i++) {
        char text[16];

        snprintf(text, sizeof(text), "e%d", i);
        publish_text(ev, text);
        CHECK(next_is(ev, fast, text));
    }
    CHECK_INT(eventhub_next(ev, slow, 10, &buf, &len), -ENOBUFS);
    CHECK_INT(eventhub_next(ev, slow, 10, &buf, &len), -ENOBUFS);
    eventhub_unsubscribe(ev, slow);
    eventhub_unsubscribe(ev, fast);
    eventhub_free(ev);
    return 0;
}

struct waiter {
    struct eventhub *ev;
    struct eventhub_sub *sub;
    int result;
};

static void *wait_long(void *arg)
{
    struct waiter *w = arg;
    void *buf;
    size_t len;

    w->result = eventhub_next(w->ev, w->sub, 60000, &buf, &len);
    return NULL;
}

/* Closing wakes a waiting stream at once, so cribd's stop never waits on it. */
static int test_close_wakes_waiters(void)
{
    struct eventhub *ev = eventhub_new(4);
    struct waiter w = {ev, eventhub_subscribe(ev), 99};
    pthread_t t;

    pthread_create(&t, NULL, wait_long, &w);
    eventhub_close(ev);
    pthread_join(t, NULL);
    CHECK_INT(w.result, -EPIPE);
    CHECK(!eventhub_has_subscribers(ev));
    eventhub_unsubscribe(ev, w.sub);
    eventhub_free(ev);
    return 0;
}

TEST_MAIN(TEST(test_every_subscriber_gets_every_event_in_order),
          TEST(test_wait_times_out_with_nothing),
          TEST(test_a_slow_subscriber_is_dropped_and_bounded), TEST(test_close_wakes_waiters))
