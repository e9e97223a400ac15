#include "oci/bundle.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "oci/seccomp.h"
#include "oci/spec.h"
#include "storage/rootfs.h"

int bundle_unmount_copies(const char *bundle, struct crib_err *err)
{
    _cleanup_free_ char *dir = xasprintf("%s/copies", bundle);
    _cleanup_(closedirp) DIR *d = opendir(dir);
    struct dirent *de;
    int r = 0;

    while (d && r >= 0 && (de = readdir(d))) {
        _cleanup_free_ char *path = NULL;

        if (de->d_name[0] == '.')
            continue;
        path = xasprintf("%s/%s", dir, de->d_name);
        r = rootfs_unmount(path, err);
    }
    return r;
}

/* The capabilities cribd holds: all that privileged and "ALL" can grant. */
static uint64_t own_capabilities(void)
{
    _cleanup_free_ char *text = NULL;
    struct crib_err ignored;
    const char *line;

    if (fs_read_file("/proc/self/status", 1 << 16, &text, NULL, &ignored) < 0)
        return 0;
    line = strstr(text, "\nCapBnd:");
    return line ? strtoull(line + 8, NULL, 16) : 0;
}

/* Everything a create makes that outlives the spec build. */
struct create_state {
    struct spec_mount *mounts;
    size_t n_mounts;
    struct spec_device *devices;
    size_t n_devices;
    char **strings; /* owned strings the mounts and devices point at */
    size_t n_strings;
    const char **caps;
    size_t n_caps;
    const char **argv;
    size_t n_argv;
    char **env;
    size_t n_env;
    struct json_object *seccomp, *spec;
};

static void create_state_done(struct create_state *s)
{
    free(s->mounts);
    free(s->devices);
    strv_free(s->strings, s->n_strings);
    free(s->caps);
    free(s->argv);
    strv_free(s->env, s->n_env);
    json_object_put(s->seccomp);
    json_object_put(s->spec);
}

static const char *keep(struct create_state *s, char *str)
{
    s->strings = xrealloc(s->strings, (s->n_strings + 1) * sizeof(*s->strings));
    s->strings[s->n_strings++] = str;
    return str;
}

static bool has_mount(const struct ctr_config *cfg, const char *dest)
{
    for (size_t i = 0; i < cfg->n_mounts; i++)
        if (strcmp(cfg->mounts[i].container_path, dest) == 0)
            return true;
    return false;
}

static void add_mount(struct create_state *s, const char *dest, const char *src, bool ro, bool rro,
                      int propagation)
{
    s->mounts = xrealloc(s->mounts, (s->n_mounts + 1) * sizeof(*s->mounts));
    s->mounts[s->n_mounts++] = (struct spec_mount){
        .destination = dest,
        .source = src,
        .readonly = ro,
        .recursive_readonly = rro,
        .propagation = (enum spec_propagation)propagation,
    };
}

/* An image volume: a read-only overlay of the image's layers made beside the
 * other copies (bundle/copies/imgN) and bound from, its sub path only when
 * one is asked for. */
static int image_volume(struct create_state *s, const struct ctr_mount *m, const char *bundle,
                        size_t i, int userns_fd, struct crib_err *err)
{
    const char *target = keep(s, xasprintf("%s/copies/img%zu", bundle, i));
    const char *source = target;
    struct stat st;
    int r = rootfs_mount(&(struct rootfs_spec){.lower_dirs = m->image_layers,
                                               .n_lower = m->n_image_layers,
                                               .target = target,
                                               .read_only = true,
                                               .idmap = userns_fd >= 0,
                                               .idmap_userns_fd = userns_fd},
                         err);

    if (r < 0)
        return r;
    if (m->image_sub_path && *m->image_sub_path) {
        source = keep(s, xasprintf("%s/%s", target, m->image_sub_path));
        if (lstat(source, &st) < 0 || S_ISLNK(st.st_mode))
            return crib_fail(err, CRIB_INVALID, errno ? errno : ELOOP,
                             "image_sub_path '%s' is not in image %s", m->image_sub_path,
                             m->host_path);
    }
    add_mount(s, m->container_path, source, true, false, m->propagation);
    return 0;
}

/* The pod's files and /dev/shm first, then the config's mounts; a pod file
 * the config mounts itself is left to the config. A missing host path is
 * made as a dir, as containerd does. A recursive read-only volume, and any
 * volume of a pod with its own user namespace (userns_fd >= 0), binds from
 * a copy of the host tree made here (bundle/copies/N) read-only or
 * idmapped, because runc 1.1 can do neither itself. */
static int collect_mounts(struct create_state *s, const struct ctr_pod *pod,
                          const struct ctr_config *cfg, const char *bundle, int userns_fd,
                          struct crib_err *err)
{
    static const char *const pod_files[][2] = {{"/etc/hostname", "hostname"},
                                               {"/etc/hosts", "hosts"},
                                               {"/etc/resolv.conf", "resolv.conf"}};

    for (size_t i = 0; i < ARRAY_SIZE(pod_files); i++) {
        const char *src = keep(s, xasprintf("%s/%s", pod->dir, pod_files[i][1]));

        if (!has_mount(cfg, pod_files[i][0]) && access(src, F_OK) == 0)
            add_mount(s, pod_files[i][0], src, cfg->readonly_rootfs && i == 0, false, 0);
    }
    if (pod->has_shm && !has_mount(cfg, "/dev/shm"))
        add_mount(s, "/dev/shm", keep(s, xasprintf("%s/shm", pod->dir)), false, false, 0);
    for (size_t i = 0; i < cfg->n_mounts; i++) {
        const struct ctr_mount *m = &cfg->mounts[i];
        struct stat st;

        if (m->n_image_layers) {
            int r = image_volume(s, m, bundle, i, userns_fd, err);

            if (r < 0)
                return crib_wrap(err, "mounts[%zu]", i);
            continue;
        }
        if (stat(m->host_path, &st) < 0) {
            int r = errno == ENOENT
                        ? fs_mkdir_p(m->host_path, 0755, err)
                        : crib_fail(err, CRIB_INTERNAL, errno, "mount source %s", m->host_path);

            if (r < 0)
                return r;
        }
        if (m->recursive_readonly || userns_fd >= 0) {
            const char *copy = keep(s, xasprintf("%s/copies/%zu", bundle, i));
            int r = rootfs_bind_copy(m->host_path, copy, m->recursive_readonly, userns_fd, err);

            if (r < 0)
                return crib_wrap(err, "mounts[%zu]", i);
            add_mount(s, m->container_path, copy, m->readonly, m->recursive_readonly,
                      m->propagation);
            continue;
        }
        add_mount(s, m->container_path, m->host_path, m->readonly, false, m->propagation);
    }
    return 0;
}

static int add_device(struct create_state *s, const char *path, const char *host_path,
                      const char *permissions, struct crib_err *err)
{
    struct stat st;

    if (stat(host_path, &st) < 0)
        return crib_fail(err, errno == ENOENT ? CRIB_NOT_FOUND : CRIB_INTERNAL, errno, "device %s",
                         host_path);
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
        return crib_fail(err, CRIB_INVALID, 0, "device %s is not a device node", host_path);
    s->devices = xrealloc(s->devices, (s->n_devices + 1) * sizeof(*s->devices));
    s->devices[s->n_devices++] = (struct spec_device){
        .path = path,
        .host_path = host_path,
        .type = S_ISCHR(st.st_mode) ? 'c' : 'b',
        .major = major(st.st_rdev),
        .minor = minor(st.st_rdev),
        .file_mode = st.st_mode & 07777,
        .uid = st.st_uid,
        .gid = st.st_gid,
        .permissions = permissions && *permissions ? permissions : "rwm",
    };
    return 0;
}

/* A privileged container gets the node's devices (the top of /dev, as the
 * peers do; the pty and shm dirs are the container's own). */
static int host_devices(struct create_state *s, struct crib_err *err)
{
    _cleanup_(closedirp) DIR *d = opendir("/dev");
    struct dirent *de;

    while (d && (de = readdir(d))) {
        const char *path;
        struct stat st;

        if (de->d_type != DT_CHR && de->d_type != DT_BLK)
            continue;
        path = keep(s, xasprintf("/dev/%s", de->d_name));
        if (strcmp(path, "/dev/console") == 0 || strcmp(path, "/dev/ptmx") == 0 ||
            lstat(path, &st) < 0)
            continue;
        if (add_device(s, path, path, "rwm", err) < 0)
            return crib_err_ret(err);
    }
    return 0;
}

static int collect_devices(struct create_state *s, const struct ctr_config *cfg,
                           struct crib_err *err)
{
    if (cfg->privileged)
        return host_devices(s, err);
    for (size_t i = 0; i < cfg->n_devices; i++) {
        int r = add_device(s, cfg->devices[i].path, cfg->devices[i].host_path,
                           cfg->devices[i].permissions, err);

        if (r < 0)
            return crib_wrap(err, "devices[%zu]", i);
    }
    return 0;
}

/* containerd's RLIMIT_NOFILE, unless cribd's own hard limit is lower: raising
 * it needs CAP_SYS_RESOURCE, which a node may not grant. */
static int64_t nofile_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 1048576)
        return (int64_t)rl.rlim_max;
    return 1048576;
}

/* The node denies lowering oom_score_adj without CAP_SYS_RESOURCE, so a
 * container asks for no less than cribd's own. */
static int clamp_oom_score_adj(int64_t want)
{
    _cleanup_free_ char *text = NULL;
    struct crib_err ignored;
    int own = 0;

    if (fs_read_file("/proc/self/oom_score_adj", 32, &text, NULL, &ignored) >= 0)
        own = atoi(text);
    if (want < own)
        return own;
    return want > 1000 ? 1000 : (int)want;
}

static int build_seccomp(struct create_state *s, const struct ctr_config *cfg, struct crib_err *err)
{
    /* Privileged is always unconfined, whatever profile the pod names (the
     * kubelet and critest expect it ignored, not refused). */
    if (cfg->privileged && cfg->seccomp == CTR_SECCOMP_LOCALHOST)
        log_info("container %s: privileged, so seccomp profile %s is not applied", cfg->name,
                 cfg->seccomp_profile);
    if (cfg->privileged || cfg->seccomp == CTR_SECCOMP_UNCONFINED)
        return 0;
    if (cfg->seccomp == CTR_SECCOMP_RUNTIME_DEFAULT) {
        s->seccomp = seccomp_default_profile(s->caps, s->n_caps);
        return 0;
    }
    return seccomp_load_profile(cfg->seccomp_profile, s->caps, s->n_caps, &s->seccomp, err);
}

static void pid_namespace(const struct bundle_request *req, struct create_state *s,
                          struct spec_input *in)
{
    switch (req->cfg->pid_mode) {
    case 0: /* POD */
        in->pidns_path = req->pod->pidns;
        in->host_pid = req->pod->host_pid;
        break;
    case 2: /* NODE */ in->host_pid = true; break;
    case 3: /* TARGET: another container's */
        in->pidns_path = keep(s, xasprintf("/proc/%d/ns/pid", (int)req->target_pid));
        break;
    default: /* CONTAINER: its own */ break;
    }
}

static int build_spec(const struct bundle_request *req, const struct user_ids *ids,
                      struct create_state *s, struct crib_err *err)
{
    const struct ctr_pod *pod = req->pod;
    const struct ctr_image *img = req->img;
    const struct ctr_config *cfg = req->cfg;
    const char **ann_keys = xcalloc(cfg->n_annotations + 3, sizeof(char *));
    const char **ann_values = xcalloc(cfg->n_annotations + 3, sizeof(char *));
    size_t n_ann = 0;
    struct spec_input in;
    int r;

    for (size_t i = 0; i < cfg->n_annotations; i++) {
        const char *key = cfg->annotations[i].key;

        /* The sandbox a container joins is cribd's to say. */
        if (req->sandbox_id &&
            (strcmp(key, BUNDLE_CONTAINER_TYPE) == 0 || strcmp(key, BUNDLE_SANDBOX_ID) == 0))
            continue;
        ann_keys[n_ann] = key;
        ann_values[n_ann++] = cfg->annotations[i].value;
    }
    if (req->sandbox_id) {
        ann_keys[n_ann] = BUNDLE_CONTAINER_TYPE;
        ann_values[n_ann++] = "container";
        ann_keys[n_ann] = BUNDLE_SANDBOX_ID;
        ann_values[n_ann++] = req->sandbox_id;
    }
    in = (struct spec_input){
        .args = s->argv,
        .n_args = s->n_argv,
        .env = (const char *const *)s->env,
        .n_env = s->n_env,
        .cwd = cfg->working_dir && *cfg->working_dir ? cfg->working_dir : img->working_dir,
        .terminal = cfg->tty,
        .uid = ids->uid,
        .gid = ids->gid,
        .additional_gids = ids->groups,
        .n_additional_gids = ids->n_groups,
        .cap_add = cfg->cap_add,
        .n_cap_add = cfg->n_cap_add,
        .cap_drop = cfg->cap_drop,
        .n_cap_drop = cfg->n_cap_drop,
        .privileged = cfg->privileged,
        .no_new_privs = cfg->no_new_privs,
        .apparmor_profile = cfg->privileged ? NULL : cfg->apparmor_profile,
        .oom_score_adj = clamp_oom_score_adj(cfg->oom_score_adj),
        .nofile_limit = nofile_limit(),
        .cap_bounding = own_capabilities(),
        .rootfs = req->rootfs,
        .readonly_rootfs = cfg->readonly_rootfs,
        .hostname = pod->host_net ? NULL : pod->hostname,
        .netns_path = pod->netns,
        .ipcns_path = pod->ipcns,
        .utsns_path = pod->utsns,
        .userns_path = pod->userns,
        .n_uid_mappings = pod->userns ? 1 : 0,
        .uid_mappings = &pod->uid_map,
        .n_gid_mappings = pod->userns ? 1 : 0,
        .gid_mappings = &pod->gid_map,
        .host_net = pod->host_net,
        .host_ipc = pod->host_ipc,
        .host_uts = pod->host_net,
        .mounts = s->mounts,
        .n_mounts = s->n_mounts,
        .devices = s->devices,
        .n_devices = s->n_devices,
        .masked_paths = cfg->masked_paths,
        .n_masked_paths = cfg->n_masked_paths,
        .masked_paths_set = cfg->masked_paths_set,
        .readonly_paths = cfg->readonly_paths,
        .n_readonly_paths = cfg->n_readonly_paths,
        .readonly_paths_set = cfg->readonly_paths_set,
        .cgroups_path = req->cgroups_path,
        .resources = cfg->resources,
        .n_annotations = n_ann,
        .annotation_keys = ann_keys,
        .annotation_values = ann_values,
    };
    pid_namespace(req, s, &in);
    /* The seccomp rules depend on the capabilities the process ends with. */
    r = spec_effective_caps(&in, &s->caps, &s->n_caps, err);
    if (r >= 0)
        r = build_seccomp(s, cfg, err);
    if (r >= 0) {
        in.seccomp = s->seccomp;
        r = spec_build(&in, &s->spec, err);
    }
    free(ann_keys);
    free(ann_values);
    return r;
}

static int resolve_user(const char *rootfs, const struct ctr_image *img,
                        const struct ctr_config *cfg, struct user_ids *ids, struct crib_err *err)
{
    _cleanup_close_ int fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct user_request req = cfg->user;

    if (fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open rootfs %s", rootfs);
    req.image_user = img->user ? img->user : "";
    return user_resolve(fd, &req, ids, err);
}

static int make_process(const struct ctr_pod *pod, const struct ctr_image *img,
                        const struct ctr_config *cfg, struct create_state *s, struct crib_err *err)
{
    int r = spec_merge_args(cfg->command, cfg->n_command, cfg->args, cfg->n_args, img->entrypoint,
                            img->n_entrypoint, img->cmd, img->n_cmd, &s->argv, &s->n_argv, err);

    if (r < 0)
        return r;
    return spec_merge_env(img->env, img->n_env, cfg->env_keys, cfg->env_values, cfg->n_env,
                          pod->host_net ? NULL : pod->hostname, &s->env, &s->n_env, err);
}

int bundle_write(const struct bundle_request *req, struct user_ids *ret_ids, struct crib_err *err)
{
    _cleanup_free_ char *config = xasprintf("%s/config.json", req->dir);
    struct create_state s = {0};
    const char *text;
    int r = resolve_user(req->rootfs, req->img, req->cfg, ret_ids, err);

    if (r >= 0)
        r = make_process(req->pod, req->img, req->cfg, &s, err);
    if (r >= 0)
        r = collect_mounts(&s, req->pod, req->cfg, req->dir, req->userns_fd, err);
    if (r >= 0)
        r = collect_devices(&s, req->cfg, err);
    if (r >= 0)
        r = build_spec(req, ret_ids, &s, err);
    if (r >= 0) {
        text = json_object_to_json_string_ext(s.spec, JSON_C_TO_STRING_PLAIN);
        r = fs_write_volatile(config, text, strlen(text), 0600, err);
    }
    create_state_done(&s);
    return r;
}
