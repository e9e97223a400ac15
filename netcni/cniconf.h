/* CNI network configuration: finding the network a node uses and checking
 * that the plugins it names exist. */
#pragma once

#include <stddef.h>

#include "common/err.h"

/* A network config file is refused beyond this size. */
#define CNICONF_MAX_BYTES (1u << 20)
#define CNICONF_MAX_PLUGINS 32

struct cniconf_dirs {
    const char *conf_dir;
    const char *const *bin_dirs; /* NULL-terminated */
};

struct cniconf {
    char *file;        /* the file it came from */
    char *name;        /* network name */
    char *cni_version; /* "1.0.0", "0.4.0", ... */
    size_t n_plugins;
    char *plugin_types[CNICONF_MAX_PLUGINS];
    char *json; /* the whole config as conflist JSON text (a .conf becomes a one-plugin list) */
};

/* Parses one network config: a conflist ({"name", "cniVersion", "plugins":
 * [{"type"}, ...]}) or, when is_list is false, a single-plugin .conf.
 * Errors: CRIB_INVALID naming what is wrong. */
int cniconf_parse(const char *text, size_t len, int is_list, struct cniconf *ret_conf,
                  struct crib_err *err);

/* Loads the lexically first valid network config (*.conflist, *.conf,
 * *.json) of dirs->conf_dir; invalid files are passed over.
 * Errors: CRIB_NOT_FOUND (no valid config; the message says why). */
int cniconf_load(const struct cniconf_dirs *dirs, struct cniconf *ret_conf, struct crib_err *err);

/* Checks that every plugin of conf is an executable in one of the bin dirs.
 * Errors: CRIB_NOT_FOUND naming the first missing plugin. */
int cniconf_check_plugins(const struct cniconf *conf, const struct cniconf_dirs *dirs,
                          struct crib_err *err);

void cniconf_done(struct cniconf *conf);
