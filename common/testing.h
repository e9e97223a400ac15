/* A minimal harness for unit tests: CHECK macros that count failures and a
 * runner that prints one line per case and the "N passed, N failed" total.
 * A test function returns TEST_SKIP (with a reason printed) when the machine
 * lacks what it needs; a binary whose cases all skip exits 77. */
#pragma once

#include <stdio.h>
#include <string.h>

#define TEST_SKIP 77

static int test_case_failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);             \
            test_case_failures++;                                                                  \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long _a = (long long)(a), _b = (long long)(b);                                        \
        if (_a != _b) {                                                                            \
            fprintf(stderr, "  %s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, _a,    \
                    _b);                                                                           \
            test_case_failures++;                                                                  \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *_a = (a), *_b = (b);                                                           \
        if (!_a || !_b || strcmp(_a, _b) != 0) {                                                   \
            fprintf(stderr, "  %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,    \
                    _a ? _a : "(null)", _b ? _b : "(null)");                                       \
            test_case_failures++;                                                                  \
        }                                                                                          \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        const char *_h = (hay), *_n = (needle);                                                    \
        if (!_h || !strstr(_h, _n)) {                                                              \
            fprintf(stderr, "  %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__,       \
                    _h ? _h : "(null)", _n);                                                       \
            test_case_failures++;                                                                  \
        }                                                                                          \
    } while (0)

struct test_case {
    const char *name;
    int (*fn)(void);
};

#define TEST(fn)                                                                                   \
    {                                                                                              \
#fn, fn                                                                                    \
    }

static inline int test_run(const struct test_case *cases, size_t n)
{
    unsigned passed = 0, failed = 0, skipped = 0;

    for (size_t i = 0; i < n; i++) {
        int r;

        test_case_failures = 0;
        r = cases[i].fn();
        if (r == TEST_SKIP) {
            printf("skip %s\n", cases[i].name);
            skipped++;
        } else if (test_case_failures || r != 0) {
            printf("FAIL %s\n", cases[i].name);
            failed++;
        } else {
            printf("ok   %s\n", cases[i].name);
            passed++;
        }
    }
    printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
    if (failed)
        return 1;
    return passed == 0 && skipped > 0 ? TEST_SKIP : 0;
}

#define TEST_MAIN(...)                                                                             \
    int main(void)                                                                                 \
    {                                                                                              \
        static const struct test_case cases[] = {__VA_ARGS__};                                     \
        return test_run(cases, sizeof(cases) / sizeof(cases[0]));                                  \
    }
