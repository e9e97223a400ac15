/* A container's CRI config checked before anything is made for it: what
 * can be judged from the request alone gets INVALID_ARGUMENT naming the
 * field, so a create fails before it touches disk. */
#include <string.h>

#include "oci/container.h"

int ctr_config_check(const struct ctr_config *cfg, struct crib_err *err)
{
    if (!cfg->name || !*cfg->name)
        return crib_fail(err, CRIB_INVALID, 0, "config.metadata.name is empty");
    if (strchr(cfg->name, '/'))
        return crib_fail(err, CRIB_INVALID, 0, "config.metadata.name '%s' has a '/'", cfg->name);
    for (size_t i = 0; i < cfg->n_mounts; i++) {
        const struct ctr_mount *m = &cfg->mounts[i];

        if (!m->container_path || m->container_path[0] != '/')
            return crib_fail(err, CRIB_INVALID, 0,
                             "mounts[%zu].container_path '%s' is not absolute", i,
                             m->container_path ? m->container_path : "");
        if (m->n_image_layers) {
            if (m->image_sub_path &&
                (m->image_sub_path[0] == '/' || strstr(m->image_sub_path, "..")))
                return crib_fail(err, CRIB_INVALID, 0,
                                 "mounts[%zu].image_sub_path '%s' must be relative, without '..'",
                                 i, m->image_sub_path);
            continue;
        }
        if (!m->host_path || m->host_path[0] != '/')
            return crib_fail(err, CRIB_INVALID, 0, "mounts[%zu].host_path '%s' is not absolute", i,
                             m->host_path ? m->host_path : "");
        if (m->recursive_readonly && !m->readonly)
            return crib_fail(err, CRIB_INVALID, 0,
                             "mounts[%zu]: recursive read-only needs readonly too", i);
        if (m->recursive_readonly && m->propagation != 0)
            return crib_fail(err, CRIB_INVALID, 0,
                             "mounts[%zu]: recursive read-only needs private propagation", i);
    }
    for (size_t i = 0; i < cfg->n_devices; i++)
        if (!cfg->devices[i].path || cfg->devices[i].path[0] != '/')
            return crib_fail(err, CRIB_INVALID, 0, "devices[%zu].container_path is not absolute",
                             i);
    if (cfg->seccomp == CTR_SECCOMP_LOCALHOST &&
        (!cfg->seccomp_profile || cfg->seccomp_profile[0] != '/'))
        return crib_fail(err, CRIB_INVALID, 0,
                         "seccomp: a Localhost profile needs an absolute localhost_ref");
    if (cfg->user.has_gid && !cfg->user.has_uid && !cfg->user.username)
        return crib_fail(err, CRIB_INVALID, 0,
                         "run_as_group needs run_as_user or run_as_username as well");
    if (cfg->pid_mode == 3 && (!cfg->target_id || !*cfg->target_id))
        return crib_fail(err, CRIB_INVALID, 0, "namespace_options.pid TARGET needs a target_id");
    return 0;
}
