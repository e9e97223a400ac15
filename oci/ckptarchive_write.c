/* Writing checkpoint archives (ckptarchive.h); the reader is ckptarchive.c. */
#include "oci/ckptarchive.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/relpath.h"
#include "common/xalloc.h"
#include "oci/internal.h"

#define COPY_BLOCK (128u << 10)
/* CRIU and runsc write their images flat; a deep tree is not theirs. */
#define IMAGES_MAX_DEPTH 16

struct writer {
    struct archive *a;
    int64_t deadline_ns;
    struct timespec mtime; /* of every member: the checkpoint's time */
    char *buf;
};

static void writer_done(struct writer *w)
{
    if (w->a)
        archive_write_free(w->a);
    free(w->buf);
}

static int tar_fail(struct writer *w, const char *name, struct crib_err *err)
{
    return crib_fail(err, CRIB_INTERNAL, archive_errno(w->a), "tar member %s: %s", name,
                     archive_error_string(w->a) ?: "unknown error");
}

static int check_deadline(struct writer *w, const char *name, struct crib_err *err)
{
    if (ckpt_deadline_passed(w->deadline_ns))
        return crib_fail(err, CRIB_TIMEOUT, 0, "deadline passed while writing %s", name);
    return 0;
}

/* Writes the header of a member owned by root: files 0600, dirs 0700. */
static int add_header(struct writer *w, const char *name, mode_t type, int64_t size,
                      struct crib_err *err)
{
    struct archive_entry *ae = archive_entry_new();
    int r;

    if (!ae)
        abort(); /* no memory: as xmalloc */
    r = check_deadline(w, name, err);
    archive_entry_set_pathname(ae, name);
    archive_entry_set_filetype(ae, type);
    archive_entry_set_perm(ae, type == AE_IFDIR ? 0700 : 0600);
    archive_entry_set_uid(ae, 0);
    archive_entry_set_gid(ae, 0);
    archive_entry_set_size(ae, size);
    archive_entry_set_mtime(ae, w->mtime.tv_sec, w->mtime.tv_nsec);
    if (r >= 0 && archive_write_header(w->a, ae) != ARCHIVE_OK)
        r = tar_fail(w, name, err);
    archive_entry_free(ae);
    return r;
}

static int add_text(struct writer *w, const char *name, const char *text, struct crib_err *err)
{
    size_t len = strlen(text);
    int r = add_header(w, name, AE_IFREG, (int64_t)len, err);

    if (r < 0)
        return r;
    if (archive_write_data(w->a, text, len) != (la_ssize_t)len)
        return tar_fail(w, name, err);
    return 0;
}

/* Adds the file fd (size bytes) as member name, block by block. */
static int add_fd(struct writer *w, const char *name, int fd, off_t size, struct crib_err *err)
{
    int r = add_header(w, name, AE_IFREG, size, err);

    while (r >= 0 && size > 0) {
        ssize_t n = read(fd, w->buf, size < (off_t)COPY_BLOCK ? (size_t)size : COPY_BLOCK);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return crib_fail(err, CRIB_INTERNAL, n < 0 ? errno : 0, "read %s%s", name,
                             n == 0 ? ": shrank while read" : "");
        if (archive_write_data(w->a, w->buf, (size_t)n) != n)
            return tar_fail(w, name, err);
        size -= n;
        r = check_deadline(w, name, err);
    }
    return r;
}

static int add_images(struct writer *w, int dfd, const char *rel, unsigned depth,
                      struct crib_err *err);

/* Adds one entry of the images dir, and what is below it. */
static int add_image(struct writer *w, int dfd, const char *name, const char *rel, unsigned depth,
                     struct crib_err *err)
{
    _cleanup_free_ char *member = xasprintf("%s/%s", rel, name);
    _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    struct stat st;
    int r;

    if (fd < 0 && errno == ELOOP)
        return crib_fail(err, CRIB_INTERNAL, 0, "checkpoint images: %s is a symlink", member);
    if (fd < 0 || fstat(fd, &st) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "checkpoint images: open %s", member);
    if (S_ISREG(st.st_mode))
        return add_fd(w, member, fd, st.st_size, err);
    if (!S_ISDIR(st.st_mode))
        return crib_fail(err, CRIB_INTERNAL, 0, "checkpoint images: %s is not a file or dir",
                         member);
    if (depth >= IMAGES_MAX_DEPTH)
        return crib_fail(err, CRIB_INTERNAL, 0, "checkpoint images: %s is too deep", member);
    r = add_header(w, member, AE_IFDIR, 0, err);
    return r < 0 ? r : add_images(w, fd, member, depth + 1, err);
}

static int add_images(struct writer *w, int dfd, const char *rel, unsigned depth,
                      struct crib_err *err)
{
    _cleanup_closedir_ DIR *d = NULL;
    int fd = dup(dfd);
    struct dirent *de;

    if (fd < 0 || !(d = fdopendir(fd))) {
        if (fd >= 0)
            close(fd);
        return crib_fail(err, CRIB_INTERNAL, errno, "checkpoint images: read %s", rel);
    }
    while ((errno = 0, de = readdir(d))) {
        int r;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        r = add_image(w, dirfd(d), de->d_name, rel, depth, err);
        if (r < 0)
            return r;
    }
    if (errno)
        return crib_fail(err, CRIB_INTERNAL, errno, "checkpoint images: read %s", rel);
    return 0;
}

static int add_images_dir(struct writer *w, const char *dir, struct crib_err *err)
{
    _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r;

    if (fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "checkpoint images %s", dir);
    r = add_header(w, CKPT_IMAGES_DIR, AE_IFDIR, 0, err);
    return r < 0 ? r : add_images(w, fd, CKPT_IMAGES_DIR, 0, err);
}

static int add_file(struct writer *w, const char *name, const char *path, struct crib_err *err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    struct stat st;

    if (fd < 0 || fstat(fd, &st) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open %s for %s", path, name);
    return add_fd(w, name, fd, st.st_size, err);
}

/* ---- the JSON members --------------------------------------------------- */

/* RFC 3339 in UTC with nanoseconds, which Go's time.Time reads. */
static struct json_object *time_json(int64_t ns)
{
    time_t sec = (time_t)(ns / 1000000000);
    struct tm tm;
    char buf[64];

    gmtime_r(&sec, &tm);
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (long long)(ns % 1000000000));
    return json_object_new_string(buf);
}

/* Sets key to s unless s is NULL (Go's omitempty). */
static void set_string(struct json_object *o, const char *key, const char *s)
{
    if (s)
        json_object_object_add(o, key, json_object_new_string(s));
}

static char *json_text(struct json_object *o)
{
    /* Indented with ": " as Go's json.MarshalIndent writes it. */
    char *text = xstrdup(json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));

    json_object_put(o);
    return text;
}

/* config.dump: checkpointctl's ContainerConfig, as Podman and CRI-O write it. */
static char *config_text(const struct ckpt_contents *c, int64_t checkpointed_ns)
{
    struct json_object *o = json_object_new_object();

    set_string(o, "id", c->id);
    json_object_object_add(o, "name", json_object_new_string(c->name ? c->name : ""));
    set_string(o, "rootfsImage", c->image);
    set_string(o, "rootfsImageRef", c->image_ref);
    set_string(o, "rootfsImageName", c->image_name);
    set_string(o, "runtime", c->runtime);
    json_object_object_add(o, "createdTime", time_json(c->created_ns));
    json_object_object_add(o, "checkpointedTime", time_json(checkpointed_ns));
    /* Go's zero time: not restored yet. */
    json_object_object_add(o, "restoredTime", json_object_new_string("0001-01-01T00:00:00Z"));
    json_object_object_add(o, "restored", json_object_new_boolean(false));
    return json_text(o);
}

static char *crib_text(const struct ckpt_contents *c)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "version", json_object_new_int(CKPT_CRIB_VERSION));
    json_object_object_add(o, "handler", json_object_new_string(handler_kind_name(c->handler)));
    set_string(o, "handlerName", c->handler_name);
    set_string(o, "imageRef", c->image_ref);
    set_string(o, "imageId", c->image_id);
    return json_text(o);
}

static char *deleted_text(const struct ckpt_deleted *d)
{
    struct json_object *o = json_object_new_array();

    for (size_t i = 0; d && i < d->n_paths; i++)
        json_object_array_add(o, json_object_new_string(d->paths[i]));
    return json_text(o);
}

/* ---- the archive -------------------------------------------------------- */

/* Refuses contents the reader would refuse, before any file is made. */
static int check_contents(const struct ckpt_contents *c, struct crib_err *err)
{
    _cleanup_(ckpt_json_putp) struct json_object *o = NULL, *cri = NULL;
    int r;

    if (!c->id || !c->id[0] || !c->spec_json || !c->checkpoint_dir)
        return crib_fail(err, CRIB_INVALID, 0, "checkpoint without %s",
                         !c->id || !c->id[0] ? "a container id"
                         : !c->spec_json     ? "a spec"
                                             : "runtime images");
    if (c->handler != HANDLER_RUNC && c->handler != HANDLER_RUNSC)
        return crib_fail(err, CRIB_INVALID, 0, "checkpoint of unknown handler kind %d",
                         (int)c->handler);
    r = ckpt_json_parse(CKPT_SPEC_DUMP, c->spec_json, json_type_object, &o, err);
    if (r >= 0 && c->cri_config_json)
        r = ckpt_json_parse(CKPT_CRI_CONFIG, c->cri_config_json, json_type_object, &cri, err);
    return r;
}

static int add_members(struct writer *w, const struct ckpt_contents *c, struct crib_err *err)
{
    _cleanup_free_ char *crib = crib_text(c), *deleted = deleted_text(c->deleted);
    _cleanup_free_ char *config =
        config_text(c, (int64_t)w->mtime.tv_sec * 1000000000 + w->mtime.tv_nsec);
    int r = add_text(w, CKPT_CRIB_JSON, crib, err);

    if (r >= 0)
        r = add_text(w, CKPT_CONFIG_DUMP, config, err);
    if (r >= 0)
        r = add_text(w, CKPT_SPEC_DUMP, c->spec_json, err);
    if (r >= 0 && c->cri_config_json)
        r = add_text(w, CKPT_CRI_CONFIG, c->cri_config_json, err);
    if (r >= 0)
        r = add_text(w, CKPT_DELETED_FILES, deleted, err);
    if (r >= 0)
        r = add_images_dir(w, c->checkpoint_dir, err);
    if (r >= 0 && c->rootfs_diff_path)
        r = add_file(w, CKPT_ROOTFS_DIFF, c->rootfs_diff_path, err);
    return r;
}

/* Writes the whole archive to fd and makes it durable. */
static int write_all(const struct ckpt_contents *c, int fd, int64_t deadline_ns,
                     struct crib_err *err)
{
    _cleanup_(writer_done) struct writer w = {.deadline_ns = deadline_ns};
    int r;

    if (c->checkpointed_ns)
        w.mtime =
            (struct timespec){c->checkpointed_ns / 1000000000, c->checkpointed_ns % 1000000000};
    else
        clock_gettime(CLOCK_REALTIME, &w.mtime);
    /* Root's and 0600 whatever the caller's umask and fs defaults: every
     * memory page of the container is in it. */
    if (fchown(fd, 0, 0) < 0 || fchmod(fd, 0600) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "make the archive root's, 0600");
    w.buf = xmalloc(COPY_BLOCK);
    w.a = archive_write_new();
    if (!w.a)
        return crib_fail(err, CRIB_INTERNAL, ENOMEM, "libarchive");
    if (archive_write_set_format_pax_restricted(w.a) != ARCHIVE_OK ||
        archive_write_add_filter_none(w.a) != ARCHIVE_OK ||
        archive_write_open_fd(w.a, fd) != ARCHIVE_OK)
        return tar_fail(&w, "(open)", err);
    r = add_members(&w, c, err);
    if (r < 0)
        return r;
    if (archive_write_close(w.a) != ARCHIVE_OK)
        return tar_fail(&w, "(close)", err);
    if (fsync(fd) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "fsync the archive");
    return check_deadline(&w, "the archive", err);
}

/* Renames tmp (in dir_fd) to leaf and makes the rename durable. */
static int publish(int dir_fd, const char *tmp, const char *leaf, struct crib_err *err)
{
    if (renameat(dir_fd, tmp, dir_fd, leaf) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "rename the archive into place");
    if (fsync(dir_fd) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "fsync the archive's dir");
    return 0;
}

int ckpt_archive_write(const struct ckpt_contents *c, const char *dest_path, int64_t deadline_ns,
                       struct crib_err *err)
{
    char dir[PATH_MAX];
    const char *leaf;
    _cleanup_free_ char *tmp = NULL;
    _cleanup_close_ int dir_fd = -1, fd = -1;
    int r = check_contents(c, err);

    if (r < 0)
        return r;
    if (strlen(dest_path) >= sizeof(dir) || dest_path[0] != '/')
        return crib_fail(err, CRIB_INVALID, 0, "archive path '%.200s' is not absolute", dest_path);
    leaf = relpath_split(dest_path, dir);
    if (!leaf[0])
        return crib_fail(err, CRIB_INVALID, 0, "archive path '%.200s' names a dir", dest_path);
    dir_fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open %s", dir[0] ? dir : "/");
    /* A fresh name in the same dir (mkostemp: O_EXCL, 0600), so the rename
     * is atomic and no reader ever sees half an archive. */
    tmp = xasprintf("%s/.%s.tmp-XXXXXX", dir, leaf);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "create %s", tmp);
    r = write_all(c, fd, deadline_ns, err);
    if (r >= 0)
        r = publish(dir_fd, strrchr(tmp, '/') + 1, leaf, err);
    if (r < 0 && unlink(tmp) < 0 && errno != ENOENT) {
        size_t len = strlen(err->msg);

        snprintf(err->msg + len, sizeof(err->msg) - len, " (removing %s failed too, errno %d)", tmp,
                 errno);
    }
    return r < 0 ? crib_wrap(err, "checkpoint archive %s", dest_path) : 0;
}
