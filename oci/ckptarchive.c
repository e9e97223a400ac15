/* Reading checkpoint archives: validation, then extraction (ckptarchive.h).
 * The writer is in ckptarchive_write.c. */
#include "oci/ckptarchive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <search.h> /* tsearch: member names, symlinks of the diff */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/relpath.h"
#include "common/xalloc.h"
#include "oci/internal.h"

/* Deeper JSON than this is not a spec or a config. */
#define JSON_MAX_DEPTH 64
#define READ_BLOCK (64u << 10)

/* The runtime images a restore cannot do without. */
#define RUNC_REQUIRED CKPT_IMAGES_DIR "/inventory.img"
#define RUNSC_REQUIRED CKPT_IMAGES_DIR "/checkpoint.img"

struct ckpt_archive {
    int fd; /* the archive file; -1 for one in memory */
    const void *mem;
    size_t mem_len;
    struct ckpt_limits limits;
    struct ckpt_meta meta;
    char *crib_text, *config_text, *spec_text, *cri_text, *deleted_text;
    struct json_object *crib, *config; /* meta's strings point into them */
    struct ckpt_deleted deleted;
    bool has_runc_images, has_runsc_state;
};

/* One pass over the archive. */
struct scan {
    struct ckpt_archive *ca;
    struct archive *a;
    uint64_t n_members, n_bytes;
    void *names; /* tsearch tree of the member names seen */
    char *buf;
};

/* Where a rootfs-diff.tar entry is checked: the outer archive it is read from. */
struct inner {
    struct scan *s;
    void *symlinks; /* tsearch tree of the symlink paths the diff made */
    char *buf;
};

static void free_tree(void **tree)
{
    tdestroy(*tree, free);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

void ckpt_archive_free(struct ckpt_archive *a)
{
    if (!a)
        return;
    if (a->fd >= 0)
        close(a->fd);
    free(a->crib_text);
    free(a->config_text);
    free(a->spec_text);
    free(a->cri_text);
    free(a->deleted_text);
    json_object_put(a->crib);
    json_object_put(a->config);
    ckpt_deleted_done(&a->deleted);
    free(a);
}

CRIB_DEFINE_CLEANUP(struct ckpt_archive, ckpt_archive_free)

const struct ckpt_meta *ckpt_archive_meta(const struct ckpt_archive *a)
{
    return &a->meta;
}

static int tar_fail(struct archive *a, const char *what, struct crib_err *err)
{
    const char *msg = archive_error_string(a) ?: "unknown error";

    if (archive_errno(a) == ENOMEM)
        return crib_fail(err, CRIB_INTERNAL, ENOMEM, "%s: %s", what, msg);
    return crib_fail(err, CRIB_INVALID, 0, "%s: %s", what, msg);
}

/* A reader of the archive from its start: the file (rewound) or memory. */
static int reader_open(struct ckpt_archive *ca, struct archive **ret, struct crib_err *err)
{
    struct archive *a = archive_read_new();
    int r;

    if (!a)
        return crib_fail(err, CRIB_INTERNAL, ENOMEM, "libarchive");
    *ret = a;
    if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
        archive_read_support_filter_none(a) != ARCHIVE_OK ||
        archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
        archive_read_support_filter_zstd(a) != ARCHIVE_OK)
        return crib_fail(err, CRIB_INTERNAL, 0, "libarchive: %s", archive_error_string(a));
    if (ca->fd >= 0 && lseek(ca->fd, 0, SEEK_SET) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "rewind the archive");
    if (ca->fd >= 0)
        r = archive_read_open_fd(a, ca->fd, READ_BLOCK);
    else
        r = archive_read_open_memory(a, ca->mem, ca->mem_len);
    if (r != ARCHIVE_OK)
        return tar_fail(a, "not a tar archive", err);
    return 0;
}

/* Reads the next header; ARCHIVE_EOF (1) at the end. The first one failing
 * means the data is no tar at all. */
static int next_header(struct archive *a, uint64_t n_seen, struct archive_entry **ret,
                       const char *what, struct crib_err *err)
{
    int r = archive_read_next_header(a, ret);

    if (r == ARCHIVE_EOF)
        return 1;
    /* ARCHIVE_WARN: e.g. a name the C locale cannot convert; its bytes are
     * kept, which is what Linux wants. */
    if (r == ARCHIVE_OK || r == ARCHIVE_WARN)
        return 0;
    if (n_seen == 0 && archive_errno(a) != ENOMEM)
        return crib_fail(err, CRIB_INVALID, 0, "%s: not a tar archive (%s)", what,
                         archive_error_string(a) ?: "unknown error");
    return tar_fail(a, what, err);
}

/* Checks a top-level member's name and type and writes its normalized name
 * to norm ("" for the archive's own root dir, which is skipped). */
static int check_member(struct archive_entry *ae, char norm[PATH_MAX], struct crib_err *err)
{
    const char *name = archive_entry_pathname(ae);
    mode_t type = archive_entry_filetype(ae);
    enum relpath_problem p;

    if (!name || !name[0])
        return crib_fail(err, CRIB_INVALID, 0, "member without a name");
    p = relpath_normalize(name, norm);
    if (p == RELPATH_DOTDOT)
        return crib_fail(err, CRIB_INVALID, 0, "member '%.200s' leaves the archive ('..')", name);
    if (p != RELPATH_OK)
        return crib_fail(err, CRIB_INVALID, 0, "member '%.200s' %s", name, relpath_problem_str(p));
    if (archive_entry_hardlink(ae))
        return crib_fail(err, CRIB_INVALID, 0, "member '%.200s' is a hard link", name);
    if (type == AE_IFLNK)
        return crib_fail(err, CRIB_INVALID, 0, "member '%.200s' is a symlink", name);
    if (type != AE_IFREG && type != AE_IFDIR)
        return crib_fail(err, CRIB_INVALID, 0, "member '%.200s' is not a file or dir (type 0%o)",
                         name, (unsigned)type);
    if (!norm[0] && type != AE_IFDIR)
        return crib_fail(err, CRIB_INVALID, 0, "member '%.200s' is the root as a file", name);
    if (archive_entry_size(ae) < 0)
        return crib_fail(err, CRIB_INVALID, 0, "member '%.200s' has a negative size", name);
    return 0;
}

/* Counts one more member (or diff entry) of size bytes against the limits. */
static int count_member(struct scan *s, int64_t size, struct crib_err *err)
{
    if (++s->n_members > s->ca->limits.max_members)
        return crib_fail(err, CRIB_INVALID, 0, "archive holds over %llu members",
                         (unsigned long long)s->ca->limits.max_members);
    if (size > 0 && (uint64_t)size > s->ca->limits.max_bytes - s->n_bytes)
        return crib_fail(err, CRIB_INVALID, 0, "archive holds over %llu bytes",
                         (unsigned long long)s->ca->limits.max_bytes);
    s->n_bytes += size > 0 ? (uint64_t)size : 0;
    return 0;
}

/* Reads the current member (size bytes) into a new NUL-terminated text. */
static int read_text(struct archive *a, const char *name, int64_t size, char **ret_text,
                     struct crib_err *err)
{
    _cleanup_free_ char *text = NULL;
    size_t len = 0;

    if (size > CKPT_JSON_MAX_BYTES)
        return crib_fail(err, CRIB_INVALID, 0, "%s is over %u bytes", name, CKPT_JSON_MAX_BYTES);
    text = xmalloc((size_t)size + 1);
    while (len < (size_t)size) {
        la_ssize_t n = archive_read_data(a, text + len, (size_t)size - len);

        if (n < 0)
            return tar_fail(a, name, err);
        if (n == 0)
            return crib_fail(err, CRIB_INVALID, 0, "%s: truncated", name);
        len += (size_t)n;
    }
    text[len] = '\0';
    *ret_text = TAKE_PTR(text);
    return 0;
}

/* ---- rootfs-diff.tar ---------------------------------------------------- */

/* libarchive's read callback for the inner tar: the outer member's data. */
static la_ssize_t inner_read(struct archive *a, void *data, const void **ret_buf)
{
    struct inner *in = data;
    la_ssize_t n = archive_read_data(in->s->a, in->buf, READ_BLOCK);

    if (n < 0) {
        archive_set_error(a, archive_errno(in->s->a) ?: EIO, "%s",
                          archive_error_string(in->s->a) ?: "read error");
        return -1;
    }
    *ret_buf = in->buf;
    return n;
}

/* The symlink the diff made that path goes through, or NULL. */
static const char *through_symlink(struct inner *in, const char *path)
{
    char prefix[PATH_MAX];

    for (const char *p = strchr(path, '/'); p; p = strchr(p + 1, '/')) {
        void *found;

        memcpy(prefix, path, (size_t)(p - path));
        prefix[p - path] = '\0';
        found = tfind(prefix, &in->symlinks, cmp_str);
        if (found)
            return *(const char **)found;
    }
    return NULL;
}

/* Checks a path of the diff (an entry's or a hard link's target). */
static int check_diff_path(struct inner *in, const char *name, const char *what,
                           char norm[PATH_MAX], struct crib_err *err)
{
    enum relpath_problem p = relpath_normalize(name, norm);
    const char *link;

    if (p == RELPATH_DOTDOT || p == RELPATH_ABSOLUTE)
        return crib_fail(err, CRIB_INVALID, 0, "%s '%.200s' leaves the rootfs (%s)", what, name,
                         p == RELPATH_DOTDOT ? "'..' component" : "absolute path");
    if (p != RELPATH_OK)
        return crib_fail(err, CRIB_INVALID, 0, "%s '%.200s' %s", what, name,
                         relpath_problem_str(p));
    link = through_symlink(in, norm);
    if (link)
        return crib_fail(err, CRIB_INVALID, 0, "%s '%.200s' goes through symlink '%.200s'", what,
                         name, link);
    return 0;
}

/* Tracks the diff's symlinks: a later entry at the same path replaces one. */
static void note_symlink(struct inner *in, const char *path, bool is_symlink)
{
    void *found = tfind(path, &in->symlinks, cmp_str);

    if (found && !is_symlink) {
        char *key = *(char **)found;

        tdelete(path, &in->symlinks, cmp_str);
        free(key);
    } else if (!found && is_symlink) {
        if (!tsearch(xstrdup(path), &in->symlinks, cmp_str))
            abort(); /* no memory: as xmalloc */
    }
}

static int check_diff_entry(struct inner *in, struct archive_entry *ae, struct crib_err *err)
{
    const char *name = archive_entry_pathname(ae), *target = archive_entry_hardlink(ae);
    mode_t type = archive_entry_filetype(ae);
    char norm[PATH_MAX], tnorm[PATH_MAX];
    int r;

    if (!name || !name[0])
        return crib_fail(err, CRIB_INVALID, 0, "member without a name");
    r = check_diff_path(in, name, "member", norm, err);
    if (r < 0)
        return r;
    if (target) {
        r = check_diff_path(in, target, "hard link target", tnorm, err);
        if (r < 0)
            return crib_wrap(err, "member '%.200s'", name);
    } else if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK && type != AE_IFCHR &&
               type != AE_IFBLK && type != AE_IFIFO) {
        return crib_fail(err, CRIB_INVALID, 0, "member '%.200s' has type 0%o", name,
                         (unsigned)type);
    }
    note_symlink(in, norm, !target && type == AE_IFLNK);
    return count_member(in->s, archive_entry_size(ae), err);
}

/* Reads the current member, rootfs-diff.tar, as a tar and checks each entry. */
static int scan_diff(struct scan *s, struct crib_err *err)
{
    _cleanup_(free_tree) void *symlinks = NULL;
    struct inner in = {.s = s, .buf = s->buf};
    struct archive *a = archive_read_new();
    struct archive_entry *ae;
    uint64_t n = 0;
    int r = 0;

    if (!a)
        return crib_fail(err, CRIB_INTERNAL, ENOMEM, "libarchive");
    if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
        archive_read_open(a, &in, NULL, inner_read, NULL) != ARCHIVE_OK)
        r = tar_fail(a, "not a tar archive", err);
    while (r >= 0) {
        r = next_header(a, n++, &ae, "tar", err);
        if (r != 0)
            break;
        r = check_diff_entry(&in, ae, err);
    }
    symlinks = in.symlinks;
    archive_read_free(a);
    return r < 0 ? crib_wrap(err, CKPT_ROOTFS_DIFF) : 0;
}

/* ---- the members -------------------------------------------------------- */

/* Where the text of each JSON member goes. */
static char **json_slot(struct ckpt_archive *ca, const char *name)
{
    if (strcmp(name, CKPT_CRIB_JSON) == 0)
        return &ca->crib_text;
    if (strcmp(name, CKPT_CONFIG_DUMP) == 0)
        return &ca->config_text;
    if (strcmp(name, CKPT_SPEC_DUMP) == 0)
        return &ca->spec_text;
    if (strcmp(name, CKPT_CRI_CONFIG) == 0)
        return &ca->cri_text;
    if (strcmp(name, CKPT_DELETED_FILES) == 0)
        return &ca->deleted_text;
    return NULL;
}

/* Refuses a second member of the same name: which one counts would depend
 * on the reader. */
static int note_name(struct scan *s, const char *norm, struct crib_err *err)
{
    char *copy = xstrdup(norm);
    void *found = tsearch(copy, &s->names, cmp_str);

    if (!found)
        abort(); /* no memory: as xmalloc */
    if (*(char **)found != copy) {
        free(copy);
        return crib_fail(err, CRIB_INVALID, 0, "member '%.200s' appears twice", norm);
    }
    return 0;
}

static int scan_member(struct scan *s, struct archive_entry *ae, struct crib_err *err)
{
    bool is_file = archive_entry_filetype(ae) == AE_IFREG;
    int64_t size = archive_entry_size(ae);
    char norm[PATH_MAX], **slot;
    int r = check_member(ae, norm, err);

    if (r < 0 || !norm[0])
        return r;
    r = note_name(s, norm, err);
    if (r < 0)
        return r;
    r = count_member(s, is_file ? size : 0, err);
    if (r < 0)
        return r;
    slot = json_slot(s->ca, norm);
    if ((slot || strcmp(norm, CKPT_ROOTFS_DIFF) == 0) && !is_file)
        return crib_fail(err, CRIB_INVALID, 0, "%s is not a regular file", norm);
    if (slot)
        return read_text(s->a, norm, size, slot, err);
    if (strcmp(norm, CKPT_ROOTFS_DIFF) == 0) {
        s->ca->meta.has_rootfs_diff = true;
        return size > 0 ? scan_diff(s, err) : 0;
    }
    if (strcmp(norm, RUNC_REQUIRED) == 0 && is_file)
        s->ca->has_runc_images = true;
    if (strcmp(norm, RUNSC_REQUIRED) == 0 && is_file)
        s->ca->has_runsc_state = true;
    return 0;
}

static void scan_done(struct scan *s)
{
    if (s->a)
        archive_read_free(s->a);
    tdestroy(s->names, free);
    free(s->buf);
}

static int scan_all(struct ckpt_archive *ca, struct crib_err *err)
{
    _cleanup_(scan_done) struct scan s = {.ca = ca, .buf = xmalloc(READ_BLOCK)};
    struct archive_entry *ae;
    int r = reader_open(ca, &s.a, err);

    while (r >= 0) {
        r = next_header(s.a, s.n_members, &ae, "archive", err);
        if (r != 0)
            break;
        r = scan_member(&s, ae, err);
    }
    return r < 0 ? r : 0;
}

/* ---- the JSON members --------------------------------------------------- */

int ckpt_json_parse(const char *name, const char *text, json_type type, struct json_object **ret,
                    struct crib_err *err)
{
    struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
    size_t len = strlen(text), end;
    enum json_tokener_error jerr;
    struct json_object *o;

    if (!tok)
        abort(); /* no memory: as xmalloc */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    o = json_tokener_parse_ex(tok, text, (int)len);
    jerr = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (jerr != json_tokener_success || strspn(text + end, " \t\r\n") != len - end) {
        json_object_put(o);
        return crib_fail(err, CRIB_INVALID, 0, "%s: not JSON (%s at byte %zu)", name,
                         jerr == json_tokener_success    ? "data after the value"
                         : jerr == json_tokener_continue ? "unexpected end"
                                                         : json_tokener_error_desc(jerr),
                         end);
    }
    if (!json_object_is_type(o, type)) {
        json_object_put(o);
        return crib_fail(err, CRIB_INVALID, 0, "%s: not a JSON %s", name,
                         type == json_type_array ? "array" : "object");
    }
    *ret = o;
    return 0;
}

/* o's string field key, or NULL when absent; a value of another type is
 * refused. */
static int get_string(struct json_object *o, const char *name, const char *key, bool is_required,
                      const char **ret, struct crib_err *err)
{
    struct json_object *v = NULL;

    *ret = NULL;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
        if (is_required)
            return crib_fail(err, CRIB_INVALID, 0, "%s: no \"%s\"", name, key);
        return 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return crib_fail(err, CRIB_INVALID, 0, "%s: \"%s\" is not a string", name, key);
    *ret = json_object_get_string(v);
    return 0;
}

/* config.dump: checkpointctl's ContainerConfig. */
static int parse_config(struct ckpt_archive *ca, struct crib_err *err)
{
    static const char *const times[] = {"createdTime", "checkpointedTime"};
    struct ckpt_meta *m = &ca->meta;
    struct json_object *o;
    const char *ignored;
    int r = ckpt_json_parse(CKPT_CONFIG_DUMP, ca->config_text, json_type_object, &ca->config, err);

    o = ca->config;
    if (r >= 0)
        r = get_string(o, CKPT_CONFIG_DUMP, "id", true, &m->id, err);
    if (r >= 0)
        r = get_string(o, CKPT_CONFIG_DUMP, "name", false, &m->name, err);
    if (r >= 0)
        r = get_string(o, CKPT_CONFIG_DUMP, "rootfsImage", false, &m->image, err);
    if (r >= 0)
        r = get_string(o, CKPT_CONFIG_DUMP, "rootfsImageRef", false, &m->image_ref, err);
    if (r >= 0)
        r = get_string(o, CKPT_CONFIG_DUMP, "rootfsImageName", false, &m->image_name, err);
    if (r >= 0)
        r = get_string(o, CKPT_CONFIG_DUMP, "runtime", false, &m->runtime, err);
    for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(times); i++)
        r = get_string(o, CKPT_CONFIG_DUMP, times[i], false, &ignored, err);
    return r;
}

/* crib.json: the handler (required there) and the image. */
static int parse_crib(struct ckpt_archive *ca, struct crib_err *err)
{
    struct ckpt_meta *m = &ca->meta;
    struct json_object *v = NULL;
    const char *handler, *image_ref = NULL;
    int r = ckpt_json_parse(CKPT_CRIB_JSON, ca->crib_text, json_type_object, &ca->crib, err);

    if (r < 0)
        return r;
    if (!json_object_object_get_ex(ca->crib, "version", &v) ||
        !json_object_is_type(v, json_type_int))
        return crib_fail(err, CRIB_INVALID, 0, "%s: no integer \"version\"", CKPT_CRIB_JSON);
    if (json_object_get_int64(v) != CKPT_CRIB_VERSION)
        return crib_fail(err, CRIB_INVALID, 0, "%s: version %lld is not known (crib reads %d)",
                         CKPT_CRIB_JSON, (long long)json_object_get_int64(v), CKPT_CRIB_VERSION);
    r = get_string(ca->crib, CKPT_CRIB_JSON, "handler", true, &handler, err);
    if (r >= 0 && handler_kind_parse(handler, &m->handler) < 0)
        r = crib_fail(err, CRIB_INVALID, 0, "%s: handler '%.100s' is not known (runc, runsc)",
                      CKPT_CRIB_JSON, handler);
    if (r >= 0)
        r = get_string(ca->crib, CKPT_CRIB_JSON, "handlerName", false, &m->handler_name, err);
    if (r >= 0)
        r = get_string(ca->crib, CKPT_CRIB_JSON, "imageId", false, &m->image_id, err);
    if (r >= 0)
        r = get_string(ca->crib, CKPT_CRIB_JSON, "imageRef", false, &image_ref, err);
    if (image_ref)
        m->image_ref = image_ref;
    return r;
}

/* The handler of an archive without crib.json, from config.dump's runtime:
 * a runtime's name or path (Podman, CRI-O) or containerd's runtime type. */
static int infer_handler(struct ckpt_meta *m, struct crib_err *err)
{
    const char *base;

    if (!m->runtime)
        return crib_fail(err, CRIB_INVALID, 0, "no %s and no runtime in %s: handler unknown",
                         CKPT_CRIB_JSON, CKPT_CONFIG_DUMP);
    base = strrchr(m->runtime, '/') ? strrchr(m->runtime, '/') + 1 : m->runtime;
    if (handler_kind_parse(base, &m->handler) == 0)
        return 0;
    if (strncmp(base, "io.containerd.runc.", 19) == 0) {
        m->handler = HANDLER_RUNC;
        return 0;
    }
    if (strncmp(base, "io.containerd.runsc.", 20) == 0) {
        m->handler = HANDLER_RUNSC;
        return 0;
    }
    return crib_fail(err, CRIB_INVALID, 0, "%s: runtime '%.100s' is not a known handler",
                     CKPT_CONFIG_DUMP, m->runtime);
}

/* deleted.files: relative paths (Podman writes them with a leading "/"). */
static int parse_deleted(struct ckpt_archive *ca, struct crib_err *err)
{
    _cleanup_(ckpt_json_putp) struct json_object *o = NULL;
    char norm[PATH_MAX];
    size_t n;
    int r = ckpt_json_parse(CKPT_DELETED_FILES, ca->deleted_text, json_type_array, &o, err);

    if (r < 0)
        return r;
    n = json_object_array_length(o);
    if (n > ca->limits.max_members)
        return crib_fail(err, CRIB_INVALID, 0, "%s: over %llu paths", CKPT_DELETED_FILES,
                         (unsigned long long)ca->limits.max_members);
    for (size_t i = 0; i < n; i++) {
        struct json_object *v = json_object_array_get_idx(o, i);
        const char *path = json_object_get_string(v);
        enum relpath_problem p;

        if (!json_object_is_type(v, json_type_string))
            return crib_fail(err, CRIB_INVALID, 0, "%s: entry %zu is not a string",
                             CKPT_DELETED_FILES, i);
        p = relpath_normalize(path + strspn(path, "/"), norm);
        if (p == RELPATH_OK && !norm[0])
            return crib_fail(err, CRIB_INVALID, 0, "%s: '%.200s' is the rootfs itself",
                             CKPT_DELETED_FILES, path);
        if (p != RELPATH_OK)
            return crib_fail(err, CRIB_INVALID, 0, "%s: '%.200s' %s", CKPT_DELETED_FILES, path,
                             p == RELPATH_DOTDOT ? "leaves the rootfs ('..')"
                                                 : relpath_problem_str(p));
        ckpt_deleted_add(&ca->deleted, norm);
    }
    return 0;
}

static int check_required(struct ckpt_archive *ca, struct crib_err *err)
{
    if (!ca->config_text)
        return crib_fail(err, CRIB_INVALID, 0, "missing member %s", CKPT_CONFIG_DUMP);
    if (!ca->spec_text)
        return crib_fail(err, CRIB_INVALID, 0, "missing member %s", CKPT_SPEC_DUMP);
    if (ca->meta.handler == HANDLER_RUNC && !ca->has_runc_images)
        return crib_fail(err, CRIB_INVALID, 0, "missing member %s (CRIU images for runc)",
                         RUNC_REQUIRED);
    if (ca->meta.handler == HANDLER_RUNSC && !ca->has_runsc_state)
        return crib_fail(err, CRIB_INVALID, 0, "missing member %s (runsc's state file)",
                         RUNSC_REQUIRED);
    return 0;
}

static int parse_all(struct ckpt_archive *ca, struct crib_err *err)
{
    _cleanup_(ckpt_json_putp) struct json_object *spec = NULL, *cri = NULL;
    int r;

    if (!ca->config_text || !ca->spec_text)
        return check_required(ca, err);
    r = parse_config(ca, err);
    if (r >= 0)
        r = ca->crib_text ? parse_crib(ca, err) : infer_handler(&ca->meta, err);
    if (r >= 0)
        r = ckpt_json_parse(CKPT_SPEC_DUMP, ca->spec_text, json_type_object, &spec, err);
    if (r >= 0 && ca->cri_text)
        r = ckpt_json_parse(CKPT_CRI_CONFIG, ca->cri_text, json_type_object, &cri, err);
    if (r >= 0 && ca->deleted_text)
        r = parse_deleted(ca, err);
    if (r >= 0)
        r = check_required(ca, err);
    return r;
}

static int open_common(struct ckpt_archive *ca, const struct ckpt_limits *limits,
                       struct ckpt_archive **ret_archive, struct crib_err *err)
{
    _cleanup_(ckpt_archive_freep) struct ckpt_archive *owned = ca;
    int r;

    ca->limits.max_bytes = limits && limits->max_bytes ? limits->max_bytes : CKPT_DEFAULT_MAX_BYTES;
    ca->limits.max_members =
        limits && limits->max_members ? limits->max_members : CKPT_DEFAULT_MAX_MEMBERS;
    r = scan_all(ca, err);
    if (r >= 0)
        r = parse_all(ca, err);
    if (r < 0)
        return r;
    ca->meta.config_text = ca->config_text;
    ca->meta.spec_text = ca->spec_text;
    ca->meta.cri_config_text = ca->cri_text;
    ca->meta.deleted = &ca->deleted;
    *ret_archive = TAKE_PTR(owned);
    return 0;
}

int ckpt_archive_open(const char *path, const struct ckpt_limits *limits,
                      struct ckpt_archive **ret_archive, struct crib_err *err)
{
    struct ckpt_archive *ca;
    struct stat st;
    int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    int r;

    if (fd < 0)
        return crib_fail(err, errno == ENOENT ? CRIB_NOT_FOUND : CRIB_INTERNAL, errno,
                         "checkpoint archive %s", path);
    if (fstat(fd, &st) < 0) {
        r = errno;
        close(fd);
        return crib_fail(err, CRIB_INTERNAL, r, "checkpoint archive %s", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return crib_fail(err, CRIB_INVALID, 0, "checkpoint archive %s: not a regular file", path);
    }
    ca = xcalloc(1, sizeof(*ca));
    ca->fd = fd;
    r = open_common(ca, limits, ret_archive, err);
    return r < 0 ? crib_wrap(err, "checkpoint archive %s", path) : 0;
}

int ckpt_archive_open_memory(const void *buf, size_t len, const struct ckpt_limits *limits,
                             struct ckpt_archive **ret_archive, struct crib_err *err)
{
    struct ckpt_archive *ca = xcalloc(1, sizeof(*ca));

    ca->fd = -1;
    ca->mem = buf;
    ca->mem_len = len;
    return open_common(ca, limits, ret_archive, err);
}

/* ---- extraction --------------------------------------------------------- */

struct extractor {
    struct ckpt_archive *ca;
    struct archive *a;
    int root;
    uint64_t n_members, n_bytes;
    char *buf;
};

/* Copies the current member's data into fd, within the byte limit. */
static int copy_member(struct extractor *x, int fd, const char *name, struct crib_err *err)
{
    for (;;) {
        la_ssize_t n = archive_read_data(x->a, x->buf, READ_BLOCK);

        if (n < 0)
            return tar_fail(x->a, name, err);
        if (n == 0)
            return 0;
        if ((uint64_t)n > x->ca->limits.max_bytes - x->n_bytes)
            return crib_fail(err, CRIB_INVALID, 0, "archive holds over %llu bytes",
                             (unsigned long long)x->ca->limits.max_bytes);
        x->n_bytes += (uint64_t)n;
        for (la_ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, x->buf + off, (size_t)(n - off));

            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return crib_fail(err, CRIB_INTERNAL, errno, "write '%.200s'", name);
            off += w;
        }
    }
}

static int extract_member(struct extractor *x, struct archive_entry *ae, struct crib_err *err)
{
    char norm[PATH_MAX], parent[PATH_MAX];
    _cleanup_close_ int pfd = -1, fd = -1;
    const char *leaf;
    int r = check_member(ae, norm, err);

    if (r < 0 || !norm[0])
        return r;
    if (++x->n_members > x->ca->limits.max_members)
        return crib_fail(err, CRIB_INVALID, 0, "archive holds over %llu members",
                         (unsigned long long)x->ca->limits.max_members);
    leaf = relpath_split(norm, parent);
    pfd = ckpt_open_dirs(x->root, parent, 0700, err);
    if (pfd < 0)
        return crib_wrap(err, "member '%.200s'", norm);
    if (archive_entry_filetype(ae) == AE_IFDIR) {
        if (mkdirat(pfd, leaf, 0700) < 0 && errno != EEXIST)
            return crib_fail(err, CRIB_INTERNAL, errno, "make dir '%.200s'", norm);
        return 0;
    }
    /* O_EXCL: a member twice (refused when opened) cannot overwrite; the
     * parent came from openat2, so no symlink is on the way. */
    fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
        return crib_fail(err, CRIB_INVALID, 0, "member '%.200s' appears twice", norm);
    if (fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "create '%.200s'", norm);
    return copy_member(x, fd, norm, err);
}

static int extract_all(struct extractor *x, struct crib_err *err)
{
    struct archive_entry *ae;
    int r = reader_open(x->ca, &x->a, err);

    while (r >= 0) {
        r = next_header(x->a, x->n_members, &ae, "archive", err);
        if (r != 0)
            break;
        r = extract_member(x, ae, err);
    }
    return r < 0 ? r : 0;
}

int ckpt_archive_extract(struct ckpt_archive *a, const char *dest_dir, struct crib_err *err)
{
    char parent[PATH_MAX];
    const char *leaf;
    _cleanup_close_ int pfd = -1;
    struct extractor x = {.ca = a, .root = -1};
    struct crib_err cleanup_err;
    int r;

    if (dest_dir[0] != '/' || strlen(dest_dir) >= sizeof(parent))
        return crib_fail(err, CRIB_INTERNAL, EINVAL, "extract to '%s': not an absolute path",
                         dest_dir);
    leaf = relpath_split(dest_dir, parent);
    pfd = open(parent[0] ? parent : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open %s", parent);
    if (mkdirat(pfd, leaf, 0700) < 0)
        return crib_fail(err, errno == EEXIST ? CRIB_EXISTS : CRIB_INTERNAL, errno, "make %s",
                         dest_dir);
    x.root = openat(pfd, leaf, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    x.buf = xmalloc(READ_BLOCK);
    r = x.root < 0 ? crib_fail(err, CRIB_INTERNAL, errno, "open %s", dest_dir)
                   : extract_all(&x, err);
    if (x.a)
        archive_read_free(x.a);
    free(x.buf);
    if (x.root >= 0)
        close(x.root);
    if (r < 0 && fs_remove_tree_at(pfd, leaf, &cleanup_err) < 0) {
        size_t len = strlen(err->msg);

        snprintf(err->msg + len, sizeof(err->msg) - len, " (removing %s failed too: %s)", dest_dir,
                 cleanup_err.msg);
    }
    return r < 0 ? crib_wrap(err, "extract checkpoint archive") : 0;
}
