/* Streaming exec and attach: the process side of the Exec and Attach RPCs'
 * sessions. Exec runs `<runtime> exec` with pipes, or with a terminal of
 * ours as its stdio: the runtime then makes the container's terminal itself,
 * copies between the two, and passes our size on when it gets SIGWINCH
 * (runc's `exec -t` without a console socket). Attach joins conmon's attach
 * socket; resizes go through conmon's control FIFO. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/xalloc.h"
#include "oci/internal.h"
#include "oci/shim.h"

/* The time a killed exec's runtime gets to reap its process before it is killed too. */
#define SHIM_EXEC_REAP_MS 2000
/* conmon's control message for a terminal resize: "1 HEIGHT WIDTH\n". */
#define SHIM_CTL_RESIZE 1

static const char *const exec_env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                                       "/sbin:/bin",
                                       NULL};

struct exec_stdio {
    int child[3];  /* what the runtime gets as 0, 1, 2; -1: /dev/null */
    int parent[3]; /* our ends */
    char pts[64];  /* with a terminal: the pty's path, opened by the child */
};

static void stdio_done(struct exec_stdio *io)
{
    for (int i = 0; i < 3; i++) {
        if (io->child[i] >= 0)
            close(io->child[i]);
        if (io->parent[i] >= 0)
            close(io->parent[i]);
        io->child[i] = io->parent[i] = -1;
    }
}

static int make_pipes(struct exec_stdio *io, unsigned flags, struct crib_err *err)
{
    static const unsigned want[3] = {SHIM_EXEC_STDIN, SHIM_EXEC_STDOUT, SHIM_EXEC_STDERR};

    for (int i = 0; i < 3; i++) {
        int fds[2];

        if (!(flags & want[i]))
            continue;
        if (pipe2(fds, O_CLOEXEC) < 0)
            return crib_fail(err, CRIB_INTERNAL, errno, "pipe for exec");
        io->child[i] = i == 0 ? fds[0] : fds[1];
        io->parent[i] = i == 0 ? fds[1] : fds[0];
    }
    return 0;
}

/* The exec's terminal. runc puts the container's own terminal behind ours,
 * which must then be raw and pass bytes through unchanged (no echo, no line
 * editing); runsc makes ours the process's terminal itself, so it keeps the
 * line discipline a terminal starts with. */
static int make_pty(struct exec_stdio *io, bool raw, struct crib_err *err)
{
    _cleanup_close_ int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    _cleanup_close_ int slave = -1;
    struct termios t;

    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
        ptsname_r(master, io->pts, sizeof(io->pts)) != 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "terminal for exec");
    slave = open(io->pts, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0 || tcgetattr(slave, &t) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open %s", io->pts);
    if (raw)
        cfmakeraw(&t);
    if (raw && tcsetattr(slave, TCSANOW, &t) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "raw mode on %s", io->pts);
    io->parent[1] = fcntl(master, F_DUPFD_CLOEXEC, 3);
    if (io->parent[1] < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "dup terminal");
    io->parent[0] = TAKE_FD(master);
    return 0;
}

/* The runtime runs in a session of its own; with a terminal, opening the pty
 * there (no O_NOCTTY) makes it the controlling one, so resizes reach the
 * runtime as SIGWINCH. It must not inherit cribd's blocked or ignored signals. */
static int spawn_exec(const char *const *argv, const struct exec_stdio *io, pid_t *ret_pid,
                      struct crib_err *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, dfl;
    int r;

    posix_spawn_file_actions_init(&fa);
    for (int i = 0; i < 3; i++) {
        if (io->pts[0])
            r = i == 0 ? posix_spawn_file_actions_addopen(&fa, 0, io->pts, O_RDWR, 0)
                       : posix_spawn_file_actions_adddup2(&fa, 0, i);
        else if (io->child[i] >= 0)
            r = posix_spawn_file_actions_adddup2(&fa, io->child[i], i);
        else
            r = posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i ? O_WRONLY : O_RDONLY, 0);
        (void)r; /* failures show in posix_spawn below */
    }
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_init(&attr);
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dfl);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
    r = posix_spawn(ret_pid, argv[0], &fa, &attr, (char *const *)argv, (char *const *)exec_env);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0)
        return crib_fail(err, CRIB_INTERNAL, r, "run %s", argv[0]);
    return 0;
}

int shim_exec_start(const struct oci_handler *h, const char *id, const char *bundle,
                    const char *const *argv, unsigned flags, struct shim_exec_proc *ret,
                    struct crib_err *err)
{
    char bin[PATH_MAX];
    _cleanup_free_ char *root_arg = NULL, *pidfile = shim_exec_pidfile(bundle), *pid_arg = NULL;
    _cleanup_free_ const char **full = NULL;
    struct exec_stdio io = {{-1, -1, -1}, {-1, -1, -1}, ""};
    pid_t pid;
    int r;

    full =
        shim_exec_argv(h, id, argv, flags & SHIM_EXEC_TTY, pidfile, bin, &root_arg, &pid_arg, err);
    if (!full)
        return crib_err_ret(err);
    r = flags & SHIM_EXEC_TTY ? make_pty(&io, h->kind != HANDLER_RUNSC, err)
                              : make_pipes(&io, flags, err);
    if (r >= 0)
        r = spawn_exec(full, &io, &pid, err);
    if (r < 0) {
        stdio_done(&io);
        return r;
    }
    *ret = (struct shim_exec_proc){.pid = pid, .pidfd = pidfd_open(pid, 0)};
    ret->stdin_fd = TAKE_FD(io.parent[0]);
    ret->stdout_fd = TAKE_FD(io.parent[1]);
    ret->stderr_fd = TAKE_FD(io.parent[2]);
    ret->pidfile = TAKE_PTR(pidfile);
    stdio_done(&io);
    return 0;
}

void shim_exec_resize(const struct shim_exec_proc *p, uint16_t width, uint16_t height)
{
    struct winsize ws = {.ws_row = height, .ws_col = width};

    if (p->stdout_fd >= 0)
        (void)ioctl(p->stdout_fd, TIOCSWINSZ, &ws); /* not a terminal: nothing to size */
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int shim_exec_end(struct shim_exec_proc *p, bool do_kill, int *ret_exit_code, struct crib_err *err)
{
    struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
    int status;

    close_fd(&p->stdin_fd);
    close_fd(&p->stdout_fd);
    close_fd(&p->stderr_fd);
    if (do_kill) {
        shim_exec_kill(p->pidfile);
        if (p->pidfd < 0 || poll(&pfd, 1, SHIM_EXEC_REAP_MS) <= 0) {
            kill(p->pid, SIGKILL);
            shim_exec_kill(p->pidfile);
        }
    }
    while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
        ;
    close_fd(&p->pidfd);
    unlink(p->pidfile);
    free(p->pidfile);
    p->pidfile = NULL;
    if (WIFSIGNALED(status)) {
        *ret_exit_code = 128 + WTERMSIG(status);
        return 0;
    }
    *ret_exit_code = WEXITSTATUS(status);
    (void)err;
    return 0;
}

int shim_attach_open(const struct shim_paths *paths, const char *id, int *ret_fd,
                     struct crib_err *err)
{
    _cleanup_free_ char *dir = xasprintf("%s/%s", paths->socket_dir, id);
    _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    _cleanup_close_ int fd = -1;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};

    if (dfd < 0)
        return crib_fail(err, CRIB_STATE, errno, "attach socket of %s", id);
    /* The dir's fd keeps the path short whatever the state dir is (sun_path is 108 bytes). */
    snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/attach", dfd);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "socket");
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        return crib_fail(err, CRIB_STATE, errno, "connect to the attach socket of %s", id);
    *ret_fd = TAKE_FD(fd);
    return 0;
}

int shim_resize(const char *bundle, uint16_t width, uint16_t height, struct crib_err *err)
{
    _cleanup_free_ char *ctl = xasprintf("%s/ctl", bundle);
    /* Non-blocking: a FIFO whose reader (conmon) has gone fails with ENXIO instead of hanging. */
    _cleanup_close_ int fd = open(ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    char msg[64];
    int n;

    if (fd < 0)
        return crib_fail(err, CRIB_STATE, errno, "open %s", ctl);
    /* One message a write: conmon parses each read from its first line. */
    n = snprintf(msg, sizeof(msg), "%d %u %u\n", SHIM_CTL_RESIZE, height, width);
    if (write(fd, msg, (size_t)n) != n)
        return crib_fail(err, CRIB_STATE, errno, "write %s", ctl);
    return 0;
}
