/* cribd's own metrics in Prometheus text format: the RPCs' counters and
 * latencies, image pulls, pods and containers by state, and the shims. */
#include <stdio.h>
#include <stdlib.h>

#include "common/xalloc.h"
#include "cri/internal.h"
#include "cri/rpcstats.h"
#include "imagestore/imagestore.h"
#include "oci/container.h"
#include "sandbox/pod.h"

static const char *const ctr_state_names[] = {"created", "running", "exited", "unknown"};

void cri_rpcstats_start(struct cri_runtime *rt)
{
    const char **names = xcalloc(cri_n_methods, sizeof(*names));

    for (size_t i = 0; i < cri_n_methods; i++)
        names[i] = cri_methods[i].name;
    rt->rpc_names = names;
    rt->rpc_stats = rpcstats_new(names, cri_n_methods);
}

void cri_rpcstats_stop(struct cri_runtime *rt)
{
    rpcstats_free(rt->rpc_stats);
    free(rt->rpc_names);
    rt->rpc_stats = NULL;
    rt->rpc_names = NULL;
}

static void count_container(const struct ctr_record *c, void *arg)
{
    unsigned *by_state = arg;

    if ((unsigned)c->state < 4)
        by_state[c->state]++;
}

static void write_objects(struct cri_runtime *rt, FILE *out)
{
    unsigned ctrs[4] = {0}, ready = 0, notready = 0;
    struct pod_record **pods = NULL;
    struct crib_err err;
    size_t n = 0;

    if (rt->pods && pod_list(rt->pods, &pods, &n, &err) >= 0) {
        for (size_t i = 0; i < n; i++) {
            *(pods[i]->state == POD_READY ? &ready : &notready) += 1;
            pod_record_free(pods[i]);
        }
        free(pods);
        fprintf(out,
                "# HELP crib_pods Pod sandboxes by state.\n# TYPE crib_pods gauge\n"
                "crib_pods{state=\"ready\"} %u\ncrib_pods{state=\"notready\"} %u\n",
                ready, notready);
    }
    if (!rt->containers)
        return;
    ctr_each(rt->containers, NULL, count_container, ctrs);
    fputs("# HELP crib_containers Containers by state.\n# TYPE crib_containers gauge\n", out);
    for (size_t s = 0; s < 4; s++)
        fprintf(out, "crib_containers{state=\"%s\"} %u\n", ctr_state_names[s], ctrs[s]);
    /* A created or running container has its conmon; an exited one's is gone. */
    fprintf(out,
            "# HELP crib_shims Container shims (conmon) running.\n# TYPE crib_shims gauge\n"
            "crib_shims %u\n",
            ctrs[CTR_CREATED] + ctrs[CTR_RUNNING]);
}

static void write_pulls(struct cri_runtime *rt, FILE *out)
{
    const struct imagestore_counters *c;

    if (!rt->images)
        return;
    c = imagestore_counters(rt->images);
    fprintf(out,
            "# HELP crib_image_pulls_total Image pulls by result.\n"
            "# TYPE crib_image_pulls_total counter\n"
            "crib_image_pulls_total{result=\"ok\"} %llu\n"
            "crib_image_pulls_total{result=\"error\"} %llu\n"
            "# HELP crib_image_pull_bytes_total Layer bytes fetched from registries.\n"
            "# TYPE crib_image_pull_bytes_total counter\n"
            "crib_image_pull_bytes_total %llu\n",
            (unsigned long long)atomic_load(&c->pulls_ok),
            (unsigned long long)atomic_load(&c->pulls_failed),
            (unsigned long long)atomic_load(&c->layer_bytes));
}

char *cri_metrics_text(struct cri_runtime *rt)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    if (!out)
        return NULL;
    if (rt->rpc_stats)
        rpcstats_write(rt->rpc_stats, out);
    write_pulls(rt, out);
    write_objects(rt, out);
    fclose(out);
    return text;
}
