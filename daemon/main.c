/* cribd: a CRI runtime. Wires config, store and the CRI server together. */
#include <errno.h>
#include <getopt.h>
#include <grpc/grpc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cgdriver.h"
#include "daemon/metrics_http.h"
#include "common/cleanup.h"
#include "common/crash.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/store.h"
#include "common/xalloc.h"
#include "cri/server.h"
#include "cri/stream/server.h"
#include "daemon/config.h"
#include "daemon/lock.h"
#include "imagestore/imagestore.h"
#include "oci/container.h"
#include "oci/handler.h"
#include "sandbox/pod.h"

#ifndef CRIB_VERSION
#define CRIB_VERSION "unknown"
#endif

/* Flags override the config file; NULL means "not given". */
struct flags {
    const char *config;
    const char *root, *state, *listen, *log_level, *log_format;
};

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: cribd [OPTIONS]\n"
            "A Kubernetes container runtime serving CRI v1 on a unix socket.\n\n"
            "  --config PATH      config file (default " CONFIG_DEFAULT_PATH
            "; drop-ins in PATH.d/*.json)\n"
            "  --root DIR         persistent state (default /var/lib/crib)\n"
            "  --state DIR        volatile state (default /run/crib)\n"
            "  --listen PATH      CRI socket, a path or unix://PATH (default /run/crib/crib.sock)\n"
            "  --log-level LEVEL  error, warn, info, debug or trace (default info)\n"
            "  --log-format FMT   logfmt or json (default logfmt)\n"
            "  --version          print the version and exit\n"
            "  --help             print this help and exit\n");
}

/* Returns 1 to go on, 0 to exit successfully, -1 on a usage error. */
static int parse_flags(int argc, char **argv, struct flags *f)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"root", required_argument, NULL, 'r'},
        {"state", required_argument, NULL, 's'},
        {"listen", required_argument, NULL, 'l'},
        {"log-level", required_argument, NULL, 'L'},
        {"log-format", required_argument, NULL, 'F'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c': f->config = optarg; break;
        case 'r': f->root = optarg; break;
        case 's': f->state = optarg; break;
        case 'l': f->listen = strncmp(optarg, "unix://", 7) == 0 ? optarg + 7 : optarg; break;
        case 'L': f->log_level = optarg; break;
        case 'F': f->log_format = optarg; break;
        case 'V': printf("cribd %s\n", CRIB_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cribd: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 1;
}

static int apply_flags(struct crib_config *cfg, const struct flags *f, struct crib_err *err)
{
    if (f->root)
        config_set(&cfg->root_dir, f->root);
    if (f->state)
        config_set(&cfg->state_dir, f->state);
    if (f->listen)
        config_set(&cfg->listen, f->listen);
    if (f->log_level && log_level_parse(f->log_level, &cfg->log_level) < 0)
        return crib_fail(err, CRIB_INVALID, 0, "--log-level: unknown level '%s'", f->log_level);
    if (f->log_format && log_format_parse(f->log_format, &cfg->log_format) < 0)
        return crib_fail(err, CRIB_INVALID, 0, "--log-format: unknown format '%s'", f->log_format);
    return config_finish(cfg, err);
}

static int load_config(const struct flags *f, struct crib_config *cfg, struct crib_err *err)
{
    int r;

    config_defaults(cfg);
    r = config_load(cfg, f->config ? f->config : CONFIG_DEFAULT_PATH, f->config != NULL, err);
    if (r < 0)
        return r;
    return apply_flags(cfg, f, err);
}

static struct oci_handler *make_handlers(const struct crib_config *cfg,
                                         const struct cgroup_driver *driver, size_t *ret_default)
{
    struct oci_handler *hs = xcalloc(cfg->n_runtimes, sizeof(*hs));

    for (size_t i = 0; i < cfg->n_runtimes; i++) {
        const struct config_runtime *rt = &cfg->runtimes[i];
        enum handler_kind kind = HANDLER_RUNC;

        (void)handler_kind_parse(rt->type, &kind); /* checked by config_finish */
        size_t n_flags = 0;

        handler_init(&hs[i], rt->name, rt->path, rt->root, kind);
        hs[i].cgroup_flag = driver->runtime_flag;
        while (rt->flags[n_flags])
            n_flags++;
        handler_set_flags(&hs[i], (const char *const *)rt->flags, n_flags);
        if (kind == HANDLER_RUNSC)
            handler_set_wrapper(&hs[i], cfg->runsc_wrapper);
        if (strcmp(rt->name, cfg->default_runtime) == 0)
            *ret_default = i;
    }
    return hs;
}

static int start_streaming(const struct crib_config *cfg, struct stream_server **ret,
                           struct crib_err *err)
{
    struct stream_server_options o = {
        .address = cfg->streaming_address,
        .port = (uint16_t)cfg->streaming_port,
        .tls_cert = cfg->streaming_tls_cert,
        .tls_key = cfg->streaming_tls_key,
        .token_ttl_ms = cfg->streaming_token_ttl_s * 1000,
        .max_sessions = cfg->streaming_max_sessions,
        .max_tokens = 1024,
    };
    int r = stream_server_start(&o, ret, err);

    if (r < 0)
        return r;
    log_info("streaming server on %s port %u", cfg->streaming_address, stream_server_port(*ret));
    return 0;
}

static int make_dirs(const struct crib_config *cfg, struct crib_err *err)
{
    int r = fs_mkdir_p(cfg->root_dir, 0711, err);

    if (r >= 0)
        r = fs_mkdir_p(cfg->state_dir, 0711, err);
    return r;
}

static void wait_for_stop_signal(const sigset_t *set)
{
    siginfo_t si;

    for (;;) {
        int sig = sigwaitinfo(set, &si);

        if (sig == SIGTERM || sig == SIGINT) {
            log_info("received %s, shutting down", strsignal(sig));
            return;
        }
    }
}

static char *render_metrics(void *rt)
{
    return cri_metrics_text(rt);
}

static int serve_metrics(const struct crib_config *cfg, struct cri_runtime *rt,
                         struct metrics_http *m, struct crib_err *err)
{
    int r = metrics_http_serve(m, render_metrics, rt, err);

    if (r >= 0)
        log_info("serving cribd's metrics on %s (port %d) at /metrics", cfg->metrics_address,
                 metrics_http_port(m));
    return r;
}

static bool pod_known(const char *pod_id, void *arg)
{
    struct pod_record *p = NULL;
    struct crib_err err;
    int r = pod_get(arg, pod_id, &p, &err);

    pod_record_free(p);
    return r >= 0 || err.code != CRIB_NOT_FOUND;
}

/* Pods and their gVisor sandboxes agree again after a crash: a sandbox
 * without a pod goes, and a READY pod whose sandbox has gone is stopped
 * (its network too), as the kubelet would stop a pod whose sandbox died. */
static void reconcile_sandboxes(struct cri_runtime *rt)
{
    struct pod_record **pods = NULL;
    size_t n = 0;
    struct crib_err err;

    ctr_sandbox_prune(rt->containers, pod_known, rt->pods);
    if (pod_list(rt->pods, &pods, &n, &err) < 0) {
        log_warn("reconcile sandboxes: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct pod_record *p = pods[i];

        if (p->state == POD_READY && ctr_handler_sandboxed(rt->containers, p->runtime_handler) &&
            !ctr_sandbox_running(rt->containers, p->runtime_handler, p->id)) {
            log_warn("pod %s: its gVisor sandbox has gone: it is NOTREADY now", p->id);
            if (pod_stop(rt->pods, p->id, &err) < 0)
                log_warn("pod %s: %s", p->id, err.msg);
        }
        pod_record_free(pods[i]);
    }
    free(pods);
}

/* Serves until SIGTERM or SIGINT. Returns 0, 1 when handlers were left
 * running (what they use must then outlive us), or a negative errno. */
static int serve(const struct crib_config *cfg, const struct cgroup_driver *driver,
                 struct store *store, struct imagestore *images, struct sandbox_ctx *pods,
                 struct crib_err *err)
{
    _cleanup_free_ char *config_json = config_to_json(cfg);
    const char *const *bin_dirs = (const char *const *)cfg->cni_bin_dirs;
    struct cri_runtime rt = {
        .config_json = config_json,
        .cgroup_driver = driver,
        .n_handlers = cfg->n_runtimes,
        .cni = {.conf_dir = cfg->cni_conf_dir, .bin_dirs = bin_dirs},
        .store = store,
        .images = images,
        .pods = pods,
    };
    struct cri_server_options opts = {
        .socket_path = cfg->listen,
        .workers = cfg->workers,
        .long_workers = cfg->long_workers,
        .shutdown_timeout_ms = cfg->shutdown_timeout_s * 1000,
        .runtime = &rt,
    };
    struct cri_server *srv = NULL;
    struct metrics_http *metrics = NULL;
    sigset_t set;
    int r;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    /* Blocked before any thread starts (the exit watcher is the first), so
     * every thread inherits the mask and only sigwaitinfo() below sees them. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    rt.handlers = make_handlers(cfg, driver, &rt.default_handler);
    r = ctr_open(store,
                 &(struct ctr_options){.root_dir = cfg->root_dir,
                                       .state_dir = cfg->state_dir,
                                       .conmon = cfg->conmon,
                                       .cgroup_driver = driver,
                                       .infra = cfg->infra},
                 rt.handlers, rt.n_handlers, rt.default_handler, &rt.containers, err);
    if (r < 0)
        goto out;
    reconcile_sandboxes(&rt);
    r = start_streaming(cfg, &rt.streaming, err);
    if (r < 0) {
        ctr_close(rt.containers);
        goto out;
    }
    /* The metrics address is taken before the CRI socket answers: a bad one
     * ends the start, never a cribd already serving. */
    if (*cfg->metrics_address)
        r = metrics_http_listen(cfg->metrics_address, &metrics, err);
    grpc_init();
    if (r >= 0)
        r = cri_server_start(&opts, &srv, err);
    if (r >= 0 && metrics)
        r = serve_metrics(cfg, &rt, metrics, err);
    if (r >= 0) {
        log_info("cribd %s serving CRI v1 on %s (root %s, state %s)", CRIB_VERSION, cfg->listen,
                 cfg->root_dir, cfg->state_dir);
        wait_for_stop_signal(&set);
    }
    metrics_http_stop(metrics); /* it reads what the server serves */
    if (srv) {
        if (cri_server_stop(srv) < 0)
            return 1; /* stuck handlers still use all of it: leave it to the exit */
    }
    grpc_shutdown();
    stream_server_stop(rt.streaming);
    ctr_close(rt.containers);
out:
    for (size_t i = 0; i < rt.n_handlers; i++)
        handler_done(&rt.handlers[i]);
    free(rt.handlers);
    return r;
}

static int open_images(const struct crib_config *cfg, struct store *store,
                       struct imagestore **ret_images, struct crib_err *err)
{
    struct imagestore_options o = {
        .root_dir = cfg->root_dir,
        .hosts_dirs = (const char *const *)cfg->registry_dirs,
        .max_parallel_layers = cfg->max_parallel_layers,
        .max_layer_bytes = cfg->max_layer_bytes,
        .connect_timeout_ms = 10000,
        .stall_timeout_ms = cfg->stall_timeout_s * 1000,
        .request_timeout_ms = 60000,
    };

    return imagestore_open(store, &o, ret_images, err);
}

/* The names of the handlers whose pods are one sandbox each (runsc), ""
 * too when it is the default; NULL-terminated, the strings cfg's. */
static char **sandboxed_handlers(const struct crib_config *cfg)
{
    char **names = xcalloc(cfg->n_runtimes + 2, sizeof(*names));
    size_t n = 0;

    for (size_t i = 0; i < cfg->n_runtimes; i++) {
        enum handler_kind kind = HANDLER_RUNC;

        (void)handler_kind_parse(cfg->runtimes[i].type, &kind);
        if (kind != HANDLER_RUNSC)
            continue;
        names[n++] = cfg->runtimes[i].name;
        if (strcmp(cfg->runtimes[i].name, cfg->default_runtime) == 0)
            names[n++] = "";
    }
    return names;
}

static int run(const struct crib_config *cfg, struct crib_err *err)
{
    _cleanup_close_ int lock_fd = -1;
    _cleanup_free_ char *db_path = xasprintf("%s/crib.db", cfg->root_dir);
    struct imagestore *images = NULL;
    struct sandbox_ctx *pods = NULL;
    struct store *store = NULL;
    /* config_finish accepted only the drivers there are. */
    const struct cgroup_driver *driver = cgroup_driver_find(cfg->cgroup_driver);
    struct cniconf_dirs cni = {.conf_dir = cfg->cni_conf_dir,
                               .bin_dirs = (const char *const *)cfg->cni_bin_dirs};
    _cleanup_free_ char **sandboxed = sandboxed_handlers(cfg);
    int r = make_dirs(cfg, err);

    if (r < 0)
        return r;
    lock_fd = instance_lock(cfg->root_dir, err);
    if (lock_fd < 0)
        return lock_fd;
    r = store_open(db_path, &store, err);
    if (r < 0)
        return r;
    r = open_images(cfg, store, &images, err);
    if (r >= 0)
        r = sandbox_open(store, cfg->state_dir, &cni, cfg->infra, driver,
                         (const char *const *)sandboxed, &pods, err);
    if (r >= 0)
        r = serve(cfg, driver, store, images, pods, err);
    if (r == 1)
        return 0;
    sandbox_close(pods);
    imagestore_close(images);
    store_close(store);
    return r;
}

int main(int argc, char **argv)
{
    struct flags flags = {0};
    struct crib_config cfg;
    struct crib_err err = {0};
    int r;

    r = parse_flags(argc, argv, &flags);
    if (r <= 0)
        return r == 0 ? EXIT_SUCCESS : 2;
    crash_init();
    signal(SIGPIPE, SIG_IGN);
    r = load_config(&flags, &cfg, &err);
    if (r < 0) {
        fprintf(stderr, "cribd: %s\n", err.msg);
        config_done(&cfg);
        return 2;
    }
    log_setup(cfg.log_level, cfg.log_format);
    r = run(&cfg, &err);
    if (r < 0)
        log_error("cribd cannot run: %s", err.msg);
    else
        log_info("cribd stopped");
    config_done(&cfg);
    return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
