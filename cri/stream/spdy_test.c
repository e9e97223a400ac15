#include <stdlib.h>
#include <zlib.h>

#include "common/cleanup.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "cri/stream/spdy.h"

CRIB_DEFINE_CLEANUP(struct spdy_codec, spdy_codec_free)
CRIB_DEFINE_CLEANUP(struct spdy_headers, spdy_headers_free)

#define MAX_FRAME 4096

/* A SYN_STREAM (stream 1, priority 4, headers bar: foo and foo: bar) as
 * Chromium's SPDY/3 framer compressed it (spdy_framer_test.cc,
 * CreateSynStreamCompressed): another implementation's bytes, so it checks the
 * dictionary and the framing against the wild, not against ourselves. */
static const uint8_t chromium_syn_stream[] = {
    0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x37, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x80, 0x00, 0x38, 0xea, 0xe3, 0xc6, 0xa7, 0xc2, 0x02, 0xe5, 0x0e, 0x50, 0xc2, 0x4b, 0x4a, 0x04,
    0xe5, 0x0b, 0x66, 0x80, 0x00, 0x4a, 0xcb, 0xcf, 0x07, 0x08, 0x20, 0x10, 0x95, 0x96, 0x9f, 0x0f,
    0xa2, 0x00, 0x02, 0x28, 0x29, 0xb1, 0x08, 0x20, 0x80, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
};

static struct spdy_codec *codec(void)
{
    struct spdy_codec *c = NULL;
    struct crib_err err;

    if (spdy_codec_new(&c, &err) < 0)
        abort();
    return c;
}

static int test_spdy_decodes_chromium_frame(void)
{
    _cleanup_(spdy_codec_freep) struct spdy_codec *c = codec();
    _cleanup_(spdy_headers_freep) struct spdy_headers *h = NULL;
    struct spdy_frame f;
    struct crib_err err;
    size_t used = 0;

    CHECK_INT(spdy_frame_parse(chromium_syn_stream, sizeof(chromium_syn_stream), MAX_FRAME, &f,
                               &used, &err),
              1);
    CHECK_INT(used, sizeof(chromium_syn_stream));
    CHECK_INT(f.type, SPDY_SYN_STREAM);
    CHECK_INT(f.stream_id, 1);
    CHECK_INT(f.assoc_stream_id, 0);
    CHECK_INT(f.priority, 4);
    CHECK_INT(spdy_headers_decode(c, f.data, f.len, &h, &err), 0);
    CHECK(h && h->n == 2);
    CHECK_STR(h ? spdy_headers_get(h, "bar") : NULL, "foo");
    CHECK_STR(h ? spdy_headers_get(h, "foo") : NULL, "bar");
    return 0;
}

/* Formats f (with h) using out, parses it back into *g. */
static int round_trip(struct spdy_codec *out, const struct spdy_frame *f,
                      const struct spdy_headers *h, uint8_t **buf, struct spdy_frame *g)
{
    struct crib_err err;
    size_t len, used = 0;

    CHECK_INT(spdy_frame_format(out, f, h, buf, &len, &err), 0);
    CHECK_INT(spdy_frame_parse(*buf, len, MAX_FRAME, g, &used, &err), 1);
    CHECK_INT(used, len);
    CHECK_INT(g->type, f->type);
    CHECK_INT(g->flags, f->flags);
    CHECK_INT(g->stream_id, f->stream_id);
    return 0;
}

static int test_spdy_round_trips_fixed_frames(void)
{
    _cleanup_(spdy_codec_freep) struct spdy_codec *c = codec();
    struct spdy_frame frames[] = {
        {.type = SPDY_RST_STREAM, .stream_id = 0x7fffffff, .status = SPDY_RST_CANCEL},
        {.type = SPDY_PING, .ping_id = 0x12345678},
        {.type = SPDY_GOAWAY, .stream_id = 7, .status = 1},
        {.type = SPDY_WINDOW_UPDATE, .stream_id = 3, .delta_window = 0x7fffffff},
        {.type = SPDY_WINDOW_UPDATE, .stream_id = 0, .delta_window = 1},
        {.type = SPDY_SETTINGS,
         .flags = SPDY_FLAG_CLEAR_SETTINGS,
         .n_settings = 2,
         .settings = {{1, 7, 0x0a0b0c0d}, {0, 4, 100}}},
        {.type = SPDY_DATA,
         .stream_id = 5,
         .flags = SPDY_FLAG_FIN,
         .data = (const uint8_t *)"hi",
         .len = 2},
        {.type = SPDY_DATA, .stream_id = 5, .len = 0},
    };

    for (size_t i = 0; i < ARRAY_SIZE(frames); i++) {
        _cleanup_free_ uint8_t *buf = NULL;
        struct spdy_frame g;

        round_trip(c, &frames[i], NULL, &buf, &g);
        CHECK_INT(g.status, frames[i].status);
        CHECK_INT(g.ping_id, frames[i].ping_id);
        CHECK_INT(g.delta_window, frames[i].delta_window);
        CHECK_INT(g.n_settings, frames[i].n_settings);
        for (size_t k = 0; k < g.n_settings && k < SPDY_SETTINGS_MAX; k++) {
            CHECK_INT(g.settings[k].flags, frames[i].settings[k].flags);
            CHECK_INT(g.settings[k].id, frames[i].settings[k].id);
            CHECK_INT(g.settings[k].value, frames[i].settings[k].value);
        }
        if (frames[i].type == SPDY_DATA)
            CHECK(g.len == frames[i].len &&
                  (g.len == 0 || memcmp(g.data, frames[i].data, g.len) == 0));
    }
    return 0;
}

/* The header set of a kubectl exec stream, with a repeated header. */
static struct spdy_headers *exec_headers(const char *type)
{
    struct spdy_headers *h = spdy_headers_new();
    struct crib_err err;

    if (spdy_headers_add(h, "streamtype", type, &err) < 0 ||
        spdy_headers_add(h, "x-multi", "one", &err) < 0 ||
        spdy_headers_add(h, "x-multi", "two", &err) < 0)
        abort();
    return h;
}

static int test_spdy_header_blocks_share_one_stream(void)
{
    _cleanup_(spdy_codec_freep) struct spdy_codec *client = codec(), *server = codec();
    _cleanup_(spdy_codec_freep) struct spdy_codec *fresh = codec();
    static const char *const types[] = {"error", "stdin", "stdout", "stderr", "resize"};
    uint8_t *second = NULL;
    size_t second_len = 0;
    struct crib_err err;

    for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
        _cleanup_(spdy_headers_freep) struct spdy_headers *h = exec_headers(types[i]);
        _cleanup_(spdy_headers_freep) struct spdy_headers *got = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        struct spdy_frame f = {.type = SPDY_SYN_STREAM,
                               .stream_id = 1 + 2 * (uint32_t)i,
                               .assoc_stream_id = 0,
                               .priority = 7,
                               .slot = 0};
        struct spdy_frame g;

        if (i == 4)
            f.flags = SPDY_FLAG_UNIDIRECTIONAL;
        round_trip(client, &f, h, &buf, &g);
        CHECK_INT(g.priority, 7);
        CHECK_INT(spdy_headers_decode(server, g.data, g.len, &got, &err), 0);
        CHECK_STR(got ? spdy_headers_get(got, "streamtype") : NULL, types[i]);
        CHECK(got && memcmp(spdy_headers_get(got, "x-multi"), "one\0two", 8) == 0);
        if (i == 1) {
            second = xmalloc(g.len);
            memcpy(second, g.data, g.len);
            second_len = g.len;
        }
    }
    /* A later block refers back into the stream: alone it cannot be read. */
    {
        _cleanup_(spdy_headers_freep) struct spdy_headers *got = NULL;

        CHECK(spdy_headers_decode(fresh, second, second_len, &got, &err) < 0);
        CHECK(got == NULL);
    }
    free(second);
    return 0;
}

static int test_spdy_syn_reply_without_headers(void)
{
    _cleanup_(spdy_codec_freep) struct spdy_codec *a = codec(), *b = codec();
    _cleanup_(spdy_headers_freep) struct spdy_headers *got = NULL;
    _cleanup_free_ uint8_t *buf = NULL;
    struct spdy_frame f = {.type = SPDY_SYN_REPLY, .stream_id = 9}, g;
    struct crib_err err;

    /* The kubelet answers each stream with an empty SYN_REPLY. */
    round_trip(a, &f, NULL, &buf, &g);
    CHECK_INT(spdy_headers_decode(b, g.data, g.len, &got, &err), 0);
    CHECK(got && got->n == 0);
    return 0;
}

static int test_spdy_byte_by_byte(void)
{
    uint8_t buf[sizeof(chromium_syn_stream)];
    struct spdy_frame f;
    struct crib_err err;
    size_t used = 0;

    for (size_t n = 1; n <= sizeof(buf); n++) {
        buf[n - 1] = chromium_syn_stream[n - 1];
        CHECK_INT(spdy_frame_parse(buf, n, MAX_FRAME, &f, &used, &err), n == sizeof(buf));
    }
    CHECK_INT(used, sizeof(buf));
    return 0;
}

static int test_spdy_skips_unknown_control_frames(void)
{
    /* NOOP (type 5, SPDY/2), CREDENTIAL (10) and 0xffff, then a PING. */
    /* clang-format off */
    uint8_t buf[] = {0x80, 3, 0, 5, 0, 0, 0, 0,
                     0x80, 3, 0, 10, 0, 0, 0, 3, 1, 2, 3,
                     0x80, 3, 0xff, 0xff, 0, 0, 0, 1, 9,
                     0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 42};
    /* clang-format on */
    size_t pos = 0, used;
    struct spdy_frame f;
    struct crib_err err;
    int n_unknown = 0;

    while (pos < sizeof(buf) &&
           spdy_frame_parse(buf + pos, sizeof(buf) - pos, MAX_FRAME, &f, &used, &err) == 1) {
        n_unknown += f.type == SPDY_UNKNOWN;
        pos += used;
    }
    CHECK_INT(n_unknown, 3);
    CHECK_INT(pos, sizeof(buf));
    CHECK_INT(f.type, SPDY_PING);
    CHECK_INT(f.ping_id, 42);
    return 0;
}

/* clang-format off */
static const struct {
    const char *name;
    uint8_t bytes[20];
    size_t len;
    enum crib_code code;
    const char *msg;
} bad_frames[] = {
    {"version 2", {0x80, 2, 0, 6, 0, 0, 0, 4}, 8, CRIB_INVALID, "version 2"},
    {"version 4", {0x80, 4, 0, 6, 0, 0, 0, 4}, 8, CRIB_INVALID, "version 4"},
    {"RST_STREAM of 4", {0x80, 3, 0, 3, 0, 0, 0, 4}, 8, CRIB_INVALID, "length 4"},
    {"PING of 8", {0x80, 3, 0, 6, 0, 0, 0, 8}, 8, CRIB_INVALID, "length 8"},
    {"GOAWAY of 4 (SPDY/2)", {0x80, 3, 0, 7, 0, 0, 0, 4}, 8, CRIB_INVALID, "length 4"},
    {"WINDOW_UPDATE of 12", {0x80, 3, 0, 9, 0, 0, 0, 12}, 8, CRIB_INVALID, "length 12"},
    {"SYN_STREAM of 9", {0x80, 3, 0, 1, 0, 0, 0, 9}, 8, CRIB_INVALID, "length 9"},
    {"SYN_REPLY of 3", {0x80, 3, 0, 2, 0, 0, 0, 3}, 8, CRIB_INVALID, "length 3"},
    {"HEADERS of 0", {0x80, 3, 0, 8, 0, 0, 0, 0}, 8, CRIB_INVALID, "length 0"},
    {"SETTINGS of 11", {0x80, 3, 0, 4, 0, 0, 0, 11}, 8, CRIB_INVALID, "SETTINGS length"},
    {"SETTINGS count 2 in 12", {0x80, 3, 0, 4, 0, 0, 0, 12, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1},
     20, CRIB_INVALID, "count 2"},
    {"DATA past the cap", {0, 0, 0, 1, 0, 0x10, 0, 1}, 8, CRIB_LIMIT, "at most 4096"},
    {"control past the cap", {0x80, 3, 0, 1, 0, 0xff, 0xff, 0xff}, 8, CRIB_LIMIT, "at most"},
    {"unknown type past the cap", {0x80, 3, 0x12, 0x34, 0, 0x01, 0, 0}, 8, CRIB_LIMIT, "at most"},
    {"DATA on stream 0", {0x80 & 0, 0, 0, 0, 1, 0, 0, 0}, 8, CRIB_INVALID, "stream 0"},
    {"SYN_REPLY on stream 0", {0x80, 3, 0, 2, 0, 0, 0, 4, 0x80, 0, 0, 0}, 12, CRIB_INVALID,
     "stream 0"},
    {"RST_STREAM status 0", {0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0}, 16, CRIB_INVALID,
     "status 0"},
    {"WINDOW_UPDATE delta 0", {0x80, 3, 0, 9, 0, 0, 0, 8, 0, 0, 0, 1, 0x80, 0, 0, 0}, 16,
     CRIB_INVALID, "delta 0"},
};
/* clang-format on */

static int test_spdy_refuses_bad_frames(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(bad_frames); i++) {
        struct spdy_frame f;
        struct crib_err err = {0};
        size_t used;
        int r =
            spdy_frame_parse(bad_frames[i].bytes, bad_frames[i].len, MAX_FRAME, &f, &used, &err);

        if (r >= 0)
            fprintf(stderr, "  case \"%s\" accepted\n", bad_frames[i].name);
        CHECK(r < 0);
        CHECK_INT(err.code, bad_frames[i].code);
        CHECK_CONTAINS(err.msg, bad_frames[i].msg);
    }
    return 0;
}

static int test_spdy_truncated_frames_need_more(void)
{
    uint8_t settings[8 + 4 + 8] = {0x80, 3, 0, 4, 0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    uint8_t many[8 + 4 + 8 * (SPDY_SETTINGS_MAX + 1)] = {
        0x80, 3, 0, 4, 0, 0, 0, 4 + 8 * (SPDY_SETTINGS_MAX + 1)};
    struct spdy_frame f;
    struct crib_err err;
    size_t used;

    for (size_t n = 0; n < sizeof(settings); n++)
        CHECK_INT(spdy_frame_parse(settings, n, MAX_FRAME, &f, &used, &err), 0);
    CHECK_INT(spdy_frame_parse(settings, sizeof(settings), MAX_FRAME, &f, &used, &err), 1);
    many[11] = SPDY_SETTINGS_MAX + 1;
    CHECK(spdy_frame_parse(many, sizeof(many), MAX_FRAME, &f, &used, &err) < 0);
    CHECK_INT(err.code, CRIB_LIMIT);
    return 0;
}

/* Compresses raw as a peer without the dictionary would: zlib, sync flush. */
static uint8_t *zblock(const void *raw, size_t len, size_t *ret_len)
{
    uint8_t *out = xmalloc(len + 256);
    z_stream z = {0};

    deflateInit(&z, Z_BEST_COMPRESSION);
    z.next_in = (Bytef *)raw;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)(len + 256);
    deflate(&z, Z_SYNC_FLUSH);
    *ret_len = len + 256 - z.avail_out;
    deflateEnd(&z);
    return out;
}

#define U32(n) (uint8_t)((n) >> 24), (uint8_t)((n) >> 16), (uint8_t)((n) >> 8), (uint8_t)(n)

/* clang-format off */
static const struct {
    const char *name;
    uint8_t raw[48];
    size_t len;
    enum crib_code code;
    const char *msg;
} bad_blocks[] = {
    {"too many pairs", {U32(65)}, 4, CRIB_LIMIT, "65 pairs"},
    {"short count", {0, 0, 1}, 3, CRIB_INVALID, "too short"},
    {"truncated name", {U32(1), U32(10), 'a', 'b', 'c'}, 11, CRIB_INVALID, "truncated"},
    {"huge name length", {U32(1), U32(0xffffffffu), 'a'}, 9, CRIB_INVALID, "truncated"},
    {"missing value", {U32(1), U32(1), 'a'}, 9, CRIB_INVALID, "truncated"},
    {"empty name", {U32(1), U32(0), U32(1), 'x'}, 13, CRIB_INVALID, "empty header name"},
    {"upper-case name", {U32(1), U32(4), 'H', 'o', 's', 't', U32(1), 'x'}, 17, CRIB_INVALID,
     "upper-case"},
    {"repeated name", {U32(2), U32(1), 'a', U32(1), 'x', U32(1), 'a', U32(1), 'y'}, 28,
     CRIB_INVALID, "repeated"},
    {"value starts with NUL", {U32(1), U32(1), 'a', U32(2), 0, 'x'}, 15, CRIB_INVALID,
     "starts or ends"},
    {"empty value between NULs", {U32(1), U32(1), 'a', U32(4), 'x', 0, 0, 'y'}, 17, CRIB_INVALID,
     "between NULs"},
    {"trailing bytes", {U32(0), 'x'}, 5, CRIB_INVALID, "trailing"},
};
/* clang-format on */

static int test_spdy_refuses_bad_header_blocks(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(bad_blocks); i++) {
        _cleanup_(spdy_codec_freep) struct spdy_codec *c = codec();
        _cleanup_(spdy_headers_freep) struct spdy_headers *h = NULL;
        size_t len;
        _cleanup_free_ uint8_t *block = zblock(bad_blocks[i].raw, bad_blocks[i].len, &len);
        struct crib_err err = {0};
        int r = spdy_headers_decode(c, block, len, &h, &err);

        if (r >= 0)
            fprintf(stderr, "  case \"%s\" accepted\n", bad_blocks[i].name);
        CHECK(r < 0);
        CHECK(h == NULL);
        CHECK_INT(err.code, bad_blocks[i].code);
        CHECK_CONTAINS(err.msg, bad_blocks[i].msg);
    }
    return 0;
}

static int test_spdy_refuses_header_bomb(void)
{
    _cleanup_(spdy_codec_freep) struct spdy_codec *a = codec(), *b = codec();
    _cleanup_(spdy_headers_freep) struct spdy_headers *h = spdy_headers_new(), *got = NULL;
    _cleanup_free_ char *big = xmalloc(1 << 20);
    _cleanup_free_ uint8_t *buf = NULL;
    struct spdy_frame f = {.type = SPDY_HEADERS, .stream_id = 1}, g;
    struct crib_err err;

    memset(big, 'a', (1 << 20) - 1);
    big[(1 << 20) - 1] = '\0';
    CHECK_INT(spdy_headers_add(h, "x", big, &err), 0);
    round_trip(a, &f, h, &buf, &g);
    /* A megabyte of headers compresses to about a kilobyte. */
    CHECK(g.len < 4096);
    CHECK(spdy_headers_decode(b, g.data, g.len, &got, &err) < 0);
    CHECK_INT(err.code, CRIB_LIMIT);
    CHECK_CONTAINS(err.msg, "inflates past");
    /* The inflate stream is now out of step: the codec refuses what follows. */
    CHECK(spdy_headers_decode(b, g.data, g.len, &got, &err) < 0);
    CHECK_CONTAINS(err.msg, "lost earlier");
    return 0;
}

static int test_spdy_refuses_bad_compression(void)
{
    static const uint8_t junk[] = {0x78, 0x9c, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01};
    static const uint8_t ended[] = {0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01};
    /* A zlib header asking for dictionary 0x00000001 (FDICT set). */
    static const uint8_t other_dict[] = {0x78, 0xbb, 0x00, 0x00, 0x00, 0x01, 0x03, 0x00};
    static const struct {
        const uint8_t *bytes;
        size_t len;
        const char *msg;
    } cases[] = {
        {junk, sizeof(junk), "corrupt"},
        {ended, sizeof(ended), "ended"},
        {other_dict, sizeof(other_dict), "another dictionary"},
        {junk, 0, "empty header block"},
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        _cleanup_(spdy_codec_freep) struct spdy_codec *c = codec();
        struct spdy_headers *h = NULL;
        struct crib_err err = {0};

        CHECK(spdy_headers_decode(c, cases[i].bytes, cases[i].len, &h, &err) < 0);
        CHECK_INT(err.code, CRIB_INVALID);
        CHECK_CONTAINS(err.msg, cases[i].msg);
    }
    return 0;
}

static int test_spdy_headers_add_checks(void)
{
    _cleanup_(spdy_headers_freep) struct spdy_headers *h = spdy_headers_new();
    struct crib_err err;
    char name[16];

    CHECK(spdy_headers_add(h, "Port", "80", &err) < 0);
    CHECK(spdy_headers_add(h, "", "80", &err) < 0);
    CHECK(spdy_headers_add(h, "port", "", &err) < 0);
    for (int i = 0; i < SPDY_HEADERS_MAX; i++) {
        snprintf(name, sizeof(name), "h%d", i);
        CHECK_INT(spdy_headers_add(h, name, "v", &err), 0);
    }
    CHECK(spdy_headers_add(h, "one-more", "v", &err) < 0);
    CHECK_INT(err.code, CRIB_LIMIT);
    CHECK(spdy_headers_get(h, "h0") != NULL);
    CHECK(spdy_headers_get(h, "h") == NULL);
    return 0;
}

static int test_spdy_data_header(void)
{
    uint8_t out[SPDY_HEADER_LEN];

    spdy_data_header(out, 0x80000003, SPDY_FLAG_FIN, 0x123456);
    CHECK(memcmp(out, "\x00\x00\x00\x03\x01\x12\x34\x56", 8) == 0);
    return 0;
}

TEST_MAIN(TEST(test_spdy_decodes_chromium_frame), TEST(test_spdy_round_trips_fixed_frames),
          TEST(test_spdy_header_blocks_share_one_stream), TEST(test_spdy_syn_reply_without_headers),
          TEST(test_spdy_byte_by_byte), TEST(test_spdy_skips_unknown_control_frames),
          TEST(test_spdy_refuses_bad_frames), TEST(test_spdy_truncated_frames_need_more),
          TEST(test_spdy_refuses_bad_header_blocks), TEST(test_spdy_refuses_header_bomb),
          TEST(test_spdy_refuses_bad_compression), TEST(test_spdy_headers_add_checks),
          TEST(test_spdy_data_header))
