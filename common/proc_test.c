#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "common/proc.h"
#include "common/testing.h"

static int test_captures_output_and_exit_code(void)
{
    const char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    struct proc_result res;
    struct crib_err err;

    CHECK_INT(proc_run(argv, 5000, 1024, &res, &err), 0);
    CHECK_INT(res.exit_code, 3);
    CHECK_INT(res.term_signal, 0);
    CHECK_CONTAINS(res.output, "out\n");
    CHECK_CONTAINS(res.output, "err\n");
    proc_result_done(&res);
    return 0;
}

static int test_output_is_bounded(void)
{
    const char *argv[] = {"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x", NULL};
    struct proc_result res;
    struct crib_err err;

    CHECK_INT(proc_run(argv, 5000, 100, &res, &err), 0);
    CHECK_INT(res.output_len, 100);
    CHECK_INT(res.exit_code, 0);
    proc_result_done(&res);
    return 0;
}

static int test_timeout_kills_child_promptly(void)
{
    const char *argv[] = {"sleep", "30", NULL};
    struct proc_result res;
    struct crib_err err;
    struct timespec a, b;

    clock_gettime(CLOCK_MONOTONIC, &a);
    CHECK(proc_run(argv, 200, 100, &res, &err) < 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    CHECK_INT(err.code, CRIB_TIMEOUT);
    CHECK(b.tv_sec - a.tv_sec < 5);
    return 0;
}

static int test_missing_program_is_not_found(void)
{
    const char *argv[] = {"/nonexistent/crib-no-such-binary", NULL};
    struct proc_result res;
    struct crib_err err;

    CHECK(proc_run(argv, 1000, 100, &res, &err) < 0);
    CHECK_INT(err.code, CRIB_NOT_FOUND);
    return 0;
}

static int test_signal_is_reported(void)
{
    const char *argv[] = {"sh", "-c", "kill -TERM $$", NULL};
    struct proc_result res;
    struct crib_err err;

    CHECK_INT(proc_run(argv, 5000, 100, &res, &err), 0);
    CHECK_INT(res.term_signal, SIGTERM);
    proc_result_done(&res);
    return 0;
}

static int test_io_feeds_stdin_and_separates_stderr(void)
{
    const char *argv[] = {"/bin/sh", "-c", "wc -c; echo \"$CRIB_X\" >&2", NULL};
    const char *envp[] = {"CRIB_X=from-env", NULL};
    size_t in_len = 300000; /* well past a pipe's buffer */
    char *in = calloc(1, in_len);
    struct proc_result res;
    struct crib_err err;

    CHECK_INT(proc_run_io(argv, envp, in, in_len, 5000, 1024, &res, &err), 0);
    CHECK_INT(res.exit_code, 0);
    CHECK_STR(res.output, "300000\n");
    CHECK_STR(res.errout, "from-env\n");
    proc_result_done(&res);
    free(in);
    return 0;
}

static int test_io_child_ignoring_stdin_is_fine(void)
{
    const char *argv[] = {"/bin/sh", "-c", "echo done", NULL};
    const char *envp[] = {NULL};
    size_t in_len = 300000;
    char *in = calloc(1, in_len);
    struct proc_result res;
    struct crib_err err;

    CHECK_INT(proc_run_io(argv, envp, in, in_len, 5000, 1024, &res, &err), 0);
    CHECK_STR(res.output, "done\n");
    CHECK_STR(res.errout, "");
    proc_result_done(&res);
    free(in);
    return 0;
}

TEST_MAIN(TEST(test_io_feeds_stdin_and_separates_stderr),
          TEST(test_io_child_ignoring_stdin_is_fine), TEST(test_captures_output_and_exit_code),
          TEST(test_output_is_bounded), TEST(test_timeout_kills_child_promptly),
          TEST(test_missing_program_is_not_found), TEST(test_signal_is_reported))
