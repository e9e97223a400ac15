/* The streaming server: the HTTP(S) endpoint whose URLs Exec, Attach and
 * PortForward return. A request is checked by the RPC, stored under a
 * single-use token, and served once a client comes with the token and
 * upgrades to SPDY/3.1 or WebSocket. One thread accepts; each session runs
 * on a thread of its own (at most max_sessions), poll()ing its client and
 * its process, so no session can stall another or the CRI call loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum stream_kind { STREAM_EXEC, STREAM_ATTACH, STREAM_PORTFORWARD };

/* The process side of an exec or attach session, as start() leaves it. Every
 * fd is the session's: it closes them. */
struct stream_proc {
    int stdin_fd;   /* -1: none */
    int stdout_fd;  /* stdout, or the terminal with tty; -1: none */
    int stderr_fd;  /* -1: none */
    int exit_fd;    /* readable once the process has ended (a pidfd); -1: none */
    bool is_framed; /* attach: stdout_fd is conmon's attach socket, whose messages start
                     * with a pipe byte (2 stdout, 3 stderr), and stdin_fd the same socket */
};

struct stream_request;

/* What a request does; ctx is the request's own. Called on its session's
 * thread, never with a lock of the server held. */
struct stream_target_ops {
    /* Exec and attach: starts the process (joins it, for attach). */
    int (*start)(void *ctx, const struct stream_request *req, struct stream_proc *ret,
                 struct crib_err *err);
    /* A terminal resize asked for by the client; failures are the target's to log. */
    void (*resize)(void *ctx, uint16_t width, uint16_t height);
    /* Ends a started process: with is_abandoned (the client went away) it kills
     * what still runs; either way it reaps and returns the exit code (-1 when
     * there is none, as for attach). */
    int (*finish)(void *ctx, bool is_abandoned, int *ret_exit_code, struct crib_err *err);
    /* Port-forward: a connected stream socket to port in the pod. */
    int (*connect)(void *ctx, uint16_t port, int *ret_fd, struct crib_err *err);
    void (*free)(void *ctx);
};

struct stream_request {
    enum stream_kind kind;
    bool has_stdin, has_stdout, has_stderr, is_tty;
    const struct stream_target_ops *ops;
    void *ctx;
};

/* Frees req and its ctx (ops->free); NULL is fine. */
void stream_request_free(struct stream_request *req);

struct stream_server_options {
    const char *address;            /* an IPv4 or IPv6 literal */
    uint16_t port;                  /* 0: a free port, chosen at start */
    const char *tls_cert, *tls_key; /* PEM files; both NULL or "": plain HTTP */
    unsigned token_ttl_ms;
    unsigned max_sessions; /* past this, a client gets 503 */
    unsigned max_tokens;   /* requests waiting for their client */
};

struct stream_server;

/* Listens and starts the accept thread.
 * Errors: CRIB_INVALID (address, TLS files), CRIB_INTERNAL (bind). */
int stream_server_start(const struct stream_server_options *opts, struct stream_server **ret,
                        struct crib_err *err);

/* Stops accepting, ends every session (killing what their execs run) and
 * frees the server; NULL is fine. */
void stream_server_stop(struct stream_server *s);

/* Stores req_owned (freed on failure too) and returns its URL, e.g.
 * http://127.0.0.1:PORT/exec/TOKEN; *ret_url is the caller's to free().
 * Errors: CRIB_LIMIT (too many waiting), CRIB_INTERNAL. */
int stream_server_url(struct stream_server *s, struct stream_request *req_owned, char **ret_url,
                      struct crib_err *err);

/* The port the server listens on (the chosen one when it was 0). */
uint16_t stream_server_port(const struct stream_server *s);

/* Sessions running now. */
unsigned stream_server_sessions(struct stream_server *s);
