/* The registry client: distribution API v2 over libcurl, one shared
 * connection pool for the daemon. It resolves manifests and fetches blobs
 * through the endpoints of a registry host (mirrors first, from hosts.h),
 * answers Bearer and Basic challenges, retries what is worth retrying, and
 * never logs credentials. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/digest.h"
#include "common/err.h"
#include "imagestore/reference.h"

struct registry;
struct registry_repo;

struct registry_options {
    const char *const *hosts_dirs; /* certs.d dirs, NULL-terminated */
    unsigned connect_timeout_ms;
    unsigned stall_timeout_ms;   /* a transfer receiving nothing this long fails */
    unsigned request_timeout_ms; /* whole manifest/token requests */
    unsigned max_attempts;       /* per request and endpoint, for retryable failures */
};

/* The CRI AuthConfig, as given; any field may be NULL or empty. */
struct registry_auth {
    const char *username, *password;
    const char *auth; /* base64 of "username:password" */
    const char *identity_token;
    const char *registry_token;
};

/* Lets a caller stop a transfer (a cancelled call, a passed deadline). */
struct registry_cancel {
    bool (*is_cancelled)(void *ctx);
    void *ctx;
};

/* Errors: CRIB_INTERNAL. Free with registry_free() once no repo is open. */
int registry_new(const struct registry_options *opts, struct registry **ret_registry,
                 struct crib_err *err);
void registry_free(struct registry *reg);

/* A session with one repository (its endpoints, credentials and token);
 * usable from several threads at once. Errors: CRIB_INVALID (bad hosts
 * config), CRIB_INTERNAL. Free with registry_repo_close(). */
int registry_repo_open(struct registry *reg, const struct imgref *ref,
                       const struct registry_auth *auth, const struct registry_cancel *cancel,
                       struct registry_repo **ret_repo, struct crib_err *err);
void registry_repo_close(struct registry_repo *repo);

/* Fetches the manifest that reference (a tag or a digest) names, accepting
 * OCI and Docker manifests and indexes. *ret_digest is the sha256 of the body;
 * when reference is a digest the body must hash to it.
 * Errors: CRIB_NOT_FOUND (no endpoint has it), CRIB_INVALID (digest
 * mismatch, bad credentials: the message says which), CRIB_LIMIT (over
 * max_bytes), CRIB_UNAVAILABLE (unreachable, 5xx after retries, cancelled),
 * CRIB_TIMEOUT. */
int registry_get_manifest(struct registry_repo *repo, const char *reference, size_t max_bytes,
                          char **ret_body, size_t *ret_len, char **ret_content_type,
                          char ret_digest[DIGEST_MAX_STR], struct crib_err *err);

/* Fetches blob digest whole (for configs), checking its digest. Same errors. */
int registry_get_blob(struct registry_repo *repo, const char *digest, size_t max_bytes,
                      char **ret_body, size_t *ret_len, struct crib_err *err);

/* Streams blob digest into fd (a pipe), as it arrives; the caller checks the
 * digest of what it read. Retries only before the first byte was written.
 * Same errors; a write error to fd (the reader gave up) is CRIB_UNAVAILABLE. */
int registry_stream_blob(struct registry_repo *repo, const char *digest, int fd,
                         uint64_t *ret_bytes, struct crib_err *err);
