/* Localhost seccomp profiles in the Docker/Kubernetes format, checked whole
 * before a container is made and turned into the OCI spec's linux.seccomp
 * object; and what seccomp_default.c shares with them. */
#include "oci/seccomp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "oci/internal.h"

#define SECCOMP_PROFILE_MAX_BYTES (1u << 20)
/* Caps on what a profile may hold, so a hostile one cannot make us build a
 * huge object; Docker's default has 30 rules, the largest of 349 names. */
#define PROFILE_MAX_RULES 4096
#define PROFILE_MAX_NAMES 4096
#define PROFILE_MAX_ARGS 64
#define PROFILE_MAX_DEPTH 16
/* The kernel returns errno values up to MAX_ERRNO (include/linux/err.h). */
#define PROFILE_MAX_ERRNO 4095
/* A seccomp filter sees six syscall arguments (struct seccomp_data). */
#define SYSCALL_MAX_ARGS 6
/* Room for "syscalls[N]", where a message says the problem is; a nested
 * place gets twice that. */
#define WHERE_MAX 64

static void json_putp(struct json_object **o)
{
    json_object_put(*o);
}

/* ---- what profiles may name ---- */

struct arch {
    const char *oci;    /* as profiles and runc name it */
    const char *docker; /* as includes/excludes "arches" name it (Go-style) */
    uint32_t token;     /* libseccomp's */
};

static const struct arch arches[] = {
    {"SCMP_ARCH_X86", "x86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", "amd64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", "x32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", "arm", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", "arm64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", "mips", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", "mips64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", "mips64n32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", "mipsel", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", "mipsel64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", "mipsel64n32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", "ppc", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", "ppc64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", "ppc64le", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", "s390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", "s390x", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", "parisc", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", "parisc64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", "riscv64", SCMP_ARCH_RISCV64},
};

/* What runc's specs-go accepts (LinuxSeccompAction, Operator, Flag). */
static const char *const actions[] = {"SCMP_ACT_KILL",        "SCMP_ACT_KILL_PROCESS",
                                      "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
                                      SECCOMP_ACT_ERRNO,      "SCMP_ACT_TRACE",
                                      SECCOMP_ACT_ALLOW,      "SCMP_ACT_LOG",
                                      "SCMP_ACT_NOTIFY",      NULL};
static const char *const ops[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
                                  "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL};
static const char *const filter_flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                           "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                           "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL};

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static const struct arch *arch_by_token(uint32_t token)
{
    for (size_t i = 0; i < ARRAY_SIZE(arches); i++)
        if (arches[i].token == token)
            return &arches[i];
    return NULL;
}

static const struct arch *arch_by_oci(const char *oci)
{
    for (size_t i = 0; i < ARRAY_SIZE(arches); i++)
        if (strcmp(arches[i].oci, oci) == 0)
            return &arches[i];
    return NULL;
}

/* ---- helpers seccomp_default.c shares ---- */

bool seccomp_caps_have(const char *const *caps, size_t n_caps, const char *cap)
{
    for (size_t i = 0; i < n_caps; i++)
        if (caps[i] && strcmp(caps[i], cap) == 0)
            return true;
    return false;
}

/* Counting an unreadable release as old only ever drops an allow rule. */
bool seccomp_kernel_at_least(unsigned major, unsigned minor)
{
    struct utsname u;
    unsigned kmajor, kminor;

    if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &kmajor, &kminor) != 2)
        return false;
    return kmajor > major || (kmajor == major && kminor >= minor);
}

struct json_object *seccomp_json_arg_new(unsigned index, uint64_t value, uint64_t value_two,
                                         const char *op)
{
    struct json_object *arg = json_object_new_object();

    json_object_object_add(arg, "index", json_object_new_int(index));
    json_object_object_add(arg, "value", json_object_new_uint64(value));
    json_object_object_add(arg, "valueTwo", json_object_new_uint64(value_two));
    json_object_object_add(arg, "op", json_object_new_string(op));
    return arg;
}

bool seccomp_json_names_have(struct json_object *names, const char *name)
{
    for (size_t i = 0; i < json_object_array_length(names); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(names, i)), name) == 0)
            return true;
    return false;
}

void seccomp_json_rule_add(struct json_object *syscalls, struct json_object *names,
                           const char *action, long long errno_ret, struct json_object *args)
{
    struct json_object *rule = json_object_new_object();

    json_object_object_add(rule, "names", names);
    json_object_object_add(rule, "action", json_object_new_string(action));
    if (errno_ret >= 0)
        json_object_object_add(rule, "errnoRet", json_object_new_int64(errno_ret));
    if (args)
        json_object_object_add(rule, "args", args);
    json_object_array_add(syscalls, rule);
}

/* ---- Localhost profiles ---- */

struct parse {
    const char *const *caps;
    size_t n_caps;
    const struct arch *native;           /* NULL on an arch the table above lacks */
    uint32_t tokens[ARRAY_SIZE(arches)]; /* the arches syscall names must exist on */
    size_t n_tokens;
    bool has_listener;
    struct crib_err *err;
};

/* What includes or excludes says. */
struct condition {
    struct json_object *caps, *arches;
    bool has_kernel;
    unsigned kernel_major, kernel_minor;
};

static int fail(struct crib_err *err, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* CRIB_INVALID with "where: " in front when where is not empty. */
static int fail(struct crib_err *err, const char *where, const char *fmt, ...)
{
    char text[CRIB_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return crib_fail(err, CRIB_INVALID, 0, "%s%s%s", where, *where ? ": " : "", text);
}

static const char *type_word(enum json_type type)
{
    switch (type) {
    case json_type_string: return "a string";
    case json_type_int: return "an integer";
    case json_type_array: return "an array";
    case json_type_object: return "an object";
    default: return "a value";
    }
}

static int check_fields(struct json_object *obj, const char *const *known, const char *where,
                        struct crib_err *err)
{
    json_object_object_foreach (obj, key, value) {
        (void)value;
        if (!in_list(known, key))
            return fail(err, where, "unknown field \"%s\"", key);
    }
    return 0;
}

/* *ret is field key of obj, NULL when absent or null (as Go's decoder
 * reads it); anything but type is an error. */
static int get_typed(struct json_object *obj, const char *key, enum json_type type,
                     const char *where, struct json_object **ret, struct crib_err *err)
{
    struct json_object *value = NULL;

    *ret = NULL;
    if (!json_object_object_get_ex(obj, key, &value) || !value)
        return 0;
    if (!json_object_is_type(value, type))
        return fail(err, where, "%s is not %s", key, type_word(type));
    *ret = value;
    return 0;
}

/* Checks that value is a string without NUL bytes, which would cut it
 * short in the C that reads it later. */
static int check_string(struct json_object *value, const char *what, const char *where,
                        struct crib_err *err)
{
    if (!json_object_is_type(value, json_type_string))
        return fail(err, where, "%s is not a string", what);
    if (strlen(json_object_get_string(value)) != (size_t)json_object_get_string_len(value))
        return fail(err, where, "%s has a NUL byte", what);
    if (json_object_get_string_len(value) == 0)
        return fail(err, where, "%s is empty", what);
    return 0;
}

static int get_string(struct json_object *obj, const char *key, const char *where, const char **ret,
                      struct crib_err *err)
{
    struct json_object *value = NULL;

    *ret = NULL;
    if (!json_object_object_get_ex(obj, key, &value) || !value)
        return 0;
    if (check_string(value, key, where, err) < 0)
        return -EINVAL;
    *ret = json_object_get_string(value);
    return 0;
}

/* An integer 0..max; *ret_present false when absent. */
static int get_uint(struct json_object *obj, const char *key, uint64_t max, const char *where,
                    bool *ret_present, uint64_t *ret, struct crib_err *err)
{
    struct json_object *value;
    uint64_t u;

    *ret_present = false;
    *ret = 0;
    if (get_typed(obj, key, json_type_int, where, &value, err) < 0)
        return -EINVAL;
    if (!value)
        return 0;
    /* json-c keeps numbers over INT64_MAX as uint64, reported as INT64_MAX here. */
    if (json_object_get_int64(value) < 0)
        return fail(err, where, "%s is negative", key);
    u = json_object_get_uint64(value);
    if (u > max)
        return fail(err, where, "%s %" PRIu64 " is over %" PRIu64, key, u, max);
    *ret_present = true;
    *ret = u;
    return 0;
}

static int get_array(struct json_object *obj, const char *key, size_t max, const char *where,
                     struct json_object **ret, struct crib_err *err)
{
    if (get_typed(obj, key, json_type_array, where, ret, err) < 0)
        return -EINVAL;
    if (*ret && json_object_array_length(*ret) > max)
        return fail(err, where, "%s has over %zu entries", key, max);
    return 0;
}

static int get_action(struct json_object *obj, const char *key, const char *where, const char **ret,
                      struct crib_err *err)
{
    if (get_string(obj, key, where, ret, err) < 0)
        return -EINVAL;
    if (!*ret)
        return fail(err, where, "%s is missing", key);
    if (!in_list(actions, *ret))
        return fail(err, where, "unknown action \"%s\"", *ret);
    return 0;
}

/* Adds arch to the output list and to the names' lookup, once each. */
static void use_arch(struct parse *p, struct json_object *out_arches, const struct arch *arch)
{
    for (size_t i = 0; i < p->n_tokens; i++)
        if (p->tokens[i] == arch->token)
            return;
    p->tokens[p->n_tokens++] = arch->token;
    json_object_array_add(out_arches, json_object_new_string(arch->oci));
}

/* The arch named by entry i of list, which must be known. */
static int list_arch(struct json_object *list, size_t i, const char *what, const char *where,
                     const struct arch **ret, struct crib_err *err)
{
    struct json_object *value = json_object_array_get_idx(list, i);
    char item[64];

    snprintf(item, sizeof(item), "%s[%zu]", what, i);
    if (check_string(value, item, where, err) < 0)
        return -EINVAL;
    *ret = arch_by_oci(json_object_get_string(value));
    if (!*ret)
        return fail(err, where, "unknown architecture \"%s\"", json_object_get_string(value));
    return 0;
}

/* One archMap entry: its arches count only when it is this machine's. */
static int parse_arch_entry(struct parse *p, struct json_object *entry, const char *where,
                            struct json_object *out_arches)
{
    static const char *const fields[] = {"architecture", "subArchitectures", NULL};
    const struct arch *arch, *sub;
    struct json_object *subs;
    const char *name;
    bool is_native;

    if (!json_object_is_type(entry, json_type_object))
        return fail(p->err, where, "not an object");
    if (check_fields(entry, fields, where, p->err) < 0 ||
        get_string(entry, "architecture", where, &name, p->err) < 0 ||
        get_array(entry, "subArchitectures", ARRAY_SIZE(arches), where, &subs, p->err) < 0)
        return -EINVAL;
    if (!name)
        return fail(p->err, where, "architecture is missing");
    arch = arch_by_oci(name);
    if (!arch)
        return fail(p->err, where, "unknown architecture \"%s\"", name);
    /* Docker takes the first entry for the native arch; later ones are checked only. */
    is_native = arch == p->native && p->n_tokens == 0;
    if (is_native)
        use_arch(p, out_arches, arch);
    for (size_t i = 0; subs && i < json_object_array_length(subs); i++) {
        if (list_arch(subs, i, "subArchitectures", where, &sub, p->err) < 0)
            return -EINVAL;
        if (is_native)
            use_arch(p, out_arches, sub);
    }
    return 0;
}

static int parse_arches(struct parse *p, struct json_object *root, struct json_object *out)
{
    _cleanup_(json_putp) struct json_object *out_arches = json_object_new_array();
    struct json_object *list, *map;
    const struct arch *arch;
    char where[WHERE_MAX];

    if (get_array(root, "architectures", 64, "", &list, p->err) < 0 ||
        get_array(root, "archMap", 64, "", &map, p->err) < 0)
        return -EINVAL;
    if (list && map && json_object_array_length(list) && json_object_array_length(map))
        return fail(p->err, "", "both architectures and archMap; use one");
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
        if (list_arch(list, i, "architectures", "", &arch, p->err) < 0)
            return -EINVAL;
        use_arch(p, out_arches, arch);
    }
    for (size_t i = 0; map && i < json_object_array_length(map); i++) {
        snprintf(where, sizeof(where), "archMap[%zu]", i);
        if (parse_arch_entry(p, json_object_array_get_idx(map, i), where, out_arches) < 0)
            return -EINVAL;
    }
    if (json_object_array_length(out_arches) > 0)
        json_object_object_add(out, "architectures", TAKE_PTR(out_arches));
    if (p->n_tokens == 0) /* runc then filters for the native arch alone */
        p->tokens[p->n_tokens++] = seccomp_arch_native();
    return 0;
}

static int parse_top(struct parse *p, struct json_object *root, struct json_object *out)
{
    struct json_object *flags;
    const char *action, *listener, *metadata;
    uint64_t errno_ret;
    bool has_errno;

    if (get_action(root, "defaultAction", "", &action, p->err) < 0 ||
        get_uint(root, "defaultErrnoRet", PROFILE_MAX_ERRNO, "", &has_errno, &errno_ret, p->err) <
            0 ||
        get_array(root, "flags", ARRAY_SIZE(filter_flags), "", &flags, p->err) < 0 ||
        get_string(root, "listenerPath", "", &listener, p->err) < 0 ||
        get_string(root, "listenerMetadata", "", &metadata, p->err) < 0)
        return -EINVAL;
    /* runc refuses it: every syscall, the listener's own included, would wait on it. */
    if (strcmp(action, "SCMP_ACT_NOTIFY") == 0)
        return fail(p->err, "defaultAction", "SCMP_ACT_NOTIFY cannot be the default action");
    json_object_object_add(out, "defaultAction", json_object_new_string(action));
    if (has_errno)
        json_object_object_add(out, "defaultErrnoRet", json_object_new_uint64(errno_ret));
    for (size_t i = 0; flags && i < json_object_array_length(flags); i++) {
        struct json_object *flag = json_object_array_get_idx(flags, i);

        if (check_string(flag, "flags[]", "", p->err) < 0)
            return -EINVAL;
        if (!in_list(filter_flags, json_object_get_string(flag)))
            return fail(p->err, "", "unknown flag \"%s\"", json_object_get_string(flag));
    }
    if (flags)
        json_object_object_add(out, "flags", json_object_get(flags));
    if (listener)
        json_object_object_add(out, "listenerPath", json_object_new_string(listener));
    if (metadata)
        json_object_object_add(out, "listenerMetadata", json_object_new_string(metadata));
    p->has_listener = listener != NULL;
    return 0;
}

static bool name_known(const struct parse *p, const char *name)
{
    for (size_t i = 0; i < p->n_tokens; i++)
        if (seccomp_syscall_resolve_name_arch(p->tokens[i], name) != __NR_SCMP_ERROR)
            return true;
    return false;
}

/* The rule's "names", or its single "name", as a new array. */
static int parse_names(struct parse *p, struct json_object *rule, const char *where,
                       struct json_object **ret)
{
    _cleanup_(json_putp) struct json_object *names = json_object_new_array();
    struct json_object *list, *one = NULL;

    if (get_array(rule, "names", PROFILE_MAX_NAMES, where, &list, p->err) < 0 ||
        get_typed(rule, "name", json_type_string, where, &one, p->err) < 0)
        return -EINVAL;
    if (list && one)
        return fail(p->err, where, "both name and names; use one");
    if (!list && !one)
        return fail(p->err, where, "names is missing");
    if (list && json_object_array_length(list) == 0)
        return fail(p->err, where, "names is empty");
    for (size_t i = 0; i < (list ? json_object_array_length(list) : 1); i++) {
        struct json_object *value = list ? json_object_array_get_idx(list, i) : one;
        const char *name;

        if (check_string(value, list ? "names[]" : "name", where, p->err) < 0)
            return -EINVAL;
        name = json_object_get_string(value);
        if (!name_known(p, name))
            return fail(p->err, where, "unknown syscall \"%s\"", name);
        json_object_array_add(names, json_object_get(value));
    }
    *ret = TAKE_PTR(names);
    return 0;
}

static int parse_arg(struct parse *p, struct json_object *arg, const char *where,
                     struct json_object **ret)
{
    static const char *const fields[] = {"index", "value", "valueTwo", "op", NULL};
    uint64_t index, value, value_two;
    bool has_index, has_value;
    const char *op;

    if (!json_object_is_type(arg, json_type_object))
        return fail(p->err, where, "not an object");
    if (check_fields(arg, fields, where, p->err) < 0 ||
        get_uint(arg, "index", SYSCALL_MAX_ARGS - 1, where, &has_index, &index, p->err) < 0 ||
        get_uint(arg, "value", UINT64_MAX, where, &has_value, &value, p->err) < 0 ||
        get_uint(arg, "valueTwo", UINT64_MAX, where, &has_value, &value_two, p->err) < 0 ||
        get_string(arg, "op", where, &op, p->err) < 0)
        return -EINVAL;
    if (!has_index)
        return fail(p->err, where, "index is missing");
    if (!op)
        return fail(p->err, where, "op is missing");
    if (!in_list(ops, op))
        return fail(p->err, where, "unknown operator \"%s\"", op);
    *ret = seccomp_json_arg_new(index, value, value_two, op);
    return 0;
}

static int parse_args(struct parse *p, struct json_object *rule, const char *where,
                      struct json_object **ret)
{
    _cleanup_(json_putp) struct json_object *out = NULL;
    struct json_object *list, *arg = NULL;
    char item[2 * WHERE_MAX];

    *ret = NULL;
    if (get_array(rule, "args", PROFILE_MAX_ARGS, where, &list, p->err) < 0)
        return -EINVAL;
    if (!list || json_object_array_length(list) == 0)
        return 0;
    out = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        snprintf(item, sizeof(item), "%s.args[%zu]", where, i);
        if (parse_arg(p, json_object_array_get_idx(list, i), item, &arg) < 0)
            return -EINVAL;
        json_object_array_add(out, arg);
    }
    *ret = TAKE_PTR(out);
    return 0;
}

/* "4.8" or "4.8.0" into major and minor; moby reads no more of it. */
static bool parse_kernel_version(const char *s, unsigned *major, unsigned *minor)
{
    unsigned *parts[] = {major, minor, &(unsigned){0}};

    for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
        const char *start = s;

        *parts[i] = 0;
        while (*s >= '0' && *s <= '9' && s - start < 5)
            *parts[i] = *parts[i] * 10 + (unsigned)(*s++ - '0');
        if (s == start)
            return false;
        if (*s == '\0')
            return i > 0;
        if (*s++ != '.')
            return false;
    }
    return false;
}

static int check_string_list(struct json_object *list, const char *what, bool is_cap,
                             const char *where, struct crib_err *err)
{
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
        struct json_object *value = json_object_array_get_idx(list, i);
        const char *s;

        if (check_string(value, what, where, err) < 0)
            return -EINVAL;
        s = json_object_get_string(value);
        if (is_cap && (strncmp(s, "CAP_", 4) != 0 ||
                       strspn(s + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789") != strlen(s + 4)))
            return fail(err, where, "%s: \"%s\" is not a capability name", what, s);
    }
    return 0;
}

static int parse_condition(struct parse *p, struct json_object *rule, const char *key,
                           const char *where, struct condition *ret)
{
    static const char *const fields[] = {"caps", "arches", "minKernel", NULL};
    struct json_object *cond;
    const char *kernel;
    char item[2 * WHERE_MAX];

    memset(ret, 0, sizeof(*ret));
    if (get_typed(rule, key, json_type_object, where, &cond, p->err) < 0)
        return -EINVAL;
    if (!cond)
        return 0;
    snprintf(item, sizeof(item), "%s.%s", where, key);
    if (check_fields(cond, fields, item, p->err) < 0 ||
        get_array(cond, "caps", 64, item, &ret->caps, p->err) < 0 ||
        get_array(cond, "arches", 64, item, &ret->arches, p->err) < 0 ||
        get_string(cond, "minKernel", item, &kernel, p->err) < 0 ||
        check_string_list(ret->caps, "caps[]", true, item, p->err) < 0 ||
        check_string_list(ret->arches, "arches[]", false, item, p->err) < 0)
        return -EINVAL;
    ret->has_kernel = kernel != NULL;
    if (kernel && !parse_kernel_version(kernel, &ret->kernel_major, &ret->kernel_minor))
        return fail(p->err, item, "minKernel \"%s\" is not a kernel version", kernel);
    return 0;
}

static bool native_in(const struct parse *p, struct json_object *arches_list)
{
    for (size_t i = 0; p->native && i < json_object_array_length(arches_list); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(arches_list, i)),
                   p->native->docker) == 0)
            return true;
    return false;
}

/* Docker's rule: every includes condition holds, and no excludes one. */
static bool rule_applies(const struct parse *p, const struct condition *inc,
                         const struct condition *exc)
{
    for (size_t i = 0; exc->caps && i < json_object_array_length(exc->caps); i++)
        if (seccomp_caps_have(p->caps, p->n_caps,
                              json_object_get_string(json_object_array_get_idx(exc->caps, i))))
            return false;
    if ((exc->arches && native_in(p, exc->arches)) ||
        (exc->has_kernel && seccomp_kernel_at_least(exc->kernel_major, exc->kernel_minor)))
        return false;
    for (size_t i = 0; inc->caps && i < json_object_array_length(inc->caps); i++)
        if (!seccomp_caps_have(p->caps, p->n_caps,
                               json_object_get_string(json_object_array_get_idx(inc->caps, i))))
            return false;
    if (inc->arches && json_object_array_length(inc->arches) > 0 && !native_in(p, inc->arches))
        return false;
    return !inc->has_kernel || seccomp_kernel_at_least(inc->kernel_major, inc->kernel_minor);
}

static int parse_rule(struct parse *p, struct json_object *rule, const char *where,
                      struct json_object *out_syscalls)
{
    static const char *const fields[] = {"names",   "name",     "action",   "errnoRet", "args",
                                         "comment", "includes", "excludes", NULL};
    _cleanup_(json_putp) struct json_object *names = NULL, *args = NULL;
    struct condition inc, exc;
    const char *action, *comment;
    uint64_t errno_ret;
    bool has_errno;

    if (!json_object_is_type(rule, json_type_object))
        return fail(p->err, where, "not an object");
    if (check_fields(rule, fields, where, p->err) < 0 || parse_names(p, rule, where, &names) < 0 ||
        get_action(rule, "action", where, &action, p->err) < 0 ||
        get_uint(rule, "errnoRet", PROFILE_MAX_ERRNO, where, &has_errno, &errno_ret, p->err) < 0 ||
        parse_args(p, rule, where, &args) < 0 ||
        get_string(rule, "comment", where, &comment, p->err) < 0 ||
        parse_condition(p, rule, "includes", where, &inc) < 0 ||
        parse_condition(p, rule, "excludes", where, &exc) < 0)
        return -EINVAL;
    if (strcmp(action, "SCMP_ACT_NOTIFY") == 0 && !p->has_listener)
        return fail(p->err, where, "SCMP_ACT_NOTIFY needs the profile's listenerPath");
    /* runc refuses it: the runtime writes to the listener itself. */
    if (strcmp(action, "SCMP_ACT_NOTIFY") == 0 && seccomp_json_names_have(names, "write"))
        return fail(p->err, where, "SCMP_ACT_NOTIFY cannot be used for write");
    if (!rule_applies(p, &inc, &exc))
        return 0;
    seccomp_json_rule_add(out_syscalls, TAKE_PTR(names), action,
                          has_errno ? (long long)errno_ret : -1, TAKE_PTR(args));
    return 0;
}

static int parse_syscalls(struct parse *p, struct json_object *root, struct json_object *out)
{
    _cleanup_(json_putp) struct json_object *out_syscalls = json_object_new_array();
    struct json_object *list;
    char where[WHERE_MAX];

    if (get_array(root, "syscalls", PROFILE_MAX_RULES, "", &list, p->err) < 0)
        return -EINVAL;
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
        snprintf(where, sizeof(where), "syscalls[%zu]", i);
        if (parse_rule(p, json_object_array_get_idx(list, i), where, out_syscalls) < 0)
            return -EINVAL;
    }
    json_object_object_add(out, "syscalls", TAKE_PTR(out_syscalls));
    return 0;
}

static bool only_space(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!strchr(" \t\r\n", s[i]) || !s[i])
            return false;
    return true;
}

static int json_error(const char *data, size_t len, const char *why, size_t offset,
                      struct crib_err *err)
{
    size_t line = 1;

    for (size_t i = 0; i < offset && i < len; i++)
        line += data[i] == '\n';
    return crib_fail(err, CRIB_INVALID, 0, "not JSON: %s at line %zu, offset %zu", why, line,
                     offset);
}

/* The offset of the first integer in data past UINT64_MAX, or len: json-c
 * clamps those to UINT64_MAX, while Go's decoder rejects them. */
static size_t find_huge_integer(const char *data, size_t len)
{
    static const char max[] = "18446744073709551615";
    bool in_string = false;

    for (size_t i = 0; i < len; i++) {
        size_t start = i;

        if (in_string) {
            if (data[i] == '\\' && i + 1 < len)
                i++;
            else
                in_string = data[i] != '"';
            continue;
        }
        in_string = data[i] == '"';
        if (data[i] < '0' || data[i] > '9')
            continue;
        while (i + 1 < len && data[i + 1] >= '0' && data[i + 1] <= '9')
            i++;
        if (i + 1 < len && strchr(".eE", data[i + 1]))
            continue; /* a double, refused later as not an integer */
        if (i + 1 - start > sizeof(max) - 1 ||
            (i + 1 - start == sizeof(max) - 1 && memcmp(data + start, max, sizeof(max) - 1) > 0))
            return start;
    }
    return len;
}

/* Parses data as one JSON value, nested at most PROFILE_MAX_DEPTH deep. */
static int parse_json(const char *data, size_t len, struct json_object **ret, struct crib_err *err)
{
    struct json_tokener *tok = json_tokener_new_ex(PROFILE_MAX_DEPTH);
    enum json_tokener_error jerr;
    const char *why;
    size_t end;

    /* Strict: standard JSON as Go reads it, and numbers past 64 bits are
     * errors instead of clamped. */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    *ret = json_tokener_parse_ex(tok, data, (int)len);
    jerr = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    /* A bare number or literal needs a terminator to be complete. */
    if (jerr == json_tokener_continue && end == len) {
        *ret = json_tokener_parse_ex(tok, "", 1);
        if (json_tokener_get_error(tok) == json_tokener_success)
            jerr = json_tokener_success;
    }
    json_tokener_free(tok);
    if (jerr == json_tokener_success && only_space(data + end, len - end)) {
        end = find_huge_integer(data, len);
        if (end == len)
            return 0;
        json_object_put(*ret);
        *ret = NULL;
        return json_error(data, len, "integer over 64 bits", end, err);
    }
    json_object_put(*ret);
    *ret = NULL;
    if (jerr == json_tokener_success)
        why = "data after the JSON value";
    else if (jerr == json_tokener_continue)
        why = "unexpected end of data";
    else
        why = json_tokener_error_desc(jerr);
    return json_error(data, len, why, end, err);
}

int seccomp_parse_profile(const char *name, const char *data, size_t len, const char *const *caps,
                          size_t n_caps, struct json_object **ret_seccomp, struct crib_err *err)
{
    _cleanup_(json_putp) struct json_object *root = NULL, *out = NULL;
    static const char *const fields[] = {"defaultAction", "defaultErrnoRet",  "architectures",
                                         "archMap",       "syscalls",         "flags",
                                         "listenerPath",  "listenerMetadata", NULL};
    struct parse p = {
        .caps = caps,
        .n_caps = n_caps,
        .native = arch_by_token(seccomp_arch_native()),
        .err = err,
    };
    int r;

    if (len > SECCOMP_PROFILE_MAX_BYTES)
        return crib_fail(err, CRIB_LIMIT, 0, "seccomp profile %s: over %u bytes", name,
                         SECCOMP_PROFILE_MAX_BYTES);
    r = parse_json(data, len, &root, err);
    if (r == 0 && !json_object_is_type(root, json_type_object))
        r = fail(err, "", "not a JSON object");
    if (r == 0) {
        out = json_object_new_object();
        if (check_fields(root, fields, "", err) < 0 || parse_top(&p, root, out) < 0 ||
            parse_arches(&p, root, out) < 0 || parse_syscalls(&p, root, out) < 0)
            r = -EINVAL;
    }
    if (r < 0)
        return crib_wrap(err, "seccomp profile %s", name);
    *ret_seccomp = TAKE_PTR(out);
    return 0;
}

int seccomp_load_profile(const char *path, const char *const *caps, size_t n_caps,
                         struct json_object **ret_seccomp, struct crib_err *err)
{
    _cleanup_free_ char *data = NULL;
    size_t len;

    /* fs_read_file's messages name the path already. */
    if (fs_read_file(path, SECCOMP_PROFILE_MAX_BYTES, &data, &len, err) < 0)
        return crib_wrap(err, "seccomp profile");
    return seccomp_parse_profile(path, data, len, caps, n_caps, ret_seccomp, err);
}
