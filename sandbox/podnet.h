/* A pod's network through CNI. What DEL will need (the network config used,
 * the pod's identity, the ADD result) is kept in the pod's dir as cni.json,
 * written before ADD runs, so a stop, a remove or start-up after a crash can
 * always take the network down again. */
#pragma once

#include <netinet/in.h>

#include "common/err.h"
#include "netcni/cniconf.h"

#define PODNET_TIMEOUT_MS 60000

struct podnet_pod {
    const char *id; /* the sandbox id: CNI's container id */
    const char *namespace, *name, *uid;
    const char *capability_args; /* JSON object ({"portMappings": [...]}) or NULL */
};

/* Connects the pod's network namespace (dir/net) with the node's first CNI
 * network. *ret_ip gets the pod's first IP, or "" when the network gave none.
 * Errors: CRIB_STATE (no CNI network configured), the plugins' errors. */
int podnet_add(const struct cniconf_dirs *dirs, const char *dir, const struct podnet_pod *pod,
               char ret_ip[INET6_ADDRSTRLEN], struct crib_err *err);

/* Takes the pod's network down (CNI DEL with the cached result) and forgets
 * it; nothing to do when cni.json is absent. Errors: the plugins' errors. */
int podnet_del(const struct cniconf_dirs *dirs, const char *dir, struct crib_err *err);
