/* The Kubernetes stream protocols on top of SPDY and WebSocket
 * (k8s.io/apimachinery util/remotecommand and httpstream/wsstream, kubelet
 * cri/streaming): the protocol names and what each one can do, the WebSocket
 * channel messages (one channel byte, or a digit and base64), the terminal
 * resize messages and the v1 Status the error stream carries. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Channels of exec/attach: stdin/out/err as the file descriptors, then the
 * error stream and the terminal resize stream. */
enum chan_id {
    CHAN_STDIN = 0,
    CHAN_STDOUT = 1,
    CHAN_STDERR = 2,
    CHAN_ERROR = 3,
    CHAN_RESIZE = 4,
    CHAN_CLOSE = 255, /* v5: "stop reading channel N" (one more byte, N) */
};

enum chan_transport {
    CHAN_SPDY = 1u << 0,
    CHAN_WEBSOCKET = 1u << 1,
};

enum chan_kind {
    CHAN_EXEC = 1u << 0, /* exec and attach */
    CHAN_PORTFORWARD = 1u << 1,
};

/* What a protocol can do. */
enum chan_flags {
    CHAN_BASE64 = 1u << 0,       /* WebSocket text messages: '0'+channel, then base64 */
    CHAN_HAS_RESIZE = 1u << 1,   /* a resize stream (SPDY v3+, every WebSocket exec protocol) */
    CHAN_STATUS_JSON = 1u << 2,  /* the error stream carries a v1 Status, not bare text */
    CHAN_CLOSE_SIGNAL = 1u << 3, /* channel 255 half-closes a channel (v5) */
    CHAN_PORT_PREFIX = 1u << 4,  /* WebSocket port-forward: each channel opens with its port */
    CHAN_SPDY_TUNNEL = 1u << 5,  /* WebSocket binary messages carry SPDY/3.1 frames */
};

struct chan_proto {
    const char *name; /* "" for a WebSocket client that named no subprotocol */
    unsigned kind;    /* enum chan_kind */
    unsigned transport;
    unsigned flags;
};

/* Resize messages with more text than this are refused. */
#define CHAN_RESIZE_MAX_BYTES 1024

struct chan_size {
    uint16_t width;
    uint16_t height;
};

/* Fills names (up to n) with the protocols of kind over transport, best first,
 * for ws_choose_subprotocol() or X-Stream-Protocol-Version; the strings are
 * static. Returns how many there are ("" excluded). */
size_t chan_proto_names(unsigned kind, unsigned transport, const char **names, size_t n);

/* The protocol called name for kind over transport, or NULL; static. */
const struct chan_proto *chan_proto_lookup(const char *name, unsigned kind, unsigned transport);

/* A channel message received over WebSocket. */
struct chan_msg {
    unsigned channel;    /* CHAN_* or a port-forward channel (2 per port) */
    unsigned closed;     /* with CHAN_CLOSE: the channel the peer is done writing to */
    const uint8_t *data; /* points into the message given to chan_decode() */
    size_t len;
};

/* Decodes a whole WebSocket message of p, base64 in place (msg is changed).
 * Returns 1 with *ret filled, 0 for an empty message (ignore it, as the kubelet does).
 * Errors: CRIB_INVALID (bad channel character, invalid base64, a CLOSE signal
 * that is not 2 bytes). */
int chan_decode(const struct chan_proto *p, uint8_t *msg, size_t len, struct chan_msg *ret,
                struct crib_err *err);

/* Encodes data for channel as one WebSocket message of p (send it as text when
 * p has CHAN_BASE64, else as binary). On success *ret (*ret_len bytes) is the
 * caller's to free(). Errors: CRIB_INVALID (channel not representable). */
int chan_encode(const struct chan_proto *p, unsigned channel, const void *data, size_t len,
                uint8_t **ret, size_t *ret_len, struct crib_err *err);

/* The first data of a WebSocket port-forward channel: the port, 16 bits little-endian. */
void chan_port_prefix(uint16_t port, uint8_t out[2]);

/* Parses one resize message, {"Width":W,"Height":H} (keys matched without
 * case, as Go's encoding/json does; other keys ignored), W and H 0 to 65535.
 * Errors: CRIB_INVALID (not that object, junk after it, negative, fractional
 * or too big values), CRIB_LIMIT (over CHAN_RESIZE_MAX_BYTES). */
int chan_resize_parse(const char *json, size_t len, struct chan_size *ret, struct crib_err *err);

/* The SPDY resize stream is a byte stream of such objects back to back (a Go
 * json.Encoder), split anywhere by DATA frames. */
struct chan_resize_decoder;

/* A new decoder; free it with chan_resize_decoder_free() (NULL is fine there). */
struct chan_resize_decoder *chan_resize_decoder_new(void);
void chan_resize_decoder_free(struct chan_resize_decoder *d);

/* Feeds len bytes. Returns 1 with *ret filled when an object ended; *ret_used
 * says how many bytes it took (feed the rest again). Returns 0 when all bytes
 * were taken. After an error the decoder refuses further input.
 * Errors: as chan_resize_parse(). */
int chan_resize_feed(struct chan_resize_decoder *d, const char *data, size_t len, size_t *ret_used,
                     struct chan_size *ret, struct crib_err *err);

/* What the error stream says when a command ended: with message NULL,
 * exit_code 0 is success and any other the exit code (reason NonZeroExitCode,
 * cause ExitCode); with message set, an internal error (500) saying so. A
 * protocol with CHAN_STATUS_JSON gets a v1 Status as the kubelet writes it; an
 * older one gets the bare message, and nothing on success (*ret NULL).
 * On success *ret (*ret_len bytes) is the caller's to free(). Cannot fail. */
void chan_status_format(const struct chan_proto *p, int exit_code, const char *message, char **ret,
                        size_t *ret_len);
