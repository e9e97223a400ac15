#include "cri/stream/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/xalloc.h"

void conn_init(struct stream_conn *c, int fd, SSL *ssl)
{
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->ssl = ssl;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

void conn_done(struct stream_conn *c)
{
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
    free(c->out);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

static ssize_t tls_result(SSL *ssl, int n)
{
    int e = SSL_get_error(ssl, n);

    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return -EAGAIN;
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    return -EPIPE;
}

ssize_t conn_read(struct stream_conn *c, void *buf, size_t size)
{
    ssize_t n;

    if (c->ssl) {
        int r = SSL_read(c->ssl, buf, size > INT32_MAX ? INT32_MAX : (int)size);

        return r > 0 ? r : tls_result(c->ssl, r);
    }
    n = read(c->fd, buf, size);
    if (n >= 0)
        return n;
    return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
}

static ssize_t conn_write(struct stream_conn *c, const void *data, size_t len)
{
    ssize_t n;

    if (c->ssl) {
        int r = SSL_write(c->ssl, data, len > INT32_MAX ? INT32_MAX : (int)len);

        if (r > 0)
            return r;
        n = tls_result(c->ssl, r);
        return n == 0 ? -EPIPE : n;
    }
    n = send(c->fd, data, len, MSG_NOSIGNAL);
    if (n >= 0)
        return n;
    return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
}

void conn_queue(struct stream_conn *c, const void *data, size_t len)
{
    if (len == 0)
        return;
    if (c->out_len + len > c->out_alloc) {
        c->out_alloc = (c->out_len + len) * 2;
        c->out = xrealloc(c->out, c->out_alloc);
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
}

int conn_flush(struct stream_conn *c)
{
    size_t off = 0;

    while (off < c->out_len) {
        ssize_t n = conn_write(c, c->out + off, c->out_len - off);

        if (n == -EAGAIN)
            break;
        if (n < 0)
            return (int)n;
        off += (size_t)n;
    }
    if (off == 0)
        return 0;
    memmove(c->out, c->out + off, c->out_len - off);
    c->out_len -= off;
    /* A burst (100 MiB through a slow client) must not pin its peak. */
    if (c->out_len == 0 && c->out_alloc > 4 * CONN_OUT_SOFT_MAX) {
        free(c->out);
        c->out = NULL;
        c->out_alloc = 0;
    }
    return 0;
}

bool conn_wants_write(const struct stream_conn *c)
{
    return c->out_len > 0;
}

bool conn_has_buffered_input(const struct stream_conn *c)
{
    return c->ssl && SSL_pending(c->ssl) > 0;
}

bool conn_out_full(const struct stream_conn *c)
{
    return c->out_len >= CONN_OUT_SOFT_MAX;
}

int conn_write_all(struct stream_conn *c, const void *data, size_t len, int timeout_ms,
                   struct crib_err *err)
{
    long long deadline = clock_mono_ms() + timeout_ms;

    conn_queue(c, data, len);
    for (;;) {
        struct pollfd p = {.fd = c->fd, .events = POLLOUT};
        long long left = deadline - clock_mono_ms();

        if (conn_flush(c) < 0)
            return crib_fail(err, CRIB_UNAVAILABLE, EPIPE, "client went away");
        if (!conn_wants_write(c))
            return 0;
        if (left <= 0)
            return crib_fail(err, CRIB_UNAVAILABLE, ETIMEDOUT, "client does not read");
        (void)poll(&p, 1, (int)left); /* EINTR: the loop checks again */
    }
}

void sink_init(struct sink *s, int fd, bool is_socket)
{
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->is_socket = is_socket;
    s->is_closed = fd < 0;
}

void sink_done(struct sink *s)
{
    free(s->buf);
    s->buf = NULL;
    s->len = s->alloc = 0;
}

static void sink_shut(struct sink *s)
{
    if (s->is_closed)
        return;
    s->is_closed = true;
    if (s->is_socket) {
        shutdown(s->fd, SHUT_WR);
    } else {
        close(s->fd);
        s->fd = -1;
    }
    sink_done(s);
}

/* Writes from data as far as fd takes it; returns what was written, or -1
 * when the reader has gone (EPIPE, ECONNRESET): the sink is then closed. */
static ssize_t sink_write(struct sink *s, const uint8_t *data, size_t len)
{
    size_t off = 0;

    while (off < len) {
        ssize_t n = s->is_socket ? send(s->fd, data + off, len - off, MSG_NOSIGNAL)
                                 : write(s->fd, data + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0) {
            sink_shut(s);
            return -1;
        }
        off += (size_t)n;
    }
    return (ssize_t)off;
}

void sink_put(struct sink *s, const void *data, size_t len)
{
    ssize_t n = 0;

    if (s->is_closed || s->close_pending)
        return;
    if (s->len == 0 && (n = sink_write(s, data, len)) < 0)
        return;
    len -= (size_t)n;
    if (len == 0)
        return;
    if (s->len + len > s->alloc) {
        s->alloc = s->len + len;
        s->buf = xrealloc(s->buf, s->alloc);
    }
    memcpy(s->buf + s->len, (const uint8_t *)data + n, len);
    s->len += len;
}

void sink_flush(struct sink *s)
{
    ssize_t n;

    if (s->is_closed)
        return;
    if (s->len) {
        n = sink_write(s, s->buf, s->len);
        if (n < 0)
            return;
        memmove(s->buf, s->buf + n, s->len - (size_t)n);
        s->len -= (size_t)n;
    }
    if (s->len == 0 && s->close_pending)
        sink_shut(s);
}

void sink_close(struct sink *s)
{
    s->close_pending = true;
    sink_flush(s);
}

bool sink_full(const struct sink *s)
{
    return s->len >= SINK_SOFT_MAX;
}
