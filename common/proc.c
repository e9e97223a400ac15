#include "common/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

extern char **environ;

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int spawn_child(const char *const argv[], int out_fd, pid_t *ret_pid, struct crib_err *err)
{
    posix_spawn_file_actions_t fa;
    int r;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out_fd, STDERR_FILENO);
    r = posix_spawnp(ret_pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0)
        return crib_fail(err, r == ENOENT ? CRIB_NOT_FOUND : CRIB_INTERNAL, r, "run %s", argv[0]);
    return 0;
}

static void collect(int fd, size_t max_output, struct proc_result *res, bool *eof)
{
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof(chunk));

    if (n <= 0) {
        if (n == 0 || (errno != EINTR && errno != EAGAIN))
            *eof = true;
        return;
    }
    if (res->output_len < max_output) {
        size_t keep = (size_t)n;

        if (keep > max_output - res->output_len)
            keep = max_output - res->output_len;
        res->output = xrealloc(res->output, res->output_len + keep + 1);
        memcpy(res->output + res->output_len, chunk, keep);
        res->output_len += keep;
        res->output[res->output_len] = '\0';
    }
}

/* Reads output until the child exits and the pipe is closed, or the deadline. */
static bool wait_child(int pidfd, int out_fd, long long deadline_ms, size_t max_output,
                       struct proc_result *res)
{
    bool exited = false, eof = false;

    while (!exited || !eof) {
        struct pollfd pfd[2] = {{.fd = eof ? -1 : out_fd, .events = POLLIN},
                                {.fd = exited ? -1 : pidfd, .events = POLLIN}};
        long long left = deadline_ms - now_ms();
        int n;

        if (left <= 0)
            return false;
        n = poll(pfd, 2, (int)left);
        if (n < 0 && errno != EINTR)
            return false;
        if (pfd[0].revents)
            collect(out_fd, max_output, res, &eof);
        if (pfd[1].revents)
            exited = true;
    }
    return true;
}

int proc_run(const char *const argv[], int timeout_ms, size_t max_output,
             struct proc_result *ret_result, struct crib_err *err)
{
    struct proc_result res = {0};
    _cleanup_close_ int rd = -1, wr = -1, pidfd = -1;
    int fds[2], status, r;
    pid_t pid;
    bool done;

    if (pipe2(fds, O_CLOEXEC) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "pipe");
    rd = fds[0];
    wr = fds[1];
    r = spawn_child(argv, wr, &pid, err);
    if (r < 0)
        return r;
    closep(&wr);
    wr = -1;
    /* Our own unreaped child cannot be recycled, so the pid is still ours. */
    pidfd = pidfd_open(pid, 0);
    if (pidfd < 0) {
        r = crib_fail(err, CRIB_INTERNAL, errno, "pidfd_open %d", (int)pid);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return r;
    }
    done = wait_child(pidfd, rd, now_ms() + timeout_ms, max_output, &res);
    if (!done)
        pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!done) {
        proc_result_done(&res);
        return crib_fail(err, CRIB_TIMEOUT, 0, "%s did not finish within %d ms", argv[0],
                         timeout_ms);
    }
    res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    res.term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    if (!res.output)
        res.output = xcalloc(1, 1);
    *ret_result = res;
    return 0;
}

void proc_result_done(struct proc_result *result)
{
    free(result->output);
    result->output = NULL;
    result->output_len = 0;
}
