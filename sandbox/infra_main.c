/* crib-infra: the init of a pod whose containers share one PID namespace
 * (design.md: no pause image). cribd runs it; it makes the PID namespace,
 * prints the pid of its child there (PID 1) and exits; that child reaps
 * whatever is reparented to it and otherwise sleeps in sigwaitinfo, using
 * no CPU. cribd ends it with SIGKILL. With --sandbox it is the init of a
 * gVisor sandbox instead. Static and libc-only: a pod costs a
 * few pages for it. */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_child(int sig)
{
    (void)sig;
}

static void __attribute__((noreturn)) init_loop(void)
{
    struct sigaction sa = {.sa_handler = on_child};
    sigset_t all;
    int null = open("/dev/null", O_RDWR);

    setsid();
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2)
            close(null);
    }
    prctl(PR_SET_NAME, "crib-infra");
    /* The init of a PID namespace only gets signals it handles, so SIGCHLD
     * needs a handler, even one that never runs: it stays blocked and is
     * taken by sigwaitinfo. */
    sigaction(SIGCHLD, &sa, NULL);
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        if (sigwaitinfo(&all, NULL) == SIGCHLD)
            while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
    }
}

int main(int argc, char **argv)
{
    pid_t pid;

    /* The first container of a gVisor sandbox (oci/gvisor.c): the sandbox
     * is the PID namespace, and this is its init already. */
    if (argc > 1 && strcmp(argv[1], "--sandbox") == 0)
        init_loop();
    /* A pod with a user namespace of its own (argv[1], its pin) gets a PID
     * namespace that namespace owns, or its containers could not join it. */
    if (argc > 1) {
        int fd = open(argv[1], O_RDONLY | O_CLOEXEC);

        if (fd < 0 || setns(fd, CLONE_NEWUSER) < 0) {
            perror("crib-infra: join the pod's user namespace");
            return 1;
        }
        close(fd);
    }
    if (unshare(CLONE_NEWPID) < 0) {
        perror("crib-infra: unshare(CLONE_NEWPID)");
        return 1;
    }
    pid = fork();
    if (pid < 0) {
        perror("crib-infra: fork");
        return 1;
    }
    if (pid == 0)
        init_loop();
    printf("%d\n", (int)pid);
    return fflush(stdout) == 0 ? 0 : 1;
}
