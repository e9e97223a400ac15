#include "oci/containers.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

#define CTR_COLUMNS                                                                                \
    "id, pod_id, name, attempt, state, created_ns, started_ns, finished_ns, exit_code, reason, "   \
    "message, pid, start_ticks, doc"

static void free_kv(struct ctr_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

void ctr_record_free(struct ctr_record *c)
{
    if (!c)
        return;
    free(c->id);
    free(c->pod_id);
    free(c->name);
    free(c->handler);
    free(c->image);
    free(c->image_id);
    free(c->image_ref);
    free(c->reason);
    free(c->message);
    free(c->log_path);
    free(c->groups);
    free_kv(c->labels, c->n_labels);
    free_kv(c->annotations, c->n_annotations);
    for (size_t i = 0; i < c->n_mounts; i++) {
        free(c->mounts[i].container_path);
        free(c->mounts[i].host_path);
    }
    free(c->mounts);
    free(c->resources.cpuset_cpus);
    free(c->resources.cpuset_mems);
    free(c->encoding);
    free(c);
}

CRIB_DEFINE_CLEANUP(struct ctr_record, ctr_record_free)

/* The doc: what the CRI reports back but never queries by. */

static void add_str(struct json_object *o, const char *key, const char *v)
{
    json_object_object_add(o, key, json_object_new_string(v ? v : ""));
}

static void add_int(struct json_object *o, const char *key, int64_t v)
{
    json_object_object_add(o, key, json_object_new_int64(v));
}

static struct json_object *kv_json(const struct ctr_kv *kv, size_t n)
{
    struct json_object *o = json_object_new_object();

    for (size_t i = 0; i < n; i++)
        add_str(o, kv[i].key, kv[i].value);
    return o;
}

static struct json_object *resources_json(const struct ctr_resources *r)
{
    struct json_object *o = json_object_new_object();

    add_int(o, "cpuPeriod", r->cpu_period);
    add_int(o, "cpuQuota", r->cpu_quota);
    add_int(o, "cpuShares", r->cpu_shares);
    add_int(o, "memoryLimit", r->memory_limit);
    add_int(o, "memorySwapLimit", r->memory_swap_limit);
    add_int(o, "oomScoreAdj", r->oom_score_adj);
    add_str(o, "cpusetCpus", r->cpuset_cpus);
    add_str(o, "cpusetMems", r->cpuset_mems);
    return o;
}

static char *doc_of(const struct ctr_record *c)
{
    struct json_object *o = json_object_new_object(), *groups, *mounts;
    char *text;

    add_str(o, "handler", c->handler);
    add_str(o, "image", c->image);
    add_str(o, "imageId", c->image_id);
    add_str(o, "imageRef", c->image_ref);
    add_str(o, "logPath", c->log_path);
    add_int(o, "stopSignal", c->stop_signal);
    json_object_object_add(o, "tty", json_object_new_boolean(c->tty));
    json_object_object_add(o, "stdin", json_object_new_boolean(c->stdin_open));
    json_object_object_add(o, "stdinOnce", json_object_new_boolean(c->stdin_once));
    add_int(o, "uid", c->uid);
    add_int(o, "gid", c->gid);
    groups = json_object_new_array();
    for (size_t i = 0; i < c->n_groups; i++)
        json_object_array_add(groups, json_object_new_int64(c->groups[i]));
    json_object_object_add(o, "groups", groups);
    json_object_object_add(o, "labels", kv_json(c->labels, c->n_labels));
    json_object_object_add(o, "annotations", kv_json(c->annotations, c->n_annotations));
    mounts = json_object_new_array();
    for (size_t i = 0; i < c->n_mounts; i++) {
        struct json_object *m = json_object_new_object();

        add_str(m, "containerPath", c->mounts[i].container_path);
        add_str(m, "hostPath", c->mounts[i].host_path);
        json_object_object_add(m, "readonly", json_object_new_boolean(c->mounts[i].readonly));
        json_object_object_add(m, "recursiveReadOnly",
                               json_object_new_boolean(c->mounts[i].recursive_readonly));
        add_int(m, "propagation", c->mounts[i].propagation);
        json_object_array_add(mounts, m);
    }
    json_object_object_add(o, "mounts", mounts);
    json_object_object_add(o, "resources", resources_json(&c->resources));
    text = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return text;
}

static const char *get_str(struct json_object *o, const char *key)
{
    struct json_object *v;

    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static int64_t get_int(struct json_object *o, const char *key)
{
    struct json_object *v;

    return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static bool get_bool(struct json_object *o, const char *key)
{
    struct json_object *v;

    return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static struct ctr_kv *kv_of(struct json_object *o, const char *key, size_t *ret_n)
{
    struct json_object *m;
    struct ctr_kv *kv;
    size_t n = 0;

    if (!json_object_object_get_ex(o, key, &m) || !json_object_is_type(m, json_type_object)) {
        *ret_n = 0;
        return xcalloc(1, sizeof(*kv));
    }
    kv = xcalloc((size_t)json_object_object_length(m) + 1, sizeof(*kv));
    json_object_object_foreach (m, k, v) {
        kv[n].key = xstrdup(k);
        kv[n++].value = xstrdup(json_object_get_string(v));
    }
    *ret_n = n;
    return kv;
}

static void resources_of(struct json_object *o, struct ctr_resources *r)
{
    struct json_object *m;

    if (!json_object_object_get_ex(o, "resources", &m))
        m = NULL;
    r->cpu_period = get_int(m, "cpuPeriod");
    r->cpu_quota = get_int(m, "cpuQuota");
    r->cpu_shares = get_int(m, "cpuShares");
    r->memory_limit = get_int(m, "memoryLimit");
    r->memory_swap_limit = get_int(m, "memorySwapLimit");
    r->oom_score_adj = get_int(m, "oomScoreAdj");
    r->cpuset_cpus = xstrdup(get_str(m, "cpusetCpus"));
    r->cpuset_mems = xstrdup(get_str(m, "cpusetMems"));
}

/* The store wrote the doc itself; anything else in it is corruption. */
static int read_doc(const char *text, struct ctr_record *c, struct crib_err *err)
{
    struct json_object *o = json_tokener_parse(text ? text : ""), *a;

    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return crib_fail(err, CRIB_INTERNAL, 0, "container %s: bad record JSON", c->id);
    }
    c->handler = xstrdup(get_str(o, "handler"));
    c->image = xstrdup(get_str(o, "image"));
    c->image_id = xstrdup(get_str(o, "imageId"));
    c->image_ref = xstrdup(get_str(o, "imageRef"));
    c->log_path = xstrdup(get_str(o, "logPath"));
    c->stop_signal = (int)get_int(o, "stopSignal");
    c->tty = get_bool(o, "tty");
    c->stdin_open = get_bool(o, "stdin");
    c->stdin_once = get_bool(o, "stdinOnce");
    c->uid = (uint32_t)get_int(o, "uid");
    c->gid = (uint32_t)get_int(o, "gid");
    if (json_object_object_get_ex(o, "groups", &a) && json_object_is_type(a, json_type_array)) {
        c->n_groups = json_object_array_length(a);
        c->groups = xcalloc(c->n_groups + 1, sizeof(*c->groups));
        for (size_t i = 0; i < c->n_groups; i++)
            c->groups[i] = (uint32_t)json_object_get_int64(json_object_array_get_idx(a, i));
    }
    c->labels = kv_of(o, "labels", &c->n_labels);
    c->annotations = kv_of(o, "annotations", &c->n_annotations);
    if (json_object_object_get_ex(o, "mounts", &a) && json_object_is_type(a, json_type_array)) {
        c->n_mounts = json_object_array_length(a);
        c->mounts = xcalloc(c->n_mounts + 1, sizeof(*c->mounts));
        for (size_t i = 0; i < c->n_mounts; i++) {
            struct json_object *m = json_object_array_get_idx(a, i);

            c->mounts[i].container_path = xstrdup(get_str(m, "containerPath"));
            c->mounts[i].host_path = xstrdup(get_str(m, "hostPath"));
            c->mounts[i].readonly = get_bool(m, "readonly");
            c->mounts[i].recursive_readonly = get_bool(m, "recursiveReadOnly");
            c->mounts[i].propagation = (int)get_int(m, "propagation");
        }
    }
    resources_of(o, &c->resources);
    json_object_put(o);
    return 0;
}

static int read_row(sqlite3_stmt *st, struct ctr_record **ret, struct crib_err *err)
{
    _cleanup_(ctr_record_freep) struct ctr_record *c = xcalloc(1, sizeof(*c));
    int r;

    c->id = store_col_text(st, 0);
    c->pod_id = store_col_text(st, 1);
    c->name = store_col_text(st, 2);
    c->attempt = (uint32_t)sqlite3_column_int64(st, 3);
    c->state = (enum ctr_state)sqlite3_column_int(st, 4);
    c->created_ns = sqlite3_column_int64(st, 5);
    c->started_ns = sqlite3_column_int64(st, 6);
    c->finished_ns = sqlite3_column_int64(st, 7);
    c->exit_code = sqlite3_column_int(st, 8);
    c->reason = store_col_text(st, 9);
    c->message = store_col_text(st, 10);
    c->pid = (pid_t)sqlite3_column_int64(st, 11);
    c->start_ticks = (uint64_t)sqlite3_column_int64(st, 12);
    r = read_doc((const char *)sqlite3_column_text(st, 13), c, err);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(c);
    return 0;
}

int containers_add(struct store *s, const struct ctr_record *c, struct crib_err *err)
{
    _cleanup_free_ char *doc = doc_of(c);
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;
    struct store_tx tx;
    int r = store_tx_begin(s, true, &tx, err);

    if (r < 0)
        return r;
    r = store_prepare(&tx,
                      "INSERT INTO containers(id, pod_id, name, attempt, state, created_ns, pid, "
                      "start_ticks, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                      &st, err);
    if (r >= 0) {
        sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, c->pod_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, c->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, c->attempt);
        sqlite3_bind_int(st, 5, c->state);
        sqlite3_bind_int64(st, 6, c->created_ns);
        sqlite3_bind_int64(st, 7, c->pid);
        sqlite3_bind_int64(st, 8, (int64_t)c->start_ticks);
        sqlite3_bind_text(st, 9, doc, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            r = (sqlite3_extended_errcode(tx.db) & 0xff) == SQLITE_CONSTRAINT
                    ? crib_fail(err, CRIB_EXISTS, EEXIST,
                                "container %s (attempt %u) exists in pod %s", c->name, c->attempt,
                                c->pod_id)
                    : store_fail(&tx, "add container", err);
    }
    sqlite3_finalize(TAKE_PTR(st));
    if (r >= 0)
        r = store_tx_commit(&tx, "container-create-commit", err);
    store_tx_done(&tx);
    return r;
}

int containers_get(struct store *s, const char *id, struct ctr_record **ret, struct crib_err *err)
{
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;
    struct store_tx tx;
    int r = store_tx_begin(s, false, &tx, err), rc;

    if (r < 0)
        return r;
    r = store_prepare(&tx, "SELECT " CTR_COLUMNS " FROM containers WHERE id = ?1", &st, err);
    if (r >= 0) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            r = read_row(st, ret, err);
        else
            r = rc == SQLITE_DONE ? crib_fail(err, CRIB_NOT_FOUND, ENOENT, "container %s", id)
                                  : store_fail(&tx, "read container", err);
    }
    sqlite3_finalize(TAKE_PTR(st));
    store_tx_done(&tx);
    return r;
}

int containers_find(struct store *s, const char *pod_id, const char *name, uint32_t attempt,
                    char **ret_id, struct crib_err *err)
{
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;
    struct store_tx tx;
    int r = store_tx_begin(s, false, &tx, err);

    if (r < 0)
        return r;
    *ret_id = NULL;
    r = store_prepare(&tx,
                      "SELECT id FROM containers WHERE pod_id = ?1 AND name = ?2 AND attempt = ?3",
                      &st, err);
    if (r >= 0) {
        sqlite3_bind_text(st, 1, pod_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, attempt);
        if (sqlite3_step(st) == SQLITE_ROW)
            *ret_id = store_col_text(st, 0);
    }
    sqlite3_finalize(TAKE_PTR(st));
    store_tx_done(&tx);
    return r;
}

int containers_list(struct store *s, const char *pod_id, struct ctr_record ***ret, size_t *ret_n,
                    struct crib_err *err)
{
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;
    struct ctr_record **list = NULL;
    struct store_tx tx;
    size_t n = 0;
    int r = store_tx_begin(s, false, &tx, err), rc = SQLITE_DONE;

    if (r < 0)
        return r;
    r = store_prepare(&tx,
                      "SELECT " CTR_COLUMNS " FROM containers WHERE ?1 IS NULL OR pod_id = ?1 "
                      "ORDER BY created_ns, id",
                      &st, err);
    if (r >= 0)
        sqlite3_bind_text(st, 1, pod_id, -1, SQLITE_STATIC);
    while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        list = xrealloc(list, (n + 1) * sizeof(*list));
        r = read_row(st, &list[n], err);
        n += r >= 0;
    }
    if (r >= 0 && rc != SQLITE_DONE)
        r = store_fail(&tx, "list containers", err);
    sqlite3_finalize(TAKE_PTR(st));
    store_tx_done(&tx);
    if (r < 0) {
        for (size_t i = 0; i < n; i++)
            ctr_record_free(list[i]);
        free(list);
        return r;
    }
    *ret = list ? list : xcalloc(1, sizeof(*list));
    *ret_n = n;
    return 0;
}

/* Runs one UPDATE/DELETE with the text and int parameters given; returns
 * the number of rows changed, or a negative errno. */
static int exec_update(struct store *s, const char *sql, const char *step, const char *const *texts,
                       size_t n_texts, const int64_t *ints, size_t n_ints, struct crib_err *err)
{
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;
    struct store_tx tx;
    int r = store_tx_begin(s, true, &tx, err), changes = 0;

    if (r < 0)
        return r;
    r = store_prepare(&tx, sql, &st, err);
    if (r >= 0) {
        int n = 1;

        for (size_t i = 0; i < n_texts; i++)
            sqlite3_bind_text(st, n++, texts[i], -1, SQLITE_STATIC);
        for (size_t i = 0; i < n_ints; i++)
            sqlite3_bind_int64(st, n++, ints[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            r = store_fail(&tx, "update container", err);
        changes = sqlite3_changes(tx.db);
    }
    sqlite3_finalize(TAKE_PTR(st));
    if (r >= 0)
        r = store_tx_commit(&tx, step, err);
    store_tx_done(&tx);
    return r < 0 ? r : changes;
}

int containers_set_running(struct store *s, const char *id, int64_t started_ns,
                           struct crib_err *err)
{
    const char *texts[] = {id};
    int64_t ints[] = {CTR_RUNNING, started_ns, CTR_CREATED};
    int r = exec_update(s,
                        "UPDATE containers SET state = ?2, started_ns = ?3 WHERE id = ?1 AND "
                        "state = ?4",
                        "container-start-commit", texts, 1, ints, 3, err);

    return r < 0 ? r : r == 0;
}

int containers_set_exited(struct store *s, const char *id, int exit_code, int64_t finished_ns,
                          const char *reason, const char *message, struct crib_err *err)
{
    const char *texts[] = {id, reason ? reason : "", message ? message : ""};
    int64_t ints[] = {CTR_EXITED, exit_code, finished_ns};
    int r = exec_update(s,
                        "UPDATE containers SET reason = ?2, message = ?3, state = ?4, "
                        "exit_code = ?5, finished_ns = ?6 WHERE id = ?1 AND state != ?4",
                        "container-exit-commit", texts, 3, ints, 3, err);

    return r < 0 ? r : r == 0;
}

int containers_set_resources(struct store *s, const char *id, const struct ctr_resources *res,
                             struct crib_err *err)
{
    struct json_object *o = resources_json(res);
    const char *texts[] = {id, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)};
    int r = exec_update(s,
                        "UPDATE containers SET doc = json_set(doc, '$.resources', json(?2)) "
                        "WHERE id = ?1",
                        NULL, texts, 2, NULL, 0, err);

    json_object_put(o);
    if (r == 0)
        return crib_fail(err, CRIB_NOT_FOUND, ENOENT, "container %s", id);
    return r < 0 ? r : 0;
}

int containers_delete(struct store *s, const char *id, struct crib_err *err)
{
    const char *texts[] = {id};
    int r = exec_update(s, "DELETE FROM containers WHERE id = ?1", "container-remove-commit", texts,
                        1, NULL, 0, err);

    return r < 0 ? r : 0;
}

void *ctr_encoding_get(const struct ctr_record *c)
{
    return __atomic_load_n(&c->encoding, __ATOMIC_ACQUIRE);
}

void *ctr_encoding_set(const struct ctr_record *c, void *enc)
{
    void *expected = NULL;
    void **slot = (void **)&c->encoding; /* the one field readers may fill */

    if (__atomic_compare_exchange_n(slot, &expected, enc, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return enc;
    free(enc);
    return expected;
}
