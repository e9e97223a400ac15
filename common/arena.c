#include "common/arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

/* Most calls fit in one chunk of this size; a larger object gets its own. */
#define ARENA_CHUNK_BYTES 4096
#define ARENA_ALIGN 16

struct arena_chunk {
    struct arena_chunk *next;
    size_t size;
    size_t used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

void arena_init(struct arena *a)
{
    a->head = NULL;
    a->used_bytes = 0;
}

void arena_done(struct arena *a)
{
    struct arena_chunk *c = a->head;

    while (c) {
        struct arena_chunk *next = c->next;

        free(c);
        c = next;
    }
    arena_init(a);
}

static struct arena_chunk *chunk_new(size_t size)
{
    struct arena_chunk *c = xmalloc(sizeof(*c) + size);

    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

void *arena_alloc(struct arena *a, size_t n)
{
    struct arena_chunk *c = a->head;
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    void *p;

    if (need == 0)
        need = ARENA_ALIGN;
    if (need > ARENA_CHUNK_BYTES / 4) {
        /* Big objects get a chunk of their own behind the head, so the head's
         * free space stays usable for small ones. */
        struct arena_chunk *big = chunk_new(need);

        if (c) {
            big->next = c->next;
            c->next = big;
        } else {
            a->head = big;
        }
        big->used = need;
        a->used_bytes += need;
        return memset(big->data, 0, need);
    }
    if (!c || c->size - c->used < need) {
        c = chunk_new(ARENA_CHUNK_BYTES);
        c->next = a->head;
        a->head = c;
    }
    p = c->data + c->used;
    c->used += need;
    a->used_bytes += need;
    return memset(p, 0, need);
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    char *p;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    p = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

const char *const *arena_strv(struct arena *a, char *const *v, size_t n)
{
    const char **out = arena_alloc(a, (n + 1) * sizeof(*out));

    for (size_t i = 0; i < n; i++)
        out[i] = arena_strdup(a, v[i]);
    out[n] = NULL;
    return out;
}
