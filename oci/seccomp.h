/* seccomp profiles for containers: the project's own RuntimeDefault, and
 * Localhost profiles read from a file and validated before any container is
 * made. Both come out as the OCI spec's linux.seccomp object. */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

#include "common/err.h"

/* The RuntimeDefault profile: SCMP_ACT_ERRNO (EPERM) by default, allowing
 * what the peers' default profiles allow (containerd's / Docker's / moby's
 * default), with the capability-conditional rules resolved for the container's
 * effective capabilities caps (as "CAP_SYS_ADMIN" strings), the clone flags
 * rule for namespaces, and personality args. For this machine's architecture
 * (and its compat ones: x86_64 -> x86, x32). New object: json_object_put(). */
struct json_object *seccomp_default_profile(const char *const *caps, size_t n_caps);

/* Reads a Localhost profile from path (max 1 MiB) in the Docker/Kubernetes
 * profile format (defaultAction, defaultErrnoRet, architectures or archMap,
 * syscalls[] with names or name, action, errnoRet, args[] with index, value,
 * valueTwo, op, and includes/excludes by caps, arches) and converts it into
 * the OCI linux.seccomp object, with the rules whose includes/excludes do
 * not hold for caps left out. Validated first: JSON, known actions
 * (SCMP_ACT_KILL, KILL_PROCESS, KILL_THREAD, TRAP, ERRNO, TRACE, ALLOW, LOG,
 * NOTIFY), known arches, known ops, every syscall name known to libseccomp
 * for at least one of the profile's arches (seccomp_syscall_resolve_name_arch).
 * Errors: CRIB_NOT_FOUND (no such file), CRIB_INVALID naming the file and
 * the problem (line of JSON when json-c tells it, the bad syscall or action).
 * New object: json_object_put(). */
int seccomp_load_profile(const char *path, const char *const *caps, size_t n_caps,
                         struct json_object **ret_seccomp, struct crib_err *err);

/* As seccomp_load_profile, from a buffer (the fuzz target uses it); name is
 * used in messages. */
int seccomp_parse_profile(const char *name, const char *data, size_t len, const char *const *caps,
                          size_t n_caps, struct json_object **ret_seccomp, struct crib_err *err);
