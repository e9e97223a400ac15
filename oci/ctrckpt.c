/* CheckpointContainer: the runtime's checkpoint of a running container,
 * its writable layer as a diff, and its spec, in one archive
 * (oci/ckptarchive.h). The container keeps running; no container lock is
 * held, so Stop never waits on a checkpoint. */
#include "oci/container.h"
#include "oci/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/crash.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/xalloc.h"
#include "oci/ckptarchive.h"
#include "oci/ckptdiff.h"

#define CKPT_CRIU_CHECK_TIMEOUT_MS 30000
#define CKPT_CRIU_MAX_OUTPUT 16384
#define CKPT_DEFAULT_TIMEOUT_S 600

/* Why runsc cannot checkpoint a container of a pod here: a runsc pod is one
 * sandbox that the container shares with crib-infra, and runsc checkpoints
 * sandboxes only whole; Debian's runsc (20221219) then stops the sandbox and
 * cannot restore one that held more than its first container (gVisor issue
 * 1956: subcontainers' gofers are not made again on restore). */
#define CKPT_RUNSC_LIMIT                                                                           \
    "runsc checkpoints a gVisor sandbox only whole, and this runsc cannot restore a sandbox "      \
    "holding more than its first container (gVisor issue 1956); container %s shares its pod's "    \
    "sandbox with crib-infra, so it cannot be checkpointed without being lost"

/* criu's own reason for refusing: its last "Error (...)" line, else the
 * last line it printed. Points into text, which it changes. */
static const char *criu_reason(char *text)
{
    char *line, *save = NULL, *last = NULL, *error = NULL;

    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        last = line;
        if (strncmp(line, "Error (", 7) == 0)
            error = line;
    }
    return error ? error : last ? last : "no output";
}

/* `criu check`: whether CRIU can checkpoint on this kernel.
 * Errors: CRIB_STATE with criu's reason, CRIB_NOT_FOUND (no criu). */
static int criu_check(struct crib_err *err)
{
    const char *argv[] = {"criu", "check", NULL};
    struct proc_result res;
    int r = proc_run(argv, CKPT_CRIU_CHECK_TIMEOUT_MS, CKPT_CRIU_MAX_OUTPUT, &res, err);

    if (r < 0) {
        if (err->code == CRIB_NOT_FOUND)
            return crib_fail(err, CRIB_STATE, ENOENT,
                             "checkpoint needs CRIU: criu is not installed");
        return r;
    }
    /* criu check exits 0 even when it finds the kernel lacking; its
     * verdict is "Looks good." */
    if (res.term_signal || res.exit_code != 0 || !strstr(res.output, "Looks good"))
        r = crib_fail(err, CRIB_STATE, 0, "CRIU cannot checkpoint on this machine: criu check: %s",
                      criu_reason(res.output));
    proc_result_done(&res);
    return r;
}

static int64_t remaining_ms(int64_t deadline_ns)
{
    int64_t left = (deadline_ns - clock_ns(CLOCK_MONOTONIC)) / 1000000;

    return left < 1 ? 1 : left;
}

/* The runtime's images, the diff and the archive, in work (removed after). */
static int checkpoint_runc(struct ctr_ctx *ctx, const struct oci_handler *h,
                           const struct ctr_record *c, const char *bundle, const char *work,
                           const char *location, int64_t deadline_ns, struct crib_err *err)
{
    _cleanup_free_ char *images = xasprintf("%s/images", work);
    _cleanup_free_ char *diff = xasprintf("%s/rootfs-diff.tar", work);
    _cleanup_free_ char *config = xasprintf("%s/config.json", bundle), *spec = NULL;
    _cleanup_free_ char *upper = ctr_upper_dir(ctx, c->id);
    _cleanup_close_ int diff_fd = -1;
    struct ckpt_deleted deleted = {0};
    int r = criu_check(err);

    if (r >= 0)
        r = fs_mkdir_p(images, 0700, err);
    if (r >= 0)
        r = shim_checkpoint(h, c->id, images, (int)remaining_ms(deadline_ns), err);
    CRASH_POINT("checkpoint-dumped");
    if (r >= 0) {
        diff_fd = open(diff, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (diff_fd < 0)
            r = crib_fail(err, CRIB_INTERNAL, errno, "create %s", diff);
    }
    if (r >= 0)
        r = ckpt_diff_write(upper, diff_fd, deadline_ns, &deleted, err);
    if (r >= 0)
        r = fs_read_file(config, CKPT_JSON_MAX_BYTES, &spec, NULL, err);
    if (r >= 0)
        r = ckpt_archive_write(&(struct ckpt_contents){.handler = h->kind,
                                                       .handler_name = h->name,
                                                       .runtime = handler_kind_name(h->kind),
                                                       .checkpoint_dir = images,
                                                       .spec_json = spec,
                                                       .rootfs_diff_path = diff,
                                                       .deleted = &deleted,
                                                       .id = c->id,
                                                       .name = c->name,
                                                       .image = c->image,
                                                       .image_ref = c->image_ref,
                                                       .image_id = c->image_id,
                                                       .created_ns = c->created_ns},
                               location, deadline_ns, err);
    ckpt_deleted_done(&deleted);
    return r;
}

int ctr_checkpoint(struct ctr_ctx *ctx, const char *id, const char *location, int64_t timeout_s,
                   struct crib_err *err)
{
    int64_t deadline_ns = clock_ns(CLOCK_MONOTONIC) +
                          (timeout_s > 0 ? timeout_s : CKPT_DEFAULT_TIMEOUT_S) * 1000000000LL;
    struct oci_handler *h = NULL;
    _cleanup_free_ char *bundle = NULL, *work = NULL;
    struct ctr_record *c = NULL;
    struct crib_err undo;
    int r = ctr_running(ctx, id, &h, &bundle, err);

    if (r >= 0)
        r = ctr_get(ctx, id, &c, err);
    if (r < 0)
        return r;
    if (h->kind == HANDLER_RUNSC) {
        r = crib_fail(err, CRIB_STATE, 0, CKPT_RUNSC_LIMIT, id);
    } else {
        work = xasprintf("%s/checkpoint.XXXXXX", bundle);
        if (!mkdtemp(work)) {
            r = crib_fail(err, CRIB_INTERNAL, errno, "make %s", work);
            free(TAKE_PTR(work));
        }
        if (r >= 0)
            r = checkpoint_runc(ctx, h, c, bundle, work, location, deadline_ns, err);
    }
    if (work && fs_remove_tree_at(AT_FDCWD, work, &undo) < 0)
        log_warn("container %s: %s, ignoring", id, undo.msg);
    ctr_record_free(c);
    return r;
}
