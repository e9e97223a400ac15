#include "daemon/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

int instance_lock(const char *root_dir, struct crib_err *err)
{
    _cleanup_free_ char *path = xasprintf("%s/cribd.lock", root_dir);
    _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    char pid[32] = "";
    int n;

    if (fd < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "open %s", path);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK)
            return crib_fail(err, CRIB_INTERNAL, errno, "lock %s", path);
        n = (int)pread(fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? strcspn(pid, "\n") : 0] = '\0';
        return crib_fail(err, CRIB_EXISTS, 0, "another cribd (pid %s) is running on root %s",
                         *pid ? pid : "unknown", root_dir);
    }
    n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        return crib_fail(err, CRIB_INTERNAL, errno, "write %s", path);
    return TAKE_FD(fd);
}
