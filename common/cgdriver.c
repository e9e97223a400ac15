#include "common/cgdriver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

#define CGROUP_PATH_MAX 512
/* systemd's limit on a unit name (UNIT_NAME_MAX). */
#define UNIT_NAME_MAX 255
#define SLICE_SUFFIX ".slice"
/* Containers of pods without a parent, under each driver. */
#define CGROUPFS_DEFAULT_PARENT "/crib"
#define SYSTEMD_DEFAULT_SLICE "system.slice"
/* The scope prefix, so a crib container's unit reads crib-ID.scope. */
#define SCOPE_PREFIX "crib"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int cgroup_path_check(const char *path, struct crib_err *err)
{
    if (path[0] != '/' || strlen(path) > CGROUP_PATH_MAX || strstr(path, "/../") ||
        strstr(path, "/./") || ends_with(path, "/..") || ends_with(path, "/.") ||
        strchr(path, '\n'))
        return crib_fail(err, CRIB_INVALID, 0,
                         "cgroup path '%.128s' must be absolute, without . or ..", path);
    return 0;
}

/* Characters systemd accepts in a unit name (no templates for slices). */
static bool unit_chars_ok(const char *name)
{
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:_.\\-") ==
           strlen(name);
}

char *cgroup_slice_dir(const char *name)
{
    size_t stem_len;
    char *dir, *p;

    if (strcmp(name, "-" SLICE_SUFFIX) == 0)
        return xstrdup("/");
    if (!ends_with(name, SLICE_SUFFIX) || strlen(name) > UNIT_NAME_MAX || !unit_chars_ok(name))
        return NULL;
    stem_len = strlen(name) - strlen(SLICE_SUFFIX);
    /* Each dash opens a level, so the stem may not start or end with one,
     * nor hold two in a row (systemd refuses those names too). */
    if (stem_len == 0 || name[0] == '-' || name[stem_len - 1] == '-' || strstr(name, "--"))
        return NULL;
    dir = xstrdup("");
    for (p = strchr(name, '-'); p && p < name + stem_len; p = strchr(p + 1, '-')) {
        char *next = xasprintf("%s/%.*s" SLICE_SUFFIX, dir, (int)(p - name), name);

        free(dir);
        dir = next;
    }
    p = xasprintf("%s/%s", dir, name);
    free(dir);
    return p;
}

static int cgroupfs_check_parent(const char *parent, struct crib_err *err)
{
    return *parent ? cgroup_path_check(parent, err) : 0;
}

static char *cgroupfs_parent_dir(const char *parent)
{
    return *parent ? xstrdup(parent) : NULL;
}

static char *cgroupfs_container_path(const char *parent, const char *id)
{
    return xasprintf("%s/crib-%s", *parent ? parent : CGROUPFS_DEFAULT_PARENT, id);
}

const struct cgroup_driver cgroup_driver_cgroupfs = {
    .name = "cgroupfs",
    .makes_parent_dirs = true,
    .check_parent = cgroupfs_check_parent,
    .parent_dir = cgroupfs_parent_dir,
    .container_path = cgroupfs_container_path,
    .container_dir = cgroupfs_container_path,
};

static int systemd_check_parent(const char *parent, struct crib_err *err)
{
    _cleanup_free_ char *dir = *parent ? cgroup_slice_dir(parent) : NULL;

    if (*parent && !dir)
        return crib_fail(err, CRIB_INVALID, 0,
                         "cgroup_parent '%.128s' is not a systemd slice name (NAME.slice, "
                         "levels joined by single dashes) as the systemd cgroup driver needs",
                         parent);
    return 0;
}

static char *systemd_parent_dir(const char *parent)
{
    return *parent ? cgroup_slice_dir(parent) : NULL;
}

/* runc, crun and runsc read "slice:prefix:name" as the scope prefix-name.scope. */
static char *systemd_container_path(const char *parent, const char *id)
{
    return xasprintf("%s:" SCOPE_PREFIX ":%s", *parent ? parent : SYSTEMD_DEFAULT_SLICE, id);
}

static char *systemd_container_dir(const char *parent, const char *id)
{
    _cleanup_free_ char *slice = cgroup_slice_dir(*parent ? parent : SYSTEMD_DEFAULT_SLICE);

    /* The root slice's dir is "/" itself. */
    const char *dir = slice && strcmp(slice, "/") ? slice : "";

    return xasprintf("%s/" SCOPE_PREFIX "-%s.scope", dir, id);
}

const struct cgroup_driver cgroup_driver_systemd = {
    .name = "systemd",
    .makes_parent_dirs = false,
    .runtime_flag = "--systemd-cgroup",
    .check_parent = systemd_check_parent,
    .parent_dir = systemd_parent_dir,
    .container_path = systemd_container_path,
    .container_dir = systemd_container_dir,
};

const struct cgroup_driver *cgroup_driver_find(const char *name)
{
    if (strcmp(name, cgroup_driver_cgroupfs.name) == 0)
        return &cgroup_driver_cgroupfs;
    if (strcmp(name, cgroup_driver_systemd.name) == 0)
        return &cgroup_driver_systemd;
    return NULL;
}
