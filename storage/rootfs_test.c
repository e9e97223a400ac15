/* Container rootfs: real overlay mounts of layer dirs made here, with the
 * whiteouts and opaque dirs the unpacker writes, through both the new mount
 * API and the mount(2) fallback. Needs root (mounts, trusted.* xattrs). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "storage/internal.h"
#include "storage/rootfs.h"

#define MAX_TARGETS 4
#define MANY_LAYERS 200

struct fixture {
    char dir[64];
    char *targets[MAX_TARGETS]; /* unmounted by fixture_done, whatever failed */
    size_t n_targets;
};

static void fixture_init(struct fixture *f)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/crib-rootfs-test-XXXXXX");
    if (!mkdtemp(f->dir))
        abort();
    f->n_targets = 0;
}

static void fixture_done(struct fixture *f)
{
    struct crib_err err;

    for (size_t i = 0; i < f->n_targets; i++) {
        while (umount2(f->targets[i], MNT_DETACH) == 0)
            ;
        free(f->targets[i]);
    }
    if (fs_remove_tree_at(AT_FDCWD, f->dir, &err) < 0)
        fprintf(stderr, "  cleanup: %s\n", err.msg);
}

/* f->dir/rel, in one of a few rotating buffers (valid for a few calls). */
static const char *at(struct fixture *f, const char *rel)
{
    static char bufs[8][4096];
    static unsigned next;
    char *b = bufs[next++ % 8];

    snprintf(b, sizeof(bufs[0]), "%s/%s", f->dir, rel);
    return b;
}

static void put(struct fixture *f, const char *rel, const char *text)
{
    struct crib_err err;
    _cleanup_free_ char *path = xstrdup(at(f, rel));

    *strrchr(path, '/') = '\0';
    if (fs_mkdir_p(path, 0755, &err) < 0 ||
        fs_write_atomic(at(f, rel), text, strlen(text), 0644, &err) < 0) {
        fprintf(stderr, "  %s\n", err.msg);
        abort();
    }
}

/* The text of f->dir/rel, or "" when it cannot be read. */
static const char *get(struct fixture *f, const char *rel)
{
    static char text[256];
    int fd = open(at(f, rel), O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);

    if (fd >= 0)
        close(fd);
    text[n < 0 ? 0 : n] = '\0';
    return text;
}

static bool exists(struct fixture *f, const char *rel)
{
    struct stat st;

    return lstat(at(f, rel), &st) == 0;
}

static int need_root(void)
{
    if (geteuid() == 0)
        return 0;
    printf("  needs root (mounts, trusted.* xattrs, whiteout devices)\n");
    return TEST_SKIP;
}

/* The rootfs_spec of container dir c over lowers; its target is recorded for
 * fixture_done, which frees it; spec_done frees the rest. */
static struct rootfs_spec spec_for(struct fixture *f, const char *c, const char *const *lowers,
                                   size_t n)
{
    char *target = xasprintf("%s/%s/rootfs", f->dir, c);
    struct rootfs_spec s = {
        .lower_dirs = lowers,
        .n_lower = n,
        .upper_dir = xasprintf("%s/%s/upper", f->dir, c),
        .target = target,
    };

    f->targets[f->n_targets++] = target;
    s.work_dir = xasprintf("%s/%s/work", f->dir, c);
    return s;
}

static void spec_done(struct rootfs_spec *s)
{
    free((char *)s->upper_dir);
    free((char *)s->work_dir);
}

/* Three layers: l1 plain, l2 whiting out l1's "gone", l3 with an opaque
 * "opq" over l1's. */
static void make_layers(struct fixture *f, char *lowers[3])
{
    put(f, "l1/a", "1");
    put(f, "l1/d/x", "x1");
    put(f, "l1/gone", "g");
    put(f, "l1/opq/old", "old");
    put(f, "l1/top", "1");
    put(f, "l2/b", "2");
    put(f, "l2/top", "2");
    if (mknod(at(f, "l2/gone"), S_IFCHR | 0, makedev(0, 0)) < 0)
        abort();
    put(f, "l3/c", "3");
    put(f, "l3/top", "3");
    put(f, "l3/opq/new", "new");
    if (setxattr(at(f, "l3/opq"), "trusted.overlay.opaque", "y", 1, 0) < 0)
        abort();
    for (int i = 0; i < 3; i++)
        lowers[i] = xasprintf("%s/l%d", f->dir, i + 1);
}

static int test_rootfs_merges_layers_and_writes_to_upper(void)
{
    struct fixture f;
    char *lowers[3];

    if (need_root())
        return TEST_SKIP;
    fixture_init(&f);
    make_layers(&f, lowers);
    for (unsigned legacy = 0; legacy < 2; legacy++) {
        const char *c = legacy ? "legacy" : "fsconfig";
        struct rootfs_spec s = spec_for(&f, c, (const char *const *)lowers, 3);
        _cleanup_free_ char *r = xasprintf("%s/rootfs", c), *u = xasprintf("%s/upper", c);
        _cleanup_free_ char *links = xasprintf("%s/l", c);
        struct crib_err err = {0};
        struct stat st_upper, st_file;
        int64_t bytes = 0, inodes = 0;
        char rel[128];

        CHECK_INT(rootfs_mount_with(&s, legacy ? ROOTFS_MOUNT_LEGACY : 0, &err), 0);
        if (err.msg[0])
            fprintf(stderr, "  %s: %s\n", c, err.msg);
        CHECK(rootfs_is_mounted(s.target));
        snprintf(rel, sizeof(rel), "%s/a", r);
        CHECK_STR(get(&f, rel), "1");
        snprintf(rel, sizeof(rel), "%s/b", r);
        CHECK_STR(get(&f, rel), "2");
        snprintf(rel, sizeof(rel), "%s/c", r);
        CHECK_STR(get(&f, rel), "3");
        snprintf(rel, sizeof(rel), "%s/d/x", r);
        CHECK_STR(get(&f, rel), "x1");
        snprintf(rel, sizeof(rel), "%s/top", r);
        CHECK_STR(get(&f, rel), "3"); /* the last layer is the top one */
        snprintf(rel, sizeof(rel), "%s/gone", r);
        CHECK(!exists(&f, rel));
        snprintf(rel, sizeof(rel), "%s/opq/old", r);
        CHECK(!exists(&f, rel));
        snprintf(rel, sizeof(rel), "%s/opq/new", r);
        CHECK_STR(get(&f, rel), "new");
        CHECK(!exists(&f, links)); /* three layers fit a page */

        snprintf(rel, sizeof(rel), "%s/w", r);
        put(&f, rel, "written");
        snprintf(rel, sizeof(rel), "%s/w", u);
        CHECK_STR(get(&f, rel), "written");
        CHECK_STR(get(&f, "l3/w"), "");
        CHECK_INT(rootfs_usage(at(&f, u), &bytes, &inodes, &err), 0);
        CHECK_INT(stat(at(&f, u), &st_upper), 0);
        CHECK_INT(stat(at(&f, rel), &st_file), 0);
        CHECK_INT(inodes, 2);
        CHECK_INT(bytes, (st_upper.st_blocks + st_file.st_blocks) * 512);
        CHECK(bytes > 0);

        CHECK_INT(rootfs_unmount(s.target, &err), 0);
        CHECK(!rootfs_is_mounted(s.target));
        snprintf(rel, sizeof(rel), "%s/a", r);
        CHECK(!exists(&f, rel));
        CHECK_INT(rootfs_unmount(s.target, &err), 0); /* not mounted: fine */
        spec_done(&s);
    }
    {
        struct crib_err err;

        CHECK_INT(rootfs_unmount(at(&f, "nonexistent"), &err), 0);
    }
    for (int i = 0; i < 3; i++)
        free(lowers[i]);
    fixture_done(&f);
    return 0;
}

static int test_rootfs_read_only_refuses_writes(void)
{
    struct fixture f;
    char *lowers[3];
    struct rootfs_spec s;
    struct crib_err err = {0};
    int fd;

    if (need_root())
        return TEST_SKIP;
    fixture_init(&f);
    make_layers(&f, lowers);
    s = spec_for(&f, "ro", (const char *const *)lowers, 3);
    s.read_only = true;
    CHECK_INT(rootfs_mount(&s, &err), 0);
    CHECK_STR(get(&f, "ro/rootfs/a"), "1");
    fd = open(at(&f, "ro/rootfs/new"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    CHECK(fd < 0);
    CHECK_INT(errno, EROFS);
    if (fd >= 0)
        close(fd);
    CHECK(exists(&f, "ro/upper"));
    CHECK_INT(rootfs_unmount(s.target, &err), 0);
    spec_done(&s);

    /* One layer and no upper: still an overlay, so the layer is never written. */
    s = spec_for(&f, "one", (const char *const *)lowers, 1);
    spec_done(&s);
    s.upper_dir = s.work_dir = NULL;
    CHECK_INT(rootfs_mount(&s, &err), 0);
    if (!rootfs_is_mounted(s.target))
        fprintf(stderr, "  %s\n", err.msg);
    CHECK(rootfs_is_mounted(s.target));
    CHECK_STR(get(&f, "one/rootfs/a"), "1");
    CHECK(unlink(at(&f, "one/rootfs/a")) < 0 && errno == EROFS);
    CHECK_INT(rootfs_unmount(s.target, &err), 0);
    CHECK_STR(get(&f, "l1/a"), "1");

    for (int i = 0; i < 3; i++)
        free(lowers[i]);
    fixture_done(&f);
    return 0;
}

/* MANY_LAYERS layers with long names: far over a page of lowerdir=, so the
 * fallback needs its short links; fsconfig takes them one by one. */
static int test_rootfs_many_layers(void)
{
    char name[] = "layer-with-a-name-as-long-as-a-chain-id-"
                  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef-000";
    size_t num = strlen(name) - 3;
    char *lowers[MANY_LAYERS];
    struct fixture f;

    if (need_root())
        return TEST_SKIP;
    fixture_init(&f);
    for (int i = 0; i < MANY_LAYERS; i++) {
        char rel[256], text[16];

        snprintf(name + num, 4, "%03d", i);
        snprintf(text, sizeof(text), "%d", i);
        snprintf(rel, sizeof(rel), "%s/f%03d", name, i);
        put(&f, rel, text);
        snprintf(rel, sizeof(rel), "%s/top", name);
        put(&f, rel, text);
        lowers[i] = xasprintf("%s/%s", f.dir, name);
    }
    for (unsigned legacy = 0; legacy < 2; legacy++) {
        const char *c = legacy ? "legacy" : "fsconfig";
        struct rootfs_spec s = spec_for(&f, c, (const char *const *)lowers, MANY_LAYERS);
        struct crib_err err = {0};
        char rel[128];

        CHECK_INT(rootfs_mount_with(&s, legacy ? ROOTFS_MOUNT_LEGACY : 0, &err), 0);
        if (err.msg[0])
            fprintf(stderr, "  %s: %s\n", c, err.msg);
        snprintf(rel, sizeof(rel), "%s/rootfs/f000", c);
        CHECK_STR(get(&f, rel), "0");
        snprintf(rel, sizeof(rel), "%s/rootfs/f199", c);
        CHECK_STR(get(&f, rel), "199");
        snprintf(rel, sizeof(rel), "%s/rootfs/top", c);
        CHECK_STR(get(&f, rel), "199");
        snprintf(rel, sizeof(rel), "%s/l/199", c);
        CHECK(exists(&f, rel) == (legacy == 1));
        CHECK_INT(rootfs_unmount(s.target, &err), 0);
        spec_done(&s);
    }
    for (int i = 0; i < MANY_LAYERS; i++)
        free(lowers[i]);
    fixture_done(&f);
    return 0;
}

static int test_rootfs_refuses_bad_specs(void)
{
    static const char *const good[] = {"/var/lib/crib/layers/a"};
    static const char *const colon[] = {"/var/lib/crib/layers/a:b"};
    static const char *const comma[] = {"/x", "/var/lib/crib/layers/a,upperdir=/"};
    static const char *const relative[] = {"layers/a"};
    static const struct {
        struct rootfs_spec spec;
        const char *msg;
    } cases[] = {
        {{.lower_dirs = good, .n_lower = 0, .target = "/t"}, "no layers"},
        {{.lower_dirs = colon, .n_lower = 1, .target = "/t"}, "holds ':'"},
        {{.lower_dirs = comma, .n_lower = 2, .target = "/t"}, "holds ':'"},
        {{.lower_dirs = relative, .n_lower = 1, .target = "/t"}, "not absolute"},
        {{.lower_dirs = good, .n_lower = 1, .target = "t"}, "mountpoint \"t\" is not absolute"},
        {{.lower_dirs = good, .n_lower = 1, .target = "/t", .upper_dir = "/u"}, "go together"},
        {{.lower_dirs = good, .n_lower = 1, .target = "/t", .upper_dir = "/u:", .work_dir = "/w"},
         "upper dir"},
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct crib_err err = {0};

        CHECK(rootfs_mount(&cases[i].spec, &err) < 0);
        CHECK_INT(err.code, CRIB_INVALID);
        CHECK_CONTAINS(err.msg, cases[i].msg);
    }
    return 0;
}

static int test_rootfs_reports_missing_layer(void)
{
    struct fixture f;
    char *lowers[2];
    struct rootfs_spec s;
    struct crib_err err = {0};

    if (need_root())
        return TEST_SKIP;
    fixture_init(&f);
    put(&f, "l1/a", "1");
    lowers[0] = xasprintf("%s/l1", f.dir);
    lowers[1] = xasprintf("%s/missing", f.dir);
    s = spec_for(&f, "c", (const char *const *)lowers, 2);
    CHECK(rootfs_mount(&s, &err) < 0);
    CHECK_INT(err.code, CRIB_INTERNAL);
    CHECK_INT(err.errnum, ENOENT);
    CHECK_CONTAINS(err.msg, "overlay lowerdir+");
    CHECK(!rootfs_is_mounted(s.target));
    spec_done(&s);
    free(lowers[0]);
    free(lowers[1]);
    fixture_done(&f);
    return 0;
}

/* Usage counts what lies in the dir itself: not a mount below it, not what a
 * symlink points at. */
static int test_rootfs_usage_stays_on_its_fs(void)
{
    struct fixture f;
    struct crib_err err = {0};
    int64_t bytes = 0, inodes = 0, want_bytes = 0;
    const char *entries[] = {"u", "u/a", "u/d", "u/d/e", "u/link"};
    struct stat st;

    if (need_root())
        return TEST_SKIP;
    fixture_init(&f);
    put(&f, "u/a", "aaaa");
    put(&f, "u/d/e", "eeee");
    put(&f, "big/file", "not counted");
    CHECK_INT(symlink(at(&f, "big"), at(&f, "u/link")), 0);
    for (size_t i = 0; i < ARRAY_SIZE(entries); i++) {
        CHECK_INT(lstat(at(&f, entries[i]), &st), 0);
        want_bytes += st.st_blocks * 512;
    }
    CHECK_INT(mkdir(at(&f, "u/mnt"), 0755), 0);
    f.targets[f.n_targets++] = xstrdup(at(&f, "u/mnt"));
    CHECK_INT(mount("tmpfs", at(&f, "u/mnt"), "tmpfs", 0, "size=1m"), 0);
    put(&f, "u/mnt/hidden", "on another fs");

    CHECK_INT(rootfs_usage(at(&f, "u"), &bytes, &inodes, &err), 0);
    CHECK_INT(inodes, 5); /* u, a, d, e, link; mnt is the tmpfs's root */
    CHECK_INT(bytes, want_bytes);
    CHECK(rootfs_usage(at(&f, "missing"), &bytes, &inodes, &err) < 0);
    CHECK_INT(err.code, CRIB_INTERNAL);

    /* Stacked mounts all come off. */
    CHECK_INT(mount("tmpfs", at(&f, "u/mnt"), "tmpfs", 0, "size=1m"), 0);
    CHECK_INT(rootfs_unmount(at(&f, "u/mnt"), &err), 0);
    CHECK(!rootfs_is_mounted(at(&f, "u/mnt")));
    CHECK(!rootfs_is_mounted(at(&f, "u")));
    fixture_done(&f);
    return 0;
}

static int test_rootfs_usage_refuses_deep_trees(void)
{
    struct fixture f;
    struct crib_err err = {0};
    int64_t bytes, inodes;
    char rel[1024] = "deep";

    if (need_root())
        return TEST_SKIP;
    fixture_init(&f);
    for (int i = 0; i < 300; i++) {
        CHECK_INT(mkdir(at(&f, rel), 0755), 0);
        if (i == 250)
            CHECK_INT(rootfs_usage(at(&f, "deep"), &bytes, &inodes, &err), 0);
        strcat(rel, "/d");
    }
    CHECK_INT(inodes, 251);
    CHECK(rootfs_usage(at(&f, "deep"), &bytes, &inodes, &err) < 0);
    CHECK_CONTAINS(err.msg, "more than 256 dirs deep");
    fixture_done(&f);
    return 0;
}

TEST_MAIN(TEST(test_rootfs_merges_layers_and_writes_to_upper),
          TEST(test_rootfs_read_only_refuses_writes), TEST(test_rootfs_many_layers),
          TEST(test_rootfs_refuses_bad_specs), TEST(test_rootfs_reports_missing_layer),
          TEST(test_rootfs_usage_stays_on_its_fs), TEST(test_rootfs_usage_refuses_deep_trees))
