#include "sandbox/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cgdriver.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/xalloc.h"

#define KNOB_MAX 256

void cgroup_layout_done(struct cgroup_layout *l)
{
    free(l->v2_root);
    for (size_t i = 0; i < l->n_v1; i++) {
        free(l->v1[i].controllers);
        free(l->v1[i].mount);
    }
    memset(l, 0, sizeof(*l));
}

/* One mountinfo line: "... MOUNTPOINT ... - FSTYPE SOURCE SUPEROPTS". */
static void take_mount(struct cgroup_layout *l, char *line)
{
    char mp[1024], fstype[64], opts[512];
    char *dash = strstr(line, " - ");

    if (!dash || sscanf(line, "%*s %*s %*s %*s %1023s", mp) != 1 ||
        sscanf(dash + 3, "%63s %*s %511s", fstype, opts) != 2)
        return;
    if (strcmp(fstype, "cgroup2") == 0 && !l->v2_root) {
        l->v2_root = xstrdup(mp);
    } else if (strcmp(fstype, "cgroup") == 0 && l->n_v1 < CGROUP_MAX_V1) {
        /* The super options list the controllers after rw/ro and friends. */
        char list[512] = "";

        for (char *save = NULL, *t = strtok_r(opts, ",", &save); t; t = strtok_r(NULL, ",", &save))
            if (strcmp(t, "rw") && strcmp(t, "ro") && strncmp(t, "release_agent", 13) &&
                strcmp(t, "clone_children") && strcmp(t, "noprefix") && strcmp(t, "xattr"))
                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", *list ? "," : "",
                         t);
        l->v1[l->n_v1].controllers = xstrdup(list);
        l->v1[l->n_v1++].mount = xstrdup(mp);
    }
}

int cgroup_layout_detect(const char *mountinfo_path, struct cgroup_layout *ret,
                         struct crib_err *err)
{
    const char *path = mountinfo_path ? mountinfo_path : "/proc/self/mountinfo";
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    struct cgroup_layout l = {0};
    char line[4096];

    if (!f)
        return crib_fail(err, CRIB_INTERNAL, errno, "open %s", path);
    while (fgets(line, sizeof(line), f))
        take_mount(&l, line);
    if (!l.v2_root && l.n_v1 == 0)
        return crib_fail(err, CRIB_INTERNAL, 0, "no cgroup filesystem is mounted");
    /* With any v1 controller mounted, the v2 tree (if any) has none to offer. */
    l.version = l.n_v1 > 0 ? CGROUP_V1 : CGROUP_V2;
    *ret = l;
    return 0;
}

static int write_knob(const char *dir, const char *knob, const char *value, struct crib_err *err)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, knob);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    size_t len = strlen(value);

    if (fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open %s", path);
    if (write(fd, value, len) != (ssize_t)len)
        return crib_fail(err, errno == EINVAL || errno == ERANGE ? CRIB_INVALID : CRIB_INTERNAL,
                         errno, "%s = %s", path, value);
    return 0;
}

static bool has_controller(const char *list, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = list; (p = strstr(p, name)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

/* A new v1 cpuset is empty and takes no task until it has cpus and mems. */
static int inherit_cpuset(const char *dir, struct crib_err *err)
{
    static const char *const knobs[] = {"cpuset.cpus", "cpuset.mems"};

    for (size_t i = 0; i < 2; i++) {
        _cleanup_free_ char *mine = xasprintf("%s/%s", dir, knobs[i]);
        _cleanup_free_ char *parent = xasprintf("%s/../%s", dir, knobs[i]);
        _cleanup_free_ char *cur = NULL, *val = NULL;
        int r = fs_read_file(mine, KNOB_MAX, &cur, NULL, err);

        if (r >= 0 && strcspn(cur, "\n") == 0)
            r = fs_read_file(parent, KNOB_MAX, &val, NULL, err);
        if (r >= 0 && val)
            r = write_knob(dir, knobs[i], val, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* mkdir -p below root, running fix() on each dir it makes. */
static int make_tree(const char *root, const char *path,
                     int (*fix)(const char *, struct crib_err *), struct crib_err *err)
{
    _cleanup_free_ char *full = xasprintf("%s%s", root, path);
    char *p = full + strlen(root);

    for (;;) {
        p = strchr(p + 1, '/');
        if (p)
            *p = '\0';
        if (mkdir(full, 0755) == 0) {
            int r = fix ? fix(full, err) : 0;

            if (r < 0)
                return r;
        } else if (errno != EEXIST) {
            return crib_fail(err, CRIB_INTERNAL, errno, "mkdir %s", full);
        }
        if (!p)
            return 0;
        *p = '/';
    }
}

static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = list; (p = strstr(p, word)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

/* Each new v2 dir's parent hands down the controllers it has, so limits can
 * be set below it. */
static int delegate(const char *dir, struct crib_err *err)
{
    static const char *const wanted[] = {"cpu", "cpuset", "memory", "pids", "io", "hugetlb"};
    _cleanup_free_ char *parent = xasprintf("%s/..", dir);
    _cleanup_free_ char *avail_path = xasprintf("%s/cgroup.controllers", parent);
    _cleanup_free_ char *avail = NULL;
    int r = fs_read_file(avail_path, KNOB_MAX, &avail, NULL, err);

    for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(wanted); i++) {
        char word[32];

        snprintf(word, sizeof(word), "+%s", wanted[i]);
        if (has_word(avail, wanted[i]))
            r = write_knob(parent, "cgroup.subtree_control", word, err);
    }
    return r;
}

int cgroup_create(const struct cgroup_layout *l, const char *path, struct crib_err *err)
{
    int r = cgroup_path_check(path, err);

    for (size_t i = 0; r >= 0 && i < l->n_v1; i++)
        r = make_tree(l->v1[i].mount, path,
                      has_controller(l->v1[i].controllers, "cpuset") ? inherit_cpuset : NULL, err);
    if (r >= 0 && l->v2_root)
        r = make_tree(l->v2_root, path, l->version == CGROUP_V2 ? delegate : NULL, err);
    return r;
}

uint64_t cgroup_shares_to_weight(uint64_t shares)
{
    if (shares == 0)
        return 0;
    if (shares < 2)
        shares = 2;
    if (shares > 262144)
        shares = 262144;
    return 1 + ((shares - 2) * 9999) / 262142;
}

const char *cgroup_v1_mount(const struct cgroup_layout *l, const char *controller)
{
    for (size_t i = 0; i < l->n_v1; i++)
        if (has_controller(l->v1[i].controllers, controller))
            return l->v1[i].mount;
    return NULL;
}

/* One knob: on v1 in its controller's hierarchy, on v2 in the one tree. */
static int set(const struct cgroup_layout *l, const char *path, const char *controller,
               const char *knob, const char *value, struct crib_err *err)
{
    const char *root = l->version == CGROUP_V1 ? cgroup_v1_mount(l, controller) : l->v2_root;
    _cleanup_free_ char *dir = NULL;

    if (!root)
        return crib_fail(err, CRIB_INTERNAL, ENOENT, "no %s controller is mounted", controller);
    dir = xasprintf("%s%s", root, path);
    return write_knob(dir, knob, value, err);
}

static int set_num(const struct cgroup_layout *l, const char *path, const char *controller,
                   const char *knob, int64_t value, struct crib_err *err)
{
    char text[32];

    if (value < 0)
        snprintf(text, sizeof(text), "%s", l->version == CGROUP_V1 ? "-1" : "max");
    else
        snprintf(text, sizeof(text), "%lld", (long long)value);
    return set(l, path, controller, knob, text, err);
}

static int set_cpu(const struct cgroup_layout *l, const char *path, const struct cgroup_limits *lim,
                   struct crib_err *err)
{
    char max[64];
    int r = 0;

    if (lim->cpu_shares)
        r = l->version == CGROUP_V1
                ? set_num(l, path, "cpu", "cpu.shares", lim->cpu_shares, err)
                : set_num(l, path, "cpu", "cpu.weight",
                          (int64_t)cgroup_shares_to_weight((uint64_t)lim->cpu_shares), err);
    if (r < 0 || (!lim->cpu_quota_us && !lim->cpu_period_us))
        return r;
    if (l->version == CGROUP_V1) {
        if (lim->cpu_period_us)
            r = set_num(l, path, "cpu", "cpu.cfs_period_us", lim->cpu_period_us, err);
        if (r >= 0 && lim->cpu_quota_us)
            r = set_num(l, path, "cpu", "cpu.cfs_quota_us", lim->cpu_quota_us, err);
        return r;
    }
    if (lim->cpu_quota_us > 0)
        snprintf(max, sizeof(max), "%lld %lld", (long long)lim->cpu_quota_us,
                 (long long)(lim->cpu_period_us ? lim->cpu_period_us : 100000));
    else
        snprintf(max, sizeof(max), "max %lld",
                 (long long)(lim->cpu_period_us ? lim->cpu_period_us : 100000));
    return set(l, path, "cpu", "cpu.max", max, err);
}

int cgroup_set_limits(const struct cgroup_layout *l, const char *path,
                      const struct cgroup_limits *lim, struct crib_err *err)
{
    bool v1 = l->version == CGROUP_V1;
    int r = cgroup_path_check(path, err);

    if (r >= 0)
        r = set_cpu(l, path, lim, err);
    if (r >= 0 && lim->memory_bytes)
        r = set_num(l, path, "memory", v1 ? "memory.limit_in_bytes" : "memory.max",
                    lim->memory_bytes, err);
    if (r >= 0 && lim->pids_max)
        r = lim->pids_max < 0 ? set(l, path, "pids", "pids.max", "max", err)
                              : set_num(l, path, "pids", "pids.max", lim->pids_max, err);
    if (r >= 0 && lim->cpuset_cpus)
        r = set(l, path, "cpuset", "cpuset.cpus", lim->cpuset_cpus, err);
    if (r >= 0 && lim->cpuset_mems)
        r = set(l, path, "cpuset", "cpuset.mems", lim->cpuset_mems, err);
    return r;
}

static int remove_in(const char *root, const char *path, struct crib_err *err)
{
    _cleanup_free_ char *dir = xasprintf("%s%s", root, path);

    if (rmdir(dir) == 0 || errno == ENOENT)
        return 0;
    if (errno == EBUSY)
        return crib_fail(err, CRIB_STATE, errno, "cgroup %s still has processes", dir);
    return crib_fail(err, CRIB_INTERNAL, errno, "remove cgroup %s", dir);
}

int cgroup_remove(const struct cgroup_layout *l, const char *path, struct crib_err *err)
{
    int r = cgroup_path_check(path, err);

    for (size_t i = 0; r >= 0 && i < l->n_v1; i++)
        r = remove_in(l->v1[i].mount, path, err);
    if (r >= 0 && l->v2_root)
        r = remove_in(l->v2_root, path, err);
    return r;
}
