#include "imagestore/content.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/xalloc.h"

struct content_store {
    char *dir; /* ROOT/blobs */
};

int content_open(const char *root_dir, struct content_store **ret_store, struct crib_err *err)
{
    _cleanup_free_ char *dir = xasprintf("%s/blobs", root_dir);
    _cleanup_free_ char *sha256 = xasprintf("%s/sha256", dir);
    _cleanup_free_ char *sha512 = xasprintf("%s/sha512", dir);
    struct content_store *cs;
    int r = fs_mkdir_p(sha256, 0700, err);

    if (r >= 0)
        r = fs_mkdir_p(sha512, 0700, err);
    if (r < 0)
        return r;
    cs = xcalloc(1, sizeof(*cs));
    cs->dir = TAKE_PTR(dir);
    *ret_store = cs;
    return 0;
}

void content_close(struct content_store *cs)
{
    if (!cs)
        return;
    free(cs->dir);
    free(cs);
}

/* ROOT/blobs/sha256/<hex>; digest must be valid (never a path from outside). */
static char *blob_path(struct content_store *cs, const char *digest)
{
    return xasprintf("%s/%.*s/%s", cs->dir, (int)(strchr(digest, ':') - digest), digest,
                     digest_hex(digest));
}

int content_put(struct content_store *cs, const char *digest, const void *data, size_t len,
                struct crib_err *err)
{
    _cleanup_free_ char *path = NULL;
    char actual[DIGEST_MAX_STR];
    struct digester d;
    int r = digest_check(digest, "blob digest", err);

    if (r < 0)
        return r;
    path = blob_path(cs, digest);
    /* Blobs are renamed into place whole: one that is there is complete. */
    if (access(path, F_OK) == 0)
        return 0;
    r = digester_init(&d, digest, err);
    if (r < 0)
        return r;
    digester_update(&d, data, len);
    digester_final(&d, actual);
    if (strcmp(actual, digest) != 0)
        return crib_fail(err, CRIB_INVALID, 0, "blob %s: content hashes to %s", digest, actual);
    return fs_write_atomic(path, data, len, 0600, err);
}

int content_get(struct content_store *cs, const char *digest, size_t max_bytes, char **ret_data,
                size_t *ret_len, struct crib_err *err)
{
    _cleanup_free_ char *path = NULL;
    int r = digest_check(digest, "blob digest", err);

    if (r < 0)
        return r;
    path = blob_path(cs, digest);
    return fs_read_file(path, max_bytes, ret_data, ret_len, err);
}

int content_remove(struct content_store *cs, const char *digest, struct crib_err *err)
{
    _cleanup_free_ char *path = NULL;
    int r = digest_check(digest, "blob digest", err);

    if (r < 0)
        return r;
    path = blob_path(cs, digest);
    if (unlink(path) < 0 && errno != ENOENT)
        return crib_fail(err, CRIB_INTERNAL, errno, "remove %s", path);
    return 0;
}

static int clear_temp_in(const char *dir, const char *algo)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, algo);
    _cleanup_closedir_ DIR *d = opendir(path);
    struct dirent *de;
    int n = 0;

    while (d && (de = readdir(d)))
        if (strstr(de->d_name, ".tmp-") && unlinkat(dirfd(d), de->d_name, 0) == 0)
            n++;
    return n;
}

int content_clear_temp(struct content_store *cs)
{
    return clear_temp_in(cs->dir, "sha256") + clear_temp_in(cs->dir, "sha512");
}

static void each_in(const char *dir, const char *algo, void (*fn)(const char *, void *), void *ctx)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, algo);
    _cleanup_closedir_ DIR *d = opendir(path);
    struct dirent *de;

    while (d && (de = readdir(d))) {
        _cleanup_free_ char *digest = xasprintf("%s:%s", algo, de->d_name);

        if (digest_is_valid(digest))
            fn(digest, ctx);
    }
}

int content_each(struct content_store *cs, void (*fn)(const char *digest, void *ctx), void *ctx,
                 struct crib_err *err)
{
    (void)err;
    each_in(cs->dir, "sha256", fn, ctx);
    each_in(cs->dir, "sha512", fn, ctx);
    return 0;
}
