#include <json-c/json.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "cri/stream/channel.h"

CRIB_DEFINE_CLEANUP(struct chan_resize_decoder, chan_resize_decoder_free)

static const struct chan_proto *proto(const char *name, unsigned kind, unsigned transport)
{
    const struct chan_proto *p = chan_proto_lookup(name, kind, transport);

    if (!p)
        abort();
    return p;
}

static int test_chan_protocol_names_in_preference_order(void)
{
    const char *names[8];

    CHECK_INT(chan_proto_names(CHAN_EXEC, CHAN_WEBSOCKET, names, 8), 5);
    CHECK_STR(names[0], "v5.channel.k8s.io");
    CHECK_STR(names[1], "v4.channel.k8s.io");
    CHECK_STR(names[2], "v4.base64.channel.k8s.io");
    CHECK_STR(names[4], "base64.channel.k8s.io");
    CHECK_INT(chan_proto_names(CHAN_EXEC, CHAN_SPDY, names, 8), 4);
    CHECK_STR(names[0], "v4.channel.k8s.io");
    CHECK_STR(names[3], "channel.k8s.io");
    CHECK_INT(chan_proto_names(CHAN_PORTFORWARD, CHAN_SPDY, names, 8), 1);
    CHECK_STR(names[0], "portforward.k8s.io");
    CHECK_INT(chan_proto_names(CHAN_PORTFORWARD, CHAN_WEBSOCKET, names, 1), 3);
    CHECK_STR(names[0], "v4.channel.k8s.io");
    return 0;
}

static int test_chan_protocol_properties(void)
{
    CHECK(chan_proto_lookup("v5.channel.k8s.io", CHAN_EXEC, CHAN_SPDY) == NULL);
    CHECK(chan_proto_lookup("v9.channel.k8s.io", CHAN_EXEC, CHAN_WEBSOCKET) == NULL);
    CHECK(proto("v5.channel.k8s.io", CHAN_EXEC, CHAN_WEBSOCKET)->flags & CHAN_CLOSE_SIGNAL);
    CHECK(!(proto("v4.channel.k8s.io", CHAN_EXEC, CHAN_WEBSOCKET)->flags & CHAN_CLOSE_SIGNAL));
    CHECK(proto("v4.base64.channel.k8s.io", CHAN_EXEC, CHAN_WEBSOCKET)->flags & CHAN_BASE64);
    CHECK(proto("v4.channel.k8s.io", CHAN_EXEC, CHAN_SPDY)->flags & CHAN_STATUS_JSON);
    CHECK(proto("v3.channel.k8s.io", CHAN_EXEC, CHAN_SPDY)->flags & CHAN_HAS_RESIZE);
    CHECK(!(proto("v2.channel.k8s.io", CHAN_EXEC, CHAN_SPDY)->flags & CHAN_HAS_RESIZE));
    CHECK(proto("", CHAN_EXEC, CHAN_WEBSOCKET)->flags & CHAN_HAS_RESIZE);
    CHECK(proto("v4.channel.k8s.io", CHAN_PORTFORWARD, CHAN_WEBSOCKET)->flags & CHAN_PORT_PREFIX);
    CHECK(proto("SPDY/3.1+portforward.k8s.io", CHAN_PORTFORWARD, CHAN_WEBSOCKET)->flags &
          CHAN_SPDY_TUNNEL);
    return 0;
}

static const struct {
    const char *proto;
    const char *msg;
    size_t len;
    int result; /* 1, 0 (ignored), -1 (refused) */
    unsigned channel;
    const char *data;
    size_t data_len;
    unsigned closed;
} decodes[] = {
    {"v4.channel.k8s.io", "\x01hi", 3, 1, 1, "hi", 2, 0},
    {"v4.channel.k8s.io", "\x00", 1, 1, 0, "", 0, 0},
    {"v4.channel.k8s.io", "", 0, 0, 0, NULL, 0, 0},
    {"v4.channel.k8s.io", "\xff\x00", 2, 1, 255, "\x00", 1, 0},
    {"v5.channel.k8s.io", "\xff\x00", 2, 1, CHAN_CLOSE, "\x00", 1, CHAN_STDIN},
    {"v5.channel.k8s.io", "\xff", 1, -1, 0, NULL, 0, 0},
    {"v5.channel.k8s.io", "\xff\x00\x01", 3, -1, 0, NULL, 0, 0},
    {"v4.base64.channel.k8s.io", "0aGk=", 5, 1, 0, "hi", 2, 0},
    {"v4.base64.channel.k8s.io", "4eyJXaWR0aCI6MX0=", 17, 1, 4, "{\"Width\":1}", 11, 0},
    {"v4.base64.channel.k8s.io", "1", 1, 1, 1, "", 0, 0},
    {"v4.base64.channel.k8s.io", ":AAEC", 5, 1, 10, "\x00\x01\x02", 3, 0},
    {"v4.base64.channel.k8s.io", "0a$k=", 5, -1, 0, NULL, 0, 0},
    {"v4.base64.channel.k8s.io", "0aGk", 4, -1, 0, NULL, 0, 0},
    {"v4.base64.channel.k8s.io", "0aGl=", 5, -1, 0, NULL, 0, 0},
    {"v4.base64.channel.k8s.io", "0aG==", 5, -1, 0, NULL, 0, 0},
    {"v4.base64.channel.k8s.io", "0a=Gk", 5, -1, 0, NULL, 0, 0},
    {"v4.base64.channel.k8s.io", "0aGk=\n", 6, -1, 0, NULL, 0, 0},
    {"v4.base64.channel.k8s.io", "/aGk=", 5, -1, 0, NULL, 0, 0},
};

static int test_chan_decode_table(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(decodes); i++) {
        const struct chan_proto *p = proto(decodes[i].proto, CHAN_EXEC, CHAN_WEBSOCKET);
        uint8_t buf[32];
        struct chan_msg m = {0};
        struct crib_err err = {0};
        int r;

        memcpy(buf, decodes[i].msg, decodes[i].len);
        r = chan_decode(p, buf, decodes[i].len, &m, &err);
        if ((r < 0 ? -1 : r) != decodes[i].result)
            fprintf(stderr, "  case %zu: %d\n", i, r);
        CHECK_INT(r < 0 ? -1 : r, decodes[i].result);
        if (r < 0) {
            CHECK_INT(err.code, CRIB_INVALID);
            continue;
        }
        if (r == 0)
            continue;
        CHECK_INT(m.channel, decodes[i].channel);
        CHECK_INT(m.closed, decodes[i].closed);
        CHECK(m.len == decodes[i].data_len && memcmp(m.data, decodes[i].data, m.len) == 0);
    }
    return 0;
}

static int test_chan_encode_round_trips(void)
{
    static const char *const names[] = {"v5.channel.k8s.io", "v4.base64.channel.k8s.io"};
    uint8_t data[64];

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 37 + 11);
    for (size_t k = 0; k < ARRAY_SIZE(names); k++) {
        const struct chan_proto *p = proto(names[k], CHAN_EXEC, CHAN_WEBSOCKET);

        for (size_t n = 0; n <= sizeof(data); n++) {
            _cleanup_free_ uint8_t *msg = NULL;
            struct chan_msg m;
            struct crib_err err;
            size_t len;

            CHECK_INT(chan_encode(p, CHAN_STDERR, data, n, &msg, &len, &err), 0);
            CHECK_INT(chan_decode(p, msg, len, &m, &err), 1);
            CHECK_INT(m.channel, CHAN_STDERR);
            CHECK(m.len == n && memcmp(m.data, data, n) == 0);
        }
    }
    return 0;
}

static int test_chan_encode_refuses_unsendable_channels(void)
{
    const struct chan_proto *b64 = proto("v4.base64.channel.k8s.io", CHAN_EXEC, CHAN_WEBSOCKET);
    const struct chan_proto *bin = proto("v4.channel.k8s.io", CHAN_EXEC, CHAN_WEBSOCKET);
    uint8_t *msg;
    struct crib_err err;
    size_t len;

    CHECK(chan_encode(b64, 255 - '0' + 1, "", 0, &msg, &len, &err) < 0);
    CHECK(chan_encode(bin, 256, "", 0, &msg, &len, &err) < 0);
    CHECK_INT(chan_encode(b64, 255 - '0', "", 0, &msg, &len, &err), 0);
    CHECK(len == 1 && msg[0] == 255);
    free(msg);
    return 0;
}

static int test_chan_port_prefix_is_little_endian(void)
{
    uint8_t out[2];

    chan_port_prefix(8080, out);
    CHECK(out[0] == 0x90 && out[1] == 0x1f);
    return 0;
}

static const struct {
    const char *json;
    int ok;
    uint16_t width, height;
    const char *msg;
} resizes[] = {
    {"{\"Width\":80,\"Height\":24}", 1, 80, 24, NULL},
    {" {\"width\": 80, \"HEIGHT\": 24}\n", 1, 80, 24, NULL},
    {"{\"Height\":1,\"Width\":65535,\"Extra\":[1,\"x\"]}", 1, 65535, 1, NULL},
    {"{\"Width\":0,\"Height\":0}", 1, 0, 0, NULL},
    {"{\"Width\":1,\"width\":2,\"Height\":3}", 1, 2, 3, NULL},
    {"", 0, 0, 0, "truncated"},
    {"{\"Width\":80", 0, 0, 0, "truncated"},
    {"[80,24]", 0, 0, 0, "not a JSON object"},
    {"{\"Width\":-1,\"Height\":24}", 0, 0, 0, "out of range"},
    {"{\"Width\":65536,\"Height\":24}", 0, 0, 0, "out of range"},
    {"{\"Width\":99999999999999999999999,\"Height\":24}", 0, 0, 0, "Width"},
    {"{\"Width\":80.5,\"Height\":24}", 0, 0, 0, "not an integer"},
    {"{\"Width\":1e2,\"Height\":24}", 0, 0, 0, "not an integer"},
    {"{\"Width\":\"80\",\"Height\":24}", 0, 0, 0, "not an integer"},
    {"{\"Width\":null,\"Height\":24}", 0, 0, 0, "not an integer"},
    {"{\"Width\":80}", 0, 0, 0, "missing"},
    {"{\"Width\":80,\"Height\":24}x", 0, 0, 0, "junk"},
    {"{\"Width\":80,\"Height\":24}{}", 0, 0, 0, "junk"},
    {"{'Width':80,'Height':24}", 0, 0, 0, "resize"},
    {"{\"Width\":80,\"Height\":24,}", 0, 0, 0, "resize"},
    {"{\"a\":{\"b\":{\"c\":{\"d\":{}}}},\"Width\":1,\"Height\":1}", 0, 0, 0, "resize"},
    {"{\"x\":\"\xff\",\"Width\":1,\"Height\":1}", 0, 0, 0, "resize"},
};

static int test_chan_resize_table(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(resizes); i++) {
        struct chan_size size = {0};
        struct crib_err err = {0};
        int r = chan_resize_parse(resizes[i].json, strlen(resizes[i].json), &size, &err);

        if ((r == 0) != resizes[i].ok)
            fprintf(stderr, "  case %zu (%s): %s\n", i, resizes[i].json, r ? err.msg : "ok");
        CHECK_INT(r == 0, resizes[i].ok);
        if (resizes[i].ok) {
            CHECK_INT(size.width, resizes[i].width);
            CHECK_INT(size.height, resizes[i].height);
            continue;
        }
        CHECK_INT(err.code, CRIB_INVALID);
        CHECK_CONTAINS(err.msg, resizes[i].msg);
    }
    return 0;
}

static int test_chan_resize_refuses_nul_and_huge(void)
{
    static const char with_nul[] = "{\"Width\":1,\0\"Height\":1}";
    _cleanup_free_ char *big = xmalloc(CHAN_RESIZE_MAX_BYTES + 64);
    struct chan_size size;
    struct crib_err err;

    CHECK(chan_resize_parse(with_nul, sizeof(with_nul) - 1, &size, &err) < 0);
    CHECK_CONTAINS(err.msg, "NUL");
    memset(big, ' ', CHAN_RESIZE_MAX_BYTES + 63);
    memcpy(big, "{\"Width\":1,\"Height\":1}", 22);
    big[CHAN_RESIZE_MAX_BYTES + 63] = '\0';
    CHECK(chan_resize_parse(big, strlen(big), &size, &err) < 0);
    CHECK_INT(err.code, CRIB_LIMIT);
    return 0;
}

static int test_chan_resize_stream_byte_by_byte(void)
{
    _cleanup_(chan_resize_decoder_freep) struct chan_resize_decoder *d = chan_resize_decoder_new();
    static const char stream[] = "{\"Width\":80,\"Height\":24}\n{\"Width\":100,\"Height\":50}\n";
    struct chan_size sizes[3], s;
    struct crib_err err;
    size_t n = 0, used;

    for (size_t i = 0; i < sizeof(stream) - 1; i++) {
        int r = chan_resize_feed(d, stream + i, 1, &used, &s, &err);

        CHECK(r >= 0);
        CHECK_INT(used, 1);
        if (r == 1 && n < ARRAY_SIZE(sizes))
            sizes[n++] = s;
    }
    CHECK_INT(n, 2);
    CHECK(sizes[0].width == 80 && sizes[0].height == 24);
    CHECK(sizes[1].width == 100 && sizes[1].height == 50);
    return 0;
}

static int test_chan_resize_stream_in_one_chunk(void)
{
    _cleanup_(chan_resize_decoder_freep) struct chan_resize_decoder *d = chan_resize_decoder_new();
    static const char stream[] = "{\"Width\":1,\"Height\":2}\n{\"Width\":3,\"Height\":4}\n{\"Wid";
    const char *pos = stream;
    size_t left = sizeof(stream) - 1, used;
    struct chan_size s;
    struct crib_err err;

    CHECK_INT(chan_resize_feed(d, pos, left, &used, &s, &err), 1);
    CHECK(s.width == 1 && s.height == 2);
    pos += used;
    left -= used;
    CHECK_INT(chan_resize_feed(d, pos, left, &used, &s, &err), 1);
    CHECK(s.width == 3 && s.height == 4);
    pos += used;
    left -= used;
    CHECK_INT(chan_resize_feed(d, pos, left, &used, &s, &err), 0);
    CHECK_INT(used, left);
    /* A bad object ends the stream for good. */
    CHECK(chan_resize_feed(d, "th\":-4,\"Height\":4}", 18, &used, &s, &err) < 0);
    CHECK(chan_resize_feed(d, "{\"Width\":3,\"Height\":4}", 22, &used, &s, &err) < 0);
    CHECK_CONTAINS(err.msg, "failed earlier");
    return 0;
}

static int test_chan_resize_stream_cap(void)
{
    _cleanup_(chan_resize_decoder_freep) struct chan_resize_decoder *d = chan_resize_decoder_new();
    char chunk[100];
    struct chan_size s;
    struct crib_err err;
    size_t used;
    int r = 0;

    memset(chunk, 'a', sizeof(chunk));
    CHECK_INT(chan_resize_feed(d, "{\"Width\":1,\"pad\":\"", 18, &used, &s, &err), 0);
    for (int i = 0; i < 20 && r == 0; i++)
        r = chan_resize_feed(d, chunk, sizeof(chunk), &used, &s, &err);
    CHECK(r < 0);
    CHECK_INT(err.code, CRIB_LIMIT);
    return 0;
}

/* Parses a Status, checks status and reason, returns the ExitCode cause or -1. */
static long status_exit_code(const char *json, const char *status, const char *reason)
{
    struct json_object *o = json_tokener_parse(json), *v, *causes, *cause;
    long code = -1;

    CHECK(o != NULL);
    if (!o)
        return -1;
    CHECK(json_object_object_get_ex(o, "status", &v));
    CHECK_STR(json_object_get_string(v), status);
    if (json_object_object_get_ex(o, "reason", &v))
        CHECK_STR(json_object_get_string(v), reason);
    if (json_object_object_get_ex(o, "details", &v) &&
        json_object_object_get_ex(v, "causes", &causes) &&
        (cause = json_object_array_get_idx(causes, 0)) &&
        json_object_object_get_ex(cause, "reason", &v) &&
        strcmp(json_object_get_string(v), "ExitCode") == 0 &&
        json_object_object_get_ex(cause, "message", &v))
        code = atol(json_object_get_string(v));
    json_object_put(o);
    return code;
}

static int test_chan_status_v4(void)
{
    const struct chan_proto *p = proto("v4.channel.k8s.io", CHAN_EXEC, CHAN_SPDY);
    _cleanup_free_ char *ok = NULL, *exit3 = NULL, *internal = NULL;
    size_t len;

    chan_status_format(p, 0, NULL, &ok, &len);
    CHECK_STR(ok, "{\"metadata\":{},\"status\":\"Success\"}");
    CHECK_INT(len, strlen(ok));
    chan_status_format(p, 3, NULL, &exit3, &len);
    CHECK_STR(exit3, "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated "
                     "with non-zero exit code: exit code 3\",\"reason\":\"NonZeroExitCode\","
                     "\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"3\"}]}}");
    CHECK_INT(status_exit_code(exit3, "Failure", "NonZeroExitCode"), 3);
    CHECK_INT(status_exit_code(ok, "Success", NULL), -1);
    chan_status_format(p, 0, "runtime \"runc\" failed", &internal, &len);
    CHECK_INT(status_exit_code(internal, "Failure", "InternalError"), -1);
    CHECK_CONTAINS(internal, "\"code\":500");
    CHECK_CONTAINS(internal, "Internal error occurred: runtime \\\"runc\\\" failed");
    return 0;
}

static int test_chan_status_before_v4_is_bare_text(void)
{
    const struct chan_proto *p = proto("v3.channel.k8s.io", CHAN_EXEC, CHAN_SPDY);
    _cleanup_free_ char *ok = NULL, *exit3 = NULL, *internal = NULL;
    size_t len = 99;

    chan_status_format(p, 0, NULL, &ok, &len);
    CHECK(ok == NULL);
    CHECK_INT(len, 0);
    chan_status_format(p, 3, NULL, &exit3, &len);
    CHECK_STR(exit3, "command terminated with non-zero exit code: exit code 3");
    chan_status_format(p, 1, "boom", &internal, &len);
    CHECK_STR(internal, "boom");
    return 0;
}

TEST_MAIN(TEST(test_chan_protocol_names_in_preference_order), TEST(test_chan_protocol_properties),
          TEST(test_chan_decode_table), TEST(test_chan_encode_round_trips),
          TEST(test_chan_encode_refuses_unsendable_channels),
          TEST(test_chan_port_prefix_is_little_endian), TEST(test_chan_resize_table),
          TEST(test_chan_resize_refuses_nul_and_huge), TEST(test_chan_resize_stream_byte_by_byte),
          TEST(test_chan_resize_stream_in_one_chunk), TEST(test_chan_resize_stream_cap),
          TEST(test_chan_status_v4), TEST(test_chan_status_before_v4_is_bare_text))
