/* A pod's resources as the kubelet states them: its overhead (RuntimeClass)
 * and the sum of its containers' resources. Recorded with the pod; the pod's
 * cgroup is limited to both together when UpdatePodSandboxResources asks. */
#pragma once

#include "common/err.h"
#include "sandbox/cgroup.h"

/* The record's JSON: {"overhead": {...}, "resources": {...}}, each present
 * when given (NULL: not given), with the CRI's field names. free() it. */
char *podres_to_json(const struct cgroup_limits *overhead, const struct cgroup_limits *resources);

/* The pod cgroup's limits: resources plus overhead where both limit a knob;
 * a knob resources leave unlimited stays so (a container without a memory
 * limit leaves the pod without one, whatever its overhead). cpusets are
 * resources'. */
struct cgroup_limits podres_total(const struct cgroup_limits *overhead,
                                  const struct cgroup_limits *resources);
