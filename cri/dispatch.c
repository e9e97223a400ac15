#include <grpc/byte_buffer_reader.h>
#include <grpc/support/time.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "cri/internal.h"
#include "cri/rpcstats.h"

#define METHOD(service, name, req, resp, handler, validate, flags)                                 \
    {                                                                                              \
        "/runtime.v1." service "/" #name, #name, &runtime__v1__##req##__descriptor,                \
            &runtime__v1__##resp##__descriptor, handler, validate, flags                           \
    }
#define RT(...) METHOD("RuntimeService", __VA_ARGS__)
#define IMG(...) METHOD("ImageService", __VA_ARGS__)

/* The one place an RPC is registered. A handler that a later part provides
 * is cri_unimplemented until then. */
const struct cri_method cri_methods[] = {
    RT(Version, version_request, version_response, cri_version, NULL, CRI_QUIET),
    RT(RunPodSandbox, run_pod_sandbox_request, run_pod_sandbox_response, cri_run_pod_sandbox, NULL,
       CRI_LONG),
    RT(StopPodSandbox, stop_pod_sandbox_request, stop_pod_sandbox_response, cri_stop_pod_sandbox,
       cri_validate_pod_id, CRI_LONG),
    RT(RemovePodSandbox, remove_pod_sandbox_request, remove_pod_sandbox_response,
       cri_remove_pod_sandbox, cri_validate_pod_id, CRI_LONG),
    RT(PodSandboxStatus, pod_sandbox_status_request, pod_sandbox_status_response,
       cri_pod_sandbox_status, cri_validate_pod_id, CRI_QUIET),
    RT(ListPodSandbox, list_pod_sandbox_request, list_pod_sandbox_response, cri_list_pod_sandbox,
       NULL, CRI_QUIET),
    RT(StreamPodSandboxes, stream_pod_sandboxes_request, stream_pod_sandboxes_response,
       cri_stream_pod_sandboxes, NULL, CRI_STREAM),
    RT(CreateContainer, create_container_request, create_container_response, cri_create_container,
       NULL, CRI_LONG),
    RT(StartContainer, start_container_request, start_container_response, cri_start_container,
       cri_validate_container_id, CRI_LONG),
    RT(StopContainer, stop_container_request, stop_container_response, cri_stop_container,
       cri_validate_container_id, CRI_LONG),
    RT(RemoveContainer, remove_container_request, remove_container_response, cri_remove_container,
       cri_validate_container_id, CRI_LONG),
    RT(ListContainers, list_containers_request, list_containers_response, cri_list_containers, NULL,
       CRI_QUIET),
    RT(StreamContainers, stream_containers_request, stream_containers_response,
       cri_stream_containers, NULL, CRI_STREAM),
    RT(ContainerStatus, container_status_request, container_status_response, cri_container_status,
       cri_validate_container_id, CRI_QUIET),
    RT(UpdateContainerResources, update_container_resources_request,
       update_container_resources_response, cri_update_container_resources,
       cri_validate_container_id, 0),
    RT(ReopenContainerLog, reopen_container_log_request, reopen_container_log_response,
       cri_reopen_container_log, cri_validate_container_id, 0),
    RT(ExecSync, exec_sync_request, exec_sync_response, cri_exec_sync, cri_validate_container_id,
       CRI_LONG),
    RT(Exec, exec_request, exec_response, cri_exec, cri_validate_container_id, 0),
    RT(Attach, attach_request, attach_response, cri_attach, cri_validate_container_id, 0),
    RT(PortForward, port_forward_request, port_forward_response, cri_port_forward,
       cri_validate_pod_id, 0),
    RT(ContainerStats, container_stats_request, container_stats_response, cri_container_stats,
       cri_validate_container_id, CRI_QUIET),
    RT(ListContainerStats, list_container_stats_request, list_container_stats_response,
       cri_list_container_stats, NULL, CRI_QUIET),
    RT(StreamContainerStats, stream_container_stats_request, stream_container_stats_response,
       cri_stream_container_stats, NULL, CRI_STREAM),
    RT(PodSandboxStats, pod_sandbox_stats_request, pod_sandbox_stats_response,
       cri_pod_sandbox_stats, cri_validate_pod_id, CRI_QUIET),
    RT(ListPodSandboxStats, list_pod_sandbox_stats_request, list_pod_sandbox_stats_response,
       cri_list_pod_sandbox_stats, NULL, CRI_QUIET),
    RT(StreamPodSandboxStats, stream_pod_sandbox_stats_request, stream_pod_sandbox_stats_response,
       cri_stream_pod_sandbox_stats, NULL, CRI_STREAM),
    RT(UpdateRuntimeConfig, update_runtime_config_request, update_runtime_config_response,
       cri_update_runtime_config, cri_validate_update_runtime_config, 0),
    RT(Status, status_request, status_response, cri_status, NULL, CRI_QUIET),
    RT(CheckpointContainer, checkpoint_container_request, checkpoint_container_response,
       cri_checkpoint_container, cri_validate_checkpoint, CRI_LONG),
    RT(CheckpointPod, checkpoint_pod_request, checkpoint_pod_response, cri_checkpoint_pod,
       cri_validate_checkpoint_pod, CRI_LONG),
    RT(RestorePod, restore_pod_request, restore_pod_response, cri_unimplemented, NULL, CRI_LONG),
    RT(GetContainerEvents, get_events_request, container_event_response, cri_get_container_events,
       NULL, CRI_STREAM),
    RT(ListMetricDescriptors, list_metric_descriptors_request, list_metric_descriptors_response,
       cri_list_metric_descriptors, NULL, CRI_QUIET),
    RT(ListPodSandboxMetrics, list_pod_sandbox_metrics_request, list_pod_sandbox_metrics_response,
       cri_list_pod_sandbox_metrics, NULL, CRI_QUIET),
    RT(StreamPodSandboxMetrics, stream_pod_sandbox_metrics_request,
       stream_pod_sandbox_metrics_response, cri_stream_pod_sandbox_metrics, NULL, CRI_STREAM),
    RT(RuntimeConfig, runtime_config_request, runtime_config_response, cri_runtime_config, NULL,
       CRI_QUIET),
    RT(UpdatePodSandboxResources, update_pod_sandbox_resources_request,
       update_pod_sandbox_resources_response, cri_update_pod_sandbox_resources, cri_validate_pod_id,
       0),
    IMG(ListImages, list_images_request, list_images_response, cri_list_images, NULL, CRI_QUIET),
    IMG(StreamImages, stream_images_request, stream_images_response, cri_stream_images, NULL,
        CRI_STREAM),
    IMG(ImageStatus, image_status_request, image_status_response, cri_image_status,
        cri_validate_image_request, CRI_QUIET),
    IMG(PullImage, pull_image_request, pull_image_response, cri_pull_image,
        cri_validate_image_request, CRI_LONG),
    IMG(RemoveImage, remove_image_request, remove_image_response, cri_remove_image,
        cri_validate_image_request, 0),
    IMG(ImageFsInfo, image_fs_info_request, image_fs_info_response, cri_image_fs_info, NULL,
        CRI_QUIET),
};

const size_t cri_n_methods = sizeof(cri_methods) / sizeof(cri_methods[0]);

/* Tags of a call's own batches, plucked from its completion queue. */
#define TAG_CLOSE ((void *)1)
#define TAG_BATCH ((void *)2)

int cri_unimplemented(struct cri_call *call, const ProtobufCMessage *req,
                      ProtobufCMessage **ret_resp, struct crib_err *err)
{
    (void)req;
    (void)ret_resp;
    return crib_fail(err, CRIB_UNIMPLEMENTED, 0, "%s is not implemented by crib yet",
                     call->method->name);
}

static void *pb_alloc(void *data, size_t size)
{
    return arena_alloc(data, size);
}

static void pb_free(void *data, void *p)
{
    /* The arena frees everything when the call ends. */
    (void)data;
    (void)p;
}

static grpc_call_error start_batch(struct cri_call *call, grpc_op *ops, size_t n, void *tag)
{
    return grpc_call_start_batch(call->call, ops, n, tag, NULL);
}

/* Waits for tag on the call's own queue; true if the batch succeeded. */
static bool wait_tag(struct cri_call *call, void *tag)
{
    grpc_event ev =
        grpc_completion_queue_pluck(call->cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);

    if (tag == TAG_CLOSE)
        call->close_received = true;
    return ev.type == GRPC_OP_COMPLETE && ev.success;
}

bool cri_call_cancelled(struct cri_call *call)
{
    if (!call->close_received) {
        grpc_event ev =
            grpc_completion_queue_pluck(call->cq, TAG_CLOSE, gpr_time_0(GPR_CLOCK_REALTIME), NULL);

        if (ev.type == GRPC_OP_COMPLETE)
            call->close_received = true;
    }
    /* Before the reply is sent, any close of the call is the client's doing. */
    return call->close_received;
}

static grpc_byte_buffer *pack(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    grpc_slice slice = grpc_slice_malloc(len);
    grpc_byte_buffer *bb;

    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
    bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return bb;
}

void cri_call_reply_raw(struct cri_call *call, void *buf, size_t len)
{
    call->raw_reply = grpc_slice_new(buf, len, free);
    call->has_raw_reply = true;
}

/* Sends one message of a stream; takes bb. */
static int send_buffer(struct cri_call *call, grpc_byte_buffer *bb, struct crib_err *err)
{
    grpc_op ops[2] = {0};
    size_t n = 0;
    bool ok;

    if (!call->initial_metadata_sent) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        call->initial_metadata_sent = true;
    }
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = bb;
    ok = start_batch(call, ops, n, TAG_BATCH) == GRPC_CALL_OK && wait_tag(call, TAG_BATCH);
    grpc_byte_buffer_destroy(ops[n - 1].data.send_message.send_message);
    if (!ok)
        return crib_fail(err, CRIB_UNAVAILABLE, 0, "the client went away");
    return 0;
}

int cri_call_send(struct cri_call *call, const ProtobufCMessage *msg, struct crib_err *err)
{
    return send_buffer(call, pack(msg), err);
}

int cri_call_send_raw(struct cri_call *call, const void *buf, size_t len, struct crib_err *err)
{
    grpc_slice slice = grpc_slice_from_copied_buffer(buf, len);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);

    grpc_slice_unref(slice);
    return send_buffer(call, bb, err);
}

static int decode(struct cri_call *call, ProtobufCMessage **ret_req, struct crib_err *err)
{
    const struct cri_method *m = call->method;
    grpc_byte_buffer_reader reader;
    grpc_slice slice;

    if (!call->payload)
        return crib_fail(err, CRIB_INVALID, 0, "%s: the request has no message", m->name);
    if (!grpc_byte_buffer_reader_init(&reader, call->payload))
        return crib_fail(err, CRIB_INVALID, 0, "%s: the request message cannot be read", m->name);
    slice = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    *ret_req = protobuf_c_message_unpack(m->request, &call->allocator, GRPC_SLICE_LENGTH(slice),
                                         GRPC_SLICE_START_PTR(slice));
    grpc_slice_unref(slice);
    if (!*ret_req)
        return crib_fail(err, CRIB_INVALID, 0, "%s: the request is not a valid %s message", m->name,
                         m->request->name);
    return 0;
}

static int handle(struct cri_call *call, ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const struct cri_method *m = call->method;
    ProtobufCMessage *req;
    int r;

    if (!m)
        return crib_fail(err, CRIB_UNIMPLEMENTED, 0, "unknown method %.*s",
                         (int)GRPC_SLICE_LENGTH(call->details.method),
                         (const char *)GRPC_SLICE_START_PTR(call->details.method));
    r = decode(call, &req, err);
    if (r >= 0 && m->validate)
        r = m->validate(req, err);
    if (r >= 0)
        r = m->handler(call, req, ret_resp, err);
    if (r >= 0 && !*ret_resp && !(m->flags & CRI_STREAM) && !call->has_raw_reply)
        r = crib_fail(err, CRIB_INTERNAL, 0, "%s: the handler returned no reply", m->name);
    return r;
}

static void reply(struct cri_call *call, const ProtobufCMessage *resp, grpc_status_code status,
                  const char *message)
{
    grpc_slice details = grpc_slice_from_copied_string(message);
    grpc_byte_buffer *body = call->has_raw_reply && status == GRPC_STATUS_OK
                                 ? grpc_raw_byte_buffer_create(&call->raw_reply, 1)
                             : resp ? pack(resp)
                                    : NULL;
    grpc_op ops[3] = {0};
    size_t n = 0;

    if (!call->initial_metadata_sent) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        call->initial_metadata_sent = true;
    }
    if (body) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = body;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = status;
    ops[n++].data.send_status_from_server.status_details = &details;
    if (start_batch(call, ops, n, TAG_BATCH) == GRPC_CALL_OK)
        (void)wait_tag(call, TAG_BATCH); /* a client gone meanwhile is logged by the caller */
    if (body)
        grpc_byte_buffer_destroy(body);
    grpc_slice_unref(details);
}

static long long now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void log_call(const struct cri_call *call, grpc_status_code status, long long took_us,
                     const struct crib_err *err, bool failed)
{
    const char *name = call->method ? call->method->name : "unknown";
    enum log_level level = LOG_LEVEL_INFO;
    char id[20], took[24], code[8];
    struct log_field fields[] = {
        {"rpc", name},
        {"req", id},
        {"code", code},
        {"took_ms", took},
    };

    if (failed)
        level = status == GRPC_STATUS_INTERNAL ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN;
    else if (call->method && (call->method->flags & CRI_QUIET))
        level = LOG_LEVEL_DEBUG;
    if (level > log_max_level)
        return;
    snprintf(id, sizeof(id), "%" PRIx64, call->id);
    snprintf(took, sizeof(took), "%.3f", (double)took_us / 1000.0);
    snprintf(code, sizeof(code), "%d", (int)status);
    log_emit(level, fields, sizeof(fields) / sizeof(fields[0]), "%s", failed ? err->msg : "ok");
}

/* Asks gRPC to tell us when the call closes, which is how a cancellation by
 * the client or the deadline shows up. */
static void watch_close(struct cri_call *call)
{
    grpc_op close_op = {.op = GRPC_OP_RECV_CLOSE_ON_SERVER};

    call->allocator = (ProtobufCAllocator){pb_alloc, pb_free, &call->arena};
    close_op.data.recv_close_on_server.cancelled = &call->cancelled;
    if (start_batch(call, &close_op, 1, TAG_CLOSE) != GRPC_CALL_OK)
        call->close_received = true;
}

static void wait_closed(struct cri_call *call)
{
    pthread_mutex_lock(&call->close_lock);
    if (!call->close_received)
        (void)wait_tag(call, TAG_CLOSE);
    pthread_mutex_unlock(&call->close_lock);
}

void cri_reject(struct cri_call *call, const struct crib_err *err)
{
    watch_close(call);
    reply(call, NULL, cri_status_from_code(err->code), err->msg);
    wait_closed(call);
}

void cri_dispatch(struct cri_call *call)
{
    struct crib_err err = {0};
    ProtobufCMessage *resp = NULL;
    grpc_status_code status = GRPC_STATUS_OK;
    long long start = now_us(), took;
    int r;

    watch_close(call);
    r = handle(call, &resp, &err);
    if (r < 0)
        status = cri_status_from_code(err.code);
    reply(call, r < 0 ? NULL : resp, status, r < 0 ? err.msg : "");
    wait_closed(call);
    if (r >= 0 && call->cancelled) {
        r = crib_fail(&err, CRIB_UNAVAILABLE, 0, "the client cancelled or went away");
        status = GRPC_STATUS_CANCELLED;
    }
    took = now_us() - start;
    if (call->method)
        rpcstats_observe(call->rt->rpc_stats, (size_t)(call->method - cri_methods), (int)status,
                         took);
    log_call(call, status, took, &err, r < 0);
}

bool cri_labels_match(const struct cri_kv *labels, size_t n_labels, void *const *selector,
                      size_t n_selector)
{
    for (size_t i = 0; i < n_selector; i++) {
        const struct cri_map_entry *want = selector[i];
        bool found = false;

        for (size_t j = 0; j < n_labels && !found; j++)
            found =
                strcmp(labels[j].key, want->key) == 0 && strcmp(labels[j].value, want->value) == 0;
        if (!found)
            return false;
    }
    return true;
}

void *cri_map_entries(struct cri_call *call, const ProtobufCMessageDescriptor *d,
                      const struct cri_kv *kv, size_t n)
{
    Runtime__V1__PodSandbox__LabelsEntry **out =
        arena_alloc(&call->arena, (n ? n : 1) * sizeof(*out));

    for (size_t i = 0; i < n; i++) {
        out[i] = arena_alloc(&call->arena, d->sizeof_message);
        protobuf_c_message_init(d, out[i]);
        out[i]->key = arena_strdup(&call->arena, kv[i].key);
        out[i]->value = arena_strdup(&call->arena, kv[i].value);
    }
    return out;
}
