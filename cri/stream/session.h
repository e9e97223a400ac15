/* What the server hands a session once the upgrade request is read: shared
 * by server.c, spdysess.c and wssess.c only. */
#pragma once

#include <stdint.h>

#include "cri/stream/channel.h"
#include "cri/stream/conn.h"
#include "cri/stream/http.h"
#include "cri/stream/server.h"

/* A session whose client never opens the streams it asked for ends after this (the kubelet's 30 s).
 */
#define SESSION_STREAM_CREATION_MS 30000
/* Time a finished session gives the client to read the last bytes. */
#define SESSION_LINGER_MS 10000

struct session {
    struct stream_conn conn;
    struct stream_request *req; /* taken from the token table: the session's */
    const struct http_request *http;
    const uint8_t *early; /* bytes the client sent after the head */
    size_t n_early;
    int stop_fd; /* readable once the server stops */
};

/* Serves an upgrade to SPDY/3.1 (Upgrade: SPDY/3.1) until the session ends. */
void spdy_session_run(struct session *s);

/* Serves a WebSocket upgrade until the session ends. */
void ws_session_run(struct session *s);

/* Answers with a plain HTTP error and nothing else (the connection then ends). */
void session_http_error(struct session *s, int status, const char *message);

/* Sends what is queued, waiting up to SESSION_LINGER_MS for a slow client. */
void session_linger(struct session *s);

/* A monotonic clock in ms. */
uint64_t session_now_ms(void);

/* The kind's protocols over transport, best first (static strings). */
size_t session_protocols(const struct session *s, unsigned transport, const char **names, size_t n);

/* Logs why a session ended early (debug: clients go away all the time). */
void session_log_end(const struct session *s, const char *why);
