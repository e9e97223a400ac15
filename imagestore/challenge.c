#include "imagestore/challenge.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xalloc.h"

struct cursor {
    const char *p, *end;
};

static void skip_space(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static bool is_token_char(char ch)
{
    return isalnum((unsigned char)ch) || strchr("!#$%&'*+-.^_`|~", ch);
}

static size_t token_len(const struct cursor *c)
{
    size_t n = 0;

    while (c->p + n < c->end && is_token_char(c->p[n]))
        n++;
    return n;
}

/* A quoted-string: returns its unescaped content (free() it) or NULL. */
static char *quoted(struct cursor *c, struct crib_err *err)
{
    char *out = xmalloc((size_t)(c->end - c->p) + 1);
    size_t n = 0;

    for (c->p++; c->p < c->end; c->p++) {
        if (*c->p == '"') {
            c->p++;
            out[n] = '\0';
            return out;
        }
        if (*c->p == '\\' && c->p + 1 < c->end)
            c->p++;
        out[n++] = *c->p;
    }
    free(out);
    crib_fail(err, CRIB_INVALID, 0, "WWW-Authenticate: unterminated quoted string");
    return NULL;
}

static char *param_value(struct cursor *c, struct crib_err *err)
{
    size_t n;

    if (c->p < c->end && *c->p == '"')
        return quoted(c, err);
    n = token_len(c);
    c->p += n;
    return xstrndup(c->p - n, n);
}

static void keep(char **field, char *value)
{
    free(*field);
    *field = value;
}

static int parse_params(struct cursor *c, struct challenge *ch, struct crib_err *err)
{
    while (c->p < c->end) {
        size_t klen;
        const char *key;
        char *value;

        skip_space(c);
        while (c->p < c->end && *c->p == ',')
            c->p++, skip_space(c);
        key = c->p;
        klen = token_len(c);
        if (klen == 0)
            break;
        c->p += klen;
        skip_space(c);
        if (c->p >= c->end || *c->p != '=') {
            c->p = key; /* the next challenge's scheme */
            break;
        }
        c->p++;
        skip_space(c);
        value = param_value(c, err);
        if (!value)
            return crib_err_ret(err);
        if (klen == 5 && strncasecmp(key, "realm", 5) == 0)
            keep(&ch->realm, value);
        else if (klen == 7 && strncasecmp(key, "service", 7) == 0)
            keep(&ch->service, value);
        else if (klen == 5 && strncasecmp(key, "scope", 5) == 0)
            keep(&ch->scope, value);
        else
            free(value);
    }
    return 0;
}

static enum challenge_scheme scheme_of(const char *s, size_t n)
{
    if (n == 6 && strncasecmp(s, "Bearer", 6) == 0)
        return CHALLENGE_BEARER;
    if (n == 5 && strncasecmp(s, "Basic", 5) == 0)
        return CHALLENGE_BASIC;
    return CHALLENGE_NONE;
}

int challenge_parse(const char *value, size_t len, struct challenge *ret, struct crib_err *err)
{
    struct cursor c = {value, value + len};
    struct challenge ch = {0};
    int r;

    if (len > CHALLENGE_MAX_LEN)
        return crib_fail(err, CRIB_INVALID, 0, "WWW-Authenticate: over %d bytes",
                         CHALLENGE_MAX_LEN);
    while (c.p < c.end && ch.scheme == CHALLENGE_NONE) {
        size_t n;

        skip_space(&c);
        n = token_len(&c);
        if (n == 0)
            break;
        ch.scheme = scheme_of(c.p, n);
        c.p += n;
        r = parse_params(&c, &ch, err);
        if (r < 0 || ch.scheme == CHALLENGE_NONE) {
            challenge_done(&ch);
            if (r < 0)
                return r;
        }
    }
    if (ch.scheme == CHALLENGE_NONE)
        return crib_fail(err, CRIB_INVALID, 0, "WWW-Authenticate: no Basic or Bearer challenge");
    if (ch.scheme == CHALLENGE_BEARER && (!ch.realm || !*ch.realm)) {
        challenge_done(&ch);
        return crib_fail(err, CRIB_INVALID, 0,
                         "WWW-Authenticate: Bearer challenge without a realm");
    }
    *ret = ch;
    return 0;
}

void challenge_done(struct challenge *c)
{
    free(c->realm);
    free(c->service);
    free(c->scope);
    memset(c, 0, sizeof(*c));
}
