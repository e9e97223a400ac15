#include "oci/spec.h"

#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

#define OCI_VERSION "1.0.2-dev"
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* RLIMIT_NOFILE, soft and hard, as containerd gives every container. */
#define NOFILE_LIMIT 1048576

/* Indexed by capability number, CAP_CHOWN (0) to CAP_CHECKPOINT_RESTORE (40). */
static const char *const cap_names[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

static const char *const default_caps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE",
};

struct default_mount {
    const char *destination, *type;
    const char *options[7]; /* NULL-terminated */
};

static const struct default_mount default_mounts[] = {
    {"/proc", "proc", {"nosuid", "noexec", "nodev"}},
    {"/dev", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
    {"/dev/pts",
     "devpts",
     {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
    {"/dev/mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
    {"/sys", "sysfs", {"nosuid", "noexec", "nodev", "ro"}},
    {"/sys/fs/cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}},
};

static const char *const default_masked[] = {
    "/proc/acpi",          "/proc/asound",
    "/proc/kcore",         "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats",   "/proc/sched_debug",
    "/sys/firmware",       "/sys/devices/virtual/powercap",
    "/proc/scsi",
};

static const char *const default_readonly[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* containerd's default device rules after the deny-all; -1 is a wildcard. */
static const struct {
    char type;
    int64_t major, minor;
    const char *access;
} default_device_rules[] = {
    {'c', -1, -1, "m"},    {'b', -1, -1, "m"}, {'c', 1, 3, "rwm"},    {'c', 1, 5, "rwm"},
    {'c', 1, 7, "rwm"},    {'c', 5, 0, "rwm"}, {'c', 1, 8, "rwm"},    {'c', 1, 9, "rwm"},
    {'c', 136, -1, "rwm"}, {'c', 5, 2, "rwm"}, {'c', 10, 200, "rwm"},
};

static void json_putp(struct json_object **o)
{
    if (*o)
        json_object_put(*o);
}

static struct json_object *str_array(const char *const *v, size_t n)
{
    struct json_object *a = json_object_new_array_ext((int)n);

    for (size_t i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_string(v[i]));
    return a;
}

static struct json_object *str_map(const char *const *keys, const char *const *values, size_t n)
{
    struct json_object *o = json_object_new_object();

    for (size_t i = 0; i < n; i++)
        json_object_object_add(o, keys[i], json_object_new_string(values[i] ? values[i] : ""));
    return o;
}

static void add_str(struct json_object *o, const char *key, const char *value)
{
    json_object_object_add(o, key, json_object_new_string(value));
}

static void add_int(struct json_object *o, const char *key, int64_t value)
{
    json_object_object_add(o, key, json_object_new_int64(value));
}

static bool is_all(const char *name)
{
    return strcasecmp(name, "ALL") == 0;
}

/* "CAP_NET_ADMIN", "net_admin": the number, or -1. */
static int cap_number(const char *name)
{
    if (strncasecmp(name, "CAP_", 4) == 0)
        name += 4;
    for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
        if (strcasecmp(name, cap_names[i] + 4) == 0)
            return (int)i;
    return -1;
}

static bool has_all(const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (is_all(names[i]))
            return true;
    return false;
}

/* Applies one list: the "ALL" entries were handled by the caller. */
static int apply_caps(uint64_t *mask, const char *const *names, size_t n, bool add,
                      const char *field, struct crib_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int c;

        if (is_all(names[i]))
            continue;
        c = cap_number(names[i]);
        if (c < 0)
            return crib_fail(err, CRIB_INVALID, 0, "%s: unknown capability '%.64s'", field,
                             names[i]);
        if (add)
            *mask |= UINT64_C(1) << c;
        else
            *mask &= ~(UINT64_C(1) << c);
    }
    return 0;
}

/* As containerd: "ALL" in add first, then "ALL" in drop, then the single
 * adds, then the single drops; privileged ignores both lists. */
static int cap_mask(const struct spec_input *in, uint64_t *ret_mask, struct crib_err *err)
{
    uint64_t all = (UINT64_C(1) << ARRAY_SIZE(cap_names)) - 1, mask = 0;
    int r;

    if (in->cap_bounding)
        all &= in->cap_bounding;
    if (in->privileged) {
        *ret_mask = all;
        return 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(default_caps); i++)
        mask |= UINT64_C(1) << cap_number(default_caps[i]);
    if (has_all(in->cap_add, in->n_cap_add))
        mask = all;
    if (has_all(in->cap_drop, in->n_cap_drop))
        mask = 0;
    r = apply_caps(&mask, in->cap_add, in->n_cap_add, true, "cap_add", err);
    if (r < 0)
        return r;
    r = apply_caps(&mask, in->cap_drop, in->n_cap_drop, false, "cap_drop", err);
    if (r < 0)
        return r;
    *ret_mask = mask;
    return 0;
}

int spec_effective_caps(const struct spec_input *in, const char ***ret_caps, size_t *ret_n,
                        struct crib_err *err)
{
    const char **caps = xcalloc(ARRAY_SIZE(cap_names) + 1, sizeof(*caps));
    size_t n = 0;
    uint64_t mask;
    int r = cap_mask(in, &mask, err);

    if (r < 0) {
        free(caps);
        return r;
    }
    for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
        if (mask & (UINT64_C(1) << i))
            caps[n++] = cap_names[i];
    *ret_caps = caps;
    *ret_n = n;
    return 0;
}

static struct json_object *cap_array(uint64_t mask)
{
    struct json_object *a = json_object_new_array();

    for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
        if (mask & (UINT64_C(1) << i))
            json_object_array_add(a, json_object_new_string(cap_names[i]));
    return a;
}

static int build_caps(const struct spec_input *in, struct json_object *process,
                      struct crib_err *err)
{
    struct json_object *caps;
    uint64_t mask;
    int r;

    r = cap_mask(in, &mask, err);
    if (r < 0)
        return r;
    /* No inheritable set (CVE-2022-24769), as containerd since 1.6.18. */
    caps = json_object_new_object();
    json_object_object_add(caps, "bounding", cap_array(mask));
    json_object_object_add(caps, "effective", cap_array(mask));
    json_object_object_add(caps, "permitted", cap_array(mask));
    json_object_object_add(caps, "ambient", json_object_new_array());
    json_object_object_add(process, "capabilities", caps);
    return 0;
}

static struct json_object *build_user(const struct spec_input *in)
{
    struct json_object *user = json_object_new_object();

    add_int(user, "uid", in->uid);
    add_int(user, "gid", in->gid);
    if (in->n_additional_gids > 0) {
        struct json_object *gids = json_object_new_array();

        for (size_t i = 0; i < in->n_additional_gids; i++)
            json_object_array_add(gids, json_object_new_int64(in->additional_gids[i]));
        json_object_object_add(user, "additionalGids", gids);
    }
    return user;
}

static int build_process(const struct spec_input *in, struct json_object *spec,
                         struct crib_err *err)
{
    struct json_object *process = json_object_new_object(), *rlimit, *rlimits;
    int r;

    json_object_object_add(spec, "process", process);
    if (in->n_args == 0)
        return crib_fail(err, CRIB_INVALID, 0, "process args: empty");
    json_object_object_add(process, "terminal", json_object_new_boolean(in->terminal));
    json_object_object_add(process, "user", build_user(in));
    json_object_object_add(process, "args", str_array(in->args, in->n_args));
    json_object_object_add(process, "env", str_array(in->env, in->n_env));
    add_str(process, "cwd", in->cwd && in->cwd[0] ? in->cwd : "/");
    r = build_caps(in, process, err);
    if (r < 0)
        return r;
    rlimit = json_object_new_object();
    add_str(rlimit, "type", "RLIMIT_NOFILE");
    add_int(rlimit, "hard", in->nofile_limit ? in->nofile_limit : NOFILE_LIMIT);
    add_int(rlimit, "soft", in->nofile_limit ? in->nofile_limit : NOFILE_LIMIT);
    rlimits = json_object_new_array();
    json_object_array_add(rlimits, rlimit);
    json_object_object_add(process, "rlimits", rlimits);
    json_object_object_add(process, "noNewPrivileges", json_object_new_boolean(in->no_new_privs));
    add_int(process, "oomScoreAdj", in->oom_score_adj);
    if (in->apparmor_profile)
        add_str(process, "apparmorProfile", in->apparmor_profile);
    return 0;
}

/* Lexically clean absolute path (Go's filepath.Clean): no "//", ".", ".."
 * or trailing "/". Free it. */
static char *clean_path(const char *p)
{
    char *out = xmalloc(strlen(p) + 2);
    size_t o = 0;

    for (const char *s = p; *s;) {
        size_t n;

        while (*s == '/')
            s++;
        n = strcspn(s, "/");
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else if (n > 0 && !(n == 1 && s[0] == '.')) {
            out[o++] = '/';
            memcpy(out + o, s, n);
            o += n;
        }
        s += n;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return out;
}

struct user_mount {
    const struct spec_mount *m;
    char *destination; /* cleaned */
    size_t depth, index;
};

static void user_mounts_free(struct user_mount *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].destination);
    free(v);
}

/* A parent before its children, else the caller's order (containerd's
 * stable sort by path depth). */
static int cmp_mount(const void *a, const void *b)
{
    const struct user_mount *x = a, *y = b;

    if (x->depth != y->depth)
        return x->depth < y->depth ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int check_mount(const struct spec_mount *m, size_t i, struct crib_err *err)
{
    if (!m->destination || m->destination[0] != '/')
        return crib_fail(err, CRIB_INVALID, 0, "mount %zu: destination '%.200s' is not absolute", i,
                         m->destination ? m->destination : "");
    if (!m->source || m->source[0] != '/')
        return crib_fail(err, CRIB_INVALID, 0, "mount %s: source '%.200s' is not absolute",
                         m->destination, m->source ? m->source : "");
    if ((unsigned)m->propagation > SPEC_PROP_RSHARED)
        return crib_fail(err, CRIB_INVALID, 0, "mount %s: unknown propagation %d", m->destination,
                         (int)m->propagation);
    /* The CRI's rule: a recursive read-only mount must be read-only and private. */
    if (m->recursive_readonly && (!m->readonly || m->propagation != SPEC_PROP_PRIVATE))
        return crib_fail(err, CRIB_INVALID, 0,
                         "mount %s: recursive read-only needs readonly and private propagation",
                         m->destination);
    return 0;
}

/* Checks and sorts the caller's mounts. */
static int sort_mounts(const struct spec_input *in, struct user_mount **ret, struct crib_err *err)
{
    struct user_mount *v = xcalloc(in->n_mounts + 1, sizeof(*v));

    for (size_t i = 0; i < in->n_mounts; i++) {
        int r = check_mount(&in->mounts[i], i, err);

        if (r < 0) {
            user_mounts_free(v, in->n_mounts);
            return r;
        }
        v[i].m = &in->mounts[i];
        v[i].destination = clean_path(in->mounts[i].destination);
        v[i].index = i;
        for (const char *p = v[i].destination; p[1]; p++)
            v[i].depth += *p == '/';
    }
    qsort(v, in->n_mounts, sizeof(*v), cmp_mount);
    *ret = v;
    return 0;
}

/* A default is dropped when the caller mounts its destination, or /dev
 * over all of /dev's defaults (containerd). */
static bool default_replaced(const char *destination, const struct user_mount *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].destination, destination) == 0)
            return true;
        if (strcmp(v[i].destination, "/dev") == 0 && strncmp(destination, "/dev/", 5) == 0)
            return true;
    }
    return false;
}

static struct json_object *default_mount_json(const struct default_mount *d, bool privileged)
{
    struct json_object *m = json_object_new_object(), *opts = json_object_new_array();

    add_str(m, "destination", d->destination);
    add_str(m, "type", d->type);
    add_str(m, "source", d->type);
    for (size_t i = 0; d->options[i]; i++) {
        /* Privileged containers get writable sysfs and cgroupfs. */
        bool rw = privileged && strcmp(d->options[i], "ro") == 0;

        json_object_array_add(opts, json_object_new_string(rw ? "rw" : d->options[i]));
    }
    json_object_object_add(m, "options", opts);
    return m;
}

static struct json_object *user_mount_json(const struct user_mount *u)
{
    static const char *const propagation[] = {"rprivate", "rslave", "rshared"};
    struct json_object *m = json_object_new_object(), *opts = json_object_new_array();

    add_str(m, "destination", u->destination);
    add_str(m, "type", "bind");
    add_str(m, "source", u->m->source);
    json_object_array_add(opts, json_object_new_string("rbind"));
    json_object_array_add(opts, json_object_new_string(propagation[u->m->propagation]));
    json_object_array_add(opts, json_object_new_string(u->m->readonly ? "ro" : "rw"));
    /* runc 1.2 applies "rro" with mount_setattr(AT_RECURSIVE); runc 1.1
     * passes unknown options as mount data, which a bind mount ignores, so
     * there the caller applies MOUNT_ATTR_RDONLY recursively itself. */
    if (u->m->recursive_readonly)
        json_object_array_add(opts, json_object_new_string("rro"));
    json_object_object_add(m, "options", opts);
    return m;
}

/* containerd: rshared mounts need an rshared rootfs, rslave ones at least rslave. */
static const char *rootfs_propagation(const struct spec_input *in)
{
    const char *p = NULL;

    for (size_t i = 0; i < in->n_mounts; i++) {
        if (in->mounts[i].propagation == SPEC_PROP_RSHARED)
            return "rshared";
        if (in->mounts[i].propagation == SPEC_PROP_RSLAVE)
            p = "rslave";
    }
    return p;
}

static int build_mounts(const struct spec_input *in, struct json_object *spec, struct crib_err *err)
{
    struct user_mount *v = NULL;
    struct json_object *mounts;
    int r;

    r = sort_mounts(in, &v, err);
    if (r < 0)
        return r;
    mounts = json_object_new_array();
    for (size_t i = 0; i < ARRAY_SIZE(default_mounts); i++)
        if (!default_replaced(default_mounts[i].destination, v, in->n_mounts))
            json_object_array_add(mounts, default_mount_json(&default_mounts[i], in->privileged));
    for (size_t i = 0; i < in->n_mounts; i++)
        json_object_array_add(mounts, user_mount_json(&v[i]));
    json_object_object_add(spec, "mounts", mounts);
    user_mounts_free(v, in->n_mounts);
    return 0;
}

static void add_ns(struct json_object *list, const char *type, const char *path)
{
    struct json_object *ns = json_object_new_object();

    add_str(ns, "type", type);
    if (path)
        add_str(ns, "path", path);
    json_object_array_add(list, ns);
}

static struct json_object *id_mappings(const struct spec_id_mapping *m, size_t n)
{
    struct json_object *a = json_object_new_array();

    for (size_t i = 0; i < n; i++) {
        struct json_object *o = json_object_new_object();

        add_int(o, "containerID", m[i].container_id);
        add_int(o, "hostID", m[i].host_id);
        add_int(o, "size", m[i].size);
        json_object_array_add(a, o);
    }
    return a;
}

static void build_namespaces(const struct spec_input *in, struct json_object *linux)
{
    struct json_object *list = json_object_new_array();
    bool userns = in->userns_path || in->n_uid_mappings > 0 || in->n_gid_mappings > 0;

    if (!in->host_pid)
        add_ns(list, "pid", in->pidns_path);
    if (!in->host_net)
        add_ns(list, "network", in->netns_path);
    if (!in->host_ipc)
        add_ns(list, "ipc", in->ipcns_path);
    if (!in->host_uts)
        add_ns(list, "uts", in->utsns_path);
    add_ns(list, "mount", NULL);
    if (userns)
        add_ns(list, "user", in->userns_path);
    if (in->cgroupns && !in->privileged)
        add_ns(list, "cgroup", NULL);
    json_object_object_add(linux, "namespaces", list);
    /* Joined by path too: containerd writes the pod's mappings there, which
     * runc >= 1.2 checks against the namespace. */
    if (userns && in->n_uid_mappings > 0)
        json_object_object_add(linux, "uidMappings",
                               id_mappings(in->uid_mappings, in->n_uid_mappings));
    if (userns && in->n_gid_mappings > 0)
        json_object_object_add(linux, "gidMappings",
                               id_mappings(in->gid_mappings, in->n_gid_mappings));
}

static struct json_object *device_rule(bool allow, char type, int64_t major, int64_t minor,
                                       const char *access)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "allow", json_object_new_boolean(allow));
    if (type) {
        char t[2] = {type, '\0'};

        add_str(o, "type", t);
    }
    /* An absent major or minor is the wildcard. */
    if (major >= 0)
        add_int(o, "major", major);
    if (minor >= 0)
        add_int(o, "minor", minor);
    add_str(o, "access", access);
    return o;
}

static int build_devices(const struct spec_input *in, struct json_object *linux,
                         struct json_object *resources, struct crib_err *err)
{
    struct json_object *devices = json_object_new_array(), *rules = json_object_new_array();

    json_object_object_add(linux, "devices", devices);
    json_object_object_add(resources, "devices", rules);
    if (in->privileged)
        json_object_array_add(rules, device_rule(true, 0, -1, -1, "rwm"));
    else
        json_object_array_add(rules, device_rule(false, 0, -1, -1, "rwm"));
    for (size_t i = 0; !in->privileged && i < ARRAY_SIZE(default_device_rules); i++)
        json_object_array_add(
            rules, device_rule(true, default_device_rules[i].type, default_device_rules[i].major,
                               default_device_rules[i].minor, default_device_rules[i].access));
    for (size_t i = 0; i < in->n_devices; i++) {
        const struct spec_device *d = &in->devices[i];
        const char *access = d->permissions && d->permissions[0] ? d->permissions : "rwm";
        struct json_object *o;
        char t[2] = {d->type, '\0'};

        if (!d->path || d->path[0] != '/' || (d->type != 'c' && d->type != 'b'))
            return crib_fail(err, CRIB_INVALID, 0,
                             "device %zu '%.200s': needs an absolute path "
                             "and type 'c' or 'b'",
                             i, d->path ? d->path : "");
        o = json_object_new_object();
        add_str(o, "path", d->path);
        add_str(o, "type", t);
        add_int(o, "major", d->major);
        add_int(o, "minor", d->minor);
        add_int(o, "fileMode", d->file_mode);
        add_int(o, "uid", d->uid);
        add_int(o, "gid", d->gid);
        json_object_array_add(devices, o);
        if (!in->privileged)
            json_object_array_add(rules, device_rule(true, d->type, d->major, d->minor, access));
    }
    return 0;
}

static void build_cpu_memory(const struct spec_resources *res, struct json_object *resources)
{
    if (res->cpu_shares || res->cpu_quota || res->cpu_period ||
        (res->cpuset_cpus && res->cpuset_cpus[0]) || (res->cpuset_mems && res->cpuset_mems[0])) {
        struct json_object *cpu = json_object_new_object();

        if (res->cpu_shares)
            add_int(cpu, "shares", res->cpu_shares);
        if (res->cpu_quota)
            add_int(cpu, "quota", res->cpu_quota);
        if (res->cpu_period)
            add_int(cpu, "period", res->cpu_period);
        if (res->cpuset_cpus && res->cpuset_cpus[0])
            add_str(cpu, "cpus", res->cpuset_cpus);
        if (res->cpuset_mems && res->cpuset_mems[0])
            add_str(cpu, "mems", res->cpuset_mems);
        json_object_object_add(resources, "cpu", cpu);
    }
    if (res->memory_limit || res->memory_swap_limit) {
        struct json_object *memory = json_object_new_object();

        if (res->memory_limit)
            add_int(memory, "limit", res->memory_limit);
        if (res->memory_swap_limit)
            add_int(memory, "swap", res->memory_swap_limit);
        json_object_object_add(resources, "memory", memory);
    }
}

static void build_resources(const struct spec_resources *res, struct json_object *resources)
{
    build_cpu_memory(res, resources);
    if (res->pids_limit) {
        struct json_object *pids = json_object_new_object();

        add_int(pids, "limit", res->pids_limit);
        json_object_object_add(resources, "pids", pids);
    }
    if (res->n_hugepages > 0) {
        struct json_object *limits = json_object_new_array();

        for (size_t i = 0; i < res->n_hugepages; i++) {
            struct json_object *o = json_object_new_object();

            add_str(o, "pageSize", res->hugepage_sizes[i]);
            json_object_object_add(o, "limit", json_object_new_uint64(res->hugepage_limits[i]));
            json_object_array_add(limits, o);
        }
        json_object_object_add(resources, "hugepageLimits", limits);
    }
    if (res->n_unified > 0)
        json_object_object_add(resources, "unified",
                               str_map(res->unified_keys, res->unified_values, res->n_unified));
}

struct json_object *spec_resources_build(const struct spec_resources *res)
{
    struct json_object *resources = json_object_new_object();

    build_resources(res, resources);
    return resources;
}

/* Privileged: none; else the caller's list when set (even empty), or the defaults. */
static void add_paths(struct json_object *linux, const char *key, bool privileged, bool set,
                      const char *const *given, size_t n_given, const char *const *defaults,
                      size_t n_defaults)
{
    if (privileged)
        return;
    if (set)
        json_object_object_add(linux, key, str_array(given, n_given));
    else
        json_object_object_add(linux, key, str_array(defaults, n_defaults));
}

static int build_linux(const struct spec_input *in, struct json_object *spec, struct crib_err *err)
{
    struct json_object *linux = json_object_new_object(), *resources = json_object_new_object();
    const char *propagation = rootfs_propagation(in);
    int r;

    json_object_object_add(spec, "linux", linux);
    build_namespaces(in, linux);
    r = build_devices(in, linux, resources, err);
    json_object_object_add(linux, "resources", resources);
    if (r < 0)
        return r;
    build_resources(&in->resources, resources);
    if (in->cgroups_path && in->cgroups_path[0])
        add_str(linux, "cgroupsPath", in->cgroups_path);
    if (in->n_sysctls > 0)
        json_object_object_add(linux, "sysctl",
                               str_map(in->sysctl_keys, in->sysctl_values, in->n_sysctls));
    add_paths(linux, "maskedPaths", in->privileged, in->masked_paths_set, in->masked_paths,
              in->n_masked_paths, default_masked, ARRAY_SIZE(default_masked));
    add_paths(linux, "readonlyPaths", in->privileged, in->readonly_paths_set, in->readonly_paths,
              in->n_readonly_paths, default_readonly, ARRAY_SIZE(default_readonly));
    if (propagation)
        add_str(linux, "rootfsPropagation", propagation);
    if (in->seccomp && !in->privileged)
        json_object_object_add(linux, "seccomp", json_object_get(in->seccomp));
    return 0;
}

int spec_build(const struct spec_input *in, struct json_object **ret_spec, struct crib_err *err)
{
    _cleanup_(json_putp) struct json_object *spec = NULL;
    struct json_object *root;
    int r;

    if (!in->rootfs || in->rootfs[0] != '/')
        return crib_fail(err, CRIB_INVALID, 0, "rootfs '%.200s' is not absolute",
                         in->rootfs ? in->rootfs : "");
    spec = json_object_new_object();
    add_str(spec, "ociVersion", OCI_VERSION);
    r = build_process(in, spec, err);
    if (r < 0)
        return r;
    root = json_object_new_object();
    add_str(root, "path", in->rootfs);
    json_object_object_add(root, "readonly", json_object_new_boolean(in->readonly_rootfs));
    json_object_object_add(spec, "root", root);
    /* runc refuses a hostname in the node's UTS namespace. */
    if (in->hostname && in->hostname[0] && !in->host_uts)
        add_str(spec, "hostname", in->hostname);
    r = build_mounts(in, spec, err);
    if (r < 0)
        return r;
    if (in->n_annotations > 0)
        json_object_object_add(
            spec, "annotations",
            str_map(in->annotation_keys, in->annotation_values, in->n_annotations));
    r = build_linux(in, spec, err);
    if (r < 0)
        return r;
    *ret_spec = TAKE_PTR(spec);
    return 0;
}

int spec_merge_args(const char *const *command, size_t n_command, const char *const *args,
                    size_t n_args, const char *const *entrypoint, size_t n_entrypoint,
                    const char *const *cmd, size_t n_cmd, const char ***ret_argv, size_t *ret_n,
                    struct crib_err *err)
{
    const char *const *head = entrypoint, *const *tail = cmd;
    size_t n_head = n_entrypoint, n_tail = n_cmd;
    const char **argv;

    if (n_command > 0) {
        head = command;
        n_head = n_command;
    }
    if (n_command > 0 || n_args > 0) {
        tail = args;
        n_tail = n_args;
    }
    if (n_head + n_tail == 0)
        return crib_fail(err, CRIB_INVALID, 0,
                         "no command: neither the container nor its image sets one");
    argv = xcalloc(n_head + n_tail + 1, sizeof(*argv));
    for (size_t i = 0; i < n_head; i++)
        argv[i] = head[i];
    for (size_t i = 0; i < n_tail; i++)
        argv[n_head + i] = tail[i];
    *ret_argv = argv;
    *ret_n = n_head + n_tail;
    return 0;
}

struct env {
    char **v;
    size_t n;
};

static void env_done(struct env *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
}

/* Sets "K=V" in place of an existing K, or appends it; a bare "K" unsets K
 * (containerd's replaceOrAppendEnvValues). Takes kv. */
static void env_put(struct env *e, char *kv)
{
    size_t klen = strcspn(kv, "=");

    for (size_t i = 0; i < e->n; i++) {
        if (strncmp(e->v[i], kv, klen) != 0 || (e->v[i][klen] != '=' && e->v[i][klen] != '\0'))
            continue;
        free(e->v[i]);
        if (kv[klen] == '=') {
            e->v[i] = kv;
        } else {
            memmove(&e->v[i], &e->v[i + 1], (e->n - i - 1) * sizeof(*e->v));
            e->n--;
            free(kv);
        }
        return;
    }
    if (kv[klen] == '=')
        e->v[e->n++] = kv;
    else
        free(kv);
}

int spec_merge_env(const char *const *image_env, size_t n_image_env, const char *const *keys,
                   const char *const *values, size_t n_cri_env, const char *hostname,
                   char ***ret_env, size_t *ret_n, struct crib_err *err)
{
    struct env e = {xcalloc(n_image_env + n_cri_env + 3, sizeof(char *)), 0};

    for (size_t i = 0; i < n_cri_env; i++)
        if (!keys[i][0] || strchr(keys[i], '=')) {
            env_done(&e);
            return crib_fail(err, CRIB_INVALID, 0, "env %zu: bad name '%.64s'", i, keys[i]);
        }
    /* containerd's order: the defaults first, each later list overriding. */
    env_put(&e, xstrdup(DEFAULT_PATH));
    if (hostname && hostname[0])
        env_put(&e, xasprintf("HOSTNAME=%s", hostname));
    for (size_t i = 0; i < n_image_env; i++)
        if (image_env[i][0] && image_env[i][0] != '=')
            env_put(&e, xstrdup(image_env[i]));
    for (size_t i = 0; i < n_cri_env; i++)
        env_put(&e, xasprintf("%s=%s", keys[i], values[i] ? values[i] : ""));
    e.v[e.n] = NULL;
    *ret_env = e.v;
    *ret_n = e.n;
    return 0;
}

const char *const *spec_default_caps(size_t *ret_n)
{
    *ret_n = ARRAY_SIZE(default_caps);
    return default_caps;
}

static const struct {
    const char *name;
    int number;
} signal_names[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},   {"IOT", SIGIOT},   {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL},   {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE},   {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CLD", SIGCHLD},  {"CONT", SIGCONT},
    {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
    {"URG", SIGURG},       {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF},     {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"POLL", SIGPOLL},
    {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

/* A decimal number in [min, max], else -1. */
static int small_number(const char *s, int min, int max)
{
    char *end;
    long v;

    if (!isdigit((unsigned char)s[0]))
        return -1;
    v = strtol(s, &end, 10);
    if (*end || v < min || v > max)
        return -1;
    return (int)v;
}

int spec_signal_number(const char *name)
{
    int n;

    if (!name)
        return 0;
    n = small_number(name, 1, SIGRTMAX);
    if (n > 0)
        return n;
    if (strncasecmp(name, "SIG", 3) == 0)
        name += 3;
    for (size_t i = 0; i < ARRAY_SIZE(signal_names); i++)
        if (strcasecmp(name, signal_names[i].name) == 0)
            return signal_names[i].number;
    /* RTMIN, RTMIN+n, RTMAX, RTMAX-n, as moby's signal table. */
    if (strncasecmp(name, "RTMIN", 5) == 0 || strncasecmp(name, "RTMAX", 5) == 0) {
        bool min = toupper((unsigned char)name[3]) == 'I';
        int span = SIGRTMAX - SIGRTMIN;

        if (name[5] == '\0')
            return min ? SIGRTMIN : SIGRTMAX;
        if (name[5] != (min ? '+' : '-'))
            return 0;
        n = small_number(name + 6, 1, span);
        if (n > 0)
            return min ? SIGRTMIN + n : SIGRTMAX - n;
    }
    return 0;
}
