#include "cri/stream/procio.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* conmon's attach socket tags each message with the pipe it came from. */
#define ATTACH_PIPE_STDOUT 2
#define ATTACH_PIPE_STDERR 3

void procio_init(struct procio *p, struct stream_request *req)
{
    memset(p, 0, sizeof(*p));
    p->req = req;
    p->proc = (struct stream_proc){.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .exit_fd = -1};
    sink_init(&p->in, -1, false);
    p->idx_out = p->idx_err = p->idx_in = p->idx_exit = -1;
}

static void nonblocking(int fd)
{
    if (fd >= 0)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int procio_start(struct procio *p, struct crib_err *err)
{
    int r = p->req->ops->start(p->req->ctx, p->req, &p->proc, err);

    if (r < 0)
        return r;
    p->is_started = true;
    nonblocking(p->proc.stdin_fd);
    nonblocking(p->proc.stdout_fd);
    nonblocking(p->proc.stderr_fd);
    /* The sink owns a stdin pipe from here; the attach socket stays stdout's. */
    sink_init(&p->in, p->proc.stdin_fd, p->proc.is_framed);
    p->proc.stdin_fd = -1;
    p->is_out_open = p->proc.stdout_fd >= 0;
    p->is_err_open = p->proc.stderr_fd >= 0;
    /* Attach has no process of its own to wait for: conmon's socket ends it. */
    p->has_exited = p->proc.exit_fd < 0;
    return 0;
}

static int add(struct pollfd *pfds, size_t *n, int fd, short events)
{
    pfds[*n] = (struct pollfd){.fd = fd, .events = events};
    return (int)(*n)++;
}

/* Attach output may be for either channel: read it only when both have room. */
static bool out_has_room(const struct procio *p, const struct procio_sender *snd)
{
    size_t need = p->proc.is_framed ? 8192 : 1;

    if (snd->room(snd->t, CHAN_STDOUT) < need)
        return false;
    return !p->proc.is_framed || p->req->is_tty || snd->room(snd->t, CHAN_STDERR) >= need;
}

size_t procio_poll_add(struct procio *p, struct pollfd *pfds, const struct procio_sender *snd)
{
    size_t n = 0;

    p->idx_out = p->idx_err = p->idx_in = p->idx_exit = -1;
    if (!p->is_started)
        return 0;
    if (p->is_out_open && out_has_room(p, snd))
        p->idx_out = add(pfds, &n, p->proc.stdout_fd, POLLIN);
    if (p->is_err_open && snd->room(snd->t, CHAN_STDERR) > 0)
        p->idx_err = add(pfds, &n, p->proc.stderr_fd, POLLIN);
    if (!p->in.is_closed && p->in.len > 0)
        p->idx_in = add(pfds, &n, p->in.fd, POLLOUT);
    if (!p->has_exited)
        p->idx_exit = add(pfds, &n, p->proc.exit_fd, POLLIN);
    return n;
}

/* Hands a closed output's end to the client, once. */
static void close_output(struct procio *p, unsigned chan, const struct procio_sender *snd)
{
    bool *open = chan == CHAN_STDOUT ? &p->is_out_open : &p->is_err_open;
    int *fd = chan == CHAN_STDOUT ? &p->proc.stdout_fd : &p->proc.stderr_fd;

    if (!*open)
        return;
    *open = false;
    close(*fd);
    *fd = -1;
    if (p->proc.is_framed) {
        /* The socket was stdin too. */
        p->in.is_closed = true;
        p->in.fd = -1;
        snd->close(snd->t, CHAN_STDERR);
    }
    snd->close(snd->t, chan);
}

static void read_plain(struct procio *p, unsigned chan, const struct procio_sender *snd)
{
    int fd = chan == CHAN_STDOUT ? p->proc.stdout_fd : p->proc.stderr_fd;
    size_t room = snd->room(snd->t, chan);
    ssize_t n = read(fd, p->buf, room < sizeof(p->buf) ? room : sizeof(p->buf));

    if (n > 0)
        snd->send(snd->t, chan, p->buf, (size_t)n);
    else if (n == 0 || (errno != EAGAIN && errno != EINTR))
        close_output(p, chan, snd); /* EIO: the terminal's last holder closed it */
}

static void read_framed(struct procio *p, const struct procio_sender *snd)
{
    ssize_t n = recv(p->proc.stdout_fd, p->buf, sizeof(p->buf), 0);
    unsigned chan;

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        /* The container ended (conmon closes its attach sockets) or conmon went. */
        close_output(p, CHAN_STDOUT, snd);
        p->has_exited = true;
        return;
    }
    chan = p->buf[0] == ATTACH_PIPE_STDERR && !p->req->is_tty ? CHAN_STDERR : CHAN_STDOUT;
    if (p->buf[0] != ATTACH_PIPE_STDOUT && p->buf[0] != ATTACH_PIPE_STDERR)
        return;
    if ((chan == CHAN_STDOUT && p->req->has_stdout) || (chan == CHAN_STDERR && p->req->has_stderr))
        snd->send(snd->t, chan, p->buf + 1, (size_t)n - 1);
}

void procio_poll_handle(struct procio *p, const struct pollfd *pfds,
                        const struct procio_sender *snd)
{
    if (p->idx_in >= 0 && pfds[p->idx_in].revents)
        sink_flush(&p->in);
    if (p->idx_out >= 0 && pfds[p->idx_out].revents) {
        if (p->proc.is_framed)
            read_framed(p, snd);
        else
            read_plain(p, CHAN_STDOUT, snd);
    }
    if (p->idx_err >= 0 && pfds[p->idx_err].revents)
        read_plain(p, CHAN_STDERR, snd);
    /* Output still in the pipes is read after the exit: done waits for both. */
    if (p->idx_exit >= 0 && pfds[p->idx_exit].revents)
        p->has_exited = true;
}

void procio_stdin(struct procio *p, const void *data, size_t len)
{
    if (p->is_started)
        sink_put(&p->in, data, len);
}

void procio_stdin_close(struct procio *p)
{
    if (p->is_started)
        sink_close(&p->in);
}

void procio_resize(struct procio *p, uint16_t width, uint16_t height)
{
    if (p->is_started && p->req->is_tty && p->req->ops->resize)
        p->req->ops->resize(p->req->ctx, width, height);
}

bool procio_stdin_full(const struct procio *p)
{
    return sink_full(&p->in);
}

bool procio_done(const struct procio *p)
{
    return p->is_started && !p->is_out_open && !p->is_err_open && p->has_exited;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int procio_finish(struct procio *p, bool is_abandoned, int *ret_exit_code, struct crib_err *err)
{
    int r;

    *ret_exit_code = -1;
    if (!p->is_started)
        return 0;
    p->is_started = false;
    if (!p->in.is_closed && !p->in.is_socket)
        close(p->in.fd);
    sink_done(&p->in);
    close_fd(&p->proc.stdout_fd);
    close_fd(&p->proc.stderr_fd);
    r = p->req->ops->finish(p->req->ctx, is_abandoned, ret_exit_code, err);
    close_fd(&p->proc.exit_fd);
    return r;
}
