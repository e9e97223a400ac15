#include <stdlib.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "sandbox/podfiles.h"

#define TMPFS_MAGIC_NUMBER 0x01021994

static char dir[] = "/tmp/crib-podfiles-test-XXXXXX";

static char *read_back(const char *name)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
    char *text = NULL;
    struct crib_err err;

    if (fs_read_file(path, 1 << 20, &text, NULL, &err) < 0)
        return NULL;
    return text;
}

static int test_pod_network_files_and_shm(void)
{
    const char *servers[] = {"10.96.0.10", "fd00::10"};
    const char *searches[] = {"default.svc.cluster.local", "svc.cluster.local"};
    const char *options[] = {"ndots:5", "edns0"};
    struct pod_dns dns = {servers, 2, searches, 2, options, 2};
    struct pod_files_spec spec = {.hostname = "web-0", .dns = &dns, .shm_bytes = 8 << 20};
    _cleanup_free_ char *hostname = NULL, *resolv = NULL, *hosts = NULL;
    _cleanup_free_ char *shm = xasprintf("%s/shm", dir);
    struct crib_err err;
    struct statfs sf;

    CHECK_INT(podfiles_write(dir, &spec, &err), 0);
    CHECK_STR(hostname = read_back("hostname"), "web-0\n");
    CHECK_STR(resolv = read_back("resolv.conf"),
              "nameserver 10.96.0.10\nnameserver fd00::10\n"
              "search default.svc.cluster.local svc.cluster.local\noptions ndots:5 edns0\n");
    CHECK(statfs(shm, &sf) == 0 && sf.f_type == TMPFS_MAGIC_NUMBER);
    CHECK_INT(sf.f_blocks * sf.f_bsize, 8 << 20);
    CHECK_INT(podfiles_set_ip(dir, "web-0", "10.88.0.7", &err), 0);
    hosts = read_back("hosts");
    CHECK_CONTAINS(hosts, "127.0.0.1\tlocalhost\n");
    CHECK_CONTAINS(hosts, "10.88.0.7\tweb-0\n");
    CHECK(podfiles_set_ip(dir, "web-0", "10.88.0.7\n1.2.3.4 evil", &err) < 0);
    CHECK_INT(podfiles_remove(dir, &err), 0);
    CHECK(access(shm, F_OK) < 0);
    CHECK_INT(podfiles_remove(dir, &err), 0);
    return 0;
}

static int test_host_network_copies_node_files(void)
{
    _cleanup_free_ char *node_hosts = xasprintf("%s/node-hosts", dir);
    _cleanup_free_ char *node_resolv = xasprintf("%s/node-resolv", dir);
    _cleanup_free_ char *hosts = NULL, *resolv = NULL;
    struct pod_files_spec spec = {.hostname = "node1",
                                  .host_network = true,
                                  .host_ipc = true,
                                  .node_hosts = node_hosts,
                                  .node_resolv = node_resolv};
    _cleanup_free_ char *shm = xasprintf("%s/shm", dir);
    struct crib_err err;

    CHECK_INT(fs_write_atomic(node_hosts, "10.0.0.1 node1\n", 15, 0644, &err), 0);
    CHECK_INT(fs_write_atomic(node_resolv, "nameserver 10.0.0.2\n", 20, 0644, &err), 0);
    CHECK_INT(podfiles_write(dir, &spec, &err), 0);
    CHECK_STR(hosts = read_back("hosts"), "10.0.0.1 node1\n");
    CHECK_STR(resolv = read_back("resolv.conf"), "nameserver 10.0.0.2\n");
    CHECK(access(shm, F_OK) < 0);
    CHECK_INT(podfiles_remove(dir, &err), 0);
    unlink(node_hosts);
    unlink(node_resolv);
    return 0;
}

static int test_hostile_dns_is_refused_and_writes_nothing(void)
{
    const char *bad_server[] = {"not-an-ip"};
    const char *four[] = {"1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4"};
    const char *injected[] = {"ok.local\nnameserver 6.6.6.6"};
    const char *spaced[] = {"ndots:5 evil"};
    const char *many[PODFILES_MAX_SEARCHES + 1];
    struct {
        struct pod_dns dns;
        const char *msg;
    } cases[] = {
        {{bad_server, 1, NULL, 0, NULL, 0}, "servers[0] 'not-an-ip'"},
        {{four, 4, NULL, 0, NULL, 0}, "more than 3"},
        {{NULL, 0, injected, 1, NULL, 0}, "searches[0]"},
        {{NULL, 0, NULL, 0, spaced, 1}, "options[0]"},
        {{NULL, 0, many, PODFILES_MAX_SEARCHES + 1, NULL, 0}, "more than 32"},
    };
    struct crib_err err;

    for (size_t i = 0; i < ARRAY_SIZE(many); i++)
        many[i] = "a.local";
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct pod_files_spec spec = {.hostname = "p", .dns = &cases[i].dns};
        _cleanup_free_ char *hostname = NULL;

        CHECK(podfiles_write(dir, &spec, &err) < 0);
        CHECK_INT(err.code, CRIB_INVALID);
        CHECK_CONTAINS(err.msg, cases[i].msg);
        CHECK((hostname = read_back("hostname")) == NULL);
    }
    return 0;
}

int main(void)
{
    static const struct test_case cases[] = {
        TEST(test_pod_network_files_and_shm),
        TEST(test_host_network_copies_node_files),
        TEST(test_hostile_dns_is_refused_and_writes_nothing),
    };
    struct crib_err err;
    int r;

    if (geteuid() != 0) {
        printf("skip: mounting the pod's /dev/shm tmpfs needs root\n");
        return TEST_SKIP;
    }
    if (!mkdtemp(dir))
        return 1;
    r = test_run(cases, ARRAY_SIZE(cases));
    (void)podfiles_remove(dir, &err);
    rmdir(dir);
    return r;
}
