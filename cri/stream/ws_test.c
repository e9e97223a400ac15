#include <stdlib.h>

#include "common/cleanup.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "cri/stream/ws.h"

static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Parses text as a request head; the parser is the caller's to free(). */
static struct http_parser *parse_head(const char *text)
{
    struct http_parser *p = xmalloc(sizeof(*p));
    struct crib_err err;
    size_t used;

    http_parser_init(p);
    if (http_parser_feed(p, text, strlen(text), &used, &err) != 1)
        fprintf(stderr, "  head not parsed: %s\n", err.msg);
    return p;
}

static int test_ws_accept_key_matches_rfc(void)
{
    char accept[WS_ACCEPT_LEN + 1];

    /* RFC 6455 section 1.3's example. */
    ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", accept);
    CHECK_STR(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    return 0;
}

#define HS_BASE "Host: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
#define HS_KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define HS_V13 "Sec-WebSocket-Version: 13\r\n"

static const struct {
    const char *head;
    int status;
    const char *msg;
} handshakes[] = {
    {"GET /e HTTP/1.1\r\n" HS_BASE HS_KEY HS_V13 "\r\n", 0, NULL},
    {"POST /e HTTP/1.1\r\n" HS_BASE HS_KEY HS_V13 "\r\n", 405, "not GET"},
    {"GET /e HTTP/1.0\r\n" HS_BASE HS_KEY HS_V13 "\r\n", 400, "HTTP/1.0"},
    {"GET /e HTTP/1.1\r\nUpgrade: SPDY/3.1\r\nConnection: Upgrade\r\n" HS_KEY HS_V13 "\r\n", 400,
     "Upgrade"},
    {"GET /e HTTP/1.1\r\nUpgrade: websocket\r\nConnection: close\r\n" HS_KEY HS_V13 "\r\n", 400,
     "Connection"},
    {"GET /e HTTP/1.1\r\n" HS_BASE HS_KEY "Sec-WebSocket-Version: 8\r\n\r\n", 426, "13"},
    {"GET /e HTTP/1.1\r\n" HS_BASE HS_KEY "\r\n", 426, "13"},
    {"GET /e HTTP/1.1\r\n" HS_BASE HS_V13 "\r\n", 400, "Key"},
    {"GET /e HTTP/1.1\r\n" HS_BASE "Sec-WebSocket-Key: c2hvcnQ=\r\n" HS_V13 "\r\n", 400, "Key"},
    {"GET /e HTTP/1.1\r\n" HS_BASE "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ!!\r\n" HS_V13 "\r\n",
     400, "Key"},
    {"GET /e HTTP/1.1\r\n" HS_BASE HS_KEY HS_KEY HS_V13 "\r\n", 400, "Key"},
};

static int test_ws_handshake_checks(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(handshakes); i++) {
        _cleanup_free_ struct http_parser *p = parse_head(handshakes[i].head);
        const char *key = NULL;
        struct crib_err err;
        int status = 0;
        int r = ws_handshake_check(&p->req, &key, &status, &err);

        if (!handshakes[i].msg) {
            CHECK_INT(r, 0);
            CHECK_STR(key, "dGhlIHNhbXBsZSBub25jZQ==");
            continue;
        }
        CHECK(r < 0);
        CHECK_INT(status, handshakes[i].status);
        CHECK_INT(err.code, CRIB_INVALID);
        CHECK_CONTAINS(err.msg, handshakes[i].msg);
    }
    return 0;
}

static int test_ws_handshake_response_and_subprotocol(void)
{
    _cleanup_free_ struct http_parser *p =
        parse_head("GET /e HTTP/1.1\r\n" HS_BASE HS_KEY HS_V13
                   "Sec-WebSocket-Protocol: v4.channel.k8s.io, base64.channel.k8s.io\r\n"
                   "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n");
    _cleanup_free_ char *resp = NULL;
    const char *ours[] = {"v5.channel.k8s.io", "v4.channel.k8s.io"};
    const char *other[] = {"portforward.k8s.io"};
    const char *chosen = NULL;
    struct crib_err err;
    size_t len;

    CHECK_INT(ws_choose_subprotocol(&p->req, ours, 2, &chosen, &err), 0);
    CHECK_STR(chosen, "v5.channel.k8s.io");
    CHECK(ws_choose_subprotocol(&p->req, other, 1, &chosen, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_INT(
        ws_handshake_response("dGhlIHNhbXBsZSBub25jZQ==", "v5.channel.k8s.io", &resp, &len, &err),
        0);
    CHECK_STR(resp, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                    "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n");
    return 0;
}

static int test_ws_parses_rfc_examples(void)
{
    /* Section 5.7: a masked "Hello" from a client. */
    uint8_t masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    uint8_t head[WS_HEADER_MAX];
    struct ws_parser p;
    struct ws_frame f;
    struct crib_err err;
    size_t used = 0;

    ws_parser_init(&p, true, 1 << 20);
    CHECK_INT(ws_frame_parse(&p, masked, sizeof(masked), &f, &used, &err), 1);
    CHECK_INT(used, sizeof(masked));
    CHECK_INT(f.opcode, WS_TEXT);
    CHECK(f.fin);
    CHECK_INT(f.len, 5);
    CHECK(memcmp(f.payload, "Hello", 5) == 0);
    /* The server's unmasked "Hello" and a 256-byte binary frame's header. */
    CHECK_INT(ws_frame_header(head, WS_TEXT, true, 5, NULL), 2);
    CHECK(head[0] == 0x81 && head[1] == 0x05);
    CHECK_INT(ws_frame_header(head, WS_BINARY, true, 256, NULL), 4);
    CHECK(head[0] == 0x82 && head[1] == 0x7e && head[2] == 0x01 && head[3] == 0x00);
    CHECK_INT(ws_frame_header(head, WS_BINARY, true, 65536, NULL), 10);
    CHECK(head[1] == 0x7f && head[7] == 0x01 && head[9] == 0x00);
    return 0;
}

static int test_ws_round_trips_every_length_form(void)
{
    static const size_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 70000};

    for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
        _cleanup_free_ uint8_t *payload = xmalloc(lens[i] + 1), *frame = NULL;
        struct ws_parser p;
        struct ws_frame f;
        struct crib_err err;
        size_t len, used = 0;

        for (size_t k = 0; k < lens[i]; k++)
            payload[k] = (uint8_t)(k * 7 + i);
        CHECK_INT(ws_frame_format(WS_BINARY, true, payload, lens[i], mask, &frame, &len, &err), 0);
        ws_parser_init(&p, true, 1 << 20);
        CHECK_INT(ws_frame_parse(&p, frame, len, &f, &used, &err), 1);
        CHECK_INT(used, len);
        CHECK_INT(f.len, lens[i]);
        CHECK(f.len == lens[i] && memcmp(f.payload, payload, lens[i]) == 0);
        /* One byte short is "need more", never an error. */
        CHECK_INT(ws_frame_parse(&p, frame, len - 1, &f, &used, &err), 0);
    }
    return 0;
}

static int test_ws_byte_by_byte(void)
{
    _cleanup_free_ uint8_t *frame = NULL;
    uint8_t buf[512], payload[300];
    struct ws_parser p;
    struct ws_frame f;
    struct crib_err err;
    size_t len, used = 0;

    memset(payload, 'z', sizeof(payload));
    CHECK_INT(ws_frame_format(WS_BINARY, true, payload, sizeof(payload), mask, &frame, &len, &err),
              0);
    ws_parser_init(&p, true, 4096);
    for (size_t n = 1; n <= len; n++) {
        buf[n - 1] = frame[n - 1];
        CHECK_INT(ws_frame_parse(&p, buf, n, &f, &used, &err), n == len ? 1 : 0);
    }
    CHECK_INT(used, len);
    CHECK(f.len == sizeof(payload) && memcmp(f.payload, payload, sizeof(payload)) == 0);
    return 0;
}

/* Parses frames of buf in turn into m; returns the last parse result. */
static int feed_frames(struct ws_parser *p, uint8_t *buf, size_t len, struct ws_message *m,
                       int *n_control, struct crib_err *err)
{
    struct ws_frame f;
    size_t used;
    int r = 0;

    while (len > 0) {
        r = ws_frame_parse(p, buf, len, &f, &used, err);
        if (r <= 0)
            return r;
        if (f.opcode & 0x8)
            (*n_control)++;
        else
            r = ws_message_add(m, &f, err);
        if (r < 0)
            return r;
        buf += used;
        len -= used;
    }
    return r;
}

/* Appends a client frame to buf at *n. */
static void append_frame(uint8_t *buf, size_t *n, uint8_t opcode, bool fin, const char *payload)
{
    _cleanup_free_ uint8_t *frame = NULL;
    struct crib_err err;
    size_t len;

    CHECK_INT(ws_frame_format(opcode, fin, payload, strlen(payload), mask, &frame, &len, &err), 0);
    memcpy(buf + *n, frame, len);
    *n += len;
}

static int test_ws_assembles_fragmented_message(void)
{
    uint8_t buf[64];
    struct ws_parser p;
    struct ws_message m = {0};
    struct crib_err err;
    size_t n = 0;
    int n_control = 0;

    append_frame(buf, &n, WS_TEXT, false, "Hel");
    /* A control frame may come between fragments (section 5.4). */
    append_frame(buf, &n, WS_PING, true, "p");
    append_frame(buf, &n, WS_CONTINUATION, true, "lo");
    ws_parser_init(&p, true, 5);
    CHECK_INT(feed_frames(&p, buf, n, &m, &n_control, &err), 1);
    CHECK_INT(n_control, 1);
    CHECK_INT(m.opcode, WS_TEXT);
    CHECK(m.len == 5 && memcmp(m.data, "Hello", 5) == 0);
    CHECK(!p.in_message);
    ws_message_done(&m);
    return 0;
}

/* clang-format off */
static const struct {
    const char *name;
    bool is_server;
    size_t max;
    uint8_t bytes[16];
    size_t len;
    enum crib_code code;
    uint16_t close_code;
    const char *msg;
} bad_frames[] = {
    {"unmasked client frame", true, 1024, {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}, 7, CRIB_INVALID,
     1002, "not masked"},
    {"masked server frame", false, 1024, {0x81, 0x81, 1, 2, 3, 4, 'x'}, 7, CRIB_INVALID, 1002,
     "is masked"},
    {"RSV1 set", true, 1024, {0xc1, 0x80, 1, 2, 3, 4}, 6, CRIB_INVALID, 1002, "RSV"},
    {"RSV3 set", true, 1024, {0x92, 0x80, 1, 2, 3, 4}, 6, CRIB_INVALID, 1002, "RSV"},
    {"reserved data opcode", true, 1024, {0x83, 0x80, 1, 2, 3, 4}, 6, CRIB_INVALID, 1002,
     "reserved opcode"},
    {"reserved control opcode", true, 1024, {0x8b, 0x80, 1, 2, 3, 4}, 6, CRIB_INVALID, 1002,
     "reserved opcode"},
    {"fragmented ping", true, 1024, {0x09, 0x80, 1, 2, 3, 4}, 6, CRIB_INVALID, 1002,
     "fragmented control"},
    {"long close", true, 1024, {0x88, 0xfe, 0x00, 0x7e}, 4, CRIB_INVALID, 1002, "125"},
    {"length 126 form for 5", true, 1024, {0x82, 0xfe, 0x00, 0x05}, 4, CRIB_INVALID, 1002,
     "minimal"},
    {"length 127 form for 65535", true, 1 << 20, {0x82, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 10,
     CRIB_INVALID, 1002, "minimal"},
    {"64-bit length with MSB", true, 1024, {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0}, 10,
     CRIB_INVALID, 1002, "most significant bit"},
    {"continuation without message", true, 1024, {0x80, 0x80, 1, 2, 3, 4}, 6, CRIB_INVALID, 1002,
     "continuation"},
    {"message over the cap", true, 1024, {0x82, 0xfe, 0x04, 0x01}, 4, CRIB_LIMIT, 1009,
     "longer than 1024"},
    {"huge 64-bit length", true, 1024, {0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
     10, CRIB_LIMIT, 1009, "longer than"},
};
/* clang-format on */

static int test_ws_refuses_bad_frames(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(bad_frames); i++) {
        uint8_t buf[16];
        struct ws_parser p;
        struct ws_frame f;
        struct crib_err err = {0};
        size_t used;
        int r;

        memcpy(buf, bad_frames[i].bytes, sizeof(buf));
        ws_parser_init(&p, bad_frames[i].is_server, bad_frames[i].max);
        r = ws_frame_parse(&p, buf, bad_frames[i].len, &f, &used, &err);
        if (r >= 0)
            fprintf(stderr, "  case \"%s\" accepted\n", bad_frames[i].name);
        CHECK(r < 0);
        CHECK_INT(err.code, bad_frames[i].code);
        CHECK_INT(p.close_code, bad_frames[i].close_code);
        CHECK_CONTAINS(err.msg, bad_frames[i].msg);
    }
    return 0;
}

static int test_ws_refuses_bad_fragment_sequences(void)
{
    uint8_t first[] = {0x01, 0x81, 0, 0, 0, 0, 'a'};  /* text, no FIN */
    uint8_t second[] = {0x82, 0x81, 0, 0, 0, 0, 'b'}; /* a new binary message */
    uint8_t more[] = {0x00, 0x83, 0, 0, 0, 0, 'c', 'd', 'e'};
    struct ws_parser p;
    struct ws_frame f;
    struct crib_err err;
    size_t used;

    ws_parser_init(&p, true, 3);
    CHECK_INT(ws_frame_parse(&p, first, sizeof(first), &f, &used, &err), 1);
    CHECK(ws_frame_parse(&p, second, sizeof(second), &f, &used, &err) < 0);
    CHECK_CONTAINS(err.msg, "before the last one ended");
    /* 1 + 3 bytes pass the message cap of 3 even though each frame fits. */
    CHECK(ws_frame_parse(&p, more, sizeof(more), &f, &used, &err) < 0);
    CHECK_INT(err.code, CRIB_LIMIT);
    return 0;
}

static int test_ws_text_must_be_utf8(void)
{
    struct ws_message m = {0};
    uint8_t bad[] = {'a', 0xc0, 0x80};
    struct ws_frame f = {.opcode = WS_TEXT, .fin = true, .payload = bad, .len = sizeof(bad)};
    struct ws_frame ping = {.opcode = WS_PING, .fin = true};
    struct crib_err err;

    CHECK(ws_message_add(&m, &f, &err) < 0);
    CHECK_CONTAINS(err.msg, "UTF-8");
    ws_message_clear(&m);
    f.opcode = WS_BINARY;
    CHECK_INT(ws_message_add(&m, &f, &err), 1);
    CHECK(ws_message_add(&m, &ping, &err) < 0);
    ws_message_done(&m);
    return 0;
}

static const struct {
    const char *s;
    bool ok;
} utf8_cases[] = {
    {"plain", true},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", true},
    {"\xc0\x80", false},         /* overlong NUL */
    {"\xe0\x80\xaf", false},     /* overlong '/' */
    {"\xed\xa0\x80", false},     /* surrogate */
    {"\xf4\x90\x80\x80", false}, /* past U+10FFFF */
    {"\xe2\x82", false},         /* truncated */
    {"\x80", false},             /* lone continuation */
    {"\xff", false},
};

static int test_ws_utf8_table(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(utf8_cases); i++)
        CHECK_INT(ws_utf8_valid((const uint8_t *)utf8_cases[i].s, strlen(utf8_cases[i].s)),
                  utf8_cases[i].ok);
    return 0;
}

static int test_ws_close_payloads(void)
{
    static const struct {
        uint8_t bytes[8];
        size_t len;
        int ok;
        uint16_t code;
    } cases[] = {
        {{0x03, 0xe8, 'b', 'y', 'e'}, 5, 1, 1000},
        {{0}, 0, 1, 1005},
        {{0x0b, 0xb8}, 2, 1, 3000},
        {{0x13, 0x87}, 2, 1, 4999},
        {{0x03}, 1, 0, 0},
        {{0x03, 0xed}, 2, 0, 0}, /* 1005 */
        {{0x03, 0xee}, 2, 0, 0},
        {{0x03, 0xe7}, 2, 0, 0}, /* 999 */
        {{0x0b, 0xb7}, 2, 0, 0},
        {{0x13, 0x88}, 2, 0, 0}, /* 5000 */
        {{0x03, 0xe8, 0xc3}, 3, 0, 0},
    };
    uint8_t out[WS_CONTROL_MAX];
    char reason[200];
    const char *r;
    uint16_t code;
    size_t n, rlen;
    struct crib_err err;

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int ret = ws_close_parse(cases[i].bytes, cases[i].len, &code, &r, &rlen, &err);

        CHECK_INT(ret == 0, cases[i].ok);
        if (cases[i].ok)
            CHECK_INT(code, cases[i].code);
    }
    /* 62 two-byte characters: the cut at 123 bytes must not split one. */
    for (size_t i = 0; i < 62; i++)
        memcpy(reason + 2 * i, "\xc3\xa9", 2);
    reason[124] = '\0';
    n = ws_close_format(1011, reason, out);
    CHECK_INT(n, 124);
    CHECK_INT(ws_close_parse(out, n, &code, &r, &rlen, &err), 0);
    CHECK_INT(code, 1011);
    CHECK_INT(rlen, 122);
    return 0;
}

static int test_ws_format_refuses_bad_control(void)
{
    uint8_t big[WS_CONTROL_MAX + 1] = {0}, *out;
    struct crib_err err;
    size_t len;

    CHECK(ws_frame_format(WS_PING, true, big, sizeof(big), NULL, &out, &len, &err) < 0);
    CHECK(ws_frame_format(WS_CLOSE, false, big, 2, NULL, &out, &len, &err) < 0);
    CHECK(ws_frame_format(0x3, true, big, 2, NULL, &out, &len, &err) < 0);
    return 0;
}

TEST_MAIN(TEST(test_ws_accept_key_matches_rfc), TEST(test_ws_handshake_checks),
          TEST(test_ws_handshake_response_and_subprotocol), TEST(test_ws_parses_rfc_examples),
          TEST(test_ws_round_trips_every_length_form), TEST(test_ws_byte_by_byte),
          TEST(test_ws_assembles_fragmented_message), TEST(test_ws_refuses_bad_frames),
          TEST(test_ws_refuses_bad_fragment_sequences), TEST(test_ws_text_must_be_utf8),
          TEST(test_ws_utf8_table), TEST(test_ws_close_payloads),
          TEST(test_ws_format_refuses_bad_control))
