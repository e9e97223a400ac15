/* Layer unpacking: tar streams built with libarchive's writer, compressed
 * with zlib and libzstd (not the code under test), unpacked into fresh dirs
 * under /tmp. Needs root: owners, device nodes and trusted.* xattrs. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>
#include <zstd.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "storage/unpack.h"

#define TAR_MAX (4u << 20)
#define MTIME 1234567890
#define SECRET "do not touch"

/* One tar entry; a zero type is a regular file. */
struct ent {
    const char *name;
    mode_t type;
    unsigned perm;
    const char *data; /* file content */
    const char *link; /* symlink target */
    const char *hardlink;
    int64_t uid, gid;
    dev_t rdev;
    const char *xattr;
    const void *xattr_value;
    size_t xattr_len;
};

struct buf {
    unsigned char *data;
    size_t len;
};

static void buf_free(struct buf *b)
{
    free(b->data);
}

/* Builds a pax tar of ents (up to one with a NULL name). */
static struct buf make_tar(const struct ent *ents)
{
    struct buf b = {xmalloc(TAR_MAX), 0};
    struct archive *a = archive_write_new();

    archive_write_set_format_pax_restricted(a);
    archive_write_open_memory(a, b.data, TAR_MAX, &b.len);
    for (const struct ent *e = ents; e->name; e++) {
        struct archive_entry *ae = archive_entry_new();
        size_t size = e->data ? strlen(e->data) : 0;

        archive_entry_copy_pathname(ae, e->name);
        archive_entry_set_filetype(ae, e->type ? e->type : AE_IFREG);
        archive_entry_set_perm(ae, e->perm ? e->perm : 0644);
        archive_entry_set_uid(ae, e->uid);
        archive_entry_set_gid(ae, e->gid);
        archive_entry_set_mtime(ae, MTIME, 0);
        archive_entry_set_size(ae, size);
        archive_entry_set_rdev(ae, e->rdev);
        if (e->link)
            archive_entry_copy_symlink(ae, e->link);
        if (e->hardlink)
            archive_entry_copy_hardlink(ae, e->hardlink);
        if (e->xattr)
            archive_entry_xattr_add_entry(ae, e->xattr, e->xattr_value, e->xattr_len);
        /* ARCHIVE_WARN: a UTF-8 name in the C locale, written as raw bytes */
        if (archive_write_header(a, ae) < ARCHIVE_WARN)
            fprintf(stderr, "  tar writer: %s\n", archive_error_string(a));
        if (size)
            archive_write_data(a, e->data, size);
        archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
    return b;
}

static struct buf gzip_buf(const struct buf *in)
{
    struct buf b = {xmalloc(in->len + 1024), 0};
    z_stream z = {0};

    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    z.next_in = in->data;
    z.avail_in = (uInt)in->len;
    z.next_out = b.data;
    z.avail_out = (uInt)(in->len + 1024);
    deflate(&z, Z_FINISH);
    b.len = z.total_out;
    deflateEnd(&z);
    return b;
}

static struct buf zstd_buf(const struct buf *in)
{
    size_t cap = ZSTD_compressBound(in->len);
    struct buf b = {xmalloc(cap), 0};

    b.len = ZSTD_compress(b.data, cap, in->data, in->len, 3);
    return b;
}

/* read_fn over memory, at most chunk bytes a call; fails after fail_at bytes
 * when fail_at is set. */
struct mem_reader {
    const unsigned char *data;
    size_t len, pos, chunk, fail_at;
};

static ssize_t mem_read(void *ctx, void *buf, size_t size, struct crib_err *err)
{
    struct mem_reader *m = ctx;
    size_t n = m->len - m->pos;

    if (m->fail_at && m->pos >= m->fail_at)
        return crib_fail(err, CRIB_UNAVAILABLE, ECONNRESET, "registry went away");
    if (m->chunk && n > m->chunk)
        n = m->chunk;
    if (n > size)
        n = size;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

/* A temp dir holding root/ (the layer dir) and outside/ with one file that
 * no entry may reach. */
struct fixture {
    char tmp[64];
    int root_fd, outside_fd;
    char outside[96];
};

static void fixture_init(struct fixture *f)
{
    char path[128];
    int fd;

    strcpy(f->tmp, "/tmp/crib-unpack-test-XXXXXX");
    if (!mkdtemp(f->tmp))
        abort();
    snprintf(path, sizeof(path), "%s/root", f->tmp);
    mkdir(path, 0755);
    f->root_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    snprintf(f->outside, sizeof(f->outside), "%s/outside", f->tmp);
    mkdir(f->outside, 0755);
    f->outside_fd = open(f->outside, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    fd = openat(f->outside_fd, "secret", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    CHECK_INT(write(fd, SECRET, strlen(SECRET)), strlen(SECRET));
    close(fd);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void fixture_done(struct fixture *f)
{
    close(f->root_fd);
    close(f->outside_fd);
    CHECK_INT(nftw(f->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* outside/ still holds only the untouched secret. */
static void check_outside(struct fixture *f)
{
    _cleanup_closedir_ DIR *d = opendir(f->outside);
    struct dirent *de;
    struct stat st;
    char text[64] = "";
    int n = 0, fd;

    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.';
    CHECK_INT(n, 1);
    CHECK_INT(fstatat(f->outside_fd, "secret", &st, 0), 0);
    CHECK_INT(st.st_nlink, 1);
    fd = openat(f->outside_fd, "secret", O_RDONLY | O_CLOEXEC);
    CHECK(read(fd, text, sizeof(text) - 1) >= 0);
    close(fd);
    CHECK_STR(text, SECRET);
}

static int unpack_buf(struct fixture *f, const struct buf *b, enum unpack_compression c,
                      size_t chunk, struct unpack_result *res, struct crib_err *err)
{
    struct mem_reader m = {.data = b->data, .len = b->len, .chunk = chunk};
    struct unpack_options opts = {.compression = c, .max_unpacked_bytes = 64u << 20};

    return unpack_layer(f->root_fd, mem_read, &m, &opts, res, err);
}

/* Reads a file of the layer into a static buffer. */
static const char *slurp(struct fixture *f, const char *path)
{
    static char text[4096];
    int fd = openat(f->root_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);

    if (fd >= 0)
        close(fd);
    text[n < 0 ? 0 : n] = '\0';
    return text;
}

static int need_root(void)
{
    if (geteuid() == 0)
        return 0;
    printf("  needs root (chown, mknod, trusted.* xattrs)\n");
    return TEST_SKIP;
}

static const struct ent simple_ents[] = {
    {.name = "hello.txt", .data = "hello, layer\n"},
    {.name = "dir/", .type = AE_IFDIR, .perm = 0755},
    {.name = "dir/f", .data = "in a dir"},
    {0},
};

static int test_unpack_digests_for_each_compression(void)
{
    static const struct {
        enum unpack_compression mode;
        int wire; /* 0 plain, 1 gzip, 2 zstd */
        size_t chunk;
    } cases[] = {
        {UNPACK_NONE, 0, 0}, {UNPACK_GZIP, 1, 0}, {UNPACK_ZSTD, 2, 0},
        {UNPACK_AUTO, 0, 0}, {UNPACK_AUTO, 1, 1}, {UNPACK_AUTO, 2, 1},
        {UNPACK_AUTO, 0, 3}, {UNPACK_AUTO, 1, 7}, {UNPACK_AUTO, 2, 13},
    };
    char want_diff[DIGEST_MAX_STR], want_comp[DIGEST_MAX_STR];
    struct buf tar;

    if (need_root())
        return TEST_SKIP;
    tar = make_tar(simple_ents);
    digest_sha256(tar.data, tar.len, want_diff);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct buf wire = cases[i].wire == 1   ? gzip_buf(&tar)
                          : cases[i].wire == 2 ? zstd_buf(&tar)
                                               : (struct buf){xmalloc(tar.len), tar.len};
        struct unpack_result res;
        struct crib_err err;
        struct fixture f;

        if (cases[i].wire == 0)
            memcpy(wire.data, tar.data, tar.len);
        fixture_init(&f);
        digest_sha256(wire.data, wire.len, want_comp);
        if (unpack_buf(&f, &wire, cases[i].mode, cases[i].chunk, &res, &err) < 0)
            fprintf(stderr, "  case %zu: %s\n", i, err.msg);
        CHECK_STR(res.diff_id, want_diff);
        CHECK_STR(res.compressed_digest, want_comp);
        CHECK_INT(res.tar_bytes, tar.len);
        CHECK_INT(res.compressed_bytes, wire.len);
        CHECK_INT(res.n_inodes, 3);
        CHECK_INT(res.content_bytes, strlen("hello, layer\n") + strlen("in a dir"));
        CHECK_STR(slurp(&f, "hello.txt"), "hello, layer\n");
        CHECK_STR(slurp(&f, "dir/f"), "in a dir");
        fixture_done(&f);
        buf_free(&wire);
    }
    buf_free(&tar);
    return 0;
}

/* pigz and concatenation write several gzip members; all are one stream. */
static int test_unpack_multimember_gzip(void)
{
    struct buf tar, half1, half2, g1, g2, both;
    char want[DIGEST_MAX_STR];

    if (need_root())
        return TEST_SKIP;
    tar = make_tar(simple_ents);
    half1 = (struct buf){tar.data, 700};
    half2 = (struct buf){tar.data + 700, tar.len - 700};
    g1 = gzip_buf(&half1);
    g2 = gzip_buf(&half2);
    both = (struct buf){xmalloc(g1.len + g2.len), g1.len + g2.len};
    memcpy(both.data, g1.data, g1.len);
    memcpy(both.data + g1.len, g2.data, g2.len);
    digest_sha256(tar.data, tar.len, want);
    /* Small reads put member boundaries and headers across reads. */
    for (size_t chunk = 0; chunk < 12; chunk += 5) {
        struct unpack_result res;
        struct crib_err err;
        struct fixture f;

        fixture_init(&f);
        CHECK_INT(unpack_buf(&f, &both, UNPACK_AUTO, chunk, &res, &err), 0);
        CHECK_STR(res.diff_id, want);
        CHECK_STR(slurp(&f, "dir/f"), "in a dir");
        fixture_done(&f);
    }
    buf_free(&tar), buf_free(&g1), buf_free(&g2), buf_free(&both);
    return 0;
}

/* The OCI "empty layer": 1024 zero bytes, whose diff_id everyone knows. */
static int test_unpack_empty_layer(void)
{
    struct unpack_result res;
    struct crib_err err;
    struct fixture f;
    struct buf tar, gz;

    if (need_root())
        return TEST_SKIP;
    tar = (struct buf){xcalloc(1, 1024), 1024};
    gz = gzip_buf(&tar);
    fixture_init(&f);
    CHECK_INT(unpack_buf(&f, &gz, UNPACK_AUTO, 0, &res, &err), 0);
    CHECK_STR(res.diff_id,
              "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef");
    CHECK_INT(res.n_inodes, 0);
    fixture_done(&f);
    buf_free(&tar), buf_free(&gz);
    return 0;
}

/* vfs_cap_data revision 2, effective, CAP_NET_BIND_SERVICE permitted. */
static const unsigned char cap_value[20] = {0x01, 0, 0, 0x02, 0, 0x04};

static const struct ent meta_ents[] = {
    {.name = "./", .type = AE_IFDIR, .perm = 0711},
    {.name = "bin/", .type = AE_IFDIR, .perm = 0750, .uid = 1000, .gid = 1000},
    {.name = "bin/su", .perm = 04755, .data = "#!/bin/su\n", .uid = 1000, .gid = 1000},
    {.name = "bin/ping",
     .perm = 0755,
     .data = "ping",
     .xattr = "security.capability",
     .xattr_value = cap_value,
     .xattr_len = sizeof(cap_value)},
    {.name = "bin/x", .data = "x", .xattr = "user.x", .xattr_value = "hi", .xattr_len = 2},
    {.name = "bin/true",
     .type = AE_IFLNK,
     .link = "/usr/bin/true",
     .uid = 1000,
     .gid = 1000,
     .xattr = "trusted.link",
     .xattr_value = "l",
     .xattr_len = 1},
    {.name = "bin/su2", .hardlink = "bin/su"},
    {.name = "deep/er/file", .data = "implicit parents"},
    {.name = "run/fifo", .type = AE_IFIFO, .perm = 0620},
    {.name = "dev/null", .type = AE_IFCHR, .perm = 0666, .rdev = 0x103},
    {.name = "keep/",
     .type = AE_IFDIR,
     .xattr = "trusted.overlay.opaque",
     .xattr_value = "y",
     .xattr_len = 1},
    {.name = "caf\xc3\xa9/\xe6\x97\xa5.txt", .data = "utf-8"},
    {0},
};

static void check_stat(struct fixture *f, const char *path, mode_t mode, uid_t uid)
{
    struct stat st;

    CHECK_INT(fstatat(f->root_fd, path, &st, AT_SYMLINK_NOFOLLOW), 0);
    if (!S_ISLNK(st.st_mode))
        CHECK_INT(st.st_mode, mode);
    CHECK_INT(st.st_uid, uid);
    CHECK_INT(st.st_gid, uid);
    if (strncmp(path, "deep", 4) != 0 && strcmp(path, "run") != 0)
        CHECK_INT(st.st_mtim.tv_sec, MTIME);
}

static int test_unpack_keeps_metadata(void)
{
    struct unpack_result res;
    struct crib_err err;
    struct fixture f;
    struct stat st, st2;
    struct buf tar, gz;
    char val[64];

    if (need_root())
        return TEST_SKIP;
    tar = make_tar(meta_ents);
    gz = gzip_buf(&tar);
    fixture_init(&f);
    CHECK_INT(unpack_buf(&f, &gz, UNPACK_AUTO, 0, &res, &err), 0);
    check_stat(&f, ".", S_IFDIR | 0711, 0);
    check_stat(&f, "bin", S_IFDIR | 0750, 1000);
    check_stat(&f, "bin/su", S_IFREG | 04755, 1000);
    check_stat(&f, "bin/true", 0, 1000);
    check_stat(&f, "run/fifo", S_IFIFO | 0620, 0);
    check_stat(&f, "dev/null", S_IFCHR | 0666, 0);
    check_stat(&f, "deep", S_IFDIR | 0755, 0);
    check_stat(&f, "deep/er", S_IFDIR | 0755, 0);
    CHECK_INT(fstatat(f.root_fd, "dev/null", &st, 0), 0);
    CHECK_INT(st.st_rdev, makedev(1, 3));
    CHECK_INT(readlinkat(f.root_fd, "bin/true", val, sizeof(val)), strlen("/usr/bin/true"));
    CHECK_INT(fstatat(f.root_fd, "bin/su", &st, 0), 0);
    CHECK_INT(fstatat(f.root_fd, "bin/su2", &st2, 0), 0);
    CHECK_INT(st.st_ino, st2.st_ino);
    CHECK_INT(st.st_nlink, 2);
    CHECK_STR(slurp(&f, "deep/er/file"), "implicit parents");
    CHECK_STR(slurp(&f, "caf\xc3\xa9/\xe6\x97\xa5.txt"), "utf-8");
    CHECK_INT(getxattr(f.tmp, "user.x", val, 0), -1); /* nothing leaked onto tmp */
    {
        char p[160];

        snprintf(p, sizeof(p), "%s/root/bin/x", f.tmp);
        CHECK_INT(getxattr(p, "user.x", val, sizeof(val)), 2);
        snprintf(p, sizeof(p), "%s/root/bin/ping", f.tmp);
        CHECK_INT(getxattr(p, "security.capability", val, sizeof(val)), sizeof(cap_value));
        CHECK(memcmp(val, cap_value, sizeof(cap_value)) == 0);
        snprintf(p, sizeof(p), "%s/root/bin/true", f.tmp);
        CHECK_INT(lgetxattr(p, "trusted.link", val, sizeof(val)), 1);
        snprintf(p, sizeof(p), "%s/root/keep", f.tmp);
        CHECK_INT(getxattr(p, "trusted.overlay.opaque", val, sizeof(val)), 1);
    }
    /* 11 entries, hardlink excluded, plus deep, deep/er, run, dev, café */
    CHECK_INT(res.n_inodes, 10 + 5);
    CHECK_INT(res.content_bytes, strlen("#!/bin/su\n") + 4 + 1 + 16 + 5);
    fixture_done(&f);
    buf_free(&tar), buf_free(&gz);
    return 0;
}

static int test_unpack_whiteouts(void)
{
    static const struct ent ents[] = {
        {.name = "etc/.wh.passwd"},
        {.name = "usr/", .type = AE_IFDIR},
        {.name = "usr/.wh..wh..opq"},
        {.name = ".wh..wh.plnk/", .type = AE_IFDIR},
        {.name = "var/x", .data = "gone"},
        {.name = "var/.wh.x"},
        {.name = ".wh.top"},
        {0},
    };
    struct unpack_result res;
    struct crib_err err;
    struct fixture f;
    struct stat st;
    struct buf tar;
    char p[160], val[8];

    if (need_root())
        return TEST_SKIP;
    tar = make_tar(ents);
    fixture_init(&f);
    CHECK_INT(unpack_buf(&f, &tar, UNPACK_NONE, 0, &res, &err), 0);
    for (size_t i = 0; i < 3; i++) {
        static const char *const outs[] = {"etc/passwd", "var/x", "top"};

        CHECK_INT(fstatat(f.root_fd, outs[i], &st, AT_SYMLINK_NOFOLLOW), 0);
        CHECK(S_ISCHR(st.st_mode));
        CHECK_INT(st.st_rdev, makedev(0, 0));
    }
    snprintf(p, sizeof(p), "%s/root/usr", f.tmp);
    CHECK_INT(getxattr(p, "trusted.overlay.opaque", val, sizeof(val)), 1);
    CHECK(val[0] == 'y');
    CHECK_INT(fstatat(f.root_fd, "usr/.wh..wh..opq", &st, 0), -1);
    CHECK_INT(fstatat(f.root_fd, ".wh..wh.plnk", &st, 0), -1);
    CHECK_INT(fstatat(f.root_fd, "etc/.wh.passwd", &st, 0), -1);
    fixture_done(&f);
    buf_free(&tar);
    return 0;
}

static int test_unpack_later_entry_replaces_earlier(void)
{
    static const struct ent ents[] = {
        {.name = "a", .data = "one"},
        {.name = "a", .data = "two"},
        {.name = "b/c/d", .data = "tree"},
        {.name = "b", .data = "file now"},
        {.name = "c", .data = "file"},
        {.name = "c/", .type = AE_IFDIR, .perm = 0700},
        {.name = "d", .type = AE_IFLNK, .link = "a"},
        {.name = "d", .data = "not a link"},
        {0},
    };
    struct unpack_result res;
    struct crib_err err;
    struct fixture f;
    struct stat st;
    struct buf tar;

    if (need_root())
        return TEST_SKIP;
    tar = make_tar(ents);
    fixture_init(&f);
    CHECK_INT(unpack_buf(&f, &tar, UNPACK_NONE, 0, &res, &err), 0);
    CHECK_STR(slurp(&f, "a"), "two");
    CHECK_STR(slurp(&f, "b"), "file now");
    CHECK_INT(fstatat(f.root_fd, "c", &st, AT_SYMLINK_NOFOLLOW), 0);
    CHECK_INT(st.st_mode, S_IFDIR | 0700);
    CHECK_STR(slurp(&f, "d"), "not a link");
    fixture_done(&f);
    buf_free(&tar);
    return 0;
}

/* Hostile streams: each is refused with the code and message shown, and
 * outside/ (OUT below, put in by the runner) stays as it was. */
#define OUT "@OUTSIDE@"
static const struct hostile {
    const char *what;
    struct ent ents[4];
    const char *msg;
} hostile_cases[] = {
    {"dotdot", {{.name = "../x", .data = "x"}}, "layer entry '../x': path leaves the layer"},
    {"absolute", {{.name = "/etc/x", .data = "x"}}, "layer entry '/etc/x': path is absolute"},
    {"inner dotdot", {{.name = "a/../../x"}}, "path leaves the layer"},
    {"hardlink dotdot",
     {{.name = "h", .hardlink = "../../etc/passwd"}},
     "layer entry 'h': hardlink target '../../etc/passwd' leaves the layer"},
    {"hardlink absolute",
     {{.name = "h", .hardlink = "/etc/passwd"}},
     "hardlink target '/etc/passwd' is absolute"},
    {"hardlink missing", {{.name = "h", .hardlink = "nope"}}, "target 'nope' does not exist"},
    {"hardlink to dir",
     {{.name = "d/", .type = AE_IFDIR}, {.name = "h", .hardlink = "d"}},
     "is a dir"},
    {"symlink parent",
     {{.name = "symlink", .type = AE_IFLNK, .link = OUT}, {.name = "symlink/secret", .data = "x"}},
     "layer entry 'symlink/secret': parent path goes through a symlink"},
    {"symlink to /etc",
     {{.name = "symlink", .type = AE_IFLNK, .link = "/etc"}, {.name = "symlink/passwd"}},
     "parent path goes through a symlink"},
    {"relative symlink parent",
     {{.name = "d/l", .type = AE_IFLNK, .link = "../../outside"}, {.name = "d/l/secret"}},
     "parent path goes through a symlink"},
    {"symlink chain",
     {{.name = "l1", .type = AE_IFLNK, .link = "l2"},
      {.name = "l2", .type = AE_IFLNK, .link = OUT},
      {.name = "l1/secret", .data = "x"}},
     "layer entry 'l1/secret': parent path goes through a symlink"},
    {"hardlink via symlink",
     {{.name = "s", .type = AE_IFLNK, .link = OUT}, {.name = "h", .hardlink = "s/secret"}},
     "hardlink target 's/secret' goes through a symlink"},
    {"whiteout via symlink",
     {{.name = "s", .type = AE_IFLNK, .link = OUT}, {.name = "s/.wh.secret"}},
     "layer entry 's/.wh.secret': parent path goes through a symlink"},
    {"opaque via symlink",
     {{.name = "s", .type = AE_IFLNK, .link = OUT}, {.name = "s/.wh..wh..opq"}},
     "parent path goes through a symlink"},
    {"file as parent", {{.name = "f"}, {.name = "f/x"}}, "parent path goes through a non-dir"},
    {"whiteout of dot", {{.name = "a/.wh.."}}, "whiteout of '.'"},
    {"root as file", {{.name = ".", .data = "x"}}, "the layer dir itself as a non-dir"},
    {"uid out of range", {{.name = "u", .uid = 4294967295}}, "owner 4294967295:0 out of range"},
};

static int test_unpack_refuses_hostile_entries(void)
{
    if (need_root())
        return TEST_SKIP;
    for (size_t i = 0; i < ARRAY_SIZE(hostile_cases); i++) {
        const struct hostile *h = &hostile_cases[i];
        struct ent ents[4];
        struct unpack_result res;
        struct crib_err err = {0};
        struct fixture f;
        struct buf tar;

        fixture_init(&f);
        memcpy(ents, h->ents, sizeof(ents));
        for (size_t j = 0; ents[j].name; j++)
            if (ents[j].link && strcmp(ents[j].link, OUT) == 0)
                ents[j].link = f.outside;
        tar = make_tar(ents);
        if (unpack_buf(&f, &tar, UNPACK_AUTO, 0, &res, &err) >= 0)
            fprintf(stderr, "  case '%s' was accepted\n", h->what);
        CHECK_INT(err.code, CRIB_INVALID);
        CHECK_CONTAINS(err.msg, h->msg);
        check_outside(&f);
        fixture_done(&f);
        buf_free(&tar);
    }
    return 0;
}

/* A gzip stream of a 1 GiB file of zeros, made as it is read: a bomb that
 * never sits in memory. */
struct bomb {
    z_stream z;
    unsigned char header[512];
    uint64_t fed, total;
    bool is_done;
};

static void bomb_init(struct bomb *b)
{
    unsigned sum = 0;

    memset(b, 0, sizeof(*b));
    b->total = 512 + (1ull << 30) + 1024;
    memcpy(b->header, "big", 3);
    memcpy(b->header + 100, "0000644", 7);
    memcpy(b->header + 108, "0000000", 7);
    memcpy(b->header + 116, "0000000", 7);
    memcpy(b->header + 124, "10000000000", 11); /* 1 GiB, octal */
    memcpy(b->header + 136, "00000000000", 11);
    memset(b->header + 148, ' ', 8);
    b->header[156] = '0';
    memcpy(b->header + 257, "ustar\00000", 8);
    for (int i = 0; i < 512; i++)
        sum += b->header[i];
    snprintf((char *)b->header + 148, 8, "%06o", sum);
    deflateInit2(&b->z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

static ssize_t bomb_read(void *ctx, void *buf, size_t size, struct crib_err *err)
{
    static const unsigned char zeros[1 << 16];
    struct bomb *b = ctx;

    (void)err;
    b->z.next_out = buf;
    b->z.avail_out = (uInt)size;
    while (b->z.avail_out == size && !b->is_done) {
        const unsigned char *in = b->fed < 512 ? b->header : zeros;
        uint64_t n = b->fed < 512 ? 512 : sizeof(zeros);

        if (n > b->total - b->fed)
            n = b->total - b->fed;
        b->z.next_in = (unsigned char *)in;
        b->z.avail_in = (uInt)n;
        b->is_done = deflate(&b->z, b->fed + n == b->total ? Z_FINISH : Z_NO_FLUSH) == Z_STREAM_END;
        b->fed += n - b->z.avail_in;
    }
    return (ssize_t)(size - b->z.avail_out);
}

static int test_unpack_stops_decompression_bomb(void)
{
    struct unpack_options opts = {.compression = UNPACK_AUTO, .max_unpacked_bytes = 10u << 20};
    struct unpack_result res;
    struct crib_err err = {0};
    struct fixture f;
    struct bomb b;
    time_t start = time(NULL);

    if (need_root())
        return TEST_SKIP;
    fixture_init(&f);
    bomb_init(&b);
    CHECK(unpack_layer(f.root_fd, bomb_read, &b, &opts, &res, &err) < 0);
    CHECK_INT(err.code, CRIB_LIMIT);
    CHECK_CONTAINS(err.msg, "layer unpacks to more than 10485760 bytes");
    CHECK(b.fed < (64u << 20));
    CHECK(time(NULL) - start < 10);
    deflateEnd(&b.z);
    fixture_done(&f);
    return 0;
}

/* Unpacks b with compression c and expects CRIB_INVALID with msg. */
static void check_broken(const struct buf *b, enum unpack_compression c, const char *msg)
{
    struct unpack_result res;
    struct crib_err err = {0};
    struct fixture f;

    fixture_init(&f);
    CHECK(unpack_buf(&f, b, c, 0, &res, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, msg);
    fixture_done(&f);
}

/* Streams that end early or are not what they claim. */
static int test_unpack_refuses_broken_streams(void)
{
    static const struct ent ents[] = {
        {.name = "big",
         .data = "0123456789012345678901234567890123456789012345678901234567890123456789"
                 "0123456789012345678901234567890123456789012345678901234567890123456789"},
        {0},
    };
    struct buf tar, gz, zs, gz_junk, cut;

    if (need_root())
        return TEST_SKIP;
    tar = make_tar(ents);
    gz = gzip_buf(&tar);
    zs = zstd_buf(&tar);
    check_broken(&(struct buf){gz.data, gz.len - 8}, UNPACK_AUTO, "truncated gzip stream");
    check_broken(&(struct buf){gz.data, gz.len / 2}, UNPACK_AUTO, "truncated");
    check_broken(&(struct buf){zs.data, zs.len - 3}, UNPACK_AUTO, "truncated zstd stream");
    check_broken(&(struct buf){tar.data, 512 + 100}, UNPACK_AUTO, "truncated tar stream");
    check_broken(&tar, UNPACK_GZIP, "corrupt gzip stream: bad gzip header");
    check_broken(&tar, UNPACK_ZSTD, "corrupt zstd stream");
    cut = (struct buf){(unsigned char *)"this is not a tar stream, not even close", 40};
    check_broken(&cut, UNPACK_AUTO, "bad tar stream");
    cut = (struct buf){(unsigned char *)"\x1f\x8b\x08\x00garbage garbage", 19};
    check_broken(&cut, UNPACK_AUTO, "corrupt gzip stream");
    cut = (struct buf){(unsigned char *)"\x28\xb5\x2f\xfdgarbage garbage", 19};
    check_broken(&cut, UNPACK_AUTO, "corrupt zstd stream");
    /* Go's gzip reader (containerd, docker) refuses data after the last member too. */
    gz_junk = (struct buf){xmalloc(gz.len + 4), gz.len + 4};
    memcpy(gz_junk.data, gz.data, gz.len);
    memcpy(gz_junk.data + gz.len, "junk", 4);
    check_broken(&gz_junk, UNPACK_AUTO, "corrupt gzip stream: data after its end");
    buf_free(&tar), buf_free(&gz), buf_free(&zs), buf_free(&gz_junk);
    return 0;
}

static int test_unpack_passes_read_error_through(void)
{
    struct unpack_options opts = {.compression = UNPACK_AUTO};
    struct buf tar, gz;

    if (need_root())
        return TEST_SKIP;
    tar = make_tar(simple_ents);
    gz = gzip_buf(&tar);
    for (size_t at = 1; at < gz.len; at += gz.len / 3) {
        struct mem_reader m = {.data = gz.data, .len = gz.len, .chunk = 16, .fail_at = at};
        struct unpack_result res;
        struct crib_err err = {0};
        struct fixture f;

        fixture_init(&f);
        CHECK(unpack_layer(f.root_fd, mem_read, &m, &opts, &res, &err) < 0);
        CHECK_INT(err.code, CRIB_UNAVAILABLE);
        CHECK_INT(err.errnum, ECONNRESET);
        CHECK_CONTAINS(err.msg, "registry went away");
        fixture_done(&f);
    }
    buf_free(&tar), buf_free(&gz);
    return 0;
}

TEST_MAIN(TEST(test_unpack_digests_for_each_compression), TEST(test_unpack_multimember_gzip),
          TEST(test_unpack_empty_layer), TEST(test_unpack_keeps_metadata),
          TEST(test_unpack_whiteouts), TEST(test_unpack_later_entry_replaces_earlier),
          TEST(test_unpack_refuses_hostile_entries), TEST(test_unpack_stops_decompression_bomb),
          TEST(test_unpack_refuses_broken_streams), TEST(test_unpack_passes_read_error_through))
