/* What containers use: their writable layers' disk, their images, their
 * cgroups' place. */
#include "oci/container.h"
#include "oci/internal.h"

#include "common/cgdriver.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "oci/ctrctx.h"
#include "storage/rootfs.h"

char *ctr_upper_dir(const struct ctr_ctx *ctx, const char *id)
{
    return xasprintf("%s/%s/upper", ctx->layers_dir, id);
}

bool ctr_image_in_use(struct ctr_ctx *ctx, const char *image_id)
{
    return ctr_view_uses_image(&ctx->view, image_id);
}

int ctr_usage(struct ctr_ctx *ctx, int64_t *ret_bytes, int64_t *ret_inodes, size_t *ret_n,
              struct crib_err *err)
{
    size_t n;
    char **ids = ctr_list_ids(ctx, NULL, &n);
    int64_t bytes = 0, inodes = 0;

    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *upper = ctr_upper_dir(ctx, ids[i]);
        int64_t b = 0, in = 0;

        /* A container removed meanwhile has no upper dir left: nothing to count. */
        if (rootfs_usage(upper, &b, &in, err) >= 0) {
            bytes += b;
            inodes += in;
        }
    }
    strv_free(ids, n);
    *ret_bytes = bytes;
    *ret_inodes = inodes;
    *ret_n = n;
    return 0;
}

int ctr_layer_usage(struct ctr_ctx *ctx, const char *id, struct layer_usage *ret,
                    struct crib_err *err)
{
    _cleanup_free_ char *upper = ctr_upper_dir(ctx, id);

    return layer_usage_get(&ctx->layer_usage, id, upper, ret, err);
}

const char *ctr_layers_dir(const struct ctr_ctx *ctx)
{
    return ctx->layers_dir;
}

char *ctr_cgroup_dir(const struct ctr_ctx *ctx, const char *cgroup_parent, const char *id)
{
    return ctx->cgroup_driver->container_dir(cgroup_parent ? cgroup_parent : "", id);
}
