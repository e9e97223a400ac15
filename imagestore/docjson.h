/* Strict JSON documents for the image parsers (manifests, indexes, configs):
 * json-c with the checks the registry formats need, in one place. */
#pragma once

#include <stddef.h>

#include "common/err.h"

struct json_object;

/* Parses data[0..len) as exactly one JSON object: strict JSON, valid UTF-8,
 * nothing but whitespace after it, nesting within json-c's depth limit.
 * what names the document in messages ("manifest").
 * Errors: CRIB_LIMIT (len > max_bytes), CRIB_INVALID. Release *ret with json_object_put(). */
int docjson_parse(const char *data, size_t len, size_t max_bytes, const char *what,
                  struct json_object **ret, struct crib_err *err);

/* For _cleanup_(docjson_putp). */
void docjson_putp(struct json_object **o);

/* The string at obj[key], borrowed from obj. Returns 1 when set, 0 when absent or
 * null (*ret NULL). Errors: CRIB_INVALID naming path (not a string, or one with a NUL byte). */
int docjson_string(struct json_object *obj, const char *key, const char *path, const char **ret,
                   struct crib_err *err);

/* docjson_string, copied: *ret_owned (free()) is left NULL when absent. */
int docjson_strdup(struct json_object *obj, const char *key, const char *path, char **ret_owned,
                   struct crib_err *err);

/* The array of strings at obj[key] (absent or null: none), copied into *ret
 * (free each and the array). Errors: CRIB_INVALID naming path[i], CRIB_LIMIT over max. */
int docjson_string_array(struct json_object *obj, const char *key, const char *path, size_t max,
                         char ***ret, size_t *ret_n, struct crib_err *err);

/* Frees n strings and the array. */
void docjson_strv_free(char **v, size_t n);
