/* The metadata store: one SQLite database in WAL mode, the single source of
 * truth for crib's records (design.md). It owns the connection, the schema
 * migrations and transactions; each part keeps its own tables through it.
 *
 * Locking: one connection, serialized by the store's mutex for the whole of a
 * transaction. A transaction holds no lock other than this one and must do no
 * network I/O and no waiting on children. */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>

#include "common/err.h"

struct store;

struct store_tx {
    struct store *store;
    sqlite3 *db;
    bool active;
};

/* Opens (creating if needed) the database at path, checks its integrity and
 * brings its schema up to date. Refuses a database that fails the check or
 * whose schema is newer than this build.
 * Crash points: store-open, store-migrate-N (before migration N commits).
 * On success *ret_store belongs to the caller: store_close() it.
 * Errors: CRIB_STATE (corrupt or too new a database), CRIB_INTERNAL. */
int store_open(const char *path, struct store **ret_store, struct crib_err *err);
void store_close(struct store *store);

/* The schema version the database is at. */
int store_schema_version(struct store *store);
/* The schema version this build migrates to. */
int store_schema_latest(void);

/* Starts a transaction (BEGIN IMMEDIATE when write, else DEFERRED) and takes
 * the store's lock until store_tx_commit() or store_tx_done(). */
int store_tx_begin(struct store *store, bool write, struct store_tx *ret_tx, struct crib_err *err);
/* Commits. crash_step, when not NULL, names the crash point just before the
 * commit. The transaction ends either way. Errors: CRIB_INTERNAL. */
int store_tx_commit(struct store_tx *tx, const char *crash_step, struct crib_err *err);
/* Rolls back if still active and releases the lock; safe to call twice. */
void store_tx_done(struct store_tx *tx);

/* Prepares sql on the transaction's connection. Errors: CRIB_INTERNAL. */
int store_prepare(struct store_tx *tx, const char *sql, sqlite3_stmt **ret_stmt,
                  struct crib_err *err);
/* Fills err from the connection's last error: "what: sqlite message". */
int store_fail(struct store_tx *tx, const char *what, struct crib_err *err);

/* The settings table: a small key/value map (e.g. the pod CIDR).
 * store_setting_get returns 0 and a new string (free() it), or CRIB_NOT_FOUND. */
int store_setting_get(struct store_tx *tx, const char *key, char **ret_value, struct crib_err *err);
int store_setting_set(struct store_tx *tx, const char *key, const char *value,
                      struct crib_err *err);

/* Column i of the current row as a new string (free() it); NULL reads as "". */
char *store_col_text(sqlite3_stmt *st, int i);

static inline void sqlite3_finalizep(sqlite3_stmt **stmt)
{
    if (*stmt)
        sqlite3_finalize(*stmt);
}
#define _cleanup_sqlite_stmt_ __attribute__((cleanup(sqlite3_finalizep)))
