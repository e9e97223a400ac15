/* The streaming server's single-use tokens: an Exec, Attach or PortForward
 * call stores its checked request under a random token, and the client that
 * comes to the URL with it takes the request back exactly once. The table is
 * bounded and forgets a token at its expiry. Times are passed in (a monotonic
 * clock in ms), so expiry is tested without sleeping. Not thread-safe: the
 * caller holds its own lock around each call. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* 32 random bytes as hex: guessing one is hopeless, and hex needs no escaping in a URL. */
#define TOKENS_TOKEN_LEN 64

/* What the table calls to drop a request it will never hand out. */
typedef void (*tokens_free_fn)(void *value);

struct tokens;

/* A table of up to max entries, each valid for ttl_ms, dropped with free_fn. */
struct tokens *tokens_new(size_t max, uint64_t ttl_ms, tokens_free_fn free_fn);

/* Frees t and every request still in it; NULL is fine. */
void tokens_free(struct tokens *t);

/* Stores value_owned under a new token written to ret_token (NUL-terminated).
 * Expired entries are dropped first. On failure value_owned is freed.
 * Errors: CRIB_LIMIT (max live tokens), CRIB_INTERNAL (no randomness). */
int tokens_put(struct tokens *t, uint64_t now_ms, void *value_owned,
               char ret_token[TOKENS_TOKEN_LEN + 1], struct crib_err *err);

/* Takes the request stored under token, which is then forgotten: the caller
 * owns it. NULL for an unknown, used or expired token. */
void *tokens_take(struct tokens *t, uint64_t now_ms, const char *token);

/* Live (unexpired) entries, for tests and limits. */
size_t tokens_count(struct tokens *t, uint64_t now_ms);
