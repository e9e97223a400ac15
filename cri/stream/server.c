#include "cri/stream/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cri/stream/session.h"
#include "cri/stream/tokens.h"

/* A client has this long to send its request head (and finish TLS). */
#define SERVER_HEAD_TIMEOUT_MS 10000

struct stream_server {
    int listen_fd;
    int stop_fd; /* an eventfd: every session and the acceptor poll it */
    SSL_CTX *tls;
    char *base_url; /* "http://127.0.0.1:PORT" */
    uint16_t port;
    unsigned max_sessions;
    pthread_t acceptor;
    pthread_mutex_t lock; /* guards tokens and n_sessions; never held across I/O */
    pthread_cond_t sessions_done;
    struct tokens *tokens;
    unsigned n_sessions;
};

void stream_request_free(struct stream_request *req)
{
    if (!req)
        return;
    if (req->ops && req->ops->free)
        req->ops->free(req->ctx);
    free(req);
}

static void request_free(void *v)
{
    stream_request_free(v);
}

uint64_t session_now_ms(void)
{
    return (uint64_t)clock_mono_ms();
}

void session_log_end(const struct session *s, const char *why)
{
    (void)s;
    log_debug("streaming session ended: %s", why);
}

static int wait_fd(int fd, short events, uint64_t deadline_ms);

/* Closing with unread bytes would reset the connection, and the client could
 * lose the answer: end our side, then drop what still comes, for a while. */
static void linger_close(struct session *s)
{
    uint64_t deadline_ms = session_now_ms() + 1000;
    size_t dropped = 0;
    char buf[4096];

    shutdown(s->conn.fd, SHUT_WR);
    while (dropped < HTTP_HEAD_MAX * 4) {
        ssize_t n = conn_read(&s->conn, buf, sizeof(buf));

        if (n == -EAGAIN && wait_fd(s->conn.fd, POLLIN, deadline_ms) == 0)
            continue;
        if (n <= 0)
            return;
        dropped += (size_t)n;
    }
}

void session_http_error(struct session *s, int status, const char *message)
{
    _cleanup_free_ char *resp = NULL;
    struct crib_err err;
    size_t len;

    if (http_response_format(status, NULL, 0, message, &resp, &len, &err) < 0 ||
        conn_write_all(&s->conn, resp, len, 1000, &err) < 0)
        return; /* a gone client hears nothing */
    linger_close(s);
}

void session_linger(struct session *s)
{
    struct crib_err err;

    (void)conn_write_all(&s->conn, NULL, 0, SESSION_LINGER_MS, &err); /* as above */
    /* A client still granting window for the last frames would otherwise get
     * a reset, which can cost it those frames. */
    linger_close(s);
}

size_t session_protocols(const struct session *s, unsigned transport, const char **names, size_t n)
{
    unsigned kind = s->req->kind == STREAM_PORTFORWARD ? CHAN_PORTFORWARD : CHAN_EXEC;
    size_t k = chan_proto_names(kind, transport, names, n);

    return k < n ? k : n;
}

/* ---- one connection ---- */

struct conn_job {
    struct stream_server *srv;
    int fd;
};

static int wait_fd(int fd, short events, uint64_t deadline_ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    uint64_t now = session_now_ms();

    if (now >= deadline_ms)
        return -ETIMEDOUT;
    return poll(&p, 1, (int)(deadline_ms - now)) > 0 ? 0 : -ETIMEDOUT;
}

static int tls_accept(struct stream_server *srv, int fd, SSL **ret, uint64_t deadline_ms)
{
    SSL *ssl = SSL_new(srv->tls);
    int r;

    if (!ssl)
        return -ENOMEM;
    SSL_set_fd(ssl, fd);
    while ((r = SSL_accept(ssl)) != 1) {
        int e = SSL_get_error(ssl, r);

        ERR_clear_error();
        if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
            wait_fd(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline_ms) < 0) {
            SSL_free(ssl);
            return -EPROTO;
        }
    }
    *ret = ssl;
    return 0;
}

/* Reads the request head; *ret_used is how much of buf it took. */
static int read_head(struct session *s, struct http_parser *p, uint8_t *buf, size_t size,
                     size_t *ret_len, size_t *ret_used, uint64_t deadline_ms)
{
    struct crib_err err;
    size_t len = 0;

    for (;;) {
        ssize_t n = conn_read(&s->conn, buf, size);
        int r;

        if (n == -EAGAIN) {
            if (wait_fd(s->conn.fd, POLLIN, deadline_ms) < 0)
                return -ETIMEDOUT;
            continue;
        }
        if (n <= 0)
            return -EPIPE;
        len = (size_t)n;
        r = http_parser_feed(p, buf, len, ret_used, &err);
        if (r < 0) {
            session_http_error(s, p->status, err.msg);
            return r;
        }
        if (r == 1) {
            *ret_len = len;
            return 0;
        }
    }
}

/* "/exec/TOKEN" and the like: the kind and the token. */
static bool parse_path(const char *path, enum stream_kind *ret_kind, const char **ret_token)
{
    static const struct {
        const char *prefix;
        enum stream_kind kind;
    } routes[] = {{"/exec/", STREAM_EXEC},
                  {"/attach/", STREAM_ATTACH},
                  {"/portforward/", STREAM_PORTFORWARD}};

    for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
        size_t n = strlen(routes[i].prefix);

        if (strncmp(path, routes[i].prefix, n) == 0) {
            *ret_kind = routes[i].kind;
            *ret_token = path + n;
            return true;
        }
    }
    return false;
}

static struct stream_request *take_request(struct stream_server *srv, const char *path)
{
    _cleanup_unlock_ pthread_mutex_t *guard = NULL;
    struct stream_request *req;
    enum stream_kind kind;
    const char *token;

    if (!parse_path(path, &kind, &token))
        return NULL;
    guard = lock_guard(&srv->lock);
    req = tokens_take(srv->tokens, session_now_ms(), token);
    if (req && req->kind != kind) {
        stream_request_free(req); /* a token is spent even on the wrong path */
        return NULL;
    }
    return req;
}

static void serve_upgraded(struct session *s)
{
    const char *upgrade = http_header_get(s->http, "Upgrade");

    if (upgrade && strcasecmp(upgrade, "SPDY/3.1") == 0)
        spdy_session_run(s);
    else if (upgrade && strcasecmp(upgrade, "websocket") == 0)
        ws_session_run(s);
    else
        session_http_error(s, 400, "the request must upgrade to SPDY/3.1 or websocket");
}

static void serve(struct stream_server *srv, struct session *s)
{
    _cleanup_free_ struct http_parser *p = xmalloc(sizeof(*p));
    _cleanup_free_ uint8_t *buf = xmalloc(HTTP_HEAD_MAX);
    uint64_t deadline_ms = session_now_ms() + SERVER_HEAD_TIMEOUT_MS;
    size_t len = 0, used = 0;

    http_parser_init(p);
    if (read_head(s, p, buf, HTTP_HEAD_MAX, &len, &used, deadline_ms) < 0)
        return;
    s->http = &p->req;
    s->req = take_request(srv, p->req.path);
    if (!s->req) {
        session_http_error(s, 404, "unknown or used streaming token");
        return;
    }
    s->early = buf + used;
    s->n_early = len - used;
    serve_upgraded(s);
    stream_request_free(TAKE_PTR(s->req));
}

static void session_end(struct stream_server *srv)
{
    _cleanup_unlock_ pthread_mutex_t *guard = lock_guard(&srv->lock);

    if (--srv->n_sessions == 0)
        pthread_cond_broadcast(&srv->sessions_done);
}

static void *session_main(void *arg)
{
    _cleanup_free_ struct conn_job *job = arg;
    struct stream_server *srv = job->srv;
    struct session s = {.stop_fd = srv->stop_fd};
    SSL *ssl = NULL;

    if (!srv->tls ||
        tls_accept(srv, job->fd, &ssl, session_now_ms() + SERVER_HEAD_TIMEOUT_MS) == 0) {
        conn_init(&s.conn, job->fd, ssl);
        serve(srv, &s);
        conn_done(&s.conn);
    } else {
        close(job->fd);
    }
    session_end(srv);
    return NULL;
}

/* ---- accepting ---- */

/* Over the cap: a short 503 (best effort, never waiting), then close. */
static void refuse(int fd)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
                               "Content-Length: 0\r\n\r\n";

    (void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT); /* see above */
    close(fd);
}

/* Dead peers are found by TCP keepalive within about two minutes. */
static void keepalive(int fd)
{
    int on = 1, idle = 60, intvl = 10, cnt = 6;

    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

static bool session_slot(struct stream_server *srv)
{
    _cleanup_unlock_ pthread_mutex_t *guard = lock_guard(&srv->lock);

    if (srv->n_sessions >= srv->max_sessions)
        return false;
    srv->n_sessions++;
    return true;
}

static void start_session(struct stream_server *srv, int fd)
{
    struct conn_job *job;
    pthread_attr_t attr;
    pthread_t t;
    int r;

    if (!session_slot(srv)) {
        refuse(fd);
        return;
    }
    keepalive(fd);
    job = xmalloc(sizeof(*job));
    *job = (struct conn_job){srv, fd};
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    r = pthread_create(&t, &attr, session_main, job);
    pthread_attr_destroy(&attr);
    if (r != 0) {
        log_warn("streaming: cannot start a session thread: %s, ignoring", strerror(r));
        free(job);
        refuse(fd);
        session_end(srv);
    }
}

static void *acceptor_main(void *arg)
{
    struct stream_server *srv = arg;

    for (;;) {
        struct pollfd p[2] = {{.fd = srv->listen_fd, .events = POLLIN},
                              {.fd = srv->stop_fd, .events = POLLIN}};
        int fd;

        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0)
            start_session(srv, fd);
        else if (errno == EMFILE || errno == ENFILE)
            poll(NULL, 0, 100); /* out of fds: let sessions end rather than spin */
    }
    return NULL;
}

/* ---- the server ---- */

static int listen_on(const struct stream_server_options *o, int *ret_fd, uint16_t *ret_port,
                     struct crib_err *err)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    socklen_t len = sizeof(ss);
    _cleanup_close_ int fd = -1;
    int on = 1;

    if (inet_pton(AF_INET, o->address, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(o->port);
    } else if (inet_pton(AF_INET6, o->address, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(o->port);
    } else {
        return crib_fail(err, CRIB_INVALID, 0, "streaming address '%s' is not an IP address",
                         o->address);
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "streaming socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, (struct sockaddr *)&ss, ss.ss_family == AF_INET ? sizeof(*in4) : sizeof(*in6)) <
            0 ||
        listen(fd, 128) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "listen on %s port %u", o->address, o->port);
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *ret_port = ntohs(ss.ss_family == AF_INET ? in4->sin_port : in6->sin6_port);
    *ret_fd = TAKE_FD(fd);
    return 0;
}

static int tls_setup(const struct stream_server_options *o, SSL_CTX **ret, struct crib_err *err)
{
    SSL_CTX *ctx;

    if (!o->tls_cert || !*o->tls_cert)
        return 0;
    ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return crib_fail(err, CRIB_INTERNAL, 0, "TLS context");
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return crib_fail(err, CRIB_INVALID, 0,
                         "streaming TLS: cannot use certificate %s with key %s", o->tls_cert,
                         o->tls_key ? o->tls_key : "");
    }
    *ret = ctx;
    return 0;
}

static void server_free(struct stream_server *s)
{
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->stop_fd >= 0)
        close(s->stop_fd);
    SSL_CTX_free(s->tls);
    tokens_free(s->tokens);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->sessions_done);
    free(s->base_url);
    free(s);
}

int stream_server_start(const struct stream_server_options *opts, struct stream_server **ret,
                        struct crib_err *err)
{
    struct stream_server *s = xcalloc(1, sizeof(*s));
    bool is_v6 = strchr(opts->address, ':') != NULL;
    int r;

    s->listen_fd = s->stop_fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->sessions_done, NULL);
    s->max_sessions = opts->max_sessions;
    s->tokens = tokens_new(opts->max_tokens, opts->token_ttl_ms, request_free);
    r = tls_setup(opts, &s->tls, err);
    if (r >= 0)
        r = listen_on(opts, &s->listen_fd, &s->port, err);
    s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r >= 0 && s->stop_fd < 0)
        r = crib_fail(err, CRIB_INTERNAL, errno, "eventfd");
    if (r >= 0 && (r = -pthread_create(&s->acceptor, NULL, acceptor_main, s)) < 0)
        r = crib_fail(err, CRIB_INTERNAL, -r, "start the streaming server's thread");
    if (r < 0) {
        server_free(s);
        return r;
    }
    s->base_url = xasprintf("%s://%s%s%s:%u", s->tls ? "https" : "http", is_v6 ? "[" : "",
                            opts->address, is_v6 ? "]" : "", s->port);
    *ret = s;
    return 0;
}

void stream_server_stop(struct stream_server *s)
{
    uint64_t one = 1;

    if (!s)
        return;
    /* Sessions see the eventfd, kill what their execs run, and end. */
    if (write(s->stop_fd, &one, sizeof(one)) != sizeof(one))
        log_warn("streaming: cannot signal sessions to stop: %s, ignoring", strerror(errno));
    pthread_join(s->acceptor, NULL);
    pthread_mutex_lock(&s->lock);
    while (s->n_sessions > 0)
        pthread_cond_wait(&s->sessions_done, &s->lock);
    pthread_mutex_unlock(&s->lock);
    server_free(s);
}

int stream_server_url(struct stream_server *s, struct stream_request *req_owned, char **ret_url,
                      struct crib_err *err)
{
    static const char *const paths[] = {"exec", "attach", "portforward"};
    enum stream_kind kind = req_owned->kind;
    char token[TOKENS_TOKEN_LEN + 1];
    int r;

    pthread_mutex_lock(&s->lock);
    r = tokens_put(s->tokens, session_now_ms(), req_owned, token, err);
    pthread_mutex_unlock(&s->lock);
    if (r < 0)
        return r;
    *ret_url = xasprintf("%s/%s/%s", s->base_url, paths[kind], token);
    return 0;
}

uint16_t stream_server_port(const struct stream_server *s)
{
    return s->port;
}

unsigned stream_server_sessions(struct stream_server *s)
{
    _cleanup_unlock_ pthread_mutex_t *guard = lock_guard(&s->lock);

    return s->n_sessions;
}
