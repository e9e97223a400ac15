/* WebSocket frames from a client, put together into messages and read as
 * Kubernetes channel messages (the first byte picks the protocol). Frames and
 * channel messages are formatted again and must read back the same. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "cri/stream/channel.h"
#include "cri/stream/ws.h"

#define FUZZ_MESSAGE_MAX (64u << 10)

static const char *const protocols[] = {"v5.channel.k8s.io", "v4.base64.channel.k8s.io",
                                        "channel.k8s.io"};

/* Formats f as a client would and checks that it parses back to f. */
static void frame_round_trip(const struct ws_frame *f)
{
    static const uint8_t mask[4] = {1, 2, 3, 4};
    _cleanup_free_ uint8_t *buf = NULL;
    struct ws_parser p;
    struct ws_frame g;
    struct crib_err err;
    size_t len, used;

    if (ws_frame_format(f->opcode, f->fin, f->payload, f->len, mask, &buf, &len, &err) < 0)
        abort();
    ws_parser_init(&p, true, FUZZ_MESSAGE_MAX);
    if (f->opcode == WS_CONTINUATION)
        p.in_message = true;
    if (ws_frame_parse(&p, buf, len, &g, &used, &err) != 1 || used != len || g.len != f->len ||
        g.opcode != f->opcode || g.fin != f->fin || memcmp(g.payload, f->payload, f->len) != 0)
        abort();
}

static void channel_message(const struct chan_proto *proto, struct ws_message *m)
{
    _cleanup_free_ uint8_t *again = NULL;
    struct chan_msg cm, cm2;
    struct chan_size size;
    struct crib_err err;
    size_t len;

    if (chan_decode(proto, m->data, m->len, &cm, &err) != 1)
        return;
    if (cm.channel == CHAN_RESIZE)
        (void)chan_resize_parse((const char *)cm.data, cm.len, &size, &err);
    if (chan_encode(proto, cm.channel, cm.data, cm.len, &again, &len, &err) < 0)
        abort();
    if (chan_decode(proto, again, len, &cm2, &err) != 1 || cm2.channel != cm.channel ||
        cm2.len != cm.len || memcmp(cm2.data, cm.data, cm.len) != 0)
        abort();
}

static void control_frame(const struct ws_frame *f)
{
    const char *reason;
    uint16_t code;
    size_t n;
    struct crib_err err;
    uint8_t out[WS_CONTROL_MAX];

    if (f->opcode != WS_CLOSE || ws_close_parse(f->payload, f->len, &code, &reason, &n, &err) < 0)
        return;
    if (code != WS_CLOSE_NO_STATUS && ws_close_format(code, NULL, out) != 2)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    _cleanup_free_ uint8_t *buf = NULL;
    const struct chan_proto *proto;
    struct ws_message m = {0};
    struct ws_parser p;
    size_t pos = 1, used;

    if (size < 1)
        return 0;
    proto = chan_proto_lookup(protocols[data[0] % 3], CHAN_EXEC, CHAN_WEBSOCKET);
    buf = xmalloc(size);
    memcpy(buf, data, size); /* frames are unmasked in place */
    ws_parser_init(&p, true, FUZZ_MESSAGE_MAX);
    while (pos < size) {
        struct ws_frame f;
        struct crib_err err;

        if (ws_frame_parse(&p, buf + pos, size - pos, &f, &used, &err) != 1)
            break;
        pos += used;
        frame_round_trip(&f);
        if (f.opcode & 0x8) {
            control_frame(&f);
            continue;
        }
        int r = ws_message_add(&m, &f, &err);
        if (r < 0)
            break;
        if (r == 1) {
            channel_message(proto, &m);
            ws_message_clear(&m);
        }
    }
    ws_message_done(&m);
    return 0;
}
