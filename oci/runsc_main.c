/* crib-runsc: how cribd and conmon run gVisor's runsc (design.md: a runsc
 * pod is one gVisor sandbox). They run
 *
 *   crib-runsc --runsc=BIN [--crib-joins] GLOBAL-FLAGS... COMMAND ARGS...
 *
 * and it runs BIN with the global flags, the command and its args, adding
 * what runsc lacks as a CRI runtime:
 *
 * - start and restore run in a mount namespace of their own with an empty
 *   /proc/sys/net. runsc (Debian's 20221219) takes the existence of
 *   /proc/sys/net/core/rmem_default for proof that it runs in the host's
 *   network namespace, and then refuses to give the sandbox its own network
 *   stack ("cannot run with network enabled in root network namespace");
 *   kernels since 6.x show that file in every network namespace. Only these
 *   commands' view of /proc changes.
 *
 * - create of a container that joins a pod's sandbox (--crib-joins) leaves
 *   a waiter behind as the container's process. runsc reports the
 *   sandbox's pid for every container, which conmon, not its parent, cannot
 *   wait for; and a joining container gets the stdio of `runsc start`, not
 *   of create. The waiter keeps conmon's stdio until cribd has started the
 *   container with it (cribd takes it with pidfd_getfd) and sends SIGUSR1;
 *   it then waits with `runsc wait` and exits with the container's status,
 *   which conmon records as it does a runc container's exit.
 *
 * libc only, as crib-infra. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNSC_FLAG "--runsc="
#define JOINS_FLAG "--crib-joins"
#define MAX_ARGS 256
/* runsc wait prints {"id":"...","exitStatus":N}. */
#define EXIT_STATUS_KEY "\"exitStatus\":"

static const char *runsc;

static void __attribute__((noreturn)) die(const char *what)
{
    fprintf(stderr, "crib-runsc: %s: %s\n", what, strerror(errno));
    exit(125);
}

/* Runs runsc with argv (argv[0] is ignored), its stdout on out_fd when
 * that is not -1. Returns its wait status, or -1. */
static int run(char **argv, int out_fd)
{
    pid_t pid = fork();
    int status;

    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0)
            _exit(125);
        execvp(runsc, argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return status;
}

static int exit_code_of(int status)
{
    if (status < 0)
        return 125;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void hide_host_net_sysctls(void)
{
    if (unshare(CLONE_NEWNS) < 0)
        die("unshare(CLONE_NEWNS)");
    /* A slave: mounts made later on the host still reach a sandbox this
     * command starts, and nothing done here reaches the host. */
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        die("make / a slave mount");
    if (mount("crib-runsc", "/proc/sys/net", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
              "size=4k,mode=555") < 0)
        die("hide /proc/sys/net");
}

/* The container's status from runsc wait's output, or 255 when it has none
 * (the sandbox went away without one). */
static int parse_exit_status(const char *out)
{
    const char *p = strstr(out, EXIT_STATUS_KEY);
    char *end;
    long v;

    if (!p)
        return 255;
    v = strtol(p + strlen(EXIT_STATUS_KEY), &end, 10);
    if (end == p + strlen(EXIT_STATUS_KEY) || v < 0 || v > 255)
        return 255;
    return (int)v;
}

/* The waiter: holds the container's stdio until SIGUSR1 (cribd started the
 * container with it), then exits with the container's status. Any other
 * signal ends it as it would end a process (cribd kills the waiter of a
 * container it removes unstarted). */
static void __attribute__((noreturn)) wait_container(char **globals, int n_globals, const char *id)
{
    char *argv[MAX_ARGS];
    char out[512];
    sigset_t set;
    int null, fds[2], n = 0, sig, status;
    ssize_t len = 0, got;

    prctl(PR_SET_NAME, "crib-runsc-wait");
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    while ((sig = sigwaitinfo(&set, NULL)) < 0 && errno == EINTR)
        ;
    if (sig != SIGUSR1)
        _exit(128 + (sig < 0 ? SIGTERM : sig));
    /* The container holds its own copies now; ours would keep conmon
     * reading after it exited. */
    null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
        _exit(125);
    if (pipe2(fds, O_CLOEXEC) < 0)
        _exit(125);
    argv[n++] = "runsc";
    for (int i = 0; i < n_globals; i++)
        argv[n++] = globals[i];
    argv[n++] = "wait";
    argv[n++] = (char *)id;
    argv[n] = NULL;
    status = run(argv, fds[1]);
    close(fds[1]);
    while (len < (ssize_t)sizeof(out) - 1 &&
           ((got = read(fds[0], out + len, sizeof(out) - 1 - (size_t)len)) > 0 ||
            (got < 0 && errno == EINTR)))
        len += got > 0 ? got : 0;
    out[len] = '\0';
    _exit(exit_code_of(status) == 0 ? parse_exit_status(out) : 255);
}

/* create, for a container joining a sandbox: argv is runsc's whole command
 * line, cmd the index of "create" in it. */
static int create_joining(char **argv, int argc, int cmd)
{
    const char *pid_file = NULL, *id = argv[argc - 1];
    char *sandbox_pid_file = NULL, *tmp = NULL;
    sigset_t set;
    pid_t waiter;
    FILE *f;
    int status;

    for (int i = cmd + 1; i < argc - 1; i++) {
        if (strcmp(argv[i], "--pid-file") == 0 || strcmp(argv[i], "-pid-file") == 0) {
            pid_file = argv[i + 1];
            if (asprintf(&sandbox_pid_file, "%s.sandbox", pid_file) < 0)
                die("asprintf");
            argv[i + 1] = sandbox_pid_file;
        } else if (strncmp(argv[i], "--pid-file=", 11) == 0) {
            pid_file = argv[i] + 11;
            if (asprintf(&argv[i], "--pid-file=%s.sandbox", pid_file) < 0)
                die("asprintf");
        }
    }
    if (!pid_file) {
        fprintf(stderr, "crib-runsc: create %s: no --pid-file\n", id);
        return 125;
    }
    status = run(argv, -1);
    if (exit_code_of(status) != 0)
        return exit_code_of(status);
    /* Blocked before the fork, so cribd's SIGUSR1 cannot come too early. */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    waiter = fork();
    if (waiter < 0)
        die("fork the waiter");
    if (waiter == 0) {
        closefrom(3);
        wait_container(argv + 1, cmd - 1, id);
    }
    /* conmon reads the pid file once create returns: written whole. */
    if (asprintf(&tmp, "%s.tmp", pid_file) < 0)
        die("asprintf");
    f = fopen(tmp, "we");
    if (!f || fprintf(f, "%d", (int)waiter) < 0 || fclose(f) != 0 || rename(tmp, pid_file) < 0) {
        kill(waiter, SIGKILL);
        die("write the pid file");
    }
    return 0;
}

int main(int argc, char **argv)
{
    char *args[MAX_ARGS];
    int n = 0, cmd = -1;
    int joins = 0;

    if (argc < 2 || argc >= MAX_ARGS || strncmp(argv[1], RUNSC_FLAG, strlen(RUNSC_FLAG)) != 0) {
        fprintf(stderr, "usage: crib-runsc --runsc=BIN [--crib-joins] FLAGS... COMMAND ARGS...\n");
        return 125;
    }
    runsc = argv[1] + strlen(RUNSC_FLAG);
    args[n++] = "runsc";
    for (int i = 2; i < argc; i++) {
        if (cmd < 0 && strcmp(argv[i], JOINS_FLAG) == 0) {
            joins = 1;
            continue;
        }
        if (cmd < 0 && argv[i][0] != '-')
            cmd = n;
        args[n++] = argv[i];
    }
    args[n] = NULL;
    if (cmd < 0) {
        execvp(runsc, args);
        die(runsc);
    }
    if (strcmp(args[cmd], "start") == 0 || strcmp(args[cmd], "restore") == 0)
        hide_host_net_sysctls();
    else if (strcmp(args[cmd], "create") == 0 && joins)
        return create_joining(args, n, cmd);
    execvp(runsc, args);
    die(runsc);
}
