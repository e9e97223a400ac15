#include "oci/ckptdiff.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/limits.h>  /* XATTR_SIZE_MAX */
#include <linux/openat2.h> /* struct open_how, RESOLVE_* */
#include <search.h>        /* tsearch: the hard links seen */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h> /* makedev */
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/relpath.h"
#include "common/xalloc.h"
#include "oci/internal.h"
#include "storage/unpack.h"

#define OPAQUE_XATTR "trusted.overlay.opaque"

/* A container can nest dirs as deep as PATH_MAX allows; each level holds an
 * fd while the walk is below it, so the depth is bounded well under the
 * fd limit. */
#define DIFF_MAX_DEPTH 512

#define COPY_BLOCK (128u << 10)

/* A file with several links: stored once, at path; later names link to it. */
struct link_seen {
    dev_t dev;
    ino_t ino;
    char *path;
};

struct diff_writer {
    struct archive *a;
    int64_t deadline_ns;
    dev_t dev; /* upper dir's fs: a dir on another one is a mount, not crossed */
    void *links;
    struct ckpt_deleted deleted;
    char *buf;
};

bool ckpt_deadline_passed(int64_t deadline_ns)
{
    struct timespec ts;

    if (deadline_ns == 0)
        return false;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec >= deadline_ns;
}

int ckpt_open_in_root(int root, const char *path, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, root, path[0] ? path : ".", &how, sizeof(how));

    return fd < 0 ? -errno : (int)fd;
}

static int resolve_fail(struct crib_err *err, int r, const char *path)
{
    switch (-r) {
    case ELOOP: return crib_fail(err, CRIB_INVALID, 0, "'%s' goes through a symlink", path);
    case ENOTDIR: return crib_fail(err, CRIB_INVALID, 0, "'%s' goes through a non-dir", path);
    case ENOSYS: return crib_fail(err, CRIB_INTERNAL, -r, "openat2 (Linux 5.6+)");
    default: return crib_fail(err, CRIB_INTERNAL, -r, "open '%s'", path);
    }
}

int ckpt_open_dirs(int root, const char *path, unsigned mode, struct crib_err *err)
{
    _cleanup_close_ int fd = ckpt_open_in_root(root, path, O_PATH | O_DIRECTORY);
    char comp[NAME_MAX + 1];

    if (fd != -ENOENT)
        return fd < 0 ? resolve_fail(err, fd, path) : TAKE_FD(fd);
    fd = ckpt_open_in_root(root, "", O_PATH | O_DIRECTORY);
    if (fd < 0)
        return resolve_fail(err, fd, ".");
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        int next;

        if (n > NAME_MAX)
            return crib_fail(err, CRIB_INVALID, 0, "'%s' has a component over 255 bytes", path);
        memcpy(comp, p, n);
        comp[n] = '\0';
        p += n + (p[n] == '/');
        next = ckpt_open_in_root(fd, comp, O_PATH | O_DIRECTORY);
        if (next == -ENOENT) {
            /* Owner and mode set explicitly: the umask and a setgid parent
             * would otherwise decide them. */
            if (mkdirat(fd, comp, mode) < 0 || fchownat(fd, comp, 0, 0, AT_SYMLINK_NOFOLLOW) < 0 ||
                fchmodat(fd, comp, mode, 0) < 0)
                return crib_fail(err, CRIB_INTERNAL, errno, "make dir '%s' of '%s'", comp, path);
            next = ckpt_open_in_root(fd, comp, O_PATH | O_DIRECTORY);
        }
        if (next < 0)
            return resolve_fail(err, next, path);
        close(fd);
        fd = next;
    }
    return TAKE_FD(fd);
}

void ckpt_deleted_done(struct ckpt_deleted *d)
{
    strv_free(d->paths, d->n_paths);
    *d = (struct ckpt_deleted){0};
}

void ckpt_deleted_add(struct ckpt_deleted *d, const char *path)
{
    /* Doubling keeps appends amortized O(1); the list is as long as the
     * layer has whiteouts. */
    if ((d->n_paths & (d->n_paths - 1)) == 0)
        d->paths = xrealloc(d->paths, (d->n_paths ? 2 * d->n_paths : 1) * sizeof(char *));
    d->paths[d->n_paths++] = xstrdup(path);
}

/* ---- writing ---------------------------------------------------------- */

static int cmp_link(const void *a, const void *b)
{
    const struct link_seen *x = a, *y = b;

    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return 0;
}

static void free_link(void *p)
{
    struct link_seen *l = p;

    free(l->path);
    free(l);
}

static void diff_writer_done(struct diff_writer *w)
{
    if (w->a)
        archive_write_free(w->a);
    tdestroy(w->links, free_link);
    ckpt_deleted_done(&w->deleted);
    free(w->buf);
}

static int tar_fail(struct diff_writer *w, const char *path, struct crib_err *err)
{
    return crib_fail(err, CRIB_INTERNAL, archive_errno(w->a), "tar '%s': %s", path,
                     archive_error_string(w->a) ?: "unknown error");
}

/* The path a file with st was first stored at, or NULL; remembers path for
 * the next names of a file with several links. */
static const char *link_first(struct diff_writer *w, const struct stat *st, const char *path)
{
    struct link_seen key = {st->st_dev, st->st_ino, NULL}, *l, **found;

    if (S_ISDIR(st->st_mode) || st->st_nlink < 2)
        return NULL;
    found = tfind(&key, &w->links, cmp_link);
    if (found)
        return (*found)->path;
    l = xmalloc(sizeof(*l));
    *l = (struct link_seen){st->st_dev, st->st_ino, xstrdup(path)};
    if (!tsearch(l, &w->links, cmp_link))
        abort(); /* tsearch fails only without memory, like xmalloc */
    return NULL;
}

/* Whether name is overlay's own bookkeeping, meaningless in another layer. */
static bool is_overlay_xattr(const char *name)
{
    return strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0;
}

/* Copies fd's xattrs (a file or dir) into the entry. */
static int copy_xattrs(int fd, struct archive_entry *ae, const char *path, struct crib_err *err)
{
    _cleanup_free_ char *names = NULL, *value = NULL;
    ssize_t len = flistxattr(fd, NULL, 0);

    if (len < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
        return 0;
    if (len <= 0)
        return len < 0 ? crib_fail(err, CRIB_INTERNAL, errno, "list xattrs of '%s'", path) : 0;
    names = xmalloc((size_t)len);
    value = xmalloc(XATTR_SIZE_MAX);
    len = flistxattr(fd, names, (size_t)len);
    if (len < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "list xattrs of '%s'", path);
    for (char *name = names; name < names + len; name += strlen(name) + 1) {
        ssize_t n;

        if (is_overlay_xattr(name))
            continue;
        n = fgetxattr(fd, name, value, XATTR_SIZE_MAX);
        if (n < 0 && errno == ENODATA)
            continue; /* removed since listed */
        if (n < 0)
            return crib_fail(err, CRIB_INTERNAL, errno, "read xattr '%s' of '%s'", name, path);
        archive_entry_xattr_add_entry(ae, name, value, (size_t)n);
    }
    return 0;
}

/* A new entry for path with st's type, mode, owner, times and size. */
static struct archive_entry *entry_new(const char *path, const struct stat *st)
{
    struct archive_entry *ae = archive_entry_new();

    if (!ae)
        abort(); /* no memory: as xmalloc */
    archive_entry_set_pathname(ae, path);
    archive_entry_copy_stat(ae, st);
    if (!S_ISREG(st->st_mode))
        archive_entry_set_size(ae, 0);
    return ae;
}

static int write_header(struct diff_writer *w, struct archive_entry *ae, const char *path,
                        struct crib_err *err)
{
    int r = archive_write_header(w->a, ae);

    archive_entry_free(ae);
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
        return tar_fail(w, path, err);
    return 0;
}

/* Copies size bytes of fd into the current entry, checking the deadline
 * between blocks. */
static int copy_data(struct diff_writer *w, int fd, off_t size, const char *path,
                     struct crib_err *err)
{
    while (size > 0) {
        size_t want = size < (off_t)COPY_BLOCK ? (size_t)size : COPY_BLOCK;
        ssize_t n = read(fd, w->buf, want);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return crib_fail(err, CRIB_INTERNAL, errno, "read '%s'", path);
        if (n == 0)
            return crib_fail(err, CRIB_INTERNAL, 0, "'%s' shrank while it was read", path);
        if (archive_write_data(w->a, w->buf, (size_t)n) != n)
            return tar_fail(w, path, err);
        size -= n;
        if (ckpt_deadline_passed(w->deadline_ns))
            return crib_fail(err, CRIB_TIMEOUT, 0, "deadline passed while writing '%s'", path);
    }
    return 0;
}

/* Writes the header of a file or dir open at fd, with its xattrs. */
static int write_header_fd(struct diff_writer *w, int fd, const char *path, const struct stat *st,
                           struct crib_err *err)
{
    struct archive_entry *ae = entry_new(path, st);
    int r = copy_xattrs(fd, ae, path, err);

    if (r < 0) {
        archive_entry_free(ae);
        return r;
    }
    return write_header(w, ae, path, err);
}

static int add_file(struct diff_writer *w, int dfd, const char *name, const char *path,
                    const struct stat *st, struct crib_err *err)
{
    _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    int r;

    if (fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open '%s'", path);
    r = write_header_fd(w, fd, path, st, err);
    if (r < 0)
        return r;
    return copy_data(w, fd, st->st_size, path, err);
}

static int add_symlink(struct diff_writer *w, int dfd, const char *name, const char *path,
                       const struct stat *st, struct crib_err *err)
{
    char target[PATH_MAX];
    ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
    struct archive_entry *ae;

    if (n < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "read symlink '%s'", path);
    target[n] = '\0';
    ae = entry_new(path, st);
    archive_entry_set_symlink(ae, target);
    return write_header(w, ae, path, err);
}

static int walk_dir(struct diff_writer *w, int fd, const char *rel, unsigned depth,
                    struct crib_err *err);

static int add_dir(struct diff_writer *w, int dfd, const char *name, const char *path,
                   const struct stat *st, unsigned depth, struct crib_err *err)
{
    _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    char opaque[2];
    int r;

    if (fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open dir '%s'", path);
    if (fgetxattr(fd, OPAQUE_XATTR, opaque, sizeof(opaque)) == 1 && opaque[0] == 'y')
        ckpt_deleted_add(&w->deleted, path);
    r = write_header_fd(w, fd, path, st, err);
    if (r < 0 || st->st_dev != w->dev)
        return r;
    if (depth >= DIFF_MAX_DEPTH)
        return crib_fail(err, CRIB_LIMIT, 0, "'%s' is over %d dirs deep", path, DIFF_MAX_DEPTH);
    return walk_dir(w, fd, path, depth + 1, err);
}

/* Adds name (in dfd, at path in the diff) and what is below it. */
static int add_entry(struct diff_writer *w, int dfd, const char *name, const char *path,
                     unsigned depth, struct crib_err *err)
{
    const char *first;
    struct stat st;

    if (ckpt_deadline_passed(w->deadline_ns))
        return crib_fail(err, CRIB_TIMEOUT, 0, "deadline passed before '%s'", path);
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "stat '%s'", path);
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
        ckpt_deleted_add(&w->deleted, path);
        return 0;
    }
    if (S_ISSOCK(st.st_mode))
        return 0;
    first = link_first(w, &st, path);
    if (first) {
        struct archive_entry *ae = entry_new(path, &st);

        archive_entry_set_size(ae, 0);
        archive_entry_set_hardlink(ae, first);
        return write_header(w, ae, path, err);
    }
    if (S_ISDIR(st.st_mode))
        return add_dir(w, dfd, name, path, &st, depth, err);
    if (S_ISREG(st.st_mode))
        return add_file(w, dfd, name, path, &st, err);
    if (S_ISLNK(st.st_mode))
        return add_symlink(w, dfd, name, path, &st, err);
    /* Devices and fifos: the header is all there is. */
    return write_header(w, entry_new(path, &st), path, err);
}

struct name_list {
    struct dirent **v;
    int n;
};

static void name_list_done(struct name_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* Adds fd's entries in name order, so the same layer gives the same tar. */
static int walk_dir(struct diff_writer *w, int fd, const char *rel, unsigned depth,
                    struct crib_err *err)
{
    _cleanup_(name_list_done) struct name_list l = {NULL, 0};

    l.n = scandirat(fd, ".", &l.v, NULL, alphasort);
    if (l.n < 0) {
        l.n = 0;
        return crib_fail(err, CRIB_INTERNAL, errno, "read dir '%s'", rel[0] ? rel : ".");
    }
    for (int i = 0; i < l.n; i++) {
        const char *name = l.v[i]->d_name;
        _cleanup_free_ char *path = NULL;
        int r;

        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        path = rel[0] ? xasprintf("%s/%s", rel, name) : xstrdup(name);
        r = add_entry(w, fd, name, path, depth, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int writer_open(struct diff_writer *w, int out_fd, struct crib_err *err)
{
    w->a = archive_write_new();
    if (!w->a)
        return crib_fail(err, CRIB_INTERNAL, ENOMEM, "libarchive");
    /* pax: long names, big ids, nanosecond times and xattrs (SCHILY.xattr,
     * which Go's archive/tar reads too). */
    if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
        archive_write_add_filter_none(w->a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK ||
        archive_write_open_fd(w->a, out_fd) != ARCHIVE_OK)
        return tar_fail(w, "rootfs-diff.tar", err);
    return 0;
}

int ckpt_diff_write(const char *upper_dir, int out_fd, int64_t deadline_ns,
                    struct ckpt_deleted *ret_deleted, struct crib_err *err)
{
    _cleanup_(diff_writer_done) struct diff_writer w = {.deadline_ns = deadline_ns};
    _cleanup_close_ int root = open(upper_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    int r;

    if (root < 0 || fstat(root, &st) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open upper dir %s", upper_dir);
    w.dev = st.st_dev;
    w.buf = xmalloc(COPY_BLOCK);
    r = writer_open(&w, out_fd, err);
    if (r < 0)
        return r;
    r = walk_dir(&w, root, "", 0, err);
    if (r < 0)
        return crib_wrap(err, "rootfs diff of %s", upper_dir);
    if (archive_write_close(w.a) != ARCHIVE_OK)
        return tar_fail(&w, "rootfs-diff.tar", err);
    *ret_deleted = w.deleted;
    w.deleted = (struct ckpt_deleted){0};
    return 0;
}

/* ---- applying --------------------------------------------------------- */

static ssize_t read_fd(void *ctx, void *buf, size_t size, struct crib_err *err)
{
    int fd = *(int *)ctx;

    for (;;) {
        ssize_t n = read(fd, buf, size);

        if (n >= 0)
            return n;
        if (errno != EINTR)
            return crib_fail(err, CRIB_INTERNAL, errno, "read rootfs-diff.tar");
    }
}

/* Hides path of the layers below: a dir the diff made turns opaque, anything
 * else becomes a whiteout. */
static int apply_deleted(int root, const char *path, struct crib_err *err)
{
    char norm[PATH_MAX], parent[PATH_MAX];
    enum relpath_problem p;
    _cleanup_close_ int pfd = -1, dfd = -1;
    const char *leaf;
    struct stat st;

    while (*path == '/')
        path++;
    p = relpath_normalize(path, norm);
    if (p != RELPATH_OK)
        return crib_fail(err, CRIB_INVALID, 0, "path %s", relpath_problem_str(p));
    if (!norm[0])
        return crib_fail(err, CRIB_INVALID, 0, "path is the rootfs itself");
    leaf = relpath_split(norm, parent);
    pfd = ckpt_open_dirs(root, parent, 0755, err);
    if (pfd < 0)
        return pfd;
    if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
        dfd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0 || fsetxattr(dfd, OPAQUE_XATTR, "y", 1, 0) < 0)
            return crib_fail(err, CRIB_INTERNAL, errno, "make '%s' opaque", norm);
        return 0;
    }
    if (unlinkat(pfd, leaf, 0) < 0 && errno != ENOENT)
        return crib_fail(err, CRIB_INTERNAL, errno, "remove '%s'", norm);
    if (mknodat(pfd, leaf, S_IFCHR, makedev(0, 0)) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "make whiteout '%s'", norm);
    return 0;
}

static int apply_all(int root, const char *diff_tar_path, const struct ckpt_deleted *deleted,
                     struct crib_err *err)
{
    struct unpack_options opts = {.compression = UNPACK_NONE};
    struct unpack_result res;
    int r;

    if (diff_tar_path) {
        _cleanup_close_ int fd = open(diff_tar_path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
            return crib_fail(err, CRIB_INTERNAL, errno, "open %s", diff_tar_path);
        r = unpack_layer(root, read_fd, &fd, &opts, &res, err);
        if (r < 0)
            return crib_wrap(err, "rootfs-diff.tar");
    }
    for (size_t i = 0; deleted && i < deleted->n_paths; i++) {
        r = apply_deleted(root, deleted->paths[i], err);
        if (r < 0)
            return crib_wrap(err, "deleted.files: '%.200s'", deleted->paths[i]);
    }
    return 0;
}

/* Whether fd (a dir) has no entries. */
static int dir_is_empty(int fd, bool *ret_empty)
{
    _cleanup_closedir_ DIR *d = NULL;
    int dup_fd = dup(fd);
    struct dirent *de;

    if (dup_fd < 0)
        return -errno;
    d = fdopendir(dup_fd);
    if (!d) {
        close(dup_fd);
        return -errno;
    }
    *ret_empty = true;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            *ret_empty = false;
    rewinddir(d); /* the dup shares its offset with fd */
    return 0;
}

/* Removes everything in the dir fd; a failure is passed to the caller. */
static int empty_dir(int fd, struct crib_err *err)
{
    _cleanup_closedir_ DIR *d = NULL;
    int dup_fd = dup(fd);
    struct dirent *de;
    int r = 0;

    if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
        if (dup_fd >= 0)
            close(dup_fd);
        return crib_fail(err, CRIB_INTERNAL, errno, "read upper dir to empty it");
    }
    while (r >= 0 && (de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            r = fs_remove_tree_at(fd, de->d_name, err);
    return r;
}

int ckpt_diff_apply(const char *diff_tar_path, const struct ckpt_deleted *deleted,
                    const char *upper_dir, struct crib_err *err)
{
    _cleanup_close_ int root = open(upper_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct crib_err cleanup_err;
    bool is_empty = false;
    int r;

    if (root < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open upper dir %s", upper_dir);
    r = dir_is_empty(root, &is_empty);
    if (r < 0 || !is_empty)
        return crib_fail(err, CRIB_INTERNAL, r < 0 ? -r : ENOTEMPTY, "upper dir %s", upper_dir);
    r = apply_all(root, diff_tar_path, deleted, err);
    if (r < 0 && empty_dir(root, &cleanup_err) < 0) {
        /* The first error is the one the caller needs; the second is added
         * so that the leftovers are not silent. */
        size_t len = strlen(err->msg);

        snprintf(err->msg + len, sizeof(err->msg) - len, " (emptying %s failed too: %s)", upper_dir,
                 cleanup_err.msg);
    }
    return r;
}
