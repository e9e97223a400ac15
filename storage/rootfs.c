#include "storage/rootfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h> /* mount, umount2, fsopen, fsconfig, fsmount, move_mount (glibc 2.36) */
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/xalloc.h"
#include "storage/internal.h"

/* mount(2) copies one page of options; leave room for what an LSM appends. */
#define OPTS_ROOM 256
/* Where the short links live, beside upper_dir ("overlay rejects lowerdir
 * options over one page", design.md). */
#define LINK_DIR "l"
/* rootfs_usage keeps one fd per level: a bound on how many it holds. */
#define USAGE_MAX_DEPTH 256

/* Overlay's lowerdir= list splits at ':' and ',' and unescapes '\\'; a path
 * holding one would name another dir, so such paths are refused outright. */
static int check_path(const char *path, const char *what, struct crib_err *err)
{
    if (!path || path[0] != '/')
        return crib_fail(err, CRIB_INVALID, 0, "%s \"%s\" is not absolute", what, path ? path : "");
    if (strpbrk(path, ":,\\"))
        return crib_fail(err, CRIB_INVALID, 0, "%s \"%s\" holds ':', ',' or '\\'", what, path);
    return 0;
}

static int check_spec(const struct rootfs_spec *spec, struct crib_err *err)
{
    int r = 0;

    if (spec->n_lower == 0)
        return crib_fail(err, CRIB_INVALID, 0, "no layers to mount");
    if (!spec->upper_dir != !spec->work_dir)
        return crib_fail(err, CRIB_INVALID, 0, "upper and work dirs go together");
    for (size_t i = 0; i < spec->n_lower && r >= 0; i++)
        r = check_path(spec->lower_dirs[i], "layer dir", err);
    if (r >= 0 && spec->upper_dir)
        r = check_path(spec->upper_dir, "upper dir", err);
    if (r >= 0 && spec->work_dir)
        r = check_path(spec->work_dir, "work dir", err);
    if (r >= 0)
        r = check_path(spec->target, "mountpoint", err);
    return r;
}

static bool is_read_only(const struct rootfs_spec *spec)
{
    return spec->read_only || !spec->upper_dir;
}

/* Fails naming the fsconfig step, with the kernel's own words from the fs
 * context's log when it left some. */
static int config_fail(int fs_fd, const char *step, struct crib_err *err)
{
    int errnum = errno;
    char log[256];
    ssize_t n = read(fs_fd, log, sizeof(log) - 1);

    if (n <= 0)
        return crib_fail(err, CRIB_INTERNAL, errnum, "overlay %s", step);
    log[n] = '\0';
    log[strcspn(log, "\n")] = '\0';
    return crib_fail(err, CRIB_INTERNAL, errnum, "overlay %s (%s)", step, log);
}

/* Mounts with the new mount API, one "lowerdir+" per layer, top layer first.
 * Returns 1 when the kernel lacks it (fsopen: before 5.2; "lowerdir+": before
 * 6.8, refused with EINVAL at the key or, before 6.5, at create). */
static int mount_fsconfig(const struct rootfs_spec *spec, struct crib_err *err)
{
    _cleanup_close_ int fs = -1, mnt = -1;

    fs = fsopen("overlay", FSOPEN_CLOEXEC);
    if (fs < 0 && errno == ENOSYS)
        return 1;
    if (fs < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "fsopen overlay");
    if (fsconfig(fs, FSCONFIG_SET_STRING, "source", "overlay", 0) < 0)
        return config_fail(fs, "source", err);
    for (size_t i = spec->n_lower; i-- > 0;) {
        if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", spec->lower_dirs[i], 0) == 0)
            continue;
        if (errno == EINVAL)
            return 1;
        return config_fail(fs, "lowerdir+", err);
    }
    if (spec->upper_dir && fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", spec->upper_dir, 0) < 0)
        return config_fail(fs, "upperdir", err);
    if (spec->work_dir && fsconfig(fs, FSCONFIG_SET_STRING, "workdir", spec->work_dir, 0) < 0)
        return config_fail(fs, "workdir", err);
    if (fsconfig(fs, FSCONFIG_SET_STRING, "index", "off", 0) < 0)
        return config_fail(fs, "index", err);
    if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return errno == EINVAL ? 1 : config_fail(fs, "create", err);
    mnt = fsmount(fs, FSMOUNT_CLOEXEC, is_read_only(spec) ? MOUNT_ATTR_RDONLY : 0);
    if (mnt < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "fsmount overlay");
    if (move_mount(mnt, "", AT_FDCWD, spec->target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "move the overlay to %s", spec->target);
    return 0;
}

/* "lowerdir=TOP:...:BOTTOM[,upperdir=U,workdir=W],index=off", each layer
 * named by its path, or when links is set by LINK_DIR/<index>. */
static char *legacy_options(const struct rootfs_spec *spec, bool links)
{
    size_t cap = 64, len = 0;
    char *opts;

    for (size_t i = 0; i < spec->n_lower; i++)
        cap += strlen(spec->lower_dirs[i]) + 1;
    cap += spec->upper_dir ? strlen(spec->upper_dir) + strlen(spec->work_dir) + 32 : 0;
    opts = xmalloc(cap);
    len += (size_t)snprintf(opts, cap, "lowerdir=");
    for (size_t i = spec->n_lower; i-- > 0;) {
        const char *sep = i + 1 < spec->n_lower ? ":" : "";

        if (links)
            len += (size_t)snprintf(opts + len, cap - len, "%s" LINK_DIR "/%zu", sep, i);
        else
            len += (size_t)snprintf(opts + len, cap - len, "%s%s", sep, spec->lower_dirs[i]);
    }
    if (spec->upper_dir)
        len += (size_t)snprintf(opts + len, cap - len, ",upperdir=%s,workdir=%s", spec->upper_dir,
                                spec->work_dir);
    snprintf(opts + len, cap - len, ",index=off");
    return opts;
}

struct legacy_mount {
    const struct rootfs_spec *spec;
    const char *opts;
    int dir_fd; /* the dir relative names are resolved from, or -1 */
    int errnum;
};

/* Runs on its own thread: the chdir that relative layer names need must not
 * move the whole daemon's cwd, so this thread stops sharing it first. */
static void *legacy_mount_thread(void *arg)
{
    struct legacy_mount *m = arg;
    unsigned long flags = is_read_only(m->spec) ? MS_RDONLY : 0;

    m->errnum = 0;
    if (m->dir_fd >= 0 && (unshare(CLONE_FS) < 0 || fchdir(m->dir_fd) < 0))
        m->errnum = errno;
    else if (mount("overlay", m->spec->target, "overlay", flags, m->opts) < 0)
        m->errnum = errno;
    return NULL;
}

static int legacy_mount(struct legacy_mount *m, struct crib_err *err)
{
    pthread_t t;
    int r;

    if (m->dir_fd < 0) {
        legacy_mount_thread(m);
    } else {
        r = pthread_create(&t, NULL, legacy_mount_thread, m);
        if (r != 0)
            return crib_fail(err, CRIB_INTERNAL, r, "start the mount thread");
        pthread_join(t, NULL);
    }
    if (m->errnum)
        return crib_fail(err, CRIB_INTERNAL, m->errnum, "mount overlay on %s", m->spec->target);
    return 0;
}

/* Makes LINK_DIR/<i> -> lower_dirs[i] afresh in dir_fd. */
static int make_links(int dir_fd, const struct rootfs_spec *spec, struct crib_err *err)
{
    int r = fs_remove_tree_at(dir_fd, LINK_DIR, err);

    if (r < 0)
        return r;
    if (mkdirat(dir_fd, LINK_DIR, 0700) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "mkdir %s", LINK_DIR);
    for (size_t i = 0; i < spec->n_lower; i++) {
        char name[32];

        snprintf(name, sizeof(name), LINK_DIR "/%zu", i);
        if (symlinkat(spec->lower_dirs[i], dir_fd, name) < 0)
            return crib_fail(err, CRIB_INTERNAL, errno, "symlink %s", name);
    }
    return 0;
}

static int mount_legacy(const struct rootfs_spec *spec, struct crib_err *err)
{
    size_t max = (size_t)sysconf(_SC_PAGESIZE) - OPTS_ROOM;
    _cleanup_free_ char *opts = legacy_options(spec, false), *base = NULL;
    _cleanup_close_ int dir_fd = -1;
    struct legacy_mount m = {spec, opts, -1, 0};
    int r;

    if (strlen(opts) < max)
        return legacy_mount(&m, err);
    free(opts);
    opts = legacy_options(spec, true);
    m.opts = opts;
    if (strlen(opts) >= max)
        return crib_fail(err, CRIB_INVALID, 0, "overlay options for %zu layers exceed a page",
                         spec->n_lower);
    base = xstrdup(spec->upper_dir ? spec->upper_dir : spec->target);
    *strrchr(base, '/') = '\0';
    dir_fd = open(base[0] ? base : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open %s", base);
    r = make_links(dir_fd, spec, err);
    if (r < 0)
        return crib_wrap(err, "%s", base);
    m.dir_fd = dir_fd;
    return legacy_mount(&m, err);
}

/* The dir beside target that makes a single layer with no upper mountable:
 * overlay wants two lower dirs when it has no upper, so an empty one goes below. */
#define EMPTY_DIR "empty"

/* The dir beside target where idmapped copies of the layers are attached
 * while the overlay is made from them; overlay keeps copies of its own. */
#define IDMAP_DIR "idmap"

static char *beside_target(const struct rootfs_spec *spec, const char *name)
{
    return xasprintf("%.*s/%s", (int)(strrchr(spec->target, '/') - spec->target), spec->target,
                     name);
}

static int idmap_one(const char *source, const char *target, int userns_fd, struct crib_err *err)
{
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd};
    _cleanup_close_ int tree = open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    int r = fs_mkdir_p(target, 0700, err);

    if (r < 0)
        return r;
    if (tree < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "clone the mount of %s", source);
    if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "idmap %s", source);
    if (move_mount(tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "attach the idmapped %s", source);
    return 0;
}

/* Detaches and removes the idmapped layer copies; overlay holds its own. */
static void idmap_release(const char *dir, size_t n)
{
    struct crib_err ignored;

    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *path = xasprintf("%s/%zu", dir, i);

        (void)rootfs_unmount(path, &ignored);
        rmdir(path);
    }
    rmdir(dir);
}

/* Overlay itself cannot be idmapped, but its layers can (kernel >= 5.19):
 * each lower dir becomes an idmapped copy; the upper stays as it is and
 * belongs to the namespace's root, so what the container writes is owned
 * by its own IDs on the host. */
static int idmap_layers(const struct rootfs_spec *spec, const char *dir, const char ***ret_dirs,
                        struct crib_err *err)
{
    const char **dirs = xcalloc(spec->n_lower + 1, sizeof(*dirs));
    int r = 0;

    for (size_t i = 0; i < spec->n_lower && r >= 0; i++) {
        char *path = xasprintf("%s/%zu", dir, i);

        dirs[i] = path;
        r = idmap_one(spec->lower_dirs[i], path, spec->idmap_userns_fd, err);
    }
    if (r >= 0 && spec->upper_dir &&
        (chown(spec->upper_dir, spec->owner_uid, spec->owner_gid) < 0 ||
         chown(spec->work_dir, spec->owner_uid, spec->owner_gid) < 0))
        r = crib_fail(err, CRIB_INTERNAL, errno, "chown %s", spec->upper_dir);
    *ret_dirs = dirs;
    return r;
}

static int mount_idmapped(const struct rootfs_spec *spec, unsigned flags, struct crib_err *err)
{
    _cleanup_free_ char *dir = beside_target(spec, IDMAP_DIR);
    const char **dirs = NULL;
    struct rootfs_spec mapped = *spec;
    int r = idmap_layers(spec, dir, &dirs, err);

    if (r >= 0) {
        mapped.lower_dirs = dirs;
        mapped.idmap = false;
        r = rootfs_mount_with(&mapped, flags, err);
    }
    idmap_release(dir, spec->n_lower);
    strv_free((char **)dirs, spec->n_lower);
    return r;
}

int rootfs_mount_with(const struct rootfs_spec *spec, unsigned flags, struct crib_err *err)
{
    _cleanup_free_ char *empty = NULL;
    const char *two[2];
    struct rootfs_spec one;
    int r = check_spec(spec, err);

    if (r >= 0 && spec->idmap) {
        if (spec->upper_dir)
            r = fs_mkdir_p(spec->upper_dir, 0755, err);
        if (r >= 0 && spec->work_dir)
            r = fs_mkdir_p(spec->work_dir, 0700, err);
        return r < 0 ? r : mount_idmapped(spec, flags, err);
    }

    if (r >= 0 && !spec->upper_dir && spec->n_lower == 1) {
        empty = xasprintf("%.*s/" EMPTY_DIR, (int)(strrchr(spec->target, '/') - spec->target),
                          spec->target);
        r = fs_mkdir_p(empty, 0755, err);
        one = *spec;
        two[0] = empty;
        two[1] = spec->lower_dirs[0];
        one.lower_dirs = two;
        one.n_lower = 2;
        spec = &one;
    }
    if (r >= 0 && spec->upper_dir)
        r = fs_mkdir_p(spec->upper_dir, 0755, err);
    if (r >= 0 && spec->work_dir)
        r = fs_mkdir_p(spec->work_dir, 0700, err);
    if (r >= 0)
        r = fs_mkdir_p(spec->target, 0755, err);
    if (r < 0)
        return r;
    if (!(flags & ROOTFS_MOUNT_LEGACY)) {
        r = mount_fsconfig(spec, err);
        if (r <= 0)
            return r;
    }
    return mount_legacy(spec, err);
}

int rootfs_mount(const struct rootfs_spec *spec, struct crib_err *err)
{
    return rootfs_mount_with(spec, 0, err);
}

int rootfs_unmount(const char *target, struct crib_err *err)
{
    /* A mount stacked on another (a retry after a crash) comes off too; the
     * bound only stops a target that something keeps remounting. */
    for (int i = 0; i < 64; i++) {
        if (umount2(target, UMOUNT_NOFOLLOW) == 0)
            continue;
        if (errno == EBUSY && umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
            continue;
        if (errno == EINVAL || errno == ENOENT)
            return 0;
        return crib_fail(err, CRIB_INTERNAL, errno, "unmount %s", target);
    }
    return crib_fail(err, CRIB_INTERNAL, 0, "unmount %s: still mounted", target);
}

bool rootfs_is_mounted(const char *target)
{
    _cleanup_free_ char *parent = xasprintf("%s/..", target);
    struct statx stx, pstx;

    if (statx(AT_FDCWD, target, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0)
        return false;
    if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
        return stx.stx_attributes & STATX_ATTR_MOUNT_ROOT;
    if (statx(AT_FDCWD, parent, 0, STATX_BASIC_STATS, &pstx) < 0)
        return false;
    return stx.stx_dev_major != pstx.stx_dev_major || stx.stx_dev_minor != pstx.stx_dev_minor;
}

struct usage {
    dev_t dev;
    int64_t bytes, inodes;
};

static void count(struct usage *u, const struct stat *st)
{
    u->bytes += (int64_t)st->st_blocks * 512;
    u->inodes++;
}

/* Adds the entries below dir_fd (taken and closed). Entries removed while
 * walking (the container keeps running) are skipped. */
static int walk(int dir_fd, const char *name, unsigned depth, struct usage *u, struct crib_err *err)
{
    _cleanup_closedir_ DIR *d = fdopendir(dir_fd);
    struct dirent *de;

    if (!d) {
        close(dir_fd);
        return crib_fail(err, CRIB_INTERNAL, errno, "opendir %s", name);
    }
    while ((errno = 0, de = readdir(d))) {
        struct stat st;
        int fd, r;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT)
                continue;
            return crib_fail(err, CRIB_INTERNAL, errno, "stat %s/%s", name, de->d_name);
        }
        if (st.st_dev != u->dev) /* a mount below: not this layer's space */
            continue;
        count(u, &st);
        if (!S_ISDIR(st.st_mode))
            continue;
        if (depth >= USAGE_MAX_DEPTH)
            return crib_fail(err, CRIB_INTERNAL, ELOOP, "%s is more than %d dirs deep", name,
                             USAGE_MAX_DEPTH);
        fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
            continue;
        if (fd < 0)
            return crib_fail(err, CRIB_INTERNAL, errno, "open %s/%s", name, de->d_name);
        r = walk(fd, de->d_name, depth + 1, u, err);
        if (r < 0)
            return r;
    }
    if (errno)
        return crib_fail(err, CRIB_INTERNAL, errno, "readdir %s", name);
    return 0;
}

int rootfs_usage(const char *dir, int64_t *ret_bytes, int64_t *ret_inodes, struct crib_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct usage u = {0};
    struct stat st;
    int r;

    if (fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open %s", dir);
    if (fstat(fd, &st) < 0) {
        close(fd);
        return crib_fail(err, CRIB_INTERNAL, errno, "stat %s", dir);
    }
    u.dev = st.st_dev;
    count(&u, &st);
    r = walk(fd, dir, 0, &u, err);
    if (r < 0)
        return crib_wrap(err, "usage of %s", dir);
    *ret_bytes = u.bytes;
    *ret_inodes = u.inodes;
    return 0;
}

int rootfs_bind_copy(const char *source, const char *target, bool recursive_readonly,
                     int idmap_userns_fd, struct crib_err *err)
{
    struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY, .propagation = MS_PRIVATE};
    struct mount_attr idmap = {.attr_set = MOUNT_ATTR_IDMAP,
                               .userns_fd = (uint64_t)idmap_userns_fd};
    _cleanup_close_ int tree = -1;
    int r = fs_mkdir_p(target, 0700, err);

    if (r < 0)
        return r;
    /* A detached copy of the whole tree, changed before anyone can see it,
     * then attached (mount_setattr, kernel >= 5.12). */
    tree = open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (tree < 0)
        return crib_fail(err, errno == ENOENT ? CRIB_NOT_FOUND : CRIB_INTERNAL, errno,
                         "clone the mounts of %s", source);
    if (recursive_readonly &&
        mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &ro, sizeof(ro)) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "make the mounts of %s read-only", source);
    if (idmap_userns_fd >= 0 && mount_setattr(tree, "", AT_EMPTY_PATH, &idmap, sizeof(idmap)) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "idmap %s", source);
    if (move_mount(tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "attach the copy of %s on %s", source, target);
    return 0;
}
