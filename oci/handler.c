#include "oci/handler.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/proc.h"
#include "common/xalloc.h"

#define HANDLER_PROBE_TIMEOUT_MS 5000
#define HANDLER_PROBE_MAX_OUTPUT 4096

static const char *const kind_names[] = {[HANDLER_RUNC] = "runc", [HANDLER_RUNSC] = "runsc"};

int handler_kind_parse(const char *name, enum handler_kind *ret_kind)
{
    if (strcmp(name, "runc") == 0 || strcmp(name, "crun") == 0)
        *ret_kind = HANDLER_RUNC;
    else if (strcmp(name, "runsc") == 0)
        *ret_kind = HANDLER_RUNSC;
    else
        return -EINVAL;
    return 0;
}

const char *handler_kind_name(enum handler_kind kind)
{
    return kind_names[kind];
}

void handler_init(struct oci_handler *h, const char *name, const char *path, const char *root,
                  enum handler_kind kind)
{
    memset(h, 0, sizeof(*h));
    h->name = xstrdup(name);
    h->path = xstrdup(path);
    h->root = xstrdup(root);
    h->kind = kind;
    /* crib makes the read-only copies itself (storage/rootfs.c), so every
     * runtime gets them. */
    h->features.recursive_read_only_mounts = true;
    /* User namespaces with idmapped rootfs and volumes, made by crib
     * (storage/rootfs.c); gVisor has user namespaces of its own. */
    h->features.user_namespaces = kind != HANDLER_RUNSC;
    pthread_mutex_init(&h->probe.lock, NULL);
}

void handler_set_flags(struct oci_handler *h, const char *const *flags, size_t n_flags)
{
    if (n_flags > HANDLER_MAX_FLAGS)
        n_flags = HANDLER_MAX_FLAGS;
    strv_free(h->flags, h->n_flags);
    h->flags = xcalloc(n_flags + 1, sizeof(*h->flags));
    for (size_t i = 0; i < n_flags; i++)
        h->flags[i] = xstrdup(flags[i]);
    h->n_flags = n_flags;
}

void handler_set_wrapper(struct oci_handler *h, const char *wrapper)
{
    free(h->wrapper);
    free(h->wrapper_arg);
    h->wrapper = xstrdup(wrapper);
    h->wrapper_arg = xasprintf("--runsc=%s", h->path);
}

void handler_done(struct oci_handler *h)
{
    strv_free(h->flags, h->n_flags);
    free(h->wrapper);
    free(h->wrapper_arg);
    free(h->name);
    free(h->path);
    free(h->root);
    pthread_mutex_destroy(&h->probe.lock);
}

static bool cache_matches(const struct handler_probe_cache *c, const struct stat *st)
{
    return c->valid && c->dev == st->st_dev && c->ino == st->st_ino && c->size == st->st_size &&
           c->mtime.tv_sec == st->st_mtim.tv_sec && c->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static void run_probe(struct oci_handler *h, const char *bin, struct handler_probe_cache *c)
{
    const char *argv[] = {bin, "--version", NULL};
    struct proc_result res;
    size_t line;

    c->result = proc_run(argv, HANDLER_PROBE_TIMEOUT_MS, HANDLER_PROBE_MAX_OUTPUT, &res, &c->err);
    if (c->result < 0) {
        c->err.code = CRIB_UNAVAILABLE;
        crib_wrap(&c->err, "runtime handler '%s'", h->name);
        return;
    }
    if (res.term_signal || res.exit_code != 0) {
        c->result = crib_fail(&c->err, CRIB_UNAVAILABLE, 0,
                              "runtime handler '%s': %s --version exited with %s %d: %.200s",
                              h->name, bin, res.term_signal ? "signal" : "status",
                              res.term_signal ? res.term_signal : res.exit_code, res.output);
    } else {
        line = strcspn(res.output, "\n");
        snprintf(c->version, sizeof(c->version), "%.*s", (int)line, res.output);
    }
    proc_result_done(&res);
}

int handler_binary(const struct oci_handler *h, char *buf, size_t size, struct crib_err *err)
{
    struct stat st;

    if (proc_find_program(h->path, buf, size, &st) < 0)
        return crib_fail(err, CRIB_NOT_FOUND, ENOENT, "runtime handler '%s': binary '%s' not found",
                         h->name, h->path);
    return 0;
}

int handler_probe(struct oci_handler *h, char *ret_version, size_t size, struct crib_err *err)
{
    _cleanup_unlock_ pthread_mutex_t *guard = lock_guard(&h->probe.lock);
    struct handler_probe_cache *c = &h->probe;
    char bin[PATH_MAX];
    struct stat st;

    if (proc_find_program(h->path, bin, sizeof(bin), &st) < 0) {
        c->valid = false;
        return crib_fail(err, CRIB_NOT_FOUND, ENOENT, "runtime handler '%s': binary '%s' not found",
                         h->name, h->path);
    }
    if (!cache_matches(c, &st)) {
        /* The lock is per handler and held only for the few ms of `--version`,
         * so concurrent Status calls wait for one probe instead of forking many. */
        c->result = 0;
        c->version[0] = '\0';
        run_probe(h, bin, c);
        c->valid = true;
        c->dev = st.st_dev;
        c->ino = st.st_ino;
        c->size = st.st_size;
        c->mtime = st.st_mtim;
    }
    if (c->result < 0) {
        *err = c->err;
        return c->result;
    }
    if (ret_version)
        snprintf(ret_version, size, "%s", c->version);
    return 0;
}
