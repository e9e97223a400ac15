/* Pod sysctls: only namespaced ones, applied inside the pod's own pinned
 * namespaces (never the node's). */
#pragma once

#include <stddef.h>

#include "common/err.h"

#define SYSCTL_NAME_MAX 256
#define SYSCTL_VALUE_MAX 4096

/* The namespace kind (enum ns_kind of ns.h) a sysctl lives in, or 0 when it
 * is not namespaced (a node-wide setting no pod may change). */
unsigned sysctl_namespace(const char *name);

/* Checks one sysctl for a pod that owns the namespaces in pod_kinds (the
 * others it shares with the node). Names use '.' or '/' separators.
 * Errors: CRIB_INVALID naming the sysctl: malformed, not namespaced, or in a
 * namespace shared with the node. */
int sysctl_check(const char *name, const char *value, unsigned pod_kinds, struct crib_err *err);

/* Writes each sysctl inside the namespaces pinned in ns_dir (see ns.h), from
 * a short-lived child; the daemon's own namespaces are never touched.
 * Errors: CRIB_INVALID (a value the kernel refuses, naming the sysctl),
 * CRIB_INTERNAL. */
int sysctl_apply(const char *ns_dir, const char *const *names, const char *const *values, size_t n,
                 struct crib_err *err);
