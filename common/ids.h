/* Object IDs: 64 lowercase hex digits from the kernel's random source, as
 * the kubelet and crictl expect of pod and container IDs. */
#pragma once

#include "common/err.h"

#define IDS_LEN 64

/* Fills out (IDS_LEN + 1 bytes) with a new ID. Errors: CRIB_INTERNAL. */
int ids_new(char out[static IDS_LEN + 1], struct crib_err *err);
