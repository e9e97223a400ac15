/* A bump allocator for the life of one request: everything a call decodes or
 * builds is freed at once when the call ends, so handlers never free. */
#pragma once

#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head;
    size_t used_bytes; /* total handed out, for limits and metrics */
};

void arena_init(struct arena *a);
/* Frees every allocation; the arena can be used again. */
void arena_done(struct arena *a);
/* Zeroed memory, aligned for any type; never NULL (aborts on OOM). */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
/* A copy of n strings as a NULL-terminated vector. */
const char *const *arena_strv(struct arena *a, char *const *v, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
