#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "oci/handler.h"

static char dir[] = "/tmp/crib-handler-test-XXXXXX";

static char *script(const char *name, const char *body)
{
    char *p = xasprintf("%s/%s", dir, name);
    struct crib_err err;

    if (fs_write_atomic(p, body, strlen(body), 0755, &err) < 0)
        abort();
    return p;
}

static int test_probe_reads_version_and_caches(void)
{
    _cleanup_free_ char *count = xasprintf("%s/count", dir);
    _cleanup_free_ char *body =
        xasprintf("#!/bin/sh\necho x >> %s\necho 'fakerun version 1.2.3'\necho more\n", count);
    _cleanup_free_ char *bin = script("fakerun", body);
    _cleanup_free_ char *calls = NULL;
    struct oci_handler h;
    struct crib_err err;
    char version[64];

    handler_init(&h, "runc", bin, "/run/x", HANDLER_RUNC);
    CHECK_INT(handler_probe(&h, version, sizeof(version), &err), 0);
    CHECK_STR(version, "fakerun version 1.2.3");
    CHECK_INT(handler_probe(&h, version, sizeof(version), &err), 0);
    CHECK_INT(fs_read_file(count, 100, &calls, NULL, &err), 0);
    CHECK_STR(calls, "x\n"); /* the second probe came from the cache */
    handler_done(&h);
    unlink(count);
    unlink(bin);
    return 0;
}

static int test_probe_fails_for_missing_or_broken_binary(void)
{
    _cleanup_free_ char *bin = script("broken", "#!/bin/sh\necho 'cannot run' >&2\nexit 1\n");
    struct oci_handler h;
    struct crib_err err;

    handler_init(&h, "runc", "/nonexistent/crib-runc", "/run/x", HANDLER_RUNC);
    CHECK(handler_probe(&h, NULL, 0, &err) < 0);
    CHECK_INT(err.code, CRIB_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "/nonexistent/crib-runc");
    handler_done(&h);

    handler_init(&h, "broken", bin, "/run/x", HANDLER_RUNC);
    CHECK(handler_probe(&h, NULL, 0, &err) < 0);
    CHECK_INT(err.code, CRIB_UNAVAILABLE);
    CHECK_CONTAINS(err.msg, "cannot run");
    handler_done(&h);
    unlink(bin);
    return 0;
}

static int test_path_lookup(void)
{
    struct oci_handler h;
    struct crib_err err;

    handler_init(&h, "sh", "sh", "/run/x", HANDLER_RUNC);
    /* sh --version fails on dash, but the binary is found: not NOT_FOUND. */
    if (handler_probe(&h, NULL, 0, &err) < 0)
        CHECK(err.code != CRIB_NOT_FOUND);
    handler_done(&h);
    return 0;
}

static int test_kind_names(void)
{
    enum handler_kind k;

    CHECK_INT(handler_kind_parse("crun", &k), 0);
    CHECK_INT(k, HANDLER_RUNC);
    CHECK_INT(handler_kind_parse("runsc", &k), 0);
    CHECK_STR(handler_kind_name(k), "runsc");
    CHECK(handler_kind_parse("kata", &k) < 0);
    return 0;
}

int main(void)
{
    static const struct test_case cases[] = {
        TEST(test_probe_reads_version_and_caches),
        TEST(test_probe_fails_for_missing_or_broken_binary),
        TEST(test_path_lookup),
        TEST(test_kind_names),
    };
    int r;

    if (!mkdtemp(dir))
        return 1;
    r = test_run(cases, ARRAY_SIZE(cases));
    rmdir(dir);
    return r;
}
