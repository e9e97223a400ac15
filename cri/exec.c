/* Exec, Attach and PortForward: each checks its request, stores it with the
 * streaming server under a single-use token and returns the URL; the
 * session's process side (the targets below) runs later, on the session's
 * thread. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cri/internal.h"
#include "cri/stream/server.h"
#include "oci/container.h"
#include "sandbox/ns.h"
#include "sandbox/pod.h"

/* What a container session needs: the runtime's parts outlive every session
 * (the streaming server stops before them). */
struct ctr_target {
    struct cri_runtime *rt;
    char *id;
    char **argv; /* exec */
    struct shim_exec_proc proc;
    bool is_running;
};

static void ctr_target_free(void *v)
{
    struct ctr_target *t = v;
    struct crib_err ignored;
    int code;

    if (t->is_running)
        (void)shim_exec_end(&t->proc, true, &code, &ignored); /* a session that never finished */
    size_t n = 0;

    while (t->argv && t->argv[n])
        n++;
    strv_free(t->argv, n);
    free(t->id);
    free(t);
}

static int dup_or_none(int fd)
{
    return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

static int exec_start(void *ctx, const struct stream_request *req, struct stream_proc *ret,
                      struct crib_err *err)
{
    struct ctr_target *t = ctx;
    unsigned flags = (req->is_tty ? SHIM_EXEC_TTY : 0) | (req->has_stdin ? SHIM_EXEC_STDIN : 0) |
                     (req->has_stdout ? SHIM_EXEC_STDOUT : 0) |
                     (req->has_stderr ? SHIM_EXEC_STDERR : 0);
    int r = ctr_exec_start(t->rt->containers, t->id, (const char *const *)t->argv, flags, &t->proc,
                           err);

    if (r < 0)
        return r;
    t->is_running = true;
    /* The session owns the stdio; we keep the pidfd (to reap) and, with a
     * terminal, a copy of it to resize. */
    *ret = (struct stream_proc){.stdin_fd = req->has_stdin ? t->proc.stdin_fd : -1,
                                .stdout_fd = t->proc.stdout_fd,
                                .stderr_fd = t->proc.stderr_fd,
                                .exit_fd = dup_or_none(t->proc.pidfd)};
    if (!req->has_stdin && t->proc.stdin_fd >= 0)
        close(t->proc.stdin_fd);
    t->proc.stdin_fd = -1;
    t->proc.stdout_fd = req->is_tty ? dup_or_none(t->proc.stdout_fd) : -1;
    t->proc.stderr_fd = -1;
    return 0;
}

static void exec_resize(void *ctx, uint16_t width, uint16_t height)
{
    struct ctr_target *t = ctx;

    shim_exec_resize(&t->proc, width, height);
}

static int exec_finish(void *ctx, bool is_abandoned, int *ret_exit_code, struct crib_err *err)
{
    struct ctr_target *t = ctx;

    if (!t->is_running)
        return 0;
    t->is_running = false;
    return shim_exec_end(&t->proc, is_abandoned, ret_exit_code, err);
}

static const struct stream_target_ops exec_ops = {
    .start = exec_start,
    .resize = exec_resize,
    .finish = exec_finish,
    .free = ctr_target_free,
};

static int attach_start(void *ctx, const struct stream_request *req, struct stream_proc *ret,
                        struct crib_err *err)
{
    struct ctr_target *t = ctx;
    int fd, r = ctr_attach(t->rt->containers, t->id, &fd, err);

    if (r < 0)
        return r;
    *ret = (struct stream_proc){.stdin_fd = req->has_stdin ? fd : -1,
                                .stdout_fd = fd,
                                .stderr_fd = -1,
                                .exit_fd = -1,
                                .is_framed = true};
    return 0;
}

static void attach_resize(void *ctx, uint16_t width, uint16_t height)
{
    struct ctr_target *t = ctx;
    struct crib_err err;

    if (ctr_resize(t->rt->containers, t->id, width, height, &err) < 0)
        log_debug("attach to %s: resize: %s, ignoring", t->id, err.msg);
}

static int attach_finish(void *ctx, bool is_abandoned, int *ret_exit_code, struct crib_err *err)
{
    (void)ctx;
    (void)is_abandoned; /* leaving an attach leaves the container running */
    (void)err;
    *ret_exit_code = -1;
    return 0;
}

static const struct stream_target_ops attach_ops = {
    .start = attach_start,
    .resize = attach_resize,
    .finish = attach_finish,
    .free = ctr_target_free,
};

/* What ExecRequest and AttachRequest share. */
struct stdio_request {
    const char *container_id;
    bool tty, in, out, errout;
};

/* The checks containerd and CRI-O make before handing out a URL. */
static int check_stdio(const struct stdio_request *s, struct crib_err *err)
{
    if (!s->in && !s->out && !s->errout)
        return crib_fail(err, CRIB_INVALID, 0, "one of stdin, stdout and stderr must be set");
    if (s->tty && s->errout)
        return crib_fail(err, CRIB_INVALID, 0, "tty and stderr cannot both be set");
    return 0;
}

static int container_url(struct cri_call *call, const struct stdio_request *s,
                         enum stream_kind kind, char **argv_owned, char **ret_url,
                         struct crib_err *err)
{
    struct stream_request *req = xcalloc(1, sizeof(*req));
    struct ctr_target *t = xcalloc(1, sizeof(*t));
    struct ctr_record *c;
    int r;

    t->rt = call->rt;
    t->argv = argv_owned;
    *req = (struct stream_request){
        kind, s->in, s->out, s->errout, s->tty, kind == STREAM_EXEC ? &exec_ops : &attach_ops, t};
    r = check_stdio(s, err);
    if (r >= 0)
        r = ctr_resolve_id(call->rt->containers, s->container_id, &t->id, err);
    if (r >= 0 && (r = ctr_get(call->rt->containers, t->id, &c, err)) >= 0) {
        if (c->state != CTR_RUNNING)
            r = crib_fail(err, CRIB_STATE, 0, "container %s is not running", t->id);
        /* Attach joins the container's own stdio: whether its output is one
         * terminal stream or stdout and stderr is the container's to say. */
        if (kind == STREAM_ATTACH)
            req->is_tty = c->tty;
        ctr_record_free(c);
    }
    if (r < 0) {
        stream_request_free(req);
        return r;
    }
    return stream_server_url(call->rt->streaming, req, ret_url, err);
}

int cri_exec(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **ret_resp,
             struct crib_err *err)
{
    const Runtime__V1__ExecRequest *in = (const Runtime__V1__ExecRequest *)req;
    struct stdio_request s = {in->container_id, in->tty, in->stdin, in->stdout, in->stderr};
    Runtime__V1__ExecResponse *resp;
    _cleanup_free_ char *url = NULL;
    char **argv;
    int r;

    if (!in->n_cmd)
        return crib_fail(err, CRIB_INVALID, 0, "cmd is empty");
    argv = xcalloc(in->n_cmd + 1, sizeof(*argv));
    for (size_t i = 0; i < in->n_cmd; i++)
        argv[i] = xstrdup(in->cmd[i]);
    r = container_url(call, &s, STREAM_EXEC, argv, &url, err);
    if (r < 0)
        return r;
    resp = CRI_NEW(call, Runtime__V1__ExecResponse, runtime__v1__exec_response__init);
    resp->url = arena_strdup(&call->arena, url);
    *ret_resp = &resp->base;
    return 0;
}

int cri_attach(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **ret_resp,
               struct crib_err *err)
{
    const Runtime__V1__AttachRequest *in = (const Runtime__V1__AttachRequest *)req;
    struct stdio_request s = {in->container_id, in->tty, in->stdin, in->stdout, in->stderr};
    Runtime__V1__AttachResponse *resp;
    _cleanup_free_ char *url = NULL;
    int r = container_url(call, &s, STREAM_ATTACH, NULL, &url, err);

    if (r < 0)
        return r;
    resp = CRI_NEW(call, Runtime__V1__AttachResponse, runtime__v1__attach_response__init);
    resp->url = arena_strdup(&call->arena, url);
    *ret_resp = &resp->base;
    return 0;
}

/* ---- port-forward ---- */

struct pod_target {
    struct cri_runtime *rt;
    char *pod_id;
};

static void pod_target_free(void *v)
{
    struct pod_target *t = v;

    free(t->pod_id);
    free(t);
}

static int pf_connect(void *ctx, uint16_t port, int *ret_fd, struct crib_err *err)
{
    struct pod_target *t = ctx;
    struct pod_record *pod;
    _cleanup_close_ int netns = -1;
    int r = pod_get(t->rt->pods, t->pod_id, &pod, err);

    if (r < 0)
        return r;
    /* A gVisor sandbox's listeners live in its own network stack, which
     * holds the pod's address: they are reached there from the node, as the
     * node reaches any pod. */
    if (pod->net_mode != POD_NS_NODE &&
        ctr_handler_sandboxed(t->rt->containers, pod->runtime_handler)) {
        if (!*pod->ip)
            r = crib_fail(err, CRIB_STATE, 0, "pod %s has no address", t->pod_id);
        else
            r = ns_connect(-1, pod->ip, port, ret_fd, err);
        pod_record_free(pod);
        return r;
    }
    netns = pod_open_netns(t->rt->pods, pod);
    /* Only a host-network pod lives in cribd's own namespace; a pod without one left is stopped. */
    if (netns < 0 && pod->net_mode != POD_NS_NODE)
        r = crib_fail(err, CRIB_STATE, 0, "pod %s has no network namespace", t->pod_id);
    pod_record_free(pod);
    if (r < 0)
        return r;
    return ns_connect_loopback(netns, port, ret_fd, err);
}

static const struct stream_target_ops portforward_ops = {
    .connect = pf_connect,
    .free = pod_target_free,
};

int cri_port_forward(struct cri_call *call, const ProtobufCMessage *req,
                     ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__PortForwardRequest *in = (const Runtime__V1__PortForwardRequest *)req;
    Runtime__V1__PortForwardResponse *resp;
    struct stream_request *sreq;
    struct pod_target *t;
    _cleanup_free_ char *url = NULL;
    struct pod_record *pod;
    int r = pod_get(call->rt->pods, in->pod_sandbox_id, &pod, err);

    if (r < 0)
        return r;
    if (pod->state != POD_READY)
        r = crib_fail(err, CRIB_STATE, 0, "pod %s is not ready", pod->id);
    for (size_t i = 0; r >= 0 && i < in->n_port; i++)
        if (in->port[i] <= 0 || in->port[i] > 65535)
            r = crib_fail(err, CRIB_INVALID, 0, "port %d is out of range", (int)in->port[i]);
    if (r >= 0) {
        t = xcalloc(1, sizeof(*t));
        *t = (struct pod_target){call->rt, xstrdup(pod->id)};
        sreq = xcalloc(1, sizeof(*sreq));
        *sreq =
            (struct stream_request){.kind = STREAM_PORTFORWARD, .ops = &portforward_ops, .ctx = t};
        r = stream_server_url(call->rt->streaming, sreq, &url, err);
    }
    pod_record_free(pod);
    if (r < 0)
        return r;
    resp =
        CRI_NEW(call, Runtime__V1__PortForwardResponse, runtime__v1__port_forward_response__init);
    resp->url = arena_strdup(&call->arena, url);
    *ret_resp = &resp->base;
    return 0;
}
