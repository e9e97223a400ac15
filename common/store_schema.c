#include "common/store_schema.h"

#include "common/cleanup.h"

const struct store_migration store_migrations[] = {
    {
        .what = "settings table",
        .sql = "CREATE TABLE settings ("
               "  key   TEXT PRIMARY KEY NOT NULL,"
               "  value TEXT NOT NULL"
               ") STRICT;",
    },
};

const size_t store_n_migrations = ARRAY_SIZE(store_migrations);
