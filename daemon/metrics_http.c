#include "daemon/metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cri/stream/http.h"

/* A scraper that sends nothing, or reads nothing, is dropped after this. */
#define METRICS_IO_TIMEOUT_S 5
/* Scrapers served at once; one more waits in the listen backlog. */
#define METRICS_MAX_CONNS 8
/* How often idle scrapers are looked at for their deadline. */
#define METRICS_POLL_MS 1000

struct metrics_http {
    int listen_fd, stop_fd, port;
    pthread_t thread;
    bool serving; /* the thread runs */
    metrics_render_fn render;
    void *arg;
};

/* "HOST:PORT" or "[HOST6]:PORT" into a socket address. */
static int parse_address(const char *address, struct sockaddr_storage *ret, socklen_t *ret_len,
                         struct crib_err *err)
{
    const char *colon = strrchr(address, ':');
    char host[64];
    char *end;
    long port;

    if (!colon || colon == address || (size_t)(colon - address) >= sizeof(host))
        return crib_fail(err, CRIB_INVALID, 0, "metrics address '%s': want HOST:PORT", address);
    port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port < 0 || port > 65535)
        return crib_fail(err, CRIB_INVALID, 0, "metrics address '%s': bad port", address);
    snprintf(host, sizeof(host), "%.*s", (int)(colon - address), address);
    memset(ret, 0, sizeof(*ret));
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ret;

        host[strlen(host) - 1] = '\0';
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        *ret_len = sizeof(*a);
        if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1)
            return 0;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ret;

        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        *ret_len = sizeof(*a);
        if (inet_pton(AF_INET, host, &a->sin_addr) == 1)
            return 0;
    }
    return crib_fail(err, CRIB_INVALID, 0, "metrics address '%s': bad host", address);
}

static void send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the scraper went away or stalled: its loss */
        buf += n;
        len -= (size_t)n;
    }
}

static void respond(int fd, int status, const char *content_type, const char *body)
{
    struct http_header h[] = {{"Content-Type", content_type}};
    _cleanup_free_ char *resp = NULL;
    struct crib_err err;
    size_t len;

    if (http_response_format(status, h, 1, body, &resp, &len, &err) >= 0)
        send_all(fd, resp, len);
}

static void answer(struct metrics_http *m, int fd, const struct http_request *req)
{
    _cleanup_free_ char *text = NULL;

    if (strcmp(req->path, "/metrics") != 0) {
        respond(fd, 404, "text/plain", "not found: cribd serves /metrics\n");
        return;
    }
    if (strcmp(req->method, "GET") != 0) {
        respond(fd, 405, "text/plain", "GET only\n");
        return;
    }
    text = m->render(m->arg);
    if (!text)
        respond(fd, 500, "text/plain", "out of memory\n");
    else
        respond(fd, 200, "text/plain; version=0.0.4; charset=utf-8", text);
}

/* A scraper being read; its head is answered once complete. */
struct conn {
    int fd;
    struct timespec deadline;
    struct http_parser parser;
};

static bool past(const struct timespec *t)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

static void conn_close(struct conn **c)
{
    close((*c)->fd);
    free(*c);
    *c = NULL;
}

static void conn_open(struct conn **slot, int fd)
{
    struct timeval tv = {.tv_sec = METRICS_IO_TIMEOUT_S};
    struct conn *c = xmalloc(sizeof(*c));

    /* The answer is written at once: a scraper that does not read it is cut off. */
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    c->fd = fd;
    clock_gettime(CLOCK_MONOTONIC, &c->deadline);
    c->deadline.tv_sec += METRICS_IO_TIMEOUT_S;
    http_parser_init(&c->parser);
    *slot = c;
}

static void accept_one(struct metrics_http *m, struct conn **conns)
{
    int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0)
        return;
    for (size_t i = 0; i < METRICS_MAX_CONNS; i++)
        if (!conns[i]) {
            conn_open(&conns[i], fd);
            return;
        }
    respond(fd, 503, "text/plain", "too many scrapers at once\n");
    close(fd);
}

/* Reads what is there; answers and closes once the head is complete. */
static void conn_read(struct metrics_http *m, struct conn **slot)
{
    struct conn *c = *slot;
    char buf[4096];
    ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
    struct crib_err err;
    size_t used;
    int r;

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        conn_close(slot);
        return;
    }
    r = http_parser_feed(&c->parser, buf, (size_t)n, &used, &err);
    if (r < 0)
        respond(c->fd, c->parser.status, "text/plain", err.msg);
    else if (r == 1)
        answer(m, c->fd, &c->parser.req);
    if (r != 0)
        conn_close(slot);
}

/* One thread, a few scrapers at once, none of them able to hold it. */
static void *loop(void *arg)
{
    struct metrics_http *m = arg;
    struct conn *conns[METRICS_MAX_CONNS] = {0};
    struct pollfd fds[METRICS_MAX_CONNS + 2];

    for (;;) {
        size_t n = 0;

        fds[n++] = (struct pollfd){.fd = m->stop_fd, .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = m->listen_fd, .events = POLLIN};
        for (size_t i = 0; i < METRICS_MAX_CONNS; i++)
            fds[n++] = (struct pollfd){.fd = conns[i] ? conns[i]->fd : -1, .events = POLLIN};
        if (poll(fds, n, METRICS_POLL_MS) < 0 && errno != EINTR)
            break;
        if (fds[0].revents)
            break;
        for (size_t i = 0; i < METRICS_MAX_CONNS; i++) {
            if (conns[i] && fds[i + 2].revents)
                conn_read(m, &conns[i]);
            if (conns[i] && past(&conns[i]->deadline))
                conn_close(&conns[i]);
        }
        if (fds[1].revents & POLLIN)
            accept_one(m, conns);
    }
    for (size_t i = 0; i < METRICS_MAX_CONNS; i++)
        if (conns[i])
            conn_close(&conns[i]);
    return NULL;
}

static int listen_on(struct metrics_http *m, const char *address, struct crib_err *err)
{
    struct sockaddr_storage sa, bound;
    socklen_t len = 0, bound_len = sizeof(bound);
    int one = 1, r = parse_address(address, &sa, &len, err);

    if (r < 0)
        return r;
    m->listen_fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (m->listen_fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "metrics socket");
    setsockopt(m->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(m->listen_fd, (struct sockaddr *)&sa, len) < 0 || listen(m->listen_fd, 16) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "metrics address %s", address);
    getsockname(m->listen_fd, (struct sockaddr *)&bound, &bound_len);
    m->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    return 0;
}

int metrics_http_listen(const char *address, struct metrics_http **ret, struct crib_err *err)
{
    struct metrics_http *m = xcalloc(1, sizeof(*m));
    int r;

    m->listen_fd = -1;
    m->stop_fd = eventfd(0, EFD_CLOEXEC);
    r = m->stop_fd < 0 ? crib_fail(err, CRIB_INTERNAL, errno, "eventfd")
                       : listen_on(m, address, err);
    if (r < 0) {
        closep(&m->listen_fd);
        closep(&m->stop_fd);
        free(m);
        return r;
    }
    *ret = m;
    return 0;
}

int metrics_http_serve(struct metrics_http *m, metrics_render_fn render, void *arg,
                       struct crib_err *err)
{
    int r;

    m->render = render;
    m->arg = arg;
    r = pthread_create(&m->thread, NULL, loop, m);
    if (r != 0)
        return crib_fail(err, CRIB_INTERNAL, r, "start the metrics thread");
    m->serving = true;
    pthread_setname_np(m->thread, "metrics");
    return 0;
}

int metrics_http_port(const struct metrics_http *m)
{
    return m->port;
}

void metrics_http_stop(struct metrics_http *m)
{
    if (!m)
        return;
    (void)!write(m->stop_fd, &(uint64_t){1}, sizeof(uint64_t));
    if (m->serving)
        pthread_join(m->thread, NULL);
    close(m->listen_fd);
    close(m->stop_fd);
    free(m);
}
