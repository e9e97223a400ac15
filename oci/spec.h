/* The OCI runtime spec (config.json) of a container, built from what the CRI
 * asked for, the image config and the pod. Pure: no I/O, so every rule is a
 * unit test. The caller resolves users, seccomp profiles and paths first. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum spec_propagation { SPEC_PROP_PRIVATE = 0, SPEC_PROP_RSLAVE = 1, SPEC_PROP_RSHARED = 2 };

struct spec_mount {
    const char *destination; /* absolute path in the container */
    const char *source;      /* absolute path on the host */
    bool readonly;
    bool recursive_readonly; /* crib applies it itself: recorded as "rro" option for runc >= 1.2,
                                see spec_build */
    enum spec_propagation propagation;
};

struct spec_device {
    const char *path;      /* in the container */
    const char *host_path; /* on the host: major/minor/type are read by the caller */
    char type;             /* 'c' or 'b' */
    int64_t major, minor;
    uint32_t file_mode, uid, gid;
    const char *permissions; /* cgroup access: "rwm" */
};

struct spec_id_mapping {
    uint32_t container_id, host_id, size;
};

/* Resources; a zero field is not set (as the CRI means it). */
struct spec_resources {
    int64_t cpu_period, cpu_quota, cpu_shares;
    int64_t memory_limit, memory_swap_limit; /* bytes */
    const char *cpuset_cpus, *cpuset_mems;
    size_t n_hugepages;
    const char *const *hugepage_sizes; /* "2MB", "1GB" */
    const uint64_t *hugepage_limits;
    size_t n_unified;
    const char *const *unified_keys, *const *unified_values;
    int64_t pids_limit;
};

struct spec_input {
    /* process */
    const char *const *args; /* the final argv, already merged (spec_merge_args) */
    size_t n_args;
    const char *const *env; /* final "K=V", already merged (spec_merge_env) */
    size_t n_env;
    const char *cwd; /* NULL or "": "/" */
    bool terminal;
    uint32_t uid, gid;
    const uint32_t *additional_gids;
    size_t n_additional_gids;
    const char *const *cap_add, *const *cap_drop; /* "CAP_NET_ADMIN", "NET_ADMIN" or "ALL" */
    size_t n_cap_add, n_cap_drop;
    bool privileged;
    bool no_new_privs;
    int oom_score_adj;    /* already clamped by the caller */
    int64_t nofile_limit; /* RLIMIT_NOFILE; 0: containerd's 1048576 */
    /* The capabilities crib itself holds (bit n: capability n), which is
     * what "ALL" and privileged grant, as containerd grants its own; 0: every
     * capability known. */
    uint64_t cap_bounding;
    const char *apparmor_profile; /* NULL: none */

    /* root */
    const char *rootfs; /* absolute path of the mounted rootfs */
    bool readonly_rootfs;
    const char *hostname; /* NULL: none (host UTS) */

    /* namespaces: a path joins one; NULL with the host_ flag false makes a new
     * one; host_ true leaves the namespace out (the node's). The user
     * namespace has no host_ flag: joined by path, new when mappings are
     * given without a path, else the node's. */
    const char *netns_path, *ipcns_path, *utsns_path, *pidns_path, *userns_path;
    bool host_net, host_ipc, host_pid, host_uts;
    /* a new cgroup namespace: containerd makes one on cgroup v2 only, so the
     * caller decides; privileged containers keep the node's */
    bool cgroupns;
    size_t n_uid_mappings, n_gid_mappings; /* written whenever a user namespace is set */
    const struct spec_id_mapping *uid_mappings, *gid_mappings;

    /* mounts added after the defaults (/proc, /dev, /dev/pts, /dev/mqueue,
     * /sys, /sys/fs/cgroup); a mount here at a default's destination
     * replaces it (e.g. /dev/shm from the pod). */
    const struct spec_mount *mounts;
    size_t n_mounts;
    const struct spec_device *devices;
    size_t n_devices;
    /* NULL: the defaults; empty (n=0, non-NULL): none (the kubelet's "Unmasked") */
    const char *const *masked_paths, *const *readonly_paths;
    size_t n_masked_paths, n_readonly_paths;
    bool masked_paths_set, readonly_paths_set;

    const char
        *cgroups_path; /* "/kubepods/pod.../ID" (cgroupfs) or "slice:prefix:name" (systemd) */
    struct spec_resources resources;
    size_t n_sysctls;
    const char *const *sysctl_keys, *const *sysctl_values;

    /* linux.seccomp as built by seccomp.h, or NULL: unconfined. spec_build
     * takes a reference of its own. */
    struct json_object *seccomp;

    size_t n_annotations;
    const char *const *annotation_keys, *const *annotation_values;
};

/* Builds the spec. Privileged: every capability, every host device
 * (/dev's char and block devices, as the caller lists them in devices),
 * no masked or read-only paths, sysfs and cgroupfs writable, no seccomp.
 * A recursive read-only mount gets "ro" and "rro": runc >= 1.2 applies "rro";
 * runc 1.1 passes it as mount data, which a bind mount ignores, so there the
 * caller sets MOUNT_ATTR_RDONLY recursively itself.
 * Errors: CRIB_INVALID naming the bad field (empty args, a relative rootfs,
 * an unknown capability, a relative mount destination or source, recursive
 * read-only without readonly and private propagation, a device that is not
 * 'c' or 'b'). Free with json_object_put(). */
int spec_build(const struct spec_input *in, struct json_object **ret_spec, struct crib_err *err);

/* linux.resources without the device rules, as `runc update --resources`
 * reads it. New object: json_object_put(). */
struct json_object *spec_resources_build(const struct spec_resources *res);

/* The process args Kubernetes defines: command replaces the image's
 * Entrypoint (and then its Cmd is dropped); args replace Cmd.
 *   command set:          command + args
 *   command unset, args:  entrypoint + args
 *   neither:              entrypoint + cmd
 * Returns a new NULL-terminated vector of borrowed strings (free() only the
 * vector). Errors: CRIB_INVALID when the result is empty. */
int spec_merge_args(const char *const *command, size_t n_command, const char *const *args,
                    size_t n_args, const char *const *entrypoint, size_t n_entrypoint,
                    const char *const *cmd, size_t n_cmd, const char ***ret_argv, size_t *ret_n,
                    struct crib_err *err);

/* The environment: the image's env, then the CRI envs overriding by key;
 * PATH defaulted when neither sets it; HOSTNAME set to hostname when given
 * and not set. Returns new strings (free each and the vector). */
int spec_merge_env(const char *const *image_env, size_t n_image_env, const char *const *keys,
                   const char *const *values, size_t n_cri_env, const char *hostname,
                   char ***ret_env, size_t *ret_n, struct crib_err *err);

/* The capabilities the process of in ends with, as "CAP_..." static strings
 * (free() only the vector). Errors: CRIB_INVALID naming an unknown one. */
int spec_effective_caps(const struct spec_input *in, const char ***ret_caps, size_t *ret_n,
                        struct crib_err *err);

/* The capability names of the peers' default set (containerd's and CRI-O's
 * 14: CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD, NET_RAW, SETGID, SETUID,
 * SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE) as
 * "CAP_..." strings; a static array. */
const char *const *spec_default_caps(size_t *ret_n);

/* Signal number for a name ("SIGTERM", "TERM", "15"); 0 when unknown. */
int spec_signal_number(const char *name);
