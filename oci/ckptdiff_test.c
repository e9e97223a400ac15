/* The rootfs diff: a fake overlay upper dir under /tmp written as a tar,
 * read back with libarchive, applied to a fresh upper dir; hostile diffs
 * built with libarchive's writer. Whiteouts and trusted.* xattrs need root:
 * those cases skip, saying so, without it. */
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
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "oci/ckptdiff.h"

#define TAR_MAX (1u << 20)

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* A fresh dir under /tmp; removed with rm_tree. */
static char *make_tmp(void)
{
    char *dir = xstrdup("/tmp/crib-ckptdiff-XXXXXX");

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

static void write_file(const char *path, const char *data, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

    if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data))
        abort();
    close(fd);
    chmod(path, mode);
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

/* What the test upper dir's tar holds, entry by entry. */
struct seen {
    bool motd, link_to_motd, symlink, fifo, opq_new, user_xattr, overlay_xattr, removed;
    uid_t motd_uid;
    unsigned motd_perm;
};

static void note_entry(struct archive_entry *ae, struct seen *s)
{
    const char *name = archive_entry_pathname(ae), *xname;
    const void *value;
    size_t size;

    archive_entry_xattr_reset(ae);
    while (archive_entry_xattr_next(ae, &xname, &value, &size) == ARCHIVE_OK) {
        s->user_xattr |= strcmp(xname, "user.test") == 0;
        s->overlay_xattr |= strncmp(xname, "trusted.overlay.", 16) == 0;
    }
    if (strcmp(name, "etc/motd") == 0) {
        s->motd = archive_entry_filetype(ae) == AE_IFREG && archive_entry_size(ae) == 5;
        s->motd_uid = (uid_t)archive_entry_uid(ae);
        s->motd_perm = archive_entry_perm(ae);
    }
    if (strcmp(name, "etc/motd.link") == 0)
        s->link_to_motd =
            archive_entry_hardlink(ae) && strcmp(archive_entry_hardlink(ae), "etc/motd") == 0;
    if (strcmp(name, "bin/sh") == 0)
        s->symlink = archive_entry_filetype(ae) == AE_IFLNK &&
                     strcmp(archive_entry_symlink(ae), "/bin/busybox") == 0;
    s->fifo |= strcmp(name, "run/fifo") == 0 && archive_entry_filetype(ae) == AE_IFIFO;
    s->opq_new |= strcmp(name, "opq/new") == 0;
    s->removed |= strcmp(name, "etc/removed") == 0;
}

static void read_tar(const char *path, struct seen *s)
{
    struct archive *a = archive_read_new();
    struct archive_entry *ae;

    archive_read_support_format_tar(a);
    if (archive_read_open_filename(a, path, 4096) != ARCHIVE_OK)
        abort();
    while (archive_read_next_header(a, &ae) == ARCHIVE_OK)
        note_entry(ae, s);
    archive_read_free(a);
}

/* The fake upper dir; returns whether the root-only parts (whiteout,
 * opaque dir, trusted xattr) could be made. */
static bool make_upper(const char *up)
{
    char p[512], q[512];
    bool is_root_ok = true;

    snprintf(p, sizeof(p), "%s/etc", up), mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/etc/motd", up), write_file(p, "hello", 0640);
    if (lchown(p, 1000, 1000) < 0 || setxattr(p, "user.test", "v", 1, 0) < 0)
        is_root_ok = false;
    snprintf(q, sizeof(q), "%s/etc/motd.link", up);
    if (link(p, q) < 0)
        abort();
    snprintf(p, sizeof(p), "%s/bin", up), mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/bin/sh", up);
    if (symlink("/bin/busybox", p) < 0)
        abort();
    snprintf(p, sizeof(p), "%s/run", up), mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/run/fifo", up), mkfifo(p, 0600);
    snprintf(p, sizeof(p), "%s/etc/removed", up);
    if (mknod(p, S_IFCHR, makedev(0, 0)) < 0)
        is_root_ok = false;
    snprintf(p, sizeof(p), "%s/opq", up), mkdir(p, 0755);
    if (setxattr(p, "trusted.overlay.opaque", "y", 1, 0) < 0 ||
        setxattr(p, "trusted.overlay.origin", "zz", 2, 0) < 0)
        is_root_ok = false;
    snprintf(p, sizeof(p), "%s/opq/new", up), write_file(p, "new", 0644);
    return is_root_ok;
}

static void check_applied(const char *up2)
{
    char p[512], target[64] = "";
    struct stat st, st2;
    char opaque[4] = "";

    snprintf(p, sizeof(p), "%s/etc/motd", up2);
    CHECK_INT(lstat(p, &st), 0);
    CHECK_INT(st.st_uid, 1000);
    CHECK_INT(st.st_mode & 07777, 0640);
    snprintf(p, sizeof(p), "%s/etc/motd.link", up2);
    CHECK_INT(lstat(p, &st2), 0);
    CHECK_INT(st2.st_ino, st.st_ino);
    snprintf(p, sizeof(p), "%s/bin/sh", up2);
    CHECK(readlink(p, target, sizeof(target) - 1) > 0);
    CHECK_STR(target, "/bin/busybox");
    snprintf(p, sizeof(p), "%s/run/fifo", up2);
    CHECK(lstat(p, &st) == 0 && S_ISFIFO(st.st_mode));
    snprintf(p, sizeof(p), "%s/etc/removed", up2);
    CHECK(lstat(p, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
    snprintf(p, sizeof(p), "%s/opq", up2);
    CHECK_INT(getxattr(p, "trusted.overlay.opaque", opaque, sizeof(opaque)), 1);
    CHECK_INT(getxattr(p, "trusted.overlay.origin", opaque, sizeof(opaque)), -1);
    snprintf(p, sizeof(p), "%s/opq/new", up2);
    CHECK_INT(access(p, F_OK), 0);
}

static int test_ckptdiff_write_read_apply(void)
{
    _cleanup_(rm_tree) char *tmp = make_tmp();
    _cleanup_free_ char *up = xasprintf("%s/upper", tmp), *up2 = xasprintf("%s/upper2", tmp);
    _cleanup_free_ char *tar = xasprintf("%s/diff.tar", tmp);
    struct ckpt_deleted del = {0};
    struct seen s = {0};
    struct crib_err err;
    int fd;

    mkdir(up, 0755);
    mkdir(up2, 0755);
    if (!make_upper(up)) {
        printf("  needs root: whiteouts (mknod 0/0), trusted.* xattrs, chown\n");
        return TEST_SKIP;
    }
    fd = open(tar, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    CHECK_INT(ckpt_diff_write(up, fd, 0, &del, &err), 0);
    close(fd);
    CHECK_INT(del.n_paths, 2);
    if (del.n_paths == 2) {
        CHECK_STR(del.paths[0], "etc/removed");
        CHECK_STR(del.paths[1], "opq");
    }
    read_tar(tar, &s);
    CHECK(s.motd && s.link_to_motd && s.symlink && s.fifo && s.opq_new && s.user_xattr);
    CHECK(!s.overlay_xattr && !s.removed);
    CHECK_INT(s.motd_uid, 1000);
    CHECK_INT(s.motd_perm, 0640);
    CHECK_INT(ckpt_diff_apply(tar, &del, up2, &err), 0);
    check_applied(up2);
    ckpt_deleted_done(&del);
    return 0;
}

static int test_ckptdiff_write_deadline_passed(void)
{
    _cleanup_(rm_tree) char *tmp = make_tmp();
    _cleanup_free_ char *f = xasprintf("%s/f", tmp);
    struct ckpt_deleted del = {0};
    struct crib_err err;
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

    write_file(f, "x", 0644);
    CHECK(ckpt_diff_write(tmp, fd, 1, &del, &err) < 0);
    CHECK_INT(err.code, CRIB_TIMEOUT);
    CHECK_INT(del.n_paths, 0);
    close(fd);
    return 0;
}

/* One entry of a hostile diff; a zero type is a regular file. */
struct ent {
    const char *name;
    mode_t type;
    const char *link, *hardlink;
};

static void write_tar(const char *path, const struct ent *ents)
{
    struct archive *a = archive_write_new();

    archive_write_set_format_pax_restricted(a);
    if (archive_write_open_filename(a, path) != ARCHIVE_OK)
        abort();
    for (; ents->name; ents++) {
        struct archive_entry *ae = archive_entry_new();

        archive_entry_set_pathname(ae, ents->name);
        archive_entry_set_filetype(ae, ents->type ? ents->type : AE_IFREG);
        archive_entry_set_perm(ae, 0644);
        archive_entry_set_size(ae, ents->type ? 0 : 1);
        if (ents->link)
            archive_entry_set_symlink(ae, ents->link);
        if (ents->hardlink) {
            archive_entry_set_hardlink(ae, ents->hardlink);
            archive_entry_set_size(ae, 0);
        }
        archive_write_header(a, ae);
        if (!ents->type && !ents->hardlink)
            archive_write_data(a, "x", 1);
        archive_entry_free(ae);
    }
    archive_write_free(a);
}

struct apply_case {
    const char *name;
    struct ent ents[4];
    const char *deleted;
    const char *msg;
};

/* OUT is replaced by the dir beside the upper dir that nothing may reach. */
#define F(n)                                                                                       \
    {                                                                                              \
        .name = n                                                                                  \
    }
#define L(n, t)                                                                                    \
    {                                                                                              \
        .name = n, .type = AE_IFLNK, .link = t                                                     \
    }
#define H(n, t)                                                                                    \
    {                                                                                              \
        .name = n, .hardlink = t                                                                   \
    }
static const struct apply_case apply_cases[] = {
    {"dotdot", {F("../x")}, NULL, "path leaves the layer"},
    {"absolute", {F("/etc/x")}, NULL, "path is absolute"},
    {"symlink escape", {L("a", "OUT"), F("a/victim")}, NULL, "through a symlink"},
    {"hardlink outside", {H("h", "../outside/victim")}, NULL, "leaves the layer"},
    {"hardlink absolute", {H("h", "/etc/passwd")}, NULL, "is absolute"},
    {"deleted through symlink", {L("a", "OUT")}, "a/victim", "goes through a symlink"},
    {"deleted dotdot", {F("f")}, "../outside/victim", "has a '..' component"},
};

static int run_apply_case(const struct apply_case *c, const char *tmp)
{
    _cleanup_free_ char *tar = xasprintf("%s/hostile.tar", tmp), *up = xasprintf("%s/up", tmp);
    _cleanup_free_ char *out = xasprintf("%s/outside", tmp);
    _cleanup_free_ char *victim = xasprintf("%s/victim", out);
    struct ent ents[4];
    char *paths[1] = {(char *)c->deleted};
    struct ckpt_deleted del = {paths, c->deleted ? 1 : 0};
    struct crib_err err = {0};
    int r;

    memcpy(ents, c->ents, sizeof(ents));
    for (size_t i = 0; i < ARRAY_SIZE(ents) && ents[i].name; i++)
        if (ents[i].link && strcmp(ents[i].link, "OUT") == 0)
            ents[i].link = out;
    mkdir(up, 0755);
    mkdir(out, 0755);
    write_file(victim, "keep", 0644);
    write_tar(tar, ents);
    r = ckpt_diff_apply(tar, &del, up, &err);
    printf("  %s: %s\n", c->name, err.msg);
    CHECK(r < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, c->msg);
    CHECK_INT(count_entries(up), 0);
    CHECK_INT(count_entries(out), 1);
    CHECK_INT(access(victim, F_OK), 0);
    unlink(victim), rmdir(out), rmdir(up), unlink(tar);
    return 0;
}

static int test_ckptdiff_apply_refuses_hostile(void)
{
    _cleanup_(rm_tree) char *tmp = make_tmp();

    for (size_t i = 0; i < ARRAY_SIZE(apply_cases); i++)
        run_apply_case(&apply_cases[i], tmp);
    return 0;
}

static int test_ckptdiff_apply_strips_leading_slash(void)
{
    _cleanup_(rm_tree) char *tmp = make_tmp();
    _cleanup_free_ char *up = xasprintf("%s/up", tmp), *gone = xasprintf("%s/etc/gone", up);
    char *paths[] = {"/etc/gone"};
    struct ckpt_deleted del = {paths, 1};
    struct crib_err err;
    struct stat st;

    mkdir(up, 0755);
    if (ckpt_diff_apply(NULL, &del, up, &err) < 0 && err.errnum == EPERM) {
        printf("  needs root: mknod 0/0\n");
        return TEST_SKIP;
    }
    CHECK(lstat(gone, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
    return 0;
}

static int test_ckptdiff_apply_refuses_nonempty_upper(void)
{
    _cleanup_(rm_tree) char *tmp = make_tmp();
    _cleanup_free_ char *f = xasprintf("%s/f", tmp);
    struct crib_err err;

    write_file(f, "x", 0644);
    CHECK(ckpt_diff_apply(NULL, NULL, tmp, &err) < 0);
    CHECK_INT(err.code, CRIB_INTERNAL);
    CHECK_INT(access(f, F_OK), 0);
    return 0;
}

TEST_MAIN(TEST(test_ckptdiff_write_read_apply), TEST(test_ckptdiff_write_deadline_passed),
          TEST(test_ckptdiff_apply_refuses_hostile), TEST(test_ckptdiff_apply_strips_leading_slash),
          TEST(test_ckptdiff_apply_refuses_nonempty_upper))
