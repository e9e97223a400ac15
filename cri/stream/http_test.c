#include <stdlib.h>

#include "common/cleanup.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "cri/stream/http.h"

#define UPGRADE_REQUEST                                                                            \
    "POST /exec/AbCd?command=sh&port=80&port=8080%2C9090&tty=1&empty=&flag HTTP/1.1\r\n"           \
    "Host: 127.0.0.1:10010\r\n"                                                                    \
    "Connection: keep-alive, Upgrade\r\n"                                                          \
    "upgrade: SPDY/3.1\r\n"                                                                        \
    "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"                                             \
    "X-Stream-Protocol-Version: v3.channel.k8s.io , v2.channel.k8s.io\r\n"                         \
    "X-Empty:\r\n"                                                                                 \
    "User-Agent:   kubectl/v1.31  \r\n"                                                            \
    "\r\n"

static struct http_parser *parser_new(void)
{
    struct http_parser *p = xmalloc(sizeof(*p));

    http_parser_init(p);
    return p;
}

/* Feeds text in one piece; returns the feed result. */
static int feed_all(struct http_parser *p, const char *text, size_t *used, struct crib_err *err)
{
    return http_parser_feed(p, text, strlen(text), used, err);
}

static int test_http_parses_upgrade_request(void)
{
    _cleanup_free_ struct http_parser *p = parser_new();
    const struct http_request *r = &p->req;
    struct crib_err err;
    size_t used = 0;

    CHECK_INT(feed_all(p, UPGRADE_REQUEST, &used, &err), 1);
    CHECK_INT(used, strlen(UPGRADE_REQUEST));
    CHECK_STR(r->method, "POST");
    CHECK_STR(r->path, "/exec/AbCd");
    CHECK_STR(r->query, "command=sh&port=80&port=8080%2C9090&tty=1&empty=&flag");
    CHECK_INT(r->minor_version, 1);
    CHECK_INT(r->n_headers, 7);
    CHECK_STR(http_header_get(r, "UPGRADE"), "SPDY/3.1");
    CHECK_STR(http_header_get(r, "user-agent"), "kubectl/v1.31");
    CHECK_STR(http_header_get(r, "x-empty"), "");
    CHECK(http_header_get(r, "Sec-WebSocket-Key") == NULL);
    CHECK_INT(http_header_count(r, "x-stream-protocol-version"), 2);
    CHECK(http_header_has_token(r, "Connection", "upgrade"));
    CHECK(http_header_has_token(r, "connection", "KEEP-ALIVE"));
    CHECK(!http_header_has_token(r, "Connection", "close"));
    CHECK(!http_header_has_token(r, "Connection", "Upgrad"));
    CHECK(http_header_has_token(r, "X-Stream-Protocol-Version", "v2.channel.k8s.io"));
    return 0;
}

static int test_http_byte_by_byte_then_protocol_bytes(void)
{
    _cleanup_free_ struct http_parser *p = parser_new();
    const char *head = "GET /attach/x HTTP/1.1\nHost: h\nUpgrade: websocket\n\n";
    char input[128];
    size_t n = strlen(head), used = 0;
    struct crib_err err;

    /* The client may send its first frame right behind the head. */
    snprintf(input, sizeof(input), "%s\x81\x85", head);
    for (size_t i = 0; i < n - 1; i++) {
        CHECK_INT(http_parser_feed(p, input + i, 1, &used, &err), 0);
        CHECK_INT(used, 1);
    }
    CHECK_INT(http_parser_feed(p, input + n - 1, 3, &used, &err), 1);
    CHECK_INT(used, 1);
    CHECK_STR(p->req.path, "/attach/x");
    CHECK_STR(p->req.query, "");
    CHECK_STR(http_header_get(&p->req, "upgrade"), "websocket");
    /* The bytes after the head are the new protocol's, never a second head. */
    CHECK(http_parser_feed(p, "GET / HTTP/1.1\r\n\r\n", 18, &used, &err) < 0);
    CHECK_CONTAINS(err.msg, "already finished");
    return 0;
}

static int test_http_skips_empty_lines_before_request(void)
{
    _cleanup_free_ struct http_parser *p = parser_new();
    struct crib_err err;
    size_t used;

    CHECK_INT(feed_all(p, "\r\n\r\nGET / HTTP/1.0\r\n\r\n", &used, &err), 1);
    CHECK_STR(p->req.method, "GET");
    CHECK_INT(p->req.minor_version, 0);
    CHECK_INT(p->req.n_headers, 0);
    return 0;
}

static const struct {
    const char *name;
    const char *input;
    int status;
    enum crib_code code;
    const char *msg;
} bad_heads[] = {
    {"no target", "GET /x\r\n\r\n", 400, CRIB_INVALID, "METHOD TARGET VERSION"},
    {"two spaces", "GET  /x HTTP/1.1\r\n\r\n", 400, CRIB_INVALID, "METHOD TARGET VERSION"},
    {"extra word", "GET /x HTTP/1.1 x\r\n\r\n", 400, CRIB_INVALID, "METHOD TARGET VERSION"},
    {"relative target", "GET x HTTP/1.1\r\n\r\n", 400, CRIB_INVALID, "not a path"},
    {"method not token", "G(T /x HTTP/1.1\r\n\r\n", 400, CRIB_INVALID, "method"},
    {"space-less version", "GET /x FOO/1.1\r\n\r\n", 400, CRIB_INVALID, "bad HTTP version"},
    {"version junk", "GET /x HTTP/1.1x\r\n\r\n", 400, CRIB_INVALID, "bad HTTP version"},
    {"http 2", "GET /x HTTP/2.0\r\n\r\n", 505, CRIB_INVALID, "not 1.0 or 1.1"},
    {"http 1.2", "GET /x HTTP/1.2\r\n\r\n", 505, CRIB_INVALID, "not 1.0 or 1.1"},
    {"tab in target", "GET /a\tb HTTP/1.1\r\n\r\n", 400, CRIB_INVALID, "request target"},
    {"high byte in target", "GET /a\xc3\xa9 HTTP/1.1\r\n\r\n", 400, CRIB_INVALID, "request target"},
    {"no colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", 400, CRIB_INVALID, "without a colon"},
    {"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, CRIB_INVALID, "not a token"},
    {"empty name", "GET / HTTP/1.1\r\n: a\r\n\r\n", 400, CRIB_INVALID, "not a token"},
    {"folded", "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400, CRIB_INVALID, "folded"},
    {"bare CR", "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400, CRIB_INVALID, "bare CR"},
    {"control in value", "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", 400, CRIB_INVALID, "header value"},
    {"DEL in value", "GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", 400, CRIB_INVALID, "header value"},
};

static int test_http_refuses_bad_heads(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(bad_heads); i++) {
        _cleanup_free_ struct http_parser *p = parser_new();
        struct crib_err err = {0};
        size_t used;
        int r = feed_all(p, bad_heads[i].input, &used, &err);

        if (r >= 0)
            fprintf(stderr, "  case \"%s\" accepted\n", bad_heads[i].name);
        CHECK(r < 0);
        CHECK_INT(p->status, bad_heads[i].status);
        CHECK_INT(err.code, bad_heads[i].code);
        CHECK_CONTAINS(err.msg, bad_heads[i].msg);
    }
    return 0;
}

static int test_http_refuses_nul(void)
{
    _cleanup_free_ struct http_parser *p = parser_new();
    static const char head[] = "GET / HTTP/1.1\r\nA: b\0c\r\n\r\n";
    struct crib_err err;
    size_t used;

    CHECK(http_parser_feed(p, head, sizeof(head) - 1, &used, &err) < 0);
    CHECK_INT(p->status, 400);
    CHECK_CONTAINS(err.msg, "NUL");
    /* A failed parser stays failed. */
    CHECK(http_parser_feed(p, "\r\n", 2, &used, &err) < 0);
    return 0;
}

static int test_http_refuses_too_many_headers(void)
{
    _cleanup_free_ struct http_parser *p = parser_new();
    _cleanup_free_ char *head = xmalloc(HTTP_HEAD_MAX);
    struct crib_err err;
    size_t n, used;

    n = (size_t)snprintf(head, HTTP_HEAD_MAX, "GET / HTTP/1.1\r\n");
    for (int i = 0; i <= HTTP_HEADERS_MAX; i++)
        n += (size_t)snprintf(head + n, HTTP_HEAD_MAX - n, "X-%d: v\r\n", i);
    snprintf(head + n, HTTP_HEAD_MAX - n, "\r\n");
    CHECK(feed_all(p, head, &used, &err) < 0);
    CHECK_INT(p->status, 431);
    CHECK_INT(err.code, CRIB_LIMIT);
    CHECK_CONTAINS(err.msg, "too many header fields");
    return 0;
}

static int test_http_refuses_huge_head(void)
{
    _cleanup_free_ struct http_parser *p = parser_new();
    char line[512];
    struct crib_err err;
    size_t used;
    int r = 0;

    memset(line, 'a', sizeof(line));
    memcpy(line, "X-Big: ", 7);
    memcpy(line + sizeof(line) - 2, "\r\n", 2);
    CHECK_INT(http_parser_feed(p, "GET / HTTP/1.1\r\n", 16, &used, &err), 0);
    /* 40 lines of 512 bytes pass 16 KiB with fewer than 64 headers. */
    for (int i = 0; i < 40 && r == 0; i++)
        r = http_parser_feed(p, line, sizeof(line), &used, &err);
    CHECK(r < 0);
    CHECK_INT(p->status, 431);
    CHECK_INT(err.code, CRIB_LIMIT);
    CHECK_CONTAINS(err.msg, "head too large");
    return 0;
}

static int test_http_refuses_long_target(void)
{
    _cleanup_free_ struct http_parser *p = parser_new();
    _cleanup_free_ struct http_parser *q = parser_new();
    _cleanup_free_ char *line = xmalloc(HTTP_TARGET_MAX + 64);
    _cleanup_free_ char *noise = xmalloc(HTTP_HEAD_MAX + 1);
    struct crib_err err;
    size_t used;

    memset(line, 'a', HTTP_TARGET_MAX + 63);
    memcpy(line, "GET /", 5);
    memcpy(line + HTTP_TARGET_MAX + 50, " HTTP/1.1\r\n\r\n", 14);
    CHECK(feed_all(p, line, &used, &err) < 0);
    CHECK_INT(p->status, 414);
    CHECK_INT(err.code, CRIB_LIMIT);
    /* Without any LF the line is refused before the head cap. */
    memset(noise, 'x', HTTP_HEAD_MAX);
    noise[HTTP_HEAD_MAX] = '\0';
    CHECK(feed_all(q, noise, &used, &err) < 0);
    CHECK_INT(q->status, 414);
    return 0;
}

static int test_http_choose_follows_our_order(void)
{
    _cleanup_free_ struct http_parser *p = parser_new();
    const char *ours[] = {"v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io"};
    const char *none[] = {"portforward.k8s.io"};
    const char *chosen = "unset";
    struct crib_err err;
    size_t used;

    CHECK_INT(feed_all(p, UPGRADE_REQUEST, &used, &err), 1);
    CHECK_INT(http_header_choose(&p->req, "X-Stream-Protocol-Version", ours, 3, &chosen, &err), 0);
    CHECK_STR(chosen, "v4.channel.k8s.io");
    CHECK(http_header_choose(&p->req, "X-Stream-Protocol-Version", none, 1, &chosen, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_INT(http_header_choose(&p->req, "Sec-WebSocket-Protocol", ours, 3, &chosen, &err), 0);
    CHECK(chosen == NULL);
    return 0;
}

static int test_http_query_values(void)
{
    _cleanup_free_ struct http_parser *p = parser_new();
    _cleanup_free_ struct http_parser *q = parser_new();
    char buf[16], tiny[4];
    struct crib_err err;
    size_t used;

    CHECK_INT(feed_all(p, UPGRADE_REQUEST, &used, &err), 1);
    CHECK_INT(http_query_get(&p->req, "port", 0, buf, sizeof(buf), &err), 1);
    CHECK_STR(buf, "80");
    CHECK_INT(http_query_get(&p->req, "port", 1, buf, sizeof(buf), &err), 1);
    CHECK_STR(buf, "8080,9090");
    CHECK_INT(http_query_get(&p->req, "port", 2, buf, sizeof(buf), &err), 0);
    CHECK_INT(http_query_get(&p->req, "empty", 0, buf, sizeof(buf), &err), 1);
    CHECK_STR(buf, "");
    CHECK_INT(http_query_get(&p->req, "flag", 0, buf, sizeof(buf), &err), 1);
    CHECK_INT(http_query_get(&p->req, "por", 0, buf, sizeof(buf), &err), 0);
    CHECK(http_query_get(&p->req, "command", 0, tiny, sizeof(tiny), &err) == 1);
    CHECK(http_query_get(&p->req, "port", 1, tiny, sizeof(tiny), &err) < 0);
    CHECK_INT(err.code, CRIB_LIMIT);
    CHECK_INT(feed_all(q, "GET /?a=%zz&b=%4&c=%00&d=a+b%41 HTTP/1.1\r\n\r\n", &used, &err), 1);
    CHECK(http_query_get(&q->req, "a", 0, buf, sizeof(buf), &err) < 0);
    CHECK_CONTAINS(err.msg, "percent");
    CHECK(http_query_get(&q->req, "b", 0, buf, sizeof(buf), &err) < 0);
    CHECK(http_query_get(&q->req, "c", 0, buf, sizeof(buf), &err) < 0);
    CHECK_CONTAINS(err.msg, "NUL");
    CHECK_INT(http_query_get(&q->req, "d", 0, buf, sizeof(buf), &err), 1);
    CHECK_STR(buf, "a bA");
    return 0;
}

static int test_http_formats_responses(void)
{
    _cleanup_free_ char *up = NULL, *nf = NULL;
    struct http_header h[] = {{"Connection", "Upgrade"}, {"Upgrade", "SPDY/3.1"}};
    struct http_header evil[] = {{"X-A", "b\r\nSet-Cookie: x"}};
    struct http_header bad_name[] = {{"X A", "b"}};
    struct crib_err err;
    char *out;
    size_t len;

    CHECK_INT(http_response_format(101, h, 2, NULL, &up, &len, &err), 0);
    CHECK_STR(up, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                  "Upgrade: SPDY/3.1\r\n\r\n");
    CHECK_INT(len, strlen(up));
    CHECK_INT(http_response_format(404, NULL, 0, "no such session\n", &nf, &len, &err), 0);
    CHECK_STR(nf, "HTTP/1.1 404 Not Found\r\nConnection: close\r\n"
                  "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 16\r\n\r\n"
                  "no such session\n");
    CHECK(http_response_format(400, evil, 1, NULL, &out, &len, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK(http_response_format(400, bad_name, 1, NULL, &out, &len, &err) < 0);
    CHECK(http_response_format(42, NULL, 0, NULL, &out, &len, &err) < 0);
    CHECK_STR(http_reason(431), "Request Header Fields Too Large");
    return 0;
}

TEST_MAIN(TEST(test_http_parses_upgrade_request), TEST(test_http_byte_by_byte_then_protocol_bytes),
          TEST(test_http_skips_empty_lines_before_request), TEST(test_http_refuses_bad_heads),
          TEST(test_http_refuses_nul), TEST(test_http_refuses_too_many_headers),
          TEST(test_http_refuses_huge_head), TEST(test_http_refuses_long_target),
          TEST(test_http_choose_follows_our_order), TEST(test_http_query_values),
          TEST(test_http_formats_responses))
