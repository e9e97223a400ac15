/* A SPDY/3.1 session of the Kubernetes stream protocols: the client opens
 * the streams (exec: one per stdin, stdout, stderr, error and resize, told
 * apart by their "streamtype" header; port-forward: a data and an error
 * stream per connection, paired by "requestid"), this side replies to each
 * and then moves bytes. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cri/stream/procio.h"
#include "cri/stream/session.h"
#include "cri/stream/spdy.h"

/* The kubelet's clients write at most 32 KiB a frame; a larger one is refused. */
#define SPDY_FRAME_IN_MAX (256u << 10)
#define SPDY_MAX_STREAMS 256
#define SPDY_MAX_FORWARDS 64 /* concurrent port-forward connections of one session */
/* A WINDOW_UPDATE goes out once this much of a window was consumed. */
#define SPDY_WINDOW_ACK (32u << 10)
#define SPDY_MAX_POLLFDS (2 + PROCIO_MAX_POLLFDS + SPDY_MAX_FORWARDS)

enum { SST_PF_DATA = 16, SST_PF_ERROR = 17 };

CRIB_DEFINE_CLEANUP(struct spdy_headers, spdy_headers_free)

struct sstream {
    uint32_t id; /* 0: a free slot */
    int type;    /* enum chan_id for exec, SST_PF_* for port-forward */
    bool remote_fin, local_fin;
    uint32_t unacked;
    int fwd; /* port-forward connection, or -1 */
};

/* One forwarded connection: a data and an error stream and a socket in the pod. */
struct forward {
    bool in_use;
    char request_id[64];
    uint16_t port;
    int data, error; /* stream slots, -1 until they come */
    int fd;
    struct sink sink;
    bool is_out_eof;
    int pfd; /* in the last poll set, or -1 */
};

struct spdy_sess {
    struct session *s;
    const struct chan_proto *proto;
    struct spdy_codec *codec;
    uint8_t *in;
    size_t in_len;
    struct sstream streams[SPDY_MAX_STREAMS];
    uint32_t session_unacked;
    bool is_broken, is_gone;
    struct procio io;
    struct procio_sender snd;
    int chan_stream[CHAN_RESIZE + 1];
    struct chan_resize_decoder *resize;
    struct forward fwd[SPDY_MAX_FORWARDS];
};

static void send_frame(struct spdy_sess *ss, const struct spdy_frame *f)
{
    _cleanup_free_ uint8_t *out = NULL;
    struct crib_err err;
    size_t len;

    if (spdy_frame_format(ss->codec, f, NULL, &out, &len, &err) < 0) {
        ss->is_broken = true;
        return;
    }
    conn_queue(&ss->s->conn, out, len);
}

static void send_rst(struct spdy_sess *ss, uint32_t id, uint32_t status)
{
    send_frame(ss,
               &(struct spdy_frame){.type = SPDY_RST_STREAM, .stream_id = id, .status = status});
}

static void send_data(struct spdy_sess *ss, int slot, const void *data, size_t len, bool fin)
{
    struct sstream *st = &ss->streams[slot];
    uint8_t head[SPDY_HEADER_LEN];

    if (st->local_fin)
        return;
    spdy_data_header(head, st->id, fin ? SPDY_FLAG_FIN : 0, len);
    conn_queue(&ss->s->conn, head, sizeof(head));
    conn_queue(&ss->s->conn, data, len);
    st->local_fin = fin;
}

static void free_stream_if_done(struct spdy_sess *ss, int slot)
{
    struct sstream *st = &ss->streams[slot];

    if (st->remote_fin && st->local_fin && st->fwd < 0 && st->type >= SST_PF_DATA)
        st->id = 0;
}

static int find_stream(const struct spdy_sess *ss, uint32_t id)
{
    for (int i = 0; i < SPDY_MAX_STREAMS; i++)
        if (id && ss->streams[i].id == id)
            return i;
    return -1;
}

static int new_stream(struct spdy_sess *ss, uint32_t id, int type)
{
    for (int i = 0; i < SPDY_MAX_STREAMS; i++) {
        if (ss->streams[i].id == 0) {
            ss->streams[i] = (struct sstream){.id = id, .type = type, .fwd = -1};
            return i;
        }
    }
    return -1;
}

/* ---- the process side (exec, attach) ---- */

static size_t exec_room(void *t, unsigned chan)
{
    struct spdy_sess *ss = t;
    int slot = chan <= CHAN_RESIZE ? ss->chan_stream[chan] : -1;

    if (slot < 0 || ss->streams[slot].local_fin)
        return PROCIO_CHUNK; /* nobody reads it: drain and drop */
    return conn_out_full(&ss->s->conn) ? 0 : PROCIO_CHUNK;
}

static void exec_send(void *t, unsigned chan, const void *data, size_t len)
{
    struct spdy_sess *ss = t;
    int slot = chan <= CHAN_RESIZE ? ss->chan_stream[chan] : -1;

    if (slot >= 0)
        send_data(ss, slot, data, len, false);
}

static void exec_close(void *t, unsigned chan)
{
    struct spdy_sess *ss = t;
    int slot = chan <= CHAN_RESIZE ? ss->chan_stream[chan] : -1;

    if (slot >= 0)
        send_data(ss, slot, NULL, 0, true);
}

static bool exec_streams_complete(const struct spdy_sess *ss)
{
    const struct stream_request *r = ss->s->req;

    return ss->chan_stream[CHAN_ERROR] >= 0 &&
           (!r->has_stdin || ss->chan_stream[CHAN_STDIN] >= 0) &&
           (!r->has_stdout || ss->chan_stream[CHAN_STDOUT] >= 0) &&
           (!r->has_stderr || ss->chan_stream[CHAN_STDERR] >= 0) &&
           (!r->is_tty || !(ss->proto->flags & CHAN_HAS_RESIZE) ||
            ss->chan_stream[CHAN_RESIZE] >= 0);
}

static int chan_of_streamtype(const char *type)
{
    static const char *const names[] = {"stdin", "stdout", "stderr", "error", "resize"};

    for (int i = 0; type && i < (int)ARRAY_SIZE(names); i++)
        if (strcmp(type, names[i]) == 0)
            return i;
    return -1;
}

/* Ends the error stream with what it must say: a failure to start, or the exit. */
static void send_status(struct spdy_sess *ss, int exit_code, const char *message)
{
    _cleanup_free_ char *status = NULL;
    int slot = ss->chan_stream[CHAN_ERROR];
    size_t len = 0;

    if (slot < 0)
        return;
    chan_status_format(ss->proto, exit_code, message, &status, &len);
    send_data(ss, slot, status, status ? len : 0, true);
}

static void exec_syn(struct spdy_sess *ss, uint32_t id, const struct spdy_headers *h)
{
    int chan = chan_of_streamtype(spdy_headers_get(h, "streamtype"));
    int slot;
    struct crib_err err;

    if (chan < 0 || ss->chan_stream[chan] >= 0 || ss->io.is_started) {
        send_rst(ss, id, SPDY_RST_PROTOCOL_ERROR);
        return;
    }
    slot = new_stream(ss, id, chan);
    if (slot < 0) {
        send_rst(ss, id, SPDY_RST_REFUSED_STREAM);
        return;
    }
    ss->chan_stream[chan] = slot;
    send_frame(ss, &(struct spdy_frame){.type = SPDY_SYN_REPLY, .stream_id = id});
    if (!exec_streams_complete(ss))
        return;
    if (procio_start(&ss->io, &err) < 0) {
        send_status(ss, 0, err.msg);
        ss->is_broken = true; /* nothing more to do: end after the status */
    }
}

/* ---- port-forward ---- */

static int forward_find(struct spdy_sess *ss, const char *request_id, uint16_t port)
{
    int free_slot = -1;

    for (int i = 0; i < SPDY_MAX_FORWARDS; i++) {
        if (ss->fwd[i].in_use && strcmp(ss->fwd[i].request_id, request_id) == 0)
            return i;
        if (!ss->fwd[i].in_use && free_slot < 0)
            free_slot = i;
    }
    if (free_slot >= 0) {
        struct forward *f = &ss->fwd[free_slot];

        *f = (struct forward){
            .in_use = true, .port = port, .data = -1, .error = -1, .fd = -1, .pfd = -1};
        snprintf(f->request_id, sizeof(f->request_id), "%s", request_id);
        sink_init(&f->sink, -1, true);
    }
    return free_slot;
}

static void forward_end(struct spdy_sess *ss, int i, const char *message)
{
    struct forward *f = &ss->fwd[i];

    if (f->error >= 0) {
        send_data(ss, f->error, message, message ? strlen(message) : 0, true);
        ss->streams[f->error].fwd = -1;
        free_stream_if_done(ss, f->error);
    }
    if (f->data >= 0) {
        send_data(ss, f->data, NULL, 0, true);
        ss->streams[f->data].fwd = -1;
        free_stream_if_done(ss, f->data);
    }
    sink_done(&f->sink);
    if (f->fd >= 0)
        close(f->fd);
    f->in_use = false;
}

static void forward_connect(struct spdy_sess *ss, int i)
{
    struct forward *f = &ss->fwd[i];
    struct stream_request *req = ss->s->req;
    char msg[CRIB_ERR_MSG_MAX + 64];
    struct crib_err err;

    if (f->port == 0) {
        forward_end(ss, i, "invalid port: the \"port\" header must be 1 to 65535");
        return;
    }
    if (req->ops->connect(req->ctx, f->port, &f->fd, &err) < 0) {
        snprintf(msg, sizeof(msg), "an error occurred forwarding %u -> %u: %s", f->port, f->port,
                 err.msg);
        forward_end(ss, i, msg);
        return;
    }
    sink_init(&f->sink, f->fd, true);
}

static uint16_t port_of(const char *text)
{
    char *end;
    long v = text ? strtol(text, &end, 10) : 0;

    return text && *text && !*end && v > 0 && v <= 65535 ? (uint16_t)v : 0;
}

static void forward_syn(struct spdy_sess *ss, uint32_t id, const struct spdy_headers *h)
{
    const char *type = spdy_headers_get(h, "streamtype");
    const char *request_id = spdy_headers_get(h, "requestid");
    bool is_data = type && strcmp(type, "data") == 0;
    char fallback[16];
    int slot, i;

    if (!type || (!is_data && strcmp(type, "error") != 0)) {
        send_rst(ss, id, SPDY_RST_PROTOCOL_ERROR);
        return;
    }
    /* Clients before requestid open the error stream, then the data stream, in turn. */
    if (!request_id) {
        snprintf(fallback, sizeof(fallback), "%u", is_data ? id - 2 : id);
        request_id = fallback;
    }
    i = forward_find(ss, request_id, port_of(spdy_headers_get(h, "port")));
    slot = i < 0 ? -1 : new_stream(ss, id, is_data ? SST_PF_DATA : SST_PF_ERROR);
    if (slot < 0 || (is_data ? ss->fwd[i].data : ss->fwd[i].error) >= 0) {
        send_rst(ss, id, slot < 0 ? SPDY_RST_REFUSED_STREAM : SPDY_RST_PROTOCOL_ERROR);
        if (slot >= 0)
            ss->streams[slot].id = 0;
        return;
    }
    ss->streams[slot].fwd = i;
    *(is_data ? &ss->fwd[i].data : &ss->fwd[i].error) = slot;
    send_frame(ss, &(struct spdy_frame){.type = SPDY_SYN_REPLY, .stream_id = id});
    if (ss->fwd[i].data >= 0 && ss->fwd[i].error >= 0)
        forward_connect(ss, i);
}

/* ---- frames from the client ---- */

static void on_syn(struct spdy_sess *ss, const struct spdy_frame *f)
{
    _cleanup_(spdy_headers_freep) struct spdy_headers *h = NULL;
    struct crib_err err;
    int slot;

    /* Every block goes through the inflater, or the next one cannot be read. */
    if (spdy_headers_decode(ss->codec, f->data, f->len, &h, &err) < 0) {
        ss->is_broken = true;
        session_log_end(ss->s, err.msg);
        return;
    }
    if (f->type != SPDY_SYN_STREAM)
        return;
    if (find_stream(ss, f->stream_id) >= 0 || !(f->stream_id & 1)) {
        send_rst(ss, f->stream_id, SPDY_RST_PROTOCOL_ERROR);
        return;
    }
    if (ss->s->req->kind == STREAM_PORTFORWARD)
        forward_syn(ss, f->stream_id, h);
    else
        exec_syn(ss, f->stream_id, h);
    slot = find_stream(ss, f->stream_id);
    if (slot >= 0 && (f->flags & SPDY_FLAG_FIN))
        ss->streams[slot].remote_fin = true;
}

static void ack_window(struct spdy_sess *ss, int slot, size_t len)
{
    struct sstream *st = &ss->streams[slot];

    st->unacked += (uint32_t)len;
    ss->session_unacked += (uint32_t)len;
    if (st->unacked >= SPDY_WINDOW_ACK && !st->remote_fin) {
        send_frame(ss, &(struct spdy_frame){.type = SPDY_WINDOW_UPDATE,
                                            .stream_id = st->id,
                                            .delta_window = st->unacked});
        st->unacked = 0;
    }
    if (ss->session_unacked >= SPDY_WINDOW_ACK) {
        send_frame(ss, &(struct spdy_frame){.type = SPDY_WINDOW_UPDATE,
                                            .delta_window = ss->session_unacked});
        ss->session_unacked = 0;
    }
}

static void on_resize_data(struct spdy_sess *ss, const uint8_t *data, size_t len)
{
    struct chan_size size;
    struct crib_err err;
    size_t used;
    int r;

    while (len > 0) {
        r = chan_resize_feed(ss->resize, (const char *)data, len, &used, &size, &err);
        if (r < 0) {
            ss->is_broken = true;
            session_log_end(ss->s, err.msg);
            return;
        }
        if (r == 0)
            return;
        procio_resize(&ss->io, size.width, size.height);
        data += used;
        len -= used;
    }
}

static void on_stream_end(struct spdy_sess *ss, int slot)
{
    struct sstream *st = &ss->streams[slot];

    if (st->type == CHAN_STDIN)
        procio_stdin_close(&ss->io);
    else if (st->type == SST_PF_DATA && st->fwd >= 0)
        sink_close(&ss->fwd[st->fwd].sink);
    free_stream_if_done(ss, slot);
}

static void on_data(struct spdy_sess *ss, const struct spdy_frame *f)
{
    int slot = find_stream(ss, f->stream_id);
    struct sstream *st;

    if (slot < 0 || ss->streams[slot].remote_fin) {
        send_rst(ss, f->stream_id, SPDY_RST_INVALID_STREAM);
        return;
    }
    st = &ss->streams[slot];
    if (f->len)
        ack_window(ss, slot, f->len);
    if (st->type == CHAN_STDIN)
        procio_stdin(&ss->io, f->data, f->len);
    else if (st->type == CHAN_RESIZE)
        on_resize_data(ss, f->data, f->len);
    else if (st->type == SST_PF_DATA && st->fwd >= 0)
        sink_put(&ss->fwd[st->fwd].sink, f->data, f->len);
    if (f->flags & SPDY_FLAG_FIN) {
        st->remote_fin = true;
        on_stream_end(ss, slot);
    }
}

static void on_rst(struct spdy_sess *ss, const struct spdy_frame *f)
{
    int slot = find_stream(ss, f->stream_id);
    struct sstream *st;

    if (slot < 0)
        return;
    st = &ss->streams[slot];
    st->remote_fin = st->local_fin = true;
    if (st->fwd >= 0)
        forward_end(ss, st->fwd, NULL);
    else
        on_stream_end(ss, slot);
}

static void on_frame(struct spdy_sess *ss, const struct spdy_frame *f)
{
    switch (f->type) {
    case SPDY_SYN_STREAM:
    case SPDY_SYN_REPLY:
    case SPDY_HEADERS: on_syn(ss, f); break;
    case SPDY_DATA: on_data(ss, f); break;
    case SPDY_RST_STREAM: on_rst(ss, f); break;
    /* Like spdystream, the kubelet's own streaming server, crib leaves flow
     * control to TCP: it grants windows for what it reads but does not hold
     * back output for a peer's (the conn's bounded queue holds it back). */
    case SPDY_SETTINGS:
    case SPDY_WINDOW_UPDATE: break;
    case SPDY_PING:
        /* Odd ids are the client's own pings: answer them, not our echoes. */
        if (f->ping_id & 1)
            send_frame(ss, f);
        break;
    default: break; /* GOAWAY: no new streams come; the socket says when it is gone */
    }
}

static void parse_frames(struct spdy_sess *ss)
{
    size_t off = 0, used;
    struct spdy_frame f;
    struct crib_err err;
    int r;

    while (!ss->is_broken && (r = spdy_frame_parse(ss->in + off, ss->in_len - off,
                                                   SPDY_FRAME_IN_MAX, &f, &used, &err)) != 0) {
        if (r < 0) {
            ss->is_broken = true;
            session_log_end(ss->s, err.msg);
            break;
        }
        on_frame(ss, &f);
        off += used;
    }
    memmove(ss->in, ss->in + off, ss->in_len - off);
    ss->in_len -= off;
}

static void read_client(struct spdy_sess *ss)
{
    size_t cap = SPDY_FRAME_IN_MAX + SPDY_HEADER_LEN;
    ssize_t n = conn_read(&ss->s->conn, ss->in + ss->in_len, cap - ss->in_len);

    if (n == -EAGAIN)
        return;
    if (n <= 0) {
        ss->is_gone = true;
        return;
    }
    ss->in_len += (size_t)n;
    parse_frames(ss);
}

/* ---- the loop ---- */

static bool may_read_client(const struct spdy_sess *ss)
{
    if (ss->s->conn.out_len >= 2 * CONN_OUT_SOFT_MAX || procio_stdin_full(&ss->io))
        return false;
    for (int i = 0; i < SPDY_MAX_FORWARDS; i++)
        if (ss->fwd[i].in_use && sink_full(&ss->fwd[i].sink))
            return false;
    return true;
}

static size_t forward_room(const struct spdy_sess *ss)
{
    return conn_out_full(&ss->s->conn) ? 0 : PROCIO_CHUNK;
}

static size_t forward_poll_add(struct spdy_sess *ss, struct pollfd *pfds)
{
    size_t n = 0;

    for (int i = 0; i < SPDY_MAX_FORWARDS; i++) {
        struct forward *f = &ss->fwd[i];
        short events = 0;

        f->pfd = -1;
        if (!f->in_use || f->fd < 0)
            continue;
        if (!f->is_out_eof && forward_room(ss) > 0)
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

static void forward_io(struct spdy_sess *ss, int i, short revents)
{
    struct forward *f = &ss->fwd[i];

    if (revents & (POLLOUT | POLLERR | POLLHUP))
        sink_flush(&f->sink);
    if (revents & (POLLIN | POLLERR | POLLHUP) && !f->is_out_eof) {
        size_t room = forward_room(ss);
        ssize_t n = room ? read(f->fd, ss->io.buf, room) : -1;

        if (n > 0) {
            send_data(ss, f->data, ss->io.buf, (size_t)n, false);
        } else if (room && (n == 0 || (errno != EAGAIN && errno != EINTR))) {
            f->is_out_eof = true;
            send_data(ss, f->data, NULL, 0, true);
        }
    }
    /* Both directions over: the kubelet closes both streams. */
    if (f->is_out_eof && f->sink.is_closed)
        forward_end(ss, i, NULL);
}

static int poll_timeout(const struct spdy_sess *ss, uint64_t deadline_ms)
{
    uint64_t now = session_now_ms();

    if (conn_has_buffered_input(&ss->s->conn))
        return 0;
    if (ss->s->req->kind == STREAM_PORTFORWARD || ss->io.is_started)
        return -1;
    return now >= deadline_ms ? 0 : (int)(deadline_ms - now);
}

/* One round of poll(); false once the session is over. */
static bool step(struct spdy_sess *ss, uint64_t deadline_ms)
{
    struct pollfd pfds[SPDY_MAX_POLLFDS];
    const struct procio_sender *snd = &ss->snd;
    size_t n = 2, n_io, n_fwd;

    pfds[0] = (struct pollfd){.fd = ss->s->conn.fd,
                              .events = (may_read_client(ss) ? POLLIN : 0) |
                                        (conn_wants_write(&ss->s->conn) ? POLLOUT : 0)};
    pfds[1] = (struct pollfd){.fd = ss->s->stop_fd, .events = POLLIN};
    n_io = procio_poll_add(&ss->io, pfds + n, snd);
    n += n_io;
    n_fwd = forward_poll_add(ss, pfds + n);
    if (poll(pfds, n + n_fwd, poll_timeout(ss, deadline_ms)) < 0 && errno != EINTR)
        return false;
    if (pfds[1].revents)
        return false;
    if ((pfds[0].revents & POLLOUT) && conn_flush(&ss->s->conn) < 0)
        ss->is_gone = true;
    if ((pfds[0].revents & (POLLIN | POLLHUP | POLLERR)) || conn_has_buffered_input(&ss->s->conn))
        read_client(ss);
    procio_poll_handle(&ss->io, pfds + 2, snd);
    /* Only forwards that were in the poll set: frames read above may have made new ones. */
    for (int i = 0; i < SPDY_MAX_FORWARDS; i++)
        if (ss->fwd[i].in_use && ss->fwd[i].pfd >= 0 && (size_t)ss->fwd[i].pfd < n_fwd &&
            pfds[n + ss->fwd[i].pfd].revents)
            forward_io(ss, i, pfds[n + ss->fwd[i].pfd].revents);
    if (conn_flush(&ss->s->conn) < 0)
        ss->is_gone = true;
    if (ss->is_broken || ss->is_gone)
        return false;
    if (ss->s->req->kind != STREAM_PORTFORWARD && !ss->io.is_started &&
        session_now_ms() >= deadline_ms) {
        session_log_end(ss->s, "the client did not open its streams in time");
        return false;
    }
    return !procio_done(&ss->io);
}

static void finish_exec(struct spdy_sess *ss, bool is_abandoned)
{
    struct crib_err err;
    int code;
    int r = procio_finish(&ss->io, is_abandoned, &code, &err);

    if (is_abandoned)
        return;
    if (r < 0)
        send_status(ss, 0, err.msg);
    else
        send_status(ss, code < 0 ? 0 : code, NULL);
}

static void sess_done(struct spdy_sess *ss)
{
    for (int i = 0; i < SPDY_MAX_FORWARDS; i++)
        if (ss->fwd[i].in_use)
            forward_end(ss, i, NULL);
    chan_resize_decoder_free(ss->resize);
    spdy_codec_free(ss->codec);
    free(ss->in);
}

static int upgrade(struct spdy_sess *ss)
{
    const char *names[8], *chosen = NULL;
    size_t n = session_protocols(ss->s, CHAN_SPDY, names, ARRAY_SIZE(names));
    struct http_header h[3] = {{"Connection", "Upgrade"}, {"Upgrade", "SPDY/3.1"}};
    _cleanup_free_ char *resp = NULL;
    struct crib_err err;
    size_t len;

    if (http_header_choose(ss->s->http, "X-Stream-Protocol-Version", names, n, &chosen, &err) < 0) {
        session_http_error(ss->s, 403, err.msg);
        return -1;
    }
    /* A client that names no protocol speaks the first one (kubelet's rule). */
    ss->proto = chan_proto_lookup(
        chosen ? chosen : names[n - 1],
        ss->s->req->kind == STREAM_PORTFORWARD ? CHAN_PORTFORWARD : CHAN_EXEC, CHAN_SPDY);
    if (chosen)
        h[2] = (struct http_header){"X-Stream-Protocol-Version", chosen};
    if (http_response_format(101, h, chosen ? 3 : 2, NULL, &resp, &len, &err) < 0 ||
        conn_write_all(&ss->s->conn, resp, len, SESSION_LINGER_MS, &err) < 0)
        return -1;
    return 0;
}

void spdy_session_run(struct session *s)
{
    _cleanup_free_ struct spdy_sess *ss = xcalloc(1, sizeof(*ss));
    struct crib_err err;
    uint64_t deadline_ms = session_now_ms() + SESSION_STREAM_CREATION_MS;
    bool is_over;

    ss->s = s;
    memset(ss->chan_stream, -1, sizeof(ss->chan_stream));
    procio_init(&ss->io, s->req);
    ss->snd = (struct procio_sender){ss, exec_room, exec_send, exec_close};
    ss->in = xmalloc(SPDY_FRAME_IN_MAX + SPDY_HEADER_LEN);
    ss->resize = chan_resize_decoder_new();
    if (spdy_codec_new(&ss->codec, &err) < 0 || upgrade(ss) < 0) {
        sess_done(ss);
        return;
    }
    /* Frames the client sent right behind its request. */
    memcpy(ss->in, s->early, s->n_early < SPDY_FRAME_IN_MAX ? s->n_early : SPDY_FRAME_IN_MAX);
    ss->in_len = s->n_early < SPDY_FRAME_IN_MAX ? s->n_early : SPDY_FRAME_IN_MAX;
    parse_frames(ss);
    while (!ss->is_broken && step(ss, deadline_ms))
        ;
    is_over = procio_done(&ss->io);
    finish_exec(ss, !is_over);
    if (is_over || s->req->kind == STREAM_PORTFORWARD) {
        send_frame(ss, &(struct spdy_frame){.type = SPDY_GOAWAY});
        session_linger(s);
    } else if (ss->is_broken) {
        session_linger(s); /* a start failure's status, or nothing */
    }
    sess_done(ss);
}
