/* WebSocket (RFC 6455), the server side: the opening handshake, frames, and
 * the messages they make up. kubectl (client-go), the apiserver proxy and
 * other clients use it for exec/attach/port-forward next to SPDY/3.1. No
 * extension is ever negotiated, so the RSV bits must be 0 (section 5.2). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "cri/stream/http.h"

/* Base64 of a SHA-1: the length of Sec-WebSocket-Accept. */
#define WS_ACCEPT_LEN 28
/* 2 fixed bytes, 8 of extended length, 4 of mask. */
#define WS_HEADER_MAX 14
/* Section 5.5: a control frame's payload. */
#define WS_CONTROL_MAX 125

enum ws_opcode {
    WS_CONTINUATION = 0x0,
    WS_TEXT = 0x1,
    WS_BINARY = 0x2,
    WS_CLOSE = 0x8,
    WS_PING = 0x9,
    WS_PONG = 0xa,
};

/* Close codes (section 7.4.1) this side sends. */
enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_PROTOCOL_ERROR = 1002,
    WS_CLOSE_NO_STATUS = 1005, /* reported for an empty close payload; never sent */
    WS_CLOSE_INVALID_DATA = 1007,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL_ERROR = 1011,
};

/* One frame. payload points into the buffer given to ws_frame_parse(),
 * already unmasked, and is valid as long as that buffer. */
struct ws_frame {
    uint8_t opcode;     /* as sent: WS_CONTINUATION for a message's later frames */
    uint8_t msg_opcode; /* WS_TEXT or WS_BINARY for data frames; opcode for control frames */
    bool fin;
    uint8_t *payload;
    size_t len;
};

/* Frame parser state of one connection: where the current fragmented message is. */
struct ws_parser {
    size_t max_message;  /* a message (all its frames) longer than this is refused */
    bool expect_masked;  /* true on a server: every client frame must be masked */
    bool in_message;     /* a message's first frame came, its FIN frame not yet */
    uint8_t msg_opcode;  /* the opcode of that message */
    uint64_t msg_bytes;  /* the payload bytes of that message so far */
    uint16_t close_code; /* after a failure: the close code to send */
};

/* Prepares p; is_server means frames come from a client and must be masked. */
void ws_parser_init(struct ws_parser *p, bool is_server, size_t max_message);

/* Parses the frame at the start of buf[0..len). Returns 1 with *f filled and
 * *ret_used set to the frame's size; the payload is unmasked in place. Returns
 * 0 when buf holds only part of a frame: nothing is consumed, call again with
 * more bytes. Fatal errors are found from the frame header alone, so a hostile
 * length is refused before its payload arrives; p->close_code is then the code
 * to close with.
 * Errors: CRIB_INVALID (RSV bits, reserved opcode, masking, bad length encoding,
 * control frame fragmented or over 125 bytes, continuation out of place),
 * CRIB_LIMIT (message over p->max_message). */
int ws_frame_parse(struct ws_parser *p, uint8_t *buf, size_t len, struct ws_frame *f,
                   size_t *ret_used, struct crib_err *err);

/* Writes a frame header for a payload of len bytes into out; with mask (4
 * bytes, client frames) the header carries it and the caller masks the
 * payload. Returns the header size. */
size_t ws_frame_header(uint8_t out[WS_HEADER_MAX], uint8_t opcode, bool fin, uint64_t len,
                       const uint8_t *mask);

/* Formats a whole frame: header plus payload, masked with mask when not NULL.
 * On success *ret (*ret_len bytes) is the caller's to free().
 * Errors: CRIB_INVALID (reserved opcode, control frame over 125 bytes or without FIN). */
int ws_frame_format(uint8_t opcode, bool fin, const void *payload, size_t len, const uint8_t *mask,
                    uint8_t **ret, size_t *ret_len, struct crib_err *err);

/* A message put together from its data frames. Zero it to start; it owns data. */
struct ws_message {
    uint8_t opcode; /* WS_TEXT or WS_BINARY */
    uint8_t *data;
    size_t len;
    size_t alloc;
};

/* Appends data frame f (from ws_frame_parse, which bounds the size). Returns 1
 * when f ends the message (m->data[0..m->len) is it), 0 when more frames follow.
 * Call ws_message_clear() before the next message.
 * Errors: CRIB_INVALID (a text message that is not UTF-8: close with 1007; a control frame). */
int ws_message_add(struct ws_message *m, const struct ws_frame *f, struct crib_err *err);

/* Empties m for the next message; keeps its buffer. */
void ws_message_clear(struct ws_message *m);

/* Frees m's buffer; m may be reused after. */
void ws_message_done(struct ws_message *m);

/* Reads a close frame's payload: an empty one gives WS_CLOSE_NO_STATUS. The
 * reason is borrowed from payload and not NUL-terminated.
 * Errors: CRIB_INVALID (1 byte, a code not allowed on the wire, reason not UTF-8). */
int ws_close_parse(const uint8_t *payload, size_t len, uint16_t *ret_code, const char **ret_reason,
                   size_t *ret_reason_len, struct crib_err *err);

/* Writes a close payload (code, then reason cut to fit 125 bytes at a
 * character boundary) into out. Returns its length. */
size_t ws_close_format(uint16_t code, const char *reason, uint8_t out[WS_CONTROL_MAX]);

/* True when s[0..n) is UTF-8 as RFC 3629 has it (no overlong forms, no surrogates). */
bool ws_utf8_valid(const uint8_t *s, size_t n);

/* Checks that r is a WebSocket opening handshake (section 4.2.1): GET over
 * HTTP/1.1, Upgrade: websocket, Connection: upgrade, version 13 and a key of 16
 * bytes. *ret_key is borrowed from r. On failure *ret_status is the HTTP status
 * to answer: 426 (with "Sec-WebSocket-Version: 13") for another version, 405
 * for another method, 400 otherwise.
 * Errors: CRIB_INVALID naming the header. */
int ws_handshake_check(const struct http_request *r, const char **ret_key, int *ret_status,
                       struct crib_err *err);

/* Sec-WebSocket-Accept for key: base64(SHA-1(key + the RFC's GUID)). */
void ws_accept_key(const char *key, char out[WS_ACCEPT_LEN + 1]);

/* Picks the first of ours[0..n_ours) (our preference order) that the client
 * offered in Sec-WebSocket-Protocol. *ret is borrowed from ours, or NULL when
 * the client offered none.
 * Errors: CRIB_INVALID (the client offered only protocols we do not speak). */
int ws_choose_subprotocol(const struct http_request *r, const char *const *ours, size_t n_ours,
                          const char **ret, struct crib_err *err);

/* Formats the 101 answer to a handshake with key; subprotocol may be NULL.
 * On success *ret (*ret_len bytes) is the caller's to free().
 * Errors: CRIB_INVALID (a subprotocol with CR or LF). */
int ws_handshake_response(const char *key, const char *subprotocol, char **ret, size_t *ret_len,
                          struct crib_err *err);
