/* Registry host configuration from a certs.d-style dir, read the way
 * containerd reads it (DIR/HOST/hosts.toml) and the way Docker does
 * (DIR/HOST/ca.crt, *.crt, *.cert + *.key), so a node's existing setup works. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define HOSTS_TOML_MAX_BYTES (256u << 10)
#define HOSTS_MAX_ENDPOINTS 16
#define HOSTS_MAX_FILES 16 /* CAs, client pairs, per endpoint */
#define HOSTS_MAX_HEADERS 32

enum hosts_capability {
    HOSTS_CAP_PULL = 1u << 0,
    HOSTS_CAP_RESOLVE = 1u << 1,
    HOSTS_CAP_PUSH = 1u << 2,
};

struct hosts_client_cert {
    char *cert; /* absolute path */
    char *key;  /* absolute path; NULL when the cert file holds the key too */
};

struct hosts_header {
    char *name;
    char *value;
};

struct hosts_endpoint {
    char *scheme;   /* "https" or "http" */
    char *host;     /* "registry-1.docker.io", "127.0.0.1:5000", "[::1]:5000" */
    char *api_root; /* path to put before "/<name>/manifests/...": "/v2" normally,
                       or the URL's own path ("/v2" appended unless override_path or
                       the path ends in /v2 already); "" for a bare URL with override_path */
    unsigned capabilities;
    bool skip_verify;
    size_t n_cas;
    char *cas[HOSTS_MAX_FILES]; /* absolute paths of CA bundles to trust, on top of the system's */
    size_t n_clients;
    struct hosts_client_cert clients[HOSTS_MAX_FILES];
    size_t n_headers;
    struct hosts_header headers[HOSTS_MAX_HEADERS];
};

/* The endpoints to try for one registry host, in order: the [host."URL"]
 * sections in file order (mirrors), then the origin (`server`, by default
 * https://HOST, and https://registry-1.docker.io for docker.io) with the
 * top-level capabilities, all of them by default. */
struct hosts_config {
    size_t n_endpoints;
    struct hosts_endpoint endpoints[HOSTS_MAX_ENDPOINTS];
};

/* Loads the config for registry host `host` (a reference's domain, e.g.
 * "docker.io" or "127.0.0.1:5000") from the first of dirs (NULL-terminated)
 * that has HOST/ (for host:port, containerd 2's "host_port_" first, then
 * "host:port"; then _default/). With a non-empty hosts.toml that file decides;
 * without it the Docker files of the dir apply to the origin (*.crt are CAs,
 * X.cert with X.key a client pair). With no dir at all the result is the origin
 * alone. Relative paths in hosts.toml are relative to its dir.
 * On success free the contents with hosts_config_done().
 * Errors: CRIB_INVALID naming the file, line and problem (or a bad host, or a
 * .cert without its .key); CRIB_LIMIT (HOSTS_MAX_*, HOSTS_TOML_MAX_BYTES);
 * CRIB_INTERNAL on I/O. */
int hosts_load(const char *const *dirs, const char *host, struct hosts_config *ret_config,
               struct crib_err *err);

/* Parses hosts.toml text for `host`, found in host_dir (for relative paths,
 * so give an absolute dir). Unknown keys and tables are ignored, as containerd
 * ignores them. On success free the contents with hosts_config_done().
 * Errors: CRIB_INVALID "HOST_DIR/hosts.toml:LINE: problem", CRIB_LIMIT. */
int hosts_parse(const char *text, size_t len, const char *host_dir, const char *host,
                struct hosts_config *ret_config, struct crib_err *err);

/* Frees what the endpoints hold and empties config (the struct is the caller's). */
void hosts_config_done(struct hosts_config *config);
