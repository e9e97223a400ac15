/* OCI runtime handlers: the RuntimeClass names a node offers (runc, crun,
 * runsc, ...) and the runtime binary behind each. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "common/err.h"

enum handler_kind {
    HANDLER_RUNC, /* runc and crun: the same CLI */
    HANDLER_RUNSC,
};

/* What a handler is known to support; each flag is set only once it works. */
struct handler_features {
    bool recursive_read_only_mounts;
    bool user_namespaces;
};

/* The identity of a binary when it was last probed: a new binary dropped in
 * place (package upgrade) is probed again. */
struct handler_probe_cache {
    pthread_mutex_t lock;
    bool valid;
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
    off_t size;
    int result; /* 0 or a negative errno */
    struct crib_err err;
    char version[128]; /* first line of `--version` */
};

struct oci_handler {
    char *name; /* the RuntimeClass handler name */
    char *path; /* the binary; looked up on PATH when it has no '/' */
    char *root; /* the runtime's --root state dir */
    /* The runtime's global flag for the node's cgroup driver (the systemd
     * driver's --systemd-cgroup), or NULL. */
    const char *cgroup_flag;
    /* Global flags the config adds to every call (runsc's --platform=...,
     * say), at most HANDLER_MAX_FLAGS. */
    char **flags;
    size_t n_flags;
    /* runsc only: crib-runsc, which cribd and conmon run in runsc's place
     * (oci/runsc_main.c), and its --runsc=PATH. */
    char *wrapper, *wrapper_arg;
    enum handler_kind kind;
    struct handler_features features;
    struct handler_probe_cache probe;
};

#define HANDLER_MAX_FLAGS 8

/* Parses "runc", "crun" or "runsc" (the kind is the CLI dialect the binary
 * speaks). Errors: -EINVAL. */
int handler_kind_parse(const char *name, enum handler_kind *ret_kind);
const char *handler_kind_name(enum handler_kind kind);

void handler_init(struct oci_handler *h, const char *name, const char *path, const char *root,
                  enum handler_kind kind);
void handler_done(struct oci_handler *h);

/* Sets the global flags (copied; at most HANDLER_MAX_FLAGS are kept). */
void handler_set_flags(struct oci_handler *h, const char *const *flags, size_t n_flags);

/* Sets crib-runsc's path for a runsc handler (copied). */
void handler_set_wrapper(struct oci_handler *h, const char *wrapper);

/* Checks that the handler's binary exists and answers `--version` (cached
 * while the binary is unchanged). On success copies the version line into
 * ret_version (size bytes) when it is not NULL.
 * Errors: CRIB_NOT_FOUND (no binary), CRIB_UNAVAILABLE (it does not answer). */
int handler_probe(struct oci_handler *h, char *ret_version, size_t size, struct crib_err *err);

/* The absolute path of the handler's binary, looked up as execvp would.
 * Errors: CRIB_NOT_FOUND. */
int handler_binary(const struct oci_handler *h, char *buf, size_t size, struct crib_err *err);
