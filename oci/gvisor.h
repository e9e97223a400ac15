/* gVisor pod sandboxes (design.md: a runsc pod is one gVisor sandbox).
 * When a pod whose handler is runsc runs, cribd makes its sandbox: runsc's
 * first container, whose process is crib-infra (no image pulled), in the
 * pod's network namespace from CNI. The sandbox's ID is the pod's; the
 * pod's containers join it by annotation (bundle.h). Its bundle lives in
 * dir/ID and its conmon's exit file in dir/exits. */
#pragma once

#include <stdbool.h>

#include "common/err.h"
#include "oci/container.h"
#include "oci/handler.h"
#include "oci/shim.h"

struct gvisor_paths {
    const char *dir;   /* STATE/gvisor: one bundle per pod */
    const char *infra; /* crib-infra */
    struct shim_paths shim;
};

/* Makes and starts pod's sandbox under h; cgroups_path is the spec's
 * (NULL: none). On failure nothing of it is left.
 * Errors: CRIB_NOT_FOUND (runsc, conmon or crib-infra missing),
 * CRIB_TIMEOUT, CRIB_INTERNAL with runsc's message. */
int gvisor_sandbox_create(const struct gvisor_paths *paths, const struct oci_handler *h,
                          const struct ctr_pod *pod, const char *cgroups_path,
                          struct crib_err *err);

/* Ends and removes sandbox id (its containers with it); one that is not
 * there is fine. Errors: CRIB_INTERNAL. */
int gvisor_sandbox_remove(const struct gvisor_paths *paths, const struct oci_handler *h,
                          const char *id, struct crib_err *err);

/* Whether sandbox id is running. */
bool gvisor_sandbox_running(const struct oci_handler *h, const char *id);
