/* The schema of the metadata store, as an ordered list of forward migrations:
 * migration i takes the database from user_version i to i + 1. Append only:
 * a released migration is never edited. */
#pragma once

#include <stddef.h>

struct store_migration {
    const char *what; /* one line, for logs and errors */
    const char *sql;
};

extern const struct store_migration store_migrations[];
extern const size_t store_n_migrations;
