/* Replays fuzz inputs without libFuzzer: each argument is a file or a dir of
 * files, each fed once to LLVMFuzzerTestOneInput. A crash fails the test. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fs.h"
#include "common/xalloc.h"

/* Larger inputs are cut, as libFuzzer's -max_len would. */
#define FUZZ_MAX_INPUT (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    _cleanup_free_ char *buf = NULL;
    struct crib_err err;
    size_t len;

    if (fs_read_file(path, FUZZ_MAX_INPUT, &buf, &len, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
    return 0;
}

static int run_path(const char *path, unsigned *n)
{
    _cleanup_closedir_ DIR *d = NULL;
    struct dirent *de;
    struct stat st;
    int r = 0;

    if (stat(path, &st) < 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*n)++;
        return run_file(path);
    }
    d = opendir(path);
    while (d && (de = readdir(d))) {
        _cleanup_free_ char *child = NULL;

        if (de->d_name[0] == '.')
            continue;
        child = xasprintf("%s/%s", path, de->d_name);
        if (run_path(child, n) < 0)
            r = -1;
    }
    return r;
}

int main(int argc, char **argv)
{
    unsigned n = 0;
    int r = 0;

    for (int i = 1; i < argc; i++)
        if (run_path(argv[i], &n) < 0)
            r = 1;
    printf("replayed %u inputs\n", n);
    return r;
}
