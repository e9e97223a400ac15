/* JSON helpers for the registry's documents: one strict parse with caps, and
 * typed field access whose messages name the field's path. */
#include "imagestore/docjson.h"

#include <json-c/json.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

void docjson_putp(struct json_object **o)
{
    if (*o)
        json_object_put(*o);
}

static void tokener_freep(struct json_tokener **t)
{
    if (*t)
        json_tokener_free(*t);
}

static int only_space(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
            return 0;
    return 1;
}

int docjson_parse(const char *data, size_t len, size_t max_bytes, const char *what,
                  struct json_object **ret, struct crib_err *err)
{
    _cleanup_(tokener_freep) struct json_tokener *tok = NULL;
    _cleanup_(docjson_putp) struct json_object *root = NULL;
    enum json_tokener_error jerr;
    size_t end;

    if (len > max_bytes)
        return crib_fail(err, CRIB_LIMIT, 0, "%s is %zu bytes, over the limit of %zu", what, len,
                         max_bytes);
    /* json-c's default depth (32) is far above what any manifest or config
     * needs, and it turns hostile nesting into an error instead of deep recursion. */
    tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
    if (!tok)
        return crib_fail(err, CRIB_INTERNAL, 0, "cannot allocate a JSON tokener");
    /* Trailing bytes are checked below, for a clearer message than json-c's. */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
                                    JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, data, (int)len);
    jerr = json_tokener_get_error(tok);
    if (jerr == json_tokener_continue)
        return crib_fail(err, CRIB_INVALID, 0, "%s is not valid JSON: unexpected end of data",
                         what);
    if (!root || jerr != json_tokener_success)
        return crib_fail(err, CRIB_INVALID, 0, "%s is not valid JSON: %s", what,
                         json_tokener_error_desc(jerr));
    /* Anything but whitespace left over (a second document, a NUL byte) means
     * the body is not the one document it claims to be. */
    end = json_tokener_get_parse_end(tok);
    if (end > len || !only_space(data + end, len - end))
        return crib_fail(err, CRIB_INVALID, 0, "%s has trailing data after the JSON value", what);
    if (!json_object_is_type(root, json_type_object))
        return crib_fail(err, CRIB_INVALID, 0, "%s is not a JSON object", what);
    *ret = TAKE_PTR(root);
    return 0;
}

/* v's text, or NULL when v is not a string or holds a NUL byte: "\u0000" would
 * cut the C string short, and we refuse rather than read a different value. */
static const char *clean_string(struct json_object *v)
{
    const char *s;

    if (!json_object_is_type(v, json_type_string))
        return NULL;
    s = json_object_get_string(v);
    if (strlen(s) != (size_t)json_object_get_string_len(v))
        return NULL;
    return s;
}

int docjson_string(struct json_object *obj, const char *key, const char *path, const char **ret,
                   struct crib_err *err)
{
    struct json_object *v = NULL;
    const char *s;

    if (!json_object_object_get_ex(obj, key, &v) || !v) {
        *ret = NULL;
        return 0;
    }
    s = clean_string(v);
    if (!s)
        return crib_fail(err, CRIB_INVALID, 0, "%s is not a string", path);
    *ret = s;
    return 1;
}

int docjson_strdup(struct json_object *obj, const char *key, const char *path, char **ret_owned,
                   struct crib_err *err)
{
    const char *s;
    int r = docjson_string(obj, key, path, &s, err);

    if (r < 0)
        return r;
    *ret_owned = s ? xstrdup(s) : NULL;
    return r;
}

void docjson_strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

int docjson_string_array(struct json_object *obj, const char *key, const char *path, size_t max,
                         char ***ret, size_t *ret_n, struct crib_err *err)
{
    struct json_object *arr = NULL;
    char **v;
    size_t n;

    if (!json_object_object_get_ex(obj, key, &arr) || !arr) {
        *ret = NULL;
        *ret_n = 0;
        return 0;
    }
    if (!json_object_is_type(arr, json_type_array))
        return crib_fail(err, CRIB_INVALID, 0, "%s is not an array", path);
    n = json_object_array_length(arr);
    if (n > max)
        return crib_fail(err, CRIB_LIMIT, 0, "%s has %zu entries, over the limit of %zu", path, n,
                         max);
    v = xcalloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        const char *s = clean_string(json_object_array_get_idx(arr, i));

        if (!s) {
            docjson_strv_free(v, i);
            return crib_fail(err, CRIB_INVALID, 0, "%s[%zu] is not a string", path, i);
        }
        v[i] = xstrdup(s);
    }
    *ret = v;
    *ret_n = n;
    return 1;
}
