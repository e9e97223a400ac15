#include "storage/layers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/crash.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/xalloc.h"

struct layer_store {
    char *layers_path;
    int layers_fd;
    int tmp_fd;
    char mountpoint[PATH_MAX];
};

/* Layer dirs are named by the chain ID's hex: sha256 is the only algorithm
 * chain IDs use. */
static const char *dir_name(const char *chain_id)
{
    return digest_hex(chain_id);
}

static int open_dir(const char *path, int *ret_fd, struct crib_err *err)
{
    int r = fs_mkdir_p(path, 0700, err);

    if (r < 0)
        return r;
    *ret_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*ret_fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open %s", path);
    return 0;
}

/* The longest prefix of path that /proc/self/mountinfo lists as a mountpoint. */
static void find_mountpoint(const char *path, char *out, size_t size)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096], mp[PATH_MAX];
    size_t best = 0;

    snprintf(out, size, "/");
    while (f && fgets(line, sizeof(line), f)) {
        size_t n;

        if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
            continue;
        n = strlen(mp);
        if (n > best && strncmp(path, mp, n) == 0 &&
            (path[n] == '/' || path[n] == '\0' || n == 1)) {
            best = n;
            snprintf(out, size, "%s", mp);
        }
    }
}

int layerstore_open(const char *root_dir, struct layer_store **ret_store, struct crib_err *err)
{
    struct layer_store *ls = xcalloc(1, sizeof(*ls));
    _cleanup_free_ char *tmp = xasprintf("%s/storage/tmp", root_dir);
    int r;

    ls->layers_fd = ls->tmp_fd = -1;
    ls->layers_path = xasprintf("%s/storage/layers", root_dir);
    r = open_dir(ls->layers_path, &ls->layers_fd, err);
    if (r >= 0)
        r = open_dir(tmp, &ls->tmp_fd, err);
    if (r < 0) {
        layerstore_close(ls);
        return r;
    }
    find_mountpoint(ls->layers_path, ls->mountpoint, sizeof(ls->mountpoint));
    *ret_store = ls;
    return 0;
}

void layerstore_close(struct layer_store *ls)
{
    if (!ls)
        return;
    closep(&ls->layers_fd);
    closep(&ls->tmp_fd);
    free(ls->layers_path);
    free(ls);
}

int layerstore_stage(struct layer_store *ls, char **ret_name, struct crib_err *err)
{
    char name[32];
    int fd;

    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned long long rnd;

        if (getentropy(&rnd, sizeof(rnd)) < 0)
            return crib_fail(err, CRIB_INTERNAL, errno, "getentropy");
        snprintf(name, sizeof(name), "%016llx", rnd);
        if (mkdirat(ls->tmp_fd, name, 0755) == 0)
            break;
        if (errno != EEXIST)
            return crib_fail(err, CRIB_INTERNAL, errno, "make staging dir");
    }
    fd = openat(ls->tmp_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open staging dir %s", name);
    *ret_name = xstrdup(name);
    return fd;
}

int layerstore_commit(struct layer_store *ls, const char *name, const char *chain_id,
                      struct crib_err *err)
{
    CRASH_POINT("layer-commit-rename");
    if (renameat(ls->tmp_fd, name, ls->layers_fd, dir_name(chain_id)) == 0)
        return 0;
    if (errno == EEXIST || errno == ENOTEMPTY) {
        layerstore_discard(ls, name);
        return 1;
    }
    return crib_fail(err, CRIB_INTERNAL, errno, "move layer %s into place", chain_id);
}

void layerstore_discard(struct layer_store *ls, const char *name)
{
    struct crib_err err;

    if (fs_remove_tree_at(ls->tmp_fd, name, &err) < 0)
        log_debug("discard staging dir %s: %s, ignoring", name, err.msg);
}

int layerstore_remove(struct layer_store *ls, const char *chain_id, struct crib_err *err)
{
    return fs_remove_tree_at(ls->layers_fd, dir_name(chain_id), err);
}

bool layerstore_has(struct layer_store *ls, const char *chain_id)
{
    struct stat st;

    return fstatat(ls->layers_fd, dir_name(chain_id), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISDIR(st.st_mode);
}

char *layerstore_path(struct layer_store *ls, const char *chain_id)
{
    return xasprintf("%s/%s", ls->layers_path, dir_name(chain_id));
}

/* Lists a dir fd's entries (not . and ..) into a new array. */
static char **list_names(int fd, size_t *ret_n, struct crib_err *err)
{
    int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    char **names = NULL;
    struct dirent *de;
    size_t n = 0;

    if (!d) {
        if (dup_fd >= 0)
            close(dup_fd);
        crib_fail(err, CRIB_INTERNAL, errno, "list dir");
        return NULL;
    }
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        names = xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    *ret_n = n;
    return names ? names : xcalloc(1, sizeof(char *));
}

int layerstore_each(struct layer_store *ls, void (*fn)(const char *chain_id, void *ctx), void *ctx,
                    struct crib_err *err)
{
    size_t n;
    char **names = list_names(ls->layers_fd, &n, err);

    if (!names)
        return crib_err_ret(err);
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *id = xasprintf("sha256:%s", names[i]);

        if (digest_is_valid(id))
            fn(id, ctx);
        free(names[i]);
    }
    free(names);
    return 0;
}

int layerstore_clear_staging(struct layer_store *ls, struct crib_err *err)
{
    size_t n;
    char **names = list_names(ls->tmp_fd, &n, err);
    int r = 0;

    if (!names)
        return crib_err_ret(err);
    for (size_t i = 0; i < n; i++) {
        if (r >= 0)
            r = fs_remove_tree_at(ls->tmp_fd, names[i], err);
        free(names[i]);
    }
    free(names);
    return r < 0 ? r : (int)n;
}

const char *layerstore_mountpoint(struct layer_store *ls)
{
    return ls->mountpoint;
}
