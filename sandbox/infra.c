#include "sandbox/infra.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/proc.h"
#include "common/xalloc.h"
#include "sandbox/ns.h"

#define INFRA_START_TIMEOUT_MS 10000
#define INFRA_STOP_TIMEOUT_MS 10000

static int read_identity(const char *dir, struct proc_identity *ret, struct crib_err *err)
{
    _cleanup_free_ char *path = xasprintf("%s/infra", dir), *text = NULL;
    long long pid;
    unsigned long long ticks;
    int r = fs_read_file(path, 64, &text, NULL, err);

    if (r < 0)
        return err->code == CRIB_NOT_FOUND ? 1 : r;
    if (sscanf(text, "%lld %llu", &pid, &ticks) != 2 || pid <= 1)
        return crib_fail(err, CRIB_INTERNAL, 0, "%s: malformed", path);
    *ret = (struct proc_identity){(pid_t)pid, ticks};
    return 0;
}

int infra_start(const char *dir, const char *binary, bool in_userns, struct crib_err *err)
{
    _cleanup_free_ char *path = xasprintf("%s/infra", dir), *text = NULL;
    _cleanup_free_ char *userns = xasprintf("%s/user", dir);
    const char *argv[] = {binary, in_userns ? userns : NULL, NULL};
    struct proc_identity id = {0};
    struct proc_result res;
    int r = proc_run(argv, INFRA_START_TIMEOUT_MS, 256, &res, err);

    if (r < 0)
        return crib_wrap(err, "pod infra process");
    if (res.exit_code != 0 || res.term_signal || sscanf(res.output, "%d", &id.pid) != 1) {
        r = crib_fail(err, CRIB_INTERNAL, 0, "pod infra process %s failed: %.200s", binary,
                      res.output);
        proc_result_done(&res);
        return r;
    }
    proc_result_done(&res);
    id.start_ticks = proc_start_ticks(id.pid, NULL);
    if (!id.start_ticks)
        return crib_fail(err, CRIB_INTERNAL, ESRCH, "pod infra process %d vanished", (int)id.pid);
    /* Recorded first, so that a failure (or a crash) below can still stop it. */
    text = xasprintf("%d %" PRIu64 "\n", (int)id.pid, id.start_ticks);
    r = fs_write_volatile(path, text, strlen(text), 0600, err);
    if (r >= 0)
        r = ns_pin_pid(dir, id.pid, err);
    if (r < 0) {
        struct crib_err ignored;

        (void)infra_stop(dir, &ignored);
    }
    return r;
}

int infra_stop(const char *dir, struct crib_err *err)
{
    _cleanup_free_ char *path = xasprintf("%s/infra", dir);
    struct proc_identity id;
    int r = read_identity(dir, &id, err);

    if (r == 0) {
        r = proc_signal(&id, SIGKILL, err);
        if (r == 0)
            r = proc_wait_gone(&id, INFRA_STOP_TIMEOUT_MS, err);
        if (r == 1)
            return crib_fail(err, CRIB_INTERNAL, 0, "pod infra process %d did not die",
                             (int)id.pid);
    }
    if (r < 0)
        return r;
    if (unlink(path) < 0 && errno != ENOENT)
        return crib_fail(err, CRIB_INTERNAL, errno, "remove %s", path);
    return 0;
}
