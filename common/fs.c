#include "common/fs.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

int fs_mkdir_p(const char *path, unsigned mode, struct crib_err *err)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(buf))
        return crib_fail(err, CRIB_INVALID, ENAMETOOLONG, "bad directory path '%s'", path);
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return crib_fail(err, CRIB_INTERNAL, errno, "mkdir %s", buf);
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return crib_fail(err, CRIB_INTERNAL, errno, "mkdir %s", buf);
    return 0;
}

int fs_read_fd(int fd, size_t max_bytes, char **ret_buf, size_t *ret_len, struct crib_err *err)
{
    _cleanup_free_ char *buf = NULL;
    size_t cap = 0, len = 0;

    for (;;) {
        ssize_t n;

        if (cap - len < 2) {
            cap = cap ? cap * 2 : 4096;
            if (cap > max_bytes + 2)
                cap = max_bytes + 2;
            buf = xrealloc(buf, cap);
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return crib_fail(err, CRIB_INTERNAL, errno, "read");
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max_bytes)
            return crib_fail(err, CRIB_LIMIT, EFBIG, "more than %zu bytes", max_bytes);
    }
    if (!buf)
        buf = xmalloc(1);
    buf[len] = '\0';
    *ret_buf = TAKE_PTR(buf);
    if (ret_len)
        *ret_len = len;
    return 0;
}

int fs_read_file(const char *path, size_t max_bytes, char **ret_buf, size_t *ret_len,
                 struct crib_err *err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    int r;

    if (fd < 0)
        return crib_fail(err, errno == ENOENT ? CRIB_NOT_FOUND : CRIB_INTERNAL, errno, "open %s",
                         path);
    r = fs_read_fd(fd, max_bytes, ret_buf, ret_len, err);
    if (r < 0)
        return crib_wrap(err, "%s", path);
    return 0;
}

static int write_replace(const char *path, const void *data, size_t len, unsigned mode, bool sync,
                         struct crib_err *err)
{
    _cleanup_free_ char *tmp = xasprintf("%s.tmp-%d", path, (int)getpid());
    _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    const char *p = data;
    int r;

    if (fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "create %s", tmp);
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto fail;
        p += n;
        len -= (size_t)n;
    }
    if (sync && fsync(fd) < 0)
        goto fail;
    if (rename(tmp, path) < 0)
        goto fail;
    return 0;
fail:
    r = crib_fail(err, CRIB_INTERNAL, errno, "write %s", path);
    (void)unlink(tmp);
    return r;
}

int fs_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
                    struct crib_err *err)
{
    return write_replace(path, data, len, mode, true, err);
}

int fs_write_volatile(const char *path, const void *data, size_t len, unsigned mode,
                      struct crib_err *err)
{
    return write_replace(path, data, len, mode, false, err);
}

/* Depth-first removal with fds only: an entry swapped for a symlink while we
 * work is unlinked, never followed. */
static int remove_children(int fd, const char *path, struct crib_err *err)
{
    DIR *d = fdopendir(fd);
    struct dirent *de;
    int r = 0;

    if (!d) {
        close(fd);
        return crib_fail(err, CRIB_INTERNAL, errno, "open dir %s", path);
    }
    while (r >= 0 && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        r = fs_remove_tree_at(dirfd(d), de->d_name, err);
    }
    closedir(d);
    return r;
}

int fs_remove_tree_at(int dir_fd, const char *name, struct crib_err *err)
{
    int fd;
    int r;

    if (unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return crib_fail(err, CRIB_INTERNAL, errno, "remove %s", name);
    fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : crib_fail(err, CRIB_INTERNAL, errno, "open %s", name);
    r = remove_children(fd, name, err);
    if (r < 0)
        return r;
    if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return crib_fail(err, CRIB_INTERNAL, errno, "remove dir %s", name);
    return 0;
}
