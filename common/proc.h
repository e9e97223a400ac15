/* Running a helper program (an OCI runtime, a CNI plugin) with a timeout.
 * The child is watched through a pidfd and poll(), never by sleeping. */
#pragma once

#include <stddef.h>

#include "common/err.h"

struct proc_result {
    int exit_code;   /* valid when term_signal == 0 */
    int term_signal; /* the signal that ended the child, or 0 */
    char *output;    /* stdout (and stderr, for proc_run), NUL-terminated */
    size_t output_len;
    char *errout; /* stderr for proc_run_io, NUL-terminated; NULL for proc_run */
    size_t errout_len;
};

/* Runs argv[0] (looked up on PATH when it has no '/') with stdin from
 * /dev/null and stdout+stderr captured up to max_output bytes (the rest is
 * read and dropped). The child is killed after timeout_ms.
 * Errors: CRIB_NOT_FOUND (no such program), CRIB_TIMEOUT, CRIB_INTERNAL. */
int proc_run(const char *const argv[], int timeout_ms, size_t max_output,
             struct proc_result *ret_result, struct crib_err *err);

/* As proc_run, but runs argv[0] (an absolute path) with the environment envp
 * (NULL-terminated), feeds it in_len bytes of in on stdin, and keeps stdout in
 * output and stderr in errout (each up to max_output bytes).
 * Errors: CRIB_NOT_FOUND (no such program), CRIB_TIMEOUT, CRIB_INTERNAL. */
int proc_run_io(const char *const argv[], const char *const envp[], const char *in, size_t in_len,
                int timeout_ms, size_t max_output, struct proc_result *ret_result,
                struct crib_err *err);

/* Frees what a proc_result holds. */
void proc_result_done(struct proc_result *result);
