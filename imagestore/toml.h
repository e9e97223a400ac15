/* The subset of TOML that registry host files (hosts.toml) use: comments,
 * [tables] with dotted and quoted keys, `key = value` with basic and literal
 * strings, booleans and (nested) arrays. Bookworm packages no TOML library
 * for C, and a host file is small, so a strict reader is cheaper than a
 * dependency. Everything else (numbers, dates, inline tables, multi-line
 * strings, arrays of tables, dotted keys on the left of '=') is refused. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* A line longer than this is refused: header values (tokens) are the
 * longest legitimate lines, and they stay well below it. */
#define TOML_MAX_LINE_BYTES (16u << 10)
/* Keys plus table headers in one document. */
#define TOML_MAX_ENTRIES 1024
/* Elements of one array, and how deep arrays may nest ([["cert","key"]] is 2). */
#define TOML_MAX_ARRAY_ITEMS 64
#define TOML_MAX_ARRAY_DEPTH 4
/* Components of a table name: [host."https://x".header] is 3. */
#define TOML_MAX_TABLE_DEPTH 8

enum toml_type {
    TOML_STRING,
    TOML_BOOL,
    TOML_ARRAY,
};

struct toml_value {
    enum toml_type type;
    bool boolean;             /* TOML_BOOL */
    char *str;                /* TOML_STRING: valid UTF-8 without NUL */
    size_t n_items;           /* TOML_ARRAY */
    struct toml_value *items; /* TOML_ARRAY */
};

/* One table header or one key/value pair, in document order. Everything is
 * borrowed for the duration of the callback only. */
struct toml_event {
    const char *const *table; /* the current table's name components */
    size_t n_table;           /* 0 for the root table */
    const char *key;          /* NULL for a table header */
    const struct toml_value *value;
    unsigned line;
};

typedef int (*toml_event_fn)(void *userdata, const struct toml_event *ev, struct crib_err *err);

/* Reads text (len bytes, not NUL-terminated) and calls fn for each event; a
 * negative return from fn stops the parse and is returned as is. name is used
 * in messages ("NAME:LINE: problem"). Duplicate keys and tables, and a table
 * that redefines a key, are refused as TOML requires.
 * Errors: CRIB_INVALID naming the line, CRIB_LIMIT (TOML_MAX_*), and fn's. */
int toml_parse(const char *name, const char *text, size_t len, toml_event_fn fn, void *userdata,
               struct crib_err *err);
