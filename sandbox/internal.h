/* Shared inside sandbox/ only: a bounded scanner for the kernel's text files
 * (cgroupfs, /proc/net/dev). It never reads past the given length, so the
 * text need not be NUL-terminated, and it never allocates. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Kernel lines are short (io.stat with iocost columns is the longest, ~200). */
#define SCAN_LINE_MAX 1024

/* A piece of the text: p[0..n), not NUL-terminated. */
struct span {
    const char *p;
    size_t n;
};

struct scan {
    const char *p, *end;
    unsigned lineno; /* of the line last returned, from 1 */
};

/* A scanner over text[0..len). */
struct scan scan_init(const char *text, size_t len);

/* The next line without its '\n' in *ret: 1; 0 at the end of the text; -1 for
 * a line with no '\n' (a cut read) or longer than SCAN_LINE_MAX. */
int scan_line(struct scan *s, struct span *ret);

/* The next word of *line (split on spaces and tabs) in *ret, consuming it:
 * false when none is left. */
bool scan_word(struct span *line, struct span *ret);

/* Splits s at its first sep into *left and *right: false without one. */
bool scan_split(struct span s, char sep, struct span *left, struct span *right);

/* Whether s is exactly word. */
bool scan_is(struct span s, const char *word);

/* s as a decimal u64: only digits, at least one, no overflow. */
bool scan_u64(struct span s, uint64_t *ret);

/* a + b into *sum: false on overflow. */
bool scan_add(uint64_t a, uint64_t b, uint64_t *sum);
