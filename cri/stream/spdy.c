#include "cri/stream/spdy.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

/* The SPDY/3 header dictionary (section 2.6.10.1) is 1423 bytes: the words
 * below, each after its length as 4 big-endian bytes, then the text of
 * DICT_TAIL. zlib checks it by its Adler-32, 0xe3c6a7c2, which a peer's stream
 * names in its header. */
#define SPDY_DICT_LEN 1423

/* clang-format off */
static const char *const dict_words[] = {
    "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset",
    "accept-encoding", "accept-language", "accept-ranges", "age", "allow", "authorization",
    "cache-control", "connection", "content-base", "content-encoding", "content-language",
    "content-length", "content-location", "content-md5", "content-range", "content-type", "date",
    "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since",
    "if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
    "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
    "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary",
    "via", "warning", "www-authenticate", "method", "get", "status", "200 OK", "version",
    "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin",
};
/* clang-format on */

/* Status codes, reason phrases, dates, media types and cache words. */
#define DICT_TAIL                                                                                  \
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"   \
    "203 Non-Authoritative Information"                                                            \
    "204 No Content"                                                                               \
    "301 Moved Permanently"                                                                        \
    "400 Bad Request"                                                                              \
    "401 Unauthorized"                                                                             \
    "403 Forbidden"                                                                                \
    "404 Not Found"                                                                                \
    "500 Internal Server Error"                                                                    \
    "501 Not Implemented"                                                                          \
    "503 Service Unavailable"                                                                      \
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "                                   \
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"                                                       \
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,"       \
    "text/plain,text/javascript,public"                                                            \
    "privatemax-age=gzip,deflate,sdch"                                                             \
    "charset=utf-8charset=iso-8859-1,utf-,*,enq=0."

struct spdy_codec {
    z_stream in;  /* the peer's header blocks */
    z_stream out; /* ours */
    bool has_in, has_out;
    bool is_broken; /* a block failed: the inflate stream is out of step with the peer */
    uint8_t block[SPDY_HEADER_BYTES_MAX + 1];
};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t get24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* Writes the dictionary into out; returns its length (SPDY_DICT_LEN). */
static size_t build_dict(uint8_t out[SPDY_DICT_LEN])
{
    size_t n = 0;

    for (size_t i = 0; i < ARRAY_SIZE(dict_words); i++) {
        size_t len = strlen(dict_words[i]);

        put32(out + n, (uint32_t)len);
        memcpy(out + n + 4, dict_words[i], len);
        n += 4 + len;
    }
    memcpy(out + n, DICT_TAIL, sizeof(DICT_TAIL) - 1);
    return n + sizeof(DICT_TAIL) - 1;
}

/* The expected length of a control frame's body: exact for fixed-size types
 * (*ret_min false), or a minimum. Returns -1 for a type we do not know. */
static long control_length(enum spdy_type type, bool *ret_exact)
{
    *ret_exact = true;
    switch (type) {
    case SPDY_RST_STREAM: return 8;
    case SPDY_PING: return 4;
    case SPDY_GOAWAY: return 8;
    case SPDY_WINDOW_UPDATE: return 8;
    default: break;
    }
    *ret_exact = false;
    switch (type) {
    case SPDY_SYN_STREAM: return 10;
    case SPDY_SYN_REPLY: return 4;
    case SPDY_HEADERS: return 4;
    case SPDY_SETTINGS: return 4;
    default: return -1;
    }
}

static enum spdy_type known_type(uint16_t t)
{
    bool exact;

    if (t != 0 && control_length((enum spdy_type)t, &exact) >= 0)
        return (enum spdy_type)t;
    return SPDY_UNKNOWN;
}

/* Checks the 8-byte header of a control frame; fills type, flags, len. */
static int check_control(const uint8_t *buf, size_t max_len, struct spdy_frame *f,
                         struct crib_err *err)
{
    uint16_t version = (uint16_t)((buf[0] & 0x7f) << 8 | buf[1]);
    bool exact;
    long want;

    if (version != SPDY_VERSION)
        return crib_fail(err, CRIB_INVALID, 0, "SPDY version %u is not 3", version);
    f->control_type = (uint16_t)(buf[2] << 8 | buf[3]);
    f->type = known_type(f->control_type);
    f->flags = buf[4];
    f->len = get24(buf + 5);
    if (f->len > max_len)
        return crib_fail(err, CRIB_LIMIT, 0, "SPDY frame of %zu bytes (at most %zu)", f->len,
                         max_len);
    want = control_length(f->type, &exact);
    if (want >= 0 && (exact ? f->len != (size_t)want : f->len < (size_t)want))
        return crib_fail(err, CRIB_INVALID, 0, "SPDY control frame %u with length %zu",
                         f->control_type, f->len);
    if (f->type == SPDY_SETTINGS && (f->len - 4) % 8 != 0)
        return crib_fail(err, CRIB_INVALID, 0, "SPDY SETTINGS length %zu", f->len);
    return 0;
}

static int parse_settings(const uint8_t *body, struct spdy_frame *f, struct crib_err *err)
{
    uint32_t n = get32(body);

    if (n != (f->len - 4) / 8)
        return crib_fail(err, CRIB_INVALID, 0, "SPDY SETTINGS count %u for length %zu", n, f->len);
    if (n > SPDY_SETTINGS_MAX)
        return crib_fail(err, CRIB_LIMIT, 0, "SPDY SETTINGS with %u entries", n);
    f->n_settings = n;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = body + 4 + 8 * i;

        f->settings[i].flags = e[0];
        f->settings[i].id = get24(e + 1);
        f->settings[i].value = get32(e + 4);
    }
    return 0;
}

/* Reads a whole control frame's body (its length already checked). */
static int parse_control_body(const uint8_t *body, struct spdy_frame *f, struct crib_err *err)
{
    uint32_t first;

    /* An unknown frame may be shorter than the 4 bytes every known one starts with. */
    if (f->type == SPDY_UNKNOWN) {
        f->data = body;
        return 0;
    }
    first = get32(body) & 0x7fffffff;
    switch (f->type) {
    case SPDY_SYN_STREAM:
        f->assoc_stream_id = get32(body + 4) & 0x7fffffff;
        f->priority = body[8] >> 5;
        f->slot = body[9];
        f->data = body + 10;
        f->len -= 10;
        break;
    case SPDY_SYN_REPLY:
    case SPDY_HEADERS:
        f->data = body + 4;
        f->len -= 4;
        break;
    case SPDY_RST_STREAM:
        f->status = get32(body + 4);
        if (f->status == 0)
            return crib_fail(err, CRIB_INVALID, 0, "SPDY RST_STREAM with status 0");
        break;
    case SPDY_SETTINGS: return parse_settings(body, f, err);
    case SPDY_PING: f->ping_id = get32(body); return 0;
    case SPDY_GOAWAY: f->status = get32(body + 4); break;
    case SPDY_WINDOW_UPDATE:
        f->delta_window = get32(body + 4) & 0x7fffffff;
        if (f->delta_window == 0)
            return crib_fail(err, CRIB_INVALID, 0, "SPDY WINDOW_UPDATE with delta 0");
        break;
    default: return 0;
    }
    f->stream_id = first;
    if (f->stream_id == 0 && f->type != SPDY_GOAWAY && f->type != SPDY_WINDOW_UPDATE)
        return crib_fail(err, CRIB_INVALID, 0, "SPDY control frame %u on stream 0",
                         f->control_type);
    return 0;
}

int spdy_frame_parse(const uint8_t *buf, size_t len, size_t max_len, struct spdy_frame *f,
                     size_t *ret_used, struct crib_err *err)
{
    int r;

    if (len < SPDY_HEADER_LEN)
        return 0;
    memset(f, 0, sizeof(*f));
    if (max_len > SPDY_LENGTH_MAX)
        max_len = SPDY_LENGTH_MAX;
    if (!(buf[0] & 0x80)) {
        f->type = SPDY_DATA;
        f->stream_id = get32(buf) & 0x7fffffff;
        f->flags = buf[4];
        f->len = get24(buf + 5);
        f->data = buf + SPDY_HEADER_LEN;
        if (f->stream_id == 0)
            return crib_fail(err, CRIB_INVALID, 0, "SPDY DATA frame on stream 0");
        if (f->len > max_len)
            return crib_fail(err, CRIB_LIMIT, 0, "SPDY frame of %zu bytes (at most %zu)", f->len,
                             max_len);
    } else {
        r = check_control(buf, max_len, f, err);
        if (r < 0)
            return r;
    }
    if (len - SPDY_HEADER_LEN < f->len)
        return 0;
    *ret_used = SPDY_HEADER_LEN + f->len;
    if (f->type == SPDY_DATA)
        return 1;
    r = parse_control_body(buf + SPDY_HEADER_LEN, f, err);
    return r < 0 ? r : 1;
}

void spdy_data_header(uint8_t out[SPDY_HEADER_LEN], uint32_t stream_id, uint8_t flags, size_t len)
{
    put32(out, stream_id & 0x7fffffff);
    put32(out + 4, (uint32_t)flags << 24 | ((uint32_t)len & SPDY_LENGTH_MAX));
}

int spdy_codec_new(struct spdy_codec **ret, struct crib_err *err)
{
    struct spdy_codec *c = xcalloc(1, sizeof(*c));
    uint8_t dict[SPDY_DICT_LEN];
    size_t n = build_dict(dict);

    c->has_in = inflateInit(&c->in) == Z_OK;
    /* Priming right after init makes zlib name the dictionary in the stream
     * header (FDICT), as the draft's peers expect. */
    c->has_out = deflateInit(&c->out, Z_DEFAULT_COMPRESSION) == Z_OK &&
                 deflateSetDictionary(&c->out, dict, (uInt)n) == Z_OK;
    if (!c->has_in || !c->has_out) {
        spdy_codec_free(c);
        return crib_fail(err, CRIB_INTERNAL, 0, "SPDY: zlib initialisation failed");
    }
    *ret = c;
    return 0;
}

void spdy_codec_free(struct spdy_codec *c)
{
    if (!c)
        return;
    if (c->has_in)
        inflateEnd(&c->in);
    if (c->has_out)
        deflateEnd(&c->out);
    free(c);
}

/* Inflates block into c->block; returns the decompressed length or an error.
 * Any failure leaves the stream unusable, so it marks c broken. */
static long inflate_block(struct spdy_codec *c, const uint8_t *block, size_t len,
                          struct crib_err *err)
{
    z_stream *z = &c->in;
    uint8_t dict[SPDY_DICT_LEN];
    const char *problem = NULL;

    z->next_in = (Bytef *)block;
    z->avail_in = (uInt)len;
    z->next_out = c->block;
    z->avail_out = sizeof(c->block);
    while (!problem) {
        int r = inflate(z, Z_SYNC_FLUSH);

        if (r == Z_NEED_DICT)
            problem = inflateSetDictionary(z, dict, (uInt)build_dict(dict)) == Z_OK
                          ? NULL
                          : "header block wants another dictionary";
        else if (r == Z_STREAM_END)
            problem = "header compression stream ended";
        else if (r != Z_OK && r != Z_BUF_ERROR)
            problem = "corrupt compressed header block";
        else if (z->avail_out == 0)
            break; /* past the cap: refused below */
        else if (z->avail_in == 0)
            return (long)(sizeof(c->block) - z->avail_out);
        else if (r == Z_BUF_ERROR)
            problem = "compressed header block makes no progress";
    }
    c->is_broken = true;
    if (!problem)
        return crib_fail(err, CRIB_LIMIT, 0, "SPDY header block inflates past %u bytes",
                         SPDY_HEADER_BYTES_MAX);
    return crib_fail(err, CRIB_INVALID, 0, "SPDY %s", problem);
}

/* Reads a 32-bit length and that many bytes at *pos of block[0..end). */
static int read_string(const uint8_t *block, size_t end, size_t *pos, const uint8_t **ret,
                       size_t *ret_len)
{
    uint32_t n;

    if (end - *pos < 4)
        return -1;
    n = get32(block + *pos);
    *pos += 4;
    if (end - *pos < n)
        return -1;
    *ret = block + *pos;
    *ret_len = n;
    *pos += n;
    return 0;
}

/* Section 2.6.10: names are non-empty and lower case; a value holds values
 * separated by single NULs, none empty, unless it is empty as a whole. */
static const char *check_pair(const uint8_t *name, size_t name_len, const uint8_t *value,
                              size_t value_len)
{
    if (name_len == 0)
        return "empty header name";
    for (size_t i = 0; i < name_len; i++) {
        if (name[i] >= 'A' && name[i] <= 'Z')
            return "upper-case header name";
        if (name[i] == 0)
            return "NUL in header name";
    }
    if (value_len > 0 && (value[0] == 0 || value[value_len - 1] == 0))
        return "header value starts or ends with NUL";
    for (size_t i = 1; i < value_len; i++)
        if (value[i] == 0 && value[i - 1] == 0)
            return "empty header value between NULs";
    return NULL;
}

static struct spdy_header *find_header(const struct spdy_headers *h, const char *name, size_t len)
{
    for (size_t i = 0; i < h->n; i++)
        if (strlen(h->h[i].name) == len && memcmp(h->h[i].name, name, len) == 0)
            return (struct spdy_header *)&h->h[i];
    return NULL;
}

static int parse_pairs(const uint8_t *block, size_t len, struct spdy_headers *h,
                       struct crib_err *err)
{
    size_t pos = 4;
    uint32_t n;

    if (len < 4)
        return crib_fail(err, CRIB_INVALID, 0, "SPDY header block too short");
    n = get32(block);
    if (n > SPDY_HEADERS_MAX)
        return crib_fail(err, CRIB_LIMIT, 0, "SPDY header block with %u pairs (at most %u)", n,
                         SPDY_HEADERS_MAX);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *name, *value;
        size_t name_len, value_len;
        const char *problem;

        if (read_string(block, len, &pos, &name, &name_len) < 0 ||
            read_string(block, len, &pos, &value, &value_len) < 0)
            return crib_fail(err, CRIB_INVALID, 0, "SPDY header block truncated");
        problem = check_pair(name, name_len, value, value_len);
        if (problem)
            return crib_fail(err, CRIB_INVALID, 0, "SPDY %s", problem);
        if (find_header(h, (const char *)name, name_len))
            return crib_fail(err, CRIB_INVALID, 0, "SPDY header \"%.*s\" repeated",
                             (int)(name_len > 64 ? 64 : name_len), (const char *)name);
        h->h[i].name = xstrndup((const char *)name, name_len);
        h->h[i].value = xmalloc(value_len + 1);
        memcpy(h->h[i].value, value, value_len);
        h->h[i].value[value_len] = '\0';
        h->h[i].value_len = value_len;
        h->n++;
    }
    if (pos != len)
        return crib_fail(err, CRIB_INVALID, 0, "SPDY header block has %zu trailing bytes",
                         len - pos);
    return 0;
}

CRIB_DEFINE_CLEANUP(struct spdy_headers, spdy_headers_free)

int spdy_headers_decode(struct spdy_codec *c, const uint8_t *block, size_t len,
                        struct spdy_headers **ret, struct crib_err *err)
{
    _cleanup_(spdy_headers_freep) struct spdy_headers *h = NULL;
    long n;
    int r;

    if (c->is_broken)
        return crib_fail(err, CRIB_INVALID, 0, "SPDY header compression state lost earlier");
    if (len == 0)
        return crib_fail(err, CRIB_INVALID, 0, "SPDY empty header block");
    n = inflate_block(c, block, len, err);
    if (n < 0)
        return (int)n;
    h = spdy_headers_new();
    r = parse_pairs(c->block, (size_t)n, h, err);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(h);
    return 0;
}

/* Serialises h as an uncompressed block (section 2.6.10). */
static uint8_t *serialize_pairs(const struct spdy_headers *h, size_t *ret_len)
{
    size_t n = 4, pos = 4;
    uint8_t *out;

    for (size_t i = 0; h && i < h->n; i++)
        n += 8 + strlen(h->h[i].name) + h->h[i].value_len;
    out = xmalloc(n);
    put32(out, h ? (uint32_t)h->n : 0);
    for (size_t i = 0; h && i < h->n; i++) {
        size_t name_len = strlen(h->h[i].name);

        put32(out + pos, (uint32_t)name_len);
        memcpy(out + pos + 4, h->h[i].name, name_len);
        pos += 4 + name_len;
        put32(out + pos, (uint32_t)h->h[i].value_len);
        memcpy(out + pos + 4, h->h[i].value, h->h[i].value_len);
        pos += 4 + h->h[i].value_len;
    }
    *ret_len = n;
    return out;
}

/* Compresses h with c's deflate stream, ending in a sync flush so the peer can
 * inflate the block on its own. On success *ret is the caller's to free(). */
static int encode_headers(struct spdy_codec *c, const struct spdy_headers *h, uint8_t **ret,
                          size_t *ret_len, struct crib_err *err)
{
    _cleanup_free_ uint8_t *raw = NULL, *out = NULL;
    size_t raw_len, cap, used = 0;
    z_stream *z = &c->out;

    raw = serialize_pairs(h, &raw_len);
    cap = raw_len + 64;
    out = xmalloc(cap);
    z->next_in = raw;
    z->avail_in = (uInt)raw_len;
    do {
        if (used == cap) {
            cap *= 2;
            out = xrealloc(out, cap);
        }
        z->next_out = out + used;
        z->avail_out = (uInt)(cap - used);
        if (deflate(z, Z_SYNC_FLUSH) == Z_STREAM_ERROR)
            return crib_fail(err, CRIB_INTERNAL, 0, "SPDY: deflate failed");
        used = cap - z->avail_out;
    } while (z->avail_out == 0);
    *ret_len = used;
    *ret = TAKE_PTR(out);
    return 0;
}

/* The body of a control frame without header block, into out (at most 8 + 8 *
 * SPDY_SETTINGS_MAX bytes); returns its length. */
static size_t fixed_body(const struct spdy_frame *f, uint8_t *out)
{
    switch (f->type) {
    case SPDY_RST_STREAM:
        put32(out, f->stream_id & 0x7fffffff);
        put32(out + 4, f->status);
        return 8;
    case SPDY_PING: put32(out, f->ping_id); return 4;
    case SPDY_GOAWAY:
        put32(out, f->stream_id & 0x7fffffff);
        put32(out + 4, f->status);
        return 8;
    case SPDY_WINDOW_UPDATE:
        put32(out, f->stream_id & 0x7fffffff);
        put32(out + 4, f->delta_window & 0x7fffffff);
        return 8;
    default: break;
    }
    put32(out, (uint32_t)f->n_settings);
    for (size_t i = 0; i < f->n_settings; i++) {
        put32(out + 4 + 8 * i, f->settings[i].id & 0xffffff);
        out[4 + 8 * i] = f->settings[i].flags;
        put32(out + 8 + 8 * i, f->settings[i].value);
    }
    return 4 + 8 * f->n_settings;
}

/* The fields before a header block, into out; returns their length. */
static size_t block_prefix(const struct spdy_frame *f, uint8_t out[10])
{
    put32(out, f->stream_id & 0x7fffffff);
    if (f->type != SPDY_SYN_STREAM)
        return 4;
    put32(out + 4, f->assoc_stream_id & 0x7fffffff);
    out[8] = (uint8_t)((f->priority & 7) << 5);
    out[9] = f->slot;
    return 10;
}

/* Puts a frame together: header, then prefix and body; *ret is the caller's. */
static int assemble(const struct spdy_frame *f, const uint8_t *prefix, size_t prefix_len,
                    const uint8_t *body, size_t body_len, uint8_t **ret, size_t *ret_len,
                    struct crib_err *err)
{
    size_t len = prefix_len + body_len;
    uint8_t *out;

    if (len > SPDY_LENGTH_MAX)
        return crib_fail(err, CRIB_INVALID, 0, "SPDY frame of %zu bytes is too long", len);
    out = xmalloc(SPDY_HEADER_LEN + len);
    if (f->type == SPDY_DATA) {
        spdy_data_header(out, f->stream_id, f->flags, len);
    } else {
        out[0] = 0x80;
        out[1] = SPDY_VERSION;
        out[2] = (uint8_t)(f->type >> 8);
        out[3] = (uint8_t)f->type;
        put32(out + 4, (uint32_t)f->flags << 24 | (uint32_t)len);
    }
    if (prefix_len)
        memcpy(out + SPDY_HEADER_LEN, prefix, prefix_len);
    if (body_len)
        memcpy(out + SPDY_HEADER_LEN + prefix_len, body, body_len);
    *ret = out;
    *ret_len = SPDY_HEADER_LEN + len;
    return 0;
}

int spdy_frame_format(struct spdy_codec *c, const struct spdy_frame *f,
                      const struct spdy_headers *h, uint8_t **ret, size_t *ret_len,
                      struct crib_err *err)
{
    _cleanup_free_ uint8_t *block = NULL;
    uint8_t prefix[10], body[8 + 8 * SPDY_SETTINGS_MAX];
    size_t block_len = 0;
    int r;

    switch (f->type) {
    case SPDY_DATA: return assemble(f, NULL, 0, f->data, f->len, ret, ret_len, err);
    case SPDY_SYN_STREAM:
    case SPDY_SYN_REPLY:
    case SPDY_HEADERS:
        r = encode_headers(c, h, &block, &block_len, err);
        if (r < 0)
            return r;
        return assemble(f, prefix, block_prefix(f, prefix), block, block_len, ret, ret_len, err);
    case SPDY_SETTINGS:
        if (f->n_settings > SPDY_SETTINGS_MAX)
            return crib_fail(err, CRIB_INVALID, 0, "SPDY SETTINGS with %zu entries", f->n_settings);
        /* fall through */
    case SPDY_RST_STREAM:
    case SPDY_PING:
    case SPDY_GOAWAY:
    case SPDY_WINDOW_UPDATE:
        return assemble(f, NULL, 0, body, fixed_body(f, body), ret, ret_len, err);
    default: return crib_fail(err, CRIB_INVALID, 0, "SPDY: cannot format frame type %d", f->type);
    }
}

struct spdy_headers *spdy_headers_new(void)
{
    return xcalloc(1, sizeof(struct spdy_headers));
}

int spdy_headers_add(struct spdy_headers *h, const char *name, const char *value,
                     struct crib_err *err)
{
    size_t name_len = strlen(name), value_len = strlen(value);
    struct spdy_header *e;

    if (check_pair((const uint8_t *)name, name_len, (const uint8_t *)value, value_len) ||
        value_len == 0)
        return crib_fail(err, CRIB_INVALID, 0, "SPDY header \"%s\": bad name or empty value", name);
    e = find_header(h, name, name_len);
    if (e) {
        /* One more value: the old ones, a NUL, the new one, the final NUL. */
        e->value = xrealloc(e->value, e->value_len + 1 + value_len + 1);
        memcpy(e->value + e->value_len + 1, value, value_len + 1);
        e->value_len += 1 + value_len;
        return 0;
    }
    if (h->n == SPDY_HEADERS_MAX)
        return crib_fail(err, CRIB_LIMIT, 0, "SPDY: more than %u headers", SPDY_HEADERS_MAX);
    e = &h->h[h->n++];
    e->name = xstrdup(name);
    e->value = xstrdup(value);
    e->value_len = value_len;
    return 0;
}

const char *spdy_headers_get(const struct spdy_headers *h, const char *name)
{
    const struct spdy_header *e = find_header(h, name, strlen(name));

    return e ? e->value : NULL;
}

void spdy_headers_free(struct spdy_headers *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++) {
        free(h->h[i].name);
        free(h->h[i].value);
    }
    free(h);
}
