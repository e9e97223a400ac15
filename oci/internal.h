/* Shared by oci/'s own files only. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "oci/handler.h"

#define SECCOMP_ACT_ALLOW "SCMP_ACT_ALLOW"
#define SECCOMP_ACT_ERRNO "SCMP_ACT_ERRNO"

/* Whether cap is among the n_caps caps (NULL entries are skipped). */
bool seccomp_caps_have(const char *const *caps, size_t n_caps, const char *cap);

/* Whether the running kernel is at least major.minor; an unreadable
 * release counts as old. */
bool seccomp_kernel_at_least(unsigned major, unsigned minor);

/* Whether the JSON array of strings names holds name. */
bool seccomp_json_names_have(struct json_object *names, const char *name);

/* A new OCI args[] entry {index, value, valueTwo, op}. */
struct json_object *seccomp_json_arg_new(unsigned index, uint64_t value, uint64_t value_two,
                                         const char *op);

/* Appends {names, action, errnoRet, args} to the array syscalls, taking
 * names and args; errno_ret < 0 and args NULL are left out. */
void seccomp_json_rule_add(struct json_object *syscalls, struct json_object *names,
                           const char *action, long long errno_ret, struct json_object *args);

/* Checkpoint archives (ckptarchive.c, ckptdiff.c). */

/* Whether CLOCK_MONOTONIC has reached deadline_ns; 0 is no deadline. */
bool ckpt_deadline_passed(int64_t deadline_ns);

/* Opens path below root with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS); "" is root itself. Returns the fd or -errno. */
int ckpt_open_in_root(int root, const char *path, int flags);

/* Opens the dir path below root as ckpt_open_in_root does, first making the
 * missing dirs on the way (mode, root's). Returns the fd.
 * Errors: CRIB_INVALID (the path goes through a symlink or a non-dir),
 * CRIB_INTERNAL. */
int ckpt_open_dirs(int root, const char *path, unsigned mode, struct crib_err *err);

/* Parses text (the member name) as one JSON value of type type (strict, as
 * Go reads it; nested at most 64 deep); *ret belongs to the caller.
 * Errors: CRIB_INVALID naming the member and the problem. */
int ckpt_json_parse(const char *name, const char *text, json_type type, struct json_object **ret,
                    struct crib_err *err);

/* For _cleanup_(ckpt_json_putp) on a json-c object. */
static inline void ckpt_json_putp(struct json_object **o)
{
    json_object_put(*o);
}
/* Starts a runtime command line in argv: the binary (its path written to
 * bin), --root and the cgroup flag; *n counts the entries, *root_arg is the
 * caller's to free(). Errors: CRIB_NOT_FOUND (no binary). */
int shim_runtime_argv(const struct oci_handler *h, char *bin, size_t size, const char **argv,
                      size_t *n, char **root_arg, struct crib_err *err);

/* A pid file path under bundle for one `runtime exec` (free() it). */
char *shim_exec_pidfile(const char *bundle);

/* `<runtime> [--root R] [cgroup flag] exec --pid-file=PIDFILE [--tty] ID
 * argv...` (free() it; bin is PATH_MAX bytes; *ret_root_arg and *ret_pid_arg
 * are the caller's to free). NULL with err set: CRIB_NOT_FOUND (no binary). */
const char **shim_exec_argv(const struct oci_handler *h, const char *id, const char *const *argv,
                            bool tty, const char *pidfile, char *bin, char **ret_root_arg,
                            char **ret_pid_arg, struct crib_err *err);

/* Kills the process an exec runs, named by its pid file (a char *); one
 * not started yet is left to its runtime's end. */
void shim_exec_kill(void *pidfile);

struct ctr_ctx;
struct ctr_record;
struct shim_paths;

/* Container id's handler and bundle dir (*ret_bundle: free() it) when it
 * runs. Errors: CRIB_NOT_FOUND, CRIB_STATE (not running). */
int ctr_running(struct ctr_ctx *ctx, const char *id, struct oci_handler **ret_handler,
                char **ret_bundle, struct crib_err *err);

/* Pauses running container id for a pod checkpoint's cut, with a marker
 * in its bundle so that start-up resumes it should cribd die first.
 * Errors: CRIB_INTERNAL with the runtime's message. */
int ctr_pause(struct ctr_ctx *ctx, const struct oci_handler *h, const char *id,
              struct crib_err *err);

/* Resumes what ctr_pause paused, and drops the marker. */
int ctr_resume_paused(struct ctr_ctx *ctx, const struct oci_handler *h, const char *id,
                      struct crib_err *err);

/* At start-up: resumes container c if a pod checkpoint paused it and cribd
 * died before resuming it (the runtime never leaves a frozen pod). */
void ctr_checkpoint_reconcile(struct ctr_ctx *ctx, const struct ctr_record *c);

/* Container id's writable layer (its overlay upper dir); free() it. */
char *ctr_upper_dir(const struct ctr_ctx *ctx, const char *id);

/* The shim's paths (exit files, attach sockets); borrowed from ctx. */
const struct shim_paths *ctr_shim_paths(const struct ctr_ctx *ctx);
