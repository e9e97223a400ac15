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

/* Starts a runtime command line in argv: the binary (its path written to
 * bin), --root and the cgroup flag; *n counts the entries, *root_arg is the
 * caller's to free(). Errors: CRIB_NOT_FOUND (no binary). */
int shim_runtime_argv(const struct oci_handler *h, char *bin, size_t size, const char **argv,
                      size_t *n, char **root_arg, struct crib_err *err);

struct ctr_ctx;
struct shim_paths;

/* Container id's handler and bundle dir (*ret_bundle: free() it) when it
 * runs. Errors: CRIB_NOT_FOUND, CRIB_STATE (not running). */
int ctr_running(struct ctr_ctx *ctx, const char *id, struct oci_handler **ret_handler,
                char **ret_bundle, struct crib_err *err);

/* The shim's paths (exit files, attach sockets); borrowed from ctx. */
const struct shim_paths *ctr_shim_paths(const struct ctr_ctx *ctx);
