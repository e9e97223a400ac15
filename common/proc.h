/* Running a helper program (an OCI runtime, a CNI plugin) with a timeout.
 * The child is watched through a pidfd and poll(), never by sleeping. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

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

/* As proc_run_io; at the timeout on_timeout(ctx) runs first (to end what
 * the child waits for, e.g. the process a `runc exec` runs), and the child
 * gets a moment to exit by itself before it is killed. */
int proc_run_io_hooked(const char *const argv[], const char *const envp[], const char *in,
                       size_t in_len, int timeout_ms, size_t max_output,
                       void (*on_timeout)(void *ctx), void *ctx, struct proc_result *ret_result,
                       struct crib_err *err);

/* Frees what a proc_result holds. */
void proc_result_done(struct proc_result *result);

/* Finds program name (looked up on PATH, as execvp would, when it has no '/')
 * and writes its path into buf; *ret_st (may be NULL) gets its stat.
 * Returns 0 or -ENOENT. */
int proc_find_program(const char *name, char *buf, size_t size, struct stat *ret_st);

/* A process known beyond its pid: start_ticks is its start time in
 * /proc/PID/stat, so a reused pid is never taken for it. */
struct proc_identity {
    pid_t pid;
    uint64_t start_ticks;
};

/* The start time of pid (field 22 of /proc/PID/stat), 0 when it has gone;
 * *ret_zombie (may be NULL) says whether it has exited but is not reaped. */
uint64_t proc_start_ticks(pid_t pid, bool *ret_zombie);

/* A pidfd for proc if it is still the same process, else -1. */
int proc_open_identified(const struct proc_identity *proc);

/* Sends sig to proc if it is still the same process. Returns 0, or 1 when
 * it has already gone. Errors: CRIB_INTERNAL. */
int proc_signal(const struct proc_identity *proc, int sig, struct crib_err *err);

/* Whether proc has a handler for sig (SigCgt in /proc/PID/status). */
bool proc_catches(const struct proc_identity *proc, int sig);

/* True while proc runs (and is still the same process). */
bool proc_alive(const struct proc_identity *proc);

/* Waits until proc has gone, up to timeout_ms (<0: forever), by its pidfd.
 * Returns 0 when gone, 1 on timeout. Errors: CRIB_INTERNAL. */
int proc_wait_gone(const struct proc_identity *proc, int timeout_ms, struct crib_err *err);
