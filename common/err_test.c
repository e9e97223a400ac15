#include <errno.h>

#include "common/err.h"
#include "common/testing.h"

static int test_fail_returns_negative_errno_and_appends_strerror(void)
{
    struct crib_err err;

    CHECK_INT(crib_fail(&err, CRIB_NOT_FOUND, ENOENT, "open %s", "x"), -ENOENT);
    CHECK_INT(err.code, CRIB_NOT_FOUND);
    CHECK_STR(err.msg, "open x: No such file or directory");
    return 0;
}

static int test_fail_without_errno_is_never_zero(void)
{
    struct crib_err err;

    CHECK_INT(crib_fail(&err, CRIB_INVALID, 0, "bad"), -EIO);
    CHECK_STR(err.msg, "bad");
    return 0;
}

static int test_wrap_prefixes_context_and_keeps_code(void)
{
    struct crib_err err;

    crib_fail(&err, CRIB_LIMIT, EFBIG, "blob");
    CHECK_INT(crib_wrap(&err, "pull %s", "busybox"), -EFBIG);
    CHECK_INT(err.code, CRIB_LIMIT);
    CHECK_STR(err.msg, "pull busybox: blob: File too large");
    return 0;
}

static int test_long_messages_are_cut_not_overrun(void)
{
    struct crib_err err;
    char big[2000];

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    crib_fail(&err, CRIB_INTERNAL, 0, "%s", big);
    crib_wrap(&err, "%s", big);
    CHECK_INT(strlen(err.msg), CRIB_ERR_MSG_MAX - 1);
    return 0;
}

static int test_code_names(void)
{
    CHECK_STR(crib_code_name(CRIB_EXISTS), "exists");
    CHECK_STR(crib_code_name((enum crib_code)99), "internal");
    return 0;
}

TEST_MAIN(TEST(test_fail_returns_negative_errno_and_appends_strerror),
          TEST(test_fail_without_errno_is_never_zero),
          TEST(test_wrap_prefixes_context_and_keeps_code),
          TEST(test_long_messages_are_cut_not_overrun), TEST(test_code_names))
