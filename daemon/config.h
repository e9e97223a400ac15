/* cribd's configuration: built-in defaults, then /etc/crib/crib.json, then the
 * drop-ins in /etc/crib/crib.json.d/ (*.json, merged in name order), then the
 * command-line flags. Frozen once cribd starts serving. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/log.h"

#define CONFIG_MAX_BYTES (1u << 20)
#define CONFIG_MAX_RUNTIMES 16
#define CONFIG_MAX_DIRS 8
#define CONFIG_DEFAULT_PATH "/etc/crib/crib.json"

#define CONFIG_MAX_RUNTIME_FLAGS 8

struct config_runtime {
    char *name;
    char *path; /* binary */
    char *root; /* the runtime's --root; default <stateDir>/<name> */
    char *type; /* "runc", "crun" or "runsc" */
    /* Global flags added to every call (runsc's --platform=ptrace, say);
     * NULL-terminated. */
    char *flags[CONFIG_MAX_RUNTIME_FLAGS + 1];
};

struct crib_config {
    char *root_dir;  /* persistent state: the database, images */
    char *state_dir; /* volatile state: pins, exit files */
    char *listen;    /* unix socket path */
    enum log_level log_level;
    enum log_format log_format;
    char *cgroup_driver; /* "cgroupfs" or "systemd" */
    char *default_runtime;
    char *conmon;        /* the shim binary */
    char *infra;         /* crib-infra, the init of pods sharing a PID namespace */
    char *runsc_wrapper; /* crib-runsc, run in runsc's place (oci/runsc_main.c) */
    size_t n_runtimes;
    struct config_runtime runtimes[CONFIG_MAX_RUNTIMES];
    char *cni_conf_dir;
    char *cni_bin_dirs[CONFIG_MAX_DIRS + 1];  /* NULL-terminated */
    char *registry_dirs[CONFIG_MAX_DIRS + 1]; /* certs.d dirs, NULL-terminated */
    unsigned max_parallel_layers;
    uint64_t max_layer_bytes; /* what one layer may unpack to */
    unsigned stall_timeout_s;
    unsigned workers;      /* threads for short calls */
    unsigned long_workers; /* threads for long calls (pulls, stops, execs) */
    unsigned shutdown_timeout_s;
    char *metrics_address; /* cribd's own Prometheus endpoint, HOST:PORT; "" is off */
    /* The streaming server (Exec, Attach, PortForward URLs). */
    char *streaming_address;
    unsigned streaming_port;                      /* 0: a free port */
    char *streaming_tls_cert, *streaming_tls_key; /* NULL: plain HTTP */
    unsigned streaming_token_ttl_s;
    unsigned streaming_max_sessions;
};

/* Fills cfg with the defaults that make cribd run with no config file. */
void config_defaults(struct crib_config *cfg);

/* Applies one JSON document (the file or a drop-in) on top of cfg. Unknown keys
 * and wrong types are refused. Errors: CRIB_INVALID naming the key. */
int config_apply_json(struct crib_config *cfg, const char *text, size_t len, struct crib_err *err);

/* Applies path and then the *.json files of path.d in name order. A missing file is fine
 * unless must_exist. Errors: CRIB_INVALID (naming the file and key),
 * CRIB_NOT_FOUND (must_exist and missing), CRIB_INTERNAL. */
int config_load(struct crib_config *cfg, const char *path, bool must_exist, struct crib_err *err);

/* Checks the final config and fills derived defaults (runtime roots, the
 * default runtime). Errors: CRIB_INVALID. */
int config_finish(struct crib_config *cfg, struct crib_err *err);

/* The config in force as a JSON object in the file's own keys; free() it. */
char *config_to_json(const struct crib_config *cfg);

/* Replaces *field with a copy of value. */
void config_set(char **field, const char *value);

void config_done(struct crib_config *cfg);
