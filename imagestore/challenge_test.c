#include "common/cleanup.h"
#include "common/testing.h"
#include "imagestore/challenge.h"

static const struct {
    const char *header;
    enum challenge_scheme scheme; /* CHALLENGE_NONE: refused */
    const char *realm, *service, *scope, *msg;
} cases[] = {
    {"Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
     "scope=\"repository:library/busybox:pull\"",
     CHALLENGE_BEARER, "https://auth.docker.io/token", "registry.docker.io",
     "repository:library/busybox:pull", NULL},
    {"bearer  realm=\"https://a/t\" , service=svc", CHALLENGE_BEARER, "https://a/t", "svc", NULL,
     NULL},
    {"Basic realm=\"Registry Realm\"", CHALLENGE_BASIC, "Registry Realm", NULL, NULL, NULL},
    {"Basic", CHALLENGE_BASIC, NULL, NULL, NULL, NULL},
    {"Negotiate abc, Basic realm=\"r\"", CHALLENGE_BASIC, "r", NULL, NULL, NULL},
    {"Bearer realm=\"a\\\"b\",error=\"invalid_token\"", CHALLENGE_BEARER, "a\"b", NULL, NULL, NULL},
    {"", CHALLENGE_NONE, NULL, NULL, NULL, "no Basic or Bearer"},
    {"Digest realm=\"x\"", CHALLENGE_NONE, NULL, NULL, NULL, "no Basic or Bearer"},
    {"Bearer service=\"x\"", CHALLENGE_NONE, NULL, NULL, NULL, "without a realm"},
    {"Bearer realm=\"unterminated", CHALLENGE_NONE, NULL, NULL, NULL, "unterminated"},
    {",,,, ====", CHALLENGE_NONE, NULL, NULL, NULL, "no Basic or Bearer"},
};

static int test_table(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct challenge ch;
        struct crib_err err;
        int r = challenge_parse(cases[i].header, strlen(cases[i].header), &ch, &err);

        if (cases[i].scheme == CHALLENGE_NONE) {
            CHECK(r < 0);
            CHECK_INT(err.code, CRIB_INVALID);
            CHECK_CONTAINS(err.msg, cases[i].msg);
            continue;
        }
        CHECK_INT(r, 0);
        if (r < 0)
            continue;
        CHECK_INT(ch.scheme, cases[i].scheme);
        if (cases[i].realm)
            CHECK_STR(ch.realm, cases[i].realm);
        if (cases[i].service)
            CHECK_STR(ch.service, cases[i].service);
        if (cases[i].scope)
            CHECK_STR(ch.scope, cases[i].scope);
        challenge_done(&ch);
    }
    return 0;
}

static int test_too_long(void)
{
    char big[CHALLENGE_MAX_LEN + 10];
    struct challenge ch;
    struct crib_err err;

    memset(big, 'a', sizeof(big));
    CHECK(challenge_parse(big, sizeof(big), &ch, &err) < 0);
    CHECK_CONTAINS(err.msg, "over");
    return 0;
}

TEST_MAIN(TEST(test_table), TEST(test_too_long))
