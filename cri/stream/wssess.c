/* A WebSocket session of the Kubernetes channel protocols: every message
 * starts with its channel (exec: 0 stdin, 1 stdout, 2 stderr, 3 error,
 * 4 resize; port-forward: 2i data and 2i+1 error of the i-th port asked for
 * in the "ports" query parameter). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "cri/stream/procio.h"
#include "cri/stream/session.h"
#include "cri/stream/ws.h"

/* A client message past this is refused (close 1009): stdin comes in 32 KiB writes. */
#define WS_MESSAGE_MAX (256u << 10)
#define WS_IN_MAX (WS_MESSAGE_MAX + WS_HEADER_MAX)
/* Ports one port-forward session may ask for (the kubelet has no cap; kubectl asks for a few). */
#define WS_MAX_PORTS 16
#define WS_MAX_POLLFDS (2 + PROCIO_MAX_POLLFDS + WS_MAX_PORTS)

struct ws_forward {
    uint16_t port;
    int fd;
    struct sink sink;
    bool is_out_eof, is_done;
    int pfd;
};

struct ws_sess {
    struct session *s;
    const struct chan_proto *proto;
    struct ws_parser parser;
    struct ws_message msg;
    uint8_t *in;
    size_t in_len;
    struct procio io;
    struct procio_sender snd;
    bool is_broken, is_gone;
    struct ws_forward fwd[WS_MAX_PORTS];
    size_t n_fwd;
};

static void send_frame(struct ws_sess *ws, uint8_t opcode, const void *data, size_t len)
{
    uint8_t head[WS_HEADER_MAX];
    size_t n = ws_frame_header(head, opcode, true, len, NULL);

    conn_queue(&ws->s->conn, head, n);
    conn_queue(&ws->s->conn, data, len);
}

static void send_chan(struct ws_sess *ws, unsigned chan, const void *data, size_t len)
{
    _cleanup_free_ uint8_t *msg = NULL;
    struct crib_err err;
    size_t n;

    if (chan_encode(ws->proto, chan, data, len, &msg, &n, &err) < 0) {
        ws->is_broken = true;
        return;
    }
    send_frame(ws, ws->proto->flags & CHAN_BASE64 ? WS_TEXT : WS_BINARY, msg, n);
}

static void send_close(struct ws_sess *ws, uint16_t code, const char *reason)
{
    uint8_t payload[WS_CONTROL_MAX];
    size_t n = ws_close_format(code, reason, payload);

    send_frame(ws, WS_CLOSE, payload, n);
}

static size_t exec_room(void *t, unsigned chan)
{
    struct ws_sess *ws = t;

    (void)chan;
    return conn_out_full(&ws->s->conn) ? 0 : PROCIO_CHUNK;
}

static void exec_send(void *t, unsigned chan, const void *data, size_t len)
{
    send_chan(t, chan, data, len);
}

static void exec_close(void *t, unsigned chan)
{
    (void)t;
    (void)chan; /* a channel ends with the connection: v5's close signal is the client's */
}

static void send_status(struct ws_sess *ws, int exit_code, const char *message)
{
    _cleanup_free_ char *status = NULL;
    size_t len = 0;

    chan_status_format(ws->proto, exit_code, message, &status, &len);
    if (status)
        send_chan(ws, CHAN_ERROR, status, len);
}

/* ---- port-forward ---- */

static int add_port(struct ws_sess *ws, const char *text, struct crib_err *err)
{
    char *end;
    long v = strtol(text, &end, 10);

    if (!*text || *end || v <= 0 || v > 65535)
        return crib_fail(err, CRIB_INVALID, 0, "invalid port '%s'", text);
    if (ws->n_fwd == WS_MAX_PORTS)
        return crib_fail(err, CRIB_LIMIT, 0, "more than %d ports", WS_MAX_PORTS);
    ws->fwd[ws->n_fwd] = (struct ws_forward){.port = (uint16_t)v, .fd = -1, .pfd = -1};
    sink_init(&ws->fwd[ws->n_fwd].sink, -1, true);
    ws->n_fwd++;
    return 0;
}

/* "ports" may repeat and each value may list several, comma-separated. */
static int parse_ports(struct ws_sess *ws, struct crib_err *err)
{
    char value[256];
    int r;

    for (size_t i = 0; (r = http_query_get(ws->s->http, "ports", i, value, sizeof(value), err)) > 0;
         i++) {
        char *save = NULL;

        for (char *p = strtok_r(value, ",", &save); p; p = strtok_r(NULL, ",", &save))
            if (add_port(ws, p, err) < 0)
                return -1;
    }
    if (r < 0)
        return r;
    if (ws->n_fwd == 0)
        return crib_fail(err, CRIB_INVALID, 0, "query parameter \"ports\" is required");
    return 0;
}

static void forward_open(struct ws_sess *ws, size_t i)
{
    struct ws_forward *f = &ws->fwd[i];
    struct stream_request *req = ws->s->req;
    char msg[CRIB_ERR_MSG_MAX + 64];
    uint8_t prefix[2];
    struct crib_err err;

    chan_port_prefix(f->port, prefix);
    send_chan(ws, (unsigned)(2 * i), prefix, sizeof(prefix));
    send_chan(ws, (unsigned)(2 * i + 1), prefix, sizeof(prefix));
    if (req->ops->connect(req->ctx, f->port, &f->fd, &err) < 0) {
        snprintf(msg, sizeof(msg), "an error occurred forwarding %u -> %u: %s", f->port, f->port,
                 err.msg);
        send_chan(ws, (unsigned)(2 * i + 1), msg, strlen(msg));
        f->is_done = true;
        return;
    }
    sink_init(&f->sink, f->fd, true);
}

static void forward_end(struct ws_forward *f)
{
    sink_done(&f->sink);
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    f->is_done = true;
}

static size_t forward_poll_add(struct ws_sess *ws, struct pollfd *pfds)
{
    size_t n = 0;

    for (size_t i = 0; i < ws->n_fwd; i++) {
        struct ws_forward *f = &ws->fwd[i];
        short events = 0;

        f->pfd = -1;
        if (f->is_done)
            continue;
        if (!f->is_out_eof && !conn_out_full(&ws->s->conn))
            events |= POLLIN;
        if (f->sink.len > 0)
            events |= POLLOUT;
        if (!events)
            continue;
        f->pfd = (int)n;
        pfds[n++] = (struct pollfd){.fd = f->fd, .events = events};
    }
    return n;
}

static void forward_io(struct ws_sess *ws, size_t i, short revents)
{
    struct ws_forward *f = &ws->fwd[i];

    if (revents & (POLLOUT | POLLERR | POLLHUP))
        sink_flush(&f->sink);
    if (revents & (POLLIN | POLLERR | POLLHUP) && !f->is_out_eof) {
        ssize_t n = read(f->fd, ws->io.buf, PROCIO_CHUNK);

        if (n > 0)
            send_chan(ws, (unsigned)(2 * i), ws->io.buf, (size_t)n);
        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
            f->is_out_eof = true;
    }
    /* WebSocket channels have no end of their own: the pod's side closing ends the port. */
    if (f->is_out_eof)
        forward_end(f);
}

static bool forwards_done(const struct ws_sess *ws)
{
    for (size_t i = 0; i < ws->n_fwd; i++)
        if (!ws->fwd[i].is_done)
            return false;
    return true;
}

/* ---- messages from the client ---- */

static void on_message(struct ws_sess *ws)
{
    struct chan_msg m;
    struct chan_size size;
    struct crib_err err;
    int r = chan_decode(ws->proto, ws->msg.data, ws->msg.len, &m, &err);

    if (r <= 0) {
        ws->is_broken = r < 0;
        return;
    }
    if (ws->s->req->kind == STREAM_PORTFORWARD) {
        if (m.channel % 2 == 0 && m.channel / 2 < ws->n_fwd && !ws->fwd[m.channel / 2].is_done)
            sink_put(&ws->fwd[m.channel / 2].sink, m.data, m.len);
        return;
    }
    if (m.channel == CHAN_STDIN)
        procio_stdin(&ws->io, m.data, m.len);
    else if (m.channel == CHAN_RESIZE &&
             chan_resize_parse((const char *)m.data, m.len, &size, &err) == 0)
        procio_resize(&ws->io, size.width, size.height);
    else if (m.channel == CHAN_CLOSE && m.closed == CHAN_STDIN)
        procio_stdin_close(&ws->io);
}

static void on_control(struct ws_sess *ws, const struct ws_frame *f)
{
    if (f->opcode == WS_PING)
        send_frame(ws, WS_PONG, f->payload, f->len);
    else if (f->opcode == WS_CLOSE)
        ws->is_gone = true; /* the client is done: what still runs is abandoned */
}

static void on_frame(struct ws_sess *ws, const struct ws_frame *f)
{
    struct crib_err err;
    int r;

    if (f->opcode >= WS_CLOSE) {
        on_control(ws, f);
        return;
    }
    r = ws_message_add(&ws->msg, f, &err);
    if (r < 0) {
        send_close(ws, WS_CLOSE_INVALID_DATA, err.msg);
        ws->is_broken = true;
    } else if (r == 1) {
        on_message(ws);
        ws_message_clear(&ws->msg);
    }
}

static void parse_frames(struct ws_sess *ws)
{
    struct ws_frame f;
    struct crib_err err;
    size_t off = 0, used;
    int r;

    while (!ws->is_broken && !ws->is_gone &&
           (r = ws_frame_parse(&ws->parser, ws->in + off, ws->in_len - off, &f, &used, &err)) !=
               0) {
        if (r < 0) {
            send_close(ws, ws->parser.close_code, err.msg);
            ws->is_broken = true;
            session_log_end(ws->s, err.msg);
            break;
        }
        on_frame(ws, &f);
        off += used;
    }
    memmove(ws->in, ws->in + off, ws->in_len - off);
    ws->in_len -= off;
}

static void read_client(struct ws_sess *ws)
{
    ssize_t n = conn_read(&ws->s->conn, ws->in + ws->in_len, WS_IN_MAX - ws->in_len);

    if (n == -EAGAIN)
        return;
    if (n <= 0) {
        ws->is_gone = true;
        return;
    }
    ws->in_len += (size_t)n;
    parse_frames(ws);
}

/* ---- the loop ---- */

static bool may_read_client(const struct ws_sess *ws)
{
    if (ws->s->conn.out_len >= 2 * CONN_OUT_SOFT_MAX || procio_stdin_full(&ws->io))
        return false;
    for (size_t i = 0; i < ws->n_fwd; i++)
        if (!ws->fwd[i].is_done && sink_full(&ws->fwd[i].sink))
            return false;
    return true;
}

static bool step(struct ws_sess *ws)
{
    struct pollfd pfds[WS_MAX_POLLFDS];
    size_t n = 2, n_fwd;

    pfds[0] = (struct pollfd){.fd = ws->s->conn.fd,
                              .events = (may_read_client(ws) ? POLLIN : 0) |
                                        (conn_wants_write(&ws->s->conn) ? POLLOUT : 0)};
    pfds[1] = (struct pollfd){.fd = ws->s->stop_fd, .events = POLLIN};
    n += procio_poll_add(&ws->io, pfds + n, &ws->snd);
    n_fwd = forward_poll_add(ws, pfds + n);
    if (poll(pfds, n + n_fwd, conn_has_buffered_input(&ws->s->conn) ? 0 : -1) < 0 && errno != EINTR)
        return false;
    if (pfds[1].revents)
        return false;
    if ((pfds[0].revents & POLLOUT) && conn_flush(&ws->s->conn) < 0)
        ws->is_gone = true;
    if ((pfds[0].revents & (POLLIN | POLLHUP | POLLERR)) || conn_has_buffered_input(&ws->s->conn))
        read_client(ws);
    procio_poll_handle(&ws->io, pfds + 2, &ws->snd);
    for (size_t i = 0; i < ws->n_fwd; i++)
        if (ws->fwd[i].pfd >= 0 && (size_t)ws->fwd[i].pfd < n_fwd &&
            pfds[n + ws->fwd[i].pfd].revents)
            forward_io(ws, i, pfds[n + ws->fwd[i].pfd].revents);
    if (conn_flush(&ws->s->conn) < 0)
        ws->is_gone = true;
    if (ws->is_broken || ws->is_gone)
        return false;
    if (ws->s->req->kind == STREAM_PORTFORWARD)
        return !forwards_done(ws);
    return !procio_done(&ws->io);
}

static int upgrade(struct ws_sess *ws)
{
    const char *names[8], *key, *chosen = NULL;
    unsigned kind = ws->s->req->kind == STREAM_PORTFORWARD ? CHAN_PORTFORWARD : CHAN_EXEC;
    size_t n = session_protocols(ws->s, CHAN_WEBSOCKET, names, ARRAY_SIZE(names));
    _cleanup_free_ char *resp = NULL;
    struct crib_err err;
    size_t len;
    int status;

    if (ws_handshake_check(ws->s->http, &key, &status, &err) < 0) {
        session_http_error(ws->s, status, err.msg);
        return -1;
    }
    if (ws_choose_subprotocol(ws->s->http, names, n, &chosen, &err) < 0) {
        session_http_error(ws->s, 400, err.msg);
        return -1;
    }
    ws->proto = chan_proto_lookup(chosen ? chosen : "", kind, CHAN_WEBSOCKET);
    if (ws->proto->flags & CHAN_SPDY_TUNNEL) {
        session_http_error(ws->s, 400, "SPDY over WebSocket is not served here");
        return -1;
    }
    if (kind == CHAN_PORTFORWARD && parse_ports(ws, &err) < 0) {
        session_http_error(ws->s, 400, err.msg);
        return -1;
    }
    if (ws_handshake_response(key, chosen, &resp, &len, &err) < 0 ||
        conn_write_all(&ws->s->conn, resp, len, SESSION_LINGER_MS, &err) < 0)
        return -1;
    return 0;
}

/* The kubelet's first message: an empty one on the lowest channel this side
 * writes, so the client knows the streams are up. */
static void start_exec(struct ws_sess *ws)
{
    const struct stream_request *r = ws->s->req;
    struct crib_err err;

    send_chan(ws, r->has_stdout ? CHAN_STDOUT : r->has_stderr ? CHAN_STDERR : CHAN_ERROR, "", 0);
    if (procio_start(&ws->io, &err) < 0) {
        send_status(ws, 0, err.msg);
        ws->is_broken = true;
    }
}

static void finish(struct ws_sess *ws, bool is_over)
{
    struct crib_err err;
    int code;
    int r = procio_finish(&ws->io, !is_over, &code, &err);

    if (ws->s->req->kind != STREAM_PORTFORWARD && is_over)
        send_status(ws, r < 0 ? 0 : code < 0 ? 0 : code, r < 0 ? err.msg : NULL);
    for (size_t i = 0; i < ws->n_fwd; i++)
        if (!ws->fwd[i].is_done)
            forward_end(&ws->fwd[i]);
    if (!ws->is_gone) {
        send_close(ws, WS_CLOSE_NORMAL, "");
        session_linger(ws->s);
    }
}

void ws_session_run(struct session *s)
{
    _cleanup_free_ struct ws_sess *ws = xcalloc(1, sizeof(*ws));
    bool is_over = false;

    ws->s = s;
    ws_parser_init(&ws->parser, true, WS_MESSAGE_MAX);
    procio_init(&ws->io, s->req);
    ws->snd = (struct procio_sender){ws, exec_room, exec_send, exec_close};
    if (upgrade(ws) < 0)
        return;
    ws->in = xmalloc(WS_IN_MAX);
    ws->in_len = s->n_early < WS_IN_MAX ? s->n_early : WS_IN_MAX;
    memcpy(ws->in, s->early, ws->in_len);
    if (s->req->kind == STREAM_PORTFORWARD)
        for (size_t i = 0; i < ws->n_fwd; i++)
            forward_open(ws, i);
    else
        start_exec(ws);
    parse_frames(ws);
    while (!ws->is_broken && !ws->is_gone && step(ws))
        ;
    is_over = s->req->kind == STREAM_PORTFORWARD ? forwards_done(ws) : procio_done(&ws->io);
    finish(ws, is_over);
    ws_message_done(&ws->msg);
    free(ws->in);
}
