/* Checkpoint archives (plain, gzip, zstd) opened from memory; a valid one is
 * extracted into a fresh dir tmp/x and its diff applied to tmp/up, after
 * which tmp/ must hold nothing but those two: nothing got out. */
#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "oci/ckptarchive.h"

/* Bigger inputs only take longer to say the same. */
#define FUZZ_MAX_INPUT (1u << 20)

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Aborts unless dir holds only "x" and "up". */
static void check_contained(const char *dir)
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    struct dirent *de;

    if (!d)
        abort();
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strcmp(de->d_name, "x") == 0 || strcmp(de->d_name, "up") == 0)
            continue;
        fprintf(stderr, "entry '%s' escaped the extraction dir\n", de->d_name);
        abort();
    }
}

/* Extracts a and applies its diff below tmp; failures are fine, escapes not. */
static void extract_and_apply(struct ckpt_archive *a, const char *tmp)
{
    const struct ckpt_meta *m = ckpt_archive_meta(a);
    char x[64], up[64], diff[96];
    struct crib_err err;

    snprintf(x, sizeof(x), "%s/x", tmp);
    snprintf(up, sizeof(up), "%s/up", tmp);
    snprintf(diff, sizeof(diff), "%s/" CKPT_ROOTFS_DIFF, x);
    if (ckpt_archive_extract(a, x, &err) < 0)
        return;
    if (mkdir(up, 0755) < 0)
        abort();
    (void)ckpt_diff_apply(m->has_rootfs_diff ? diff : NULL, m->deleted, up, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Small bounds: the limits are part of what is fuzzed. */
    static const struct ckpt_limits limits = {.max_bytes = 8u << 20, .max_members = 4096};
    char tmp[] = "/tmp/crib-ckpt-fuzz-XXXXXX";
    struct ckpt_archive *a = NULL;
    struct crib_err err;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    if (ckpt_archive_open_memory(data, size, &limits, &a, &err) < 0)
        return 0; /* most inputs are refused; only crashes, leaks and escapes count */
    if (!mkdtemp(tmp))
        abort();
    extract_and_apply(a, tmp);
    ckpt_archive_free(a);
    check_contained(tmp);
    if (nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
        abort();
    return 0;
}
