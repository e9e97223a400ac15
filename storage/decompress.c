#include "storage/decompress.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include "common/xalloc.h"

/* Large buffers keep the syscall and callback count low: libarchive hands
 * file data out of the output buffer in place, one write() per block. */
#define DECOMP_IN_BYTES (256u << 10)
#define DECOMP_OUT_BYTES (1u << 20)

struct decomp {
    enum unpack_compression kind; /* never UNPACK_AUTO once built */
    unpack_read_fn read_fn;
    void *read_ctx;
    uint64_t max_out_bytes;
    uint64_t n_in, n_out;
    struct digester in_digest;
    struct digester out_digest; /* unused for UNPACK_NONE: same bytes as in_digest */
    bool is_read_eof;           /* read_fn returned 0 */
    bool is_eof;                /* the stream ended where its format allows */
    bool zstd_frame_done;       /* the last ZSTD_decompressStream ended a frame */
    size_t in_pos, in_len;
    struct inflate_state *gz;
    ZSTD_DStream *zs;
    uint8_t *out;
    uint8_t in[DECOMP_IN_BYTES];
};

/* Moves unconsumed input to the front and reads more after it, hashing what
 * arrives. Returns the count read, 0 at the end of the input. */
static ssize_t fill(struct decomp *d, struct crib_err *err)
{
    size_t left = d->in_len - d->in_pos;
    ssize_t n;

    if (d->is_read_eof)
        return 0;
    memmove(d->in, d->in + d->in_pos, left);
    d->in_pos = 0;
    d->in_len = left;
    if (left == sizeof(d->in))
        return crib_fail(err, CRIB_INVALID, 0, "corrupt compressed stream: decoder stalled");
    n = d->read_fn(d->read_ctx, d->in + left, sizeof(d->in) - left, err);
    if (n < 0)
        return n;
    if ((size_t)n > sizeof(d->in) - left)
        return crib_fail(err, CRIB_INTERNAL, 0,
                         "layer read returned %zd bytes for a %zu-byte buffer", n,
                         sizeof(d->in) - left);
    if (n == 0)
        d->is_read_eof = true;
    digester_update(&d->in_digest, d->in + left, n);
    d->n_in += n;
    d->in_len += n;
    return n;
}

static const char *isal_error_name(int ret)
{
    switch (ret) {
    case ISAL_INVALID_BLOCK: return "invalid deflate block";
    case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK: return "invalid lookback distance";
    case ISAL_INVALID_WRAPPER: return "bad gzip header";
    case ISAL_UNSUPPORTED_METHOD: return "unsupported compression method";
    case ISAL_INCORRECT_CHECKSUM: return "checksum mismatch";
    case ISAL_NEED_DICT: return "needs a preset dictionary";
    default: return "unknown igzip error";
    }
}

/* Inflates the next output block. gzip allows several members back to back
 * (pigz, cat a.gz b.gz); anything after a member that is not another member
 * is corrupt, as Go's gzip reader (containerd, docker) also decides. */
static ssize_t gzip_next(struct decomp *d, const void **ret_buf, struct crib_err *err)
{
    struct inflate_state *s = d->gz;

    for (;;) {
        size_t before = d->in_pos, produced;
        ssize_t n;
        int ret;

        if (s->block_state == ISAL_BLOCK_FINISH) {
            if (d->in_pos == d->in_len && (n = fill(d, err)) <= 0)
                return n;
            if (d->in[d->in_pos] != 0x1f)
                return crib_fail(err, CRIB_INVALID, 0, "corrupt gzip stream: data after its end");
            isal_inflate_reset(s);
            s->crc_flag = ISAL_GZIP;
            before = d->in_pos;
        }
        s->next_in = d->in + d->in_pos;
        s->avail_in = d->in_len - d->in_pos;
        s->next_out = d->out;
        s->avail_out = DECOMP_OUT_BYTES;
        ret = isal_inflate(s);
        d->in_pos = d->in_len - s->avail_in;
        if (ret != ISAL_DECOMP_OK)
            return crib_fail(err, CRIB_INVALID, 0, "corrupt gzip stream: %s", isal_error_name(ret));
        produced = DECOMP_OUT_BYTES - s->avail_out;
        if (produced > 0) {
            *ret_buf = d->out;
            return produced;
        }
        if (s->block_state == ISAL_BLOCK_FINISH)
            continue;
        if (d->in_pos != before && d->in_pos < d->in_len)
            continue;
        n = fill(d, err);
        if (n < 0)
            return n;
        if (n == 0)
            return crib_fail(err, CRIB_INVALID, 0, "truncated gzip stream");
    }
}

/* Decompresses the next output block; frames may follow one another. */
static ssize_t zstd_next(struct decomp *d, const void **ret_buf, struct crib_err *err)
{
    for (;;) {
        ZSTD_inBuffer in = {d->in, d->in_len, d->in_pos};
        ZSTD_outBuffer out = {d->out, DECOMP_OUT_BYTES, 0};
        size_t ret;
        ssize_t n;

        ret = ZSTD_decompressStream(d->zs, &out, &in);
        if (ZSTD_isError(ret))
            return crib_fail(err, CRIB_INVALID, 0, "corrupt zstd stream: %s",
                             ZSTD_getErrorName(ret));
        /* A call that moved nothing says nothing about the last frame. */
        if (in.pos != d->in_pos || out.pos > 0)
            d->zstd_frame_done = ret == 0;
        d->in_pos = in.pos;
        if (out.pos > 0) {
            *ret_buf = d->out;
            return out.pos;
        }
        if (d->in_pos < d->in_len)
            continue;
        n = fill(d, err);
        if (n < 0)
            return n;
        if (n == 0 && !d->zstd_frame_done)
            return crib_fail(err, CRIB_INVALID, 0, "truncated zstd stream");
        if (n == 0)
            return 0;
    }
}

/* Hands out the input buffer itself: a plain tar needs no copy. */
static ssize_t plain_next(struct decomp *d, const void **ret_buf, struct crib_err *err)
{
    ssize_t n;

    if (d->in_pos == d->in_len) {
        d->in_pos = d->in_len = 0;
        n = fill(d, err);
        if (n <= 0)
            return n;
    }
    *ret_buf = d->in + d->in_pos;
    n = d->in_len - d->in_pos;
    d->in_pos = d->in_len;
    return n;
}

/* Reads until 4 bytes are buffered (or the input ends) and picks the format. */
static int sniff(struct decomp *d, struct crib_err *err)
{
    static const uint8_t gzip_magic[] = {0x1f, 0x8b};
    static const uint8_t zstd_magic[] = {0x28, 0xb5, 0x2f, 0xfd};

    while (d->in_len < sizeof(zstd_magic)) {
        ssize_t n = fill(d, err);

        if (n < 0)
            return n;
        if (n == 0)
            break;
    }
    if (d->in_len >= sizeof(gzip_magic) && memcmp(d->in, gzip_magic, sizeof(gzip_magic)) == 0)
        d->kind = UNPACK_GZIP;
    else if (d->in_len >= sizeof(zstd_magic) && memcmp(d->in, zstd_magic, sizeof(zstd_magic)) == 0)
        d->kind = UNPACK_ZSTD;
    else
        d->kind = UNPACK_NONE;
    return 0;
}

/* Sets up the decoder of d->kind. */
static int start_decoder(struct decomp *d, struct crib_err *err)
{
    if (d->kind == UNPACK_NONE)
        return 0;
    d->out = xmalloc(DECOMP_OUT_BYTES);
    if (digester_init(&d->out_digest, "sha256", err) < 0)
        return crib_err_ret(err);
    if (d->kind == UNPACK_GZIP) {
        d->gz = xmalloc(sizeof(*d->gz));
        isal_inflate_init(d->gz);
        d->gz->crc_flag = ISAL_GZIP;
        return 0;
    }
    /* The default window cap (2^27 bytes) bounds what one hostile frame can
     * make the decoder allocate. */
    d->zs = ZSTD_createDStream();
    if (!d->zs)
        return crib_fail(err, CRIB_INTERNAL, ENOMEM, "zstd decoder");
    ZSTD_initDStream(d->zs);
    return 0;
}

int decomp_new(enum unpack_compression compression, uint64_t max_out_bytes, unpack_read_fn read_fn,
               void *read_ctx, struct decomp **ret_d, struct crib_err *err)
{
    struct decomp *d = xcalloc(1, sizeof(*d));
    int r;

    d->kind = compression;
    d->read_fn = read_fn;
    d->read_ctx = read_ctx;
    d->max_out_bytes = max_out_bytes;
    r = digester_init(&d->in_digest, "sha256", err);
    if (r >= 0 && d->kind == UNPACK_AUTO)
        r = sniff(d, err);
    if (r >= 0)
        r = start_decoder(d, err);
    if (r < 0) {
        decomp_free(d);
        return r;
    }
    *ret_d = d;
    return 0;
}

ssize_t decomp_next(struct decomp *d, const void **ret_buf, struct crib_err *err)
{
    ssize_t n;

    if (d->is_eof)
        return 0;
    switch (d->kind) {
    case UNPACK_GZIP: n = gzip_next(d, ret_buf, err); break;
    case UNPACK_ZSTD: n = zstd_next(d, ret_buf, err); break;
    default: n = plain_next(d, ret_buf, err); break;
    }
    if (n == 0)
        d->is_eof = true;
    if (n <= 0)
        return n;
    d->n_out += n;
    if (d->max_out_bytes && d->n_out > d->max_out_bytes)
        return crib_fail(err, CRIB_LIMIT, 0, "layer unpacks to more than %llu bytes",
                         (unsigned long long)d->max_out_bytes);
    if (d->kind != UNPACK_NONE)
        digester_update(&d->out_digest, *ret_buf, n);
    return n;
}

int decomp_drain(struct decomp *d, struct crib_err *err)
{
    const void *buf;
    ssize_t n;

    while ((n = decomp_next(d, &buf, err)) > 0)
        ;
    return n;
}

void decomp_finish(struct decomp *d, struct unpack_result *res)
{
    digester_final(&d->in_digest, res->compressed_digest);
    if (d->kind == UNPACK_NONE)
        memcpy(res->diff_id, res->compressed_digest, sizeof(res->diff_id));
    else
        digester_final(&d->out_digest, res->diff_id);
    res->compressed_bytes = d->n_in;
    res->tar_bytes = d->n_out;
}

void decomp_free(struct decomp *d)
{
    if (!d)
        return;
    digester_done(&d->in_digest);
    digester_done(&d->out_digest);
    ZSTD_freeDStream(d->zs);
    free(d->gz);
    free(d->out);
    free(d);
}
