#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/store.h"
#include "common/testing.h"
#include "common/xalloc.h"

static char *temp_db(void)
{
    char dir[] = "/tmp/crib-store-test-XXXXXX";

    if (!mkdtemp(dir))
        abort();
    return xasprintf("%s/crib.db", dir);
}

static void remove_db(const char *path)
{
    char *dir = xstrdup(path);

    *strrchr(dir, '/') = '\0';
    for (const char *sfx = ""; sfx; sfx = *sfx ? (sfx[1] == 'w' ? "-shm" : NULL) : "-wal") {
        char *f = xasprintf("%s%s", path, sfx);

        unlink(f);
        free(f);
    }
    rmdir(dir);
    free(dir);
}

static int test_new_database_is_migrated_to_latest(void)
{
    _cleanup_free_ char *path = temp_db();
    struct store *s;
    struct crib_err err;

    CHECK_INT(store_open(path, &s, &err), 0);
    CHECK_INT(store_schema_version(s), store_schema_latest());
    store_close(s);
    remove_db(path);
    return 0;
}

static int test_settings_survive_reopen_and_rollback_discards(void)
{
    _cleanup_free_ char *path = temp_db();
    _cleanup_free_ char *value = NULL;
    struct store_tx tx;
    struct store *s;
    struct crib_err err;

    CHECK_INT(store_open(path, &s, &err), 0);
    CHECK_INT(store_tx_begin(s, true, &tx, &err), 0);
    CHECK_INT(store_setting_set(&tx, "k", "v1", &err), 0);
    CHECK_INT(store_tx_commit(&tx, NULL, &err), 0);
    CHECK_INT(store_tx_begin(s, true, &tx, &err), 0);
    CHECK_INT(store_setting_set(&tx, "k", "v2", &err), 0);
    store_tx_done(&tx); /* no commit: rolled back */
    store_tx_done(&tx);
    store_close(s);

    CHECK_INT(store_open(path, &s, &err), 0);
    CHECK_INT(store_tx_begin(s, false, &tx, &err), 0);
    CHECK_INT(store_setting_get(&tx, "k", &value, &err), 0);
    CHECK_STR(value, "v1");
    CHECK(store_setting_get(&tx, "missing", &value, &err) < 0);
    CHECK_INT(err.code, CRIB_NOT_FOUND);
    store_tx_done(&tx);
    store_close(s);
    remove_db(path);
    return 0;
}

static int test_garbage_file_is_refused_with_state_error(void)
{
    _cleanup_free_ char *path = temp_db();
    static const char junk[] = "this is not an sqlite database, not even close......";
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    struct store *s = NULL;
    struct crib_err err;

    for (int i = 0; i < 200; i++)
        CHECK(write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk));
    close(fd);
    CHECK(store_open(path, &s, &err) < 0);
    CHECK_INT(err.code, CRIB_STATE);
    CHECK_CONTAINS(err.msg, path);
    CHECK_CONTAINS(err.msg, "not a database");
    remove_db(path);
    return 0;
}

static int test_newer_schema_is_refused(void)
{
    _cleanup_free_ char *path = temp_db();
    struct store *s;
    struct store_tx tx;
    struct crib_err err;

    CHECK_INT(store_open(path, &s, &err), 0);
    CHECK_INT(store_tx_begin(s, true, &tx, &err), 0);
    CHECK_INT(sqlite3_exec(tx.db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
    CHECK_INT(store_tx_commit(&tx, NULL, &err), 0);
    store_close(s);
    CHECK(store_open(path, &s, &err) < 0);
    CHECK_INT(err.code, CRIB_STATE);
    CHECK_CONTAINS(err.msg, "schema version 999");
    remove_db(path);
    return 0;
}

TEST_MAIN(TEST(test_new_database_is_migrated_to_latest),
          TEST(test_settings_survive_reopen_and_rollback_discards),
          TEST(test_garbage_file_is_refused_with_state_error), TEST(test_newer_schema_is_refused))
