#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "netcni/cni.h"

#define BRIDGE_BIN "/usr/lib/cni/bridge"

/* Checks that call succeeds, printing err's message when not. */
#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        if ((call) < 0) {                                                                          \
            fprintf(stderr, "  %s:%d: %s: %s\n", __FILE__, __LINE__, #call, err.msg);              \
            test_case_failures++;                                                                  \
        }                                                                                          \
    } while (0)

/* A temp dir with a bin dir for fake plugins; with is_net, also a netns and a
 * free 10.203.<n>.0/24 and bridge cribtest<n> that the test alone uses. */
struct fixture {
    char tmp[64];
    char bin[96];
    char ns[64];
    char nspath[96];
    char bridge[32];
    int n;
    int has_ns;
};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    _cleanup_free_ char *cmd = NULL;
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vasprintf(&cmd, fmt, ap);
    va_end(ap);
    if (r < 0)
        return -1;
    r = system(cmd);
    return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static int fixture_init(struct fixture *f)
{
    struct crib_err err;

    memset(f, 0, sizeof(*f));
    snprintf(f->tmp, sizeof(f->tmp), "/tmp/crib-cnitest-XXXXXX");
    if (!mkdtemp(f->tmp))
        return -1;
    snprintf(f->bin, sizeof(f->bin), "%s/bin", f->tmp);
    return fs_mkdir_p(f->bin, 0755, &err);
}

/* Picks a subnet whose bridge does not exist yet, so we never touch another's. */
static int fixture_net(struct fixture *f)
{
    for (int i = 0; i < 250; i++) {
        f->n = (int)((getpid() + i) % 250) + 1;
        snprintf(f->bridge, sizeof(f->bridge), "cribtest%d", f->n);
        if (sh("ip link show %s >/dev/null 2>&1", f->bridge) != 0)
            break;
    }
    snprintf(f->ns, sizeof(f->ns), "crib-cnitest-%d", (int)getpid());
    snprintf(f->nspath, sizeof(f->nspath), "/run/netns/%s", f->ns);
    if (sh("ip netns add %s", f->ns) != 0)
        return -1;
    f->has_ns = 1;
    return 0;
}

static void fixture_done(struct fixture *f)
{
    if (f->has_ns)
        (void)sh("ip netns del %s", f->ns);
    if (f->bridge[0])
        (void)sh("ip link show %s >/dev/null 2>&1 && ip link del %s", f->bridge, f->bridge);
    if (f->tmp[0])
        (void)sh("rm -rf '%s'", f->tmp);
}

static int net_skip(void)
{
    if (geteuid() != 0) {
        printf("  needs root (network namespaces, bridges)\n");
        return 1;
    }
    if (access(BRIDGE_BIN, X_OK) != 0) {
        printf("  needs %s (containernetworking-plugins)\n", BRIDGE_BIN);
        return 1;
    }
    return 0;
}

static int load_conf(const char *text, struct cniconf *conf)
{
    struct crib_err err;
    int r = cniconf_parse(text, strlen(text), 1, conf, &err);

    if (r < 0)
        fprintf(stderr, "  conf: %s\n", err.msg);
    return r;
}

static char *bridge_conf(const struct fixture *f, const char *subnet)
{
    return xasprintf("{\"cniVersion\":\"1.0.0\",\"name\":\"crib-cnitest\",\"plugins\":[{\"type\":"
                     "\"bridge\",\"bridge\":\"%s\",\"isGateway\":true,\"ipMasq\":false,\"ipam\":{"
                     "\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"%s\"}]],\"dataDir\":\"%s/"
                     "ipam\"}}]}",
                     f->bridge, subnet, f->tmp);
}

static struct cni_runtime pod_runtime(const struct fixture *f)
{
    return (struct cni_runtime){.container_id = "crib-cnitest-0123456789",
                                .netns = f->nspath[0] ? f->nspath : "/nonexistent",
                                .ifname = "eth0",
                                .pod_namespace = "default",
                                .pod_name = "web",
                                .pod_uid = "uid-1"};
}

/* host-local keeps one file per allocated address, named by the address. */
static int count_allocations(const struct fixture *f)
{
    _cleanup_free_ char *path = xasprintf("%s/ipam/crib-cnitest", f->tmp);
    _cleanup_closedir_ DIR *d = opendir(path);
    struct dirent *de;
    unsigned char buf[16];
    int n = 0;

    while (d && (de = readdir(d)))
        n += inet_pton(AF_INET, de->d_name, buf) == 1;
    return n;
}

static const char *const bin_dirs[] = {"/usr/lib/cni", NULL};

static void check_add(const struct fixture *f, const struct cni_result *res)
{
    _cleanup_free_ char *prefix = xasprintf("10.203.%d.", f->n);
    _cleanup_free_ char *gw = xasprintf("10.203.%d.1", f->n);

    CHECK_INT(res->n_ips, 1);
    CHECK_INT(res->ips[0].family, AF_INET);
    CHECK(strncmp(res->ips[0].address, prefix, strlen(prefix)) == 0);
    CHECK(strstr(res->ips[0].address, "/24") != NULL);
    CHECK_STR(res->ips[0].gateway, gw);
    CHECK_INT(sh("ip -n %s -4 addr show dev eth0 | grep -q 'inet %s'", f->ns, res->ips[0].address),
              0);
    CHECK_INT(count_allocations(f), 1);
}

static int test_bridge_add_check_del(void)
{
    struct fixture f;
    struct cniconf conf = {0};
    struct cni_result *res = NULL;
    struct crib_err err;
    struct cni_runtime rt;
    _cleanup_free_ char *text = NULL, *subnet = NULL;

    if (net_skip())
        return TEST_SKIP;
    CHECK_INT(fixture_init(&f), 0);
    CHECK_INT(fixture_net(&f), 0);
    rt = pod_runtime(&f);
    subnet = xasprintf("10.203.%d.0/24", f.n);
    text = bridge_conf(&f, subnet);
    CHECK_INT(load_conf(text, &conf), 0);
    const struct cniconf_dirs dirs = {.conf_dir = f.tmp, .bin_dirs = bin_dirs};
    CHECK_OK(cni_add(&conf, &dirs, &rt, 20000, &res, &err));
    if (res) {
        check_add(&f, res);
        CHECK_OK(cni_check(&conf, &dirs, &rt, res, 20000, &err));
    }
    CHECK_OK(cni_del(&conf, &dirs, &rt, res, 20000, &err));
    CHECK_OK(cni_del(&conf, &dirs, &rt, res, 20000, &err)); /* already gone: still fine */
    CHECK_INT(count_allocations(&f), 0);
    cni_result_free(res);
    cniconf_done(&conf);
    fixture_done(&f);
    return 0;
}

static int test_bad_subnet_reports_plugin_error(void)
{
    struct fixture f;
    struct cniconf conf = {0};
    struct cni_result *res = NULL;
    struct crib_err err = {0};
    struct cni_runtime rt;
    _cleanup_free_ char *text = NULL;

    if (net_skip())
        return TEST_SKIP;
    CHECK_INT(fixture_init(&f), 0);
    CHECK_INT(fixture_net(&f), 0);
    rt = pod_runtime(&f);
    text = bridge_conf(&f, "10.203.999.0/24");
    CHECK_INT(load_conf(text, &conf), 0);
    const struct cniconf_dirs dirs = {.conf_dir = f.tmp, .bin_dirs = bin_dirs};
    CHECK(cni_add(&conf, &dirs, &rt, 20000, &res, &err) < 0);
    CHECK(res == NULL);
    CHECK_INT(err.code, CRIB_INTERNAL);
    CHECK_CONTAINS(err.msg, "CNI plugin 'bridge' ADD failed: code ");
    CHECK_CONTAINS(err.msg, "invalid CIDR address: 10.203.999.0/24");
    (void)cni_del(&conf, &dirs, &rt, NULL, 20000, &err);
    cni_result_free(res);
    cniconf_done(&conf);
    fixture_done(&f);
    return 0;
}

static int test_missing_plugin_is_not_found(void)
{
    static const char text[] = "{\"cniVersion\":\"1.0.0\",\"name\":\"crib-cnitest\",\"plugins\":[{"
                               "\"type\":\"crib-no-such-plugin\"}]}";
    struct fixture f;
    struct cniconf conf = {0};
    struct cni_result *res = NULL;
    struct crib_err err = {0};
    struct cni_runtime rt;
    const char *dirs_list[] = {NULL, NULL};

    CHECK_INT(fixture_init(&f), 0);
    dirs_list[0] = f.bin;
    rt = pod_runtime(&f);
    CHECK_INT(load_conf(text, &conf), 0);
    const struct cniconf_dirs dirs = {.conf_dir = f.tmp, .bin_dirs = dirs_list};
    CHECK(cni_add(&conf, &dirs, &rt, 5000, &res, &err) < 0);
    CHECK_INT(err.code, CRIB_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "'crib-no-such-plugin'");
    CHECK(cni_del(&conf, &dirs, &rt, NULL, 5000, &err) < 0);
    CHECK_INT(err.code, CRIB_NOT_FOUND);
    cniconf_done(&conf);
    fixture_done(&f);
    return 0;
}

static int write_script(const struct fixture *f, const char *name, const char *body)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", f->bin, name);
    _cleanup_free_ char *text = xasprintf("#!/bin/sh\n%s\n", body);
    struct crib_err err;

    return fs_write_atomic(path, text, strlen(text), 0755, &err);
}

/* Runs ADD on a one-plugin list of fake plugin TYPE (a script in f's bin dir). */
static int add_fake(const struct fixture *f, const char *type, int timeout_ms, struct crib_err *err)
{
    _cleanup_free_ char *text = xasprintf(
        "{\"cniVersion\":\"1.0.0\",\"name\":\"crib-cnitest\",\"plugins\":[{\"type\":\"%s\"}]}",
        type);
    const char *dirs_list[] = {f->bin, NULL};
    const struct cniconf_dirs dirs = {.conf_dir = f->tmp, .bin_dirs = dirs_list};
    struct cni_runtime rt = pod_runtime(f);
    struct cniconf conf = {0};
    struct cni_result *res = NULL;
    int r;

    if (load_conf(text, &conf) < 0)
        return 0;
    r = cni_add(&conf, &dirs, &rt, timeout_ms, &res, err);
    cni_result_free(res);
    cniconf_done(&conf);
    return r;
}

static int test_slow_plugin_times_out(void)
{
    struct fixture f;
    struct crib_err err = {0};

    CHECK_INT(fixture_init(&f), 0);
    CHECK_INT(write_script(&f, "crib-slow", "exec sleep 10"), 0);
    CHECK(add_fake(&f, "crib-slow", 500, &err) < 0);
    CHECK_INT(err.code, CRIB_TIMEOUT);
    CHECK_CONTAINS(err.msg, "CNI plugin 'crib-slow' ADD");
    fixture_done(&f);
    return 0;
}

static int test_try_again_later_is_unavailable(void)
{
    struct fixture f;
    struct crib_err err = {0};

    CHECK_INT(fixture_init(&f), 0);
    CHECK_INT(write_script(&f, "crib-busy",
                           "cat >/dev/null\necho oops-on-stderr >&2\n"
                           "echo '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"busy\","
                           "\"details\":\"lock held\"}'\nexit 1"),
              0);
    CHECK(add_fake(&f, "crib-busy", 5000, &err) < 0);
    CHECK_INT(err.code, CRIB_UNAVAILABLE);
    CHECK_CONTAINS(err.msg, "CNI plugin 'crib-busy' ADD failed: code 11: busy: lock held");
    CHECK_CONTAINS(err.msg, "oops-on-stderr");
    fixture_done(&f);
    return 0;
}

/* Two fake plugins record their stdin and environment: the second gets the
 * first's result as prevResult and only the capability args it declares. */
static int test_stdin_env_prev_result_and_capabilities(void)
{
    static const char record[] = "cat > \"$0.$CNI_COMMAND.in\"\nenv > \"$0.$CNI_COMMAND.env\"\n"
                                 "echo '{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":"
                                 "\"10.203.0.9/24\"}]}'";
    static const char text[] =
        "{\"cniVersion\":\"1.0.0\",\"name\":\"crib-cnitest\",\"plugins\":[{\"type\":\"rec1\"},"
        "{\"type\":\"rec2\",\"capabilities\":{\"portMappings\":true,\"dns\":false}}]}";
    struct fixture f;
    struct cniconf conf = {0};
    struct cni_result *res = NULL;
    struct crib_err err = {0};
    struct cni_runtime rt;
    _cleanup_free_ char *in1 = NULL, *in2 = NULL, *env = NULL, *p = NULL;
    size_t len;

    CHECK_INT(fixture_init(&f), 0);
    CHECK_INT(write_script(&f, "rec1", record), 0);
    CHECK_INT(write_script(&f, "rec2", record), 0);
    const char *dirs_list[] = {"/nonexistent", f.bin, NULL};
    const struct cniconf_dirs dirs = {.conf_dir = f.tmp, .bin_dirs = dirs_list};
    rt = pod_runtime(&f);
    rt.capability_args = "{\"portMappings\":[{\"hostPort\":8080}],\"dns\":{\"x\":1}}";
    CHECK_INT(load_conf(text, &conf), 0);
    CHECK_OK(cni_add(&conf, &dirs, &rt, 5000, &res, &err));
    CHECK(res && strcmp(res->ips[0].address, "10.203.0.9/24") == 0);
    p = xasprintf("%s/rec1.ADD.in", f.bin);
    CHECK_INT(fs_read_file(p, 65536, &in1, &len, &err), 0);
    free(p);
    p = xasprintf("%s/rec2.ADD.in", f.bin);
    CHECK_INT(fs_read_file(p, 65536, &in2, &len, &err), 0);
    free(p);
    p = xasprintf("%s/rec2.ADD.env", f.bin);
    CHECK_INT(fs_read_file(p, 65536, &env, &len, &err), 0);
    CHECK_CONTAINS(in1, "\"name\":\"crib-cnitest\"");
    CHECK(in1 && !strstr(in1, "prevResult") && !strstr(in1, "runtimeConfig"));
    CHECK_CONTAINS(in2, "\"prevResult\":{\"cniVersion\":\"1.0.0\"");
    CHECK_CONTAINS(in2, "\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":8080}]}");
    CHECK_CONTAINS(env, "CNI_COMMAND=ADD\n");
    CHECK_CONTAINS(env, "CNI_CONTAINERID=crib-cnitest-0123456789\n");
    CHECK_CONTAINS(env, "CNI_IFNAME=eth0\n");
    CHECK_CONTAINS(env, "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;"
                        "K8S_POD_INFRA_CONTAINER_ID=crib-cnitest-0123456789;K8S_POD_UID=uid-1\n");
    CHECK_CONTAINS(env, "CNI_PATH=/nonexistent:");
    cni_result_free(res);
    cniconf_done(&conf);
    fixture_done(&f);
    return 0;
}

struct result_case {
    const char *text;
    enum crib_code code; /* CRIB_INTERNAL here means: accepted */
    const char *msg;
};

static const struct result_case result_cases[] = {
    {"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/run/netns/x\"}],"
     "\"ips\":[{\"address\":\"10.203.1.2/24\",\"gateway\":\"10.203.1.1\",\"interface\":0}],"
     "\"routes\":[{\"dst\":\"0.0.0.0/0\"}],\"dns\":{\"nameservers\":[\"10.96.0.10\"]}}",
     CRIB_INTERNAL, NULL},
    {"{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"6\",\"address\":\"fd00::5/64\"}]}",
     CRIB_INTERNAL, NULL},
    {"", CRIB_INVALID, "not valid JSON"},
    {"not json", CRIB_INVALID, "not valid JSON"},
    {"{\"ips\":[]} trailing", CRIB_INVALID, "not valid JSON"},
    {"[1]", CRIB_INVALID, "not a JSON object"},
    {"{\"cniVersion\":\"1.0.0\"}", CRIB_INVALID, "no \"ips\""},
    {"{\"ips\":[]}", CRIB_INVALID, "no \"ips\""},
    {"{\"ips\":\"10.0.0.1/24\"}", CRIB_INVALID, "\"ips\" is not an array"},
    {"{\"ips\":[5]}", CRIB_INVALID, "ips[0] is not an object"},
    {"{\"ips\":[{\"address\":7}]}", CRIB_INVALID, "ips[0]: \"address\" is not a string"},
    {"{\"ips\":[{\"address\":\"10.0.0.1\"}]}", CRIB_INVALID, "ips[0].address is not a CIDR"},
    {"{\"ips\":[{\"address\":\"10.0.0.1/33\"}]}", CRIB_INVALID, "ips[0].address is not a CIDR"},
    {"{\"ips\":[{\"address\":\"10.0.0.300/24\"}]}", CRIB_INVALID, "ips[0].address is not a CIDR"},
    {"{\"ips\":[{\"address\":\"10.0.0.1/2x\"}]}", CRIB_INVALID, "ips[0].address is not a CIDR"},
    {"{\"ips\":[{\"address\":\"10.0.0.1/24\",\"gateway\":\"fd00::1\"}]}", CRIB_INVALID,
     "ips[0].gateway is not an address"},
    {"{\"ips\":[{\"address\":\"10.0.0.1/24\",\"interface\":3}]}", CRIB_INVALID,
     "ips[0].interface is out of range"},
    {"{\"ips\":[{\"address\":\"10.0.0.1/24\",\"interface\":\"0\"}]}", CRIB_INVALID,
     "ips[0].interface is not an index"},
    {"{\"interfaces\":[{}],\"ips\":[{\"address\":\"10.0.0.1/24\"}]}", CRIB_INVALID,
     "interfaces[0].name is missing"},
    {"{\"interfaces\":{},\"ips\":[{\"address\":\"10.0.0.1/24\"}]}", CRIB_INVALID,
     "\"interfaces\" is not an array"},
    {"{\"ips\":[{\"address\":\"10.0.0.1/24\"}],\"routes\":[{\"dst\":\"x\"}]}", CRIB_INVALID,
     "routes[0].dst is not a CIDR"},
    {"{\"ips\":[{\"address\":\"10.0.0.1/24\"}],\"dns\":[]}", CRIB_INVALID,
     "\"dns\" is not an object"},
    {"{\"ips\":[{\"address\":\"10.0.0.1/24\"}],\"dns\":{\"nameservers\":[\"x\"]}}", CRIB_INVALID,
     "dns.nameservers[0] is not an address"},
};

static int test_result_parse_table(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(result_cases); i++) {
        const struct result_case *c = &result_cases[i];
        struct cni_result *res = NULL;
        struct crib_err err = {0};
        int r = cni_result_parse(c->text, strlen(c->text), &res, &err);

        if (c->code == CRIB_INTERNAL) {
            CHECK_INT(r, 0);
            CHECK(res && strcmp(res->json, c->text) == 0);
        } else {
            CHECK(r < 0);
            CHECK_INT(err.code, c->code);
            CHECK_CONTAINS(err.msg, c->msg);
        }
        cni_result_free(res);
    }
    return 0;
}

/* Hostile sizes: too many entries and too many bytes stop before any work. */
static int test_result_parse_limits(void)
{
    struct cni_result *res = NULL;
    struct crib_err err = {0};
    _cleanup_free_ char *big = xmalloc(CNI_RESULT_MAX_BYTES + 2);
    char many[2048] = "{\"ips\":[";

    for (int i = 0; i <= CNI_RESULT_MAX_IPS; i++)
        strcat(many, i ? ",{}" : "{}");
    strcat(many, "]}");
    CHECK(cni_result_parse(many, strlen(many), &res, &err) < 0);
    CHECK_INT(err.code, CRIB_LIMIT);
    CHECK_CONTAINS(err.msg, "\"ips\" has more than 16 entries");
    memset(big, ' ', CNI_RESULT_MAX_BYTES + 1);
    big[CNI_RESULT_MAX_BYTES + 1] = '\0';
    CHECK(cni_result_parse(big, strlen(big), &res, &err) < 0);
    CHECK_INT(err.code, CRIB_LIMIT);
    CHECK_CONTAINS(err.msg, "over 65536 bytes");
    return 0;
}

TEST_MAIN(TEST(test_result_parse_table), TEST(test_result_parse_limits),
          TEST(test_missing_plugin_is_not_found), TEST(test_slow_plugin_times_out),
          TEST(test_try_again_later_is_unavailable),
          TEST(test_stdin_env_prev_result_and_capabilities), TEST(test_bridge_add_check_del),
          TEST(test_bad_subnet_reports_plugin_error))
