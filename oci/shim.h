/* The per-container shim (Debian's conmon) and the OCI runtime CLI behind
 * it. conmon runs `<runtime> create`, outlives cribd, holds the container's
 * stdio, writes the CRI log, and leaves the exit status in a file; the rest
 * (start, signals, exec, update, delete) talks to the runtime or the kernel
 * directly. This is the only module that knows conmon (design.md), so a shim
 * of our own can replace it behind the same functions. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/proc.h"
#include "oci/handler.h"

#define SHIM_EXEC_MAX_OUTPUT (16u << 20) /* the kubelet's own cap on ExecSync output */

struct shim_paths {
    const char *conmon;     /* the conmon binary (looked up on PATH without '/') */
    const char *exit_dir;   /* conmon writes exit_dir/<id> with the exit code */
    const char *socket_dir; /* attach sockets */
};

struct shim_create_request {
    const char *id;
    const char *bundle;   /* holds config.json; conmon keeps ctl, winsz, attach, exit here */
    const char *log_path; /* the CRI log file, or NULL: none */
    bool terminal, stdin_open, stdin_once;
    int timeout_ms;
    /* runsc: the container joins the gVisor sandbox its spec names, and
     * its process is crib-runsc's waiter (oci/runsc_main.c). */
    bool joins_sandbox;
};

struct shim_exit {
    int code;            /* exit status, or 128+signal as conmon reports it */
    int64_t finished_ns; /* when conmon wrote the exit file */
    bool oom_killed;
};

/* Starts conmon, which runs `<runtime> create`; returns once the container
 * exists (created, not started) with its first process; signal and wait
 * for that with proc_signal() and proc_wait_gone().
 * Errors: CRIB_NOT_FOUND (no conmon or runtime binary), CRIB_TIMEOUT,
 * CRIB_INTERNAL with the runtime's own message. */
int shim_create(const struct shim_paths *paths, const struct oci_handler *h,
                const struct shim_create_request *req, struct proc_identity *ret_proc,
                struct crib_err *err);

/* `<runtime> start ID`. Errors: CRIB_STATE, CRIB_INTERNAL with the runtime's message. */
int shim_start(const struct oci_handler *h, const char *id, int timeout_ms, struct crib_err *err);

/* `<runtime> checkpoint --leave-running` of id into images_dir (CRIU's
 * images; also its work files). Errors: CRIB_TIMEOUT, CRIB_INTERNAL with
 * the runtime's message. */
int shim_checkpoint(const struct oci_handler *h, const char *id, const char *images_dir,
                    int timeout_ms, struct crib_err *err);

/* Ends the waiter (oci/runsc_main.c) of a container in bundle that joined
 * a gVisor sandbox, found by the pid conmon recorded and its name: after
 * `runsc delete` it would wait for a start that never comes, and its conmon
 * with it. Anything else at that pid is left alone. */
void shim_end_waiter(const char *bundle);

/* `<runtime> pause ID` and `<runtime> resume ID` (the freezer).
 * Errors: CRIB_INTERNAL with the runtime's message. */
int shim_pause(const struct oci_handler *h, const char *id, struct crib_err *err);
int shim_resume(const struct oci_handler *h, const char *id, struct crib_err *err);

/* `<runtime> kill ID SIG`. Errors: CRIB_INTERNAL with the runtime's message
 * (also when the container is not running). */
int shim_kill(const struct oci_handler *h, const char *id, int sig, struct crib_err *err);

/* Starts a container that joins a gVisor sandbox (joins_sandbox):
 * `runsc start` runs with the stdio its waiter holds (conmon's pipes or
 * terminal), then the waiter is told to wait for the container.
 * Errors: CRIB_STATE (the waiter has gone), CRIB_TIMEOUT, CRIB_INTERNAL with
 * runsc's message. */
int shim_start_joined(const struct oci_handler *h, const char *id, const char *bundle,
                      const struct proc_identity *waiter, int timeout_ms, struct crib_err *err);

/* A container's usage as gVisor's own accounting has it: the host's
 * cgroups see only the whole sandbox. */
struct shim_stats {
    uint64_t cpu_usage_ns, mem_usage_bytes, pids;
};

/* `runsc events --stats ID`. Errors: CRIB_INTERNAL (runsc failed, or said
 * something that is not its stats). */
int shim_events_stats(const struct oci_handler *h, const char *id, struct shim_stats *ret,
                      struct crib_err *err);

/* `<runtime> state ID`: copies the status ("created", "running", "stopped",
 * "paused") into status. Errors: CRIB_NOT_FOUND, CRIB_INTERNAL. */
int shim_state(const struct oci_handler *h, const char *id, char *status, size_t size,
               struct crib_err *err);

/* Reads the exit status conmon left for id. Returns 0, or 1 when there is no
 * exit file (yet). Errors: CRIB_INTERNAL (a malformed file). */
int shim_read_exit(const struct shim_paths *paths, const char *id, const char *bundle,
                   struct shim_exit *ret_exit, struct crib_err *err);

/* Waits (up to timeout_ms) for conmon to write the exit file after the
 * container's process has gone. Returns 0, or 1 when it did not appear. */
int shim_await_exit(const struct shim_paths *paths, const char *id, const char *bundle,
                    int timeout_ms, struct shim_exit *ret_exit, struct crib_err *err);

/* `<runtime> delete --force ID` (kills what is left); an unknown container
 * is fine. Also removes its exit file. Errors: CRIB_INTERNAL. */
int shim_delete(const struct shim_paths *paths, const struct oci_handler *h, const char *id,
                struct crib_err *err);

struct shim_exec_result {
    int exit_code;
    char *out, *errout; /* NUL-terminated; free() them */
    size_t out_len, errout_len;
};

/* Runs argv in the container with the container's own process settings
 * (user, env, capabilities) and captures its output (each stream up to
 * SHIM_EXEC_MAX_OUTPUT). timeout_ms <= 0: none. On timeout the process in
 * the container is killed too. Errors: CRIB_TIMEOUT, CRIB_STATE (container
 * not running), CRIB_INTERNAL. */
int shim_exec_sync(const struct oci_handler *h, const char *id, const char *bundle,
                   const char *const *argv, int timeout_ms, struct shim_exec_result *ret_result,
                   struct crib_err *err);
void shim_exec_result_done(struct shim_exec_result *r);

/* `<runtime> update --resources -` with the OCI linux.resources JSON.
 * Errors: CRIB_INVALID (the runtime refused the values), CRIB_INTERNAL. */
int shim_update(const struct oci_handler *h, const char *id, const char *resources_json,
                struct crib_err *err);

/* Asks conmon to reopen the container's log file log_path (after the
 * kubelet rotated it) and waits until it exists again. Errors: CRIB_STATE
 * (conmon has gone), CRIB_TIMEOUT, CRIB_INTERNAL. */
int shim_reopen_log(const char *bundle, const char *log_path, struct crib_err *err);

/* What a streaming exec asks for. */
enum shim_exec_flags {
    SHIM_EXEC_TTY = 1u << 0,
    SHIM_EXEC_STDIN = 1u << 1,
    SHIM_EXEC_STDOUT = 1u << 2,
    SHIM_EXEC_STDERR = 1u << 3,
};

/* A `<runtime> exec` serving a streaming session. Our ends of its stdio are
 * non-blocking; with a terminal, stdin_fd and stdout_fd are the pty master
 * (two fds). Unasked streams are -1 (the process gets /dev/null). */
struct shim_exec_proc {
    pid_t pid; /* the runtime process, our child */
    int pidfd; /* readable once it exits */
    int stdin_fd, stdout_fd, stderr_fd;
    char *pidfile; /* where the runtime writes the pid of the process in the container */
};

/* Starts argv in container id with the container's process settings, like
 * shim_exec_sync() but with the stdio as flags ask. On success ret's fds are
 * the caller's; end it with shim_exec_end().
 * Errors: CRIB_NOT_FOUND (no runtime binary), CRIB_INTERNAL. */
int shim_exec_start(const struct oci_handler *h, const char *id, const char *bundle,
                    const char *const *argv, unsigned flags, struct shim_exec_proc *ret,
                    struct crib_err *err);

/* Sets the exec's terminal size (the runtime passes it on). */
void shim_exec_resize(const struct shim_exec_proc *p, uint16_t width, uint16_t height);

/* Reaps the runtime process; with do_kill, first kills the process in the
 * container (and the runtime, when it does not end by itself). Closes what
 * p still holds. *ret_exit_code: the exit status, 128+signal when killed. */
int shim_exec_end(struct shim_exec_proc *p, bool do_kill, int *ret_exit_code, struct crib_err *err);

/* Connects to conmon's attach socket of container id. *ret_fd (a
 * SOCK_SEQPACKET socket) is the caller's. Errors: CRIB_STATE (conmon gone). */
int shim_attach_open(const struct shim_paths *paths, const char *id, int *ret_fd,
                     struct crib_err *err);

/* Asks conmon to resize the container's terminal. Errors: CRIB_STATE (conmon gone). */
int shim_resize(const char *bundle, uint16_t width, uint16_t height, struct crib_err *err);
