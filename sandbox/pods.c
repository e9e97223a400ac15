#include "sandbox/pods.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "sandbox/ns.h"

#define POD_COLUMNS                                                                                \
    "id, name, namespace, uid, attempt, state, created_ns, hostname, log_directory, "              \
    "runtime_handler, net_mode, pid_mode, ipc_mode, cgroup_parent, labels, annotations, ip, "      \
    "userns, resources"

static char *kv_to_json(const struct pod_kv *kv, size_t n)
{
    struct json_object *o = json_object_new_object();
    char *text;

    for (size_t i = 0; i < n; i++)
        json_object_object_add(o, kv[i].key, json_object_new_string(kv[i].value));
    text = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return text;
}

/* The store wrote this JSON itself; anything else in it is corruption. */
static int kv_from_json(const char *text, struct pod_kv **ret, size_t *ret_n, struct crib_err *err)
{
    struct json_object *o = json_tokener_parse(text);
    struct pod_kv *kv;
    size_t n = 0;

    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return crib_fail(err, CRIB_INTERNAL, 0, "pod record: bad label JSON");
    }
    kv = xcalloc((size_t)json_object_object_length(o) + 1, sizeof(*kv));
    json_object_object_foreach (o, key, value) {
        kv[n].key = xstrdup(key);
        kv[n++].value = xstrdup(json_object_get_string(value));
    }
    json_object_put(o);
    *ret = kv;
    *ret_n = n;
    return 0;
}

static void free_kv(struct pod_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

void pod_record_free(struct pod_record *p)
{
    if (!p)
        return;
    free(p->id);
    free(p->name);
    free(p->namespace);
    free(p->uid);
    free(p->hostname);
    free(p->log_directory);
    free(p->runtime_handler);
    free(p->cgroup_parent);
    free_kv(p->labels, p->n_labels);
    free_kv(p->annotations, p->n_annotations);
    free(p->ip);
    free(p->userns);
    free(p->resources);
    free(p);
}

CRIB_DEFINE_CLEANUP(struct pod_record, pod_record_free)

static void bind_pod(sqlite3_stmt *st, const struct pod_record *p, char *labels, char *annotations)
{
    const char *texts[] = {p->id, p->name, p->namespace, p->uid};
    int n = 1;

    for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
        sqlite3_bind_text(st, n++, texts[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, n++, p->attempt);
    sqlite3_bind_int(st, n++, p->state);
    sqlite3_bind_int64(st, n++, p->created_ns);
    sqlite3_bind_text(st, n++, p->hostname, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, n++, p->log_directory, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, n++, p->runtime_handler, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, n++, p->net_mode);
    sqlite3_bind_int(st, n++, p->pid_mode);
    sqlite3_bind_int(st, n++, p->ipc_mode);
    sqlite3_bind_text(st, n++, p->cgroup_parent, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, n++, labels, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, n++, annotations, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, n++, p->ip ? p->ip : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, n++, p->userns ? p->userns : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, n, p->resources ? p->resources : "", -1, SQLITE_STATIC);
}

int pods_add(struct store *s, const struct pod_record *pod, struct crib_err *err)
{
    _cleanup_free_ char *labels = kv_to_json(pod->labels, pod->n_labels);
    _cleanup_free_ char *annotations = kv_to_json(pod->annotations, pod->n_annotations);
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;
    struct store_tx tx;
    int r = store_tx_begin(s, true, &tx, err);

    if (r < 0)
        return r;
    r = store_prepare(
        &tx,
        "INSERT INTO pods(" POD_COLUMNS ") VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
        "?19)",
        &st, err);
    if (r >= 0) {
        bind_pod(st, pod, labels, annotations);
        if (sqlite3_step(st) != SQLITE_DONE)
            r = (sqlite3_extended_errcode(tx.db) & 0xff) == SQLITE_CONSTRAINT
                    ? crib_fail(err, CRIB_EXISTS, EEXIST, "pod %s/%s (uid %s, attempt %u) exists",
                                pod->namespace, pod->name, pod->uid, pod->attempt)
                    : store_fail(&tx, "add pod", err);
    }
    sqlite3_finalize(TAKE_PTR(st));
    if (r >= 0)
        r = store_tx_commit(&tx, "pod-run-commit", err);
    store_tx_done(&tx);
    return r;
}

static int read_row(sqlite3_stmt *st, struct pod_record **ret, struct crib_err *err)
{
    _cleanup_(pod_record_freep) struct pod_record *p = xcalloc(1, sizeof(*p));
    int r;

    p->id = store_col_text(st, 0);
    p->name = store_col_text(st, 1);
    p->namespace = store_col_text(st, 2);
    p->uid = store_col_text(st, 3);
    p->attempt = (uint32_t)sqlite3_column_int64(st, 4);
    p->state = (enum pod_state)sqlite3_column_int(st, 5);
    p->created_ns = sqlite3_column_int64(st, 6);
    p->hostname = store_col_text(st, 7);
    p->log_directory = store_col_text(st, 8);
    p->runtime_handler = store_col_text(st, 9);
    p->net_mode = (enum pod_ns_mode)sqlite3_column_int(st, 10);
    p->pid_mode = (enum pod_ns_mode)sqlite3_column_int(st, 11);
    p->ipc_mode = (enum pod_ns_mode)sqlite3_column_int(st, 12);
    p->cgroup_parent = store_col_text(st, 13);
    p->ip = store_col_text(st, 16);
    p->userns = store_col_text(st, 17);
    p->resources = store_col_text(st, 18);
    r = kv_from_json((const char *)sqlite3_column_text(st, 14), &p->labels, &p->n_labels, err);
    if (r >= 0)
        r = kv_from_json((const char *)sqlite3_column_text(st, 15), &p->annotations,
                         &p->n_annotations, err);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(p);
    return 0;
}

int pods_get(struct store *s, const char *id, struct pod_record **ret_pod, struct crib_err *err)
{
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;
    struct store_tx tx;
    int r = store_tx_begin(s, false, &tx, err), rc;

    if (r < 0)
        return r;
    r = store_prepare(&tx, "SELECT " POD_COLUMNS " FROM pods WHERE id = ?1", &st, err);
    if (r >= 0) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            r = read_row(st, ret_pod, err);
        else
            r = rc == SQLITE_DONE ? crib_fail(err, CRIB_NOT_FOUND, ENOENT, "pod %s", id)
                                  : store_fail(&tx, "read pod", err);
    }
    sqlite3_finalize(TAKE_PTR(st));
    store_tx_done(&tx);
    return r;
}

int pods_find_by_metadata(struct store *s, const char *name, const char *namespace, const char *uid,
                          uint32_t attempt, char **ret_id, struct crib_err *err)
{
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;
    struct store_tx tx;
    int r = store_tx_begin(s, false, &tx, err);

    if (r < 0)
        return r;
    *ret_id = NULL;
    r = store_prepare(&tx,
                      "SELECT id FROM pods WHERE name = ?1 AND namespace = ?2 AND uid = ?3 "
                      "AND attempt = ?4",
                      &st, err);
    if (r >= 0) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, namespace, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, uid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, attempt);
        if (sqlite3_step(st) == SQLITE_ROW)
            *ret_id = store_col_text(st, 0);
    }
    sqlite3_finalize(TAKE_PTR(st));
    store_tx_done(&tx);
    return r;
}

int pods_list(struct store *s, struct pod_record ***ret_pods, size_t *ret_n, struct crib_err *err)
{
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;
    struct pod_record **list = NULL;
    struct store_tx tx;
    size_t n = 0;
    int r = store_tx_begin(s, false, &tx, err), rc = SQLITE_DONE;

    if (r < 0)
        return r;
    r = store_prepare(&tx, "SELECT " POD_COLUMNS " FROM pods ORDER BY created_ns, id", &st, err);
    while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        list = xrealloc(list, (n + 1) * sizeof(*list));
        r = read_row(st, &list[n], err);
        n += r >= 0;
    }
    if (r >= 0 && rc != SQLITE_DONE)
        r = store_fail(&tx, "list pods", err);
    sqlite3_finalize(TAKE_PTR(st));
    store_tx_done(&tx);
    if (r < 0) {
        for (size_t i = 0; i < n; i++)
            pod_record_free(list[i]);
        free(list);
        return r;
    }
    *ret_pods = list ? list : xcalloc(1, sizeof(*list));
    *ret_n = n;
    return 0;
}

/* Runs sql with ?1 = id and ?2 = text, or value when text is NULL. */
static int exec_one(struct store *s, const char *sql, const char *id, int value, const char *text,
                    const char *step, int *ret_changes, struct crib_err *err)
{
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;
    struct store_tx tx;
    int r = store_tx_begin(s, true, &tx, err);

    if (r < 0)
        return r;
    r = store_prepare(&tx, sql, &st, err);
    if (r >= 0) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (text)
            sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int(st, 2, value);
        if (sqlite3_step(st) != SQLITE_DONE)
            r = store_fail(&tx, "update pod", err);
        *ret_changes = sqlite3_changes(tx.db);
    }
    sqlite3_finalize(TAKE_PTR(st));
    if (r >= 0)
        r = store_tx_commit(&tx, step, err);
    store_tx_done(&tx);
    return r;
}

int pods_set_state(struct store *s, const char *id, enum pod_state state, struct crib_err *err)
{
    int changes = 0;
    struct pod_record *pod = NULL;
    int r = exec_one(s, "UPDATE pods SET state = ?2 WHERE id = ?1 AND state <> ?2", id, state, NULL,
                     "pod-state-commit", &changes, err);

    if (r < 0 || changes > 0)
        return r < 0 ? r : 1;
    r = pods_get(s, id, &pod, err); /* unchanged: there already, or not there */
    pod_record_free(pod);
    return r < 0 ? r : 0;
}

int pods_set_resources(struct store *s, const char *id, const char *resources, struct crib_err *err)
{
    int changes = 0;
    int r = exec_one(s, "UPDATE pods SET resources = ?2 WHERE id = ?1", id, 0, resources,
                     "pod-resources-commit", &changes, err);

    if (r >= 0 && changes == 0)
        return crib_fail(err, CRIB_NOT_FOUND, ENOENT, "pod %s", id);
    return r;
}

int pods_delete(struct store *s, const char *id, struct crib_err *err)
{
    int changes = 0;

    return exec_one(s, "DELETE FROM pods WHERE id = ?1 AND ?2 = ?2", id, 0, NULL,
                    "pod-remove-commit", &changes, err);
}

char *pods_userns_format(const struct ns_userns *u)
{
    if (!u)
        return xstrdup("");
    return xasprintf("%u %u %u %u %u %u", u->uid.container_id, u->uid.host_id, u->uid.length,
                     u->gid.container_id, u->gid.host_id, u->gid.length);
}

int pods_userns_parse(const char *text, struct ns_userns *ret)
{
    struct ns_userns u;

    if (!text || !*text)
        return 0;
    if (sscanf(text, "%u %u %u %u %u %u", &u.uid.container_id, &u.uid.host_id, &u.uid.length,
               &u.gid.container_id, &u.gid.host_id, &u.gid.length) != 6)
        return -EINVAL;
    *ret = u;
    return 1;
}
