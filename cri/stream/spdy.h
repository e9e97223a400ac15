/* SPDY/3.1 framing (draft-mbelshe-httpbis-spdy-00 plus the 3.1 flow-control
 * changes), as the kubelet's clients speak it for exec/attach/port-forward
 * (k8s.io/apimachinery httpstream/spdy over moby/spdystream). Frames are parsed
 * from a byte buffer the caller fills; header blocks are zlib streams primed
 * with the SPDY/3 dictionary, one per direction for the whole connection. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define SPDY_VERSION 3
/* Every frame starts with 8 bytes: control bit, version/stream, flags, 24-bit length. */
#define SPDY_HEADER_LEN 8
/* The largest length field; callers pass a smaller cap to spdy_frame_parse(). */
#define SPDY_LENGTH_MAX 0xffffffu
/* A decompressed header block past this is refused (a "header bomb"): the
 * kubelet's clients send a few short headers per stream. */
#define SPDY_HEADER_BYTES_MAX (64u << 10)
/* Name/value pairs in one header block. */
#define SPDY_HEADERS_MAX 64
/* Entries in one SETTINGS frame; the draft defines 8 ids. */
#define SPDY_SETTINGS_MAX 16

enum spdy_type {
    SPDY_DATA = 0,
    SPDY_SYN_STREAM = 1,
    SPDY_SYN_REPLY = 2,
    SPDY_RST_STREAM = 3,
    SPDY_SETTINGS = 4,
    SPDY_PING = 6,
    SPDY_GOAWAY = 7,
    SPDY_HEADERS = 8,
    SPDY_WINDOW_UPDATE = 9,
    SPDY_UNKNOWN = 0x10000, /* a control type this side does not know: ignore it (section 2.2.1) */
};

#define SPDY_FLAG_FIN 0x01
#define SPDY_FLAG_UNIDIRECTIONAL 0x02 /* SYN_STREAM */
#define SPDY_FLAG_CLEAR_SETTINGS 0x01 /* SETTINGS */

/* RST_STREAM status codes (section 2.6.3). */
enum spdy_rst_status {
    SPDY_RST_PROTOCOL_ERROR = 1,
    SPDY_RST_INVALID_STREAM = 2,
    SPDY_RST_REFUSED_STREAM = 3,
    SPDY_RST_UNSUPPORTED_VERSION = 4,
    SPDY_RST_CANCEL = 5,
    SPDY_RST_INTERNAL_ERROR = 6,
    SPDY_RST_FLOW_CONTROL_ERROR = 7,
    SPDY_RST_STREAM_IN_USE = 8,
    SPDY_RST_STREAM_ALREADY_CLOSED = 9,
    SPDY_RST_FRAME_TOO_LARGE = 11,
};

struct spdy_setting {
    uint8_t flags;
    uint32_t id; /* 24 bits */
    uint32_t value;
};

/* One frame. Only the fields of its type are meaningful. data points into the
 * buffer given to spdy_frame_parse() and is valid as long as that buffer. */
struct spdy_frame {
    enum spdy_type type;
    uint16_t control_type; /* the type as sent, for SPDY_UNKNOWN */
    uint8_t flags;
    uint32_t stream_id;       /* DATA, SYN_STREAM/REPLY, RST_STREAM, HEADERS, WINDOW_UPDATE (0: the
                               * session); GOAWAY's last good stream */
    uint32_t assoc_stream_id; /* SYN_STREAM */
    uint8_t priority;         /* SYN_STREAM: 0 (highest) to 7 */
    uint8_t slot;             /* SYN_STREAM */
    uint32_t status;          /* RST_STREAM, GOAWAY */
    uint32_t ping_id;         /* PING */
    uint32_t delta_window;    /* WINDOW_UPDATE: 1 to 2^31-1 */
    size_t n_settings;        /* SETTINGS */
    struct spdy_setting settings[SPDY_SETTINGS_MAX];
    const uint8_t *data; /* DATA: the payload; SYN_STREAM/REPLY, HEADERS: the header block */
    size_t len;
};

/* One header: name is lower case; value holds its values separated by NULs
 * (value_len counts them) and ends with a NUL that value_len does not count, so
 * value read as a C string is the first value. */
struct spdy_header {
    char *name;
    char *value;
    size_t value_len;
};

struct spdy_headers {
    size_t n;
    struct spdy_header h[SPDY_HEADERS_MAX];
};

/* The header compression state of one connection: an inflate stream for the
 * peer's blocks and a deflate stream for ours. */
struct spdy_codec;

/* Parses the frame at the start of buf[0..len), whose length field may not pass
 * max_len (at most SPDY_LENGTH_MAX). Returns 1 with *f filled and *ret_used set
 * to the frame's size; 0 when buf holds part of a frame (nothing consumed: call
 * again with more bytes). A bad version, a length wrong for the type or past
 * max_len is refused as soon as the 8-byte header is there. A SYN_STREAM, SYN_REPLY or HEADERS
 * frame's header block must then go through spdy_headers_decode(), in order.
 * Errors: CRIB_INVALID (version, length for the type, stream 0 where one is
 * needed, RST status 0, window delta 0), CRIB_LIMIT (past max_len, too many settings). */
int spdy_frame_parse(const uint8_t *buf, size_t len, size_t max_len, struct spdy_frame *f,
                     size_t *ret_used, struct crib_err *err);

/* Writes the 8-byte header of a DATA frame carrying len bytes (at most
 * SPDY_LENGTH_MAX), for a payload sent without copying. */
void spdy_data_header(uint8_t out[SPDY_HEADER_LEN], uint32_t stream_id, uint8_t flags, size_t len);

/* Formats frame f. SYN_STREAM, SYN_REPLY and HEADERS take their header block
 * from h (NULL: no headers), compressed with c's deflate stream, so frames must
 * be sent in the order they are formatted. On success *ret (*ret_len bytes) is
 * the caller's to free().
 * Errors: CRIB_INVALID (unknown type, too many settings, over SPDY_LENGTH_MAX),
 * CRIB_INTERNAL (zlib). */
int spdy_frame_format(struct spdy_codec *c, const struct spdy_frame *f,
                      const struct spdy_headers *h, uint8_t **ret, size_t *ret_len,
                      struct crib_err *err);

/* Creates the compression state of a new connection. On success *ret is the
 * caller's: free it with spdy_codec_free(). Errors: CRIB_INTERNAL (zlib). */
int spdy_codec_new(struct spdy_codec **ret, struct crib_err *err);

/* Frees c; NULL is fine. */
void spdy_codec_free(struct spdy_codec *c);

/* Decompresses and parses a header block of len bytes with c's inflate stream.
 * Every block must go through here in arrival order, or the stream is lost;
 * after a failure c refuses further blocks (the connection must end). On
 * success *ret is the caller's: free it with spdy_headers_free().
 * Errors: CRIB_INVALID (corrupt zlib, wrong dictionary, truncated pairs, empty
 * or upper-case or repeated name, empty value between NULs),
 * CRIB_LIMIT (inflates past SPDY_HEADER_BYTES_MAX, more than SPDY_HEADERS_MAX pairs). */
int spdy_headers_decode(struct spdy_codec *c, const uint8_t *block, size_t len,
                        struct spdy_headers **ret, struct crib_err *err);

/* A new empty header set; free it with spdy_headers_free(). */
struct spdy_headers *spdy_headers_new(void);

/* Adds value under name; a name already there gets value as one more
 * NUL-separated value. Errors: CRIB_INVALID (name empty or not lower case,
 * value empty or with NUL), CRIB_LIMIT (more than SPDY_HEADERS_MAX names). */
int spdy_headers_add(struct spdy_headers *h, const char *name, const char *value,
                     struct crib_err *err);

/* The first value of name, or NULL; borrowed from h. */
const char *spdy_headers_get(const struct spdy_headers *h, const char *name);

/* Frees h; NULL is fine. */
void spdy_headers_free(struct spdy_headers *h);
