/* The HTTP/1.1 the streaming server speaks before a connection changes
 * protocol: the head of the kubelet's (or kubectl's) upgrade request for
 * exec/attach/port-forward, and the few responses sent before the switch.
 * Heads only: these requests carry no body (RFC 9112 sections 2-5). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* A head past this is refused with 431: an upgrade request is well under 2 KiB. */
#define HTTP_HEAD_MAX (16u << 10)
/* Header fields past this are refused with 431. */
#define HTTP_HEADERS_MAX 64
/* A request target past this is refused with 414. */
#define HTTP_TARGET_MAX (8u << 10)

struct http_header {
    const char *name;  /* a token, as sent */
    const char *value; /* without leading and trailing whitespace */
};

/* A parsed head. Every string is borrowed from the parser that filled it and
 * stays valid until that parser is initialised again. */
struct http_request {
    const char *method;
    const char *target; /* origin-form, as sent: "/exec/abc?port=80" */
    const char *path;   /* target before '?' */
    const char *query;  /* target after '?', "" when there is none */
    int minor_version;  /* 0 or 1 for HTTP/1.0, HTTP/1.1 */
    size_t n_headers;
    struct http_header headers[HTTP_HEADERS_MAX];
};

/* An incremental head parser. Embed it (or allocate it) and http_parser_init() it. */
struct http_parser {
    struct http_request req; /* valid once http_parser_feed() returned 1 */
    int status;              /* the HTTP status to answer once it failed */
    size_t len;              /* bytes of buf in use */
    size_t line_start;       /* where the line being received starts */
    size_t n_lines;          /* complete non-empty lines so far */
    char buf[HTTP_HEAD_MAX + 1];
    char target[HTTP_TARGET_MAX + 2]; /* "path\0query\0" */
};

/* Resets p for a new request. Cannot fail. */
void http_parser_init(struct http_parser *p);

/* Feeds len bytes. Returns 1 when the head is complete: p->req is filled and
 * *ret_used says how many of these bytes belong to the head (the rest, if any,
 * are the first bytes of the new protocol). Returns 0 when every byte was taken
 * and more are needed. On failure p->status holds the status to answer (400,
 * 414, 431, 505). Either way p takes no more bytes until http_parser_init().
 * Errors: CRIB_INVALID (malformed head), CRIB_LIMIT (head, target or header
 * count past its cap). */
int http_parser_feed(struct http_parser *p, const void *data, size_t len, size_t *ret_used,
                     struct crib_err *err);

/* The value of the first header field called name (case-insensitive), or NULL.
 * Borrowed from r. */
const char *http_header_get(const struct http_request *r, const char *name);

/* How many header fields are called name (case-insensitive). */
size_t http_header_count(const struct http_request *r, const char *name);

/* True when a field called name lists token among its comma-separated
 * elements ("Connection: keep-alive, Upgrade"), case-insensitively, in any of
 * its repetitions. */
bool http_header_has_token(const struct http_request *r, const char *name, const char *token);

/* Picks the first of ours[0..n_ours) (our preference order) that the client
 * listed in the comma-separated field name (any repetition, exact match).
 * *ret is borrowed from ours, or NULL when the client sent no such field.
 * Errors: CRIB_INVALID (the client offered values, none of them ours). */
int http_header_choose(const struct http_request *r, const char *name, const char *const *ours,
                       size_t n_ours, const char **ret, struct crib_err *err);

/* Copies the index-th value of query parameter name, percent-decoded ('+' is a
 * space), into buf (size bytes, NUL-terminated). Returns 1 when found, 0 when
 * there is no such value.
 * Errors: CRIB_INVALID (bad percent escape, NUL), CRIB_LIMIT (longer than buf). */
int http_query_get(const struct http_request *r, const char *name, size_t index, char *buf,
                   size_t size, struct crib_err *err);

/* The reason phrase for status ("Switching Protocols"); a static string. */
const char *http_reason(int status);

/* Formats a whole response: status line, the n headers, and with body != NULL
 * a text/plain body with Content-Length (101 never has one). Every response but
 * a 101 says "Connection: close": the server answers one request a connection.
 * On success *ret (NUL-terminated, *ret_len bytes) is the caller's to free().
 * Errors: CRIB_INVALID (a name that is not a token, a value with CR, LF or NUL). */
int http_response_format(int status, const struct http_header *headers, size_t n, const char *body,
                         char **ret, size_t *ret_len, struct crib_err *err);
