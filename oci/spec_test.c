#include <signal.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "common/testing.h"
#include "oci/spec.h"

static const char *const sh[] = {"sh", "-c", "true"};

static struct spec_input base(void)
{
    return (struct spec_input){.args = sh, .n_args = 3, .rootfs = "/run/crib/c1/rootfs"};
}

static void json_putp(struct json_object **o)
{
    if (*o)
        json_object_put(*o);
}

/* "linux.namespaces.0.type": objects by key, arrays by index; NULL when absent. */
static struct json_object *at(struct json_object *o, const char *path)
{
    char buf[256];
    char *save = NULL;

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *part = strtok_r(buf, ".", &save); o && part; part = strtok_r(NULL, ".", &save)) {
        if (json_object_is_type(o, json_type_array))
            o = json_object_array_get_idx(o, strtoul(part, NULL, 10));
        else if (!json_object_object_get_ex(o, part, &o))
            o = NULL;
    }
    return o;
}

static const char *str_at(struct json_object *o, const char *path)
{
    struct json_object *v = at(o, path);

    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static long long int_at(struct json_object *o, const char *path)
{
    struct json_object *v = at(o, path);

    return v ? json_object_get_int64(v) : -999;
}

static long long len_at(struct json_object *o, const char *path)
{
    struct json_object *v = at(o, path);

    return v && json_object_is_type(v, json_type_array) ? (long long)json_object_array_length(v)
                                                        : -1;
}

static bool has(struct json_object *o, const char *path, const char *s)
{
    struct json_object *a = at(o, path);

    for (size_t i = 0; a && i < json_object_array_length(a); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(a, i)), s) == 0)
            return true;
    return false;
}

static struct json_object *build(const struct spec_input *in)
{
    struct json_object *spec = NULL;
    struct crib_err err;

    if (spec_build(in, &spec, &err) < 0) {
        fprintf(stderr, "  spec_build: %s\n", err.msg);
        abort();
    }
    return spec;
}

/* The mount at destination, or NULL. */
static struct json_object *mount_at(struct json_object *spec, const char *destination)
{
    struct json_object *mounts = at(spec, "mounts");

    for (size_t i = 0; i < json_object_array_length(mounts); i++) {
        struct json_object *m = json_object_array_get_idx(mounts, i);

        if (strcmp(str_at(m, "destination"), destination) == 0)
            return m;
    }
    return NULL;
}

static int test_default_caps(void)
{
    size_t n;
    const char *const *caps = spec_default_caps(&n);
    struct spec_input in = base();
    _cleanup_(json_putp) struct json_object *spec = build(&in);

    CHECK_INT(n, 14);
    CHECK_STR(caps[0], "CAP_CHOWN");
    CHECK_STR(caps[13], "CAP_AUDIT_WRITE");
    for (size_t i = 0; i < n; i++) {
        CHECK(has(spec, "process.capabilities.bounding", caps[i]));
        CHECK(has(spec, "process.capabilities.effective", caps[i]));
        CHECK(has(spec, "process.capabilities.permitted", caps[i]));
    }
    CHECK_INT(len_at(spec, "process.capabilities.bounding"), 14);
    CHECK_INT(len_at(spec, "process.capabilities.effective"), 14);
    CHECK_INT(len_at(spec, "process.capabilities.permitted"), 14);
    CHECK_INT(len_at(spec, "process.capabilities.ambient"), 0);
    CHECK(!at(spec, "process.capabilities.inheritable"));
    CHECK(!has(spec, "process.capabilities.bounding", "CAP_SYS_ADMIN"));
    return 0;
}

static int test_caps_add_and_drop_by_any_spelling(void)
{
    static const char *const add[] = {"NET_ADMIN", "cap_sys_time", "CAP_SYS_PTRACE"};
    static const char *const drop[] = {"CAP_CHOWN", "mknod", "SYS_TIME"};
    struct spec_input in = base();
    _cleanup_(json_putp) struct json_object *spec = NULL;

    in.cap_add = add;
    in.n_cap_add = 3;
    in.cap_drop = drop;
    in.n_cap_drop = 3;
    spec = build(&in);
    CHECK(has(spec, "process.capabilities.bounding", "CAP_NET_ADMIN"));
    CHECK(has(spec, "process.capabilities.effective", "CAP_SYS_PTRACE"));
    /* A drop wins over an add of the same capability. */
    CHECK(!has(spec, "process.capabilities.bounding", "CAP_SYS_TIME"));
    CHECK(!has(spec, "process.capabilities.permitted", "CAP_CHOWN"));
    CHECK(!has(spec, "process.capabilities.bounding", "CAP_MKNOD"));
    CHECK_INT(len_at(spec, "process.capabilities.bounding"), 14 + 2 - 2);
    return 0;
}

static int test_caps_all(void)
{
    static const char *const all[] = {"ALL"}, *const all_lower[] = {"all"};
    static const char *const chown_[] = {"CHOWN"}, *const net_admin[] = {"NET_ADMIN"};
    struct spec_input in = base();
    struct json_object *spec;

    in.cap_add = all;
    in.n_cap_add = 1;
    spec = build(&in);
    CHECK_INT(len_at(spec, "process.capabilities.bounding"), 41);
    CHECK(has(spec, "process.capabilities.bounding", "CAP_CHECKPOINT_RESTORE"));
    CHECK(has(spec, "process.capabilities.effective", "CAP_SYS_ADMIN"));
    json_object_put(spec);

    in.cap_drop = chown_;
    in.n_cap_drop = 1;
    spec = build(&in);
    CHECK_INT(len_at(spec, "process.capabilities.bounding"), 40);
    CHECK(!has(spec, "process.capabilities.bounding", "CAP_CHOWN"));
    json_object_put(spec);

    /* Drop ALL clears everything first, then the adds apply. */
    in.cap_add = net_admin;
    in.cap_drop = all_lower;
    spec = build(&in);
    CHECK_INT(len_at(spec, "process.capabilities.bounding"), 1);
    CHECK_STR(str_at(spec, "process.capabilities.permitted.0"), "CAP_NET_ADMIN");
    json_object_put(spec);

    in.n_cap_add = 0;
    spec = build(&in);
    CHECK_INT(len_at(spec, "process.capabilities.bounding"), 0);
    CHECK_INT(len_at(spec, "process.capabilities.effective"), 0);
    json_object_put(spec);
    return 0;
}

static int test_caps_unknown_is_invalid(void)
{
    static const char *const bad_add[] = {"NET_ADMIN", "CAP_FLY"}, *const bad_drop[] = {"SWIM"};
    struct spec_input in = base();
    struct json_object *spec = NULL;
    struct crib_err err;

    in.cap_add = bad_add;
    in.n_cap_add = 2;
    CHECK(spec_build(&in, &spec, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, "CAP_FLY");
    CHECK(!spec);

    in.n_cap_add = 1;
    in.cap_drop = bad_drop;
    in.n_cap_drop = 1;
    CHECK(spec_build(&in, &spec, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, "cap_drop");
    CHECK_CONTAINS(err.msg, "SWIM");
    return 0;
}

static int test_privileged(void)
{
    static const char *const drop[] = {"ALL"};
    static const struct spec_device dev[] = {
        {.path = "/dev/sda", .type = 'b', .major = 8, .minor = 0, .file_mode = 0660},
    };
    struct json_object *seccomp = json_object_new_object();
    struct spec_input in = base();
    _cleanup_(json_putp) struct json_object *spec = NULL;

    in.privileged = true;
    in.cap_drop = drop;
    in.n_cap_drop = 1;
    in.seccomp = seccomp;
    in.cgroupns = true;
    in.devices = dev;
    in.n_devices = 1;
    spec = build(&in);
    CHECK_INT(len_at(spec, "process.capabilities.bounding"), 41);
    CHECK(!at(spec, "linux.maskedPaths"));
    CHECK(!at(spec, "linux.readonlyPaths"));
    CHECK(!at(spec, "linux.seccomp"));
    CHECK(has(mount_at(spec, "/sys"), "options", "rw"));
    CHECK(!has(mount_at(spec, "/sys"), "options", "ro"));
    CHECK(has(mount_at(spec, "/sys/fs/cgroup"), "options", "rw"));
    CHECK(!has(mount_at(spec, "/sys/fs/cgroup"), "options", "ro"));
    CHECK_INT(len_at(spec, "linux.resources.devices"), 1);
    CHECK(json_object_get_boolean(at(spec, "linux.resources.devices.0.allow")));
    CHECK_STR(str_at(spec, "linux.resources.devices.0.access"), "rwm");
    CHECK(!at(spec, "linux.resources.devices.0.type"));
    CHECK_STR(str_at(spec, "linux.devices.0.path"), "/dev/sda");
    CHECK_STR(str_at(spec, "linux.devices.0.type"), "b");
    CHECK_INT(int_at(spec, "linux.devices.0.major"), 8);
    CHECK_INT(int_at(spec, "linux.devices.0.fileMode"), 0660);
    for (size_t i = 0; i < (size_t)len_at(spec, "linux.namespaces"); i++) {
        char p[64];

        snprintf(p, sizeof(p), "linux.namespaces.%zu.type", i);
        CHECK(strcmp(str_at(spec, p), "cgroup") != 0);
    }
    json_object_put(seccomp);
    return 0;
}

static int test_masked_and_readonly_defaults(void)
{
    struct spec_input in = base();
    _cleanup_(json_putp) struct json_object *spec = build(&in);

    CHECK_INT(len_at(spec, "linux.maskedPaths"), 11);
    CHECK_STR(str_at(spec, "linux.maskedPaths.0"), "/proc/acpi");
    CHECK(has(spec, "linux.maskedPaths", "/proc/kcore"));
    CHECK(has(spec, "linux.maskedPaths", "/sys/firmware"));
    CHECK(has(spec, "linux.maskedPaths", "/sys/devices/virtual/powercap"));
    CHECK(has(spec, "linux.maskedPaths", "/proc/scsi"));
    CHECK_INT(len_at(spec, "linux.readonlyPaths"), 5);
    CHECK(has(spec, "linux.readonlyPaths", "/proc/sys"));
    CHECK(has(spec, "linux.readonlyPaths", "/proc/sysrq-trigger"));
    return 0;
}

static int test_masked_and_readonly_set_by_caller(void)
{
    static const char *const masked[] = {"/proc/foo"};
    struct spec_input in = base();
    struct json_object *spec;

    /* The kubelet's Unmasked: set, empty. */
    in.masked_paths_set = true;
    in.readonly_paths_set = true;
    spec = build(&in);
    CHECK_INT(len_at(spec, "linux.maskedPaths"), 0);
    CHECK_INT(len_at(spec, "linux.readonlyPaths"), 0);
    json_object_put(spec);

    in.masked_paths = masked;
    in.n_masked_paths = 1;
    in.readonly_paths_set = false;
    spec = build(&in);
    CHECK_INT(len_at(spec, "linux.maskedPaths"), 1);
    CHECK_STR(str_at(spec, "linux.maskedPaths.0"), "/proc/foo");
    CHECK_INT(len_at(spec, "linux.readonlyPaths"), 5);
    json_object_put(spec);
    return 0;
}

/* The namespace of type, or NULL. */
static struct json_object *ns(struct json_object *spec, const char *type)
{
    struct json_object *list = at(spec, "linux.namespaces");

    for (size_t i = 0; i < json_object_array_length(list); i++) {
        struct json_object *n = json_object_array_get_idx(list, i);

        if (strcmp(str_at(n, "type"), type) == 0)
            return n;
    }
    return NULL;
}

static int test_namespaces_paths_and_host_flags(void)
{
    static const struct spec_id_mapping ids[] = {{0, 100000, 65536}};
    struct spec_input in = base();
    struct json_object *spec;

    in.netns_path = "/var/run/netns/cni-1";
    in.ipcns_path = "/proc/42/ns/ipc";
    in.utsns_path = "/proc/42/ns/uts";
    spec = build(&in);
    CHECK_STR(str_at(ns(spec, "network"), "path"), "/var/run/netns/cni-1");
    CHECK_STR(str_at(ns(spec, "ipc"), "path"), "/proc/42/ns/ipc");
    CHECK_STR(str_at(ns(spec, "uts"), "path"), "/proc/42/ns/uts");
    CHECK(ns(spec, "pid") && !at(ns(spec, "pid"), "path"));
    CHECK(ns(spec, "mount") && !at(ns(spec, "mount"), "path"));
    CHECK(!ns(spec, "user"));
    CHECK(!ns(spec, "cgroup"));
    CHECK(!at(spec, "linux.uidMappings"));
    json_object_put(spec);

    in.host_net = in.host_ipc = in.host_pid = in.host_uts = true;
    in.hostname = "node1";
    in.cgroupns = true;
    in.userns_path = "/proc/42/ns/user";
    in.uid_mappings = in.gid_mappings = ids;
    in.n_uid_mappings = in.n_gid_mappings = 1;
    spec = build(&in);
    CHECK(!ns(spec, "network") && !ns(spec, "ipc") && !ns(spec, "pid") && !ns(spec, "uts"));
    CHECK(ns(spec, "mount"));
    CHECK(ns(spec, "cgroup") && !at(ns(spec, "cgroup"), "path"));
    CHECK_STR(str_at(ns(spec, "user"), "path"), "/proc/42/ns/user");
    CHECK_INT(int_at(spec, "linux.uidMappings.0.hostID"), 100000);
    CHECK_INT(int_at(spec, "linux.gidMappings.0.size"), 65536);
    /* runc refuses a hostname in the node's UTS namespace. */
    CHECK(!at(spec, "hostname"));
    json_object_put(spec);

    in.userns_path = NULL;
    in.host_uts = false;
    spec = build(&in);
    CHECK(ns(spec, "user") && !at(ns(spec, "user"), "path"));
    CHECK_INT(int_at(spec, "linux.uidMappings.0.containerID"), 0);
    CHECK_STR(str_at(spec, "hostname"), "node1");
    json_object_put(spec);
    return 0;
}

static int test_default_mounts(void)
{
    struct spec_input in = base();
    _cleanup_(json_putp) struct json_object *spec = build(&in);

    CHECK_INT(len_at(spec, "mounts"), 6);
    CHECK_STR(str_at(spec, "mounts.0.destination"), "/proc");
    CHECK_STR(str_at(spec, "mounts.0.type"), "proc");
    CHECK_STR(str_at(spec, "mounts.1.destination"), "/dev");
    CHECK(has(spec, "mounts.1.options", "size=65536k"));
    CHECK(has(spec, "mounts.1.options", "strictatime"));
    CHECK_STR(str_at(spec, "mounts.2.type"), "devpts");
    CHECK(has(spec, "mounts.2.options", "newinstance"));
    CHECK(has(spec, "mounts.2.options", "ptmxmode=0666"));
    CHECK(has(spec, "mounts.2.options", "gid=5"));
    CHECK_STR(str_at(spec, "mounts.3.type"), "mqueue");
    CHECK_STR(str_at(spec, "mounts.4.type"), "sysfs");
    CHECK(has(spec, "mounts.4.options", "ro"));
    CHECK_STR(str_at(spec, "mounts.5.destination"), "/sys/fs/cgroup");
    CHECK_STR(str_at(spec, "mounts.5.type"), "cgroup");
    CHECK(has(spec, "mounts.5.options", "relatime"));
    CHECK(has(spec, "mounts.5.options", "ro"));
    CHECK(!at(spec, "linux.rootfsPropagation"));
    return 0;
}

static int test_mounts_sorted_and_replace_defaults(void)
{
    static const struct spec_mount mounts[] = {
        {.destination = "/data/a/b", .source = "/host/b", .propagation = SPEC_PROP_RSLAVE},
        {.destination = "/data/", .source = "/host/data", .readonly = true},
        {.destination = "/dev/mqueue", .source = "/host/mq"},
        {.destination = "/etc/hosts",
         .source = "/pods/1/hosts",
         .readonly = true,
         .recursive_readonly = true},
        {.destination = "/dev/shm", .source = "/pods/1/shm"},
    };
    struct spec_input in = base();
    _cleanup_(json_putp) struct json_object *spec = NULL;

    in.mounts = mounts;
    in.n_mounts = ARRAY_SIZE(mounts);
    spec = build(&in);
    CHECK_INT(len_at(spec, "mounts"), 5 + 5);
    /* The defaults first, less the replaced /dev/mqueue. */
    CHECK_STR(str_at(spec, "mounts.3.destination"), "/sys");
    CHECK_STR(str_at(spec, "mounts.4.destination"), "/sys/fs/cgroup");
    /* Then by depth, the caller's order among equals. */
    CHECK_STR(str_at(spec, "mounts.5.destination"), "/data");
    CHECK_STR(str_at(spec, "mounts.6.destination"), "/dev/mqueue");
    CHECK_STR(str_at(spec, "mounts.7.destination"), "/etc/hosts");
    CHECK_STR(str_at(spec, "mounts.8.destination"), "/dev/shm");
    CHECK_STR(str_at(spec, "mounts.9.destination"), "/data/a/b");
    CHECK_STR(str_at(mount_at(spec, "/dev/mqueue"), "type"), "bind");
    CHECK_STR(str_at(mount_at(spec, "/dev/mqueue"), "source"), "/host/mq");

    CHECK_STR(str_at(spec, "mounts.5.options.0"), "rbind");
    CHECK_STR(str_at(spec, "mounts.5.options.1"), "rprivate");
    CHECK_STR(str_at(spec, "mounts.5.options.2"), "ro");
    CHECK_INT(len_at(spec, "mounts.5.options"), 3);
    CHECK(has(spec, "mounts.6.options", "rw"));
    CHECK(has(spec, "mounts.7.options", "ro"));
    CHECK(has(spec, "mounts.7.options", "rro"));
    CHECK(has(spec, "mounts.9.options", "rslave"));
    CHECK_STR(str_at(spec, "linux.rootfsPropagation"), "rslave");
    return 0;
}

static int test_mount_over_dev_drops_its_defaults(void)
{
    static const struct spec_mount mounts[] = {
        {.destination = "/dev", .source = "/dev", .propagation = SPEC_PROP_RSHARED},
        {.destination = "/var/lib/x", .source = "/x", .propagation = SPEC_PROP_RSLAVE},
    };
    struct spec_input in = base();
    _cleanup_(json_putp) struct json_object *spec = NULL;

    in.mounts = mounts;
    in.n_mounts = 2;
    spec = build(&in);
    CHECK_INT(len_at(spec, "mounts"), 3 + 2);
    CHECK(!mount_at(spec, "/dev/pts"));
    CHECK(!mount_at(spec, "/dev/mqueue"));
    CHECK_STR(str_at(mount_at(spec, "/dev"), "type"), "bind");
    CHECK(has(mount_at(spec, "/dev"), "options", "rshared"));
    CHECK_STR(str_at(spec, "linux.rootfsPropagation"), "rshared");
    return 0;
}

static int test_bad_mounts_are_invalid(void)
{
    static const struct {
        struct spec_mount m;
        const char *needle;
    } cases[] = {
        {{.destination = "data", .source = "/x"}, "data"},
        {{.destination = "", .source = "/x"}, "not absolute"},
        {{.destination = "/data", .source = "x"}, "source"},
        {{.destination = "/data", .source = "/x", .recursive_readonly = true}, "/data"},
        {{.destination = "/data",
          .source = "/x",
          .readonly = true,
          .recursive_readonly = true,
          .propagation = SPEC_PROP_RSLAVE},
         "private"},
        {{.destination = "/data", .source = "/x", .propagation = 7}, "propagation"},
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct spec_input in = base();
        struct json_object *spec = NULL;
        struct crib_err err;

        in.mounts = &cases[i].m;
        in.n_mounts = 1;
        CHECK(spec_build(&in, &spec, &err) < 0);
        CHECK_INT(err.code, CRIB_INVALID);
        CHECK_CONTAINS(err.msg, cases[i].needle);
        CHECK(!spec);
    }
    return 0;
}

static int test_device_rules(void)
{
    static const struct spec_device dev[] = {
        {.path = "/dev/fuse",
         .host_path = "/dev/fuse",
         .type = 'c',
         .major = 10,
         .minor = 229,
         .file_mode = 0666,
         .permissions = "rw"},
    };
    struct spec_input in = base();
    _cleanup_(json_putp) struct json_object *spec = NULL;
    struct json_object *rules;

    in.devices = dev;
    in.n_devices = 1;
    spec = build(&in);
    rules = at(spec, "linux.resources.devices");
    CHECK_INT(len_at(rules, ""), 1 + 11 + 1);
    CHECK(!json_object_get_boolean(at(rules, "0.allow")));
    CHECK_STR(str_at(rules, "0.access"), "rwm");
    CHECK(!at(rules, "0.type") && !at(rules, "0.major"));
    CHECK_STR(str_at(rules, "1.type"), "c");
    CHECK_STR(str_at(rules, "1.access"), "m");
    CHECK(!at(rules, "1.major") && !at(rules, "1.minor"));
    CHECK_STR(str_at(rules, "2.type"), "b");
    CHECK_INT(int_at(rules, "3.major"), 1);
    CHECK_INT(int_at(rules, "3.minor"), 3);
    CHECK_STR(str_at(rules, "3.access"), "rwm");
    CHECK(json_object_get_boolean(at(rules, "3.allow")));
    CHECK_INT(int_at(rules, "9.major"), 136);
    CHECK(!at(rules, "9.minor"));
    CHECK_INT(int_at(rules, "12.major"), 10);
    CHECK_INT(int_at(rules, "12.minor"), 229);
    CHECK_STR(str_at(rules, "12.access"), "rw");
    CHECK(json_object_get_boolean(at(rules, "12.allow")));
    CHECK_INT(len_at(spec, "linux.devices"), 1);
    CHECK_STR(str_at(spec, "linux.devices.0.path"), "/dev/fuse");
    CHECK_STR(str_at(spec, "linux.devices.0.type"), "c");
    CHECK_INT(int_at(spec, "linux.devices.0.minor"), 229);
    CHECK_INT(int_at(spec, "linux.devices.0.uid"), 0);
    return 0;
}

static int test_resources(void)
{
    static const char *const sizes[] = {"2MB", "1GB"};
    static const uint64_t limits[] = {4194304, UINT64_C(1) << 40};
    static const char *const ukeys[] = {"memory.high"}, *const uvalues[] = {"1000000"};
    struct spec_input in = base();
    struct json_object *spec;

    spec = build(&in);
    CHECK(!at(spec, "linux.resources.cpu"));
    CHECK(!at(spec, "linux.resources.memory"));
    CHECK(!at(spec, "linux.resources.pids"));
    CHECK(!at(spec, "linux.resources.hugepageLimits"));
    CHECK(!at(spec, "linux.resources.unified"));
    json_object_put(spec);

    in.resources = (struct spec_resources){
        .cpu_period = 100000,
        .cpu_quota = 50000,
        .cpu_shares = 512,
        .memory_limit = 1 << 30,
        .memory_swap_limit = 1 << 30,
        .cpuset_cpus = "0-1",
        .n_hugepages = 2,
        .hugepage_sizes = sizes,
        .hugepage_limits = limits,
        .n_unified = 1,
        .unified_keys = ukeys,
        .unified_values = uvalues,
        .pids_limit = 1024,
    };
    spec = build(&in);
    CHECK_INT(int_at(spec, "linux.resources.cpu.period"), 100000);
    CHECK_INT(int_at(spec, "linux.resources.cpu.quota"), 50000);
    CHECK_INT(int_at(spec, "linux.resources.cpu.shares"), 512);
    CHECK_STR(str_at(spec, "linux.resources.cpu.cpus"), "0-1");
    CHECK(!at(spec, "linux.resources.cpu.mems"));
    CHECK_INT(int_at(spec, "linux.resources.memory.limit"), 1 << 30);
    CHECK_INT(int_at(spec, "linux.resources.memory.swap"), 1 << 30);
    CHECK_INT(int_at(spec, "linux.resources.pids.limit"), 1024);
    CHECK_STR(str_at(spec, "linux.resources.hugepageLimits.1.pageSize"), "1GB");
    CHECK(json_object_get_uint64(at(spec, "linux.resources.hugepageLimits.1.limit")) == UINT64_C(1)
                                                                                            << 40);
    CHECK_STR(json_object_get_string(
                  json_object_object_get(at(spec, "linux.resources.unified"), "memory.high")),
              "1000000");
    json_object_put(spec);
    return 0;
}

static int test_process_root_and_linux_fields(void)
{
    static const char *const env[] = {"PATH=/bin", "A=1"};
    static const uint32_t gids[] = {10, 20};
    static const char *const skeys[] = {"net.ipv4.ip_forward"}, *const svalues[] = {"1"};
    static const char *const akeys[] = {"io.kubernetes.cri.container-type"};
    static const char *const avalues[] = {"container"};
    struct json_object *seccomp = json_object_new_object();
    struct spec_input in = base();
    struct json_object *spec;

    spec = build(&in);
    CHECK_STR(str_at(spec, "ociVersion"), "1.0.2-dev");
    CHECK_STR(str_at(spec, "process.cwd"), "/");
    CHECK(!json_object_get_boolean(at(spec, "process.terminal")));
    CHECK_INT(int_at(spec, "process.user.uid"), 0);
    CHECK(!at(spec, "process.user.additionalGids"));
    CHECK(!at(spec, "process.apparmorProfile"));
    CHECK(!at(spec, "hostname"));
    CHECK(!at(spec, "annotations"));
    CHECK(!at(spec, "linux.cgroupsPath"));
    CHECK(!at(spec, "linux.seccomp"));
    CHECK(!json_object_get_boolean(at(spec, "root.readonly")));
    json_object_put(spec);

    in.env = env;
    in.n_env = 2;
    in.cwd = "/work";
    in.terminal = true;
    in.uid = 1000;
    in.gid = 2000;
    in.additional_gids = gids;
    in.n_additional_gids = 2;
    in.no_new_privs = true;
    in.oom_score_adj = -997;
    in.apparmor_profile = "cri-containerd.apparmor.d";
    in.readonly_rootfs = true;
    in.hostname = "web-0";
    in.cgroups_path = "kubepods-pod1.slice:cri:c1";
    in.n_sysctls = 1;
    in.sysctl_keys = skeys;
    in.sysctl_values = svalues;
    in.n_annotations = 1;
    in.annotation_keys = akeys;
    in.annotation_values = avalues;
    in.seccomp = seccomp;
    spec = build(&in);
    CHECK_STR(str_at(spec, "process.args.0"), "sh");
    CHECK_STR(str_at(spec, "process.args.2"), "true");
    CHECK_STR(str_at(spec, "process.env.1"), "A=1");
    CHECK_STR(str_at(spec, "process.cwd"), "/work");
    CHECK(json_object_get_boolean(at(spec, "process.terminal")));
    CHECK_INT(int_at(spec, "process.user.uid"), 1000);
    CHECK_INT(int_at(spec, "process.user.gid"), 2000);
    CHECK_INT(int_at(spec, "process.user.additionalGids.1"), 20);
    CHECK(json_object_get_boolean(at(spec, "process.noNewPrivileges")));
    CHECK_INT(int_at(spec, "process.oomScoreAdj"), -997);
    CHECK_STR(str_at(spec, "process.apparmorProfile"), "cri-containerd.apparmor.d");
    CHECK_STR(str_at(spec, "process.rlimits.0.type"), "RLIMIT_NOFILE");
    CHECK_INT(int_at(spec, "process.rlimits.0.soft"), 1048576);
    CHECK_INT(int_at(spec, "process.rlimits.0.hard"), 1048576);
    CHECK_STR(str_at(spec, "root.path"), "/run/crib/c1/rootfs");
    CHECK(json_object_get_boolean(at(spec, "root.readonly")));
    CHECK_STR(str_at(spec, "hostname"), "web-0");
    CHECK_STR(str_at(spec, "linux.cgroupsPath"), "kubepods-pod1.slice:cri:c1");
    CHECK_STR(json_object_get_string(
                  json_object_object_get(at(spec, "linux.sysctl"), "net.ipv4.ip_forward")),
              "1");
    CHECK_STR(json_object_get_string(json_object_object_get(at(spec, "annotations"), akeys[0])),
              "container");
    /* The spec holds its own reference to the seccomp object. */
    CHECK(at(spec, "linux.seccomp") == seccomp);
    json_object_put(seccomp);
    CHECK(json_object_is_type(at(spec, "linux.seccomp"), json_type_object));
    json_object_put(spec);
    return 0;
}

static int test_bad_input_is_invalid(void)
{
    struct spec_input in = base();
    struct json_object *spec = NULL;
    struct crib_err err;

    in.n_args = 0;
    CHECK(spec_build(&in, &spec, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, "args");

    in = base();
    in.rootfs = "rootfs";
    CHECK(spec_build(&in, &spec, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, "rootfs");

    in = base();
    in.devices = &(struct spec_device){.path = "/dev/x", .type = 'p'};
    in.n_devices = 1;
    CHECK(spec_build(&in, &spec, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, "/dev/x");
    CHECK(!spec);
    return 0;
}

static int test_merge_args(void)
{
    static const char *const command[] = {"/bin/app"}, *const args[] = {"-v", "run"};
    static const char *const entrypoint[] = {"/entry"}, *const cmd[] = {"serve"};
    static const struct {
        size_t n_command, n_args, n_entrypoint, n_cmd;
        const char *want; /* joined by spaces */
    } cases[] = {
        {1, 2, 1, 1, "/bin/app -v run"}, /* command: entrypoint and cmd dropped */
        {1, 0, 1, 1, "/bin/app"},        {0, 2, 1, 1, "/entry -v run"}, /* args replace cmd */
        {0, 2, 0, 1, "-v run"},          {0, 0, 1, 1, "/entry serve"},  {0, 0, 0, 1, "serve"},
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        _cleanup_free_ const char **argv = NULL;
        char joined[128] = "";
        struct crib_err err;
        size_t n = 0;

        CHECK_INT(spec_merge_args(command, cases[i].n_command, args, cases[i].n_args, entrypoint,
                                  cases[i].n_entrypoint, cmd, cases[i].n_cmd, &argv, &n, &err),
                  0);
        for (size_t j = 0; j < n; j++)
            snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s", j ? " " : "",
                     argv[j]);
        CHECK_STR(joined, cases[i].want);
        CHECK(argv[n] == NULL);
    }
    return 0;
}

static int test_merge_args_empty_is_invalid(void)
{
    static const char *const cmd[] = {"serve"};
    const char **argv = NULL;
    struct crib_err err;
    size_t n;

    CHECK(spec_merge_args(NULL, 0, NULL, 0, NULL, 0, cmd, 0, &argv, &n, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, "command");
    CHECK(!argv);
    return 0;
}

static void free_env(char **env, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(env[i]);
    free(env);
}

static int test_merge_env(void)
{
    static const char *const image[] = {"PATH=/app/bin", "LANG=C", "HOME=/root", "EMPTY="};
    static const char *const keys[] = {"LANG", "NEW", "HOSTNAME"};
    static const char *const values[] = {"en_US.UTF-8", "x=y", "custom"};
    char **env = NULL;
    struct crib_err err;
    size_t n = 0;

    /* Image PATH kept, CRI overrides in place, new keys appended. */
    CHECK_INT(spec_merge_env(image, 4, keys, values, 2, "web-0", &env, &n, &err), 0);
    CHECK_INT(n, 6);
    CHECK_STR(env[0], "PATH=/app/bin");
    CHECK_STR(env[1], "HOSTNAME=web-0");
    CHECK_STR(env[2], "LANG=en_US.UTF-8");
    CHECK_STR(env[3], "HOME=/root");
    CHECK_STR(env[4], "EMPTY=");
    CHECK_STR(env[5], "NEW=x=y");
    CHECK(env[6] == NULL);
    free_env(env, n);

    /* PATH defaulted; the CRI's HOSTNAME wins over the pod's. */
    CHECK_INT(spec_merge_env(image + 1, 1, keys, values, 3, "web-0", &env, &n, &err), 0);
    CHECK_INT(n, 4);
    CHECK_STR(env[0], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    CHECK_STR(env[1], "HOSTNAME=custom");
    CHECK_STR(env[2], "LANG=en_US.UTF-8");
    CHECK_STR(env[3], "NEW=x=y");
    free_env(env, n);

    /* No hostname: no HOSTNAME. */
    CHECK_INT(spec_merge_env(NULL, 0, NULL, NULL, 0, NULL, &env, &n, &err), 0);
    CHECK_INT(n, 1);
    CHECK_CONTAINS(env[0], "PATH=");
    free_env(env, n);
    return 0;
}

static int test_merge_env_bad_key_is_invalid(void)
{
    static const char *const bad[][1] = {{""}, {"A=B"}};
    static const char *const values[] = {"v"};
    char **env = NULL;
    struct crib_err err;
    size_t n;

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        CHECK(spec_merge_env(NULL, 0, bad[i], values, 1, NULL, &env, &n, &err) < 0);
        CHECK_INT(err.code, CRIB_INVALID);
        CHECK(!env);
    }
    return 0;
}

static int test_signal_numbers(void)
{
    /* Not static: SIGRTMIN is a call in glibc. */
    const struct {
        const char *name;
        int number;
    } cases[] = {
        {"SIGTERM", SIGTERM},
        {"TERM", SIGTERM},
        {"15", 15},
        {"sigkill", SIGKILL},
        {"SIGHUP", SIGHUP},
        {"QUIT", SIGQUIT},
        {"SIGUSR1", SIGUSR1},
        {"SIGWINCH", SIGWINCH},
        {"SIGCHLD", SIGCHLD},
        {"SIGRTMIN", SIGRTMIN},
        {"SIGRTMIN+3", SIGRTMIN + 3},
        {"RTMAX-1", SIGRTMAX - 1},
        {"SIGRTMAX", SIGRTMAX},
        {"64", 64},
        {"65", 0},
        {"0", 0},
        {"-9", 0},
        {"9x", 0},
        {"", 0},
        {"SIG", 0},
        {"SIGFOO", 0},
        {"SIGRTMIN+99", 0},
        {"SIGRTMIN-1", 0},
        {"SIGRTMAX+1", 0},
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int got = spec_signal_number(cases[i].name);

        if (got != cases[i].number)
            fprintf(stderr, "  signal '%s'\n", cases[i].name);
        CHECK_INT(got, cases[i].number);
    }
    CHECK_INT(spec_signal_number(NULL), 0);
    return 0;
}

TEST_MAIN(TEST(test_default_caps), TEST(test_caps_add_and_drop_by_any_spelling),
          TEST(test_caps_all), TEST(test_caps_unknown_is_invalid), TEST(test_privileged),
          TEST(test_masked_and_readonly_defaults), TEST(test_masked_and_readonly_set_by_caller),
          TEST(test_namespaces_paths_and_host_flags), TEST(test_default_mounts),
          TEST(test_mounts_sorted_and_replace_defaults),
          TEST(test_mount_over_dev_drops_its_defaults), TEST(test_bad_mounts_are_invalid),
          TEST(test_device_rules), TEST(test_resources), TEST(test_process_root_and_linux_fields),
          TEST(test_bad_input_is_invalid), TEST(test_merge_args),
          TEST(test_merge_args_empty_is_invalid), TEST(test_merge_env),
          TEST(test_merge_env_bad_key_is_invalid), TEST(test_signal_numbers))
