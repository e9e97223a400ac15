/* SPDY/3.1 frames as a client sends them, header blocks included: every
 * frame parsed is formatted again and must parse back to the same thing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "cri/stream/spdy.h"

/* Frames longer than this are refused, as the server will. */
#define FUZZ_FRAME_MAX (64u << 10)

CRIB_DEFINE_CLEANUP(struct spdy_codec, spdy_codec_free)
CRIB_DEFINE_CLEANUP(struct spdy_headers, spdy_headers_free)

static bool has_block(enum spdy_type t)
{
    return t == SPDY_SYN_STREAM || t == SPDY_SYN_REPLY || t == SPDY_HEADERS;
}

static void check_same_headers(const struct spdy_headers *a, const struct spdy_headers *b)
{
    if (a->n != b->n)
        abort();
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->h[i].name, b->h[i].name) != 0 || a->h[i].value_len != b->h[i].value_len ||
            memcmp(a->h[i].value, b->h[i].value, a->h[i].value_len) != 0)
            abort();
}

/* Formats f (with h) with out, parses it with in, and checks it is f again. */
static void round_trip(struct spdy_codec *out, struct spdy_codec *in, const struct spdy_frame *f,
                       const struct spdy_headers *h)
{
    _cleanup_(spdy_headers_freep) struct spdy_headers *h2 = NULL;
    _cleanup_free_ uint8_t *buf = NULL;
    struct spdy_frame g;
    struct crib_err err;
    size_t len, used;

    if (spdy_frame_format(out, f, h, &buf, &len, &err) < 0)
        abort();
    if (spdy_frame_parse(buf, len, SPDY_LENGTH_MAX, &g, &used, &err) != 1 || used != len)
        abort();
    if (g.type != f->type || g.flags != f->flags || g.stream_id != f->stream_id ||
        g.status != f->status || g.ping_id != f->ping_id || g.delta_window != f->delta_window ||
        g.n_settings != f->n_settings || g.priority != f->priority ||
        g.assoc_stream_id != f->assoc_stream_id)
        abort();
    if (f->type == SPDY_DATA && (g.len != f->len || memcmp(g.data, f->data, f->len) != 0))
        abort();
    if (has_block(f->type)) {
        if (spdy_headers_decode(in, g.data, g.len, &h2, &err) < 0)
            abort();
        check_same_headers(h, h2);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    _cleanup_(spdy_codec_freep) struct spdy_codec *peer = NULL, *out = NULL, *in = NULL;
    struct crib_err err;
    size_t pos = 0, used;

    if (spdy_codec_new(&peer, &err) < 0 || spdy_codec_new(&out, &err) < 0 ||
        spdy_codec_new(&in, &err) < 0)
        abort();
    while (pos < size) {
        _cleanup_(spdy_headers_freep) struct spdy_headers *h = NULL;
        struct spdy_frame f;

        if (spdy_frame_parse(data + pos, size - pos, FUZZ_FRAME_MAX, &f, &used, &err) != 1)
            break;
        if (used > size - pos)
            abort();
        pos += used;
        if (has_block(f.type) && spdy_headers_decode(peer, f.data, f.len, &h, &err) < 0)
            break; /* the connection would end here */
        if (f.type != SPDY_UNKNOWN)
            round_trip(out, in, &f, h);
    }
    return 0;
}
