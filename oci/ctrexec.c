/* Running commands in a container and joining its stdio: ExecSync, and the
 * process side of the streaming Exec and Attach sessions. None of these
 * holds the container's lock past its start, so Stop never waits for them. */
#include <stdlib.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "oci/container.h"
#include "oci/internal.h"

int ctr_exec_sync(struct ctr_ctx *ctx, const char *id, const char *const *argv, int timeout_s,
                  struct shim_exec_result *ret_result, struct crib_err *err)
{
    _cleanup_free_ char *bundle = NULL;
    struct oci_handler *h;
    int r = ctr_running(ctx, id, &h, &bundle, err);

    if (r < 0)
        return r;
    return shim_exec_sync(h, id, bundle, argv, timeout_s > 0 ? timeout_s * 1000 : 0, ret_result,
                          err);
}

int ctr_exec_start(struct ctr_ctx *ctx, const char *id, const char *const *argv, unsigned flags,
                   struct shim_exec_proc *ret, struct crib_err *err)
{
    _cleanup_free_ char *bundle = NULL;
    struct oci_handler *h;
    int r = ctr_running(ctx, id, &h, &bundle, err);

    if (r < 0)
        return r;
    return shim_exec_start(h, id, bundle, argv, flags, ret, err);
}

int ctr_attach(struct ctr_ctx *ctx, const char *id, int *ret_fd, struct crib_err *err)
{
    _cleanup_free_ char *bundle = NULL;
    struct oci_handler *h;
    int r = ctr_running(ctx, id, &h, &bundle, err);

    if (r < 0)
        return r;
    return shim_attach_open(ctr_shim_paths(ctx), id, ret_fd, err);
}

int ctr_resize(struct ctr_ctx *ctx, const char *id, uint16_t width, uint16_t height,
               struct crib_err *err)
{
    _cleanup_free_ char *bundle = NULL;
    struct oci_handler *h;
    int r = ctr_running(ctx, id, &h, &bundle, err);

    if (r < 0)
        return r;
    return shim_resize(bundle, width, height, err);
}
