#include "imagestore/toml.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

/* A key or table name as its components; every one is kept so that a second
 * definition can be refused, as TOML requires. */
struct key_path {
    char **parts;
    size_t n;
    bool is_table;
};

struct parser {
    const char *name;
    const char *p, *end;
    unsigned line;
    toml_event_fn fn;
    void *userdata;
    struct crib_err *err;
    struct key_path *paths;
    size_t n_paths, cap_paths;
    size_t table; /* paths[table] is the current table; NO_TABLE for the root */
};

#define NO_TABLE SIZE_MAX

static const struct key_path root_table;

static const struct key_path *current_table(const struct parser *ps)
{
    return ps->table == NO_TABLE ? &root_table : &ps->paths[ps->table];
}

static int fail(struct parser *ps, enum crib_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parser *ps, enum crib_code code, const char *fmt, ...)
{
    char msg[CRIB_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return crib_fail(ps->err, code, 0, "%s:%u: %s", ps->name, ps->line, msg);
}

static void key_path_done(struct key_path *kp)
{
    for (size_t i = 0; i < kp->n; i++)
        free(kp->parts[i]);
    free(kp->parts);
    kp->parts = NULL;
    kp->n = 0;
}

static void value_done(struct toml_value *v)
{
    free(v->str);
    for (size_t i = 0; i < v->n_items; i++)
        value_done(&v->items[i]);
    free(v->items);
    memset(v, 0, sizeof(*v));
}

static char *dup_range(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);

    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Length of the UTF-8 sequence at s, or 0 when it is not valid UTF-8
 * (overlong forms, surrogates and values past U+10FFFF included). */
static size_t utf8_len(const unsigned char *s, const unsigned char *end)
{
    static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    uint32_t cp;
    size_t n;

    if (*s < 0x80)
        return 1;
    if ((*s & 0xe0) == 0xc0)
        n = 2, cp = *s & 0x1f;
    else if ((*s & 0xf0) == 0xe0)
        n = 3, cp = *s & 0x0f;
    else if ((*s & 0xf8) == 0xf0)
        n = 4, cp = *s & 0x07;
    else
        return 0;
    if ((size_t)(end - s) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* One pass over the raw bytes before parsing, so the parser itself never
 * meets a NUL, a stray control character, bad UTF-8 or an endless line
 * (TOML forbids the first three anywhere, even in comments). */
static int check_text(struct parser *ps)
{
    const unsigned char *s = (const unsigned char *)ps->p, *end = (const unsigned char *)ps->end;
    const unsigned char *line_start = s;

    for (ps->line = 1; s < end;) {
        unsigned char c = *s;
        size_t n = 1;

        if (c == '\n') {
            ps->line++;
            line_start = ++s;
            continue;
        }
        if ((size_t)(s - line_start) >= TOML_MAX_LINE_BYTES)
            return fail(ps, CRIB_LIMIT, "line longer than %u bytes", TOML_MAX_LINE_BYTES);
        if (c == '\0') {
            return fail(ps, CRIB_INVALID, "NUL byte");
        } else if (c == '\r' && s + 1 < end && s[1] == '\n') {
            /* CRLF ends a line too; the '\n' is counted next. */
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return fail(ps, CRIB_INVALID, "control character 0x%02x", c);
        } else if (c >= 0x80) {
            n = utf8_len(s, end);
            if (n == 0)
                return fail(ps, CRIB_INVALID, "invalid UTF-8");
        }
        s += n;
    }
    return 0;
}

static int peek(const struct parser *ps)
{
    return ps->p < ps->end ? (unsigned char)*ps->p : -1;
}

static void skip_blank(struct parser *ps)
{
    while (peek(ps) == ' ' || peek(ps) == '\t')
        ps->p++;
}

static void skip_comment(struct parser *ps)
{
    if (peek(ps) != '#')
        return;
    while (ps->p < ps->end && *ps->p != '\n' && *ps->p != '\r')
        ps->p++;
}

/* Blanks, comments and line ends: what may sit between lines and between
 * the items of an array. */
static void skip_space_lines(struct parser *ps)
{
    for (;;) {
        skip_blank(ps);
        skip_comment(ps);
        if (peek(ps) == '\r') {
            ps->p++; /* check_text let only CRLF through */
        } else if (peek(ps) == '\n') {
            ps->p++;
            ps->line++;
        } else {
            return;
        }
    }
}

static int end_of_line(struct parser *ps)
{
    skip_blank(ps);
    skip_comment(ps);
    if (peek(ps) == -1)
        return 0;
    if (peek(ps) == '\r')
        ps->p++;
    if (peek(ps) != '\n')
        return fail(ps, CRIB_INVALID, "unexpected text after the value");
    ps->p++;
    ps->line++;
    return 0;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* \uXXXX or \UXXXXXXXX at *s (after the letter). The UTF-8 it produces is
 * never longer than the escape, so the caller's buffer suffices. */
static int decode_unicode(struct parser *ps, const char **s, const char *end, size_t n_digits,
                          char *out, size_t *n_out)
{
    uint32_t cp = 0;

    if ((size_t)(end - *s) < n_digits)
        return fail(ps, CRIB_INVALID, "bad escape: needs %zu hex digits", n_digits);
    for (size_t i = 0; i < n_digits; i++) {
        int h = hex_value((unsigned char)(*s)[i]);

        if (h < 0)
            return fail(ps, CRIB_INVALID, "bad escape: needs %zu hex digits", n_digits);
        cp = cp << 4 | (uint32_t)h;
    }
    if (cp == 0)
        return fail(ps, CRIB_INVALID, "bad escape: NUL is not allowed in a string");
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return fail(ps, CRIB_INVALID, "bad escape: U+%X is not a Unicode scalar value", cp);
    *s += n_digits;
    *n_out += put_utf8(cp, out + *n_out);
    return 0;
}

/* The character a one-letter escape stands for, or -1. */
static int simple_escape(char c)
{
    switch (c) {
    case 'b': return '\b';
    case 't': return '\t';
    case 'n': return '\n';
    case 'f': return '\f';
    case 'r': return '\r';
    case '"': return '"';
    case '\\': return '\\';
    default: return -1;
    }
}

static int decode_escapes(struct parser *ps, const char *s, const char *end, char *out)
{
    size_t n = 0;
    int r;

    while (s < end) {
        char c;

        if (*s != '\\') {
            out[n++] = *s++;
            continue;
        }
        c = s[1]; /* the scan in parse_basic saw a character after each '\\' */
        s += 2;
        if (c == 'u' || c == 'U') {
            r = decode_unicode(ps, &s, end, c == 'u' ? 4 : 8, out, &n);
            if (r < 0)
                return r;
        } else if (simple_escape(c) >= 0) {
            out[n++] = (char)simple_escape(c);
        } else if (c > ' ' && c < 0x7f) {
            return fail(ps, CRIB_INVALID, "bad escape '\\%c'", c);
        } else {
            return fail(ps, CRIB_INVALID, "bad escape: '\\' before byte 0x%02x", (unsigned char)c);
        }
    }
    out[n] = '\0';
    return 0;
}

static int parse_basic(struct parser *ps, char **ret)
{
    _cleanup_free_ char *buf = NULL;
    const char *start, *q;
    int r;

    if (ps->end - ps->p >= 3 && memcmp(ps->p, "\"\"\"", 3) == 0)
        return fail(ps, CRIB_INVALID, "multi-line strings are not supported");
    start = q = ps->p + 1;
    while (q < ps->end && *q != '"' && *q != '\n' && *q != '\r') {
        if (*q == '\\' && (q + 1 == ps->end || q[1] == '\n' || q[1] == '\r'))
            break;
        q += *q == '\\' ? 2 : 1;
    }
    if (q >= ps->end || *q != '"')
        return fail(ps, CRIB_INVALID, "unterminated string");
    buf = xmalloc((size_t)(q - start) + 1);
    r = decode_escapes(ps, start, q, buf);
    if (r < 0)
        return r;
    ps->p = q + 1;
    *ret = TAKE_PTR(buf);
    return 0;
}

static int parse_literal(struct parser *ps, char **ret)
{
    const char *start, *q;

    if (ps->end - ps->p >= 3 && memcmp(ps->p, "'''", 3) == 0)
        return fail(ps, CRIB_INVALID, "multi-line strings are not supported");
    start = q = ps->p + 1;
    while (q < ps->end && *q != '\'' && *q != '\n' && *q != '\r')
        q++;
    if (q >= ps->end || *q != '\'')
        return fail(ps, CRIB_INVALID, "unterminated string");
    *ret = dup_range(start, (size_t)(q - start));
    ps->p = q + 1;
    return 0;
}

static bool is_bare(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

static int parse_key(struct parser *ps, char **ret)
{
    const char *start = ps->p;

    if (peek(ps) == '"')
        return parse_basic(ps, ret);
    if (peek(ps) == '\'')
        return parse_literal(ps, ret);
    while (is_bare(peek(ps)))
        ps->p++;
    if (ps->p == start)
        return fail(ps, CRIB_INVALID, "expected a key");
    *ret = dup_range(start, (size_t)(ps->p - start));
    return 0;
}

static bool match_word(struct parser *ps, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return false;
    if (ps->p + n < ps->end && is_bare((unsigned char)ps->p[n]))
        return false;
    ps->p += n;
    return true;
}

static int parse_value(struct parser *ps, unsigned depth, struct toml_value *v);

static int parse_array(struct parser *ps, unsigned depth, struct toml_value *v)
{
    size_t cap = 0;
    int r;

    if (depth > TOML_MAX_ARRAY_DEPTH)
        return fail(ps, CRIB_LIMIT, "arrays nested deeper than %d", TOML_MAX_ARRAY_DEPTH);
    v->type = TOML_ARRAY;
    ps->p++;
    for (;;) {
        skip_space_lines(ps);
        if (peek(ps) == ']')
            break;
        if (v->n_items == TOML_MAX_ARRAY_ITEMS)
            return fail(ps, CRIB_LIMIT, "array of more than %d items", TOML_MAX_ARRAY_ITEMS);
        if (v->n_items == cap) {
            cap = cap ? 2 * cap : 4;
            v->items = xrealloc(v->items, cap * sizeof(*v->items));
        }
        /* Counted before it is parsed, so value_done frees a half-read item. */
        memset(&v->items[v->n_items], 0, sizeof(*v->items));
        r = parse_value(ps, depth, &v->items[v->n_items++]);
        if (r < 0)
            return r;
        skip_space_lines(ps);
        if (peek(ps) == ',')
            ps->p++;
        else if (peek(ps) != ']')
            return fail(ps, CRIB_INVALID,
                        peek(ps) < 0 ? "unterminated array" : "expected ',' or ']' in an array");
    }
    ps->p++;
    return 0;
}

static int parse_value(struct parser *ps, unsigned depth, struct toml_value *v)
{
    int c = peek(ps);

    if (c == '"' || c == '\'') {
        v->type = TOML_STRING;
        return c == '"' ? parse_basic(ps, &v->str) : parse_literal(ps, &v->str);
    }
    if (c == '[')
        return parse_array(ps, depth + 1, v);
    if (c == '{')
        return fail(ps, CRIB_INVALID, "inline tables are not supported");
    v->type = TOML_BOOL;
    if (match_word(ps, "true")) {
        v->boolean = true;
        return 0;
    }
    if (match_word(ps, "false"))
        return 0;
    if (c < 0 || c == '\n' || c == '\r' || c == '#')
        return fail(ps, CRIB_INVALID, "missing value");
    return fail(ps, CRIB_INVALID, "unsupported value (only strings, booleans and arrays are read)");
}

static bool is_prefix(const struct key_path *a, const struct key_path *b)
{
    if (a->n > b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->parts[i], b->parts[i]) != 0)
            return false;
    return true;
}

/* The check is quadratic, which TOML_MAX_ENTRIES keeps cheap. Takes *kp. */
static int add_path(struct parser *ps, struct key_path *kp)
{
    const char *last = kp->parts[kp->n - 1];

    for (size_t i = 0; i < ps->n_paths; i++) {
        const struct key_path *q = &ps->paths[i];

        if (kp->is_table && q->is_table && q->n == kp->n && is_prefix(q, kp))
            return fail(ps, CRIB_INVALID, "table '%s' defined twice", last);
        if (kp->is_table && !q->is_table && is_prefix(q, kp))
            return fail(ps, CRIB_INVALID, "table '%s' redefines a key", last);
        if (!kp->is_table && is_prefix(kp, q))
            return fail(ps, CRIB_INVALID,
                        q->is_table ? "key '%s' redefines a table" : "key '%s' defined twice",
                        last);
    }
    if (ps->n_paths == TOML_MAX_ENTRIES)
        return fail(ps, CRIB_LIMIT, "more than %d keys and tables", TOML_MAX_ENTRIES);
    if (ps->n_paths == ps->cap_paths) {
        ps->cap_paths = ps->cap_paths ? 2 * ps->cap_paths : 16;
        ps->paths = xrealloc(ps->paths, ps->cap_paths * sizeof(*ps->paths));
    }
    ps->paths[ps->n_paths++] = *kp;
    *kp = (struct key_path){0};
    return 0;
}

/* add_path, with a duplicate reported on the line where the key or table
 * began (a multi-line array has moved the cursor on). */
static int add_at_line(struct parser *ps, struct key_path *kp, unsigned line)
{
    unsigned cur = ps->line;
    int r;

    ps->line = line;
    r = add_path(ps, kp);
    ps->line = cur;
    return r;
}

static int emit(struct parser *ps, const char *key, const struct toml_value *v, unsigned line)
{
    const struct key_path *table = current_table(ps);
    struct toml_event ev = {
        .table = (const char *const *)table->parts,
        .n_table = table->n,
        .key = key,
        .value = v,
        .line = line,
    };

    return ps->fn(ps->userdata, &ev, ps->err);
}

static int parse_table(struct parser *ps)
{
    _cleanup_(key_path_done) struct key_path kp = {0};
    unsigned line = ps->line;
    int r;

    ps->p++;
    if (peek(ps) == '[')
        return fail(ps, CRIB_INVALID, "arrays of tables are not supported");
    kp.parts = xcalloc(TOML_MAX_TABLE_DEPTH, sizeof(*kp.parts));
    kp.is_table = true;
    for (;;) {
        if (kp.n == TOML_MAX_TABLE_DEPTH)
            return fail(ps, CRIB_LIMIT, "table name of more than %d parts", TOML_MAX_TABLE_DEPTH);
        skip_blank(ps);
        r = parse_key(ps, &kp.parts[kp.n]);
        if (r < 0)
            return r;
        kp.n++;
        skip_blank(ps);
        if (peek(ps) == ']')
            break;
        if (peek(ps) != '.')
            return fail(ps, CRIB_INVALID, "expected '.' or ']' in a table name");
        ps->p++;
    }
    ps->p++;
    r = end_of_line(ps);
    if (r < 0)
        return r;
    r = add_at_line(ps, &kp, line);
    if (r < 0)
        return r;
    ps->table = ps->n_paths - 1;
    return emit(ps, NULL, NULL, line);
}

/* The key's full name (current table + key), to find duplicates. */
static struct key_path full_path(const struct key_path *table, const char *key)
{
    struct key_path kp = {.parts = xcalloc(table->n + 1, sizeof(char *)), .n = table->n + 1};

    for (size_t i = 0; i < table->n; i++)
        kp.parts[i] = xstrdup(table->parts[i]);
    kp.parts[table->n] = xstrdup(key);
    return kp;
}

static int parse_keyval(struct parser *ps)
{
    _cleanup_free_ char *key = NULL;
    _cleanup_(value_done) struct toml_value v = {0};
    _cleanup_(key_path_done) struct key_path kp = {0};
    unsigned line = ps->line;
    int r;

    r = parse_key(ps, &key);
    if (r < 0)
        return r;
    skip_blank(ps);
    if (peek(ps) == '.')
        return fail(ps, CRIB_INVALID, "dotted keys are not supported; use a [table]");
    if (peek(ps) != '=')
        return fail(ps, CRIB_INVALID, "expected '=' after key '%s'", key);
    ps->p++;
    skip_blank(ps);
    r = parse_value(ps, 0, &v);
    if (r < 0)
        return r;
    r = end_of_line(ps);
    if (r < 0)
        return r;
    kp = full_path(current_table(ps), key);
    r = add_at_line(ps, &kp, line);
    if (r < 0)
        return r;
    return emit(ps, key, &v, line);
}

int toml_parse(const char *name, const char *text, size_t len, toml_event_fn fn, void *userdata,
               struct crib_err *err)
{
    struct parser ps = {
        .name = name,
        .p = text,
        .end = text + len,
        .fn = fn,
        .userdata = userdata,
        .err = err,
        .table = NO_TABLE,
    };
    int r = check_text(&ps);

    ps.line = 1;
    while (r >= 0) {
        skip_space_lines(&ps);
        if (ps.p >= ps.end)
            break;
        r = peek(&ps) == '[' ? parse_table(&ps) : parse_keyval(&ps);
    }
    for (size_t i = 0; i < ps.n_paths; i++)
        key_path_done(&ps.paths[i]);
    free(ps.paths);
    return r < 0 ? r : 0;
}
