#include "cri/server.h"

#include <errno.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/workq.h"
#include "common/xalloc.h"
#include "cri/internal.h"

/* The CRI's largest messages (ListContainers of a big node) stay far below. */
#define CRI_MAX_MESSAGE_BYTES (16 * 1024 * 1024)
/* Calls waiting for a worker beyond these are refused with RESOURCE_EXHAUSTED. */
#define CRI_SHORT_BACKLOG 1024
#define CRI_LONG_BACKLOG 256
/* After cancelling what is left at shutdown, how long handlers get to notice. */
#define CRI_CANCEL_GRACE_MS 5000

struct cri_server {
    grpc_server *server;
    grpc_completion_queue *cq; /* new-call notifications and the shutdown tag */
    void **handles;            /* registered method handles, by cri_methods index */
    pthread_t loop;
    struct workq *short_calls, *long_calls;
    struct cri_runtime *rt;
    atomic_bool stopping;
    atomic_uint_fast64_t next_id;
    unsigned shutdown_timeout_ms;
    char *socket_path;

    pthread_mutex_t lock; /* guards shutdown_done */
    pthread_cond_t done_cond;
    bool shutdown_done;
    int shutdown_tag;
};

/* One outstanding request for a method; once matched it is the call itself. */
struct slot {
    struct cri_server *srv;
    ssize_t index; /* into cri_methods, or -1 for methods crib does not know */
    struct cri_call call;
};

static void slot_free(struct slot *s)
{
    struct cri_call *c = &s->call;

    if (c->call)
        grpc_call_unref(c->call);
    grpc_metadata_array_destroy(&c->metadata);
    grpc_call_details_destroy(&c->details);
    if (c->payload)
        grpc_byte_buffer_destroy(c->payload);
    if (c->has_raw_reply)
        grpc_slice_unref(c->raw_reply);
    grpc_completion_queue_shutdown(c->cq);
    (void)grpc_completion_queue_pluck(c->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_completion_queue_destroy(c->cq);
    arena_done(&c->arena);
    pthread_mutex_destroy(&c->close_lock);
    free(s);
}

static void arm(struct cri_server *srv, ssize_t index)
{
    struct slot *s = xcalloc(1, sizeof(*s));
    struct cri_call *c = &s->call;
    grpc_call_error e;

    s->srv = srv;
    s->index = index;
    c->method = index >= 0 ? &cri_methods[index] : NULL;
    c->rt = srv->rt;
    c->cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_metadata_array_init(&c->metadata);
    grpc_call_details_init(&c->details);
    arena_init(&c->arena);
    pthread_mutex_init(&c->close_lock, NULL);
    if (index >= 0)
        e = grpc_server_request_registered_call(srv->server, srv->handles[index], &c->call,
                                                &c->deadline, &c->metadata, &c->payload, c->cq,
                                                srv->cq, s);
    else
        e = grpc_server_request_call(srv->server, &c->call, &c->details, &c->metadata, c->cq,
                                     srv->cq, s);
    if (e != GRPC_CALL_OK) {
        if (!atomic_load(&srv->stopping))
            log_error("cannot wait for calls of %s: gRPC error %d",
                      c->method ? c->method->name : "unknown methods", (int)e);
        slot_free(s);
    }
}

static void run_call(void *p)
{
    struct slot *s = p;

    cri_dispatch(&s->call);
    slot_free(s);
}

static void reject_busy(struct slot *s)
{
    struct crib_err err;

    crib_fail(&err, CRIB_LIMIT, 0, "cribd is busy: too many calls waiting for a worker");
    log_warn("%s refused: %s", s->call.method ? s->call.method->name : "call", err.msg);
    cri_reject(&s->call, &err);
    slot_free(s);
}

static void on_new_call(struct cri_server *srv, struct slot *s)
{
    const struct cri_method *m = s->call.method;
    bool is_long = m && (m->flags & (CRI_LONG | CRI_STREAM));

    if (!atomic_load(&srv->stopping))
        arm(srv, s->index);
    s->call.id = atomic_fetch_add(&srv->next_id, 1);
    if (workq_push(is_long ? srv->long_calls : srv->short_calls, run_call, s) < 0)
        reject_busy(s);
}

static void *loop_main(void *p)
{
    struct cri_server *srv = p;

    for (;;) {
        grpc_event ev =
            grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);

        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        if (ev.tag == &srv->shutdown_tag) {
            pthread_mutex_lock(&srv->lock);
            srv->shutdown_done = true;
            pthread_cond_broadcast(&srv->done_cond);
            pthread_mutex_unlock(&srv->lock);
        } else if (!ev.success) {
            slot_free(ev.tag); /* a request ended by shutdown */
        } else {
            on_new_call(srv, ev.tag);
        }
    }
    return NULL;
}

/* Removes a socket left by a dead server; refuses one a live server answers on. */
static int clear_stale_socket(const char *path, struct crib_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    _cleanup_close_ int fd = -1;
    struct stat st;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : crib_fail(err, CRIB_INTERNAL, errno, "stat %s", path);
    if (!S_ISSOCK(st.st_mode))
        return crib_fail(err, CRIB_EXISTS, EEXIST, "%s exists and is not a socket", path);
    if (strlen(path) >= sizeof(sa.sun_path))
        return crib_fail(err, CRIB_INVALID, ENAMETOOLONG, "socket path %s", path);
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return crib_fail(err, CRIB_EXISTS, EADDRINUSE, "another server is listening on %s", path);
    if (unlink(path) < 0 && errno != ENOENT)
        return crib_fail(err, CRIB_INTERNAL, errno, "remove stale socket %s", path);
    return 0;
}

static int prepare_socket(const char *path, struct crib_err *err)
{
    _cleanup_free_ char *copy = xstrdup(path);
    int r = fs_mkdir_p(dirname(copy), 0711, err);

    if (r < 0)
        return r;
    return clear_stale_socket(path, err);
}

static grpc_server *new_grpc_server(void)
{
    grpc_arg args[] = {
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
         .value.integer = CRI_MAX_MESSAGE_BYTES},
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
         .value.integer = CRI_MAX_MESSAGE_BYTES},
    };
    grpc_channel_args ch = {.num_args = ARRAY_SIZE(args), .args = args};

    return grpc_server_create(&ch, NULL);
}

static int listen_on(struct cri_server *srv, const char *path, struct crib_err *err)
{
    _cleanup_free_ char *addr = xasprintf("unix:%s", path);
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    /* The socket is made here with the umask's mode: 0660 from the start, so
     * no client ever finds it open wider (it is chmod-ed again after). */
    mode_t old = umask(0117);
    int port = grpc_server_add_http2_port(srv->server, addr, creds);

    umask(old);
    grpc_server_credentials_release(creds);
    if (port == 0)
        return crib_fail(err, CRIB_INTERNAL, 0, "cannot listen on %s", path);
    return 0;
}

static int register_methods(struct cri_server *srv, struct crib_err *err)
{
    srv->handles = xcalloc(cri_n_methods, sizeof(*srv->handles));
    for (size_t i = 0; i < cri_n_methods; i++) {
        srv->handles[i] = grpc_server_register_method(srv->server, cri_methods[i].path, NULL,
                                                      GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
        if (!srv->handles[i])
            return crib_fail(err, CRIB_INTERNAL, 0, "cannot register %s", cri_methods[i].path);
    }
    return 0;
}

static void server_free(struct cri_server *srv)
{
    if (srv->server)
        grpc_server_destroy(srv->server);
    if (srv->cq) {
        grpc_completion_queue_shutdown(srv->cq);
        if (srv->loop)
            pthread_join(srv->loop, NULL);
        grpc_completion_queue_destroy(srv->cq);
    }
    workq_free(srv->short_calls);
    workq_free(srv->long_calls);
    cri_events_stop(srv->rt); /* no call is left to read the hub */
    cri_stats_stop(srv->rt);
    cri_rpcstats_stop(srv->rt);
    pthread_cond_destroy(&srv->done_cond);
    pthread_mutex_destroy(&srv->lock);
    free(srv->handles);
    free(srv->socket_path);
    free(srv);
}

/* Before grpc_server_start a failure only needs server_free(); after it, the
 * server must be shut down first (cri_server_stop). */
static int serve(struct cri_server *srv, bool *ret_started, struct crib_err *err)
{
    int r = register_methods(srv, err);

    if (r >= 0)
        r = listen_on(srv, srv->socket_path, err);
    if (r < 0)
        return r;
    r = pthread_create(&srv->loop, NULL, loop_main, srv);
    if (r != 0)
        return crib_fail(err, CRIB_INTERNAL, r, "start the call loop");
    pthread_setname_np(srv->loop, "cri-loop");
    grpc_server_start(srv->server);
    *ret_started = true;
    for (size_t i = 0; i < cri_n_methods; i++)
        arm(srv, (ssize_t)i);
    arm(srv, -1);
    if (chmod(srv->socket_path, 0660) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "chmod %s", srv->socket_path);
    return 0;
}

int cri_server_start(const struct cri_server_options *opts, struct cri_server **ret_server,
                     struct crib_err *err)
{
    struct cri_server *srv;
    bool started = false;
    int r = prepare_socket(opts->socket_path, err);

    if (r < 0)
        return r;
    srv = xcalloc(1, sizeof(*srv));
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->done_cond, NULL);
    srv->rt = opts->runtime;
    srv->shutdown_timeout_ms = opts->shutdown_timeout_ms;
    srv->socket_path = xstrdup(opts->socket_path);
    srv->short_calls = workq_new("cri-short", opts->workers, CRI_SHORT_BACKLOG);
    srv->long_calls = workq_new("cri-long", opts->long_workers, CRI_LONG_BACKLOG);
    cri_events_start(srv->rt);
    cri_stats_start(srv->rt);
    cri_rpcstats_start(srv->rt);
    srv->server = new_grpc_server();
    srv->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(srv->server, srv->cq, NULL);
    r = serve(srv, &started, err);
    if (r < 0) {
        if (started)
            (void)cri_server_stop(srv); /* no call can be running yet */
        else
            server_free(srv);
        return r;
    }
    *ret_server = srv;
    return 0;
}

/* Waits for the shutdown notification up to timeout_ms; true if it came. */
static bool wait_shutdown(struct cri_server *srv, unsigned timeout_ms)
{
    struct timespec until;
    bool done;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&srv->lock);
    while (!srv->shutdown_done)
        if (pthread_cond_timedwait(&srv->done_cond, &srv->lock, &until) == ETIMEDOUT)
            break;
    done = srv->shutdown_done;
    pthread_mutex_unlock(&srv->lock);
    return done;
}

int cri_server_stop(struct cri_server *srv)
{
    if (!srv)
        return 0;
    atomic_store(&srv->stopping, true);
    cri_events_end_streams(srv->rt);
    grpc_server_shutdown_and_notify(srv->server, srv->cq, &srv->shutdown_tag);
    if (!wait_shutdown(srv, srv->shutdown_timeout_ms)) {
        log_warn("calls still running after %u ms: cancelling them", srv->shutdown_timeout_ms);
        grpc_server_cancel_all_calls(srv->server);
        if (!wait_shutdown(srv, CRI_CANCEL_GRACE_MS)) {
            /* A handler stuck outside gRPC: exiting without it is safer than hanging. */
            log_error("calls did not end after cancellation; leaving them");
            return -EBUSY;
        }
    }
    (void)unlink(srv->socket_path);
    server_free(srv);
    return 0;
}
