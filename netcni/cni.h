/* Running CNI plugins (spec 1.0.0, and conflists of 0.4.0) for one network:
 * ADD, CHECK and DEL of a pod's network namespace. */
#pragma once

#include "common/err.h"
#include "netcni/cniconf.h"
#include "netcni/cniresult.h"

/* What a plugin is told about the pod. */
struct cni_runtime {
    const char *container_id; /* the pod sandbox id */
    const char *netns;        /* path of the pod's network namespace */
    const char *ifname;       /* "eth0" when NULL */
    const char *pod_namespace;
    const char *pod_name;
    const char *pod_uid;
    const char *capability_args; /* JSON object text ({"portMappings": [...]}), or NULL */
};

/* Runs ADD through every plugin of conf in order, each within timeout_ms.
 * On success *ret_result (the last plugin's result) belongs to the caller:
 * free it with cni_result_free(); keep its json for DEL and CHECK.
 * Errors: CRIB_NOT_FOUND (a plugin is not in the bin dirs), CRIB_TIMEOUT,
 * CRIB_UNAVAILABLE (a plugin said "try again later"), CRIB_INTERNAL. */
int cni_add(const struct cniconf *conf, const struct cniconf_dirs *dirs,
            const struct cni_runtime *rt, int timeout_ms, struct cni_result **ret_result,
            struct crib_err *err);

/* Runs DEL through every plugin of conf in reverse order, with prev (the cached
 * ADD result, or NULL) as prevResult. Plugins must succeed when the network is
 * already gone, so a repeated DEL succeeds. All plugins are run; the first
 * failure is returned. Errors: as cni_add. */
int cni_del(const struct cniconf *conf, const struct cniconf_dirs *dirs,
            const struct cni_runtime *rt, const struct cni_result *prev, int timeout_ms,
            struct crib_err *err);

/* Runs CHECK through every plugin of conf in order with prev as prevResult.
 * Errors: as cni_add; CRIB_UNIMPLEMENTED for a config older than 0.4.0. */
int cni_check(const struct cniconf *conf, const struct cniconf_dirs *dirs,
              const struct cni_runtime *rt, const struct cni_result *prev, int timeout_ms,
              struct crib_err *err);
