/* A pod's network through CNI. What DEL will need (the network config used,
 * the pod's identity, the ADD result) is kept in the pod's dir as cni.json,
 * written before ADD runs, so a stop, a remove or start-up after a crash can
 * always take the network down again. */
#pragma once

#include <netinet/in.h>

#include "common/err.h"
#include "netcni/cniconf.h"

#define PODNET_TIMEOUT_MS 60000
/* A pod's IPs, comma-separated: room for a dual-stack pair and more. */
#define PODNET_IPS_MAX (4 * INET6_ADDRSTRLEN)
#define PODNET_DEL_ATTEMPTS 3
#define PODNET_DEL_BACKOFF_MS 200

struct podnet_pod {
    const char *id; /* the sandbox id: CNI's container id */
    const char *namespace, *name, *uid;
    const char *capability_args; /* JSON object ({"portMappings": [...]}) or NULL */
};

/* Connects the pod's network namespace (dir/net) with the node's first CNI
 * network. ret_ips gets the pod's IPs, comma-separated, the primary first,
 * or "" when the network gave none.
 * Errors: CRIB_STATE (no CNI network configured), the plugins' errors. */
int podnet_add(const struct cniconf_dirs *dirs, const char *dir, const struct podnet_pod *pod,
               char ret_ips[PODNET_IPS_MAX], struct crib_err *err);

/* Takes the pod's network down (CNI DEL with the cached result, tried
 * PODNET_DEL_ATTEMPTS times) and forgets it; nothing to do when cni.json is
 * absent. Errors: the plugins' errors. */
int podnet_del(const struct cniconf_dirs *dirs, const char *dir, struct crib_err *err);

/* Asks the plugins whether the pod's network is still as ADD left it (CNI
 * CHECK with the cached result); a pod without one, or a config older than
 * CHECK, passes. Errors: the plugins' errors. */
int podnet_check(const struct cniconf_dirs *dirs, const char *dir, struct crib_err *err);
