/* User and group resolution: the parsers over passwd and group texts (clean
 * and hostile), then user_resolve over a temp dir standing in for a rootfs. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "oci/user.h"

#define LEN(s) (sizeof(s) - 1)
#define S(s) s, LEN(s)

static const char passwd_text[] = "root:x:0:0:root:/root:/bin/bash\n"
                                  "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                                  "# a comment:x:5:5\n"
                                  "app:x:1000:50:App:/home/app:/bin/sh\n"
                                  "app:x:1001:51:second entry loses\n"
                                  "www:x:33:33::/var/www:";

static const char group_text[] = "root:x:0:\n"
                                 "wheel:x:10:root,app\n"
                                 "staff:x:50:\n"
                                 "app:x:1000:app\n" /* the user's own group: not supplemental */
                                 "audio:x:29:www,app\n"
                                 "video:x:44:www\n"
                                 "extra:x:1234:bob,app";

static int test_passwd_lookup_by_name_and_uid(void)
{
    uint32_t uid = 99, gid = 99;
    char name[64];

    CHECK_INT(
        user_passwd_lookup(passwd_text, LEN(passwd_text), "app", 0, &uid, &gid, name, sizeof(name)),
        1);
    CHECK_INT(uid, 1000);
    CHECK_INT(gid, 50);
    CHECK_STR(name, "app");
    CHECK_INT(
        user_passwd_lookup(passwd_text, LEN(passwd_text), NULL, 33, &uid, &gid, name, sizeof(name)),
        1);
    CHECK_INT(gid, 33);
    CHECK_STR(name, "www"); /* the last line, without a newline */
    CHECK_INT(user_passwd_lookup(passwd_text, LEN(passwd_text), NULL, 1001, NULL, NULL, NULL, 0),
              1);
    CHECK_INT(user_passwd_lookup(passwd_text, LEN(passwd_text), "nobody", 0, NULL, NULL, NULL, 0),
              0);
    CHECK_INT(user_passwd_lookup(passwd_text, LEN(passwd_text), NULL, 5, NULL, NULL, NULL, 0), 0);
    CHECK_INT(
        user_passwd_lookup(passwd_text, LEN(passwd_text), "# a comment", 0, NULL, NULL, NULL, 0),
        0);
    CHECK_INT(user_passwd_lookup("", 0, "root", 0, NULL, NULL, NULL, 0), 0);
    return 0;
}

/* Each text holds one broken line before a good "ok" entry (uid 7): the
 * broken one is never found, and the good one still is. */
static int test_passwd_skips_malformed_lines(void)
{
    static const struct {
        const char *text;
        size_t len;
        const char *bad_name;
    } cases[] = {
        {S("bad:x:1\nok:x:7:7\n"), "bad"},                      /* too few fields */
        {S("bad:x:abc:1\nok:x:7:7\n"), "bad"},                  /* non-numeric uid */
        {S("bad:x:1:-1\nok:x:7:7\n"), "bad"},                   /* negative gid */
        {S("bad:x:4294967296:1\nok:x:7:7\n"), "bad"},           /* > 2^32-1 */
        {S("bad:x:4294967295:1\nok:x:7:7\n"), "bad"},           /* (uid_t)-1 */
        {S("bad:x:99999999999999999999:1\nok:x:7:7\n"), "bad"}, /* overflow */
        {S("bad:x::1\nok:x:7:7\n"), "bad"},                     /* empty uid */
        {S("b\0d:x:1:1\nok:x:7:7\n"), "b"},                     /* NUL in the line */
        {S("bad:x:1:1\0\nok:x:7:7\n"), "bad"},                  /* NUL at the end */
        {S("+bad:x:1:1\nok:x:7:7\n"), "+bad"},                  /* NIS entry */
        {S(":x:1:1\nok:x:7:7\n"), ""},                          /* no name */
        {S("\n\n\r\n#c:x:1:1\nok:x:7:7"), "#c"},                /* blank, comment, no EOL */
        {S("bad:x: 1:1\nok:x:7:7\r\n"), "bad"},                 /* space in uid */
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        uint32_t uid = 0, gid = 0;
        char name[16];

        bool bad_found = user_passwd_lookup(cases[i].text, cases[i].len, cases[i].bad_name, 0, NULL,
                                            NULL, NULL, 0);
        bool ok_found = user_passwd_lookup(cases[i].text, cases[i].len, "ok", 0, &uid, &gid, name,
                                           sizeof(name));

        if (bad_found || !ok_found || uid != 7 || gid != 7 || strcmp(name, "ok") != 0)
            fprintf(stderr, "  case %zu: bad line found %d, good line found %d\n", i, bad_found,
                    ok_found);
        CHECK(!bad_found && ok_found && uid == 7 && gid == 7);
    }
    return 0;
}

static int test_passwd_long_lines_and_names(void)
{
    size_t big = 200000;
    _cleanup_free_ char *text = xmalloc(big + 64);
    char name[8];
    size_t len;

    /* A huge gecos field, then a name longer than the caller's buffer. */
    memcpy(text, "a:x:1:1:", 8);
    memset(text + 8, 'g', big);
    len = 8 + big;
    len += (size_t)sprintf(text + len, "\nlongname:x:2:2\nb:x:3:3\n");
    CHECK_INT(user_passwd_lookup(text, len, "a", 0, NULL, NULL, name, sizeof(name)), 1);
    CHECK_INT(user_passwd_lookup(text, len, NULL, 2, NULL, NULL, name, sizeof(name)), 0);
    CHECK_INT(user_passwd_lookup(text, len, NULL, 2, NULL, NULL, NULL, 0), 1);
    CHECK_INT(user_passwd_lookup(text, len, NULL, 3, NULL, NULL, name, sizeof(name)), 1);
    CHECK_STR(name, "b");
    return 0;
}

static int test_group_lookup_and_members(void)
{
    uint32_t gid = 0, groups[8] = {7};
    size_t n;

    CHECK_INT(user_group_lookup(group_text, LEN(group_text), "staff", 0, &gid), 1);
    CHECK_INT(gid, 50);
    CHECK_INT(user_group_lookup(group_text, LEN(group_text), NULL, 44, &gid), 1);
    CHECK_INT(user_group_lookup(group_text, LEN(group_text), "nogroup", 0, &gid), 0);
    CHECK_INT(user_group_lookup(S("g:x:1x\ng:x:\n"), "g", 0, &gid), 0);
    CHECK_INT(user_group_lookup(S("g:x:5\r\n"), "g", 0, &gid), 1); /* members field optional */
    CHECK_INT(gid, 5);

    n = user_group_members(group_text, LEN(group_text), "app", groups, 1, ARRAY_SIZE(groups));
    CHECK_INT(n, 4);
    CHECK_INT(groups[0], 7);
    CHECK_INT(groups[1], 10);
    CHECK_INT(groups[2], 29);
    CHECK_INT(groups[3], 1234); /* last line, no newline; not "app" (own group) */
    n = user_group_members(group_text, LEN(group_text), "app", groups, 0, 2);
    CHECK_INT(n, 2);
    n = user_group_members(group_text, LEN(group_text), "ap", groups, 0, 8); /* no prefixes */
    CHECK_INT(n, 0);
    n = user_group_members(S("a:x:3:u\nb:x:3:u\nc:x:x:u\nd:x:4:,,u,\n"), "u", groups, 0, 8);
    CHECK_INT(n, 2); /* gid 3 once, "x" skipped, empty members ignored */
    CHECK_INT(groups[1], 4);
    return 0;
}

static char root[] = "/tmp/crib-user-test-XXXXXX";

static void put(const char *rel, const char *body)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", root, rel);
    struct crib_err err;

    if (fs_write_atomic(path, body, strlen(body), 0644, &err) < 0)
        abort();
}

static int open_root(void)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        abort();
    return fd;
}

struct resolve_case {
    const char *name;
    struct user_request req;
    uint32_t uid, gid;
    size_t n_groups;
    uint32_t groups[8];
    const char *error; /* part of the CRIB_INVALID message, or NULL */
};

static const int64_t supp[] = {5678, 50, 1234};
static const int64_t supp_bad[] = {-1};

static const struct resolve_case resolve_cases[] = {
    {"empty image user is root", {.image_user = ""}, 0, 0, 2, {0, 10}, NULL},
    {"NULL image user is root", {0}, 0, 0, 2, {0, 10}, NULL},
    {"image name", {.image_user = "app"}, 1000, 50, 5, {10, 29, 50, 1234, 2000}, NULL},
    {"image uid", {.image_user = "1000"}, 1000, 50, 5, {10, 29, 50, 1234, 2000}, NULL},
    {"image uid without entry", {.image_user = "4242"}, 4242, 0, 1, {0}, NULL},
    {"image uid:gid", {.image_user = "4242:77"}, 4242, 77, 1, {77}, NULL},
    {"image name:gid", {.image_user = "app:77"}, 1000, 77, 5, {10, 29, 77, 1234, 2000}, NULL},
    {"image uid:group", {.image_user = "33:video"}, 33, 44, 2, {29, 44}, NULL},
    {"image name:group", {.image_user = "www:staff"}, 33, 50, 3, {29, 44, 50}, NULL},
    {"request uid wins",
     {.has_uid = true, .uid = 33, .image_user = "app"},
     33,
     33,
     3,
     {29, 33, 44},
     NULL},
    {"request uid and gid",
     {.has_uid = true, .uid = 1000, .has_gid = true, .gid = 3},
     1000,
     3,
     5,
     {3, 10, 29, 1234, 2000},
     NULL},
    {"request gid overrides image group",
     {.has_gid = true, .gid = 8, .image_user = "4242:nosuchgroup"},
     4242,
     8,
     1,
     {8},
     NULL},
    {"request username", {.username = "www"}, 33, 33, 3, {29, 33, 44}, NULL},
    {"merge with supplemental",
     {.has_uid = true, .uid = 1000, .supplemental_groups = supp, .n_supplemental_groups = 3},
     1000,
     50,
     6,
     {10, 29, 50, 1234, 2000, 5678},
     NULL},
    {"strict",
     {.image_user = "app",
      .supplemental_groups = supp,
      .n_supplemental_groups = 3,
      .policy = USER_GROUPS_STRICT},
     1000,
     50,
     3,
     {50, 1234, 5678},
     NULL},
    {"unknown image user",
     {.image_user = "foo"},
     0,
     0,
     0,
     {0},
     "user \"foo\" not found in the image's /etc/passwd"},
    {"unknown username", {.username = "bar"}, 0, 0, 0, {0}, "user \"bar\" not found"},
    {"unknown group", {.image_user = "app:nogroup"}, 0, 0, 0, {0}, "group \"nogroup\" not found"},
    {"too many colons", {.image_user = "1:2:3"}, 0, 0, 0, {0}, "malformed"},
    {"no user part", {.image_user = ":50"}, 0, 0, 0, {0}, "malformed"},
    {"no group part", {.image_user = "app:"}, 0, 0, 0, {0}, "malformed"},
    {"uid too big", {.image_user = "4294967296"}, 0, 0, 0, {0}, "not found"},
    {"request uid negative", {.has_uid = true, .uid = -1}, 0, 0, 0, {0}, "uid -1 is out of range"},
    {"request gid too big",
     {.has_uid = true, .uid = 0, .has_gid = true, .gid = 1LL << 32},
     0,
     0,
     0,
     {0},
     "out of range"},
    {"bad supplemental",
     {.supplemental_groups = supp_bad, .n_supplemental_groups = 1},
     0,
     0,
     0,
     {0},
     "supplemental group -1"},
};

static int test_resolve_table(void)
{
    _cleanup_close_ int fd = open_root();

    put("etc/passwd", passwd_text);
    put("etc/group", "wheel:x:10:root,app\nstaff:x:50:\naudio:x:29:www,app\nvideo:x:44:www\n"
                     "extra:x:1234:app\nbig:x:2000:x,app\n");
    for (size_t i = 0; i < ARRAY_SIZE(resolve_cases); i++) {
        const struct resolve_case *c = &resolve_cases[i];
        struct user_ids ids = {0};
        struct crib_err err = {0};
        int r = user_resolve(fd, &c->req, &ids, &err);
        bool ok;

        if (c->error) {
            ok = r < 0 && err.code == CRIB_INVALID && strstr(err.msg, c->error);
            if (!ok)
                fprintf(stderr, "  %s: r=%d msg=\"%s\"\n", c->name, r, r < 0 ? err.msg : "");
        } else {
            ok = r == 0 && ids.uid == c->uid && ids.gid == c->gid && ids.n_groups == c->n_groups &&
                 memcmp(ids.groups, c->groups, c->n_groups * sizeof(uint32_t)) == 0;
            if (!ok) {
                fprintf(stderr, "  %s: r=%d %s uid=%u gid=%u groups:", c->name, r,
                        r < 0 ? err.msg : "", ids.uid, ids.gid);
                for (size_t j = 0; j < ids.n_groups; j++)
                    fprintf(stderr, " %u", ids.groups[j]);
                fprintf(stderr, "\n");
            }
        }
        CHECK(ok);
    }
    return 0;
}

static void rm(const char *rel)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", root, rel);

    unlink(path);
}

static int test_resolve_without_etc_files(void)
{
    _cleanup_close_ int fd = open_root();
    struct user_request req = {.image_user = "123"};
    struct user_ids ids;
    struct crib_err err;

    rm("etc/passwd");
    rm("etc/group");
    CHECK_INT(user_resolve(fd, &req, &ids, &err), 0);
    CHECK_INT(ids.uid, 123);
    CHECK_INT(ids.gid, 0);
    CHECK_INT(ids.n_groups, 1);
    req.image_user = "root";
    CHECK(user_resolve(fd, &req, &ids, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    return 0;
}

/* An absolute symlink in the image points into the image, never at the host:
 * /etc/passwd -> HOST_DIR/shadow reads ROOT/HOST_DIR/shadow. */
static int test_resolve_stays_in_root(void)
{
    _cleanup_close_ int fd = open_root();
    _cleanup_free_ char *host_dir = xasprintf("%s-host", root);
    _cleanup_free_ char *host_file = xasprintf("%s/shadow", host_dir);
    _cleanup_free_ char *inner_file = xasprintf("%s%s", root, host_file);
    _cleanup_free_ char *link = xasprintf("%s/etc/passwd", root);
    _cleanup_free_ char *cleanup = xasprintf("rm -rf '%s'", host_dir);
    struct user_request req = {.image_user = "evil"};
    struct user_ids ids;
    struct crib_err err;

    CHECK_INT(mkdir(host_dir, 0755), 0);
    CHECK_INT(fs_write_atomic(host_file, "evil:x:0:0::/:/bin/sh\n", 22, 0600, &err), 0);
    CHECK_INT(symlink(host_file, link), 0);
    CHECK(user_resolve(fd, &req, &ids, &err) < 0);
    CHECK_CONTAINS(err.msg, "user \"evil\" not found");

    CHECK_INT(fs_mkdir_p(inner_file, 0755, &err), 0);
    CHECK_INT(rmdir(inner_file), 0); /* made its parents */
    CHECK_INT(fs_write_atomic(inner_file, "good:x:5:6\n", 11, 0644, &err), 0);
    req.image_user = "good";
    CHECK_INT(user_resolve(fd, &req, &ids, &err), 0);
    CHECK_INT(ids.uid, 5);
    CHECK_INT(ids.gid, 6);

    /* A loop is refused; a FIFO reads as empty instead of blocking. */
    rm("etc/passwd");
    CHECK_INT(symlink("passwd", link), 0);
    CHECK(user_resolve(fd, &req, &ids, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    rm("etc/passwd");
    CHECK_INT(mkfifo(link, 0644), 0);
    req.image_user = "7";
    CHECK_INT(user_resolve(fd, &req, &ids, &err), 0);
    CHECK_INT(ids.uid, 7);
    rm("etc/passwd");
    CHECK_INT(system(cleanup), 0);
    return 0;
}

static int test_resolve_caps_reads(void)
{
    _cleanup_close_ int fd = open_root();
    size_t big = (1u << 20) + 1;
    _cleanup_free_ char *text = xmalloc(big + 1);
    _cleanup_free_ char *path = xasprintf("%s/etc/group", root);
    struct user_request req = {.image_user = "1"};
    struct user_ids ids;
    struct crib_err err;

    memset(text, '#', big);
    CHECK_INT(fs_write_atomic(path, text, big, 0644, &err), 0);
    CHECK(user_resolve(fd, &req, &ids, &err) < 0);
    CHECK_INT(err.code, CRIB_LIMIT);
    CHECK_CONTAINS(err.msg, "/etc/group");
    unlink(path);
    return 0;
}

static int test_resolve_too_many_groups(void)
{
    _cleanup_close_ int fd = open_root();
    int64_t many[USER_MAX_GROUPS];
    struct user_request req = {.image_user = "9999",
                               .supplemental_groups = many,
                               .n_supplemental_groups = USER_MAX_GROUPS};
    struct user_ids ids;
    struct crib_err err;

    for (size_t i = 0; i < USER_MAX_GROUPS; i++)
        many[i] = 100 + (int64_t)i;
    CHECK(user_resolve(fd, &req, &ids, &err) < 0); /* gid 0 is the 257th */
    CHECK_INT(err.code, CRIB_INVALID);
    many[0] = 0;
    CHECK_INT(user_resolve(fd, &req, &ids, &err), 0);
    CHECK_INT(ids.n_groups, USER_MAX_GROUPS);
    CHECK_INT(ids.groups[0], 0);
    CHECK_INT(ids.groups[USER_MAX_GROUPS - 1], 100 + USER_MAX_GROUPS - 1);
    return 0;
}

static int setup(void)
{
    _cleanup_free_ char *etc = NULL;

    if (!mkdtemp(root))
        abort();
    etc = xasprintf("%s/etc", root);
    return mkdir(etc, 0755);
}

static int teardown(void)
{
    _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", root);

    return system(cmd);
}

TEST_MAIN(TEST(test_passwd_lookup_by_name_and_uid), TEST(test_passwd_skips_malformed_lines),
          TEST(test_passwd_long_lines_and_names), TEST(test_group_lookup_and_members), TEST(setup),
          TEST(test_resolve_table), TEST(test_resolve_without_etc_files),
          TEST(test_resolve_stays_in_root), TEST(test_resolve_caps_reads),
          TEST(test_resolve_too_many_groups), TEST(teardown))
