/* One client connection of the streaming server: a non-blocking socket,
 * optionally under TLS, with a bounded queue of bytes waiting to go out, and
 * the bounded queue of bytes waiting to go into a process or a forwarded
 * port (a sink). Nothing here blocks: the session's poll() loop decides when
 * to read and write. */
#pragma once

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Past this much queued output, a session stops reading its process (and
 * past twice this, its client): a slow reader costs bounded memory. */
#define CONN_OUT_SOFT_MAX (256u << 10)
/* A sink holding this much takes no more: the client is not read meanwhile. */
#define SINK_SOFT_MAX (64u << 10)

struct stream_conn {
    int fd;
    SSL *ssl; /* NULL: plain TCP */
    uint8_t *out;
    size_t out_len, out_alloc;
};

/* Takes fd (made non-blocking) and ssl (may be NULL; freed with the conn). */
void conn_init(struct stream_conn *c, int fd, SSL *ssl);

/* Closes the socket and frees the queue. */
void conn_done(struct stream_conn *c);

/* Reads up to size bytes. Returns the count, 0 at end of stream, -EAGAIN when
 * nothing is there yet, another negative errno when the connection broke. */
ssize_t conn_read(struct stream_conn *c, void *buf, size_t size);

/* Queues len bytes (never fails: callers keep the queue bounded by not
 * producing when conn_out_full()). */
void conn_queue(struct stream_conn *c, const void *data, size_t len);

/* Writes what is queued, as far as the socket takes it. Returns 0, or a
 * negative errno when the connection broke. */
int conn_flush(struct stream_conn *c);

/* Whether output waits for the socket; with TLS also whether bytes read
 * but not yet returned wait in the TLS layer (poll() cannot see those). */
bool conn_wants_write(const struct stream_conn *c);
bool conn_has_buffered_input(const struct stream_conn *c);

/* Whether the queue is past CONN_OUT_SOFT_MAX. */
bool conn_out_full(const struct stream_conn *c);

/* Writes all of data, waiting up to timeout_ms for the socket: only for the
 * HTTP responses before a session starts. Errors: CRIB_UNAVAILABLE. */
int conn_write_all(struct stream_conn *c, const void *data, size_t len, int timeout_ms,
                   struct crib_err *err);

/* Bytes waiting to go into fd (a process's stdin or a forwarded socket). */
struct sink {
    int fd;
    bool is_socket;     /* closed for writing with shutdown(), not close() */
    bool close_pending; /* close once drained (the client half-closed) */
    bool is_closed;     /* fd is closed or shut for writing */
    uint8_t *buf;
    size_t len, alloc;
};

void sink_init(struct sink *s, int fd, bool is_socket);
/* Frees the buffer; fd stays the caller's. */
void sink_done(struct sink *s);

/* Writes data now as far as fd takes it and keeps the rest. Data for a
 * closed sink (the process shut its stdin) is dropped: returns 0 either way. */
void sink_put(struct sink *s, const void *data, size_t len);

/* Writes what is kept; closes when drained and asked to. */
void sink_flush(struct sink *s);

/* Closes for writing once drained (now, when nothing is kept). */
void sink_close(struct sink *s);

/* Whether the sink holds SINK_SOFT_MAX or more. */
bool sink_full(const struct sink *s);
