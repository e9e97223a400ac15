#include <stdlib.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "daemon/config.h"

static const struct {
    const char *json;
    const char *msg; /* NULL: accepted */
} cases[] = {
    {"{}", NULL},
    {"{\"rootDir\":\"/x\",\"workers\":2,\"logLevel\":\"debug\",\"logFormat\":\"json\"}", NULL},
    {"{\"runtimes\":{\"crun\":{\"path\":\"/usr/bin/crun\"}},\"defaultRuntime\":\"crun\"}", NULL},
    {"{\"cni\":{\"confDir\":\"/c\",\"binDirs\":[\"/a\",\"/b\"]}}", NULL},
    {"", "not valid JSON"},
    {"{} trailing", "not valid JSON"},
    {"[]", "must be a JSON object"},
    {"{\"rootdir\":\"/x\"}", "unknown key \"rootdir\""},
    {"{\"rootDir\":7}", "\"rootDir\" must be a string"},
    {"{\"rootDir\":\"\"}", "must not be empty"},
    {"{\"workers\":0}", "between 1 and"},
    {"{\"workers\":99999999999}", "between 1 and"},
    {"{\"logLevel\":\"loud\"}", "unknown value 'loud'"},
    {"{\"runtimes\":{\"kata\":{}}}", "unknown type 'kata'"},
    {"{\"runtimes\":{\"r\":{\"path\":\"p\",\"extra\":1}}}", "runtimes.r: unknown key \"extra\""},
    {"{\"runtimes\":{\"\":{}}}", "must not be empty"},
    {"{\"runtimes\":{\"gv\":{\"type\":\"runsc\",\"flags\":[\"--platform=ptrace\"]}}}", NULL},
    {"{\"runtimes\":{\"gv\":{\"flags\":[\"create\"]}}}", "'create' is not a global flag"},
    {"{\"runtimes\":{\"gv\":{\"flags\":[\"--root=/x\"]}}}", "is not a global flag"},
    {"{\"runtimes\":{\"gv\":{\"flags\":[\"--a\",\"--b\",\"--c\",\"--d\",\"--e\",\"--f\",\"--g\",\"-"
     "-h\",\"--i\"]}}}",
     "at most 8 flags"},
    {"{\"runtimes\":{\"gv\":{\"flags\":\"--x\"}}}", "must be a array"},
    {"{\"defaultRuntime\":\"crun\"}", "defaultRuntime 'crun' is not in"},
    {"{\"cni\":{\"binDirs\":[]}}", "1 to 8 dirs"},
    {"{\"cni\":{\"binDirs\":\"x\"}}", "must be a array"},
    {"{\"stateDir\":\"relative\"}", "must be absolute"},
    {"{\"cgroupDriver\":\"none\"}", "cgroupDriver: unknown value"},
    {"{\"metricsAddress\":\"\"}", NULL},
    {"{\"metricsAddress\":\"127.0.0.1:9099\"}", NULL},
    {"{\"metricsAddress\":9099}", "\"metricsAddress\" must be a string"},
};

static int test_apply_table(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct crib_config cfg;
        struct crib_err err;
        int r;

        config_defaults(&cfg);
        r = config_apply_json(&cfg, cases[i].json, strlen(cases[i].json), &err);
        if (r >= 0)
            r = config_finish(&cfg, &err);
        if (!cases[i].msg) {
            CHECK_INT(r, 0);
        } else {
            CHECK(r < 0);
            CHECK_INT(err.code, r < 0 ? err.code : CRIB_INVALID);
            CHECK_CONTAINS(err.msg, cases[i].msg);
        }
        config_done(&cfg);
    }
    return 0;
}

static int test_defaults_run_runc_with_roots_under_state(void)
{
    struct crib_config cfg;
    struct crib_err err;
    _cleanup_free_ char *json = NULL;

    config_defaults(&cfg);
    CHECK_INT(config_finish(&cfg, &err), 0);
    CHECK_STR(cfg.default_runtime, "runc");
    CHECK_STR(cfg.runtimes[0].root, "/run/crib/runc");
    json = config_to_json(&cfg);
    CHECK_CONTAINS(json, "\"stateDir\":\"\\/run\\/crib\"");
    config_done(&cfg);
    return 0;
}

static int test_dropins_override_in_name_order(void)
{
    char dir[] = "/tmp/crib-config-test-XXXXXX";
    _cleanup_free_ char *main_path = NULL, *d = NULL, *a = NULL, *b = NULL;
    struct crib_config cfg;
    struct crib_err err;

    CHECK(mkdtemp(dir) != NULL);
    main_path = xasprintf("%s/crib.json", dir);
    d = xasprintf("%s.d", main_path);
    a = xasprintf("%s/10-a.json", d);
    b = xasprintf("%s/20-b.json", d);
    CHECK_INT(fs_write_atomic(main_path, "{\"workers\":2}", 13, 0644, &err), 0);
    CHECK_INT(fs_mkdir_p(d, 0755, &err), 0);
    CHECK_INT(fs_write_atomic(b, "{\"workers\":7}", 13, 0644, &err), 0);
    CHECK_INT(fs_write_atomic(a, "{\"workers\":5,\"longWorkers\":3}", 29, 0644, &err), 0);
    config_defaults(&cfg);
    CHECK_INT(config_load(&cfg, main_path, true, &err), 0);
    CHECK_INT(cfg.workers, 7);
    CHECK_INT(cfg.long_workers, 3);
    config_done(&cfg);

    CHECK_INT(fs_write_atomic(b, "{\"bogus\":1}", 11, 0644, &err), 0);
    config_defaults(&cfg);
    CHECK(config_load(&cfg, main_path, true, &err) < 0);
    CHECK_CONTAINS(err.msg, "20-b.json");
    CHECK_CONTAINS(err.msg, "\"bogus\"");
    config_done(&cfg);

    unlink(a);
    unlink(b);
    rmdir(d);
    unlink(main_path);
    config_defaults(&cfg);
    CHECK_INT(config_load(&cfg, main_path, false, &err), 0);
    CHECK(config_load(&cfg, main_path, true, &err) < 0);
    CHECK_INT(err.code, CRIB_NOT_FOUND);
    config_done(&cfg);
    CHECK_INT(rmdir(dir), 0);
    return 0;
}

TEST_MAIN(TEST(test_apply_table), TEST(test_defaults_run_runc_with_roots_under_state),
          TEST(test_dropins_override_in_name_order))
