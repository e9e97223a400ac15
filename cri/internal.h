/* Shared inside cri/ only: the call, the method table and the handlers. */
#pragma once

#include <grpc/grpc.h>
#include <pthread.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "api.pb-c.h"
#include "common/arena.h"
#include "common/err.h"
#include "cri/server.h"

struct cri_call;

/* A handler fills *ret_resp (from call->arena) or, for a server-streaming
 * method, sends its items with cri_call_send() and leaves *ret_resp NULL. */
typedef int (*cri_handler_fn)(struct cri_call *call, const ProtobufCMessage *req,
                              ProtobufCMessage **ret_resp, struct crib_err *err);
/* Checks a decoded request before the handler runs; CRIB_INVALID naming the field. */
typedef int (*cri_validate_fn)(const ProtobufCMessage *req, struct crib_err *err);

enum cri_method_flags {
    CRI_LONG = 1u << 0,   /* may block for long: runs on the long-call pool */
    CRI_STREAM = 1u << 1, /* server-streaming */
    CRI_QUIET = 1u << 2,  /* polled often: success is logged at debug only */
};

struct cri_method {
    const char *path; /* "/runtime.v1.RuntimeService/Version" */
    const char *name; /* "Version" */
    const ProtobufCMessageDescriptor *request;
    const ProtobufCMessageDescriptor *response;
    cri_handler_fn handler;
    cri_validate_fn validate;
    unsigned flags;
};

extern const struct cri_method cri_methods[];
extern const size_t cri_n_methods;

struct cri_call {
    const struct cri_method *method; /* NULL for a method crib does not know */
    struct cri_runtime *rt;
    grpc_call *call;
    grpc_completion_queue *cq; /* this call's own, for synchronous batches */
    gpr_timespec deadline;
    grpc_metadata_array metadata;
    grpc_call_details details; /* for unknown methods only */
    grpc_byte_buffer *payload;
    struct arena arena;           /* the request, the response, and their strings */
    ProtobufCAllocator allocator; /* protobuf-c over the arena */
    uint64_t id;
    bool initial_metadata_sent;
    grpc_slice raw_reply; /* with has_raw_reply: the reply, already encoded */
    bool has_raw_reply;
    pthread_mutex_t close_lock; /* cancellation is checked from helper threads too */
    bool close_received;
    int cancelled; /* set by gRPC when the close arrives */
};

/* Runs one call to completion on the calling (worker) thread: decode,
 * validate, handle, reply, log. */
void cri_dispatch(struct cri_call *call);

/* Ends a call with err's status without running its handler (e.g. when no
 * worker can take it). */
void cri_reject(struct cri_call *call, const struct crib_err *err);

/* Sends one message of a server-streaming reply; blocks while the client is
 * slow to read. Errors: CRIB_UNAVAILABLE when the client has gone. */
int cri_call_send(struct cri_call *call, const ProtobufCMessage *msg, struct crib_err *err);

/* cri_call_send() of a message already encoded (buf stays the caller's). */
int cri_call_send_raw(struct cri_call *call, const void *buf, size_t len, struct crib_err *err);

/* Makes the call's reply these bytes, an encoded message of the method's
 * response type (the handler then leaves *ret_resp NULL); takes buf, which
 * must come from malloc. */
void cri_call_reply_raw(struct cri_call *call, void *buf, size_t len);

/* True once the client has cancelled or gone away, or the deadline passed.
 * Safe to call from any thread while the handler runs. */
bool cri_call_cancelled(struct cri_call *call);

/* The gRPC status for an error code. */
grpc_status_code cri_status_from_code(enum crib_code code);

/* A string pair, laid out as every record's label type (pod_kv, ctr_kv). */
struct cri_kv {
    const char *key, *value;
};

/* The layout every CRI string map entry shares (labels, annotations,
 * label selectors). */
struct cri_map_entry {
    ProtobufCMessage base;
    char *key, *value;
};

struct ctr_record;
struct ctr_pod;

/* Whether container c matches a filter's ID prefix, pod ID prefix ("" or
 * NULL: any) and label selector. */
/* What a container takes from its pod, which must be READY; strings live
 * in the call's arena, *ret_handler is the pod's runtime handler.
 * Errors: CRIB_NOT_FOUND, CRIB_STATE (not ready). */
int cri_ctr_pod_of(struct cri_call *call, const char *pod_id, struct ctr_pod *out,
                   const char **ret_handler, struct crib_err *err);

bool cri_container_filter_matches(const struct ctr_record *c, const char *id, const char *pod_id,
                                  void *const *selector, size_t n_selector);

/* Whether labels hold every pair of a filter's label_selector, whose entries
 * (of any CRI map type) are laid out as struct cri_map_entry. */
bool cri_labels_match(const struct cri_kv *labels, size_t n_labels, void *const *selector,
                      size_t n_selector);

/* Map entries of message descriptor d (all CRI string maps share the entry
 * layout: base, key, value) from n pairs, in the call's arena. */
void *cri_map_entries(struct cri_call *call, const ProtobufCMessageDescriptor *d,
                      const struct cri_kv *kv, size_t n);

struct pod_record;

/* A container's and a pod's List item, whose metadata, labels and
 * annotations the stats RPCs' attributes share. */
Runtime__V1__Container *cri_container_of(struct cri_call *call, const struct ctr_record *c);
Runtime__V1__PodSandbox *cri_sandbox_of(struct cri_call *call, const struct pod_record *p);

/* Status messages as the Status RPCs and the container events carry them.
 * Builders like these use only call->arena and call->rt. */
Runtime__V1__PodSandboxStatus *cri_pod_status_of(struct cri_call *call, const struct pod_record *p);
Runtime__V1__ContainerStatus *cri_container_status_of(struct cri_call *call,
                                                      const struct ctr_record *c);

/* Container events: observers on the lifecycles from start to stop;
 * end_streams lets every GetContainerEvents stream end before the server
 * waits for its calls. */
void cri_events_start(struct cri_runtime *rt);
void cri_events_end_streams(struct cri_runtime *rt);
void cri_events_stop(struct cri_runtime *rt);

struct cg_sample;

/* Reads cgroup dir (NULL: none); one that is not there (a container not
 * started, or gone) gives a sample with nothing in it but its timestamp. */
void cri_cgroup_sample(struct cri_call *call, const char *what, const char *dir,
                       struct cg_sample *ret);

/* The per-RPC counters of cribd's own metrics, from start to stop. */
void cri_rpcstats_start(struct cri_runtime *rt);
void cri_rpcstats_stop(struct cri_runtime *rt);

/* The stats RPCs' CPU sample cache, from start to stop. */
void cri_stats_start(struct cri_runtime *rt);
void cri_stats_stop(struct cri_runtime *rt);

/* Allocation from the call's arena, for building replies. */
#define CRI_NEW(call, type, init_fn)                                                               \
    ({                                                                                             \
        type *_m = arena_alloc(&(call)->arena, sizeof(type));                                      \
        init_fn(_m);                                                                               \
        _m;                                                                                        \
    })

/* Handlers, one file per RPC group (style.md). */
int cri_container_stats(struct cri_call *call, const ProtobufCMessage *req,
                        ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_list_container_stats(struct cri_call *call, const ProtobufCMessage *req,
                             ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_stream_container_stats(struct cri_call *call, const ProtobufCMessage *req,
                               ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_pod_sandbox_stats(struct cri_call *call, const ProtobufCMessage *req,
                          ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_list_pod_sandbox_stats(struct cri_call *call, const ProtobufCMessage *req,
                               ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_stream_pod_sandbox_stats(struct cri_call *call, const ProtobufCMessage *req,
                                 ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_list_metric_descriptors(struct cri_call *call, const ProtobufCMessage *req,
                                ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_list_pod_sandbox_metrics(struct cri_call *call, const ProtobufCMessage *req,
                                 ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_stream_pod_sandbox_metrics(struct cri_call *call, const ProtobufCMessage *req,
                                   ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_get_container_events(struct cri_call *call, const ProtobufCMessage *req,
                             ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_unimplemented(struct cri_call *call, const ProtobufCMessage *req,
                      ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_version(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **ret_resp,
                struct crib_err *err);
int cri_status(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **ret_resp,
               struct crib_err *err);
int cri_runtime_config(struct cri_call *call, const ProtobufCMessage *req,
                       ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_update_runtime_config(struct cri_call *call, const ProtobufCMessage *req,
                              ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_validate_update_runtime_config(const ProtobufCMessage *req, struct crib_err *err);
int cri_validate_image_request(const ProtobufCMessage *req, struct crib_err *err);
int cri_pull_image(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **ret_resp,
                   struct crib_err *err);
int cri_list_images(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **ret_resp,
                    struct crib_err *err);
int cri_stream_images(struct cri_call *call, const ProtobufCMessage *req,
                      ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_image_status(struct cri_call *call, const ProtobufCMessage *req,
                     ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_remove_image(struct cri_call *call, const ProtobufCMessage *req,
                     ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_image_fs_info(struct cri_call *call, const ProtobufCMessage *req,
                      ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_validate_container_id(const ProtobufCMessage *req, struct crib_err *err);
int cri_create_container(struct cri_call *call, const ProtobufCMessage *req,
                         ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_start_container(struct cri_call *call, const ProtobufCMessage *req,
                        ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_stop_container(struct cri_call *call, const ProtobufCMessage *req,
                       ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_remove_container(struct cri_call *call, const ProtobufCMessage *req,
                         ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_container_status(struct cri_call *call, const ProtobufCMessage *req,
                         ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_list_containers(struct cri_call *call, const ProtobufCMessage *req,
                        ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_stream_containers(struct cri_call *call, const ProtobufCMessage *req,
                          ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_update_container_resources(struct cri_call *call, const ProtobufCMessage *req,
                                   ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_validate_checkpoint(const ProtobufCMessage *req, struct crib_err *err);
int cri_checkpoint_container(struct cri_call *call, const ProtobufCMessage *req,
                             ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_validate_checkpoint_pod(const ProtobufCMessage *req, struct crib_err *err);
int cri_checkpoint_pod(struct cri_call *call, const ProtobufCMessage *req,
                       ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_reopen_container_log(struct cri_call *call, const ProtobufCMessage *req,
                             ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_exec_sync(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **ret_resp,
                  struct crib_err *err);
int cri_exec(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **ret_resp,
             struct crib_err *err);
int cri_attach(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **ret_resp,
               struct crib_err *err);
int cri_port_forward(struct cri_call *call, const ProtobufCMessage *req,
                     ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_validate_pod_id(const ProtobufCMessage *req, struct crib_err *err);
int cri_run_pod_sandbox(struct cri_call *call, const ProtobufCMessage *req,
                        ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_stop_pod_sandbox(struct cri_call *call, const ProtobufCMessage *req,
                         ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_remove_pod_sandbox(struct cri_call *call, const ProtobufCMessage *req,
                           ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_pod_sandbox_status(struct cri_call *call, const ProtobufCMessage *req,
                           ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_list_pod_sandbox(struct cri_call *call, const ProtobufCMessage *req,
                         ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_stream_pod_sandboxes(struct cri_call *call, const ProtobufCMessage *req,
                             ProtobufCMessage **ret_resp, struct crib_err *err);
int cri_update_pod_sandbox_resources(struct cri_call *call, const ProtobufCMessage *req,
                                     ProtobufCMessage **ret_resp, struct crib_err *err);
