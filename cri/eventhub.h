/* GetContainerEvents: every lifecycle change of containers and pods, encoded
 * once and handed in order to every subscriber. A subscriber's queue is
 * bounded: one that falls that far behind is dropped (its stream ends with
 * an error and a log line) rather than let the daemon grow without limit. */
#pragma once

#include <stddef.h>

struct eventhub;
struct eventhub_sub;

/* A hub whose subscribers each hold at most max_queued events. */
struct eventhub *eventhub_new(size_t max_queued);
/* Frees the hub; every subscriber must have unsubscribed. */
void eventhub_free(struct eventhub *ev);

/* Ends every subscription: their waits return -EPIPE from now on. */
void eventhub_close(struct eventhub *ev);

/* Hands one encoded ContainerEventResponse (taken; malloc'd) to every
 * subscriber. */
void eventhub_publish(struct eventhub *ev, void *buf, size_t len);

/* Whether anyone listens: publishers skip building events nobody reads. */
int eventhub_has_subscribers(struct eventhub *ev);

/* A new subscriber, which sees what is published from now on. */
struct eventhub_sub *eventhub_subscribe(struct eventhub *ev);
void eventhub_unsubscribe(struct eventhub *ev, struct eventhub_sub *sub);

/* Waits up to timeout_ms for the subscriber's next event: returns 1 with
 * *ret_buf (free() it) and *ret_len, 0 when the time ran out, -ENOBUFS when
 * the subscriber fell behind and was dropped, -EPIPE once the hub closed. */
int eventhub_next(struct eventhub *ev, struct eventhub_sub *sub, int timeout_ms, void **ret_buf,
                  size_t *ret_len);
