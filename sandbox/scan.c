#include "sandbox/internal.h"

#include <string.h>

struct scan scan_init(const char *text, size_t len)
{
    return (struct scan){.p = text, .end = text + len};
}

int scan_line(struct scan *s, struct span *ret)
{
    const char *nl;

    if (s->p == s->end)
        return 0;
    nl = memchr(s->p, '\n', (size_t)(s->end - s->p));
    s->lineno++;
    if (!nl || (size_t)(nl - s->p) > SCAN_LINE_MAX)
        return -1;
    *ret = (struct span){.p = s->p, .n = (size_t)(nl - s->p)};
    s->p = nl + 1;
    return 1;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

bool scan_word(struct span *line, struct span *ret)
{
    size_t start = 0, end;

    while (start < line->n && is_blank(line->p[start]))
        start++;
    if (start == line->n)
        return false;
    for (end = start; end < line->n && !is_blank(line->p[end]); end++)
        ;
    *ret = (struct span){.p = line->p + start, .n = end - start};
    line->p += end;
    line->n -= end;
    return true;
}

bool scan_split(struct span s, char sep, struct span *left, struct span *right)
{
    const char *at = memchr(s.p, sep, s.n);

    if (!at)
        return false;
    *left = (struct span){.p = s.p, .n = (size_t)(at - s.p)};
    *right = (struct span){.p = at + 1, .n = s.n - (size_t)(at - s.p) - 1};
    return true;
}

bool scan_is(struct span s, const char *word)
{
    return s.n == strlen(word) && memcmp(s.p, word, s.n) == 0;
}

bool scan_u64(struct span s, uint64_t *ret)
{
    uint64_t v = 0;

    if (s.n == 0)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        unsigned d = (unsigned char)s.p[i] - '0';

        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *ret = v;
    return true;
}

bool scan_add(uint64_t a, uint64_t b, uint64_t *sum)
{
    return !__builtin_add_overflow(a, b, sum);
}
