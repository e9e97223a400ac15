#include "oci/shim.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/xalloc.h"
#include "oci/internal.h"

#define SHIM_RUNTIME_TIMEOUT_MS 30000
#define SHIM_RUNTIME_MAX_OUTPUT 8192
/* The runtime, its global flags (handler.h) and a command's few args. */
#define SHIM_RUNTIME_MAX_ARGS (HANDLER_MAX_FLAGS + 16)
/* conmon's control FIFO message that makes it reopen the log file. */
#define SHIM_CTL_REOPEN_LOG "2 0 0\n"
#define SHIM_REOPEN_TIMEOUT_MS 5000
/* How long a killed waiter (oci/runsc_main.c), then its conmon, may take to go. */
#define SHIM_WAITER_GONE_MS 5000

static const char *const shim_env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                                       "/sbin:/bin",
                                       NULL};

/* What the runtime said went wrong: runc logs warnings before its error, so
 * the msg of its last error line when there is one, else all it said.
 * Points into text, which it may change. */
static const char *runtime_error(const char *text)
{
    const char *line = NULL, *p = text;
    char *msg, *end;

    while ((p = strstr(p, "level=error msg=\"")))
        line = p++;
    if (!line)
        return text;
    msg = (char *)line + strlen("level=error msg=\"");
    end = strrchr(msg, '"');
    if (end)
        *end = '\0';
    return msg;
}

int shim_runtime_argv(const struct oci_handler *h, char *bin, size_t size, const char **argv,
                      size_t *n, char **root_arg, struct crib_err *err)
{
    int r = handler_binary(h, bin, size, err);

    if (r < 0)
        return r;
    if (h->kind == HANDLER_RUNSC) {
        if (!h->wrapper)
            return crib_fail(err, CRIB_NOT_FOUND, ENOENT,
                             "runtime handler '%s': crib-runsc is not configured", h->name);
        snprintf(bin, size, "%s", h->wrapper);
        argv[(*n)++] = bin;
        argv[(*n)++] = h->wrapper_arg;
    } else {
        argv[(*n)++] = bin;
    }
    if (h->root && *h->root) {
        *root_arg = xasprintf("--root=%s", h->root);
        argv[(*n)++] = *root_arg;
    }
    if (h->cgroup_flag)
        argv[(*n)++] = h->cgroup_flag;
    for (size_t i = 0; i < h->n_flags; i++)
        argv[(*n)++] = h->flags[i];
    return 0;
}

/* Runs `<runtime> [--root R] args...`; a non-zero exit becomes an error
 * carrying the runtime's own output. */
static int run_runtime(const struct oci_handler *h, const char *const *args, const char *in,
                       size_t in_len, int timeout_ms, struct crib_err *err)
{
    const char *argv[SHIM_RUNTIME_MAX_ARGS];
    char bin[PATH_MAX];
    _cleanup_free_ char *root_arg = NULL;
    struct proc_result res;
    size_t n = 0;
    int r;

    r = shim_runtime_argv(h, bin, sizeof(bin), argv, &n, &root_arg, err);
    if (r < 0)
        return r;
    for (size_t i = 0; args[i] && n < ARRAY_SIZE(argv) - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    r = proc_run_io(argv, shim_env, in, in_len, timeout_ms, SHIM_RUNTIME_MAX_OUTPUT, &res, err);
    if (r < 0)
        return crib_wrap(err, "%s %s", h->name, args[0]);
    if (res.exit_code != 0 || res.term_signal) {
        const char *msg = runtime_error(*res.errout ? res.errout : res.output);
        size_t len = strlen(msg);

        while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
            len--;
        r = crib_fail(err, CRIB_INTERNAL, 0, "%s %s: %.*s", h->name, args[0], (int)len, msg);
    }
    proc_result_done(&res);
    return r;
}

/* conmon answers on the sync pipe with one JSON object: {"data": PID} once
 * the runtime created the container, or {"data": -1, "message": "..."}. */
static int read_sync(int fd, int timeout_ms, pid_t *ret_pid, struct crib_err *err)
{
    char buf[8192];
    size_t len = 0;
    long long deadline = clock_mono_ms() + timeout_ms;
    struct json_object *o, *data, *msg;
    int r;

    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        long long left = deadline - clock_mono_ms();
        ssize_t n;

        if (left <= 0)
            return crib_fail(err, CRIB_TIMEOUT, 0, "conmon did not report within %d ms",
                             timeout_ms);
        if (poll(&pfd, 1, (int)left) < 0) {
            if (errno == EINTR)
                continue;
            return crib_fail(err, CRIB_INTERNAL, errno, "poll conmon's sync pipe");
        }
        n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || (len += (size_t)n) == sizeof(buf) - 1 || memchr(buf, '\n', len))
            break;
    }
    buf[len] = '\0';
    o = json_tokener_parse(buf);
    if (!o || !json_object_object_get_ex(o, "data", &data)) {
        json_object_put(o);
        return crib_fail(err, CRIB_INTERNAL, 0, "conmon reported no pid%s%.200s", len ? ": " : "",
                         buf);
    }
    if (json_object_get_int(data) > 0) {
        *ret_pid = json_object_get_int(data);
        r = 0;
    } else {
        r = crib_fail(err, CRIB_INTERNAL, 0, "%s",
                      json_object_object_get_ex(o, "message", &msg)
                          ? runtime_error(json_object_get_string(msg))
                          : "conmon failed");
    }
    json_object_put(o);
    return r;
}

static int spawn_conmon(const char *const *argv, int sync_fd, pid_t *ret_pid, struct crib_err *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none;
    char env_sync[] = "_OCI_SYNCPIPE=3";
    const char *envp[] = {shim_env[0], env_sync, NULL};
    int r;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, sync_fd, 3);
    /* gRPC's sockets are not all close-on-exec; conmon and the container
     * must not hold cribd's listening socket past a restart. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 4);
    /* conmon outlives cribd: it must not inherit cribd's blocked signals. */
    posix_spawnattr_init(&attr);
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID);
    r = posix_spawn(ret_pid, argv[0], &fa, &attr, (char *const *)argv, (char *const *)envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0)
        return crib_fail(err, CRIB_INTERNAL, r, "run %s", argv[0]);
    return 0;
}

int shim_create(const struct shim_paths *paths, const struct oci_handler *h,
                const struct shim_create_request *req, struct proc_identity *ret_proc,
                struct crib_err *err)
{
    char conmon[PATH_MAX], runtime[PATH_MAX];
    _cleanup_free_ char *root_arg = NULL, *pidfile = NULL, *conmon_pidfile = NULL, *log = NULL;
    _cleanup_close_ int sync_r = -1, sync_w = -1;
    const char *argv[48 + 2 * HANDLER_MAX_FLAGS];
    size_t n = 0;
    int fds[2], status, r;
    pid_t pid, container = 0;

    if (proc_find_program(paths->conmon, conmon, sizeof(conmon), NULL) < 0)
        return crib_fail(err, CRIB_NOT_FOUND, ENOENT, "shim '%s' not found", paths->conmon);
    r = handler_binary(h, runtime, sizeof(runtime), err);
    if (r < 0)
        return r;
    pidfile = xasprintf("%s/pidfile", req->bundle);
    conmon_pidfile = xasprintf("%s/conmon.pid", req->bundle);
    log = xasprintf("k8s-file:%s", req->log_path && *req->log_path ? req->log_path : "/dev/null");
    argv[n++] = conmon;
    argv[n++] = "--api-version=1";
    argv[n++] = "--bundle";
    argv[n++] = req->bundle;
    argv[n++] = "--cid";
    argv[n++] = req->id;
    argv[n++] = "--cuuid";
    argv[n++] = req->id;
    argv[n++] = "--name";
    argv[n++] = req->id;
    argv[n++] = "--runtime";
    if (h->kind == HANDLER_RUNSC) {
        if (!h->wrapper)
            return crib_fail(err, CRIB_NOT_FOUND, ENOENT,
                             "runtime handler '%s': crib-runsc is not configured", h->name);
        argv[n++] = h->wrapper;
        argv[n++] = "--runtime-arg";
        argv[n++] = h->wrapper_arg;
        if (req->joins_sandbox) {
            argv[n++] = "--runtime-arg";
            argv[n++] = "--crib-joins";
        }
    } else {
        argv[n++] = runtime;
    }
    if (h->root && *h->root) {
        root_arg = xasprintf("--root=%s", h->root);
        argv[n++] = "--runtime-arg";
        argv[n++] = root_arg;
    }
    if (h->cgroup_flag) {
        argv[n++] = "--runtime-arg";
        argv[n++] = h->cgroup_flag;
        /* conmon then finds the container's memory cgroup (its OOM watch) as a scope. */
        argv[n++] = "--systemd-cgroup";
    }
    for (size_t i = 0; i < h->n_flags; i++) {
        argv[n++] = "--runtime-arg";
        argv[n++] = h->flags[i];
    }
    argv[n++] = "--container-pidfile";
    argv[n++] = pidfile;
    argv[n++] = "--conmon-pidfile";
    argv[n++] = conmon_pidfile;
    argv[n++] = "--log-path";
    argv[n++] = log;
    argv[n++] = "--exit-dir";
    argv[n++] = paths->exit_dir;
    argv[n++] = "--socket-dir-path";
    argv[n++] = paths->socket_dir;
    argv[n++] = "--persist-dir";
    argv[n++] = req->bundle;
    argv[n++] = "--log-level=error";
    if (req->terminal)
        argv[n++] = "--terminal";
    if (req->stdin_open) {
        argv[n++] = "--stdin";
        if (!req->stdin_once)
            argv[n++] = "--leave-stdin-open";
    }
    argv[n] = NULL;

    if (pipe2(fds, O_CLOEXEC) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "sync pipe for conmon");
    sync_r = fds[0];
    sync_w = fds[1];
    r = spawn_conmon(argv, sync_w, &pid, err);
    if (r < 0)
        return r;
    close(TAKE_FD(sync_w));
    /* conmon forks and its first process exits at once; the second stays. */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    r = read_sync(sync_r, req->timeout_ms > 0 ? req->timeout_ms : SHIM_RUNTIME_TIMEOUT_MS,
                  &container, err);
    if (r < 0)
        return crib_wrap(err, "create container %s", req->id);
    ret_proc->pid = container;
    ret_proc->start_ticks = proc_start_ticks(container, NULL);
    if (!ret_proc->start_ticks)
        return crib_fail(err, CRIB_INTERNAL, ESRCH, "container %s: process %d vanished", req->id,
                         (int)container);
    return 0;
}

int shim_start(const struct oci_handler *h, const char *id, int timeout_ms, struct crib_err *err)
{
    const char *args[] = {"start", id, NULL};

    return run_runtime(h, args, NULL, 0, timeout_ms > 0 ? timeout_ms : SHIM_RUNTIME_TIMEOUT_MS,
                       err);
}

int shim_checkpoint(const struct oci_handler *h, const char *id, const char *images_dir,
                    int timeout_ms, struct crib_err *err)
{
    _cleanup_free_ char *image_arg = xasprintf("--image-path=%s", images_dir);
    _cleanup_free_ char *work_arg = xasprintf("--work-path=%s", images_dir);
    const char *args[] = {"checkpoint", image_arg, work_arg, "--leave-running", id, NULL};

    return run_runtime(h, args, NULL, 0, timeout_ms, err);
}

/* The process whose pid is in file, with its start time (0: none there). */
static struct proc_identity pid_in(const char *file)
{
    _cleanup_free_ char *text = NULL;
    struct crib_err ignored;
    long pid;

    if (fs_read_file(file, 32, &text, NULL, &ignored) < 0 || (pid = strtol(text, NULL, 10)) <= 0)
        return (struct proc_identity){0, 0};
    return (struct proc_identity){(pid_t)pid, proc_start_ticks((pid_t)pid, NULL)};
}

void shim_end_waiter(const char *bundle)
{
    _cleanup_free_ char *pidfile = xasprintf("%s/pidfile", bundle);
    _cleanup_free_ char *conmon_pidfile = xasprintf("%s/conmon.pid", bundle);
    _cleanup_free_ char *comm_path = NULL, *comm = NULL;
    struct proc_identity waiter = pid_in(pidfile), conmon;
    struct crib_err ignored;

    if (!waiter.start_ticks)
        return;
    comm_path = xasprintf("/proc/%d/comm", (int)waiter.pid);
    if (fs_read_file(comm_path, 64, &comm, NULL, &ignored) < 0 ||
        strcmp(comm, "crib-runsc-wait\n") != 0)
        return;
    if (proc_signal(&waiter, SIGKILL, &ignored) < 0 ||
        proc_wait_gone(&waiter, SHIM_WAITER_GONE_MS, &ignored) != 0) {
        log_warn("waiter %d of %s did not go, ignoring", (int)waiter.pid, bundle);
        return;
    }
    /* Its conmon then writes its last files in the bundle and exits: the
     * bundle is removed only after. */
    conmon = pid_in(conmon_pidfile);
    if (conmon.start_ticks && proc_wait_gone(&conmon, SHIM_WAITER_GONE_MS, &ignored) != 0)
        log_warn("conmon %d of %s is still there, ignoring", (int)conmon.pid, bundle);
}

int shim_pause(const struct oci_handler *h, const char *id, struct crib_err *err)
{
    return run_runtime(h, (const char *[]){"pause", id, NULL}, NULL, 0, SHIM_RUNTIME_TIMEOUT_MS,
                       err);
}

int shim_resume(const struct oci_handler *h, const char *id, struct crib_err *err)
{
    return run_runtime(h, (const char *[]){"resume", id, NULL}, NULL, 0, SHIM_RUNTIME_TIMEOUT_MS,
                       err);
}

int shim_kill(const struct oci_handler *h, const char *id, int sig, struct crib_err *err)
{
    char sig_arg[16];
    const char *args[] = {"kill", id, sig_arg, NULL};

    snprintf(sig_arg, sizeof(sig_arg), "%d", sig);
    return run_runtime(h, args, NULL, 0, SHIM_RUNTIME_TIMEOUT_MS, err);
}

/* Runs argv with stdio as its fds 0-2, in a session of its own (what it
 * leaves running must not share cribd's), and waits up to timeout_ms.
 * Returns its wait status. Errors: CRIB_TIMEOUT, CRIB_INTERNAL. */
static int run_with_stdio(const char *const *argv, const int stdio[3], int timeout_ms,
                          int *ret_status, struct crib_err *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none;
    _cleanup_close_ int pidfd = -1;
    struct pollfd pfd;
    pid_t pid;
    int r;

    posix_spawn_file_actions_init(&fa);
    for (int i = 0; i < 3; i++)
        posix_spawn_file_actions_adddup2(&fa, stdio[i], i);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_init(&attr);
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID);
    r = posix_spawn(&pid, argv[0], &fa, &attr, (char *const *)argv, (char *const *)shim_env);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0)
        return crib_fail(err, CRIB_INTERNAL, r, "run %s", argv[0]);
    pidfd = pidfd_open(pid, 0);
    pfd = (struct pollfd){.fd = pidfd, .events = POLLIN};
    while (pidfd >= 0 && (r = poll(&pfd, 1, timeout_ms)) < 0 && errno == EINTR)
        ;
    if (pidfd >= 0 && r == 0)
        kill(pid, SIGKILL);
    while (waitpid(pid, ret_status, 0) < 0)
        if (errno != EINTR)
            return crib_fail(err, CRIB_INTERNAL, errno, "wait for %s", argv[0]);
    if (pidfd >= 0 && r == 0)
        return crib_fail(err, CRIB_TIMEOUT, 0, "%s did not finish within %d ms", argv[0],
                         timeout_ms);
    return 0;
}

/* The message of the last error in a runtime's JSON log (--log-format=json),
 * or NULL; free() it. */
static char *json_log_error(const char *path)
{
    _cleanup_free_ char *text = NULL;
    char *line, *save = NULL, *msg = NULL;
    struct crib_err ignored;

    if (fs_read_file(path, 1 << 20, &text, NULL, &ignored) < 0)
        return NULL;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        struct json_object *o = json_tokener_parse(line), *level, *m;

        if (o && json_object_object_get_ex(o, "level", &level) &&
            strcmp(json_object_get_string(level), "error") == 0 &&
            json_object_object_get_ex(o, "msg", &m)) {
            free(msg);
            msg = xstrdup(json_object_get_string(m));
        }
        json_object_put(o);
    }
    return msg;
}

int shim_start_joined(const struct oci_handler *h, const char *id, const char *bundle,
                      const struct proc_identity *waiter, int timeout_ms, struct crib_err *err)
{
    const char *argv[SHIM_RUNTIME_MAX_ARGS];
    char bin[PATH_MAX];
    _cleanup_free_ char *root_arg = NULL, *log = xasprintf("%s/start.log", bundle);
    _cleanup_free_ char *log_arg = xasprintf("--log=%s", log), *msg = NULL;
    _cleanup_close_ int pidfd = proc_open_identified(waiter);
    int stdio[3] = {-1, -1, -1}, status = 0, r;
    size_t n = 0;

    if (pidfd < 0)
        return crib_fail(err, CRIB_STATE, ESRCH, "container %s: its process has gone", id);
    r = shim_runtime_argv(h, bin, sizeof(bin), argv, &n, &root_arg, err);
    if (r < 0)
        return r;
    /* runsc's own errors go to the log: its stderr is the container's. */
    argv[n++] = log_arg;
    argv[n++] = "--log-format=json";
    argv[n++] = "start";
    argv[n++] = id;
    argv[n] = NULL;
    for (int i = 0; i < 3 && r >= 0; i++) {
        stdio[i] = (int)syscall(SYS_pidfd_getfd, pidfd, i, 0);
        if (stdio[i] < 0)
            r = crib_fail(err, CRIB_INTERNAL, errno, "container %s: take its stdio", id);
    }
    unlink(log);
    if (r >= 0)
        r = run_with_stdio(argv, stdio, timeout_ms > 0 ? timeout_ms : SHIM_RUNTIME_TIMEOUT_MS,
                           &status, err);
    for (int i = 0; i < 3; i++)
        if (stdio[i] >= 0)
            close(stdio[i]);
    if (r < 0)
        return crib_wrap(err, "%s start %s", h->name, id);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        msg = json_log_error(log);
        return crib_fail(err, CRIB_INTERNAL, 0, "%s start: %s", h->name,
                         msg ? msg : "failed without a message");
    }
    if (pidfd_send_signal(pidfd, SIGUSR1, NULL, 0) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "container %s: tell its waiter", id);
    return 0;
}

/* The number at the JSON path keys (NULL-terminated) below o, or 0. */
static uint64_t json_u64_at(struct json_object *o, const char *const *keys)
{
    for (; *keys && o; keys++)
        if (!json_object_object_get_ex(o, *keys, &o))
            return 0;
    return o ? (uint64_t)json_object_get_int64(o) : 0;
}

/* Runs `<runtime> args...` and parses what it prints as one JSON object
 * (*ret: json_object_put() it), which must hold key. Errors: fail_code
 * when the runtime failed, CRIB_INTERNAL when its output is not such an
 * object; both carry what it said. */
static int runtime_json(const struct oci_handler *h, const char *const *args, const char *key,
                        enum crib_code fail_code, struct json_object **ret, struct crib_err *err)
{
    const char *argv[SHIM_RUNTIME_MAX_ARGS];
    char bin[PATH_MAX];
    _cleanup_free_ char *root_arg = NULL;
    struct proc_result res;
    struct json_object *o;
    size_t n = 0;
    int r = shim_runtime_argv(h, bin, sizeof(bin), argv, &n, &root_arg, err);

    if (r < 0)
        return r;
    for (size_t i = 0; args[i] && n < ARRAY_SIZE(argv) - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    r = proc_run_io(argv, shim_env, NULL, 0, SHIM_RUNTIME_TIMEOUT_MS, SHIM_RUNTIME_MAX_OUTPUT, &res,
                    err);
    if (r < 0)
        return crib_wrap(err, "%s %s", h->name, args[0]);
    o = res.exit_code == 0 ? json_tokener_parse(res.output) : NULL;
    if (o && json_object_object_get_ex(o, key, NULL)) {
        *ret = o;
    } else {
        json_object_put(o);
        r = crib_fail(err, res.exit_code ? fail_code : CRIB_INTERNAL, 0, "%s %s %s: %.200s",
                      h->name, args[0], args[1], *res.errout ? res.errout : res.output);
    }
    proc_result_done(&res);
    return r;
}

int shim_events_stats(const struct oci_handler *h, const char *id, struct shim_stats *ret,
                      struct crib_err *err)
{
    struct json_object *o, *data;
    int r = runtime_json(h, (const char *[]){"events", "--stats", id, NULL}, "data", CRIB_INTERNAL,
                         &o, err);

    if (r < 0)
        return r;
    json_object_object_get_ex(o, "data", &data);
    ret->cpu_usage_ns = json_u64_at(data, (const char *[]){"cpu", "usage", "total", NULL});
    ret->mem_usage_bytes = json_u64_at(data, (const char *[]){"memory", "usage", "usage", NULL});
    ret->pids = json_u64_at(data, (const char *[]){"pids", "current", NULL});
    json_object_put(o);
    return 0;
}

int shim_state(const struct oci_handler *h, const char *id, char *status, size_t size,
               struct crib_err *err)
{
    struct json_object *o, *v;
    int r = runtime_json(h, (const char *[]){"state", id, NULL}, "status", CRIB_NOT_FOUND, &o, err);

    if (r < 0)
        return r;
    json_object_object_get_ex(o, "status", &v);
    snprintf(status, size, "%s", json_object_get_string(v));
    json_object_put(o);
    return 0;
}

int shim_read_exit(const struct shim_paths *paths, const char *id, const char *bundle,
                   struct shim_exit *ret_exit, struct crib_err *err)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", paths->exit_dir, id);
    _cleanup_free_ char *oom = xasprintf("%s/oom", bundle);
    _cleanup_free_ char *text = NULL;
    struct stat st;
    char *end;
    long code;
    int r;

    r = fs_read_file(path, 64, &text, NULL, err);
    if (r < 0)
        return err->code == CRIB_NOT_FOUND ? 1 : r;
    errno = 0;
    code = strtol(text, &end, 10);
    if (errno || end == text || code < INT_MIN || code > INT_MAX)
        return crib_fail(err, CRIB_INTERNAL, 0, "exit file %s: not a number: %.20s", path, text);
    *ret_exit = (struct shim_exit){.code = (int)code};
    if (stat(path, &st) == 0)
        ret_exit->finished_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    ret_exit->oom_killed = access(oom, F_OK) == 0;
    return 0;
}

int shim_await_exit(const struct shim_paths *paths, const char *id, const char *bundle,
                    int timeout_ms, struct shim_exit *ret_exit, struct crib_err *err)
{
    _cleanup_close_ int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    long long deadline = clock_mono_ms() + timeout_ms;
    int r;

    /* Watch before looking, so a file written in between is not missed. */
    if (ino >= 0)
        inotify_add_watch(ino, paths->exit_dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
    for (;;) {
        struct pollfd pfd = {.fd = ino, .events = POLLIN};
        char buf[4096];
        long long left;

        r = shim_read_exit(paths, id, bundle, ret_exit, err);
        if (r <= 0)
            return r;
        left = deadline - clock_mono_ms();
        if (left <= 0 || ino < 0)
            return 1;
        if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
            return crib_fail(err, CRIB_INTERNAL, errno, "wait for the exit file of %s", id);
        while (read(ino, buf, sizeof(buf)) > 0)
            ;
    }
}

int shim_delete(const struct shim_paths *paths, const struct oci_handler *h, const char *id,
                struct crib_err *err)
{
    const char *args[] = {"delete", "--force", id, NULL};
    _cleanup_free_ char *exit_file = xasprintf("%s/%s", paths->exit_dir, id);
    int r = run_runtime(h, args, NULL, 0, SHIM_RUNTIME_TIMEOUT_MS, err);

    /* runc says "container does not exist" for one it never made or already deleted. */
    if (r < 0 && strstr(err->msg, "does not exist"))
        r = 0;
    if (r < 0)
        return r;
    if (unlink(exit_file) < 0 && errno != ENOENT)
        return crib_fail(err, CRIB_INTERNAL, errno, "remove %s", exit_file);
    return 0;
}

void shim_exec_kill(void *pidfile)
{
    _cleanup_free_ char *text = NULL;
    struct crib_err ignored;
    long pid;

    if (fs_read_file(pidfile, 32, &text, NULL, &ignored) < 0)
        return; /* not started yet: ending the runtime ends it */
    pid = strtol(text, NULL, 10);
    if (pid > 1)
        kill((pid_t)pid, SIGKILL);
}

char *shim_exec_pidfile(const char *bundle)
{
    static unsigned long seq;

    return xasprintf("%s/exec-%d-%lu.pid", bundle, (int)getpid(),
                     __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
}

const char **shim_exec_argv(const struct oci_handler *h, const char *id, const char *const *argv,
                            bool tty, const char *pidfile, char *bin, char **ret_root_arg,
                            char **ret_pid_arg, struct crib_err *err)
{
    size_t n = 0, n_args = 0;
    _cleanup_free_ const char **full = NULL;

    while (argv[n_args])
        n_args++;
    full = xcalloc(n_args + SHIM_RUNTIME_MAX_ARGS, sizeof(*full));
    if (shim_runtime_argv(h, bin, PATH_MAX, full, &n, ret_root_arg, err) < 0)
        return NULL;
    *ret_pid_arg = xasprintf("--pid-file=%s", pidfile);
    full[n++] = "exec";
    full[n++] = *ret_pid_arg;
    /* runsc has no --tty: a console socket is what makes it treat the
     * stdio it passes on as a terminal; without --detach it never opens the
     * socket, since the stdio is the terminal already (runsc/cmd/exec.go). */
    if (tty)
        full[n++] = h->kind == HANDLER_RUNSC ? "--console-socket=/dev/null" : "--tty";
    full[n++] = id;
    for (size_t i = 0; i < n_args; i++)
        full[n++] = argv[i];
    return TAKE_PTR(full);
}
int shim_exec_sync(const struct oci_handler *h, const char *id, const char *bundle,
                   const char *const *argv, int timeout_ms, struct shim_exec_result *ret_result,
                   struct crib_err *err)
{
    char bin[PATH_MAX];
    _cleanup_free_ char *root_arg = NULL, *pidfile = shim_exec_pidfile(bundle), *pid_arg = NULL;
    _cleanup_free_ const char **full = NULL;
    struct proc_result res;
    int r;

    full = shim_exec_argv(h, id, argv, false, pidfile, bin, &root_arg, &pid_arg, err);
    if (!full)
        return crib_err_ret(err);
    /* The exec'd process is killed first while runc still waits for it, so
     * that runc reaps it: killed after runc, it would be left a zombie under
     * the container's init. */
    r = proc_run_io_hooked(full, shim_env, NULL, 0, timeout_ms > 0 ? timeout_ms : INT_MAX,
                           SHIM_EXEC_MAX_OUTPUT, shim_exec_kill, pidfile, &res, err);
    unlink(pidfile);
    if (r < 0) {
        if (err->code == CRIB_TIMEOUT)
            return crib_fail(err, CRIB_TIMEOUT, 0, "command timed out after %d s in container %s",
                             timeout_ms / 1000, id);
        return r;
    }
    *ret_result = (struct shim_exec_result){
        .exit_code = res.term_signal ? 128 + res.term_signal : res.exit_code,
        .out = res.output,
        .out_len = res.output_len,
        .errout = res.errout,
        .errout_len = res.errout_len,
    };
    return 0;
}

void shim_exec_result_done(struct shim_exec_result *r)
{
    free(r->out);
    free(r->errout);
    r->out = r->errout = NULL;
}

int shim_update(const struct oci_handler *h, const char *id, const char *resources_json,
                struct crib_err *err)
{
    const char *args[] = {"update", "--resources", "-", id, NULL};
    int r =
        run_runtime(h, args, resources_json, strlen(resources_json), SHIM_RUNTIME_TIMEOUT_MS, err);

    if (r < 0 && err->code == CRIB_INTERNAL)
        err->code = CRIB_INVALID;
    return r;
}

/* Waits up to timeout_ms for path to exist, watching its dir (set up by
 * the caller before the file can appear). Returns 0, or 1 on timeout. */
static int await_file(int ino, const char *path, int timeout_ms)
{
    long long deadline = clock_mono_ms() + timeout_ms;
    char buf[4096];

    for (;;) {
        struct pollfd pfd = {.fd = ino, .events = POLLIN};
        long long left;

        if (access(path, F_OK) == 0)
            return 0;
        left = deadline - clock_mono_ms();
        if (left <= 0 || ino < 0)
            return 1;
        if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
            return 1;
        while (read(ino, buf, sizeof(buf)) > 0)
            ;
    }
}

int shim_reopen_log(const char *bundle, const char *log_path, struct crib_err *err)
{
    _cleanup_free_ char *ctl = xasprintf("%s/ctl", bundle);
    _cleanup_free_ char *log_dir = xstrdup(log_path);
    _cleanup_close_ int fd = open(ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    _cleanup_close_ int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    char *slash = strrchr(log_dir, '/');

    /* ENXIO: no reader on the FIFO, conmon has gone with its container. */
    if (fd < 0)
        return crib_fail(err, errno == ENXIO || errno == ENOENT ? CRIB_STATE : CRIB_INTERNAL, errno,
                         "reopen log: conmon's control FIFO %s", ctl);
    if (slash)
        *slash = '\0';
    if (ino >= 0 && slash)
        inotify_add_watch(ino, log_dir, IN_CREATE | IN_MOVED_TO);
    if (write(fd, SHIM_CTL_REOPEN_LOG, strlen(SHIM_CTL_REOPEN_LOG)) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "reopen log: write %s", ctl);
    /* conmon reopens when it reads the FIFO; the caller (the kubelet's log
     * rotation) expects the new file once the call returns. */
    if (await_file(ino, log_path, SHIM_REOPEN_TIMEOUT_MS) != 0)
        return crib_fail(err, CRIB_TIMEOUT, 0, "reopen log: conmon did not create %s within %d ms",
                         log_path, SHIM_REOPEN_TIMEOUT_MS);
    return 0;
}
