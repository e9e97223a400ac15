/* GetContainerEvents. The lifecycles' observers build each event as it
 * happens (the pod's status and its containers' statuses at that moment,
 * as the kubelet's Evented PLEG reads them) and the hub hands it to every
 * stream. Pods have no pause container, so a pod's events name the pod. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cri/eventhub.h"
#include "cri/internal.h"
#include "oci/container.h"
#include "sandbox/pod.h"

/* Events a stream may fall behind by before it is dropped. */
#define EVENTS_QUEUE_MAX 4096
/* How often a stream with nothing to send looks whether its client left. */
#define EVENTS_POLL_MS 1000

struct status_list {
    struct cri_call *call;
    Runtime__V1__ContainerStatus **items;
    size_t n, cap;
};

static void add_status(const struct ctr_record *c, void *arg)
{
    struct status_list *l = arg;

    if (l->n == l->cap) {
        Runtime__V1__ContainerStatus **grown;

        l->cap = l->cap ? 2 * l->cap : 8;
        grown = arena_alloc(&l->call->arena, l->cap * sizeof(*grown));
        if (l->n)
            memcpy(grown, l->items, l->n * sizeof(*grown));
        l->items = grown;
    }
    l->items[l->n++] = cri_container_status_of(l->call, c);
}

static void publish(struct cri_runtime *rt, const char *id, const char *pod_id,
                    Runtime__V1__ContainerEventType type)
{
    /* The status builders need only an arena and the runtime. */
    struct cri_call call = {.rt = rt};
    struct status_list statuses = {.call = &call};
    Runtime__V1__ContainerEventResponse msg = RUNTIME__V1__CONTAINER_EVENT_RESPONSE__INIT;
    struct pod_record *pod = NULL;
    struct crib_err err;
    size_t len;
    void *buf;

    if (!eventhub_has_subscribers(rt->events))
        return;
    arena_init(&call.arena);
    msg.container_id = (char *)id;
    msg.container_event_type = type;
    msg.created_at = clock_ns(CLOCK_REALTIME);
    if (pod_get(rt->pods, pod_id, &pod, &err) >= 0)
        msg.pod_sandbox_status = cri_pod_status_of(&call, pod);
    ctr_each(rt->containers, pod_id, add_status, &statuses);
    msg.containers_statuses = statuses.items;
    msg.n_containers_statuses = statuses.n;
    len = protobuf_c_message_get_packed_size(&msg.base);
    buf = xmalloc(len ? len : 1);
    protobuf_c_message_pack(&msg.base, buf);
    eventhub_publish(rt->events, buf, len);
    pod_record_free(pod);
    arena_done(&call.arena);
}

/* The CRI numbers its event types as the lifecycles number their changes. */
static void on_container(void *arg, const char *id, const char *pod_id, enum ctr_change change)
{
    publish(arg, id, pod_id, (Runtime__V1__ContainerEventType)change);
}

static void on_pod(void *arg, const char *id, enum pod_change change)
{
    publish(arg, id, id, (Runtime__V1__ContainerEventType)change);
}

void cri_events_start(struct cri_runtime *rt)
{
    rt->events = eventhub_new(EVENTS_QUEUE_MAX);
    if (rt->containers)
        ctr_observe(rt->containers, on_container, rt);
    if (rt->pods)
        pod_observe(rt->pods, on_pod, rt);
}

void cri_events_end_streams(struct cri_runtime *rt)
{
    if (rt->events)
        eventhub_close(rt->events);
}

void cri_events_stop(struct cri_runtime *rt)
{
    if (rt->containers)
        ctr_observe(rt->containers, NULL, NULL);
    if (rt->pods)
        pod_observe(rt->pods, NULL, NULL);
    eventhub_free(rt->events);
    rt->events = NULL;
}

int cri_get_container_events(struct cri_call *call, const ProtobufCMessage *req,
                             ProtobufCMessage **ret_resp, struct crib_err *err)
{
    struct eventhub *hub = call->rt->events;
    struct eventhub_sub *sub = eventhub_subscribe(hub);
    int r = 0;

    (void)req;
    (void)ret_resp;
    while (r >= 0) {
        void *buf = NULL;
        size_t len = 0;
        int got = eventhub_next(hub, sub, EVENTS_POLL_MS, &buf, &len);

        if (got == 1) {
            r = cri_call_send_raw(call, buf, len, err);
            free(buf);
        } else if (got == -ENOBUFS) {
            log_warn("call %llu: an event stream fell %d events behind: dropping it",
                     (unsigned long long)call->id, EVENTS_QUEUE_MAX);
            r = crib_fail(err, CRIB_LIMIT, 0,
                          "the stream fell %d events behind and was dropped; subscribe again",
                          EVENTS_QUEUE_MAX);
        } else if (got == -EPIPE) {
            break; /* cribd is stopping: the stream ends cleanly */
        } else if (cri_call_cancelled(call)) {
            r = crib_fail(err, CRIB_UNAVAILABLE, 0, "the client went away");
        }
    }
    eventhub_unsubscribe(hub, sub);
    return r;
}
