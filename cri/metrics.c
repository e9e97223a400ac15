/* ListMetricDescriptors, ListPodSandboxMetrics, StreamPodSandboxMetrics: the
 * cAdvisor metrics the kubelet's /metrics/cadvisor serves when it takes its
 * stats from the runtime. Only what crib really reads is described, and a
 * metric the host does not give is left out rather than sent as 0. The CRI
 * carries whole numbers: "_seconds" counters are whole seconds, as CRI-O
 * sends them. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cri/internal.h"
#include "oci/container.h"
#include "sandbox/cgstats.h"
#include "sandbox/netstats.h"
#include "sandbox/pod.h"

#define NS_PER_S 1000000000ULL
/* Items per message of StreamPodSandboxMetrics. */
#define METRICS_PER_MESSAGE 50

/* cAdvisor's labels: the kubelet's dashboards select on container, pod and
 * namespace. The network metrics add the interface. */
static const char *const container_label_keys[] = {"container", "id",        "image",
                                                   "name",      "namespace", "pod"};
static const char *const network_label_keys[] = {"container", "id",  "image",    "name",
                                                 "namespace", "pod", "interface"};
#define N_CONTAINER_LABELS (sizeof(container_label_keys) / sizeof(*container_label_keys))
#define N_NETWORK_LABELS (sizeof(network_label_keys) / sizeof(*network_label_keys))

enum metric_source {
    M_CPU_USAGE,
    M_CPU_USER,
    M_CPU_SYSTEM,
    M_CPU_PERIODS,
    M_CPU_THROTTLED_PERIODS,
    M_CPU_THROTTLED,
    M_MEM_USAGE,
    M_MEM_WORKING_SET,
    M_MEM_RSS,
    M_MEM_CACHE,
    M_MEM_MAPPED,
    M_MEM_SWAP,
    M_NET_RX_BYTES,
    M_NET_RX_PACKETS,
    M_NET_RX_ERRORS,
    M_NET_RX_DROPPED,
    M_NET_TX_BYTES,
    M_NET_TX_PACKETS,
    M_NET_TX_ERRORS,
    M_NET_TX_DROPPED,
};

struct metric_def {
    const char *name, *help;
    Runtime__V1__MetricType type;
    enum metric_source source;
    uint32_t needs; /* cg_field bits; 0: a network metric */
};

#define COUNTER RUNTIME__V1__METRIC_TYPE__COUNTER
#define GAUGE RUNTIME__V1__METRIC_TYPE__GAUGE

static const struct metric_def defs[] = {
    {"container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", COUNTER,
     M_CPU_USAGE, CG_CPU_USAGE},
    {"container_cpu_user_seconds_total", "Cumulative user cpu time consumed in seconds.", COUNTER,
     M_CPU_USER, CG_CPU_SPLIT},
    {"container_cpu_system_seconds_total", "Cumulative system cpu time consumed in seconds.",
     COUNTER, M_CPU_SYSTEM, CG_CPU_SPLIT},
    {"container_cpu_cfs_periods_total", "Number of elapsed enforcement period intervals.", COUNTER,
     M_CPU_PERIODS, CG_CPU_THROTTLING},
    {"container_cpu_cfs_throttled_periods_total", "Number of throttled period intervals.", COUNTER,
     M_CPU_THROTTLED_PERIODS, CG_CPU_THROTTLING},
    {"container_cpu_cfs_throttled_seconds_total",
     "Total time duration the container has been throttled.", COUNTER, M_CPU_THROTTLED,
     CG_CPU_THROTTLING},
    {"container_memory_usage_bytes",
     "Current memory usage in bytes, including all memory regardless of when it was accessed.",
     GAUGE, M_MEM_USAGE, CG_MEM_USAGE},
    {"container_memory_working_set_bytes", "Current working set in bytes.", GAUGE,
     M_MEM_WORKING_SET, CG_MEM_WORKING_SET},
    {"container_memory_rss", "Size of RSS in bytes.", GAUGE, M_MEM_RSS, CG_MEM_RSS},
    {"container_memory_cache", "Number of bytes of page cache memory.", GAUGE, M_MEM_CACHE,
     CG_MEM_CACHE},
    {"container_memory_mapped_file", "Size of memory mapped files in bytes.", GAUGE, M_MEM_MAPPED,
     CG_MEM_CACHE},
    {"container_memory_swap", "Container swap usage in bytes.", GAUGE, M_MEM_SWAP, CG_SWAP_USAGE},
    {"container_network_receive_bytes_total", "Cumulative count of bytes received.", COUNTER,
     M_NET_RX_BYTES, 0},
    {"container_network_receive_packets_total", "Cumulative count of packets received.", COUNTER,
     M_NET_RX_PACKETS, 0},
    {"container_network_receive_errors_total",
     "Cumulative count of errors encountered while receiving.", COUNTER, M_NET_RX_ERRORS, 0},
    {"container_network_receive_packets_dropped_total",
     "Cumulative count of packets dropped while receiving.", COUNTER, M_NET_RX_DROPPED, 0},
    {"container_network_transmit_bytes_total", "Cumulative count of bytes transmitted.", COUNTER,
     M_NET_TX_BYTES, 0},
    {"container_network_transmit_packets_total", "Cumulative count of packets transmitted.",
     COUNTER, M_NET_TX_PACKETS, 0},
    {"container_network_transmit_errors_total",
     "Cumulative count of errors encountered while transmitting.", COUNTER, M_NET_TX_ERRORS, 0},
    {"container_network_transmit_packets_dropped_total",
     "Cumulative count of packets dropped while transmitting.", COUNTER, M_NET_TX_DROPPED, 0},
};

#define N_DEFS (sizeof(defs) / sizeof(*defs))

int cri_list_metric_descriptors(struct cri_call *call, const ProtobufCMessage *req,
                                ProtobufCMessage **ret_resp, struct crib_err *err)
{
    Runtime__V1__ListMetricDescriptorsResponse *resp =
        CRI_NEW(call, Runtime__V1__ListMetricDescriptorsResponse,
                runtime__v1__list_metric_descriptors_response__init);

    (void)req;
    (void)err;
    resp->descriptors = arena_alloc(&call->arena, N_DEFS * sizeof(*resp->descriptors));
    for (size_t i = 0; i < N_DEFS; i++) {
        Runtime__V1__MetricDescriptor *d =
            CRI_NEW(call, Runtime__V1__MetricDescriptor, runtime__v1__metric_descriptor__init);
        bool net = defs[i].needs == 0;

        d->name = (char *)defs[i].name;
        d->help = (char *)defs[i].help;
        d->label_keys = (char **)(net ? network_label_keys : container_label_keys);
        d->n_label_keys = net ? N_NETWORK_LABELS : N_CONTAINER_LABELS;
        resp->descriptors[resp->n_descriptors++] = d;
    }
    *ret_resp = &resp->base;
    return 0;
}

static uint64_t cgroup_value(const struct cg_sample *s, enum metric_source src)
{
    switch (src) {
    case M_CPU_USAGE: return s->cpu_usage_ns / NS_PER_S;
    case M_CPU_USER: return s->cpu_user_ns / NS_PER_S;
    case M_CPU_SYSTEM: return s->cpu_system_ns / NS_PER_S;
    case M_CPU_PERIODS: return s->cpu_periods;
    case M_CPU_THROTTLED_PERIODS: return s->cpu_throttled_periods;
    case M_CPU_THROTTLED: return s->cpu_throttled_ns / NS_PER_S;
    case M_MEM_USAGE: return s->mem_usage_bytes;
    case M_MEM_WORKING_SET: return s->mem_working_set_bytes;
    case M_MEM_RSS: return s->mem_rss_bytes;
    case M_MEM_CACHE: return s->mem_cache_bytes;
    case M_MEM_MAPPED: return s->mem_mapped_file_bytes;
    case M_MEM_SWAP: return s->swap_usage_bytes;
    default: return 0;
    }
}

static uint64_t net_value(const struct net_iface *i, enum metric_source src)
{
    switch (src) {
    case M_NET_RX_BYTES: return i->rx_bytes;
    case M_NET_RX_PACKETS: return i->rx_packets;
    case M_NET_RX_ERRORS: return i->rx_errors;
    case M_NET_RX_DROPPED: return i->rx_dropped;
    case M_NET_TX_BYTES: return i->tx_bytes;
    case M_NET_TX_PACKETS: return i->tx_packets;
    case M_NET_TX_ERRORS: return i->tx_errors;
    default: return i->tx_dropped;
    }
}

/* A growing list of metrics in the call's arena. */
struct metric_list {
    struct cri_call *call;
    Runtime__V1__Metric **items;
    size_t n, cap;
};

static void add_metric(struct metric_list *l, const struct metric_def *d, int64_t timestamp,
                       char **labels, size_t n_labels, uint64_t value)
{
    Runtime__V1__Metric *m = CRI_NEW(l->call, Runtime__V1__Metric, runtime__v1__metric__init);

    if (l->n == l->cap) {
        Runtime__V1__Metric **grown;

        l->cap = l->cap ? 2 * l->cap : 16;
        grown = arena_alloc(&l->call->arena, l->cap * sizeof(*grown));
        if (l->n)
            memcpy(grown, l->items, l->n * sizeof(*grown));
        l->items = grown;
    }
    m->name = (char *)d->name;
    m->timestamp = timestamp;
    m->metric_type = d->type;
    m->label_values = labels;
    m->n_label_values = n_labels;
    m->value = CRI_NEW(l->call, Runtime__V1__UInt64Value, runtime__v1__uint64_value__init);
    m->value->value = value;
    l->items[l->n++] = m;
}

/* Label values in container_label_keys' order, plus room for an interface. */
static char **labels_of(struct cri_call *call, const char *container, const char *id,
                        const char *image, const struct pod_record *p)
{
    char **v = arena_alloc(&call->arena, N_NETWORK_LABELS * sizeof(*v));

    v[0] = arena_strdup(&call->arena, container);
    v[1] = arena_strdup(&call->arena, id);
    v[2] = arena_strdup(&call->arena, image);
    v[3] = arena_strdup(&call->arena, container);
    v[4] = arena_strdup(&call->arena, p->namespace);
    v[5] = arena_strdup(&call->arena, p->name);
    return v;
}

/* The running containers of a pod, noted while the container view is
 * read-locked; their cgroups are read after, outside it. */
struct pod_walk {
    struct cri_call *call;
    const char **ids, **names, **images;
    size_t n, cap;
};

static void note_running(const struct ctr_record *c, void *arg)
{
    struct pod_walk *w = arg;

    if (c->state != CTR_RUNNING)
        return; /* only a running container has usage to measure */
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 8;
        w->ids = xrealloc(w->ids, w->cap * sizeof(*w->ids));
        w->names = xrealloc(w->names, w->cap * sizeof(*w->names));
        w->images = xrealloc(w->images, w->cap * sizeof(*w->images));
    }
    w->ids[w->n] = arena_strdup(&w->call->arena, c->id);
    w->names[w->n] = arena_strdup(&w->call->arena, c->name);
    w->images[w->n++] = arena_strdup(&w->call->arena, c->image);
}

static Runtime__V1__ContainerMetrics *container_metrics(struct cri_call *call,
                                                        const struct pod_record *p, const char *id,
                                                        const char *name, const char *image)
{
    _cleanup_free_ char *dir = ctr_cgroup_dir(call->rt->containers, p->cgroup_parent, id);
    struct metric_list l = {.call = call};
    Runtime__V1__ContainerMetrics *cm;
    struct cg_sample s;
    char **labels;

    cri_cgroup_sample(call, id, dir, &s);
    labels = labels_of(call, name, id, image, p);
    for (size_t i = 0; i < N_DEFS; i++)
        if (defs[i].needs && (s.has & defs[i].needs) == defs[i].needs)
            add_metric(&l, &defs[i], s.timestamp_ns, labels, N_CONTAINER_LABELS,
                       cgroup_value(&s, defs[i].source));
    cm = CRI_NEW(call, Runtime__V1__ContainerMetrics, runtime__v1__container_metrics__init);
    cm->container_id = (char *)id;
    cm->metrics = l.items;
    cm->n_metrics = l.n;
    return cm;
}

/* The pod's network, labelled as cAdvisor labels a pod's own cgroup (no
 * container), one series per interface. */
static void add_network(struct cri_call *call, const struct pod_record *p, struct metric_list *l)
{
    _cleanup_close_ int fd = pod_open_netns(call->rt->pods, p);
    struct net_sample s;
    struct crib_err err;

    if (fd < 0)
        return;
    if (netstats_read(fd, &s, &err) < 0) {
        log_debug("network metrics of pod %s: %s", p->id, err.msg);
        return;
    }
    for (size_t i = 0; i < s.n_ifaces; i++) {
        char **labels = labels_of(call, "", p->id, "", p);

        labels[N_CONTAINER_LABELS] = arena_strdup(&call->arena, s.ifaces[i].name);
        for (size_t d = 0; d < N_DEFS; d++)
            if (!defs[d].needs)
                add_metric(l, &defs[d], s.timestamp_ns, labels, N_NETWORK_LABELS,
                           net_value(&s.ifaces[i], defs[d].source));
    }
}

static Runtime__V1__PodSandboxMetrics *pod_metrics(struct cri_call *call,
                                                   const struct pod_record *p)
{
    Runtime__V1__PodSandboxMetrics *o =
        CRI_NEW(call, Runtime__V1__PodSandboxMetrics, runtime__v1__pod_sandbox_metrics__init);
    struct pod_walk w = {.call = call};
    struct metric_list net = {.call = call};

    o->pod_sandbox_id = arena_strdup(&call->arena, p->id);
    if (p->state == POD_READY)
        add_network(call, p, &net);
    o->metrics = net.items;
    o->n_metrics = net.n;
    ctr_each(call->rt->containers, p->id, note_running, &w);
    o->container_metrics = arena_alloc(&call->arena, (w.n + 1) * sizeof(*o->container_metrics));
    for (size_t i = 0; i < w.n; i++)
        o->container_metrics[i] = container_metrics(call, p, w.ids[i], w.names[i], w.images[i]);
    o->n_container_metrics = w.n;
    free(w.ids);
    free(w.names);
    free(w.images);
    return o;
}

/* Every pod's metrics, in the call's arena; NULL with err on failure. */
static Runtime__V1__PodSandboxMetrics **all_pod_metrics(struct cri_call *call, size_t *ret_n,
                                                        struct crib_err *err)
{
    struct pod_record **pods = NULL;
    Runtime__V1__PodSandboxMetrics **out;
    size_t n = 0;

    if (pod_list(call->rt->pods, &pods, &n, err) < 0)
        return NULL;
    out = arena_alloc(&call->arena, (n + 1) * sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        out[i] = pod_metrics(call, pods[i]);
        pod_record_free(pods[i]);
    }
    free(pods);
    *ret_n = n;
    return out;
}

int cri_list_pod_sandbox_metrics(struct cri_call *call, const ProtobufCMessage *req,
                                 ProtobufCMessage **ret_resp, struct crib_err *err)
{
    Runtime__V1__ListPodSandboxMetricsResponse *resp;
    size_t n = 0;
    Runtime__V1__PodSandboxMetrics **items = all_pod_metrics(call, &n, err);

    (void)req;
    if (!items)
        return crib_err_ret(err);
    resp = CRI_NEW(call, Runtime__V1__ListPodSandboxMetricsResponse,
                   runtime__v1__list_pod_sandbox_metrics_response__init);
    resp->pod_metrics = items;
    resp->n_pod_metrics = n;
    *ret_resp = &resp->base;
    return 0;
}

int cri_stream_pod_sandbox_metrics(struct cri_call *call, const ProtobufCMessage *req,
                                   ProtobufCMessage **ret_resp, struct crib_err *err)
{
    size_t n = 0;
    Runtime__V1__PodSandboxMetrics **items = all_pod_metrics(call, &n, err);
    int r = items ? 0 : crib_err_ret(err);

    (void)req;
    (void)ret_resp;
    for (size_t i = 0; r >= 0 && i < n; i += METRICS_PER_MESSAGE) {
        Runtime__V1__StreamPodSandboxMetricsResponse msg =
            RUNTIME__V1__STREAM_POD_SANDBOX_METRICS_RESPONSE__INIT;

        msg.pod_sandbox_metrics = items + i;
        msg.n_pod_sandbox_metrics = n - i < METRICS_PER_MESSAGE ? n - i : METRICS_PER_MESSAGE;
        r = cri_call_send(call, &msg.base, err);
    }
    return r;
}
