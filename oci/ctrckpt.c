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
#include <dirent.h>
#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/crash.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/xalloc.h"
#include "oci/ckptarchive.h"
#include "oci/ckptdiff.h"
#include "oci/ctrctx.h"

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

/* The marker of a container ctr_pause paused. */
#define CTR_PAUSED_MARKER "paused-for-checkpoint"

int ctr_pause(struct ctr_ctx *ctx, const struct oci_handler *h, const char *id,
              struct crib_err *err)
{
    _cleanup_free_ char *marker = xasprintf("%s/%s/" CTR_PAUSED_MARKER, ctx->bundles_dir, id);
    int r = fs_write_volatile(marker, "", 0, 0600, err);

    if (r >= 0 && (r = shim_pause(h, id, err)) < 0)
        unlink(marker);
    return r;
}

int ctr_resume_paused(struct ctr_ctx *ctx, const struct oci_handler *h, const char *id,
                      struct crib_err *err)
{
    _cleanup_free_ char *marker = xasprintf("%s/%s/" CTR_PAUSED_MARKER, ctx->bundles_dir, id);
    int r = shim_resume(h, id, err);

    if (r >= 0)
        unlink(marker);
    return r;
}

/* A container a pod checkpoint paused before cribd died is resumed: the
 * runtime never returns a frozen pod. */
void ctr_checkpoint_reconcile(struct ctr_ctx *ctx, const struct ctr_record *c)
{
    _cleanup_free_ char *marker = xasprintf("%s/%s/" CTR_PAUSED_MARKER, ctx->bundles_dir, c->id);
    struct oci_handler *h = ctr_find_handler(ctx, c->handler);
    struct crib_err err;

    if (!h || access(marker, F_OK) < 0)
        return;
    log_info("container %s: resuming it after a pod checkpoint cut short", c->id);
    if (ctr_resume_paused(ctx, h, c->id, &err) < 0)
        log_warn("container %s: %s", c->id, err.msg);
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
    int r = fs_mkdir_p(images, 0700, err);
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

static int64_t deadline_of(int64_t timeout_s)
{
    return clock_ns(CLOCK_MONOTONIC) +
           (timeout_s > 0 ? timeout_s : CKPT_DEFAULT_TIMEOUT_S) * 1000000000LL;
}

/* Captures running container c (of handler h, bundle dir bundle) into the
 * archive at location, through a work dir in its bundle that goes after. */
static int capture(struct ctr_ctx *ctx, const struct oci_handler *h, const struct ctr_record *c,
                   const char *bundle, const char *location, int64_t deadline_ns,
                   struct crib_err *err)
{
    _cleanup_free_ char *work = xasprintf("%s/checkpoint.XXXXXX", bundle);
    struct crib_err undo;
    int r;

    if (!mkdtemp(work))
        return crib_fail(err, CRIB_INTERNAL, errno, "make %s", work);
    r = checkpoint_runc(ctx, h, c, bundle, work, location, deadline_ns, err);
    if (fs_remove_tree_at(AT_FDCWD, work, &undo) < 0)
        log_warn("container %s: %s, ignoring", c->id, undo.msg);
    return r;
}

int ctr_checkpoint(struct ctr_ctx *ctx, const char *id, const char *location, int64_t timeout_s,
                   struct crib_err *err)
{
    int64_t deadline_ns = deadline_of(timeout_s);
    struct oci_handler *h = NULL;
    _cleanup_free_ char *bundle = NULL;
    struct ctr_record *c = NULL;
    int r = ctr_running(ctx, id, &h, &bundle, err);

    if (r >= 0)
        r = ctr_get(ctx, id, &c, err);
    if (r < 0)
        return r;
    if (h->kind == HANDLER_RUNSC)
        r = crib_fail(err, CRIB_STATE, 0, CKPT_RUNSC_LIMIT, id);
    else
        r = criu_check(err);
    if (r >= 0)
        r = capture(ctx, h, c, bundle, location, deadline_ns, err);
    ctr_record_free(c);
    return r;
}

/* One container of a pod checkpoint: what was asked, and what it is. */
struct pod_member {
    struct ctr_record *rec;
    struct oci_handler *h;
    char *bundle;
    bool paused;
};

/* Resumes what was paused; a container that cannot be resumed is logged
 * (start-up tries again: its marker stays). Returns how many failed. */
static size_t resume_all(struct ctr_ctx *ctx, struct pod_member *m, size_t n)
{
    size_t failed = 0;

    for (size_t i = 0; i < n; i++) {
        struct crib_err e;

        if (!m[i].paused)
            continue;
        if (ctr_resume_paused(ctx, m[i].h, m[i].rec->id, &e) < 0) {
            log_warn("container %s: resume after a pod checkpoint: %s", m[i].rec->id, e.msg);
            failed++;
        }
        m[i].paused = false;
    }
    return failed;
}

/* The members' records, checked: each is a running container of pod_id,
 * all under one handler. */
static int members_of(struct ctr_ctx *ctx, const char *pod_id, const char *const *ids, size_t n,
                      struct pod_member *m, struct crib_err *err)
{
    int r = 0;

    for (size_t i = 0; i < n && r >= 0; i++) {
        r = ctr_running(ctx, ids[i], &m[i].h, &m[i].bundle, err);
        if (r >= 0)
            r = ctr_get(ctx, ids[i], &m[i].rec, err);
        if (r >= 0 && strcmp(m[i].rec->pod_id, pod_id) != 0)
            r = crib_fail(err, CRIB_INVALID, 0, "container %s is not in pod %s", ids[i], pod_id);
        if (r >= 0 && m[i].h != m[0].h)
            r = crib_fail(err, CRIB_INVALID, 0, "containers %s and %s run under different handlers",
                          ids[0], ids[i]);
    }
    return r;
}

/* The empty dir the checkpoint goes to, opened. Errors: CRIB_INVALID. */
static int open_output(const char *path, struct crib_err *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    _cleanup_closedir_ DIR *d = NULL;
    struct dirent *e;

    if (fd < 0)
        return crib_fail(err, CRIB_INVALID, errno, "output_path %s", path);
    d = fdopendir(dup(fd));
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            close(fd);
            return crib_fail(err, CRIB_INVALID, ENOTEMPTY, "output_path %s is not empty", path);
        }
    return fd;
}

/* Writes pod.json, the checkpoint's index: which archive holds which
 * container. Written last, so a dir without it is no checkpoint. */
static int write_index(const char *dir, const char *pod_id, const struct pod_member *m, size_t n,
                       struct crib_err *err)
{
    _cleanup_free_ char *path = xasprintf("%s/pod.json", dir);
    struct json_object *o = json_object_new_object(), *list = json_object_new_array();
    const char *text;
    int r;

    json_object_object_add(o, "version", json_object_new_int(CKPT_CRIB_VERSION));
    json_object_object_add(o, "podSandboxId", json_object_new_string(pod_id));
    json_object_object_add(o, "handler", json_object_new_string(handler_kind_name(m[0].h->kind)));
    for (size_t i = 0; i < n; i++) {
        struct json_object *c = json_object_new_object();
        _cleanup_free_ char *archive = xasprintf("%s.tar", m[i].rec->name);

        json_object_object_add(c, "name", json_object_new_string(m[i].rec->name));
        json_object_object_add(c, "id", json_object_new_string(m[i].rec->id));
        json_object_object_add(c, "archive", json_object_new_string(archive));
        json_object_array_add(list, c);
    }
    json_object_object_add(o, "containers", list);
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    r = fs_write_atomic(path, text, strlen(text), 0600, err);
    json_object_put(o);
    return r;
}

/* Removes what a failed checkpoint wrote below the output dir. */
static void remove_written(int dir)
{
    _cleanup_closedir_ DIR *d = fdopendir(dup(dir));
    struct dirent *e;

    while (d && (e = readdir(d))) {
        struct crib_err ignored;

        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            (void)fs_remove_tree_at(dir, e->d_name, &ignored);
    }
}

int ctr_checkpoint_pod(struct ctr_ctx *ctx, const char *pod_id, const char *const *ids, size_t n,
                       const char *output_path, int64_t timeout_s, struct crib_err *err)
{
    int64_t deadline_ns = deadline_of(timeout_s);
    struct pod_member *m = xcalloc(n, sizeof(*m));
    _cleanup_close_ int out = -1;
    int r = members_of(ctx, pod_id, ids, n, m, err);

    if (r >= 0) {
        out = open_output(output_path, err);
        r = out < 0 ? out : 0;
    }
    /* Under runsc the sandbox is the unit; this runsc stops it to capture it. */
    if (r >= 0 && m[0].h->kind == HANDLER_RUNSC)
        r = crib_fail(err, CRIB_STATE, 0, CKPT_RUNSC_LIMIT, m[0].rec->id);
    /* One cut for the pod: every container stops before any is captured,
     * and capturing starts with asking CRIU whether it can. */
    for (size_t i = 0; i < n && r >= 0; i++) {
        r = ctr_pause(ctx, m[i].h, m[i].rec->id, err);
        m[i].paused = r >= 0;
    }
    CRASH_POINT("checkpoint-pod-paused");
    if (r >= 0)
        r = criu_check(err);
    for (size_t i = 0; i < n && r >= 0; i++) {
        _cleanup_free_ char *location = xasprintf("%s/%s.tar", output_path, m[i].rec->name);

        r = capture(ctx, m[i].h, m[i].rec, m[i].bundle, location, deadline_ns, err);
    }
    if (r >= 0)
        r = write_index(output_path, pod_id, m, n, err);
    if (resume_all(ctx, m, n) > 0 && r >= 0)
        r = crib_fail(err, CRIB_INTERNAL, 0, "a container of pod %s could not be resumed", pod_id);
    if (r < 0 && out >= 0)
        remove_written(out);
    for (size_t i = 0; i < n; i++) {
        ctr_record_free(m[i].rec);
        free(m[i].bundle);
    }
    free(m);
    return r;
}
