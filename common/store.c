#include "common/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/crash.h"
#include "common/store_schema.h"
#include "common/xalloc.h"

/* How long a statement waits for a lock held by another process (e.g. the
 * sqlite3 shell of an operator) before failing. */
#define STORE_BUSY_TIMEOUT_MS 5000

struct store {
    sqlite3 *db;
    pthread_mutex_t lock;
    int version;
};

static int db_fail(sqlite3 *db, const char *what, struct crib_err *err)
{
    int code = sqlite3_extended_errcode(db) & 0xff;
    enum crib_code c =
        (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) ? CRIB_STATE : CRIB_INTERNAL;

    return crib_fail(err, c, 0, "%s: %s", what, sqlite3_errmsg(db));
}

static int exec_sql(sqlite3 *db, const char *sql, const char *what, struct crib_err *err)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(db, what, err);
    return 0;
}

static int query_int(sqlite3 *db, const char *sql, int *ret, struct crib_err *err)
{
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        return db_fail(db, sql, err);
    *ret = sqlite3_column_int(st, 0);
    return 0;
}

/* quick_check finds broken pages and indexes at a fraction of integrity_check's
 * cost, which matters on a node with many records. */
static int check_integrity(sqlite3 *db, const char *path, struct crib_err *err)
{
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;
    const char *verdict;

    if (sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        return crib_fail(err, CRIB_STATE, 0,
                         "database %s is not usable (%s); move it away to start afresh, "
                         "or restore a backup",
                         path, sqlite3_errmsg(db));
    verdict = (const char *)sqlite3_column_text(st, 0);
    if (!verdict || strcmp(verdict, "ok") != 0)
        return crib_fail(err, CRIB_STATE, 0,
                         "database %s failed its integrity check (%s); move it away to start "
                         "afresh, or restore a backup",
                         path, verdict ? verdict : "no verdict");
    return 0;
}

static int migrate(struct store *s, const char *path, struct crib_err *err)
{
    int latest = store_schema_latest();
    int r;

    r = query_int(s->db, "PRAGMA user_version", &s->version, err);
    if (r < 0)
        return r;
    if (s->version > latest)
        return crib_fail(err, CRIB_STATE, 0,
                         "database %s has schema version %d, newer than this cribd's %d; "
                         "run a newer cribd",
                         path, s->version, latest);
    while (s->version < latest) {
        const struct store_migration *m = &store_migrations[s->version];
        char step[32], bump[48];

        snprintf(step, sizeof(step), "store-migrate-%d", s->version + 1);
        snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", s->version + 1);
        r = exec_sql(s->db, "BEGIN IMMEDIATE", "begin migration", err);
        if (r >= 0)
            r = exec_sql(s->db, m->sql, m->what, err);
        if (r >= 0)
            r = exec_sql(s->db, bump, "set schema version", err);
        if (r < 0) {
            (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return crib_wrap(err, "migration %d (%s)", s->version + 1, m->what);
        }
        CRASH_POINT(step);
        r = exec_sql(s->db, "COMMIT", "commit migration", err);
        if (r < 0)
            return r;
        s->version++;
    }
    return 0;
}

static int configure(sqlite3 *db, struct crib_err *err)
{
    int r;

    sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
    r = exec_sql(db, "PRAGMA journal_mode=WAL", "enable WAL", err);
    if (r >= 0)
        /* In WAL mode NORMAL is durable against a process crash and keeps the
         * database consistent after a power loss; FULL adds an fsync per commit. */
        r = exec_sql(db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", "set pragmas", err);
    return r;
}

int store_open(const char *path, struct store **ret_store, struct crib_err *err)
{
    struct store *s = xcalloc(1, sizeof(*s));
    int r;

    pthread_mutex_init(&s->lock, NULL);
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        r = crib_fail(err, CRIB_INTERNAL, 0, "open database %s: %s", path,
                      s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    CRASH_POINT("store-open");
    r = check_integrity(s->db, path, err);
    if (r >= 0)
        r = configure(s->db, err);
    if (r >= 0)
        r = migrate(s, path, err);
    if (r < 0)
        goto fail;
    *ret_store = s;
    return 0;
fail:
    store_close(s);
    return r;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int store_schema_version(struct store *s)
{
    return s->version;
}

int store_schema_latest(void)
{
    return (int)store_n_migrations;
}

int store_tx_begin(struct store *s, bool write, struct store_tx *ret_tx, struct crib_err *err)
{
    int r;

    pthread_mutex_lock(&s->lock);
    r = exec_sql(s->db, write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED", "begin transaction", err);
    if (r < 0) {
        pthread_mutex_unlock(&s->lock);
        return r;
    }
    *ret_tx = (struct store_tx){.store = s, .db = s->db, .active = true};
    return 0;
}

int store_tx_commit(struct store_tx *tx, const char *crash_step, struct crib_err *err)
{
    int r;

    if (crash_step)
        CRASH_POINT(crash_step);
    r = exec_sql(tx->db, "COMMIT", "commit", err);
    store_tx_done(tx);
    return r;
}

void store_tx_done(struct store_tx *tx)
{
    if (!tx->store)
        return;
    if (!sqlite3_get_autocommit(tx->db))
        (void)sqlite3_exec(tx->db, "ROLLBACK", NULL, NULL, NULL);
    tx->active = false;
    pthread_mutex_unlock(&tx->store->lock);
    tx->store = NULL;
}

int store_prepare(struct store_tx *tx, const char *sql, sqlite3_stmt **ret_stmt,
                  struct crib_err *err)
{
    if (sqlite3_prepare_v2(tx->db, sql, -1, ret_stmt, NULL) != SQLITE_OK)
        return db_fail(tx->db, "prepare", err);
    return 0;
}

int store_fail(struct store_tx *tx, const char *what, struct crib_err *err)
{
    return db_fail(tx->db, what, err);
}

int store_setting_get(struct store_tx *tx, const char *key, char **ret_value, struct crib_err *err)
{
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;
    int r = store_prepare(tx, "SELECT value FROM settings WHERE key = ?1", &st, err);

    if (r < 0)
        return r;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    switch (sqlite3_step(st)) {
    case SQLITE_ROW: *ret_value = xstrdup((const char *)sqlite3_column_text(st, 0)); return 0;
    case SQLITE_DONE: return crib_fail(err, CRIB_NOT_FOUND, ENOENT, "setting '%s'", key);
    default: return store_fail(tx, "read setting", err);
    }
}

int store_setting_set(struct store_tx *tx, const char *key, const char *value, struct crib_err *err)
{
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;
    int r = store_prepare(tx,
                          "INSERT INTO settings(key, value) VALUES (?1, ?2) "
                          "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                          &st, err);

    if (r < 0)
        return r;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        return store_fail(tx, "write setting", err);
    return 0;
}

char *store_col_text(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);

    return xstrdup(t ? t : "");
}
