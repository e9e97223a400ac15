#include "cri/stream/ws.h"

#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "cri/stream/internal.h"

/* Section 1.3: appended to the client's key before hashing. */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
/* Section 4.1: the key is 16 random bytes, base64: 24 characters. */
#define WS_KEY_LEN 24

void ws_parser_init(struct ws_parser *p, bool is_server, size_t max_message)
{
    memset(p, 0, sizeof(*p));
    p->expect_masked = is_server;
    p->max_message = max_message;
}

static bool is_control(uint8_t opcode)
{
    return opcode & 0x8;
}

static bool is_known_opcode(uint8_t opcode)
{
    return opcode <= WS_BINARY || (opcode >= WS_CLOSE && opcode <= WS_PONG);
}

static int protocol_error(struct ws_parser *p, const char *what, struct crib_err *err)
{
    p->close_code = WS_CLOSE_PROTOCOL_ERROR;
    return crib_fail(err, CRIB_INVALID, 0, "WebSocket frame: %s", what);
}

/* Checks the first two bytes: everything that does not depend on the length. */
static int check_head(struct ws_parser *p, uint8_t b0, uint8_t b1, struct crib_err *err)
{
    uint8_t opcode = b0 & 0x0f;
    bool fin = b0 & 0x80, masked = b1 & 0x80;

    if (b0 & 0x70)
        return protocol_error(p, "RSV bits set without an extension", err);
    if (!is_known_opcode(opcode))
        return protocol_error(p, "reserved opcode", err);
    if (masked != p->expect_masked)
        return protocol_error(p, masked ? "server frame is masked" : "client frame is not masked",
                              err);
    if (is_control(opcode) && !fin)
        return protocol_error(p, "fragmented control frame", err);
    if (is_control(opcode) && (b1 & 0x7f) > WS_CONTROL_MAX)
        return protocol_error(p, "control frame longer than 125 bytes", err);
    if (opcode == WS_CONTINUATION && !p->in_message)
        return protocol_error(p, "continuation frame without a message", err);
    if (!is_control(opcode) && opcode != WS_CONTINUATION && p->in_message)
        return protocol_error(p, "new message before the last one ended", err);
    return 0;
}

/* Reads the payload length (section 5.2). Returns the header size without the
 * mask, 0 when more bytes are needed, or an error. */
static long read_length(struct ws_parser *p, const uint8_t *buf, size_t len, uint64_t *ret,
                        struct crib_err *err)
{
    uint8_t len7 = buf[1] & 0x7f;
    uint64_t v = 0;
    size_t n = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;

    if (n == 0) {
        *ret = len7;
        return 2;
    }
    if (len < 2 + n)
        return 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | buf[2 + i];
    if (v >> 63)
        return protocol_error(p, "64-bit length has its most significant bit set", err);
    /* The RFC asks for the minimal encoding: one length, one form. */
    if ((n == 2 && v < 126) || (n == 8 && v <= 0xffff))
        return protocol_error(p, "length not in its minimal encoding", err);
    *ret = v;
    return (long)(2 + n);
}

/* Keeps the fragmented-message state after a whole frame arrived. */
static void track_message(struct ws_parser *p, struct ws_frame *f)
{
    if (is_control(f->opcode)) {
        f->msg_opcode = f->opcode;
        return;
    }
    if (f->opcode != WS_CONTINUATION) {
        p->msg_opcode = f->opcode;
        p->msg_bytes = 0;
    }
    p->msg_bytes += f->len;
    p->in_message = !f->fin;
    f->msg_opcode = p->msg_opcode;
}

int ws_frame_parse(struct ws_parser *p, uint8_t *buf, size_t len, struct ws_frame *f,
                   size_t *ret_used, struct crib_err *err)
{
    uint64_t plen = 0, so_far;
    long hdr;
    int r;

    if (len < 2)
        return 0;
    r = check_head(p, buf[0], buf[1], err);
    if (r < 0)
        return r;
    hdr = read_length(p, buf, len, &plen, err);
    if (hdr <= 0)
        return (int)hdr;
    so_far = (buf[0] & 0x0f) == WS_CONTINUATION ? p->msg_bytes : 0;
    if (plen > p->max_message || so_far > p->max_message - plen) {
        p->close_code = WS_CLOSE_TOO_BIG;
        return crib_fail(err, CRIB_LIMIT, 0, "WebSocket message longer than %zu bytes",
                         p->max_message);
    }
    if (p->expect_masked)
        hdr += 4;
    if (len < (size_t)hdr || len - (size_t)hdr < plen)
        return 0;
    f->opcode = buf[0] & 0x0f;
    f->fin = buf[0] & 0x80;
    f->payload = buf + hdr;
    f->len = (size_t)plen;
    if (p->expect_masked)
        for (size_t i = 0; i < f->len; i++)
            f->payload[i] ^= buf[hdr - 4 + (i & 3)];
    track_message(p, f);
    *ret_used = (size_t)hdr + f->len;
    return 1;
}

size_t ws_frame_header(uint8_t out[WS_HEADER_MAX], uint8_t opcode, bool fin, uint64_t len,
                       const uint8_t *mask)
{
    size_t n = 2;

    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
    out[1] = mask ? 0x80 : 0;
    if (len < 126) {
        out[1] |= (uint8_t)len;
    } else if (len <= 0xffff) {
        out[1] |= 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[1] |= 127;
        for (int shift = 56; shift >= 0; shift -= 8)
            out[n++] = (uint8_t)(len >> shift);
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

int ws_frame_format(uint8_t opcode, bool fin, const void *payload, size_t len, const uint8_t *mask,
                    uint8_t **ret, size_t *ret_len, struct crib_err *err)
{
    uint8_t head[WS_HEADER_MAX], *out;
    size_t n;

    if (!is_known_opcode(opcode))
        return crib_fail(err, CRIB_INVALID, 0, "WebSocket: reserved opcode %u", opcode);
    if (is_control(opcode) && (len > WS_CONTROL_MAX || !fin))
        return crib_fail(err, CRIB_INVALID, 0, "WebSocket: control frame too long or fragmented");
    n = ws_frame_header(head, opcode, fin, len, mask);
    out = xmalloc(n + len);
    memcpy(out, head, n);
    if (len)
        memcpy(out + n, payload, len);
    for (size_t i = 0; mask && i < len; i++)
        out[n + i] ^= mask[i & 3];
    *ret = out;
    *ret_len = n + len;
    return 0;
}

int ws_message_add(struct ws_message *m, const struct ws_frame *f, struct crib_err *err)
{
    if (is_control(f->opcode))
        return crib_fail(err, CRIB_INVALID, 0, "WebSocket: control frame is not message data");
    if (f->opcode != WS_CONTINUATION)
        m->opcode = f->opcode;
    if (m->len + f->len > m->alloc) {
        m->alloc = m->len + f->len > 2 * m->alloc ? m->len + f->len : 2 * m->alloc;
        m->data = xrealloc(m->data, m->alloc ? m->alloc : 1);
    }
    if (f->len)
        memcpy(m->data + m->len, f->payload, f->len);
    m->len += f->len;
    if (!f->fin)
        return 0;
    /* Section 8.1: a text message that is not UTF-8 fails the connection. */
    if (m->opcode == WS_TEXT && !ws_utf8_valid(m->data, m->len))
        return crib_fail(err, CRIB_INVALID, 0, "WebSocket text message is not UTF-8");
    return 1;
}

void ws_message_clear(struct ws_message *m)
{
    m->len = 0;
}

void ws_message_done(struct ws_message *m)
{
    free(m->data);
    memset(m, 0, sizeof(*m));
}

/* Section 7.4: codes a peer may put in a close frame; 1004-1006 and 1015 are
 * reserved, 1012-1014 were registered with IANA after the RFC. */
static bool is_wire_close_code(uint16_t code)
{
    if (code >= 3000 && code <= 4999)
        return true;
    return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

int ws_close_parse(const uint8_t *payload, size_t len, uint16_t *ret_code, const char **ret_reason,
                   size_t *ret_reason_len, struct crib_err *err)
{
    uint16_t code;

    if (len == 0) {
        *ret_code = WS_CLOSE_NO_STATUS;
        *ret_reason = "";
        *ret_reason_len = 0;
        return 0;
    }
    if (len == 1)
        return crib_fail(err, CRIB_INVALID, 0, "WebSocket close payload of 1 byte");
    code = (uint16_t)(payload[0] << 8 | payload[1]);
    if (!is_wire_close_code(code))
        return crib_fail(err, CRIB_INVALID, 0, "WebSocket close code %u is not allowed", code);
    if (!ws_utf8_valid(payload + 2, len - 2))
        return crib_fail(err, CRIB_INVALID, 0, "WebSocket close reason is not UTF-8");
    *ret_code = code;
    *ret_reason = (const char *)payload + 2;
    *ret_reason_len = len - 2;
    return 0;
}

size_t ws_close_format(uint16_t code, const char *reason, uint8_t out[WS_CONTROL_MAX])
{
    size_t n = reason ? strlen(reason) : 0;

    if (n > WS_CONTROL_MAX - 2) {
        n = WS_CONTROL_MAX - 2;
        /* Back off continuation bytes so the cut leaves whole characters. */
        while (n > 0 && ((unsigned char)reason[n] & 0xc0) == 0x80)
            n--;
    }
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    if (n)
        memcpy(out + 2, reason, n);
    return n + 2;
}

/* The length of the UTF-8 sequence at s[0..n), or 0 when it is not one. */
static size_t utf8_char(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t cp, min;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

bool ws_utf8_valid(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = utf8_char(s + i, n - i);

        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

static int bad_handshake(int *ret_status, int status, const char *what, struct crib_err *err)
{
    *ret_status = status;
    return crib_fail(err, CRIB_INVALID, 0, "WebSocket handshake: %s", what);
}

int ws_handshake_check(const struct http_request *r, const char **ret_key, int *ret_status,
                       struct crib_err *err)
{
    const char *key = http_header_get(r, "Sec-WebSocket-Key");
    const char *version = http_header_get(r, "Sec-WebSocket-Version");
    uint8_t raw[WS_KEY_LEN];

    if (strcmp(r->method, "GET") != 0)
        return bad_handshake(ret_status, 405, "method is not GET", err);
    if (r->minor_version < 1)
        return bad_handshake(ret_status, 400, "HTTP/1.0", err);
    if (!http_header_has_token(r, "Upgrade", "websocket"))
        return bad_handshake(ret_status, 400, "Upgrade does not list websocket", err);
    if (!http_header_has_token(r, "Connection", "upgrade"))
        return bad_handshake(ret_status, 400, "Connection does not list upgrade", err);
    if (!version || strcmp(version, "13") != 0 || http_header_count(r, "Sec-WebSocket-Version") > 1)
        return bad_handshake(ret_status, 426, "Sec-WebSocket-Version is not 13", err);
    if (!key || http_header_count(r, "Sec-WebSocket-Key") > 1 || strlen(key) != WS_KEY_LEN ||
        stream_b64_decode(key, WS_KEY_LEN, raw) != 16)
        return bad_handshake(ret_status, 400, "Sec-WebSocket-Key is not 16 bytes of base64", err);
    *ret_key = key;
    return 0;
}

void ws_accept_key(const char *key, char out[WS_ACCEPT_LEN + 1])
{
    _cleanup_free_ char *text = xasprintf("%s" WS_GUID, key);
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;

    /* SHA-1 is what the RFC fixes here; it is no security property. */
    EVP_Digest(text, strlen(text), md, &md_len, EVP_sha1(), NULL);
    stream_b64_encode(md, md_len, out);
}

int ws_choose_subprotocol(const struct http_request *r, const char *const *ours, size_t n_ours,
                          const char **ret, struct crib_err *err)
{
    return http_header_choose(r, "Sec-WebSocket-Protocol", ours, n_ours, ret, err);
}

int ws_handshake_response(const char *key, const char *subprotocol, char **ret, size_t *ret_len,
                          struct crib_err *err)
{
    char accept[WS_ACCEPT_LEN + 1];
    struct http_header headers[] = {
        {"Upgrade", "websocket"},
        {"Connection", "Upgrade"},
        {"Sec-WebSocket-Accept", accept},
        {"Sec-WebSocket-Protocol", subprotocol},
    };

    ws_accept_key(key, accept);
    return http_response_format(101, headers, subprotocol ? 4 : 3, NULL, ret, ret_len, err);
}
