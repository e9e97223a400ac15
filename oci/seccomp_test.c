#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "oci/seccomp.h"

static void json_putp(struct json_object **o)
{
    json_object_put(*o);
}

static const char *str_field(struct json_object *o, const char *key)
{
    struct json_object *v;

    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static struct json_object *field(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;

    json_object_object_get_ex(o, key, &v);
    return v;
}

static bool names_have(struct json_object *rule, const char *name)
{
    struct json_object *names = field(rule, "names");

    for (size_t i = 0; names && i < json_object_array_length(names); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(names, i)), name) == 0)
            return true;
    return false;
}

/* The first rule naming name with action, or NULL. */
static struct json_object *find_rule(struct json_object *profile, const char *name,
                                     const char *action)
{
    struct json_object *syscalls = field(profile, "syscalls");

    for (size_t i = 0; syscalls && i < json_object_array_length(syscalls); i++) {
        struct json_object *rule = json_object_array_get_idx(syscalls, i);

        if (names_have(rule, name) && strcmp(str_field(rule, "action"), action) == 0)
            return rule;
    }
    return NULL;
}

/* Allowed whatever its arguments. */
static bool allows(struct json_object *profile, const char *name)
{
    struct json_object *rule = find_rule(profile, name, "SCMP_ACT_ALLOW");

    return rule && !field(rule, "args");
}

static int test_default_shape(void)
{
    _cleanup_(json_putp) struct json_object *p = seccomp_default_profile(NULL, 0);
    struct json_object *arches = field(p, "architectures");

    CHECK_STR(str_field(p, "defaultAction"), "SCMP_ACT_ERRNO");
    CHECK_INT(json_object_get_int(field(p, "defaultErrnoRet")), EPERM);
    CHECK(json_object_is_type(field(p, "syscalls"), json_type_array));
#if defined(__x86_64__)
    CHECK_INT(json_object_array_length(arches), 3);
    CHECK_STR(json_object_get_string(json_object_array_get_idx(arches, 0)), "SCMP_ARCH_X86_64");
    CHECK(allows(p, "arch_prctl"));
#elif defined(__aarch64__)
    CHECK_INT(json_object_array_length(arches), 2);
    CHECK_STR(json_object_get_string(json_object_array_get_idx(arches, 0)), "SCMP_ARCH_AARCH64");
#endif
    CHECK(arches != NULL);
    return 0;
}

static int test_default_allows_common_and_blocks_host_syscalls(void)
{
    static const char *const allowed[] = {"read",    "write", "openat",     "execve",
                                          "futex",   "mmap",  "exit_group", "rt_sigreturn",
                                          "accept4", "getuid"};
    static const char *const blocked[] = {
        "mount",  "umount2",     "unshare",     "setns",        "bpf",
        "reboot", "init_module", "kexec_load",  "chroot",       "swapon",
        "keyctl", "add_key",     "userfaultfd", "settimeofday", "open_by_handle_at",
        "clone3", "clone"};
    _cleanup_(json_putp) struct json_object *p = seccomp_default_profile(NULL, 0);

    for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
        CHECK(allows(p, allowed[i]));
    for (size_t i = 0; i < ARRAY_SIZE(blocked); i++)
        if (allows(p, blocked[i])) {
            fprintf(stderr, "  %s allowed without capabilities\n", blocked[i]);
            CHECK(false);
        }
    return 0;
}

static const struct {
    const char *cap, *syscall;
} cap_syscalls[] = {
    {"CAP_SYS_ADMIN", "mount"},
    {"CAP_SYS_ADMIN", "umount2"},
    {"CAP_SYS_ADMIN", "unshare"},
    {"CAP_SYS_ADMIN", "setns"},
    {"CAP_SYS_ADMIN", "clone"},
    {"CAP_SYS_ADMIN", "clone3"},
    {"CAP_SYS_ADMIN", "bpf"},
    {"CAP_SYS_PTRACE", "kcmp"},
    {"CAP_SYS_PTRACE", "pidfd_getfd"},
    {"CAP_SYS_MODULE", "init_module"},
    {"CAP_SYS_BOOT", "reboot"},
    {"CAP_SYS_CHROOT", "chroot"},
    {"CAP_SYS_TIME", "settimeofday"},
    {"CAP_SYS_TIME", "clock_settime"},
    {"CAP_SYS_NICE", "mbind"},
    {"CAP_SYS_PACCT", "acct"},
    {"CAP_SYS_TTY_CONFIG", "vhangup"},
    {"CAP_SYSLOG", "syslog"},
    {"CAP_BPF", "bpf"},
    {"CAP_PERFMON", "perf_event_open"},
    {"CAP_DAC_READ_SEARCH", "open_by_handle_at"},
#if defined(__x86_64__)
    {"CAP_SYS_RAWIO", "iopl"},
#endif
};

static int test_default_capabilities_open_their_syscalls(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(cap_syscalls); i++) {
        const char *caps[] = {"CAP_CHOWN", cap_syscalls[i].cap};
        _cleanup_(json_putp) struct json_object *with = seccomp_default_profile(caps, 2);
        _cleanup_(json_putp) struct json_object *without = seccomp_default_profile(caps, 1);

        if (!allows(with, cap_syscalls[i].syscall) || allows(without, cap_syscalls[i].syscall)) {
            fprintf(stderr, "  %s / %s\n", cap_syscalls[i].cap, cap_syscalls[i].syscall);
            CHECK(false);
        }
    }
    return 0;
}

static int test_default_clone_rules_follow_sys_admin(void)
{
    const char *admin[] = {"CAP_SYS_ADMIN"};
    _cleanup_(json_putp) struct json_object *p = seccomp_default_profile(NULL, 0);
    _cleanup_(json_putp) struct json_object *a = seccomp_default_profile(admin, 1);
    struct json_object *clone = find_rule(p, "clone", "SCMP_ACT_ALLOW");
    struct json_object *clone3 = find_rule(p, "clone3", "SCMP_ACT_ERRNO");
    struct json_object *arg;

    CHECK(clone != NULL);
    CHECK(clone3 != NULL);
    if (!clone || !clone3)
        return 0;
    CHECK_INT(json_object_array_length(field(clone, "args")), 1);
    arg = json_object_array_get_idx(field(clone, "args"), 0);
    CHECK_INT(json_object_get_int(field(arg, "index")), 0);
    CHECK_INT(json_object_get_uint64(field(arg, "value")), 0x7E020000);
    CHECK_INT(json_object_get_uint64(field(arg, "value")),
              CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                  CLONE_NEWNET | CLONE_NEWCGROUP);
    CHECK_INT(json_object_get_uint64(field(arg, "valueTwo")), 0);
    CHECK_STR(str_field(arg, "op"), "SCMP_CMP_MASKED_EQ");
    CHECK_INT(json_object_get_int(field(clone3, "errnoRet")), ENOSYS);
    /* With CAP_SYS_ADMIN both are plainly allowed and the restricted rules go. */
    CHECK(find_rule(a, "clone3", "SCMP_ACT_ERRNO") == NULL);
    CHECK(allows(a, "clone"));
    CHECK(allows(a, "clone3"));
    return 0;
}

static int test_default_personality_and_socket_args(void)
{
    static const uint64_t personalities[] = {0, 8, 0x20000, 0x20008, 0xffffffff};
    _cleanup_(json_putp) struct json_object *p = seccomp_default_profile(NULL, 0);
    struct json_object *syscalls = field(p, "syscalls");
    size_t n_personality = 0;
    struct json_object *socket_rule = find_rule(p, "socket", "SCMP_ACT_ALLOW");

    for (size_t i = 0; i < json_object_array_length(syscalls); i++) {
        struct json_object *rule = json_object_array_get_idx(syscalls, i);
        struct json_object *arg;

        if (!names_have(rule, "personality"))
            continue;
        arg = json_object_array_get_idx(field(rule, "args"), 0);
        CHECK(n_personality < ARRAY_SIZE(personalities));
        if (n_personality < ARRAY_SIZE(personalities))
            CHECK_INT(json_object_get_uint64(field(arg, "value")), personalities[n_personality]);
        CHECK_STR(str_field(arg, "op"), "SCMP_CMP_EQ");
        n_personality++;
    }
    CHECK_INT(n_personality, ARRAY_SIZE(personalities));
    CHECK(!allows(p, "personality"));
    CHECK(socket_rule != NULL);
    if (socket_rule) {
        struct json_object *arg = json_object_array_get_idx(field(socket_rule, "args"), 0);

        CHECK_INT(json_object_get_uint64(field(arg, "value")), 40); /* AF_VSOCK */
        CHECK_STR(str_field(arg, "op"), "SCMP_CMP_NE");
    }
    return 0;
}

/* runc resolves every name for the native arch; none may be unknown. */
static int test_default_names_all_resolve(void)
{
    const char *all[ARRAY_SIZE(cap_syscalls)];
    _cleanup_(json_putp) struct json_object *p = NULL;
    struct json_object *syscalls;
    size_t n = 0;

    for (size_t i = 0; i < ARRAY_SIZE(cap_syscalls); i++)
        all[i] = cap_syscalls[i].cap;
    p = seccomp_default_profile(all, ARRAY_SIZE(all));
    syscalls = field(p, "syscalls");
    for (size_t i = 0; i < json_object_array_length(syscalls); i++) {
        struct json_object *names = field(json_object_array_get_idx(syscalls, i), "names");

        CHECK(json_object_array_length(names) > 0);
        for (size_t j = 0; j < json_object_array_length(names); j++, n++) {
            const char *name = json_object_get_string(json_object_array_get_idx(names, j));

            if (seccomp_syscall_resolve_name(name) == __NR_SCMP_ERROR) {
                fprintf(stderr, "  unknown \"%s\"\n", name);
                CHECK(false);
            }
        }
    }
    CHECK(n > 350);
    return 0;
}

/* What the default emits, read back as a Localhost profile, is itself. */
static int test_default_reads_back_as_profile(void)
{
    const char *caps[] = {"CAP_SYS_PTRACE"};
    _cleanup_(json_putp) struct json_object *p = seccomp_default_profile(caps, 1);
    _cleanup_(json_putp) struct json_object *again = NULL;
    const char *text = json_object_to_json_string(p);
    struct crib_err err;

    CHECK_INT(seccomp_parse_profile("default", text, strlen(text), caps, 1, &again, &err), 0);
    if (again)
        CHECK_STR(json_object_to_json_string(again), text);
    return 0;
}

/* ---- the default profile in a real filter, read as runc reads it ---- */

static const struct {
    const char *name;
    enum scmp_compare op;
} test_ops[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

static uint32_t test_action(struct json_object *rule)
{
    const char *action = str_field(rule, "action");
    struct json_object *errno_ret = field(rule, "errnoRet");

    if (strcmp(action, "SCMP_ACT_ALLOW") == 0)
        return SCMP_ACT_ALLOW;
    return SCMP_ACT_ERRNO(errno_ret ? json_object_get_int(errno_ret) : EPERM);
}

static int add_test_rule(scmp_filter_ctx ctx, struct json_object *rule)
{
    struct json_object *names = field(rule, "names"), *args = field(rule, "args");
    struct scmp_arg_cmp cmps[6];
    size_t n_cmps = args ? json_object_array_length(args) : 0;

    for (size_t i = 0; i < n_cmps && i < ARRAY_SIZE(cmps); i++) {
        struct json_object *arg = json_object_array_get_idx(args, i);

        cmps[i] = (struct scmp_arg_cmp){
            .arg = json_object_get_int(field(arg, "index")),
            .datum_a = json_object_get_uint64(field(arg, "value")),
            .datum_b = json_object_get_uint64(field(arg, "valueTwo")),
        };
        for (size_t j = 0; j < ARRAY_SIZE(test_ops); j++)
            if (strcmp(str_field(arg, "op"), test_ops[j].name) == 0)
                cmps[i].op = test_ops[j].op;
    }
    for (size_t i = 0; i < json_object_array_length(names); i++) {
        int nr = seccomp_syscall_resolve_name(
            json_object_get_string(json_object_array_get_idx(names, i)));

        if (seccomp_rule_add_array(ctx, test_action(rule), nr, n_cmps, cmps) < 0)
            return -1;
    }
    return 0;
}

/* Builds the filter as runc would; the child loads it then. */
static scmp_filter_ctx filter_from_profile(struct json_object *p)
{
    struct json_object *arch_list = field(p, "architectures"), *syscalls = field(p, "syscalls");
    scmp_filter_ctx ctx =
        seccomp_init(SCMP_ACT_ERRNO(json_object_get_int(field(p, "defaultErrnoRet"))));

    for (size_t i = 0; ctx && arch_list && i < json_object_array_length(arch_list); i++) {
        const char *name = json_object_get_string(json_object_array_get_idx(arch_list, i));
        char lower[32] = "";
        uint32_t token;

        /* "SCMP_ARCH_X86_64" is libseccomp's "x86_64", as runc maps it. */
        for (size_t j = 0; name[10 + j] && j < sizeof(lower) - 1; j++)
            lower[j] = (char)tolower((unsigned char)name[10 + j]);
        token = seccomp_arch_resolve_name(lower);
        if (!token || (seccomp_arch_add(ctx, token) < 0 && seccomp_arch_exist(ctx, token) != 0)) {
            seccomp_release(ctx);
            return NULL;
        }
    }
    for (size_t i = 0; ctx && i < json_object_array_length(syscalls); i++)
        if (add_test_rule(ctx, json_object_array_get_idx(syscalls, i)) < 0) {
            seccomp_release(ctx);
            return NULL;
        }
    return ctx;
}

/* The errno of each probe run under the filter, 0 for success; -1 when
 * the filter cannot be loaded here. */
enum {
    PROBE_UNSHARE,
    PROBE_CLONE3,
    PROBE_VSOCK,
    PROBE_PERSONALITY,
    PROBE_KEYCTL,
    PROBE_FORK,
    PROBE_GETPID,
    N_PROBES
};

static int run_probes(struct json_object *p, int results[N_PROBES])
{
    scmp_filter_ctx ctx = filter_from_profile(p);
    int fds[2], status;
    pid_t pid;

    if (!ctx || pipe(fds) < 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        int r[N_PROBES];
        pid_t child;

        if (seccomp_load(ctx) < 0)
            _exit(2);
        r[PROBE_UNSHARE] = unshare(CLONE_NEWUTS) < 0 ? errno : 0;
        r[PROBE_CLONE3] = syscall(__NR_clone3, NULL, 0) < 0 ? errno : 0;
        r[PROBE_VSOCK] = socket(AF_VSOCK, SOCK_STREAM, 0) < 0 ? errno : 0;
        r[PROBE_PERSONALITY] = personality(PER_BSD) < 0 ? errno : 0;
        r[PROBE_KEYCTL] = syscall(__NR_keyctl, 0, 0, 0, 0, 0) < 0 ? errno : 0;
        child = fork();
        if (child == 0)
            _exit(0);
        r[PROBE_FORK] = child < 0 ? errno : 0;
        r[PROBE_GETPID] = getpid() == syscall(__NR_getpid) ? 0 : EINVAL;
        (void)!write(fds[1], r, sizeof(r));
        _exit(0);
    }
    seccomp_release(ctx);
    close(fds[1]);
    if (read(fds[0], results, N_PROBES * sizeof(int)) != (ssize_t)(N_PROBES * sizeof(int)))
        pid = -pid;
    close(fds[0]);
    waitpid(pid < 0 ? -pid : pid, &status, 0);
    return pid < 0 ? -1 : 0;
}

static int test_default_profile_enforced_by_the_kernel(void)
{
    const char *admin[] = {"CAP_SYS_ADMIN"};
    _cleanup_(json_putp) struct json_object *p = seccomp_default_profile(NULL, 0);
    _cleanup_(json_putp) struct json_object *a = seccomp_default_profile(admin, 1);
    int r[N_PROBES], ra[N_PROBES];

    if (run_probes(p, r) < 0 || run_probes(a, ra) < 0) {
        printf("  seccomp filters cannot be loaded here\n");
        return TEST_SKIP;
    }
    CHECK_INT(r[PROBE_UNSHARE], EPERM);
    CHECK_INT(r[PROBE_CLONE3], ENOSYS);
    CHECK_INT(r[PROBE_VSOCK], EPERM);
    CHECK_INT(r[PROBE_PERSONALITY], EPERM);
    CHECK_INT(r[PROBE_KEYCTL], EPERM);
    CHECK_INT(r[PROBE_FORK], 0);
    CHECK_INT(r[PROBE_GETPID], 0);
    /* With CAP_SYS_ADMIN the filter lets them through to the kernel's own checks. */
    if (geteuid() == 0)
        CHECK_INT(ra[PROBE_UNSHARE], 0);
    CHECK(ra[PROBE_CLONE3] != ENOSYS);
    CHECK_INT(ra[PROBE_KEYCTL], EPERM);
    return 0;
}

static struct json_object *parse_ok(const char *text, const char *const *caps, size_t n_caps)
{
    struct json_object *out = NULL;
    struct crib_err err;

    if (seccomp_parse_profile("/p.json", text, strlen(text), caps, n_caps, &out, &err) < 0)
        fprintf(stderr, "  %s\n", err.msg);
    return out;
}

/* critest's profiles: block one syscall on an allow default, and the reverse. */
static int test_localhost_critest_profiles(void)
{
    _cleanup_(json_putp) struct json_object *block =
        parse_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                 "[\"sethostname\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
                 NULL, 0);
    _cleanup_(json_putp) struct json_object *allow = parse_ok(
        "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"defaultErrnoRet\": 1,\n"
        "  \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"],\n"
        "  \"syscalls\": [\n    {\"names\": [\"read\", \"write\", \"exit_group\", \"execve\"],\n"
        "     \"action\": \"SCMP_ACT_ALLOW\"},\n"
        "    {\"name\": \"chmod\", \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13}\n  ]\n}\n",
        NULL, 0);

    CHECK(block != NULL);
    CHECK(allow != NULL);
    if (!block || !allow)
        return 0;
    CHECK_STR(json_object_to_json_string(block),
              "{ \"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [ { \"names\": [ "
              "\"sethostname\" ], \"action\": \"SCMP_ACT_ERRNO\" } ] }");
    CHECK_STR(str_field(allow, "defaultAction"), "SCMP_ACT_ERRNO");
    CHECK_INT(json_object_get_int(field(allow, "defaultErrnoRet")), 1);
    CHECK_INT(json_object_array_length(field(allow, "architectures")), 3);
    CHECK(allows(allow, "execve"));
    CHECK_INT(json_object_get_int(field(find_rule(allow, "chmod", "SCMP_ACT_ERRNO"), "errnoRet")),
              13);
    return 0;
}

/* Docker's format: archMap, includes/excludes by caps, arches and kernel. */
static const char docker_profile[] =
    "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1,\n"
    " \"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\",\n"
    "               \"subArchitectures\": [\"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"]},\n"
    "              {\"architecture\": \"SCMP_ARCH_AARCH64\", \"subArchitectures\": "
    "[\"SCMP_ARCH_ARM\"]},\n"
    "              {\"architecture\": \"SCMP_ARCH_RISCV64\", \"subArchitectures\": null}],\n"
    " \"syscalls\": [\n"
    "  {\"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\", \"comment\": \"io\"},\n"
    "  {\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
    "   \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},\n"
    "  {\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
    "   \"args\": [{\"index\": 0, \"value\": 2114060288, \"op\": \"SCMP_CMP_MASKED_EQ\"}],\n"
    "   \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"], \"arches\": [\"s390\", \"s390x\"]}},\n"
    "  {\"names\": [\"arch_prctl\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
    "   \"includes\": {\"arches\": [\"amd64\", \"x32\"]}},\n"
    "  {\"names\": [\"cacheflush\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
    "   \"includes\": {\"arches\": [\"arm\", \"arm64\"]}},\n"
    "  {\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
    "   \"includes\": {\"minKernel\": \"4.8\"}},\n"
    "  {\"names\": [\"kexec_load\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
    "   \"includes\": {\"minKernel\": \"999.0\"}}\n"
    " ]}\n";

static int test_localhost_docker_format(void)
{
    const char *admin[] = {"CAP_SYS_ADMIN"};
    _cleanup_(json_putp) struct json_object *plain = parse_ok(docker_profile, NULL, 0);
    _cleanup_(json_putp) struct json_object *root = parse_ok(docker_profile, admin, 1);

    CHECK(plain != NULL);
    CHECK(root != NULL);
    if (!plain || !root)
        return 0;
    CHECK(allows(plain, "read"));
    CHECK(!allows(plain, "mount"));
    CHECK(allows(root, "mount"));
    CHECK(find_rule(plain, "clone", "SCMP_ACT_ALLOW") != NULL);
    CHECK(find_rule(root, "clone", "SCMP_ACT_ALLOW") == NULL);
    CHECK(allows(plain, "ptrace"));
    CHECK(!allows(plain, "kexec_load"));
#if defined(__x86_64__)
    CHECK_STR(json_object_to_json_string(field(plain, "architectures")),
              "[ \"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\" ]");
    CHECK(allows(plain, "arch_prctl"));
    CHECK(!allows(plain, "cacheflush"));
#elif defined(__aarch64__)
    CHECK_STR(json_object_to_json_string(field(plain, "architectures")),
              "[ \"SCMP_ARCH_AARCH64\", \"SCMP_ARCH_ARM\" ]");
    CHECK(!allows(plain, "arch_prctl"));
    CHECK(allows(plain, "cacheflush"));
#endif
    return 0;
}

static int test_localhost_notify_and_flags_pass_through(void)
{
    _cleanup_(json_putp) struct json_object *p =
        parse_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/run/agent.sock\",\n"
                 " \"listenerMetadata\": \"pod\", \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\"],\n"
                 " \"syscalls\": [{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_NOTIFY\"},\n"
                 "  {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ERRNO\",\n"
                 "   \"args\": [{\"index\": 5, \"value\": 18446744073709551615, \"valueTwo\": 3,\n"
                 "             \"op\": \"SCMP_CMP_GE\"}]}]}",
                 NULL, 0);
    struct json_object *arg;

    CHECK(p != NULL);
    if (!p)
        return 0;
    CHECK_STR(str_field(p, "listenerPath"), "/run/agent.sock");
    CHECK_STR(str_field(p, "listenerMetadata"), "pod");
    CHECK_STR(json_object_to_json_string(field(p, "flags")), "[ \"SECCOMP_FILTER_FLAG_LOG\" ]");
    CHECK(find_rule(p, "mkdir", "SCMP_ACT_NOTIFY") != NULL);
    arg =
        json_object_array_get_idx(field(find_rule(p, "personality", "SCMP_ACT_ERRNO"), "args"), 0);
    CHECK(json_object_get_uint64(field(arg, "value")) == UINT64_MAX);
    CHECK_INT(json_object_get_uint64(field(arg, "valueTwo")), 3);
    CHECK_INT(json_object_get_int(field(arg, "index")), 5);
    return 0;
}

static const struct {
    const char *name, *json, *msg;
} hostile[] = {
    {"empty", "", "not JSON: unexpected end of data at line 1, offset 0"},
    {"spaces", " \n\t ", "not JSON: unexpected end of data"},
    {"not json", "defaultAction: allow", "not JSON: "},
    {"cut short", "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"syscalls\": [", "at line 2"},
    {"trailing", "{\"defaultAction\": \"SCMP_ACT_ALLOW\"} {}",
     "unexpected character at line 1, offset 36"},
    {"null", "null", "not a JSON object"},
    {"array", "[]", "not a JSON object"},
    {"string", "\"SCMP_ACT_ALLOW\"", "not a JSON object"},
    {"no default", "{}", "defaultAction is missing"},
    {"unknown field", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"sycalls\": []}",
     "unknown field \"sycalls\""},
    {"default number", "{\"defaultAction\": 1}", "defaultAction is not a string"},
    {"unknown action", "{\"defaultAction\": \"SCMP_ACT_FOO\"}", "unknown action \"SCMP_ACT_FOO\""},
    {"notify default", "{\"defaultAction\": \"SCMP_ACT_NOTIFY\", \"listenerPath\": \"/x\"}",
     "cannot be the default action"},
    {"errno negative", "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": -1}",
     "defaultErrnoRet is negative"},
    {"errno huge", "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 70000}",
     "defaultErrnoRet 70000 is over 4095"},
    {"errno float", "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1.5}",
     "defaultErrnoRet is not an integer"},
    {"errno string", "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": \"1\"}",
     "defaultErrnoRet is not an integer"},
    {"arches not array", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": \"x\"}",
     "architectures is not an array"},
    {"unknown arch",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_Z80\"]}",
     "unknown architecture \"SCMP_ARCH_Z80\""},
    {"arch number", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [7]}",
     "architectures[0] is not a string"},
    {"both arches",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86\"],"
     " \"archMap\": [{\"architecture\": \"SCMP_ARCH_X86\"}]}",
     "both architectures and archMap"},
    {"archmap entry", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"archMap\": [\"x\"]}",
     "archMap[0]: not an object"},
    {"archmap unknown sub",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"archMap\": [{\"architecture\": "
     "\"SCMP_ARCH_PPC\", \"subArchitectures\": [\"SCMP_ARCH_Q\"]}]}",
     "archMap[0]: unknown architecture \"SCMP_ARCH_Q\""},
    {"archmap no arch", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"archMap\": [{}]}",
     "archMap[0]: architecture is missing"},
    {"unknown flag", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"FAST\"]}",
     "unknown flag \"FAST\""},
    {"syscalls object", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}",
     "syscalls is not an array"},
    {"rule not object", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [1]}",
     "syscalls[0]: not an object"},
    {"unknown syscall",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
     "\"action\": \"SCMP_ACT_LOG\"}, {\"names\": [\"fooo\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
     "seccomp profile /bad.json: syscalls[1]: unknown syscall \"fooo\""},
    {"names not array",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": \"read\", \"action\": "
     "\"SCMP_ACT_ERRNO\"}]}",
     "syscalls[0]: names is not an array"},
    {"names empty",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [], \"action\": "
     "\"SCMP_ACT_ERRNO\"}]}",
     "syscalls[0]: names is empty"},
    {"name and names",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"name\": "
     "\"write\", \"action\": \"SCMP_ACT_ERRNO\"}]}",
     "both name and names"},
    {"no names",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"action\": \"SCMP_ACT_ERRNO\"}]}",
     "syscalls[0]: names is missing"},
    {"name number", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"name\": 3}]}",
     "syscalls[0]: name is not a string"},
    {"name empty",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"\"], \"action\": "
     "\"SCMP_ACT_ERRNO\"}]}",
     "names[] is empty"},
    {"name with nul",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\\u0000x\"], "
     "\"action\": \"SCMP_ACT_ERRNO\"}]}",
     "names[] has a NUL byte"},
    {"rule action unknown",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": "
     "\"SCMP_ACT_FOO\"}]}",
     "syscalls[0]: unknown action \"SCMP_ACT_FOO\""},
    {"rule action missing",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"]}]}",
     "syscalls[0]: action is missing"},
    {"notify without listener",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"], "
     "\"action\": \"SCMP_ACT_NOTIFY\"}]}",
     "needs the profile's listenerPath"},
    {"notify write",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/x\", \"syscalls\": "
     "[{\"names\": [\"write\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}",
     "cannot be used for write"},
    {"args not array",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": "
     "\"SCMP_ACT_ERRNO\", \"args\": {}}]}",
     "syscalls[0]: args is not an array"},
    {"arg not object",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": "
     "\"SCMP_ACT_ERRNO\", \"args\": [null]}]}",
     "syscalls[0].args[0]: not an object"},
    {"huge index",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": "
     "\"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 4294967296, \"value\": 1, \"op\": "
     "\"SCMP_CMP_EQ\"}]}]}",
     "syscalls[0].args[0]: index 4294967296 is over 5"},
    {"index six",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": "
     "\"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 6, \"op\": \"SCMP_CMP_EQ\"}]}]}",
     "index 6 is over 5"},
    {"no index",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": "
     "\"SCMP_ACT_ERRNO\", \"args\": [{\"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
     "index is missing"},
    {"unknown op",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": "
     "\"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_LIKE\"}]}]}",
     "unknown operator \"SCMP_CMP_LIKE\""},
    {"value negative",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": "
     "\"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": -1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
     "value is negative"},
    {"value over 64 bits",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": "
     "\"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 18446744073709551616, \"op\": "
     "\"SCMP_CMP_EQ\"}]}]}",
     "not JSON: integer over 64 bits at line 1, offset 128"},
    {"arg unknown field",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": "
     "\"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"op\": \"SCMP_CMP_EQ\", \"mask\": 1}]}]}",
     "unknown field \"mask\""},
    {"includes not object",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": "
     "\"SCMP_ACT_ERRNO\", \"includes\": []}]}",
     "syscalls[0]: includes is not an object"},
    {"bad cap",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": "
     "\"SCMP_ACT_ERRNO\", \"excludes\": {\"caps\": [\"sys_admin\"]}}]}",
     "syscalls[0].excludes: caps[]: \"sys_admin\" is not a capability name"},
    {"bad kernel",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": "
     "\"SCMP_ACT_ERRNO\", \"includes\": {\"minKernel\": \"4.x\"}}]}",
     "minKernel \"4.x\" is not a kernel version"},
    {"kernel major only",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": "
     "\"SCMP_ACT_ERRNO\", \"includes\": {\"minKernel\": \"4\"}}]}",
     "is not a kernel version"},
    {"condition unknown field",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": "
     "\"SCMP_ACT_ERRNO\", \"includes\": {\"kernel\": \"4.8\"}}]}",
     "syscalls[0].includes: unknown field \"kernel\""},
};

static int test_hostile_profiles_fail_clearly(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
        struct json_object *out = NULL;
        struct crib_err err;
        int r = seccomp_parse_profile("/bad.json", hostile[i].json, strlen(hostile[i].json), NULL,
                                      0, &out, &err);

        if (r >= 0) {
            fprintf(stderr, "  %s: accepted\n", hostile[i].name);
            CHECK(false);
            json_object_put(out);
            continue;
        }
        CHECK(out == NULL);
        CHECK_INT(err.code, CRIB_INVALID);
        CHECK_CONTAINS(err.msg, "seccomp profile /bad.json: ");
        CHECK_CONTAINS(err.msg, hostile[i].msg);
    }
    return 0;
}

static int test_deep_nesting_fails(void)
{
    const size_t depth = 100000;
    _cleanup_free_ char *text = xmalloc(2 * depth + 1);
    struct json_object *out = NULL;
    struct crib_err err;

    memset(text, '[', depth);
    memset(text + depth, ']', depth);
    text[2 * depth] = '\0';
    CHECK(seccomp_parse_profile("/deep.json", text, 2 * depth, NULL, 0, &out, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, "not JSON: ");
    CHECK(out == NULL);
    return 0;
}

static int test_nul_inside_data_fails(void)
{
    static const char text[] = "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}\0{}";
    struct json_object *out = NULL;
    struct crib_err err;

    CHECK(seccomp_parse_profile("/nul.json", text, sizeof(text) - 1, NULL, 0, &out, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK(out == NULL);
    return 0;
}

static int test_load_profile_from_file(void)
{
    char dir[] = "/tmp/crib-seccomp-test-XXXXXX";
    _cleanup_free_ char *path = NULL, *missing = NULL, *big = NULL;
    _cleanup_free_ char *huge = xmalloc((1u << 20) + 2);
    struct json_object *out = NULL;
    struct crib_err err;
    static const char ok[] = "{\"defaultAction\": \"SCMP_ACT_LOG\"}";

    if (!mkdtemp(dir))
        return TEST_SKIP;
    path = xasprintf("%s/ok.json", dir);
    missing = xasprintf("%s/missing.json", dir);
    big = xasprintf("%s/big.json", dir);
    memset(huge, ' ', (1u << 20) + 2);
    huge[0] = '{';
    CHECK_INT(fs_write_atomic(path, ok, strlen(ok), 0644, &err), 0);
    CHECK_INT(fs_write_atomic(big, huge, (1u << 20) + 2, 0644, &err), 0);

    CHECK_INT(seccomp_load_profile(path, NULL, 0, &out, &err), 0);
    CHECK_STR(out ? str_field(out, "defaultAction") : NULL, "SCMP_ACT_LOG");
    json_object_put(out);
    out = NULL;
    CHECK(seccomp_load_profile(missing, NULL, 0, &out, &err) < 0);
    CHECK_INT(err.code, CRIB_NOT_FOUND);
    CHECK_CONTAINS(err.msg, missing);
    CHECK(seccomp_load_profile(big, NULL, 0, &out, &err) < 0);
    CHECK_INT(err.code, CRIB_LIMIT);
    CHECK_CONTAINS(err.msg, big);
    CHECK(out == NULL);
    unlink(path);
    unlink(big);
    rmdir(dir);
    return 0;
}

TEST_MAIN(TEST(test_default_shape), TEST(test_default_allows_common_and_blocks_host_syscalls),
          TEST(test_default_capabilities_open_their_syscalls),
          TEST(test_default_clone_rules_follow_sys_admin),
          TEST(test_default_personality_and_socket_args), TEST(test_default_names_all_resolve),
          TEST(test_default_reads_back_as_profile),
          TEST(test_default_profile_enforced_by_the_kernel), TEST(test_localhost_critest_profiles),
          TEST(test_localhost_docker_format), TEST(test_localhost_notify_and_flags_pass_through),
          TEST(test_hostile_profiles_fail_clearly), TEST(test_deep_nesting_fails),
          TEST(test_nul_inside_data_fails), TEST(test_load_profile_from_file))
