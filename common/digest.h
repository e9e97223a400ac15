/* Content digests as OCI and the distribution API write them:
 * "sha256:<64 lowercase hex>" (and sha512 with 128). Hashing uses OpenSSL's
 * EVP, which uses the CPU's SHA extensions where present. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* "sha512:" + 128 hex + NUL, the longest digest string. */
#define DIGEST_MAX_STR 136
#define DIGEST_SHA256_HEX 64

struct evp_md_ctx_st;

struct digester {
    struct evp_md_ctx_st *ctx;
    const char *algo; /* "sha256" or "sha512"; static */
};

/* True for "sha256:" + 64 lowercase hex or "sha512:" + 128. */
bool digest_is_valid(const char *s);

/* Checks s with digest_is_valid. Errors: CRIB_INVALID naming what (e.g. "layer 3 digest"). */
int digest_check(const char *s, const char *what, struct crib_err *err);

/* The hex part of a valid digest (a pointer into s). */
const char *digest_hex(const char *s);

/* Starts hashing with the algorithm of `like`, a digest or an algorithm name
 * ("sha256"). Errors: CRIB_INVALID (unsupported algorithm). */
int digester_init(struct digester *d, const char *like, struct crib_err *err);
void digester_update(struct digester *d, const void *data, size_t len);
/* Writes "algo:hex" into out (DIGEST_MAX_STR bytes) and frees the state. */
void digester_final(struct digester *d, char out[DIGEST_MAX_STR]);
/* Frees the state without a result; safe after digester_final. */
void digester_done(struct digester *d);

/* sha256 of a buffer, as "sha256:hex". */
void digest_sha256(const void *data, size_t len, char out[DIGEST_MAX_STR]);
