#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/testing.h"
#include "common/xalloc.h"

static int test_mkdir_p_write_and_read_back(void)
{
    char dir[] = "/tmp/crib-fs-test-XXXXXX";
    _cleanup_free_ char *deep = NULL, *file = NULL, *text = NULL;
    struct crib_err err;
    struct stat st;
    size_t len;

    CHECK(mkdtemp(dir) != NULL);
    deep = xasprintf("%s/a/b/c", dir);
    file = xasprintf("%s/f", deep);
    CHECK_INT(fs_mkdir_p(deep, 0700, &err), 0);
    CHECK_INT(fs_mkdir_p(deep, 0700, &err), 0);
    CHECK_INT(fs_write_atomic(file, "hello", 5, 0640, &err), 0);
    CHECK_INT(stat(file, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0640);
    CHECK_INT(fs_read_file(file, 100, &text, &len, &err), 0);
    CHECK_STR(text, "hello");
    CHECK_INT(len, 5);
    free(TAKE_PTR(text));
    CHECK(fs_read_file(file, 4, &text, &len, &err) < 0);
    CHECK_INT(err.code, CRIB_LIMIT);
    unlink(file);
    CHECK(fs_read_file(file, 4, &text, &len, &err) < 0);
    CHECK_INT(err.code, CRIB_NOT_FOUND);
    for (size_t i = 0; i < 3; i++) {
        static const char *const subs[] = {"/a/b/c", "/a/b", "/a"};
        _cleanup_free_ char *p = xasprintf("%s%s", dir, subs[i]);

        CHECK_INT(rmdir(p), 0);
    }
    CHECK_INT(rmdir(dir), 0);
    return 0;
}

TEST_MAIN(TEST(test_mkdir_p_write_and_read_back))
