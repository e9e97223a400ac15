#include "cri/rpcstats.h"

#include <stdint.h>
#include <stdlib.h>

#include "common/xalloc.h"

/* Upper bounds of the latency buckets, in microseconds; the last is +Inf.
 * From a cached List (well under 1 ms) to a pull of a large image. */
static const long long bucket_us[RPCSTATS_BUCKETS - 1] = {
    500, 1000, 5000, 10000, 50000, 100000, 500000, 1000000, 5000000, 30000000, 120000000};

static const char *const code_names[RPCSTATS_CODES] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

struct rpcstats *rpcstats_new(const char *const *names, size_t n_methods)
{
    struct rpcstats *s = xcalloc(1, sizeof(*s));

    s->n_methods = n_methods;
    s->names = names;
    s->methods = xcalloc(n_methods ? n_methods : 1, sizeof(*s->methods));
    return s;
}

void rpcstats_free(struct rpcstats *s)
{
    if (!s)
        return;
    free(s->methods);
    free(s);
}

void rpcstats_observe(struct rpcstats *s, size_t index, int code, long long us)
{
    struct rpcstats_method *m;
    size_t b = 0;

    if (!s || index >= s->n_methods)
        return;
    m = &s->methods[index];
    while (b < RPCSTATS_BUCKETS - 1 && us > bucket_us[b])
        b++;
    atomic_fetch_add_explicit(&m->by_code[code >= 0 && code < RPCSTATS_CODES ? code : 2], 1,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&m->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_us, (uint_fast64_t)(us > 0 ? us : 0), memory_order_relaxed);
}

static uint64_t load(const atomic_uint_fast64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

/* Only series that were counted: a scrape of an idle cribd stays short. */
static void write_codes(const struct rpcstats *s, FILE *out, const char *name, int first_code)
{
    for (size_t i = 0; i < s->n_methods; i++)
        for (int c = first_code; c < RPCSTATS_CODES; c++) {
            uint64_t n = load(&s->methods[i].by_code[c]);

            if (n)
                fprintf(out, "%s{rpc=\"%s\",code=\"%s\"} %llu\n", name, s->names[i], code_names[c],
                        (unsigned long long)n);
        }
}

static void write_histogram(const struct rpcstats *s, FILE *out)
{
    for (size_t i = 0; i < s->n_methods; i++) {
        const struct rpcstats_method *m = &s->methods[i];
        uint64_t cumulative = 0;

        for (size_t b = 0; b < RPCSTATS_BUCKETS; b++)
            cumulative += load(&m->buckets[b]);
        if (!cumulative)
            continue;
        cumulative = 0;
        for (size_t b = 0; b < RPCSTATS_BUCKETS; b++) {
            cumulative += load(&m->buckets[b]);
            if (b < RPCSTATS_BUCKETS - 1)
                fprintf(out, "crib_rpc_duration_seconds_bucket{rpc=\"%s\",le=\"%g\"} %llu\n",
                        s->names[i], (double)bucket_us[b] / 1e6, (unsigned long long)cumulative);
            else
                fprintf(out, "crib_rpc_duration_seconds_bucket{rpc=\"%s\",le=\"+Inf\"} %llu\n",
                        s->names[i], (unsigned long long)cumulative);
        }
        fprintf(out, "crib_rpc_duration_seconds_sum{rpc=\"%s\"} %.6f\n", s->names[i],
                (double)load(&m->sum_us) / 1e6);
        fprintf(out, "crib_rpc_duration_seconds_count{rpc=\"%s\"} %llu\n", s->names[i],
                (unsigned long long)cumulative);
    }
}

void rpcstats_write(const struct rpcstats *s, FILE *out)
{
    fputs("# HELP crib_rpc_requests_total CRI calls by RPC and gRPC status code.\n"
          "# TYPE crib_rpc_requests_total counter\n",
          out);
    write_codes(s, out, "crib_rpc_requests_total", 0);
    fputs("# HELP crib_rpc_errors_total CRI calls that failed, by RPC and gRPC status code.\n"
          "# TYPE crib_rpc_errors_total counter\n",
          out);
    write_codes(s, out, "crib_rpc_errors_total", 1);
    fputs("# HELP crib_rpc_duration_seconds How long CRI calls took.\n"
          "# TYPE crib_rpc_duration_seconds histogram\n",
          out);
    write_histogram(s, out);
}
