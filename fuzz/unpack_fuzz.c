/* Layer tar streams (plain, gzip, zstd: UNPACK_AUTO) unpacked into a fresh
 * dir tmp/root; afterwards tmp/ must hold nothing but root/, so no entry got
 * out of its layer dir. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "storage/unpack.h"

/* Bigger inputs only take longer to say the same. */
#define FUZZ_MAX_INPUT (1u << 20)

struct reader {
    const uint8_t *data;
    size_t len, pos;
};

static ssize_t read_mem(void *ctx, void *buf, size_t size, struct crib_err *err)
{
    struct reader *r = ctx;
    size_t n = r->len - r->pos;

    (void)err;
    if (n > size)
        n = size;
    memcpy(buf, r->data + r->pos, n);
    r->pos += n;
    return (ssize_t)n;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Aborts unless dir holds exactly one entry, "root". */
static void check_only_root(const char *dir)
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    struct dirent *de;

    if (!d)
        abort();
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strcmp(de->d_name, "root") == 0)
            continue;
        fprintf(stderr, "entry '%s' escaped the layer dir\n", de->d_name);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char tmp[] = "/tmp/crib-unpack-fuzz-XXXXXX", root[64];
    struct unpack_options opts = {.compression = UNPACK_AUTO, .max_unpacked_bytes = 64u << 20};
    struct reader r = {data, size, 0};
    struct unpack_result res;
    struct crib_err err;
    int fd;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    if (!mkdtemp(tmp))
        abort();
    snprintf(root, sizeof(root), "%s/root", tmp);
    if (mkdir(root, 0755) < 0 || (fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        abort();
    /* Most inputs are refused; only crashes, leaks and escapes count. */
    (void)unpack_layer(fd, read_mem, &r, &opts, &res, &err);
    close(fd);
    check_only_root(tmp);
    if (nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
        abort();
    return 0;
}
