#include <stdlib.h>

#include "common/testing.h"
#include "cri/stream/tokens.h"

static int n_freed;

static void count_free(void *v)
{
    n_freed++;
    free(v);
}

static int *value(int n)
{
    int *v = malloc(sizeof(*v));

    *v = n;
    return v;
}

static int test_tokens_take_once(void)
{
    struct tokens *t = tokens_new(4, 1000, count_free);
    char tok[TOKENS_TOKEN_LEN + 1];
    struct crib_err err;
    int *v;

    n_freed = 0;
    CHECK_INT(tokens_put(t, 0, value(7), tok, &err), 0);
    CHECK_INT(strlen(tok), TOKENS_TOKEN_LEN);
    v = tokens_take(t, 10, tok);
    CHECK(v && *v == 7);
    free(v);
    CHECK(tokens_take(t, 10, tok) == NULL);
    CHECK(tokens_take(t, 10, "nope") == NULL);
    CHECK_INT(n_freed, 0);
    tokens_free(t);
    return 0;
}

static int test_tokens_expire(void)
{
    struct tokens *t = tokens_new(4, 1000, count_free);
    char a[TOKENS_TOKEN_LEN + 1], b[TOKENS_TOKEN_LEN + 1];
    struct crib_err err;

    n_freed = 0;
    CHECK_INT(tokens_put(t, 0, value(1), a, &err), 0);
    CHECK_INT(tokens_put(t, 500, value(2), b, &err), 0);
    CHECK_INT(tokens_count(t, 999), 2);
    CHECK(tokens_take(t, 1000, a) == NULL);
    CHECK_INT(n_freed, 1);
    CHECK_INT(tokens_count(t, 1499), 1);
    CHECK_INT(tokens_count(t, 1500), 0);
    CHECK_INT(n_freed, 2);
    tokens_free(t);
    return 0;
}

static int test_tokens_bounded(void)
{
    struct tokens *t = tokens_new(2, 1000, count_free);
    char tok[TOKENS_TOKEN_LEN + 1], other[TOKENS_TOKEN_LEN + 1];
    struct crib_err err;

    n_freed = 0;
    CHECK_INT(tokens_put(t, 0, value(1), tok, &err), 0);
    CHECK_INT(tokens_put(t, 0, value(2), other, &err), 0);
    CHECK(strcmp(tok, other) != 0);
    CHECK(tokens_put(t, 0, value(3), tok, &err) < 0);
    CHECK_INT(err.code, CRIB_LIMIT);
    CHECK_INT(n_freed, 1); /* the refused value is not leaked */
    /* Once the old ones expire there is room again. */
    CHECK_INT(tokens_put(t, 1000, value(4), tok, &err), 0);
    CHECK_INT(tokens_count(t, 1000), 1);
    tokens_free(t);
    CHECK_INT(n_freed, 4);
    return 0;
}

TEST_MAIN(TEST(test_tokens_take_once), TEST(test_tokens_expire), TEST(test_tokens_bounded))
