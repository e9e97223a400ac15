#include "common/digest.h"
#include "common/testing.h"

static int test_known_vectors(void)
{
    char out[DIGEST_MAX_STR];
    struct digester d;
    struct crib_err err;

    digest_sha256("", 0, out);
    CHECK_STR(out, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK_INT(digester_init(&d, "sha256:whatever", &err), 0);
    digester_update(&d, "ab", 2);
    digester_update(&d, "c", 1);
    digester_final(&d, out);
    CHECK_STR(out, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK_INT(digester_init(&d, "sha512", &err), 0);
    digester_final(&d, out);
    CHECK_INT(strlen(out), 7 + 128);
    CHECK(digest_is_valid(out));
    CHECK(digester_init(&d, "md5", &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    return 0;
}

static int test_validation(void)
{
    static const char *const bad[] = {
        "",
        "sha256",
        "sha256:",
        "sha256:abc",
        "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    };
    struct crib_err err;

    CHECK(
        digest_is_valid("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(!digest_is_valid(bad[i]));
        CHECK(digest_check(bad[i], "layer 2 digest", &err) < 0);
        CHECK_CONTAINS(err.msg, "layer 2 digest");
    }
    CHECK_STR(digest_hex("sha256:abc"), "abc");
    return 0;
}

TEST_MAIN(TEST(test_known_vectors), TEST(test_validation))
