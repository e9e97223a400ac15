/* Per-RPC counters for cribd's own metrics endpoint: calls by gRPC status
 * code and a latency histogram, kept with relaxed atomics so a call pays
 * three increments and no lock. */
#pragma once

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>

#define RPCSTATS_CODES 17 /* gRPC status codes 0 (OK) .. 16 (UNAUTHENTICATED) */
#define RPCSTATS_BUCKETS 12

struct rpcstats_method {
    atomic_uint_fast64_t by_code[RPCSTATS_CODES];
    atomic_uint_fast64_t buckets[RPCSTATS_BUCKETS]; /* not cumulative: one per bound */
    atomic_uint_fast64_t sum_us;
};

struct rpcstats {
    size_t n_methods;
    const char *const *names; /* the RPCs' names, by index */
    struct rpcstats_method *methods;
};

/* Counters for n_methods RPCs called names[i] (borrowed). Free with rpcstats_free. */
struct rpcstats *rpcstats_new(const char *const *names, size_t n_methods);
void rpcstats_free(struct rpcstats *s);

/* Counts one call of method index that ended with code after us microseconds. */
void rpcstats_observe(struct rpcstats *s, size_t index, int code, long long us);

/* Writes crib_rpc_requests_total, crib_rpc_errors_total and the
 * crib_rpc_duration_seconds histogram in Prometheus text format. */
void rpcstats_write(const struct rpcstats *s, FILE *out);
