#include "common/clock.h"
#include "common/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

extern char **environ;

#define PROC_TIMEOUT_GRACE_MS 2000

/* The pipes of one child: stdin is a socket so that a child that exits without
 * reading it gives EPIPE, not SIGPIPE (send with MSG_NOSIGNAL). */
struct child_io {
    const char *in;
    size_t in_len, in_off;
    int in_fd, out_fd, err_fd; /* our ends; -1 when absent or done */
    size_t max_output;
    void (*on_timeout)(void *ctx); /* before the child is killed */
    void *on_timeout_ctx;
};

static void closefd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static int spawn_child(const char *const argv[], const char *const envp[], int in_fd, int out_fd,
                       int err_fd, pid_t *ret_pid, struct crib_err *err)
{
    posix_spawn_file_actions_t fa;
    int r;

    posix_spawn_file_actions_init(&fa);
    if (in_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO);
    else
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, err_fd >= 0 ? err_fd : out_fd, STDERR_FILENO);
    /* Not every fd of a gRPC daemon is close-on-exec. */
    posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
    r = posix_spawnp(ret_pid, argv[0], &fa, NULL, (char *const *)argv,
                     envp ? (char *const *)envp : environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0)
        return crib_fail(err, r == ENOENT ? CRIB_NOT_FOUND : CRIB_INTERNAL, r, "run %s", argv[0]);
    return 0;
}

static void collect(int *fd, size_t max_output, char **buf, size_t *len)
{
    char chunk[4096];
    ssize_t n = read(*fd, chunk, sizeof(chunk));

    if (n <= 0) {
        if (n == 0 || (errno != EINTR && errno != EAGAIN))
            closefd(fd);
        return;
    }
    if (*len < max_output) {
        size_t keep = (size_t)n;

        if (keep > max_output - *len)
            keep = max_output - *len;
        *buf = xrealloc(*buf, *len + keep + 1);
        memcpy(*buf + *len, chunk, keep);
        *len += keep;
        (*buf)[*len] = '\0';
    }
}

static void feed(struct child_io *io)
{
    ssize_t n =
        send(io->in_fd, io->in + io->in_off, io->in_len - io->in_off, MSG_NOSIGNAL | MSG_DONTWAIT);

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n > 0)
        io->in_off += (size_t)n;
    if (n < 0 || io->in_off >= io->in_len)
        closefd(&io->in_fd); /* EOF for the child, or it stopped reading */
}

/* Feeds stdin and reads output until the child exits and its pipes are
 * closed, or the deadline passes. */
static bool wait_child(int pidfd, struct child_io *io, long long deadline_ms,
                       struct proc_result *res)
{
    bool exited = false;

    while (!exited || io->out_fd >= 0 || io->err_fd >= 0) {
        struct pollfd pfd[4] = {{.fd = io->in_fd, .events = POLLOUT},
                                {.fd = io->out_fd, .events = POLLIN},
                                {.fd = io->err_fd, .events = POLLIN},
                                {.fd = exited ? -1 : pidfd, .events = POLLIN}};
        long long left = deadline_ms - clock_mono_ms();

        if (left <= 0)
            return false;
        if (poll(pfd, 4, (int)left) < 0 && errno != EINTR)
            return false;
        if (pfd[0].revents)
            feed(io);
        if (pfd[1].revents)
            collect(&io->out_fd, io->max_output, &res->output, &res->output_len);
        if (pfd[2].revents)
            collect(&io->err_fd, io->max_output, &res->errout, &res->errout_len);
        if (pfd[3].revents)
            exited = true;
    }
    return true;
}

/* Waits for the spawned child pid, killing it at the deadline. */
static int finish(const char *const argv[], pid_t pid, struct child_io *io, int timeout_ms,
                  struct proc_result *res, struct crib_err *err)
{
    _cleanup_close_ int pidfd = pidfd_open(pid, 0); /* our unreaped child: the pid is ours */
    int status;
    bool done;

    if (pidfd < 0) {
        int r = crib_fail(err, CRIB_INTERNAL, errno, "pidfd_open %d", (int)pid);

        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return r;
    }
    done = wait_child(pidfd, io, clock_mono_ms() + timeout_ms, res);
    /* The hook may end what the child runs, so that the child reaps it and
     * exits by itself; it gets a moment for that before SIGKILL. */
    if (!done && io->on_timeout) {
        io->on_timeout(io->on_timeout_ctx);
        wait_child(pidfd, io, clock_mono_ms() + PROC_TIMEOUT_GRACE_MS, res);
    }
    if (!done)
        pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!done)
        return crib_fail(err, CRIB_TIMEOUT, 0, "%s did not finish within %d ms", argv[0],
                         timeout_ms);
    res->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    res->term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    if (!res->output)
        res->output = xcalloc(1, 1);
    return 0;
}

static int run(const char *const argv[], const char *const envp[], struct child_io *io,
               int child_fds[3], int timeout_ms, struct proc_result *ret_result,
               struct crib_err *err)
{
    struct proc_result res = {0};
    pid_t pid;
    int r;

    r = spawn_child(argv, envp, child_fds[0], child_fds[1], child_fds[2], &pid, err);
    for (int i = 0; i < 3; i++)
        closefd(&child_fds[i]);
    if (r < 0)
        return r;
    r = finish(argv, pid, io, timeout_ms, &res, err);
    if (r < 0) {
        proc_result_done(&res);
        return r;
    }
    *ret_result = res;
    return 0;
}

int proc_run(const char *const argv[], int timeout_ms, size_t max_output,
             struct proc_result *ret_result, struct crib_err *err)
{
    struct child_io io = {.in_fd = -1, .err_fd = -1, .max_output = max_output};
    int fds[2], child_fds[3], r;

    if (pipe2(fds, O_CLOEXEC) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "pipe");
    io.out_fd = fds[0];
    child_fds[0] = child_fds[2] = -1; /* stdin from /dev/null, stderr to stdout */
    child_fds[1] = fds[1];
    r = run(argv, NULL, &io, child_fds, timeout_ms, ret_result, err);
    closefd(&io.out_fd);
    return r;
}

static int open_pipes(struct child_io *io, int child_fds[3], struct crib_err *err)
{
    int fds[6] = {-1, -1, -1, -1, -1, -1};

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 ||
        pipe2(fds + 2, O_CLOEXEC) < 0 || pipe2(fds + 4, O_CLOEXEC) < 0) {
        int r = crib_fail(err, CRIB_INTERNAL, errno, "pipes for a child");

        for (int i = 0; i < 6; i++)
            closefd(&fds[i]);
        return r;
    }
    io->in_fd = fds[0];
    io->out_fd = fds[2];
    io->err_fd = fds[4];
    child_fds[0] = fds[1];
    child_fds[1] = fds[3];
    child_fds[2] = fds[5];
    return 0;
}

int proc_run_io(const char *const argv[], const char *const envp[], const char *in, size_t in_len,
                int timeout_ms, size_t max_output, struct proc_result *ret_result,
                struct crib_err *err)
{
    return proc_run_io_hooked(argv, envp, in, in_len, timeout_ms, max_output, NULL, NULL,
                              ret_result, err);
}

int proc_run_io_hooked(const char *const argv[], const char *const envp[], const char *in,
                       size_t in_len, int timeout_ms, size_t max_output,
                       void (*on_timeout)(void *ctx), void *ctx, struct proc_result *ret_result,
                       struct crib_err *err)
{
    struct child_io io = {.in = in,
                          .in_len = in_len,
                          .max_output = max_output,
                          .on_timeout = on_timeout,
                          .on_timeout_ctx = ctx};
    int child_fds[3], r;

    r = open_pipes(&io, child_fds, err);
    if (r < 0)
        return r;
    if (in_len == 0)
        closefd(&io.in_fd);
    r = run(argv, envp, &io, child_fds, timeout_ms, ret_result, err);
    closefd(&io.in_fd);
    closefd(&io.out_fd);
    closefd(&io.err_fd);
    if (r >= 0 && !ret_result->errout)
        ret_result->errout = xcalloc(1, 1);
    return r;
}

void proc_result_done(struct proc_result *result)
{
    free(result->output);
    free(result->errout);
    result->output = NULL;
    result->errout = NULL;
    result->output_len = 0;
    result->errout_len = 0;
}

int proc_find_program(const char *name, char *buf, size_t size, struct stat *ret_st)
{
    const char *env = getenv("PATH");
    _cleanup_free_ char *dirs = xstrdup(env && *env ? env : "/usr/local/bin:/usr/bin:/bin");
    struct stat st;
    char *save = NULL;

    if (!ret_st)
        ret_st = &st;
    if (strchr(name, '/')) {
        snprintf(buf, size, "%s", name);
        return stat(buf, ret_st) == 0 && (ret_st->st_mode & 0111) ? 0 : -ENOENT;
    }
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(buf, size, "%s/%s", d, name);
        if (stat(buf, ret_st) == 0 && S_ISREG(ret_st->st_mode) && (ret_st->st_mode & 0111))
            return 0;
    }
    return -ENOENT;
}

/* The start time of pid (field 22 of /proc/PID/stat), 0 when it has gone.
 * With zombie set to whether it has exited but is not yet reaped. */
uint64_t proc_start_ticks(pid_t pid, bool *ret_zombie)
{
    char path[64], buf[1024], *p;
    _cleanup_close_ int fd = -1;
    unsigned long long ticks = 0;
    ssize_t n;
    char state;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* The command name may hold spaces and ')': fields start after the last ')'. */
    p = strrchr(buf, ')');
    if (!p || sscanf(p + 1,
                     " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
                     "%*d %llu",
                     &state, &ticks) != 2)
        return 0;
    if (ret_zombie)
        *ret_zombie = state == 'Z' || state == 'X';
    return ticks;
}

/* A pidfd for proc if it is still the same process; -1 when it has gone. */
int proc_open_identified(const struct proc_identity *proc)
{
    int fd;

    if (proc->pid <= 0)
        return -1;
    fd = pidfd_open(proc->pid, 0);
    if (fd < 0)
        return -1;
    /* Checked after the pidfd is held, so the pid cannot be reused in between. */
    if (proc_start_ticks(proc->pid, NULL) != proc->start_ticks) {
        close(fd);
        return -1;
    }
    return fd;
}

int proc_signal(const struct proc_identity *proc, int sig, struct crib_err *err)
{
    _cleanup_close_ int fd = proc_open_identified(proc);

    if (fd < 0)
        return 1;
    if (pidfd_send_signal(fd, sig, NULL, 0) < 0) {
        if (errno == ESRCH)
            return 1;
        return crib_fail(err, CRIB_INTERNAL, errno, "signal %d to process %d", sig, (int)proc->pid);
    }
    return 0;
}

bool proc_alive(const struct proc_identity *proc)
{
    bool zombie = false;

    return proc->pid > 0 && proc_start_ticks(proc->pid, &zombie) == proc->start_ticks && !zombie;
}

int proc_wait_gone(const struct proc_identity *proc, int timeout_ms, struct crib_err *err)
{
    _cleanup_close_ int fd = proc_open_identified(proc);
    struct pollfd pfd;
    long long deadline = clock_mono_ms() + timeout_ms;

    if (fd < 0)
        return 0;
    pfd = (struct pollfd){.fd = fd, .events = POLLIN};
    for (;;) {
        long long left = timeout_ms < 0 ? -1 : deadline - clock_mono_ms();
        int n;

        if (timeout_ms >= 0 && left <= 0)
            return 1;
        n = poll(&pfd, 1, (int)left);
        if (n > 0)
            return 0;
        if (n == 0)
            return 1;
        if (errno != EINTR)
            return crib_fail(err, CRIB_INTERNAL, errno, "wait for process %d", (int)proc->pid);
    }
}

bool proc_catches(const struct proc_identity *proc, int sig)
{
    char path[64], buf[4096];
    _cleanup_close_ int fd = -1;
    const char *line;
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)proc->pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
        return false;
    buf[n] = '\0';
    line = strstr(buf, "\nSigCgt:");
    return line && sig > 0 && sig <= 64 && (strtoull(line + 8, NULL, 16) >> (sig - 1)) & 1;
}
