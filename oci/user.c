#include "oci/user.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h> /* struct open_how, RESOLVE_IN_ROOT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/xalloc.h"

#define ETC_MAX_BYTES (1u << 20)
/* The longest user name we keep; useradd's limit is 32, LOGIN_NAME_MAX 256. */
#define USER_NAME_MAX 256

/* One field of a line: not NUL-terminated. */
struct span {
    const char *s;
    size_t len;
};

static bool span_eq(struct span a, const char *s)
{
    return s && a.len == strlen(s) && memcmp(a.s, s, a.len) == 0;
}

/* A uid or gid: decimal digits only, below 2^32 - 1 ((uid_t)-1 means "no
 * change" to setresuid, never a real id). */
static bool parse_id(const char *s, size_t len, uint32_t *ret)
{
    uint64_t v = 0;

    if (len == 0 || len > 10)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v >= UINT32_MAX)
        return false;
    *ret = (uint32_t)v;
    return true;
}

/* Moves *cur past the next line of [*cur, end) and splits that line at ':'
 * into up to max fields. Lines that no parser should see (comments, NUL
 * bytes, NIS "+"/"-" entries, an empty first field) come back with 0 fields.
 * Returns false at the end of the text. */
static bool next_line(const char **cur, const char *end, struct span *fields, size_t max,
                      size_t *ret_n)
{
    const char *line = *cur, *eol;
    size_t len, n = 0;

    if (line >= end)
        return false;
    eol = memchr(line, '\n', (size_t)(end - line));
    len = eol ? (size_t)(eol - line) : (size_t)(end - line);
    *cur = eol ? eol + 1 : end;
    *ret_n = 0;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0 || line[0] == '#' || line[0] == '+' || line[0] == '-' || line[0] == ':' ||
        memchr(line, '\0', len))
        return true;
    for (const char *p = line, *stop = line + len; n < max; n++) {
        const char *colon = memchr(p, ':', (size_t)(stop - p));

        fields[n].s = p;
        fields[n].len = colon ? (size_t)(colon - p) : (size_t)(stop - p);
        if (!colon) {
            n++;
            break;
        }
        p = colon + 1;
    }
    *ret_n = n;
    return true;
}

int user_passwd_lookup(const char *text, size_t len, const char *name, uint32_t uid,
                       uint32_t *ret_uid, uint32_t *ret_gid, char *ret_name, size_t name_size)
{
    const char *cur = text, *end = text + len;
    struct span f[4];
    size_t n;

    /* name:password:uid:gid[:gecos:home:shell]; the first match wins, as in getpwnam. */
    while (next_line(&cur, end, f, 4, &n)) {
        uint32_t u, g;

        if (n < 4 || f[0].len > USER_NAME_MAX || !parse_id(f[2].s, f[2].len, &u) ||
            !parse_id(f[3].s, f[3].len, &g))
            continue;
        if (ret_name && f[0].len >= name_size)
            continue;
        if (name ? !span_eq(f[0], name) : u != uid)
            continue;
        if (ret_uid)
            *ret_uid = u;
        if (ret_gid)
            *ret_gid = g;
        if (ret_name) {
            memcpy(ret_name, f[0].s, f[0].len);
            ret_name[f[0].len] = '\0';
        }
        return 1;
    }
    return 0;
}

int user_group_lookup(const char *text, size_t len, const char *name, uint32_t gid,
                      uint32_t *ret_gid)
{
    const char *cur = text, *end = text + len;
    struct span f[3];
    size_t n;

    /* name:password:gid[:member,member...] */
    while (next_line(&cur, end, f, 3, &n)) {
        uint32_t g = 0;

        if (n < 3 || !parse_id(f[2].s, f[2].len, &g))
            continue;
        if (name ? !span_eq(f[0], name) : g != gid)
            continue;
        if (ret_gid)
            *ret_gid = g;
        return 1;
    }
    return 0;
}

static bool lists_member(struct span members, const char *user)
{
    const char *p = members.s, *stop = members.s + members.len;

    while (p < stop) {
        const char *comma = memchr(p, ',', (size_t)(stop - p));
        struct span m = {p, comma ? (size_t)(comma - p) : (size_t)(stop - p)};

        if (span_eq(m, user))
            return true;
        p = comma ? comma + 1 : stop;
    }
    return false;
}

/* Adds gid to groups[0..*n) unless already there or full. Returns false when full. */
static bool add_gid(uint32_t *groups, size_t *n, size_t max, uint32_t gid)
{
    for (size_t i = 0; i < *n; i++)
        if (groups[i] == gid)
            return true;
    if (*n >= max)
        return false;
    groups[(*n)++] = gid;
    return true;
}

size_t user_group_members(const char *text, size_t len, const char *user, uint32_t *groups,
                          size_t n, size_t max)
{
    const char *cur = text, *end = text + len;
    struct span f[4];
    size_t nf;

    while (next_line(&cur, end, f, 4, &nf)) {
        uint32_t g = 0;

        /* A group named as the user is its own group, not a supplemental one
         * (containerd's WithAdditionalGIDs skips it too). */
        if (nf < 4 || !parse_id(f[2].s, f[2].len, &g) || span_eq(f[0], user) ||
            !lists_member(f[3], user))
            continue;
        if (!add_gid(groups, &n, max, g))
            break;
    }
    return n;
}

/* Reads /PATH of the image into *ret_buf. A missing file, or anything but a
 * regular file, reads as empty: a FIFO would block and a device node must
 * never be opened on an image's say. */
static int read_etc(int root_fd, const char *path, char **ret_buf, size_t *ret_len,
                    struct crib_err *err)
{
    struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
    _cleanup_close_ int pfd = -1, fd = -1;
    char proc[64];
    struct stat st;
    int r;

    pfd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
    if (pfd < 0 && (errno == ENOENT || errno == ENOTDIR))
        goto empty;
    if (pfd < 0)
        return crib_fail(err, errno == ELOOP ? CRIB_INVALID : CRIB_INTERNAL, errno,
                         "open the image's /%s", path);
    if (fstat(pfd, &st) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "stat the image's /%s", path);
    if (!S_ISREG(st.st_mode))
        goto empty;
    /* Reopening the O_PATH fd opens the very inode that was checked. */
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
    fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open the image's /%s", path);
    r = fs_read_fd(fd, ETC_MAX_BYTES, ret_buf, ret_len, err);
    if (r < 0)
        return crib_wrap(err, "the image's /%s", path);
    return 0;
empty:
    *ret_buf = xstrdup("");
    *ret_len = 0;
    return 0;
}

struct etc {
    char *passwd, *group;
    size_t passwd_len, group_len;
};

/* The user being resolved: its uid, and from passwd its name and gid. */
struct who {
    uint32_t uid, gid;
    bool has_entry;
    char name[USER_NAME_MAX + 1];
};

/* Resolves the user part of a user string (a uid or a name; len bytes of s). */
static int resolve_user(const struct etc *etc, const char *s, size_t len, struct who *w,
                        struct crib_err *err)
{
    _cleanup_free_ char *name = xstrndup(s, len);

    if (parse_id(s, len, &w->uid)) {
        w->has_entry = user_passwd_lookup(etc->passwd, etc->passwd_len, NULL, w->uid, NULL, &w->gid,
                                          w->name, sizeof(w->name));
        return 0;
    }
    if (!user_passwd_lookup(etc->passwd, etc->passwd_len, name, 0, &w->uid, &w->gid, w->name,
                            sizeof(w->name)))
        return crib_fail(err, CRIB_INVALID, 0, "user \"%s\" not found in the image's /etc/passwd",
                         name);
    w->has_entry = true;
    return 0;
}

static int resolve_group(const struct etc *etc, const char *s, size_t len, uint32_t *ret_gid,
                         struct crib_err *err)
{
    _cleanup_free_ char *name = xstrndup(s, len);

    if (parse_id(s, len, ret_gid))
        return 0;
    if (!user_group_lookup(etc->group, etc->group_len, name, 0, ret_gid))
        return crib_fail(err, CRIB_INVALID, 0, "group \"%s\" not found in the image's /etc/group",
                         name);
    return 0;
}

static int check_id(int64_t v, const char *what, uint32_t *ret, struct crib_err *err)
{
    if (v < 0 || v >= UINT32_MAX)
        return crib_fail(err, CRIB_INVALID, 0, "%s %lld is out of range", what, (long long)v);
    *ret = (uint32_t)v;
    return 0;
}

/* Sets w->uid (and w->gid, unless the request sets it) from the request's
 * uid, its username or the image's "user[:group]". */
static int resolve_uid_gid(const struct etc *etc, const struct user_request *req, struct who *w,
                           struct crib_err *err)
{
    const char *u = req->image_user ? req->image_user : "", *colon;
    int r;

    if (req->has_uid) {
        r = check_id(req->uid, "uid", &w->uid, err);
        if (r < 0)
            return r;
        w->has_entry = user_passwd_lookup(etc->passwd, etc->passwd_len, NULL, w->uid, NULL, &w->gid,
                                          w->name, sizeof(w->name));
        return 0;
    }
    if (req->username)
        return resolve_user(etc, req->username, strlen(req->username), w, err);
    if (!*u)
        return resolve_user(etc, "0", 1, w, err);
    colon = strchr(u, ':');
    if (colon == u || (colon && (!colon[1] || strchr(colon + 1, ':'))))
        return crib_fail(err, CRIB_INVALID, 0, "image user \"%s\" is malformed", u);
    r = resolve_user(etc, u, colon ? (size_t)(colon - u) : strlen(u), w, err);
    if (r >= 0 && colon && !req->has_gid)
        r = resolve_group(etc, colon + 1, strlen(colon + 1), &w->gid, err);
    return r;
}

static int cmp_gid(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

int user_resolve(int rootfs_fd, const struct user_request *req, struct user_ids *ret_ids,
                 struct crib_err *err)
{
    _cleanup_free_ char *passwd = NULL, *group = NULL;
    struct etc etc;
    struct who w = {0};
    uint32_t groups[USER_MAX_GROUPS + 1];
    size_t n = 0;
    int r;

    r = read_etc(rootfs_fd, "etc/passwd", &passwd, &etc.passwd_len, err);
    if (r < 0)
        return r;
    r = read_etc(rootfs_fd, "etc/group", &group, &etc.group_len, err);
    if (r < 0)
        return r;
    etc.passwd = passwd;
    etc.group = group;
    r = resolve_uid_gid(&etc, req, &w, err);
    if (r >= 0 && req->has_gid)
        r = check_id(req->gid, "gid", &w.gid, err);
    if (r < 0)
        return r;

    add_gid(groups, &n, ARRAY_SIZE(groups), w.gid);
    /* Only a user with a name can be listed as a member of a group. */
    if (req->policy == USER_GROUPS_MERGE && w.has_entry)
        n = user_group_members(group, etc.group_len, w.name, groups, n, ARRAY_SIZE(groups));
    for (size_t i = 0; i < req->n_supplemental_groups; i++) {
        uint32_t g = 0;

        r = check_id(req->supplemental_groups[i], "supplemental group", &g, err);
        if (r < 0)
            return r;
        add_gid(groups, &n, ARRAY_SIZE(groups), g);
    }
    if (n > USER_MAX_GROUPS)
        return crib_fail(err, CRIB_INVALID, 0, "more than %d groups", USER_MAX_GROUPS);
    qsort(groups, n, sizeof(groups[0]), cmp_gid);
    ret_ids->uid = w.uid;
    ret_ids->gid = w.gid;
    ret_ids->n_groups = n;
    memcpy(ret_ids->groups, groups, n * sizeof(groups[0]));
    return 0;
}
