#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "netcni/cniconf.h"

struct parse_case {
    const char *text;
    int is_list;
    enum crib_code code; /* CRIB_INTERNAL here means: accepted */
    const char *msg;
};

static const struct parse_case parse_cases[] = {
    {"{\"name\":\"n\",\"cniVersion\":\"1.0.0\",\"plugins\":[{\"type\":\"bridge\"},{\"type\":"
     "\"portmap\"}]}",
     1, CRIB_INTERNAL, NULL},
    {"{\"name\":\"n\",\"type\":\"loopback\"}", 0, CRIB_INTERNAL, NULL},
    {"", 1, CRIB_INVALID, "not valid JSON"},
    {"[1,2]", 1, CRIB_INVALID, "not a JSON object"},
    {"{\"plugins\":[{\"type\":\"x\"}]}", 1, CRIB_INVALID, "no \"name\""},
    {"{\"name\":\"n\"}", 1, CRIB_INVALID, "no \"plugins\" array"},
    {"{\"name\":\"n\",\"plugins\":[]}", 1, CRIB_INVALID, "is empty"},
    {"{\"name\":\"n\",\"plugins\":[{\"type\":\"../../bin/sh\"}]}", 1, CRIB_INVALID,
     "not a file name"},
    {"{\"name\":\"n\",\"plugins\":[{\"type\":\"..\"}]}", 1, CRIB_INVALID, "not a file name"},
    {"{\"name\":\"n\",\"plugins\":[{\"type\":7}]}", 1, CRIB_INVALID, "no \"type\""},
    {"{\"name\":\"n\",\"plugins\":[\"bridge\"]}", 1, CRIB_INVALID, "no \"type\""},
    {"{\"name\":\"n\"}", 0, CRIB_INVALID, "plugin 0 has no \"type\""},
};

static int test_parse_table(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
        const struct parse_case *c = &parse_cases[i];
        struct cniconf conf;
        struct crib_err err;
        int r = cniconf_parse(c->text, strlen(c->text), c->is_list, &conf, &err);

        if (c->code == CRIB_INTERNAL) {
            CHECK_INT(r, 0);
            if (r == 0)
                cniconf_done(&conf);
            continue;
        }
        CHECK(r < 0);
        CHECK_INT(err.code, c->code);
        CHECK_CONTAINS(err.msg, c->msg);
    }
    return 0;
}

static int test_too_many_plugins_is_a_limit(void)
{
    _cleanup_free_ char *text = xstrdup("{\"name\":\"n\",\"plugins\":[");
    struct cniconf conf;
    struct crib_err err;

    for (int i = 0; i <= CNICONF_MAX_PLUGINS; i++) {
        char *more = xasprintf("%s%s{\"type\":\"p\"}", text, i ? "," : "");

        free(text);
        text = more;
    }
    {
        char *more = xasprintf("%s]}", text);

        free(text);
        text = more;
    }
    CHECK(cniconf_parse(text, strlen(text), 1, &conf, &err) < 0);
    CHECK_INT(err.code, CRIB_LIMIT);
    return 0;
}

static void put(const char *dir, const char *name, const char *text)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
    struct crib_err err;

    if (fs_write_atomic(p, text, strlen(text), 0755, &err) < 0)
        abort();
}

static int test_load_picks_first_valid_by_name_and_checks_plugins(void)
{
    char dir[] = "/tmp/crib-cni-test-XXXXXX";
    _cleanup_free_ char *conf_dir = NULL, *bin_dir = NULL;
    const char *bins[2] = {NULL, NULL};
    struct cniconf_dirs dirs;
    struct cniconf conf;
    struct crib_err err;

    CHECK(mkdtemp(dir) != NULL);
    conf_dir = xasprintf("%s/net.d", dir);
    bin_dir = xasprintf("%s/bin", dir);
    mkdir(conf_dir, 0755);
    mkdir(bin_dir, 0755);
    bins[0] = bin_dir;
    dirs = (struct cniconf_dirs){.conf_dir = conf_dir, .bin_dirs = bins};

    CHECK(cniconf_load(&dirs, &conf, &err) < 0);
    CHECK_INT(err.code, CRIB_NOT_FOUND);
    put(conf_dir, "05-broken.conflist", "{nope");
    put(conf_dir, "10-net.conflist",
        "{\"name\":\"ten\",\"cniVersion\":\"1.0.0\",\"plugins\":[{\"type\":\"bridge\"}]}");
    put(conf_dir, "20-net.conf", "{\"name\":\"twenty\",\"type\":\"bridge\"}");
    put(conf_dir, "README", "not a config");
    CHECK_INT(cniconf_load(&dirs, &conf, &err), 0);
    CHECK_STR(conf.name, "ten");
    CHECK_STR(conf.cni_version, "1.0.0");
    CHECK(cniconf_check_plugins(&conf, &dirs, &err) < 0);
    CHECK_CONTAINS(err.msg, "'bridge'");
    put(bin_dir, "bridge", "#!/bin/sh\n");
    CHECK_INT(cniconf_check_plugins(&conf, &dirs, &err), 0);
    cniconf_done(&conf);

    for (const char *const *n = (const char *const[]){"05-broken.conflist", "10-net.conflist",
                                                      "20-net.conf", "README", NULL};
         *n; n++) {
        _cleanup_free_ char *p = xasprintf("%s/%s", conf_dir, *n);

        unlink(p);
    }
    {
        _cleanup_free_ char *p = xasprintf("%s/bridge", bin_dir);

        unlink(p);
    }
    rmdir(conf_dir);
    rmdir(bin_dir);
    CHECK_INT(rmdir(dir), 0);
    return 0;
}

static int test_json_keeps_the_list_and_lifts_a_single_conf(void)
{
    static const char list[] = "{\"name\":\"n\",\"cniVersion\":\"1.0.0\",\"plugins\":[{\"type\":"
                               "\"bridge\",\"bridge\":\"cni0\"}]}";
    static const char single[] = "{\"name\":\"n\",\"cniVersion\":\"0.4.0\",\"type\":\"ptp\"}";
    struct cniconf conf;
    struct crib_err err;

    CHECK_INT(cniconf_parse(list, strlen(list), 1, &conf, &err), 0);
    CHECK_STR(conf.json, list);
    cniconf_done(&conf);
    CHECK_INT(cniconf_parse(single, strlen(single), 0, &conf, &err), 0);
    CHECK_STR(conf.json, "{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"plugins\":[{\"name\":\"n\","
                         "\"cniVersion\":\"0.4.0\",\"type\":\"ptp\"}]}");
    cniconf_done(&conf);
    return 0;
}

TEST_MAIN(TEST(test_json_keeps_the_list_and_lifts_a_single_conf), TEST(test_parse_table),
          TEST(test_too_many_plugins_is_a_limit),
          TEST(test_load_picks_first_valid_by_name_and_checks_plugins))
