/* Users and groups of a container, resolved the way Kubernetes and the peers
 * do it: by uid or by name in the image's own /etc/passwd and /etc/group,
 * read through the container's rootfs without ever leaving it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define USER_MAX_GROUPS 256

enum user_groups_policy { USER_GROUPS_MERGE = 0, USER_GROUPS_STRICT = 1 };

struct user_request {
    /* From the CRI security context; has_ flags say which are set. */
    bool has_uid, has_gid;
    int64_t uid, gid;
    const char *username; /* run_as_username, or NULL */
    const int64_t *supplemental_groups;
    size_t n_supplemental_groups;
    enum user_groups_policy policy;
    /* The image config's User ("", "name", "uid", "name:group", "uid:gid"),
     * used when neither uid nor username is set. */
    const char *image_user;
};

struct user_ids {
    uint32_t uid, gid;
    size_t n_groups;
    uint32_t groups[USER_MAX_GROUPS]; /* additional gids, sorted, no duplicates; gid included */
};

/* Resolves req against the passwd and group files under rootfs_fd (a dir fd
 * of the mounted rootfs; /etc/passwd and /etc/group are opened with
 * openat2 RESOLVE_IN_ROOT, a missing file counts as empty, each read is
 * capped at 1 MiB).
 *   uid: req->uid, else the uid of username / image user (a number is a uid).
 *   gid: req->gid, else the image user's ":group" part (name or number),
 *        else the passwd entry's gid, else 0.
 *   groups: Merge: gid + the groups of /etc/group that list the user's name
 *           + supplemental_groups; Strict: gid + supplemental_groups only.
 * Errors: CRIB_INVALID naming the user or group that is not found (a name
 * that does not resolve; a numeric uid needs no entry), a malformed image
 * user, more than USER_MAX_GROUPS groups. */
int user_resolve(int rootfs_fd, const struct user_request *req, struct user_ids *ret_ids,
                 struct crib_err *err);

/* The parsers on their own, for tests and the fuzz target: look name (or,
 * when name is NULL, uid) up in the passwd text. Returns 1 found, 0 not. */
int user_passwd_lookup(const char *text, size_t len, const char *name, uint32_t uid,
                       uint32_t *ret_uid, uint32_t *ret_gid, char *ret_name, size_t name_size);
/* Looks group name up in the group text (by gid when name is NULL). Returns 1 found, 0 not. */
int user_group_lookup(const char *text, size_t len, const char *name, uint32_t gid,
                      uint32_t *ret_gid);
/* Appends to groups (up to max) the gids of the groups that list user as a member.
 * Returns the new count. */
size_t user_group_members(const char *text, size_t len, const char *user, uint32_t *groups,
                          size_t n, size_t max);
