/* CheckpointContainer and CheckpointPod: the requests checked here, the
 * work done by oci/ctrckpt.c. */
#include <grpc/support/time.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "cri/internal.h"
#include "oci/container.h"
#include "sandbox/pod.h"

int cri_validate_checkpoint(const ProtobufCMessage *req, struct crib_err *err)
{
    const Runtime__V1__CheckpointContainerRequest *in =
        (const Runtime__V1__CheckpointContainerRequest *)req;
    int r = cri_validate_container_id(req, err);

    if (r < 0)
        return r;
    if (!in->location || in->location[0] != '/')
        return crib_fail(err, CRIB_INVALID, 0, "location must be an absolute path, not '%s'",
                         in->location ? in->location : "");
    if (in->timeout < 0)
        return crib_fail(err, CRIB_INVALID, 0, "timeout must not be negative");
    return 0;
}

int cri_checkpoint_container(struct cri_call *call, const ProtobufCMessage *req,
                             ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__CheckpointContainerRequest *in =
        (const Runtime__V1__CheckpointContainerRequest *)req;
    _cleanup_free_ char *id = NULL;
    int r = ctr_resolve_id(call->rt->containers, in->container_id, &id, err);

    if (r >= 0)
        r = ctr_checkpoint(call->rt->containers, id, in->location, in->timeout, err);
    if (r < 0)
        return r;
    log_info("container %s checkpointed to %s", id, in->location);
    *ret_resp = &CRI_NEW(call, Runtime__V1__CheckpointContainerResponse,
                         runtime__v1__checkpoint_container_response__init)
                     ->base;
    return 0;
}

int cri_validate_checkpoint_pod(const ProtobufCMessage *req, struct crib_err *err)
{
    const Runtime__V1__CheckpointPodRequest *in = (const Runtime__V1__CheckpointPodRequest *)req;

    if (!in->pod_sandbox_id || !*in->pod_sandbox_id)
        return crib_fail(err, CRIB_INVALID, 0, "pod_sandbox_id is empty");
    if (!in->output_path || in->output_path[0] != '/')
        return crib_fail(err, CRIB_INVALID, 0, "output_path must be an absolute path, not '%s'",
                         in->output_path ? in->output_path : "");
    if (!in->n_container_ids)
        return crib_fail(err, CRIB_INVALID, 0, "container_ids is empty");
    for (size_t i = 0; i < in->n_container_ids; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(in->container_ids[i], in->container_ids[j]) == 0)
                return crib_fail(err, CRIB_INVALID, 0, "container_ids names %s twice",
                                 in->container_ids[i]);
    /* crib defines no options: any key is one it would silently ignore. */
    if (in->n_options)
        return crib_fail(err, CRIB_INVALID, 0, "options: crib knows no option '%s'",
                         in->options[0]->key);
    return 0;
}

/* The seconds left until the call's deadline (0: none set). */
static int64_t seconds_left(const struct cri_call *call)
{
    gpr_timespec now = gpr_now(GPR_CLOCK_REALTIME);
    gpr_timespec deadline = gpr_convert_clock_type(call->deadline, GPR_CLOCK_REALTIME);

    if (gpr_time_cmp(deadline, gpr_inf_future(GPR_CLOCK_REALTIME)) == 0)
        return 0;
    return deadline.tv_sec > now.tv_sec ? deadline.tv_sec - now.tv_sec : 1;
}

int cri_checkpoint_pod(struct cri_call *call, const ProtobufCMessage *req,
                       ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__CheckpointPodRequest *in = (const Runtime__V1__CheckpointPodRequest *)req;
    struct pod_record *p = NULL;
    int r = pod_get(call->rt->pods, in->pod_sandbox_id, &p, err);

    if (r >= 0 && p->state != POD_READY)
        r = crib_fail(err, CRIB_STATE, 0, "pod %s is not ready", in->pod_sandbox_id);
    pod_record_free(p);
    if (r >= 0)
        r = ctr_checkpoint_pod(call->rt->containers, in->pod_sandbox_id,
                               (const char *const *)in->container_ids, in->n_container_ids,
                               in->output_path, seconds_left(call), err);
    if (r < 0)
        return r;
    log_info("pod %s checkpointed to %s", in->pod_sandbox_id, in->output_path);
    *ret_resp = &CRI_NEW(call, Runtime__V1__CheckpointPodResponse,
                         runtime__v1__checkpoint_pod_response__init)
                     ->base;
    return 0;
}
