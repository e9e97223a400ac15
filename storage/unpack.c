#include "storage/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h> /* struct open_how, RESOLVE_* */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h> /* makedev */
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/relpath.h"
#include "common/xalloc.h"
#include "storage/decompress.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define OPAQUE_XATTR "trusted.overlay.opaque"

/* Replacing an existing dir removes its tree by recursion, one fd a level;
 * this bounds the fds and stack one hostile tree can take. */
#define REMOVE_MAX_DEPTH 128

/* Every lookup inside the layer: no symlink, no magic link, and "/" is the
 * layer dir, so nothing can lead outside even if a name slipped through. */
#define RESOLVE_LAYER (RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

/* A dir whose times are set after all entries, since its children change them. */
struct dir_time {
    char *path;
    size_t seq; /* a dir listed twice takes its later entry's times */
    struct timespec ts[2];
};

struct unpacker {
    int root_fd;
    struct archive *a;
    struct decomp *dc;
    bool is_stage_failed;
    struct crib_err stage_err; /* what the decompression stage said, for libarchive's caller */
    struct unpack_result res;
    struct dir_time *dirs;
    size_t n_dirs, cap_dirs;
};

/* The entry being extracted. path is the name normalized; parent + "/" + leaf
 * is path, and parent is "" at the top. path "" is the layer dir itself. */
struct entry {
    struct archive_entry *ae;
    char path[PATH_MAX];
    char parent[PATH_MAX];
    const char *leaf;
};

/* Opens path below root (the layer dir) with RESOLVE_LAYER; "" is root itself.
 * Returns the fd or a negative errno. */
static int open_in_root(int root, const char *path, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .resolve = RESOLVE_LAYER,
    };
    long fd = syscall(SYS_openat2, root, path[0] ? path : ".", &how, sizeof(how));

    return fd < 0 ? -errno : (int)fd;
}

/* Fills err for a failed open_in_root of what ("parent path", ...). */
static int resolve_fail(struct crib_err *err, int r, const char *what)
{
    switch (-r) {
    case ELOOP: return crib_fail(err, CRIB_INVALID, 0, "%s goes through a symlink", what);
    case ENOTDIR: return crib_fail(err, CRIB_INVALID, 0, "%s goes through a non-dir", what);
    case ENOENT: return crib_fail(err, CRIB_INVALID, 0, "%s does not exist", what);
    case ENOSYS: return crib_fail(err, CRIB_INTERNAL, -r, "openat2 (Linux 5.6+)");
    default: return crib_fail(err, CRIB_INTERNAL, -r, "open %s", what);
    }
}

/* Why name is refused, or NULL: relpath's reasons, with ".." worded for
 * a layer. Fills out with the normalized form. */
static const char *normalize(const char *name, char out[PATH_MAX])
{
    enum relpath_problem p = relpath_normalize(name, out);

    if (p == RELPATH_OK)
        return NULL;
    if (p == RELPATH_DOTDOT)
        return "leaves the layer ('..' component)";
    return relpath_problem_str(p);
}

/* Creates the missing dirs of parent one component at a time (0755, root's),
 * as tar streams may leave them out, and opens the last. */
static int make_parents(struct unpacker *u, const char *parent, int flags, struct crib_err *err)
{
    _cleanup_close_ int fd = open_in_root(u->root_fd, "", O_PATH | O_DIRECTORY);
    char comp[NAME_MAX + 1];

    if (fd < 0)
        return resolve_fail(err, fd, "layer dir");
    for (const char *p = parent; *p;) {
        size_t n = strcspn(p, "/");
        int next;

        memcpy(comp, p, n);
        comp[n] = '\0';
        p += n + (p[n] == '/');
        next = open_in_root(fd, comp, *p ? O_PATH | O_DIRECTORY : flags);
        if (next == -ENOENT) {
            if (mkdirat(fd, comp, 0755) < 0)
                return crib_fail(err, CRIB_INTERNAL, errno, "create parent dir '%s'", comp);
            u->res.n_inodes++;
            /* Owner and mode fixed explicitly: the umask and a setgid parent
             * would otherwise decide them. */
            if (fchownat(fd, comp, 0, 0, AT_SYMLINK_NOFOLLOW) < 0 ||
                fchmodat(fd, comp, 0755, 0) < 0)
                return crib_fail(err, CRIB_INTERNAL, errno, "set up parent dir '%s'", comp);
            next = open_in_root(fd, comp, *p ? O_PATH | O_DIRECTORY : flags);
        }
        if (next < 0)
            return resolve_fail(err, next, "parent path");
        close(fd);
        fd = next;
    }
    return TAKE_FD(fd);
}

/* Opens the entry's parent dir with flags (O_DIRECTORY and more), creating it
 * when missing. Returns the fd. */
static int open_parent(struct unpacker *u, const struct entry *e, int flags, struct crib_err *err)
{
    int fd = open_in_root(u->root_fd, e->parent, flags);

    if (fd == -ENOENT)
        return make_parents(u, e->parent, flags, err);
    if (fd < 0)
        return resolve_fail(err, fd, "parent path");
    return fd;
}

static int remove_tree(int dfd, const char *name, unsigned depth, struct crib_err *err);

/* Empties the dir name (in dfd) by recursion. */
static int remove_children(int dfd, const char *name, unsigned depth, struct crib_err *err)
{
    _cleanup_closedir_ DIR *d = NULL;
    struct dirent *de;
    int fd, r;

    if (depth >= REMOVE_MAX_DEPTH)
        return crib_fail(err, CRIB_INVALID, 0, "tree to replace is over %d levels deep",
                         REMOVE_MAX_DEPTH);
    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open '%s' to replace it", name);
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return crib_fail(err, CRIB_INTERNAL, errno, "read '%s' to replace it", name);
    }
    while ((errno = 0, de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        r = remove_tree(dirfd(d), de->d_name, depth + 1, err);
        if (r < 0)
            return r;
    }
    if (errno)
        return crib_fail(err, CRIB_INTERNAL, errno, "read '%s' to replace it", name);
    return 0;
}

/* Removes whatever is at name in dfd, a whole tree if it is a dir; nothing
 * there is fine. Tar semantics: a later entry replaces an earlier one. */
static int remove_tree(int dfd, const char *name, unsigned depth, struct crib_err *err)
{
    int r;

    if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR)
        return crib_fail(err, CRIB_INTERNAL, errno, "remove '%s' to replace it", name);
    if (unlinkat(dfd, name, AT_REMOVEDIR) == 0)
        return 0;
    if (errno != ENOTEMPTY && errno != EEXIST)
        return crib_fail(err, CRIB_INTERNAL, errno, "remove '%s' to replace it", name);
    r = remove_children(dfd, name, depth, err);
    if (r < 0)
        return r;
    if (unlinkat(dfd, name, AT_REMOVEDIR) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "remove '%s' to replace it", name);
    return 0;
}

/* The entry's atime and mtime; a missing atime is the mtime, as Docker does,
 * so the result does not depend on when it was unpacked. */
static void entry_times(struct archive_entry *ae, struct timespec ts[2])
{
    ts[1] = (struct timespec){.tv_nsec = UTIME_OMIT};
    if (archive_entry_mtime_is_set(ae))
        ts[1] = (struct timespec){archive_entry_mtime(ae), archive_entry_mtime_nsec(ae)};
    ts[0] = ts[1];
    if (archive_entry_atime_is_set(ae))
        ts[0] = (struct timespec){archive_entry_atime(ae), archive_entry_atime_nsec(ae)};
}

/* Sets the entry's xattrs on fd, or on path when fd < 0. user.* is skipped
 * where the kernel allows it only on files and dirs (xattr(7)). */
static int set_xattrs(struct archive_entry *ae, int fd, const char *path, bool is_user_ok,
                      struct crib_err *err)
{
    const char *name;
    const void *value;
    size_t size;

    archive_entry_xattr_reset(ae);
    while (archive_entry_xattr_next(ae, &name, &value, &size) == ARCHIVE_OK) {
        int r;

        if (!name || (!is_user_ok && strncmp(name, "user.", 5) == 0))
            continue;
        if (fd >= 0)
            r = fsetxattr(fd, name, value ? value : "", size, 0);
        else
            r = setxattr(path, name, value ? value : "", size, 0);
        if (r < 0 && (errno == EINVAL || errno == ERANGE || errno == E2BIG))
            return crib_fail(err, CRIB_INVALID, errno, "xattr '%.100s'", name);
        if (r < 0)
            return crib_fail(err, CRIB_INTERNAL, errno, "set xattr '%.100s'", name);
    }
    return 0;
}

/* xattrs of a symlink or device node, which cannot be opened for fsetxattr:
 * setxattr on the /proc/self/fd link of an O_PATH fd reaches the inode itself
 * without following a symlink. */
static int set_xattrs_at(int pfd, const char *leaf, struct archive_entry *ae, struct crib_err *err)
{
    _cleanup_close_ int fd = -1;
    char path[32];

    if (archive_entry_xattr_count(ae) == 0)
        return 0;
    fd = openat(pfd, leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open for xattrs");
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    return set_xattrs(ae, -1, path, false, err);
}

/* Owner, then mode (a chown clears setuid/setgid), then xattrs (a chown
 * clears security.capability). Numeric ids only, as containerd does. */
static int set_fd_meta(int fd, struct archive_entry *ae, struct crib_err *err)
{
    if (fchown(fd, (uid_t)archive_entry_uid(ae), (gid_t)archive_entry_gid(ae)) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "chown");
    if (fchmod(fd, archive_entry_perm(ae) & 07777) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "chmod");
    return set_xattrs(ae, fd, NULL, true, err);
}

/* Fills err from libarchive's failure, or passes on the stage's own error. */
static int tar_fail(struct unpacker *u, struct crib_err *err)
{
    const char *msg = archive_error_string(u->a);

    if (u->is_stage_failed) {
        *err = u->stage_err;
        return crib_err_ret(err);
    }
    if (!msg)
        msg = "unknown error";
    if (strcasestr(msg, "truncated"))
        return crib_fail(err, CRIB_INVALID, 0, "truncated tar stream (%s)", msg);
    return crib_fail(err, CRIB_INVALID, 0, "bad tar stream: %s", msg);
}

/* Writes all of buf at off, however many calls it takes. */
static int write_at(int fd, const char *buf, size_t size, int64_t off, struct crib_err *err)
{
    while (size > 0) {
        ssize_t n = pwrite(fd, buf, size, off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EFBIG || errno == EINVAL))
            return crib_fail(err, CRIB_INVALID, errno, "write at offset %lld", (long long)off);
        if (n < 0)
            return crib_fail(err, CRIB_INTERNAL, errno, "write");
        buf += n;
        size -= (size_t)n;
        off += n;
    }
    return 0;
}

/* Copies the entry's data into fd, block by block straight out of the
 * decompressor's buffer; holes of sparse entries stay holes. */
static int write_data(struct unpacker *u, const struct entry *e, int fd, struct crib_err *err)
{
    int64_t end = 0, size = archive_entry_size(e->ae);

    for (;;) {
        const void *buf;
        size_t n;
        la_int64_t off;
        int r = archive_read_data_block(u->a, &buf, &n, &off);

        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK)
            return tar_fail(u, err);
        if (off < 0)
            return crib_fail(err, CRIB_INVALID, 0, "data at offset %lld", (long long)off);
        r = write_at(fd, buf, n, off, err);
        if (r < 0)
            return r;
        if (off + (int64_t)n > end)
            end = off + (int64_t)n;
    }
    if (size > end && ftruncate(fd, size) < 0)
        return crib_fail(err, errno == EFBIG ? CRIB_INVALID : CRIB_INTERNAL, errno,
                         "extend to %lld bytes", (long long)size);
    return 0;
}

static int make_file(struct unpacker *u, const struct entry *e, int pfd, struct crib_err *err)
{
    _cleanup_close_ int fd = -1;
    struct timespec ts[2];
    int r;

    fd = openat(pfd, e->leaf, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "create file");
    u->res.n_inodes++;
    r = write_data(u, e, fd, err);
    if (r < 0)
        return r;
    r = set_fd_meta(fd, e->ae, err);
    if (r < 0)
        return r;
    entry_times(e->ae, ts);
    if (futimens(fd, ts) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "set times");
    if (archive_entry_size(e->ae) > 0)
        u->res.content_bytes += (uint64_t)archive_entry_size(e->ae);
    return 0;
}

/* Remembers a dir's times for apply_dir_times. */
static void record_dir_times(struct unpacker *u, const struct entry *e)
{
    struct dir_time *d;

    if (u->n_dirs == u->cap_dirs) {
        u->cap_dirs = u->cap_dirs ? 2 * u->cap_dirs : 64;
        u->dirs = xrealloc(u->dirs, u->cap_dirs * sizeof(*u->dirs));
    }
    d = &u->dirs[u->n_dirs];
    d->path = xstrdup(e->path);
    d->seq = u->n_dirs++;
    entry_times(e->ae, d->ts);
}

/* Creates the dir, or keeps the dir already there and updates it; pfd < 0
 * for the layer dir itself. */
static int make_dir(struct unpacker *u, const struct entry *e, int pfd, struct crib_err *err)
{
    _cleanup_close_ int fd = -1;
    struct stat st;
    int r;

    if (pfd < 0) {
        fd = open_in_root(u->root_fd, "", O_RDONLY | O_DIRECTORY);
        if (fd < 0)
            return resolve_fail(err, fd, "layer dir");
    } else {
        r = mkdirat(pfd, e->leaf, 0700);
        if (r < 0 && errno == EEXIST && fstatat(pfd, e->leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            !S_ISDIR(st.st_mode)) {
            r = remove_tree(pfd, e->leaf, 0, err);
            if (r < 0)
                return r;
            r = mkdirat(pfd, e->leaf, 0700);
        }
        if (r < 0 && errno != EEXIST)
            return crib_fail(err, CRIB_INTERNAL, errno, "create dir");
        if (r == 0)
            u->res.n_inodes++;
        fd = openat(pfd, e->leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open dir");
    r = set_fd_meta(fd, e->ae, err);
    if (r < 0)
        return r;
    record_dir_times(u, e);
    return 0;
}

/* Owner, mode, xattrs and times of a symlink or node, by name in pfd. */
static int set_meta_at(int pfd, const struct entry *e, bool is_symlink, struct crib_err *err)
{
    struct timespec ts[2];
    int r;

    if (fchownat(pfd, e->leaf, (uid_t)archive_entry_uid(e->ae), (gid_t)archive_entry_gid(e->ae),
                 AT_SYMLINK_NOFOLLOW) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "chown");
    /* Symlinks have no mode of their own on Linux. */
    if (!is_symlink && fchmodat(pfd, e->leaf, archive_entry_perm(e->ae) & 07777, 0) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "chmod");
    r = set_xattrs_at(pfd, e->leaf, e->ae, err);
    if (r < 0)
        return r;
    entry_times(e->ae, ts);
    if (utimensat(pfd, e->leaf, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "set times");
    return 0;
}

/* The target is stored as it is: it is never followed while unpacking. */
static int make_symlink(struct unpacker *u, const struct entry *e, int pfd, struct crib_err *err)
{
    const char *target = archive_entry_symlink(e->ae) ?: archive_entry_symlink_utf8(e->ae);

    if (!target || !target[0])
        return crib_fail(err, CRIB_INVALID, 0, "symlink without a target");
    if (symlinkat(target, pfd, e->leaf) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "create symlink");
    u->res.n_inodes++;
    return set_meta_at(pfd, e, true, err);
}

static int make_node(struct unpacker *u, const struct entry *e, int pfd, mode_t type,
                     struct crib_err *err)
{
    dev_t dev = type == S_IFIFO ? 0 : archive_entry_rdev(e->ae);

    if (mknodat(pfd, e->leaf, type | 0600, dev) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "create %s",
                         type == S_IFIFO ? "fifo" : "device node");
    u->res.n_inodes++;
    return set_meta_at(pfd, e, false, err);
}

/* Links to an entry already unpacked; the target is resolved like any path,
 * so it cannot name anything outside the layer or reach it through a symlink. */
static int make_hardlink(struct unpacker *u, const struct entry *e, int pfd, const char *target,
                         struct crib_err *err)
{
    char tpath[PATH_MAX], tparent[PATH_MAX], what[320];
    const char *why = normalize(target, tpath), *tleaf;
    _cleanup_close_ int tfd = -1;
    struct stat st;

    snprintf(what, sizeof(what), "hardlink target '%.200s'", target);
    if (why)
        return crib_fail(err, CRIB_INVALID, 0, "%s %s", what, why);
    if (!tpath[0] || strcmp(tpath, e->path) == 0)
        return crib_fail(err, CRIB_INVALID, 0, "%s is %s", what,
                         tpath[0] ? "the entry itself" : "the layer dir");
    tleaf = relpath_split(tpath, tparent);
    tfd = open_in_root(u->root_fd, tparent, O_PATH | O_DIRECTORY);
    if (tfd < 0)
        return resolve_fail(err, tfd, what);
    if (fstatat(tfd, tleaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return resolve_fail(err, -errno, what);
    if (S_ISDIR(st.st_mode))
        return crib_fail(err, CRIB_INVALID, 0, "%s is a dir", what);
    if (linkat(tfd, tleaf, pfd, e->leaf, 0) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "link to '%.200s'", target);
    return 0;
}

/* ".wh..wh..opq" makes its dir opaque; ".wh.NAME" hides NAME of the layers
 * below: the forms overlayfs reads. Other ".wh..wh." names are aufs metadata
 * (".wh..wh.plnk"), meaningless to overlayfs, and skipped as containerd does. */
static int make_whiteout(struct unpacker *u, const struct entry *e, struct crib_err *err)
{
    const char *name = e->leaf + strlen(WHITEOUT_PREFIX);
    _cleanup_close_ int fd = -1;
    int r;

    if (strcmp(e->leaf, WHITEOUT_OPAQUE) == 0) {
        fd = open_parent(u, e, O_RDONLY | O_DIRECTORY, err);
        if (fd < 0)
            return fd;
        if (fsetxattr(fd, OPAQUE_XATTR, "y", 1, 0) < 0)
            return crib_fail(err, CRIB_INTERNAL, errno, "set " OPAQUE_XATTR);
        return 0;
    }
    if (strncmp(e->leaf, WHITEOUT_META_PREFIX, strlen(WHITEOUT_META_PREFIX)) == 0)
        return 0;
    if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return crib_fail(err, CRIB_INVALID, 0, "whiteout of '%s'", name);
    fd = open_parent(u, e, O_PATH | O_DIRECTORY, err);
    if (fd < 0)
        return fd;
    r = remove_tree(fd, name, 0, err);
    if (r < 0)
        return r;
    if (mknodat(fd, name, S_IFCHR, makedev(0, 0)) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "create whiteout");
    u->res.n_inodes++;
    return 0;
}

/* Creates a non-dir entry in pfd, replacing what is there, as tar does. */
static int make_nondir(struct unpacker *u, const struct entry *e, int pfd, struct crib_err *err)
{
    const char *target = archive_entry_hardlink(e->ae) ?: archive_entry_hardlink_utf8(e->ae);
    mode_t type = archive_entry_filetype(e->ae);
    int r;

    if (!target && type != AE_IFREG && type != AE_IFLNK && type != AE_IFCHR && type != AE_IFBLK &&
        type != AE_IFIFO)
        return crib_fail(err, CRIB_INVALID, 0, "unsupported entry type 0%o", (unsigned)type);
    r = remove_tree(pfd, e->leaf, 0, err);
    if (r < 0)
        return r;
    if (target)
        return make_hardlink(u, e, pfd, target, err);
    switch (type) {
    case AE_IFREG: return make_file(u, e, pfd, err);
    case AE_IFLNK: return make_symlink(u, e, pfd, err);
    case AE_IFCHR: return make_node(u, e, pfd, S_IFCHR, err);
    case AE_IFBLK: return make_node(u, e, pfd, S_IFBLK, err);
    default: return make_node(u, e, pfd, S_IFIFO, err);
    }
}

static int extract(struct unpacker *u, struct entry *e, const char *name, struct crib_err *err)
{
    const char *why = normalize(name, e->path);
    _cleanup_close_ int pfd = -1;
    int64_t uid = archive_entry_uid(e->ae), gid = archive_entry_gid(e->ae);

    if (why)
        return crib_fail(err, CRIB_INVALID, 0, "path %s", why);
    /* (uid_t)-1 would mean "leave the owner as it is" to chown. */
    if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX)
        return crib_fail(err, CRIB_INVALID, 0, "owner %lld:%lld out of range", (long long)uid,
                         (long long)gid);
    e->leaf = relpath_split(e->path, e->parent);
    if (!e->path[0] && archive_entry_filetype(e->ae) != AE_IFDIR)
        return crib_fail(err, CRIB_INVALID, 0, "the layer dir itself as a non-dir");
    if (!e->path[0])
        return make_dir(u, e, -1, err);
    if (strncmp(e->leaf, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0)
        return make_whiteout(u, e, err);
    pfd = open_parent(u, e, O_PATH | O_DIRECTORY, err);
    if (pfd < 0)
        return pfd;
    if (archive_entry_filetype(e->ae) == AE_IFDIR && !archive_entry_hardlink(e->ae))
        return make_dir(u, e, pfd, err);
    return make_nondir(u, e, pfd, err);
}

/* Extracts one entry; every error names it. */
static int extract_entry(struct unpacker *u, struct archive_entry *ae, struct crib_err *err)
{
    const char *name = archive_entry_pathname(ae) ?: archive_entry_pathname_utf8(ae);
    struct entry e = {.ae = ae};
    int r;

    if (!name)
        return crib_fail(err, CRIB_INVALID, 0, "layer entry without a name");
    r = extract(u, &e, name, err);
    if (r < 0)
        return crib_wrap(err, "layer entry '%.200s'", name);
    return 0;
}

/* Deepest first; a dir listed twice gets its later entry's times last. */
static int cmp_dir_time(const void *a, const void *b)
{
    const struct dir_time *x = a, *y = b;
    int dx = x->path[0] ? 1 : 0, dy = y->path[0] ? 1 : 0;

    for (const char *p = x->path; *p; p++)
        dx += *p == '/';
    for (const char *p = y->path; *p; p++)
        dy += *p == '/';
    if (dx != dy)
        return dy - dx;
    return x->seq < y->seq ? -1 : 1;
}

/* Sets the dirs' times last, since creating their children changed them. */
static int apply_dir_times(struct unpacker *u, struct crib_err *err)
{
    if (u->n_dirs > 0)
        qsort(u->dirs, u->n_dirs, sizeof(*u->dirs), cmp_dir_time);
    for (size_t i = 0; i < u->n_dirs; i++) {
        _cleanup_close_ int fd = open_in_root(u->root_fd, u->dirs[i].path, O_RDONLY | O_DIRECTORY);

        /* A later entry replaced or whited out this dir: nothing to set. */
        if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP)
            continue;
        if (fd < 0)
            return crib_fail(err, CRIB_INTERNAL, -fd, "layer dir '%.200s': open to set times",
                             u->dirs[i].path);
        if (futimens(fd, u->dirs[i].ts) < 0)
            return crib_fail(err, CRIB_INTERNAL, errno, "layer dir '%.200s': set times",
                             u->dirs[i].path);
    }
    return 0;
}

/* libarchive's read callback: the next block of the tar stream. */
static la_ssize_t tar_read(struct archive *a, void *data, const void **ret_buf)
{
    struct unpacker *u = data;
    ssize_t n = decomp_next(u->dc, ret_buf, &u->stage_err);

    if (n < 0) {
        u->is_stage_failed = true;
        archive_set_error(a, -n, "%s", u->stage_err.msg);
        return -1;
    }
    return n;
}

static int extract_all(struct unpacker *u, struct crib_err *err)
{
    struct archive_entry *ae;
    int r;

    u->a = archive_read_new();
    if (!u->a)
        return crib_fail(err, CRIB_INTERNAL, ENOMEM, "libarchive");
    if (archive_read_support_format_tar(u->a) != ARCHIVE_OK ||
        archive_read_support_filter_none(u->a) != ARCHIVE_OK)
        return crib_fail(err, CRIB_INTERNAL, 0, "libarchive: %s", archive_error_string(u->a));
    if (archive_read_open(u->a, u, NULL, tar_read, NULL) != ARCHIVE_OK)
        return tar_fail(u, err);
    for (;;) {
        r = archive_read_next_header(u->a, &ae);
        if (r == ARCHIVE_EOF)
            return 0;
        /* ARCHIVE_WARN: e.g. a UTF-8 name the C locale cannot convert; its
         * bytes are kept as they are, which is what Linux wants. */
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
            return tar_fail(u, err);
        r = extract_entry(u, ae, err);
        if (r < 0)
            return r;
    }
}

static void unpacker_done(struct unpacker *u)
{
    if (u->a)
        archive_read_free(u->a);
    decomp_free(u->dc);
    for (size_t i = 0; i < u->n_dirs; i++)
        free(u->dirs[i].path);
    free(u->dirs);
}

int unpack_layer(int dir_fd, unpack_read_fn read_fn, void *read_ctx,
                 const struct unpack_options *opts, struct unpack_result *ret_result,
                 struct crib_err *err)
{
    _cleanup_(unpacker_done) struct unpacker u = {.root_fd = dir_fd};
    int r;

    r = decomp_new(opts->compression, opts->max_unpacked_bytes, read_fn, read_ctx, &u.dc, err);
    if (r < 0)
        return r;
    r = extract_all(&u, err);
    if (r < 0)
        return r;
    /* The tar reader stops at its end marker; padding and trailers follow. */
    r = decomp_drain(u.dc, err);
    if (r < 0)
        return r;
    r = apply_dir_times(&u, err);
    if (r < 0)
        return r;
    decomp_finish(u.dc, &u.res);
    *ret_result = u.res;
    return 0;
}
