#include "oci/gvisor.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/crash.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "oci/bundle.h"

#define GVISOR_TIMEOUT_MS 60000
#define GVISOR_INFRA_PATH "/crib-infra"

/* A handler with one more global flag; its strings are h's. */
struct handler_with_flag {
    struct oci_handler h;
    char *flags[HANDLER_MAX_FLAGS + 2];
};

/* h as a sandbox in the host's network namespace runs it: with runsc's
 * --network=host, or its own network stack would take the host's
 * interfaces for its own. Other sandboxes run h as it is. */
static const struct oci_handler *handler_for(const struct oci_handler *h, const struct ctr_pod *pod,
                                             struct handler_with_flag *buf)
{
    if (!pod->host_net)
        return h;
    buf->h = *h;
    for (size_t i = 0; i < h->n_flags; i++)
        buf->flags[i] = h->flags[i];
    buf->flags[h->n_flags] = "--network=host";
    buf->h.flags = buf->flags;
    buf->h.n_flags = h->n_flags + 1;
    return &buf->h;
}

static struct json_object *strings_of(const char *const *v)
{
    struct json_object *a = json_object_new_array();

    for (; *v; v++)
        json_object_array_add(a, json_object_new_string(*v));
    return a;
}

static struct json_object *mount_of(const char *dest, const char *type, const char *source,
                                    const char *const *options)
{
    struct json_object *m = json_object_new_object();

    json_object_object_add(m, "destination", json_object_new_string(dest));
    json_object_object_add(m, "type", json_object_new_string(type));
    json_object_object_add(m, "source", json_object_new_string(source));
    if (options)
        json_object_object_add(m, "options", strings_of(options));
    return m;
}

static struct json_object *namespace_of(const char *type, const char *path)
{
    struct json_object *n = json_object_new_object();

    json_object_object_add(n, "type", json_object_new_string(type));
    if (path)
        json_object_object_add(n, "path", json_object_new_string(path));
    return n;
}

/* The infra's spec: crib-infra as the init of the sandbox, over an empty
 * read-only root with nothing but its mount points. */
static struct json_object *infra_spec(const struct gvisor_paths *paths, const struct ctr_pod *pod,
                                      const char *cgroups_path)
{
    struct json_object *spec = json_object_new_object(), *process = json_object_new_object();
    struct json_object *user = json_object_new_object(), *root = json_object_new_object();
    struct json_object *mounts = json_object_new_array(), *linux = json_object_new_object();
    struct json_object *ns = json_object_new_array(), *ann = json_object_new_object();

    json_object_object_add(spec, "ociVersion", json_object_new_string("1.0.2"));
    json_object_object_add(user, "uid", json_object_new_int(0));
    json_object_object_add(user, "gid", json_object_new_int(0));
    json_object_object_add(process, "user", user);
    json_object_object_add(process, "args",
                           strings_of((const char *[]){GVISOR_INFRA_PATH, "--sandbox", NULL}));
    json_object_object_add(process, "env", strings_of((const char *[]){"PATH=/", NULL}));
    json_object_object_add(process, "cwd", json_object_new_string("/"));
    json_object_object_add(process, "noNewPrivileges", json_object_new_boolean(1));
    json_object_object_add(spec, "process", process);
    json_object_object_add(root, "path", json_object_new_string("rootfs"));
    json_object_object_add(root, "readonly", json_object_new_boolean(1));
    json_object_object_add(spec, "root", root);
    if (pod->hostname && *pod->hostname && !pod->host_net)
        json_object_object_add(spec, "hostname", json_object_new_string(pod->hostname));
    json_object_array_add(mounts, mount_of("/proc", "proc", "proc", NULL));
    json_object_array_add(
        mounts, mount_of("/dev", "tmpfs", "tmpfs",
                         (const char *[]){"nosuid", "strictatime", "mode=755", "size=64k", NULL}));
    json_object_array_add(mounts, mount_of(GVISOR_INFRA_PATH, "bind", paths->infra,
                                           (const char *[]){"rbind", "ro", NULL}));
    json_object_object_add(spec, "mounts", mounts);
    json_object_object_add(ann, BUNDLE_CONTAINER_TYPE, json_object_new_string("sandbox"));
    json_object_object_add(ann, BUNDLE_SANDBOX_ID, json_object_new_string(pod->id));
    json_object_object_add(spec, "annotations", ann);
    json_object_array_add(ns, namespace_of("pid", NULL));
    json_object_array_add(ns, namespace_of("ipc", NULL));
    json_object_array_add(ns, namespace_of("uts", NULL));
    json_object_array_add(ns, namespace_of("mount", NULL));
    if (!pod->host_net)
        json_object_array_add(ns, namespace_of("network", pod->netns));
    json_object_object_add(linux, "namespaces", ns);
    if (cgroups_path && *cgroups_path)
        json_object_object_add(linux, "cgroupsPath", json_object_new_string(cgroups_path));
    json_object_object_add(spec, "linux", linux);
    return spec;
}

/* bundle/rootfs: the mount points, and nothing else. */
static int make_rootfs(const char *bundle, struct crib_err *err)
{
    _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", bundle);
    _cleanup_close_ int dir = -1, infra = -1;
    int r = fs_mkdir_p(rootfs, 0755, err);

    if (r < 0)
        return r;
    dir = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open %s", rootfs);
    if ((mkdirat(dir, "proc", 0555) < 0 && errno != EEXIST) ||
        (mkdirat(dir, "dev", 0755) < 0 && errno != EEXIST))
        return crib_fail(err, CRIB_INTERNAL, errno, "make the mount points in %s", rootfs);
    infra = openat(dir, GVISOR_INFRA_PATH + 1, O_WRONLY | O_CREAT | O_CLOEXEC, 0555);
    if (infra < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "make %s%s", rootfs, GVISOR_INFRA_PATH);
    return 0;
}

int gvisor_sandbox_create(const struct gvisor_paths *paths, const struct oci_handler *h,
                          const struct ctr_pod *pod, const char *cgroups_path, struct crib_err *err)
{
    _cleanup_free_ char *bundle = xasprintf("%s/%s", paths->dir, pod->id);
    _cleanup_free_ char *config = xasprintf("%s/config.json", bundle);
    struct handler_with_flag buf;
    const struct oci_handler *run = handler_for(h, pod, &buf);
    struct json_object *spec;
    struct proc_identity proc;
    const char *text;
    int r;

    if (access(paths->infra, X_OK) < 0)
        return crib_fail(err, CRIB_NOT_FOUND, errno, "crib-infra '%s'", paths->infra);
    /* What a crash left of an earlier try goes first. */
    r = gvisor_sandbox_remove(paths, h, pod->id, err);
    if (r >= 0)
        r = fs_mkdir_p(bundle, 0700, err);
    if (r >= 0)
        r = make_rootfs(bundle, err);
    if (r >= 0) {
        spec = infra_spec(paths, pod, cgroups_path);
        text = json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN);
        r = fs_write_volatile(config, text, strlen(text), 0600, err);
        json_object_put(spec);
    }
    if (r >= 0)
        r = shim_create(&paths->shim, run,
                        &(struct shim_create_request){
                            .id = pod->id, .bundle = bundle, .timeout_ms = GVISOR_TIMEOUT_MS},
                        &proc, err);
    CRASH_POINT("gvisor-sandbox-create");
    if (r >= 0)
        r = shim_start(run, pod->id, GVISOR_TIMEOUT_MS, err);
    CRASH_POINT("gvisor-sandbox-start");
    if (r < 0) {
        struct crib_err undo;

        if (gvisor_sandbox_remove(paths, h, pod->id, &undo) < 0)
            log_warn("pod %s: removing a sandbox that failed: %s, ignoring", pod->id, undo.msg);
        return crib_wrap(err, "pod %s: gVisor sandbox", pod->id);
    }
    return 0;
}

int gvisor_sandbox_remove(const struct gvisor_paths *paths, const struct oci_handler *h,
                          const char *id, struct crib_err *err)
{
    _cleanup_close_ int dir = -1;
    struct crib_err ignored;
    int r;

    /* runsc's delete of a running sandbox polls it for seconds; killed
     * first, it is gone in milliseconds. One not running is fine. */
    (void)shim_kill(h, id, SIGKILL, &ignored);
    r = shim_delete(&paths->shim, h, id, err);

    if (r < 0)
        return crib_wrap(err, "remove gVisor sandbox %s", id);
    dir = open(paths->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open %s", paths->dir);
    return fs_remove_tree_at(dir, id, err);
}

bool gvisor_sandbox_running(const struct oci_handler *h, const char *id)
{
    char status[32];
    struct crib_err ignored;

    return shim_state(h, id, status, sizeof(status), &ignored) == 0 &&
           strcmp(status, "running") == 0;
}
