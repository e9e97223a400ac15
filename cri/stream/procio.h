/* The process side of an exec or attach session, shared by the SPDY and the
 * WebSocket sessions: stdin goes to a sink, stdout and stderr are read only
 * when the transport has room for them (its flow-control window and its
 * bounded queue), and the session is done once the outputs are closed and
 * the process has ended. Internal to cri/stream/. */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "cri/stream/channel.h"
#include "cri/stream/conn.h"
#include "cri/stream/server.h"

/* One read of a process's output; conmon's attach messages are at most 8 KiB plus the pipe byte. */
#define PROCIO_CHUNK (32u << 10)
/* pollfds procio_poll_add() may add. */
#define PROCIO_MAX_POLLFDS 4

/* How output reaches the client: room() says how much channel chan may send
 * now (0: do not read it), send() sends it, close() ends the channel. */
struct procio_sender {
    void *t;
    size_t (*room)(void *t, unsigned chan);
    void (*send)(void *t, unsigned chan, const void *data, size_t len);
    void (*close)(void *t, unsigned chan);
};

struct procio {
    struct stream_request *req; /* borrowed */
    struct stream_proc proc;
    struct sink in;
    bool is_started, is_out_open, is_err_open, has_exited;
    int idx_out, idx_err, idx_in, idx_exit; /* in the last poll set, or -1 */
    uint8_t buf[PROCIO_CHUNK];
};

/* Prepares p for req; nothing runs yet. */
void procio_init(struct procio *p, struct stream_request *req);

/* Starts (or joins) the process. Errors: the target's. */
int procio_start(struct procio *p, struct crib_err *err);

/* Adds p's fds to pfds (room for PROCIO_MAX_POLLFDS) as snd has room; returns how many. */
size_t procio_poll_add(struct procio *p, struct pollfd *pfds, const struct procio_sender *snd);

/* Acts on the poll results of p's fds: output goes to snd. */
void procio_poll_handle(struct procio *p, const struct pollfd *pfds,
                        const struct procio_sender *snd);

/* Client input: stdin bytes, stdin's end, a terminal size. */
void procio_stdin(struct procio *p, const void *data, size_t len);
void procio_stdin_close(struct procio *p);
void procio_resize(struct procio *p, uint16_t width, uint16_t height);

/* Whether stdin holds so much that the client must not be read. */
bool procio_stdin_full(const struct procio *p);

/* Whether the outputs are closed and the process has ended. */
bool procio_done(const struct procio *p);

/* Reaps the process (killing it first when is_abandoned) and closes its fds;
 * *ret_exit_code is -1 without one (attach). Safe to call once, started or not. */
int procio_finish(struct procio *p, bool is_abandoned, int *ret_exit_code, struct crib_err *err);
