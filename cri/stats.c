/* ContainerStats, ListContainerStats, StreamContainerStats, PodSandboxStats,
 * ListPodSandboxStats, StreamPodSandboxStats: read from the cgroups and the
 * pods' network namespaces when asked (sandbox/cgstats, sandbox/netstats),
 * with usage_nano_cores from the previous call's sample rather than a sleep.
 * A value the host does not give is left unset, never made up. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cri/internal.h"
#include "oci/container.h"
#include "sandbox/cgstats.h"
#include "sandbox/netstats.h"
#include "sandbox/pod.h"

/* Containers and pods whose last CPU sample is kept for the next rate. */
#define STATS_RATE_CAPACITY 8192
/* Items per message of the Stream* variants. */
#define STATS_PER_MESSAGE 100
/* The interface CNI gives a pod; the others are reported beside it. */
#define STATS_DEFAULT_IFACE "eth0"

void cri_stats_start(struct cri_runtime *rt)
{
    rt->cpu_rates = cgstats_cache_new(STATS_RATE_CAPACITY);
}

void cri_stats_stop(struct cri_runtime *rt)
{
    cgstats_cache_free(rt->cpu_rates);
    rt->cpu_rates = NULL;
}

static Runtime__V1__UInt64Value *u64(struct cri_call *call, uint64_t v)
{
    Runtime__V1__UInt64Value *o =
        CRI_NEW(call, Runtime__V1__UInt64Value, runtime__v1__uint64_value__init);

    o->value = v;
    return o;
}

static Runtime__V1__PsiData *psi_data(struct cri_call *call, const struct cg_psi_data *d)
{
    Runtime__V1__PsiData *o = CRI_NEW(call, Runtime__V1__PsiData, runtime__v1__psi_data__init);

    o->total = d->total_ns;
    o->avg10 = d->avg10;
    o->avg60 = d->avg60;
    o->avg300 = d->avg300;
    return o;
}

/* PSI where the sample has it (cgroup v2 with PSI), else unset. */
static Runtime__V1__PsiStats *psi_of(struct cri_call *call, const struct cg_sample *s, uint32_t bit,
                                     const struct cg_psi *p)
{
    Runtime__V1__PsiStats *o;

    if (!(s->has & bit))
        return NULL;
    o = CRI_NEW(call, Runtime__V1__PsiStats, runtime__v1__psi_stats__init);
    if (p->has_full)
        o->full = psi_data(call, &p->full);
    if (p->has_some)
        o->some = psi_data(call, &p->some);
    return o;
}

/* Always there with its timestamp (critest and the kubelet expect one, even
 * for a container not started yet); the values only where read. */
static Runtime__V1__CpuUsage *cpu_of(struct cri_call *call, const char *key,
                                     const struct cg_sample *s)
{
    Runtime__V1__CpuUsage *o = CRI_NEW(call, Runtime__V1__CpuUsage, runtime__v1__cpu_usage__init);
    uint64_t rate;

    o->timestamp = s->timestamp_ns;
    if (s->has & CG_CPU_USAGE) {
        o->usage_core_nano_seconds = u64(call, s->cpu_usage_ns);
        if (cgstats_cache_rate(call->rt->cpu_rates, key, s, &rate))
            o->usage_nano_cores = u64(call, rate);
    }
    o->psi = psi_of(call, s, CG_PSI_CPU, &s->psi_cpu);
    return o;
}

static Runtime__V1__MemoryUsage *memory_of(struct cri_call *call, const struct cg_sample *s)
{
    Runtime__V1__MemoryUsage *o =
        CRI_NEW(call, Runtime__V1__MemoryUsage, runtime__v1__memory_usage__init);

    o->timestamp = s->timestamp_ns;
    if (s->has & CG_MEM_WORKING_SET)
        o->working_set_bytes = u64(call, s->mem_working_set_bytes);
    if (s->has & CG_MEM_AVAILABLE)
        o->available_bytes = u64(call, s->mem_available_bytes);
    if (s->has & CG_MEM_USAGE)
        o->usage_bytes = u64(call, s->mem_usage_bytes);
    if (s->has & CG_MEM_RSS)
        o->rss_bytes = u64(call, s->mem_rss_bytes);
    if (s->has & CG_MEM_FAULTS) {
        o->page_faults = u64(call, s->mem_page_faults);
        o->major_page_faults = u64(call, s->mem_major_page_faults);
    }
    o->psi = psi_of(call, s, CG_PSI_MEMORY, &s->psi_memory);
    return o;
}

static Runtime__V1__SwapUsage *swap_of(struct cri_call *call, const struct cg_sample *s)
{
    Runtime__V1__SwapUsage *o;

    if (!(s->has & CG_SWAP_USAGE))
        return NULL;
    o = CRI_NEW(call, Runtime__V1__SwapUsage, runtime__v1__swap_usage__init);
    o->timestamp = s->timestamp_ns;
    o->swap_usage_bytes = u64(call, s->swap_usage_bytes);
    if (s->has & CG_SWAP_AVAILABLE)
        o->swap_available_bytes = u64(call, s->swap_available_bytes);
    return o;
}

/* The CRI's IoUsage carries PSI only. */
static Runtime__V1__IoUsage *io_of(struct cri_call *call, const struct cg_sample *s)
{
    Runtime__V1__IoUsage *o;

    if (!(s->has & CG_PSI_IO))
        return NULL;
    o = CRI_NEW(call, Runtime__V1__IoUsage, runtime__v1__io_usage__init);
    o->timestamp = s->timestamp_ns;
    o->psi = psi_of(call, s, CG_PSI_IO, &s->psi_io);
    return o;
}

void cri_cgroup_sample(struct cri_call *call, const char *what, const char *dir,
                       struct cg_sample *ret)
{
    struct crib_err err;

    memset(ret, 0, sizeof(*ret));
    if (dir && cgstats_read(pod_cgroup_layout(call->rt->pods), dir, ret, &err) < 0) {
        if (err.code != CRIB_NOT_FOUND)
            log_debug("stats of %s: %s", what, err.msg);
        memset(ret, 0, sizeof(*ret));
    }
    if (!ret->timestamp_ns)
        ret->timestamp_ns = clock_ns(CLOCK_REALTIME);
}

static Runtime__V1__FilesystemUsage *layer_of(struct cri_call *call, const char *id)
{
    Runtime__V1__FilesystemUsage *o =
        CRI_NEW(call, Runtime__V1__FilesystemUsage, runtime__v1__filesystem_usage__init);
    struct layer_usage u;
    struct crib_err err;

    o->fs_id =
        CRI_NEW(call, Runtime__V1__FilesystemIdentifier, runtime__v1__filesystem_identifier__init);
    o->fs_id->mountpoint = (char *)ctr_layers_dir(call->rt->containers);
    if (ctr_layer_usage(call->rt->containers, id, &u, &err) < 0) {
        log_debug("writable layer of %s: %s", id, err.msg);
        o->timestamp = clock_ns(CLOCK_REALTIME);
        return o;
    }
    o->timestamp = u.measured_ns;
    o->used_bytes = u64(call, (uint64_t)u.bytes);
    o->inodes_used = u64(call, (uint64_t)u.inodes);
    return o;
}

static Runtime__V1__ContainerAttributes *container_attributes(struct cri_call *call,
                                                              const struct ctr_record *c)
{
    Runtime__V1__Container *co = cri_container_of(call, c);
    Runtime__V1__ContainerAttributes *a =
        CRI_NEW(call, Runtime__V1__ContainerAttributes, runtime__v1__container_attributes__init);

    a->id = co->id;
    a->metadata = co->metadata;
    a->n_labels = co->n_labels;
    a->labels = (Runtime__V1__ContainerAttributes__LabelsEntry **)co->labels;
    a->n_annotations = co->n_annotations;
    a->annotations = (Runtime__V1__ContainerAttributes__AnnotationsEntry **)co->annotations;
    return a;
}

/* What a container's stats need of its record, taken (in the call's arena)
 * while the container view is read-locked; the measuring happens after. */
struct ctr_pick {
    Runtime__V1__ContainerAttributes *attributes;
    const char *id, *pod_id, *handler;
    bool has_cgroup; /* only a created or running container has one */
};

static struct ctr_pick pick_of(struct cri_call *call, const struct ctr_record *c)
{
    return (struct ctr_pick){
        .attributes = container_attributes(call, c),
        .id = arena_strdup(&call->arena, c->id),
        .pod_id = arena_strdup(&call->arena, c->pod_id),
        .handler = arena_strdup(&call->arena, c->handler),
        .has_cgroup = c->state == CTR_CREATED || c->state == CTR_RUNNING,
    };
}

/* A container in a gVisor sandbox is measured by runsc: the host's cgroups
 * see the sandbox as a whole. Returns false for one with a cgroup of its
 * own, or when runsc could not say (it reads as no usage then). */
static bool runtime_sample(struct cri_call *call, const struct ctr_pick *c, struct cg_sample *ret)
{
    struct shim_stats st;
    struct crib_err err;
    int r;

    memset(ret, 0, sizeof(*ret));
    ret->timestamp_ns = clock_ns(CLOCK_REALTIME);
    ret->monotonic_ns = clock_ns(CLOCK_MONOTONIC);
    r = ctr_runtime_stats(call->rt->containers, c->handler, c->id, &st, &err);
    if (r == 1)
        return false;
    if (r < 0) {
        log_debug("stats of %s: %s", c->id, err.msg);
        return true;
    }
    ret->has = CG_CPU_USAGE | CG_MEM_USAGE | CG_MEM_WORKING_SET | CG_PIDS_CURRENT;
    ret->cpu_usage_ns = st.cpu_usage_ns;
    /* gVisor's usage is what its sentry has mapped for the container: no
     * page cache of the host's to take off. */
    ret->mem_usage_bytes = ret->mem_working_set_bytes = st.mem_usage_bytes;
    ret->pids_current = st.pids;
    return true;
}

/* One container's stats; *ret_sample (if not NULL) gets its cgroup sample. */
static Runtime__V1__ContainerStats *container_stats(struct cri_call *call, const struct ctr_pick *c,
                                                    const char *cgroup_parent,
                                                    struct cg_sample *ret_sample)
{
    _cleanup_free_ char *dir = ctr_cgroup_dir(call->rt->containers, cgroup_parent, c->id);
    Runtime__V1__ContainerStats *o =
        CRI_NEW(call, Runtime__V1__ContainerStats, runtime__v1__container_stats__init);
    struct cg_sample s;

    if (!c->has_cgroup || !runtime_sample(call, c, &s))
        cri_cgroup_sample(call, c->id, c->has_cgroup ? dir : NULL, &s);
    o->attributes = c->attributes;
    o->cpu = cpu_of(call, c->id, &s);
    o->memory = memory_of(call, &s);
    o->writable_layer = layer_of(call, c->id);
    o->swap = swap_of(call, &s);
    o->io = io_of(call, &s);
    if (ret_sample)
        *ret_sample = s;
    return o;
}

/* The cgroup parent of each pod a walk meets, looked up once per call. */
struct parent_cache {
    struct cri_call *call;
    char *pod_id, *parent;
};

static const char *parent_of(struct parent_cache *pc, const char *pod_id)
{
    struct pod_record *p = NULL;
    struct crib_err err;

    if (pc->pod_id && strcmp(pc->pod_id, pod_id) == 0)
        return pc->parent;
    pc->pod_id = arena_strdup(&pc->call->arena, pod_id);
    pc->parent = "";
    if (pod_get(pc->call->rt->pods, pod_id, &p, &err) >= 0)
        pc->parent = arena_strdup(&pc->call->arena, p->cgroup_parent);
    pod_record_free(p);
    return pc->parent;
}

struct ctr_stats_list {
    struct cri_call *call;
    const Runtime__V1__ContainerStatsFilter *filter;
    struct ctr_pick *picks;
    Runtime__V1__ContainerStats **items; /* with picks, once measured */
    struct cg_sample *samples;           /* with items, for a pod's own sums */
    size_t n, cap;
};

static bool ctr_matches(const struct ctr_record *c, const Runtime__V1__ContainerStatsFilter *f)
{
    return !f ||
           cri_container_filter_matches(c, f->id, f->pod_sandbox_id,
                                        (void *const *)f->label_selector, f->n_label_selector);
}

static void add_container(const struct ctr_record *c, void *arg)
{
    struct ctr_stats_list *l = arg;

    if (!ctr_matches(c, l->filter))
        return;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 32;
        l->picks = xrealloc(l->picks, l->cap * sizeof(*l->picks));
    }
    l->picks[l->n++] = pick_of(l->call, c);
}

/* The stats of the containers f selects (of pod_id when not NULL), read
 * once the view's lock is let go: cgroup files, layer walks and pod records
 * are no reason to hold up the lifecycle's commits. Free the list's arrays
 * with ctr_stats_list_done (their contents are the call's). */
static void collect_containers(struct cri_call *call, const char *pod_id,
                               const Runtime__V1__ContainerStatsFilter *f,
                               struct ctr_stats_list *ret)
{
    struct parent_cache parents = {.call = call};

    *ret = (struct ctr_stats_list){.call = call, .filter = f};
    ctr_each(call->rt->containers, pod_id, add_container, ret);
    ret->items = xcalloc(ret->n + 1, sizeof(*ret->items));
    ret->samples = xcalloc(ret->n + 1, sizeof(*ret->samples));
    for (size_t i = 0; i < ret->n; i++)
        ret->items[i] = container_stats(
            call, &ret->picks[i], parent_of(&parents, ret->picks[i].pod_id), &ret->samples[i]);
}

static void ctr_stats_list_done(struct ctr_stats_list *l)
{
    free(l->picks);
    free(l->items);
    free(l->samples);
}

/* Items copied into the call's arena, so the list can be freed. */
static Runtime__V1__ContainerStats **call_owned(struct cri_call *call,
                                                const struct ctr_stats_list *l)
{
    Runtime__V1__ContainerStats **out = arena_alloc(&call->arena, (l->n + 1) * sizeof(*out));

    if (l->n)
        memcpy(out, l->items, l->n * sizeof(*out));
    return out;
}

int cri_container_stats(struct cri_call *call, const ProtobufCMessage *req,
                        ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__ContainerStatsRequest *in = (const Runtime__V1__ContainerStatsRequest *)req;
    Runtime__V1__ContainerStatsResponse *resp;
    struct parent_cache parents = {.call = call};
    struct ctr_pick pick;
    struct ctr_record *c = NULL;
    _cleanup_free_ char *id = NULL;
    int r = ctr_resolve_id(call->rt->containers, in->container_id, &id, err);

    if (r >= 0)
        r = ctr_get(call->rt->containers, id, &c, err);
    if (r < 0)
        return r;
    resp = CRI_NEW(call, Runtime__V1__ContainerStatsResponse,
                   runtime__v1__container_stats_response__init);
    pick = pick_of(call, c);
    resp->stats = container_stats(call, &pick, parent_of(&parents, c->pod_id), NULL);
    ctr_record_free(c);
    *ret_resp = &resp->base;
    return 0;
}

int cri_list_container_stats(struct cri_call *call, const ProtobufCMessage *req,
                             ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__ListContainerStatsRequest *in =
        (const Runtime__V1__ListContainerStatsRequest *)req;
    Runtime__V1__ListContainerStatsResponse *resp =
        CRI_NEW(call, Runtime__V1__ListContainerStatsResponse,
                runtime__v1__list_container_stats_response__init);
    struct ctr_stats_list l;

    (void)err;
    collect_containers(call, NULL, in->filter, &l);
    resp->stats = call_owned(call, &l);
    resp->n_stats = l.n;
    ctr_stats_list_done(&l);
    *ret_resp = &resp->base;
    return 0;
}

int cri_stream_container_stats(struct cri_call *call, const ProtobufCMessage *req,
                               ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__StreamContainerStatsRequest *in =
        (const Runtime__V1__StreamContainerStatsRequest *)req;
    struct ctr_stats_list l;
    int r = 0;

    (void)ret_resp;
    collect_containers(call, NULL, in->filter, &l);
    for (size_t i = 0; r >= 0 && i < l.n; i += STATS_PER_MESSAGE) {
        Runtime__V1__StreamContainerStatsResponse msg =
            RUNTIME__V1__STREAM_CONTAINER_STATS_RESPONSE__INIT;

        msg.container_stats = l.items + i;
        msg.n_container_stats = l.n - i < STATS_PER_MESSAGE ? l.n - i : STATS_PER_MESSAGE;
        r = cri_call_send(call, &msg.base, err);
    }
    ctr_stats_list_done(&l);
    return r;
}

/* A pod without a cgroup of its own is the sum of its containers. */
static void sum_samples(const struct cg_sample *parts, size_t n, struct cg_sample *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->timestamp_ns = clock_ns(CLOCK_REALTIME);
    ret->has = n ? CG_CPU_USAGE | CG_MEM_USAGE | CG_MEM_WORKING_SET | CG_MEM_RSS | CG_MEM_FAULTS |
                       CG_PIDS_CURRENT
                 : 0;
    for (size_t i = 0; i < n; i++) {
        const struct cg_sample *p = &parts[i];

        ret->has &= p->has; /* a sum of what some lack would be made up */
        ret->monotonic_ns =
            p->monotonic_ns > ret->monotonic_ns ? p->monotonic_ns : ret->monotonic_ns;
        ret->cpu_usage_ns += p->cpu_usage_ns;
        ret->mem_usage_bytes += p->mem_usage_bytes;
        ret->mem_working_set_bytes += p->mem_working_set_bytes;
        ret->mem_rss_bytes += p->mem_rss_bytes;
        ret->mem_page_faults += p->mem_page_faults;
        ret->mem_major_page_faults += p->mem_major_page_faults;
        ret->pids_current += p->pids_current;
    }
}

static Runtime__V1__NetworkInterfaceUsage *iface_of(struct cri_call *call,
                                                    const struct net_iface *i)
{
    Runtime__V1__NetworkInterfaceUsage *o = CRI_NEW(call, Runtime__V1__NetworkInterfaceUsage,
                                                    runtime__v1__network_interface_usage__init);

    o->name = arena_strdup(&call->arena, i->name);
    o->rx_bytes = u64(call, i->rx_bytes);
    o->rx_errors = u64(call, i->rx_errors);
    o->tx_bytes = u64(call, i->tx_bytes);
    o->tx_errors = u64(call, i->tx_errors);
    return o;
}

/* The pod's interfaces, read in its network namespace; unset for pods on
 * the node's network (their traffic is the node's). */
static Runtime__V1__NetworkUsage *network_of(struct cri_call *call, const struct pod_record *p)
{
    _cleanup_close_ int fd = pod_open_netns(call->rt->pods, p);
    Runtime__V1__NetworkUsage *o;
    struct net_sample s;
    struct crib_err err;

    if (fd < 0)
        return NULL;
    if (netstats_read(fd, &s, &err) < 0) {
        log_debug("network stats of pod %s: %s", p->id, err.msg);
        return NULL;
    }
    o = CRI_NEW(call, Runtime__V1__NetworkUsage, runtime__v1__network_usage__init);
    o->timestamp = s.timestamp_ns;
    o->interfaces = arena_alloc(&call->arena, (s.n_ifaces + 1) * sizeof(*o->interfaces));
    for (size_t i = 0; i < s.n_ifaces; i++) {
        if (strcmp(s.ifaces[i].name, STATS_DEFAULT_IFACE) == 0)
            o->default_interface = iface_of(call, &s.ifaces[i]);
        else
            o->interfaces[o->n_interfaces++] = iface_of(call, &s.ifaces[i]);
    }
    return o;
}

static Runtime__V1__PodSandboxAttributes *pod_attributes(struct cri_call *call,
                                                         const struct pod_record *p)
{
    Runtime__V1__PodSandbox *sb = cri_sandbox_of(call, p);
    Runtime__V1__PodSandboxAttributes *a =
        CRI_NEW(call, Runtime__V1__PodSandboxAttributes, runtime__v1__pod_sandbox_attributes__init);

    a->id = sb->id;
    a->metadata = sb->metadata;
    a->n_labels = sb->n_labels;
    a->labels = (Runtime__V1__PodSandboxAttributes__LabelsEntry **)sb->labels;
    a->n_annotations = sb->n_annotations;
    a->annotations = (Runtime__V1__PodSandboxAttributes__AnnotationsEntry **)sb->annotations;
    return a;
}

static Runtime__V1__PodSandboxStats *pod_stats(struct cri_call *call, const struct pod_record *p)
{
    Runtime__V1__PodSandboxStats *o =
        CRI_NEW(call, Runtime__V1__PodSandboxStats, runtime__v1__pod_sandbox_stats__init);
    Runtime__V1__LinuxPodSandboxStats *l = CRI_NEW(call, Runtime__V1__LinuxPodSandboxStats,
                                                   runtime__v1__linux_pod_sandbox_stats__init);
    _cleanup_free_ char *dir = pod_cgroup_dir(call->rt->pods, p);
    struct ctr_stats_list ctrs;
    struct cg_sample s;

    collect_containers(call, p->id, NULL, &ctrs);
    if (dir)
        cri_cgroup_sample(call, p->id, dir, &s);
    else
        sum_samples(ctrs.samples, ctrs.n, &s);
    o->attributes = pod_attributes(call, p);
    l->cpu = cpu_of(call, p->id, &s);
    l->memory = memory_of(call, &s);
    l->network = network_of(call, p);
    if (s.has & CG_PIDS_CURRENT) {
        l->process = CRI_NEW(call, Runtime__V1__ProcessUsage, runtime__v1__process_usage__init);
        l->process->timestamp = s.timestamp_ns;
        l->process->process_count = u64(call, s.pids_current);
    }
    l->io = io_of(call, &s);
    l->containers = call_owned(call, &ctrs);
    l->n_containers = ctrs.n;
    ctr_stats_list_done(&ctrs);
    o->linux = l;
    return o;
}

int cri_pod_sandbox_stats(struct cri_call *call, const ProtobufCMessage *req,
                          ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__PodSandboxStatsRequest *in =
        (const Runtime__V1__PodSandboxStatsRequest *)req;
    Runtime__V1__PodSandboxStatsResponse *resp;
    struct pod_record *p = NULL;
    int r = pod_get(call->rt->pods, in->pod_sandbox_id, &p, err);

    if (r < 0)
        return r;
    resp = CRI_NEW(call, Runtime__V1__PodSandboxStatsResponse,
                   runtime__v1__pod_sandbox_stats_response__init);
    resp->stats = pod_stats(call, p);
    pod_record_free(p);
    *ret_resp = &resp->base;
    return 0;
}

static bool pod_matches(const struct pod_record *p, const Runtime__V1__PodSandboxStatsFilter *f)
{
    if (!f)
        return true;
    if (f->id && *f->id && strncmp(p->id, f->id, strlen(f->id)) != 0)
        return false;
    return cri_labels_match((const struct cri_kv *)p->labels, p->n_labels,
                            (void *const *)f->label_selector, f->n_label_selector);
}

/* The stats of the pods f selects, in the call's arena. */
static Runtime__V1__PodSandboxStats **select_pod_stats(struct cri_call *call,
                                                       const Runtime__V1__PodSandboxStatsFilter *f,
                                                       size_t *ret_n, struct crib_err *err)
{
    struct pod_record **pods = NULL;
    Runtime__V1__PodSandboxStats **out;
    size_t n = 0;
    int r = pod_list(call->rt->pods, &pods, &n, err);

    if (r < 0)
        return NULL;
    out = arena_alloc(&call->arena, (n + 1) * sizeof(*out));
    *ret_n = 0;
    for (size_t i = 0; i < n; i++) {
        if (pod_matches(pods[i], f))
            out[(*ret_n)++] = pod_stats(call, pods[i]);
        pod_record_free(pods[i]);
    }
    free(pods);
    return out;
}

int cri_list_pod_sandbox_stats(struct cri_call *call, const ProtobufCMessage *req,
                               ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__ListPodSandboxStatsRequest *in =
        (const Runtime__V1__ListPodSandboxStatsRequest *)req;
    Runtime__V1__ListPodSandboxStatsResponse *resp;
    size_t n = 0;
    Runtime__V1__PodSandboxStats **items = select_pod_stats(call, in->filter, &n, err);

    if (!items)
        return crib_err_ret(err);
    resp = CRI_NEW(call, Runtime__V1__ListPodSandboxStatsResponse,
                   runtime__v1__list_pod_sandbox_stats_response__init);
    resp->stats = items;
    resp->n_stats = n;
    *ret_resp = &resp->base;
    return 0;
}

int cri_stream_pod_sandbox_stats(struct cri_call *call, const ProtobufCMessage *req,
                                 ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__StreamPodSandboxStatsRequest *in =
        (const Runtime__V1__StreamPodSandboxStatsRequest *)req;
    size_t n = 0;
    Runtime__V1__PodSandboxStats **items = select_pod_stats(call, in->filter, &n, err);
    int r = items ? 0 : crib_err_ret(err);

    (void)ret_resp;
    for (size_t i = 0; r >= 0 && i < n; i += STATS_PER_MESSAGE) {
        Runtime__V1__StreamPodSandboxStatsResponse msg =
            RUNTIME__V1__STREAM_POD_SANDBOX_STATS_RESPONSE__INIT;

        msg.pod_sandbox_stats = items + i;
        msg.n_pod_sandbox_stats = n - i < STATS_PER_MESSAGE ? n - i : STATS_PER_MESSAGE;
        r = cri_call_send(call, &msg.base, err);
    }
    return r;
}
