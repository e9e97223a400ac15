#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "sandbox/ns.h"

#define NSFS_MAGIC_NUMBER 0x6e736673

static char dir[] = "/tmp/crib-ns-test-XXXXXX";

static bool mounted_under(const char *path)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096], mp[4096];

    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && strncmp(mp, path, strlen(path)) == 0)
            return true;
    return false;
}

static ino_t ino_of(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* Runs check() in a child that joined the pinned namespace of `kind`. */
static int in_child(const char *name, int nstype, int (*check)(void))
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
    int status;
    pid_t pid = fork();

    if (pid == 0) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        _exit(fd >= 0 && setns(fd, nstype) == 0 ? check() : 2);
    }
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}

static int hostname_is_pod(void)
{
    char name[65] = "";

    gethostname(name, sizeof(name) - 1);
    return strcmp(name, "crib-pod") == 0 ? 0 : 1;
}

/* A new network namespace has only lo. */
static int only_loopback(void)
{
    _cleanup_free_ char *text = NULL;
    struct crib_err err;

    if (fs_read_file("/proc/thread-self/net/dev", 65536, &text, NULL, &err) < 0)
        return 1;
    return strstr(text, "lo:") && !strstr(text, "eth0") &&
                   strchr(strstr(text, "lo:"), '\n')[1] == '\0'
               ? 0
               : 1;
}

static int test_pins_new_namespaces_with_hostname(void)
{
    _cleanup_free_ char *net = xasprintf("%s/net", dir);
    _cleanup_free_ char *uts = xasprintf("%s/uts", dir);
    _cleanup_free_ char *ipc = xasprintf("%s/ipc", dir);
    struct crib_err err;
    struct statfs sf;

    CHECK_INT(ns_pin_new(dir, NS_NET | NS_IPC | NS_UTS, "crib-pod", &err), 0);
    CHECK(ino_of(net) != 0 && ino_of(net) != ino_of("/proc/self/ns/net"));
    CHECK(ino_of(ipc) != 0 && ino_of(ipc) != ino_of("/proc/self/ns/ipc"));
    CHECK(ino_of(uts) != 0 && ino_of(uts) != ino_of("/proc/self/ns/uts"));
    CHECK(statfs(net, &sf) == 0 && sf.f_type == NSFS_MAGIC_NUMBER);
    CHECK_INT(in_child("uts", CLONE_NEWUTS, hostname_is_pod), 0);
    CHECK_INT(in_child("net", CLONE_NEWNET, only_loopback), 0);
    CHECK(mounted_under(dir));
    CHECK_INT(ns_unpin(dir, &err), 0);
    CHECK(!mounted_under(dir));
    CHECK(access(net, F_OK) < 0 && access(uts, F_OK) < 0 && access(ipc, F_OK) < 0);
    CHECK_INT(ns_unpin(dir, &err), 0); /* again: already gone is fine */
    return 0;
}

static int test_only_the_kinds_asked_for(void)
{
    _cleanup_free_ char *uts = xasprintf("%s/uts", dir);
    struct crib_err err;

    CHECK_INT(ns_pin_new(dir, NS_NET, NULL, &err), 0);
    CHECK(access(uts, F_OK) < 0);
    CHECK_INT(ns_unpin(dir, &err), 0);
    CHECK(!mounted_under(dir));
    return 0;
}

static int test_bad_hostname_pins_nothing(void)
{
    static const char *const bad[] = {
        "", "has space", "semi;colon",
        "a-very-long-hostname-that-goes-past-the-sixty-four-characters-limit"};
    struct crib_err err;

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        CHECK(ns_pin_new(dir, NS_UTS | NS_NET, bad[i], &err) < 0);
        CHECK_INT(err.code, CRIB_INVALID);
        CHECK(!mounted_under(dir));
    }
    return 0;
}

static int test_missing_dir_fails_and_leaves_nothing(void)
{
    _cleanup_free_ char *missing = xasprintf("%s/nope", dir);
    struct crib_err err;

    CHECK(ns_pin_new(missing, NS_NET | NS_IPC, NULL, &err) < 0);
    CHECK_CONTAINS(err.msg, missing);
    CHECK(!mounted_under(dir));
    return 0;
}

int main(void)
{
    static const struct test_case cases[] = {
        TEST(test_pins_new_namespaces_with_hostname),
        TEST(test_only_the_kinds_asked_for),
        TEST(test_bad_hostname_pins_nothing),
        TEST(test_missing_dir_fails_and_leaves_nothing),
    };
    struct crib_err err;
    int r;

    if (geteuid() != 0) {
        printf("skip: making namespaces and bind mounts needs root\n");
        return TEST_SKIP;
    }
    if (!mkdtemp(dir))
        return 1;
    r = test_run(cases, ARRAY_SIZE(cases));
    (void)ns_unpin(dir, &err);
    rmdir(dir);
    return r;
}
