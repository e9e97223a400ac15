#include "cri/stream/tokens.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

struct token_entry {
    char token[TOKENS_TOKEN_LEN + 1];
    uint64_t expires_ms;
    void *value;
};

/* A flat array: max is small (hundreds), and each put or take scans it once,
 * which also sweeps the expired entries, so no timer thread is needed. */
struct tokens {
    size_t max, n;
    uint64_t ttl_ms;
    tokens_free_fn free_fn;
    struct token_entry *entries;
};

struct tokens *tokens_new(size_t max, uint64_t ttl_ms, tokens_free_fn free_fn)
{
    struct tokens *t = xcalloc(1, sizeof(*t));

    t->max = max;
    t->ttl_ms = ttl_ms;
    t->free_fn = free_fn;
    t->entries = xcalloc(max ? max : 1, sizeof(*t->entries));
    return t;
}

static void drop(struct tokens *t, size_t i)
{
    t->free_fn(t->entries[i].value);
    t->entries[i] = t->entries[--t->n];
}

static void sweep(struct tokens *t, uint64_t now_ms)
{
    for (size_t i = 0; i < t->n;) {
        if (t->entries[i].expires_ms <= now_ms)
            drop(t, i);
        else
            i++;
    }
}

void tokens_free(struct tokens *t)
{
    if (!t)
        return;
    while (t->n)
        drop(t, 0);
    free(t->entries);
    free(t);
}

static int random_hex(char out[TOKENS_TOKEN_LEN + 1], struct crib_err *err)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t raw[TOKENS_TOKEN_LEN / 2];
    ssize_t n = getrandom(raw, sizeof(raw), 0);

    if (n != (ssize_t)sizeof(raw))
        return crib_fail(err, CRIB_INTERNAL, n < 0 ? errno : EIO, "random token");
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[TOKENS_TOKEN_LEN] = '\0';
    return 0;
}

int tokens_put(struct tokens *t, uint64_t now_ms, void *value_owned,
               char ret_token[TOKENS_TOKEN_LEN + 1], struct crib_err *err)
{
    struct token_entry *e;
    int r;

    sweep(t, now_ms);
    if (t->n == t->max) {
        t->free_fn(value_owned);
        return crib_fail(err, CRIB_LIMIT, 0, "%zu streaming requests are waiting for clients",
                         t->max);
    }
    e = &t->entries[t->n];
    r = random_hex(e->token, err);
    if (r < 0) {
        t->free_fn(value_owned);
        return r;
    }
    e->expires_ms = now_ms + t->ttl_ms;
    e->value = value_owned;
    t->n++;
    memcpy(ret_token, e->token, sizeof(e->token));
    return 0;
}

/* Compares without an early exit, so response times say nothing of a token's prefix. */
static bool token_equal(const char *a, const char *b)
{
    unsigned char diff = 0;

    for (size_t i = 0; i < TOKENS_TOKEN_LEN; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

void *tokens_take(struct tokens *t, uint64_t now_ms, const char *token)
{
    sweep(t, now_ms);
    if (strlen(token) != TOKENS_TOKEN_LEN)
        return NULL;
    for (size_t i = 0; i < t->n; i++) {
        if (token_equal(t->entries[i].token, token)) {
            void *v = t->entries[i].value;

            t->entries[i] = t->entries[--t->n];
            return v;
        }
    }
    return NULL;
}

size_t tokens_count(struct tokens *t, uint64_t now_ms)
{
    sweep(t, now_ms);
    return t->n;
}
