#include "cri/stream/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

/* A request line past this is a target past HTTP_TARGET_MAX (414), not a head
 * past HTTP_HEAD_MAX (431): method and version take well under 64 bytes. */
#define REQUEST_LINE_MAX (HTTP_TARGET_MAX + 64)

/* Fails p with an HTTP status to answer, and err with code. */
static int fail(struct http_parser *p, int status, enum crib_code code, const char *what,
                struct crib_err *err)
{
    p->status = status;
    return crib_fail(err, code, 0, "HTTP request: %s", what);
}

/* RFC 9110 5.6.2: tchar. */
static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return false;
    return true;
}

/* RFC 9110 5.5: field-value characters (VCHAR, SP, HTAB, obs-text). */
static bool is_field_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

void http_parser_init(struct http_parser *p)
{
    memset(&p->req, 0, sizeof(p->req));
    p->status = 0;
    p->len = 0;
    p->line_start = 0;
    p->n_lines = 0;
}

/* Splits "METHOD SP target SP HTTP/1.x" in place. */
static int parse_request_line(struct http_parser *p, char *line, struct crib_err *err)
{
    struct http_request *r = &p->req;
    char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    const char *version;
    size_t n;

    if (!sp1 || !sp2 || strchr(sp2 + 1, ' '))
        return fail(p, 400, CRIB_INVALID, "request line is not METHOD TARGET VERSION", err);
    *sp1 = *sp2 = '\0';
    r->method = line;
    r->target = sp1 + 1;
    version = sp2 + 1;
    if (!is_token(r->method))
        return fail(p, 400, CRIB_INVALID, "method is not a token", err);
    if (strncmp(version, "HTTP/", 5) != 0 || strlen(version) != 8 || version[6] != '.' ||
        version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
        return fail(p, 400, CRIB_INVALID, "bad HTTP version", err);
    if (version[5] != '1' || version[7] > '1')
        return fail(p, 505, CRIB_INVALID, "HTTP version is not 1.0 or 1.1", err);
    r->minor_version = version[7] - '0';
    n = strlen(r->target);
    if (n > HTTP_TARGET_MAX)
        return fail(p, 414, CRIB_LIMIT, "request target too long", err);
    if (r->target[0] != '/')
        return fail(p, 400, CRIB_INVALID, "request target is not a path", err);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)r->target[i] <= 0x20 || (unsigned char)r->target[i] >= 0x7f)
            return fail(p, 400, CRIB_INVALID, "bad character in request target", err);
    memcpy(p->target, r->target, n + 1);
    r->path = p->target;
    r->query = "";
    char *q = strchr(p->target, '?');
    if (q) {
        *q = '\0';
        r->query = q + 1;
    }
    return 0;
}

/* Splits "name: value" in place; the value loses its surrounding whitespace. */
static int parse_header_line(struct http_parser *p, char *line, struct crib_err *err)
{
    struct http_request *r = &p->req;
    char *colon = strchr(line, ':'), *v, *end;

    if (line[0] == ' ' || line[0] == '\t')
        return fail(p, 400, CRIB_INVALID, "folded header line", err);
    if (!colon)
        return fail(p, 400, CRIB_INVALID, "header line without a colon", err);
    *colon = '\0';
    if (!is_token(line))
        return fail(p, 400, CRIB_INVALID, "header name is not a token", err);
    for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
        ;
    for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t'); end--)
        ;
    *end = '\0';
    for (const char *c = v; *c; c++)
        if (!is_field_char((unsigned char)*c))
            return fail(p, 400, CRIB_INVALID, "bad character in header value", err);
    if (r->n_headers == HTTP_HEADERS_MAX)
        return fail(p, 431, CRIB_LIMIT, "too many header fields", err);
    r->headers[r->n_headers].name = line;
    r->headers[r->n_headers].value = v;
    r->n_headers++;
    return 0;
}

/* Parses the complete head in buf[0..len): lines end in LF or CRLF, the last
 * one is empty. A NUL or a lone CR anywhere is malformed (request smuggling). */
static int parse_head(struct http_parser *p, struct crib_err *err)
{
    size_t start = 0;
    int r;

    for (size_t i = 0; i < p->len; i++) {
        if (p->buf[i] == '\0' || (p->buf[i] == '\r' && (i + 1 == p->len || p->buf[i + 1] != '\n')))
            return fail(p, 400, CRIB_INVALID, "NUL or bare CR in head", err);
    }
    /* Leading empty lines before the request line are ignored (RFC 9112 2.2). */
    while (p->buf[start] == '\r' || p->buf[start] == '\n')
        start++;
    for (size_t n = 0;; n++) {
        char *line = p->buf + start, *lf = strchr(line, '\n');

        *lf = '\0';
        if (lf > line && lf[-1] == '\r')
            lf[-1] = '\0';
        start = (size_t)(lf - p->buf) + 1;
        if (!*line)
            return 0;
        r = n == 0 ? parse_request_line(p, line, err) : parse_header_line(p, line, err);
        if (r < 0)
            return r;
    }
}

/* Takes one byte; returns 1 when it ended the head. */
static int take_byte(struct http_parser *p, char c, struct crib_err *err)
{
    size_t line_len;

    if (p->len == HTTP_HEAD_MAX)
        return p->n_lines == 0 ? fail(p, 414, CRIB_LIMIT, "request line too long", err)
                               : fail(p, 431, CRIB_LIMIT, "head too large", err);
    p->buf[p->len++] = c;
    line_len = p->len - p->line_start;
    if (c != '\n') {
        if (p->n_lines == 0 && line_len > REQUEST_LINE_MAX)
            return fail(p, 414, CRIB_LIMIT, "request line too long", err);
        return 0;
    }
    p->line_start = p->len;
    if (line_len == 1 || (line_len == 2 && p->buf[p->len - 2] == '\r'))
        return p->n_lines > 0; /* an empty line: the end, or noise before the request */
    p->n_lines++;
    return 0;
}

int http_parser_feed(struct http_parser *p, const void *data, size_t len, size_t *ret_used,
                     struct crib_err *err)
{
    const char *in = data;
    int r;

    if (p->status || p->req.method)
        return crib_fail(err, CRIB_INVALID, 0, "HTTP request: parser already finished");
    for (size_t i = 0; i < len; i++) {
        r = take_byte(p, in[i], err);
        if (r < 0)
            return r;
        if (r == 0)
            continue;
        p->buf[p->len] = '\0'; /* keeps the line scan inside the head */
        r = parse_head(p, err);
        if (r < 0)
            return r;
        *ret_used = i + 1;
        return 1;
    }
    *ret_used = len;
    return 0;
}

const char *http_header_get(const struct http_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

size_t http_header_count(const struct http_request *r, const char *name)
{
    size_t n = 0;

    for (size_t i = 0; i < r->n_headers; i++)
        n += strcasecmp(r->headers[i].name, name) == 0;
    return n;
}

/* Moves *pos past the next element of a comma-separated list; returns false at
 * the end. Empty elements are skipped (RFC 9110 5.6.1). */
static bool next_element(const char **pos, const char **ret, size_t *ret_len)
{
    const char *s = *pos, *end;

    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        if (!*s)
            return false;
        end = s + strcspn(s, ",");
        *pos = end;
        while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        *ret = s;
        *ret_len = (size_t)(end - s);
        return true;
    }
}

/* True when a field called name lists want as one of its elements; HTTP
 * tokens compare without case, subprotocol names exactly (RFC 6455 4.1). */
static bool lists(const struct http_request *r, const char *name, const char *want, bool is_exact)
{
    size_t want_len = strlen(want);

    for (size_t i = 0; i < r->n_headers; i++) {
        const char *pos = r->headers[i].value, *el;
        size_t n;

        if (strcasecmp(r->headers[i].name, name) != 0)
            continue;
        while (next_element(&pos, &el, &n))
            if (n == want_len &&
                (is_exact ? memcmp(el, want, n) == 0 : strncasecmp(el, want, n) == 0))
                return true;
    }
    return false;
}

bool http_header_has_token(const struct http_request *r, const char *name, const char *token)
{
    return lists(r, name, token, false);
}

int http_header_choose(const struct http_request *r, const char *name, const char *const *ours,
                       size_t n_ours, const char **ret, struct crib_err *err)
{
    *ret = NULL;
    for (size_t i = 0; i < n_ours; i++) {
        if (lists(r, name, ours[i], true)) {
            *ret = ours[i];
            return 0;
        }
    }
    if (http_header_get(r, name))
        return crib_fail(err, CRIB_INVALID, 0, "none of the offered %s is supported", name);
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into buf. */
static int query_decode(const char *s, size_t n, char *buf, size_t size, struct crib_err *err)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];

        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < n ? hex_value(s[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;

            if (lo < 0)
                return crib_fail(err, CRIB_INVALID, 0, "query: bad percent escape");
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0)
            return crib_fail(err, CRIB_INVALID, 0, "query: NUL in value");
        if (o + 1 >= size)
            return crib_fail(err, CRIB_LIMIT, 0, "query: value longer than %zu bytes", size - 1);
        buf[o++] = (char)c;
    }
    buf[o] = '\0';
    return 0;
}

int http_query_get(const struct http_request *r, const char *name, size_t index, char *buf,
                   size_t size, struct crib_err *err)
{
    size_t name_len = strlen(name);
    const char *s = r->query;

    while (*s) {
        size_t n = strcspn(s, "&");
        const char *eq = memchr(s, '=', n);
        size_t key_len = eq ? (size_t)(eq - s) : n;

        if (key_len == name_len && memcmp(s, name, key_len) == 0 && index-- == 0) {
            const char *v = eq ? eq + 1 : s + n;
            int r = query_decode(v, (size_t)(s + n - v), buf, size, err);

            return r < 0 ? r : 1;
        }
        s += n;
        if (*s == '&')
            s++;
    }
    return 0;
}

const char *http_reason(int status)
{
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 414: return "URI Too Long";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

/* A value that would split the response (header injection) is refused. */
static bool is_safe_value(const char *v)
{
    return strpbrk(v, "\r\n") == NULL;
}

int http_response_format(int status, const struct http_header *headers, size_t n, const char *body,
                         char **ret, size_t *ret_len, struct crib_err *err)
{
    _cleanup_free_ char *out = NULL;
    size_t len;
    FILE *f;

    if (status < 100 || status > 999)
        return crib_fail(err, CRIB_INVALID, 0, "HTTP response: bad status %d", status);
    for (size_t i = 0; i < n; i++) {
        if (!is_token(headers[i].name))
            return crib_fail(err, CRIB_INVALID, 0, "HTTP response: bad header name");
        if (!is_safe_value(headers[i].value))
            return crib_fail(err, CRIB_INVALID, 0, "HTTP response: %s has CR or LF",
                             headers[i].name);
    }
    f = open_memstream(&out, &len);
    if (!f)
        return crib_fail(err, CRIB_INTERNAL, errno, "open_memstream");
    fprintf(f, "HTTP/1.1 %d %s\r\n", status, http_reason(status));
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s: %s\r\n", headers[i].name, headers[i].value);
    if (status != 101)
        fputs("Connection: close\r\n", f);
    if (body && status != 101)
        fprintf(f, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n\r\n%s",
                strlen(body), body);
    else
        fputs("\r\n", f);
    if (fclose(f) != 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "HTTP response");
    *ret_len = len;
    *ret = TAKE_PTR(out);
    return 0;
}
