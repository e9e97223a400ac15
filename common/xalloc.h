/* Allocation that cannot fail: a daemon that cannot allocate cannot make
 * progress, and restart safety is proven separately (style.md). */
#pragma once

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string; free() it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Frees n strings of v and v itself; v may be NULL. */
void strv_free(char **v, size_t n);
