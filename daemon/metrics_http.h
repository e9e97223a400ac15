/* cribd's own metrics endpoint: GET /metrics on a TCP address, answered by
 * one thread, one short connection at a time, so a scraper costs one
 * thread and a bounded buffer however it behaves. Off unless configured. */
#pragma once

#include "common/err.h"

struct metrics_http;

/* Makes the page; returns malloc'd text or NULL. */
typedef char *(*metrics_render_fn)(void *arg);

/* Listens on address ("127.0.0.1:9099", "[::1]:9099"; port 0: any free
 * one), so that a bad or busy address fails cribd's start before anything
 * is served. Errors: CRIB_INVALID (a bad address), CRIB_INTERNAL (bind,
 * listen). Serve with metrics_http_serve(); stop with metrics_http_stop(). */
int metrics_http_listen(const char *address, struct metrics_http **ret, struct crib_err *err);

/* Serves render's text from a thread of its own. Errors: CRIB_INTERNAL. */
int metrics_http_serve(struct metrics_http *m, metrics_render_fn render, void *arg,
                       struct crib_err *err);

/* The port it listens on. */
int metrics_http_port(const struct metrics_http *m);

/* Stops serving (a connection being served ends first) and frees m; NULL is fine. */
void metrics_http_stop(struct metrics_http *m);
