/* The node's pod CIDR, as the kubelet hands it over in UpdateRuntimeConfig;
 * kept in the store so it survives a restart. */
#pragma once

#include "common/err.h"
#include "common/store.h"

#define PODCIDR_MAX_LEN 256

/* Checks a pod CIDR: one or two comma-separated IPv4/IPv6 prefixes (dual
 * stack), e.g. "10.244.1.0/24,fd00:10:244:1::/64".
 * Errors: CRIB_INVALID naming the bad prefix. */
int podcidr_validate(const char *cidr, struct crib_err *err);

/* Records cidr (validated) in the store. Crash point: podcidr-commit. */
int podcidr_set(struct store *store, const char *cidr, struct crib_err *err);

/* The recorded pod CIDR in a new string (free() it), or NULL when the kubelet
 * has not set one. Errors: CRIB_INTERNAL. */
int podcidr_get(struct store *store, char **ret_cidr, struct crib_err *err);
