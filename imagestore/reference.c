/* Image references: the grammar of distribution/reference (ParseNormalizedNamed)
 * and the normalization the kubelet relies on, so "busybox" pulls the same
 * image here as with containerd or Docker. */
#include "imagestore/reference.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"
#include "common/xalloc.h"

#define DEFAULT_DOMAIN "docker.io"
/* Docker Hub's old v1 name; distribution maps it to docker.io. */
#define LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define OFFICIAL_REPO_PREFIX "library/"
#define DEFAULT_TAG "latest"
/* distribution's tag grammar: [\w][\w.-]{0,127}. */
#define TAG_MAX_LEN 128
/* Bytes of user text shown in one quoted part of a message. A message quotes
 * the input and one part of it, each byte escaped to up to 4, within 512. */
#define QUOTE_MAX 48

/* A piece of the input: not NUL-terminated. */
struct span {
    const char *p;
    size_t len;
};

/* The input split at its separators, before any check. */
struct ref_parts {
    bool has_domain, has_tag, has_digest;
    struct span domain, path, tag;
    const char *digest; /* the tail of the input, so NUL-terminated */
};

struct quoted {
    char s[QUOTE_MAX * 4 + 4];
};

/* Renders a span for an error message. The input reaches the logs, so control
 * characters are escaped rather than copied (no forged log lines). */
static const char *quote(struct quoted *q, struct span sp)
{
    size_t o = 0, n = sp.len < QUOTE_MAX ? sp.len : QUOTE_MAX;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)sp.p[i];

        if (c >= 0x20 && c < 0x7f && c != '\\')
            q->s[o++] = (char)c;
        else
            o += (size_t)snprintf(q->s + o, sizeof(q->s) - o, "\\x%02x", c);
    }
    if (n < sp.len)
        o += (size_t)snprintf(q->s + o, sizeof(q->s) - o, "...");
    q->s[o] = '\0';
    return q->s;
}

static struct span span_of(const char *s)
{
    return (struct span){s, strlen(s)};
}

/* Fails with CRIB_INVALID as "image reference 'INPUT': DETAIL". */
static int fail(struct crib_err *err, const char *input, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct crib_err *err, const char *input, const char *fmt, ...)
{
    char detail[CRIB_ERR_MSG_MAX];
    struct quoted q;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return crib_fail(err, CRIB_INVALID, 0, "image reference '%s': %s", quote(&q, span_of(input)),
                     detail);
}

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f');
}

static bool in_set(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

static bool span_eq(struct span sp, const char *s)
{
    return strlen(s) == sp.len && memcmp(sp.p, s, sp.len) == 0;
}

static bool span_has(struct span sp, char c)
{
    return memchr(sp.p, c, sp.len) != NULL;
}

static const char *span_rchr(struct span sp, char c)
{
    for (size_t i = sp.len; i > 0; i--)
        if (sp.p[i - 1] == c)
            return sp.p + i - 1;
    return NULL;
}

/* Splits s (len bytes) into [domain/]path[:tag][@digest]. Names and tags hold
 * no '@', so the digest starts at the first one; a tag is after the last ':'
 * that follows the last '/' (a ':' before it is a port). */
static void split_reference(const char *s, size_t len, struct ref_parts *parts)
{
    const char *at = memchr(s, '@', len), *colon, *slash;
    struct span name = {s, at ? (size_t)(at - s) : len};
    struct span first;

    *parts = (struct ref_parts){.has_digest = at != NULL, .digest = at ? at + 1 : NULL};
    colon = span_rchr(name, ':');
    slash = span_rchr(name, '/');
    if (colon && (!slash || colon > slash)) {
        parts->has_tag = true;
        parts->tag = (struct span){colon + 1, (size_t)(name.p + name.len - colon - 1)};
        name.len = (size_t)(colon - name.p);
    }
    /* As distribution does: the first component is a registry only if it
     * could not be a repository component ("localhost", or has '.' or ':'). */
    slash = memchr(name.p, '/', name.len);
    first = (struct span){name.p, slash ? (size_t)(slash - name.p) : name.len};
    if (slash && (span_has(first, '.') || span_has(first, ':') || span_eq(first, "localhost"))) {
        parts->has_domain = true;
        parts->domain = first;
        name = (struct span){slash + 1, name.len - first.len - 1};
    }
    parts->path = name;
}

/* One DNS label: [a-zA-Z0-9] with '-' inside only. */
static bool label_ok(const char *p, size_t n)
{
    if (n == 0 || !is_alnum(p[0]) || !is_alnum(p[n - 1]))
        return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!is_alnum(p[i]) && p[i] != '-')
            return false;
    return true;
}

/* Returns the length of the host at the start of sp (a DNS name or a bracketed
 * IPv6 literal), or 0 if there is none. */
static size_t host_len(struct span sp)
{
    size_t i = 0, start = 0;

    if (sp.len > 0 && sp.p[0] == '[') {
        for (i = 1; i < sp.len && (is_hex(sp.p[i]) || in_set(sp.p[i], "ABCDEF:")); i++)
            ;
        return i > 1 && i < sp.len && sp.p[i] == ']' ? i + 1 : 0;
    }
    for (i = 0; i <= sp.len; i++) {
        if (i < sp.len && sp.p[i] != '.' && sp.p[i] != ':')
            continue;
        if (!label_ok(sp.p + start, i - start))
            return 0;
        if (i == sp.len || sp.p[i] == ':')
            return i;
        start = i + 1;
    }
    return 0;
}

static bool domain_ok(struct span sp)
{
    size_t i = host_len(sp);

    if (i == 0)
        return false;
    if (i == sp.len)
        return true;
    if (sp.p[i] != ':' || i + 1 == sp.len)
        return false;
    for (i++; i < sp.len; i++)
        if (!is_digit(sp.p[i]))
            return false;
    return true;
}

/* One path component: [a-z0-9]+ joined by '.', '_', '__' or a run of '-'. */
static bool component_ok(const char *p, size_t n)
{
    size_t i = 0;

    for (;;) {
        size_t start = i;

        while (i < n && is_lower_alnum(p[i]))
            i++;
        if (i == start)
            return false;
        if (i == n)
            return true;
        if (p[i] == '.') {
            i++;
        } else if (p[i] == '_') {
            i += i + 1 < n && p[i + 1] == '_' ? 2 : 1;
        } else if (p[i] == '-') {
            while (i < n && p[i] == '-')
                i++;
        } else {
            return false;
        }
    }
}

static bool is_hex64(struct span sp)
{
    if (sp.len != DIGEST_SHA256_HEX)
        return false;
    for (size_t i = 0; i < sp.len; i++)
        if (!is_hex(sp.p[i]))
            return false;
    return true;
}

static int check_path(const char *input, struct span path, struct crib_err *err)
{
    struct quoted q;
    size_t start = 0;

    if (path.len == 0)
        return fail(err, input, "repository name is empty");
    for (size_t i = 0; i < path.len; i++)
        if (path.p[i] >= 'A' && path.p[i] <= 'Z')
            return fail(err, input, "repository name must be lowercase");
    for (size_t i = 0; i <= path.len; i++) {
        struct span comp = {path.p + start, i - start};

        if (i < path.len && path.p[i] != '/')
            continue;
        if (comp.len == 0)
            return fail(err, input, "repository name '%s' has an empty component", quote(&q, path));
        if (!component_ok(comp.p, comp.len))
            return fail(err, input, "repository name component '%s' is invalid", quote(&q, comp));
        start = i + 1;
    }
    /* distribution refuses these so that an image ID is never taken for a
     * repository on Docker Hub. */
    if (is_hex64(path))
        return fail(err, input, "repository name cannot be a 64-hex-digit image ID");
    return 0;
}

static int check_tag(const char *input, struct span tag, struct crib_err *err)
{
    struct quoted q;

    if (tag.len == 0)
        return fail(err, input, "tag is empty");
    if (tag.len > TAG_MAX_LEN)
        return fail(err, input, "tag '%s' is longer than %d characters", quote(&q, tag),
                    TAG_MAX_LEN);
    if (!is_alnum(tag.p[0]) && tag.p[0] != '_')
        return fail(err, input, "tag '%s' is invalid", quote(&q, tag));
    for (size_t i = 1; i < tag.len; i++)
        if (!is_alnum(tag.p[i]) && !in_set(tag.p[i], "_.-"))
            return fail(err, input, "tag '%s' is invalid", quote(&q, tag));
    return 0;
}

static int check_parts(const char *input, const struct ref_parts *parts, struct crib_err *err)
{
    struct quoted q;
    int r;

    if (parts->has_domain && !domain_ok(parts->domain))
        return fail(err, input, "registry host '%s' is invalid", quote(&q, parts->domain));
    r = check_path(input, parts->path, err);
    if (r < 0)
        return r;
    if (parts->has_tag) {
        r = check_tag(input, parts->tag, err);
        if (r < 0)
            return r;
    }
    if (parts->has_digest && parts->digest[0] == '\0')
        return fail(err, input, "digest is empty");
    if (parts->has_digest && !digest_is_valid(parts->digest))
        return fail(err, input, "digest '%s' is invalid", quote(&q, span_of(parts->digest)));
    return 0;
}

/* Fills ref from checked parts, applying Docker Hub's defaults. */
static void normalize(const struct ref_parts *parts, struct imgref *ref)
{
    bool hub = !parts->has_domain || span_eq(parts->domain, DEFAULT_DOMAIN) ||
               span_eq(parts->domain, LEGACY_DEFAULT_DOMAIN);

    if (hub)
        ref->domain = xstrdup(DEFAULT_DOMAIN);
    else
        ref->domain = xasprintf("%.*s", (int)parts->domain.len, parts->domain.p);
    /* Official images live under library/ on Docker Hub: "busybox" is
     * "library/busybox" there and nowhere else. */
    if (hub && !span_has(parts->path, '/'))
        ref->path = xasprintf(OFFICIAL_REPO_PREFIX "%.*s", (int)parts->path.len, parts->path.p);
    else
        ref->path = xasprintf("%.*s", (int)parts->path.len, parts->path.p);
    if (parts->has_tag)
        ref->tag = xasprintf("%.*s", (int)parts->tag.len, parts->tag.p);
    else if (!parts->has_digest)
        ref->tag = xstrdup(DEFAULT_TAG);
    ref->digest = parts->has_digest ? xstrdup(parts->digest) : NULL;
}

int imgref_parse(const char *s, struct imgref *ret_ref, struct crib_err *err)
{
    size_t len = strnlen(s, IMGREF_MAX_LEN + 1);
    struct imgref ref = {0};
    struct ref_parts parts;
    int r;

    if (len == 0)
        return crib_fail(err, CRIB_INVALID, 0, "image reference is empty");
    if (len > IMGREF_MAX_LEN)
        return fail(err, s, "longer than %d characters", IMGREF_MAX_LEN);
    split_reference(s, len, &parts);
    r = check_parts(s, &parts, err);
    if (r < 0)
        return r;
    normalize(&parts, &ref);
    /* distribution limits the normalized name, so "docker.io/library/" counts. */
    if (strlen(ref.domain) + 1 + strlen(ref.path) > IMGREF_NAME_MAX_LEN) {
        imgref_done(&ref);
        return fail(err, s, "repository name is longer than %d characters", IMGREF_NAME_MAX_LEN);
    }
    *ret_ref = ref;
    return 0;
}

char *imgref_name(const struct imgref *ref)
{
    return xasprintf("%s/%s", ref->domain, ref->path);
}

char *imgref_tagged(const struct imgref *ref)
{
    if (!ref->tag)
        return NULL;
    return xasprintf("%s/%s:%s", ref->domain, ref->path, ref->tag);
}

char *imgref_digested(const struct imgref *ref, const char *digest)
{
    return xasprintf("%s/%s@%s", ref->domain, ref->path, digest);
}

char *imgref_format(const struct imgref *ref)
{
    return xasprintf("%s/%s%s%s%s%s", ref->domain, ref->path, ref->tag ? ":" : "",
                     ref->tag ? ref->tag : "", ref->digest ? "@" : "",
                     ref->digest ? ref->digest : "");
}

/* Counts the lowercase hex digits of s, stopping at the first other byte. */
static size_t hex_run(const char *s)
{
    size_t n = 0;

    while (is_hex(s[n]))
        n++;
    return n;
}

static const char *skip_sha256(const char *s)
{
    return strncmp(s, "sha256:", 7) == 0 ? s + 7 : s;
}

bool imgref_is_id(const char *s)
{
    s = skip_sha256(s);
    return hex_run(s) == DIGEST_SHA256_HEX && s[DIGEST_SHA256_HEX] == '\0';
}

bool imgref_is_id_prefix(const char *s)
{
    size_t n;

    s = skip_sha256(s);
    n = hex_run(s);
    return n >= 1 && n <= DIGEST_SHA256_HEX && s[n] == '\0';
}

void imgref_done(struct imgref *ref)
{
    free(ref->domain);
    free(ref->path);
    free(ref->tag);
    free(ref->digest);
    *ref = (struct imgref){0};
}
