/* The infra process of a pod whose containers share a PID namespace: the
 * project's own tiny init (crib-infra), its namespace pinned on dir/pid for
 * containers to join, and its identity in dir/infra so that a restarted
 * cribd stops the right process. */
#pragma once

#include <stdbool.h>

#include "common/err.h"

/* Runs binary (crib-infra), pins its PID namespace and records it in dir.
 * With in_userns the PID namespace belongs to the pod's user namespace
 * (dir/user), so that the pod's containers may join it.
 * Errors: CRIB_NOT_FOUND (no binary), CRIB_INTERNAL. */
int infra_start(const char *dir, const char *binary, bool in_userns, struct crib_err *err);

/* Kills the infra process recorded in dir (every process of the namespace
 * dies with it) and unpins the namespace; what is already gone is fine.
 * Errors: CRIB_INTERNAL. */
int infra_stop(const char *dir, struct crib_err *err);
