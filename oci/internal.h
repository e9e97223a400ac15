/* Shared by oci/'s own files only. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
