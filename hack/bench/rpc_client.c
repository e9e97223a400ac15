/* Calls runtime.v1.RuntimeService/Version in a loop from N client threads, each
 * with its own channel, for a fixed time; prints throughput and latency.
 * usage: crib-bench-rpc ENDPOINT CLIENTS SECONDS */
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xalloc.h"

#define MAX_CLIENTS 64
#define MAX_SAMPLES_PER_CLIENT (4u << 20)

struct client {
    pthread_t thread;
    const char *endpoint;
    double until;
    grpc_slice body;
    unsigned *lat_us; /* one sample per call */
    size_t n, errors;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one_call(grpc_channel *ch, grpc_completion_queue *cq, grpc_slice body)
{
    grpc_slice method = grpc_slice_from_static_string("/runtime.v1.RuntimeService/Version");
    gpr_timespec deadline =
        gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_seconds(10, GPR_TIMESPAN));
    grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method, NULL,
                                               deadline, NULL);
    grpc_byte_buffer *req = grpc_raw_byte_buffer_create(&body, 1), *resp = NULL;
    grpc_metadata_array initial, trailing;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    grpc_op ops[6];
    grpc_event ev;

    grpc_metadata_array_init(&initial);
    grpc_metadata_array_init(&trailing);
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = req;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &resp;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    grpc_call_start_batch(call, ops, 6, (void *)1, NULL);
    ev = grpc_completion_queue_pluck(cq, (void *)1, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_metadata_array_destroy(&initial);
    grpc_metadata_array_destroy(&trailing);
    grpc_byte_buffer_destroy(req);
    grpc_slice_unref(details);
    if (resp)
        grpc_byte_buffer_destroy(resp);
    grpc_call_unref(call);
    return ev.success && status == GRPC_STATUS_OK && resp ? 0 : -1;
}

static void *client_main(void *p)
{
    struct client *c = p;
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(c->endpoint, creds, NULL);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);

    grpc_channel_credentials_release(creds);
    (void)one_call(ch, cq, c->body); /* connect before the clock starts */
    while (now_s() < c->until && c->n < MAX_SAMPLES_PER_CLIENT) {
        double t0 = now_s();

        if (one_call(ch, cq, c->body) < 0)
            c->errors++;
        c->lat_us[c->n++] = (unsigned)((now_s() - t0) * 1e6);
    }
    grpc_completion_queue_shutdown(cq);
    (void)grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_completion_queue_destroy(cq);
    grpc_channel_destroy(ch);
    return NULL;
}

static int cmp_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    static struct client clients[MAX_CLIENTS];
    /* VersionRequest{version: "0.1.0"} on the wire: field 1, length 5. Packed
     * by hand so the bench shares nothing with the server it measures. */
    static const char version_request[] = "\x0a\x05"
                                          "0.1.0";
    size_t total = 0, errors = 0, k = 0;
    unsigned n_clients, *all;
    double seconds, start;
    grpc_slice body;

    if (argc != 4 || (n_clients = (unsigned)atoi(argv[2])) == 0 || n_clients > MAX_CLIENTS) {
        fprintf(stderr, "usage: %s ENDPOINT CLIENTS(1-%d) SECONDS\n", argv[0], MAX_CLIENTS);
        return 2;
    }
    seconds = atof(argv[3]);
    grpc_init();
    body = grpc_slice_from_static_buffer(version_request, sizeof(version_request) - 1);
    start = now_s();
    for (unsigned i = 0; i < n_clients; i++) {
        clients[i] =
            (struct client){.endpoint = argv[1], .until = start + seconds + 0.2, .body = body};
        clients[i].lat_us = xmalloc(MAX_SAMPLES_PER_CLIENT * sizeof(unsigned));
        pthread_create(&clients[i].thread, NULL, client_main, &clients[i]);
    }
    for (unsigned i = 0; i < n_clients; i++) {
        pthread_join(clients[i].thread, NULL);
        total += clients[i].n;
        errors += clients[i].errors;
    }
    all = xmalloc((total ? total : 1) * sizeof(unsigned));
    for (unsigned i = 0; i < n_clients; i++) {
        memcpy(all + k, clients[i].lat_us, clients[i].n * sizeof(unsigned));
        k += clients[i].n;
        free(clients[i].lat_us);
    }
    qsort(all, total, sizeof(unsigned), cmp_unsigned);
    printf("clients=%u calls=%zu errors=%zu rps=%.0f p50_us=%u p99_us=%u\n", n_clients, total,
           errors, (double)total / seconds, total ? all[total / 2] : 0,
           total ? all[total * 99 / 100] : 0);
    free(all);
    grpc_slice_unref(body);
    grpc_shutdown();
    return errors ? 1 : 0;
}
