/* Checkpoint archives: one written from real files under /tmp, read back
 * member by member with libarchive, opened, extracted and its diff applied;
 * hostile archives built with libarchive's writer, each refused with
 * CRIB_INVALID naming the problem and leaving nothing behind. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "oci/ckptarchive.h"

#define TAR_MAX (16u << 20)
#define SPEC "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"]}}"
#define CRI "{\"metadata\":{\"name\":\"web\"}}"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static char *make_tmp(void)
{
    char *dir = xstrdup("/tmp/crib-ckptarchive-XXXXXX");

    if (!mkdtemp(dir))
        abort();
    return dir;
}

static void rm_tree(char **dir)
{
    if (*dir)
        nftw(*dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(*dir);
}

static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0 || write(fd, data, len) != (ssize_t)len)
        abort();
    close(fd);
}

static int count_entries(const char *dir)
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)))
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    return n;
}

/* A checkpoint as a runtime leaves it: images, and an upper dir written as
 * a diff. Paths under tmp. */
struct fixture {
    char *images, *upper, *diff, *out, *dest;
    struct ckpt_deleted deleted;
    struct ckpt_contents c;
};

static void fixture_init(struct fixture *f, const char *tmp)
{
    struct crib_err err;
    char *p;
    int fd;

    f->images = xasprintf("%s/images", tmp);
    f->upper = xasprintf("%s/upper", tmp);
    f->diff = xasprintf("%s/diff.tar", tmp);
    f->out = xasprintf("%s/out", tmp);
    f->dest = xasprintf("%s/out/ckpt.tar", tmp);
    mkdir(f->images, 0700), mkdir(f->upper, 0755), mkdir(f->out, 0755);
    p = xasprintf("%s/inventory.img", f->images), write_file(p, "INV", 3), free(p);
    p = xasprintf("%s/pages-1.img", f->images), write_file(p, "\0\1\2\3", 4), free(p);
    p = xasprintf("%s/hello", f->upper), write_file(p, "hi", 2), free(p);
    fd = open(f->diff, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ckpt_diff_write(f->upper, fd, 0, &f->deleted, &err) < 0)
        abort();
    close(fd);
    ckpt_deleted_add(&f->deleted, "etc/gone");
    f->c = (struct ckpt_contents){
        .handler = HANDLER_RUNC,
        .handler_name = "runc-fast",
        .runtime = "runc",
        .checkpoint_dir = f->images,
        .spec_json = SPEC,
        .cri_config_json = CRI,
        .rootfs_diff_path = f->diff,
        .deleted = &f->deleted,
        .id = "0123abcd",
        .name = "web",
        .image = "busybox:1.36",
        .image_name = "docker.io/library/busybox:1.36",
        .image_ref = "docker.io/library/busybox@sha256:" /* digest elided */ "ab12",
        .image_id = "sha256:cd34",
        .created_ns = 1700000000123456789LL,
        .checkpointed_ns = 1700000100000000000LL,
    };
}

static void fixture_done(struct fixture *f)
{
    free(f->images), free(f->upper), free(f->diff), free(f->out), free(f->dest);
    ckpt_deleted_done(&f->deleted);
}

/* Reads every member of path; *ret_names gets "name:size;" for each, and
 * config.dump's text goes to ret_config. */
static void list_members(const char *path, char *names, size_t size, char **ret_config)
{
    struct archive *a = archive_read_new();
    struct archive_entry *ae;

    names[0] = '\0';
    archive_read_support_format_tar(a);
    if (archive_read_open_filename(a, path, 4096) != ARCHIVE_OK)
        abort();
    while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
        size_t len = strlen(names);

        snprintf(names + len, size - len, "%s:%lld:%o:%lld;", archive_entry_pathname(ae),
                 (long long)archive_entry_size(ae), archive_entry_perm(ae),
                 (long long)archive_entry_uid(ae));
        if (strcmp(archive_entry_pathname(ae), "config.dump") == 0) {
            *ret_config = xcalloc(1, (size_t)archive_entry_size(ae) + 1);
            archive_read_data(a, *ret_config, (size_t)archive_entry_size(ae));
        }
    }
    archive_read_free(a);
}

static void check_meta(const struct ckpt_meta *m)
{
    CHECK_INT(m->handler, HANDLER_RUNC);
    CHECK_STR(m->handler_name, "runc-fast");
    CHECK_STR(m->runtime, "runc");
    CHECK_STR(m->id, "0123abcd");
    CHECK_STR(m->name, "web");
    CHECK_STR(m->image, "busybox:1.36");
    CHECK_STR(m->image_name, "docker.io/library/busybox:1.36");
    CHECK_STR(m->image_ref, "docker.io/library/busybox@sha256:ab12");
    CHECK_STR(m->image_id, "sha256:cd34");
    CHECK_STR(m->spec_text, SPEC);
    CHECK_STR(m->cri_config_text, CRI);
    CHECK(m->has_rootfs_diff);
    CHECK_INT(m->deleted->n_paths, 1);
    if (m->deleted->n_paths == 1)
        CHECK_STR(m->deleted->paths[0], "etc/gone");
}

static void check_extracted(const char *x, const struct ckpt_meta *m)
{
    _cleanup_free_ char *inv = xasprintf("%s/checkpoint/inventory.img", x);
    _cleanup_free_ char *diff = xasprintf("%s/rootfs-diff.tar", x);
    _cleanup_free_ char *up2 = xasprintf("%s/../upper2", x), *hello = NULL, *gone = NULL;
    struct crib_err err;
    struct stat st;

    CHECK(stat(x, &st) == 0 && (st.st_mode & 07777) == 0700);
    CHECK(stat(inv, &st) == 0 && st.st_size == 3 && (st.st_mode & 07777) == 0600);
    CHECK_INT(count_entries(x), 7);
    mkdir(up2, 0755);
    CHECK_INT(ckpt_diff_apply(diff, m->deleted, up2, &err), 0);
    hello = xasprintf("%s/hello", up2);
    gone = xasprintf("%s/etc/gone", up2);
    CHECK(stat(hello, &st) == 0 && st.st_size == 2);
    CHECK(lstat(gone, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
}

static int test_ckptarchive_round_trip(void)
{
    _cleanup_(rm_tree) char *tmp = make_tmp();
    _cleanup_(fixture_done) struct fixture f = {0};
    _cleanup_free_ char *config = NULL, *x = NULL;
    struct ckpt_archive *a = NULL;
    char names[2048], want[128];
    struct crib_err err;
    struct stat st;

    fixture_init(&f, tmp);
    CHECK_INT(ckpt_archive_write(&f.c, f.dest, 0, &err), 0);
    CHECK_INT(stat(f.dest, &st), 0);
    CHECK_INT(st.st_mode, S_IFREG | 0600);
    CHECK(st.st_uid == 0 && st.st_gid == 0);
    CHECK_INT(count_entries(f.out), 1);
    list_members(f.dest, names, sizeof(names), &config);
    CHECK_CONTAINS(names, "crib.json:");
    CHECK_CONTAINS(names, "config.dump:");
    snprintf(want, sizeof(want),
             "spec.dump:%zu:600:0;cri-config.json:%zu:600:0;deleted.files:", strlen(SPEC),
             strlen(CRI));
    CHECK_CONTAINS(names, want);
    CHECK_CONTAINS(names, "checkpoint/:0:700:0;");
    CHECK_CONTAINS(names, "checkpoint/inventory.img:3:600:0;");
    CHECK_CONTAINS(names, "checkpoint/pages-1.img:4:600:0;");
    CHECK_CONTAINS(names, "rootfs-diff.tar:");
    CHECK_CONTAINS(config, "\"id\": \"0123abcd\"");
    CHECK_CONTAINS(config, "\"rootfsImageRef\": \"docker.io/library/busybox@sha256:ab12\"");
    CHECK_CONTAINS(config, "\"rootfsImageName\": \"docker.io/library/busybox:1.36\"");
    CHECK_CONTAINS(config, "\"createdTime\": \"2023-11-14T22:13:20.123456789Z\"");
    CHECK_CONTAINS(config, "\"checkpointedTime\": \"2023-11-14T22:15:00.000000000Z\"");
    CHECK_CONTAINS(config, "\"runtime\": \"runc\"");
    CHECK_INT(ckpt_archive_open(f.dest, NULL, &a, &err), 0);
    if (!a)
        return 1;
    check_meta(ckpt_archive_meta(a));
    x = xasprintf("%s/x", tmp);
    CHECK_INT(ckpt_archive_extract(a, x, &err), 0);
    check_extracted(x, ckpt_archive_meta(a));
    CHECK_INT(ckpt_archive_extract(a, x, &err), -EEXIST);
    CHECK_INT(err.code, CRIB_EXISTS);
    ckpt_archive_free(a);
    return 0;
}

static int test_ckptarchive_deadline_passed_leaves_nothing(void)
{
    _cleanup_(rm_tree) char *tmp = make_tmp();
    _cleanup_(fixture_done) struct fixture f = {0};
    struct crib_err err;

    fixture_init(&f, tmp);
    CHECK(ckpt_archive_write(&f.c, f.dest, 1, &err) < 0);
    CHECK_INT(err.code, CRIB_TIMEOUT);
    CHECK_CONTAINS(err.msg, "deadline passed");
    CHECK_INT(count_entries(f.out), 0);
    return 0;
}

static int test_ckptarchive_write_refuses_bad_spec(void)
{
    _cleanup_(rm_tree) char *tmp = make_tmp();
    _cleanup_(fixture_done) struct fixture f = {0};
    struct crib_err err;

    fixture_init(&f, tmp);
    f.c.spec_json = "{not json";
    CHECK(ckpt_archive_write(&f.c, f.dest, 0, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, "spec.dump: not JSON");
    CHECK_INT(count_entries(f.out), 0);
    return 0;
}

static int test_ckptarchive_open_missing_file(void)
{
    struct ckpt_archive *a = NULL;
    struct crib_err err;

    CHECK(ckpt_archive_open("/nonexistent/crib/ckpt.tar", NULL, &a, &err) < 0);
    CHECK_INT(err.code, CRIB_NOT_FOUND);
    CHECK(a == NULL);
    return 0;
}

/* ---- hostile archives --------------------------------------------------- */

/* One member; a zero type is a regular file with data (len bytes, or
 * strlen), or fill bytes of 'x', or the tar of inner. */
struct member {
    const char *name;
    mode_t type;
    const char *data;
    size_t fill;
    const char *link, *hardlink;
    const struct member *inner;
};

struct buf {
    char *data;
    size_t len;
};

static struct buf build_tar(const struct member *ms);

static void add_member(struct archive *a, const struct member *m)
{
    struct archive_entry *ae = archive_entry_new();
    _cleanup_free_ char *data = NULL;
    struct buf inner = {0};
    size_t len = m->data ? strlen(m->data) : 0;

    if (m->inner) {
        inner = build_tar(m->inner);
        data = inner.data, len = inner.len;
    } else if (m->fill) {
        data = xmalloc(m->fill), len = m->fill;
        memset(data, 'x', len);
    }
    archive_entry_set_pathname(ae, m->name);
    archive_entry_set_filetype(ae, m->type ? m->type : AE_IFREG);
    archive_entry_set_perm(ae, 0600);
    archive_entry_set_size(ae, m->type ? 0 : (la_int64_t)len);
    if (m->type == AE_IFCHR)
        archive_entry_set_rdev(ae, makedev(1, 3));
    if (m->link)
        archive_entry_set_symlink(ae, m->link);
    if (m->hardlink)
        archive_entry_set_hardlink(ae, m->hardlink), archive_entry_set_size(ae, 0);
    archive_write_header(a, ae);
    if (!m->type && !m->hardlink)
        archive_write_data(a, data ? data : m->data, len);
    archive_entry_free(ae);
}

static struct buf build_tar(const struct member *ms)
{
    struct buf b = {xmalloc(TAR_MAX), 0};
    struct archive *a = archive_write_new();

    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);
    if (archive_write_open_memory(a, b.data, TAR_MAX, &b.len) != ARCHIVE_OK)
        abort();
    for (; ms->name; ms++)
        add_member(a, ms);
    archive_write_close(a);
    archive_write_free(a);
    return b;
}

#define CRIB_OK                                                                                    \
    {                                                                                              \
        .name = "crib.json", .data = "{\"version\": 1, \"handler\": \"runc\"}"                     \
    }
#define CONFIG_OK                                                                                  \
    {                                                                                              \
        .name = "config.dump", .data = "{\"id\": \"abc\", \"name\": \"web\"}"                      \
    }
#define SPEC_OK                                                                                    \
    {                                                                                              \
        .name = "spec.dump", .data = "{}"                                                          \
    }
#define IMAGES_OK                                                                                  \
    {.name = "checkpoint", .type = AE_IFDIR},                                                      \
    {                                                                                              \
        .name = "checkpoint/inventory.img", .data = "I"                                            \
    }
#define BASE CRIB_OK, CONFIG_OK, SPEC_OK, IMAGES_OK
#define DIFF(...)                                                                                  \
    {                                                                                              \
        .name = "rootfs-diff.tar", .inner = (const struct member[])                                \
        {                                                                                          \
            __VA_ARGS__,                                                                           \
            {                                                                                      \
                0                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

struct hostile {
    const char *name;
    struct member ms[8];
    const char *msg;
};

static const struct hostile hostiles[] = {
    {"valid (control)", {BASE, DIFF({.name = "etc/ok", .data = "x"})}, NULL},
    {"no config.dump", {CRIB_OK, SPEC_OK, IMAGES_OK}, "missing member config.dump"},
    {"no spec.dump", {CRIB_OK, CONFIG_OK, IMAGES_OK}, "missing member spec.dump"},
    {"config.dump not JSON",
     {CRIB_OK, {.name = "config.dump", .data = "{\"id\": "}, SPEC_OK, IMAGES_OK},
     "config.dump: not JSON"},
    {"config.dump an array",
     {CRIB_OK, {.name = "config.dump", .data = "[]"}, SPEC_OK, IMAGES_OK},
     "config.dump: not a JSON object"},
    {"config.dump id a number",
     {CRIB_OK, {.name = "config.dump", .data = "{\"id\": 5}"}, SPEC_OK, IMAGES_OK},
     "config.dump: \"id\" is not a string"},
    {"unknown handler",
     {{.name = "crib.json", .data = "{\"version\":1,\"handler\":\"kata\"}"},
      CONFIG_OK,
      SPEC_OK,
      IMAGES_OK},
     "handler 'kata' is not known"},
    {"unknown runtime",
     {{.name = "config.dump", .data = "{\"id\":\"a\",\"runtime\":\"youki\"}"}, SPEC_OK, IMAGES_OK},
     "runtime 'youki' is not a known handler"},
    {"crib.json version 2",
     {{.name = "crib.json", .data = "{\"version\":2,\"handler\":\"runc\"}"},
      CONFIG_OK,
      SPEC_OK,
      IMAGES_OK},
     "version 2 is not known"},
    {"runc without CRIU images",
     {CRIB_OK, CONFIG_OK, SPEC_OK},
     "missing member checkpoint/inventory.img"},
    {"runsc without its state",
     {{.name = "crib.json", .data = "{\"version\":1,\"handler\":\"runsc\"}"},
      CONFIG_OK,
      SPEC_OK,
      IMAGES_OK},
     "missing member checkpoint/checkpoint.img"},
    {"absolute member",
     {BASE, {.name = "/etc/passwd", .data = "x"}},
     "member '/etc/passwd' is absolute"},
    {"dotdot member", {BASE, {.name = "../x", .data = "x"}}, "member '../x' leaves the archive"},
    {"symlink member, file through it",
     {BASE, {.name = "l", .type = AE_IFLNK, .link = "/etc"}, {.name = "l/passwd", .data = "x"}},
     "member 'l' is a symlink"},
    {"hard link member",
     {BASE, {.name = "h", .hardlink = "/etc/shadow"}},
     "member 'h' is a hard link"},
    {"device node member",
     {BASE, {.name = "null", .type = AE_IFCHR}},
     "member 'null' is not a file or dir"},
    {"member twice", {BASE, CONFIG_OK}, "member 'config.dump' appears twice"},
    {"config.dump a dir",
     {CRIB_OK, {.name = "config.dump", .type = AE_IFDIR}, SPEC_OK, IMAGES_OK},
     "config.dump is not a regular file"},
    {"oversized JSON",
     {CRIB_OK, CONFIG_OK, {.name = "spec.dump", .fill = (4u << 20) + 1}, IMAGES_OK},
     "spec.dump is over 4194304 bytes"},
    {"diff dotdot",
     {BASE, DIFF({.name = "../x", .data = "x"})},
     "rootfs-diff.tar: member '../x' leaves the rootfs"},
    {"diff deep dotdot",
     {BASE, DIFF({.name = "a/../../etc/passwd", .data = "x"})},
     "member 'a/../../etc/passwd' leaves the rootfs"},
    {"diff absolute",
     {BASE, DIFF({.name = "/etc/x", .data = "x"})},
     "rootfs-diff.tar: member '/etc/x' leaves the rootfs (absolute path)"},
    {"diff symlink escape",
     {BASE,
      DIFF({.name = "a", .type = AE_IFLNK, .link = "/"}, {.name = "a/etc/passwd", .data = "x"})},
     "member 'a/etc/passwd' goes through symlink 'a'"},
    {"diff hard link absolute",
     {BASE, DIFF({.name = "h", .hardlink = "/etc/shadow"})},
     "hard link target '/etc/shadow' leaves the rootfs"},
    {"diff hard link outside",
     {BASE, DIFF({.name = "h", .hardlink = "../../etc/shadow"})},
     "hard link target '../../etc/shadow' leaves the rootfs"},
    {"diff hard link via symlink",
     {BASE,
      DIFF({.name = "a", .type = AE_IFLNK, .link = "/etc"}, {.name = "h", .hardlink = "a/shadow"})},
     "hard link target 'a/shadow' goes through symlink 'a'"},
    {"diff not a tar",
     {BASE, {.name = "rootfs-diff.tar", .data = "this is no tar at all"}},
     "rootfs-diff.tar: not a tar archive"},
    {"deleted dotdot",
     {BASE, {.name = "deleted.files", .data = "[\"/ok\", \"../../etc\"]"}},
     "deleted.files: '../../etc' leaves the rootfs"},
    {"deleted not an array",
     {BASE, {.name = "deleted.files", .data = "{}"}},
     "deleted.files: not a JSON array"},
    {"deleted not strings",
     {BASE, {.name = "deleted.files", .data = "[1]"}},
     "deleted.files: entry 0 is not a string"},
};

/* Opens buf both from memory and from a file; both must give the same. */
static void check_hostile(const struct hostile *h, const struct buf *b, const char *tmp)
{
    _cleanup_free_ char *path = xasprintf("%s/hostile.tar", tmp), *x = xasprintf("%s/x", tmp);
    struct ckpt_archive *a = NULL, *am = NULL;
    struct crib_err err = {0}, errm = {0};
    int r, rm;

    write_file(path, b->data, b->len);
    r = ckpt_archive_open(path, NULL, &a, &err);
    rm = ckpt_archive_open_memory(b->data, b->len, NULL, &am, &errm);
    printf("  %s: %s\n", h->name, r < 0 ? err.msg : "ok");
    if (!h->msg) {
        CHECK_INT(r, 0);
        CHECK_INT(rm, 0);
        if (a)
            CHECK_INT(ckpt_archive_extract(a, x, &err), 0);
        CHECK_INT(count_entries(x), 5); /* crib.json config.dump spec.dump checkpoint diff */
    } else {
        CHECK(r < 0 && a == NULL && rm < 0 && am == NULL);
        CHECK_INT(err.code, CRIB_INVALID);
        CHECK_INT(errm.code, CRIB_INVALID);
        CHECK_CONTAINS(err.msg, h->msg);
        CHECK_CONTAINS(errm.msg, h->msg);
    }
    ckpt_archive_free(a);
    ckpt_archive_free(am);
    rm_tree(&(char *){xstrdup(x)});
    unlink(path);
}

static int test_ckptarchive_refuses_hostile(void)
{
    _cleanup_(rm_tree) char *tmp = make_tmp();

    for (size_t i = 0; i < ARRAY_SIZE(hostiles); i++) {
        struct buf b = build_tar(hostiles[i].ms);

        check_hostile(&hostiles[i], &b, tmp);
        free(b.data);
    }
    CHECK_INT(count_entries(tmp), 0);
    return 0;
}

static int test_ckptarchive_refuses_bytes_not_tar(void)
{
    unsigned char junk[4096];
    struct ckpt_archive *a = NULL;
    struct crib_err err;
    unsigned seed = 12345;

    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (unsigned char)((seed = seed * 1103515245 + 12345) >> 16);
    CHECK(ckpt_archive_open_memory(junk, sizeof(junk), NULL, &a, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, "not a tar archive");
    CHECK(ckpt_archive_open_memory(junk, 0, NULL, &a, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    return 0;
}

static int test_ckptarchive_refuses_truncated(void)
{
    static const struct member ms[] = {BASE, {.name = "big", .fill = 100000}, {0}};
    struct buf b = build_tar(ms);
    struct ckpt_archive *a = NULL;
    struct crib_err err;

    CHECK(ckpt_archive_open_memory(b.data, b.len / 2, NULL, &a, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, "runcated");
    free(b.data);
    return 0;
}

static int test_ckptarchive_limits(void)
{
    struct member ms[80] = {BASE, {.name = "big", .fill = 5000}};
    char names[60][16];
    struct ckpt_limits few = {.max_members = 50}, small = {.max_bytes = 4000};
    struct ckpt_archive *a = NULL;
    struct crib_err err;
    struct buf b;

    for (int i = 0; i < 60; i++) {
        snprintf(names[i], sizeof(names[i]), "f%d", i);
        ms[6 + i] = (struct member){.name = names[i], .data = "x"};
    }
    b = build_tar(ms);
    CHECK(ckpt_archive_open_memory(b.data, b.len, &few, &a, &err) < 0);
    CHECK_CONTAINS(err.msg, "archive holds over 50 members");
    CHECK(ckpt_archive_open_memory(b.data, b.len, &small, &a, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, "archive holds over 4000 bytes");
    CHECK_INT(ckpt_archive_open_memory(b.data, b.len, NULL, &a, &err), 0);
    ckpt_archive_free(a);
    free(b.data);
    return 0;
}

/* The file is swapped for a hostile one between open and extract (the
 * archive keeps its fd): extraction checks again and removes its dir. */
static int test_ckptarchive_extract_rechecks(void)
{
    static const struct member good[] = {BASE, {.name = "pad", .fill = 3000}, {0}};
    static const struct member bad[] = {BASE, {.name = "../escape", .data = "x"}, {0}};
    _cleanup_(rm_tree) char *tmp = make_tmp();
    _cleanup_free_ char *path = xasprintf("%s/a.tar", tmp), *x = xasprintf("%s/x", tmp);
    struct buf g = build_tar(good), h = build_tar(bad);
    struct ckpt_archive *a = NULL;
    struct crib_err err;

    write_file(path, g.data, g.len);
    CHECK_INT(ckpt_archive_open(path, NULL, &a, &err), 0);
    write_file(path, h.data, h.len); /* same inode: O_TRUNC, not a rename */
    if (a) {
        CHECK(ckpt_archive_extract(a, x, &err) < 0);
        CHECK_INT(err.code, CRIB_INVALID);
        CHECK_CONTAINS(err.msg, "member '../escape' leaves the archive");
    }
    CHECK_INT(access(x, F_OK), -1);
    CHECK_INT(count_entries(tmp), 1);
    ckpt_archive_free(a);
    free(g.data), free(h.data);
    return 0;
}

/* A peer's archive: no crib.json, the handler from config.dump's runtime,
 * deleted paths with a leading "/" as Podman writes them. */
static int test_ckptarchive_reads_peer_layout(void)
{
    static const struct member ms[] = {
        {.name = "config.dump",
         .data = "{\"id\":\"f11d\",\"name\":\"magical\",\"rootfsImageName\":\"quay.io/a/b:latest\","
                 "\"runtime\":\"/usr/bin/crun\",\"createdTime\":\"2023-02-28T09:43:52Z\"}"},
        SPEC_OK,
        IMAGES_OK,
        {.name = "deleted.files", .data = "[\"/etc/motd\"]"},
        {0}};
    struct buf b = build_tar(ms);
    struct ckpt_archive *a = NULL;
    struct crib_err err;

    CHECK_INT(ckpt_archive_open_memory(b.data, b.len, NULL, &a, &err), 0);
    if (a) {
        const struct ckpt_meta *m = ckpt_archive_meta(a);

        CHECK_INT(m->handler, HANDLER_RUNC);
        CHECK_STR(m->image_name, "quay.io/a/b:latest");
        CHECK(m->image_ref == NULL && !m->has_rootfs_diff);
        CHECK_STR(m->deleted->paths[0], "etc/motd");
    }
    ckpt_archive_free(a);
    free(b.data);
    return 0;
}

TEST_MAIN(TEST(test_ckptarchive_round_trip), TEST(test_ckptarchive_deadline_passed_leaves_nothing),
          TEST(test_ckptarchive_write_refuses_bad_spec), TEST(test_ckptarchive_open_missing_file),
          TEST(test_ckptarchive_refuses_hostile), TEST(test_ckptarchive_refuses_bytes_not_tar),
          TEST(test_ckptarchive_refuses_truncated), TEST(test_ckptarchive_limits),
          TEST(test_ckptarchive_extract_rechecks), TEST(test_ckptarchive_reads_peer_layout))
