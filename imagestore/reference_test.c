#include <stdlib.h>

#include "common/cleanup.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "imagestore/reference.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SHA256 "sha256:" HEX64

struct parse_case {
    const char *in;
    enum crib_code code;                      /* CRIB_INTERNAL here means: accepted */
    const char *domain, *path, *tag, *digest; /* accepted: the fields (NULL: none) */
    const char *msg;                          /* refused: a fragment of the message */
};

#define OK(in, domain, path, tag, digest)                                                          \
    {                                                                                              \
        in, CRIB_INTERNAL, domain, path, tag, digest, NULL                                         \
    }
#define BAD(in, msg)                                                                               \
    {                                                                                              \
        in, CRIB_INVALID, NULL, NULL, NULL, NULL, msg                                              \
    }

static const struct parse_case parse_cases[] = {
    OK("busybox", "docker.io", "library/busybox", "latest", NULL),
    OK("busybox:1.36", "docker.io", "library/busybox", "1.36", NULL),
    OK("library/busybox", "docker.io", "library/busybox", "latest", NULL),
    OK("docker.io/busybox", "docker.io", "library/busybox", "latest", NULL),
    OK("index.docker.io/library/busybox", "docker.io", "library/busybox", "latest", NULL),
    OK("index.docker.io/busybox:1", "docker.io", "library/busybox", "1", NULL),
    OK("bitnami/redis", "docker.io", "bitnami/redis", "latest", NULL),
    OK("registry.k8s.io/pause:3.9", "registry.k8s.io", "pause", "3.9", NULL),
    OK("127.0.0.1:5000/bench/multilayer:v1", "127.0.0.1:5000", "bench/multilayer", "v1", NULL),
    OK("localhost/foo", "localhost", "foo", "latest", NULL),
    OK("localhost:5000/a/b/c:t", "localhost:5000", "a/b/c", "t", NULL),
    OK("[::1]:5000/x:y", "[::1]:5000", "x", "y", NULL),
    OK("[fe80::1]/x", "[fe80::1]", "x", "latest", NULL),
    OK("name@" SHA256, "docker.io", "library/name", NULL, SHA256),
    OK("name:tag@" SHA256, "docker.io", "library/name", "tag", SHA256),
    OK("gcr.io/k8s-staging-cri-tools/test-image-user-uid", "gcr.io",
       "k8s-staging-cri-tools/test-image-user-uid", "latest", NULL),
    OK("gcr.io/k8s-staging-cri-tools/test-image-tags:1", "gcr.io",
       "k8s-staging-cri-tools/test-image-tags", "1", NULL),
    OK("Registry.Example.COM:443/a.b/c_d/e__f/g---h:V1_x.y-Z", "Registry.Example.COM:443",
       "a.b/c_d/e__f/g---h", "V1_x.y-Z", NULL),
    OK("busybox:_tag", "docker.io", "library/busybox", "_tag", NULL),
    OK("busybox:x..", "docker.io", "library/busybox", "x..", NULL),
    OK("localhost", "docker.io", "library/localhost", "latest", NULL),
    OK("foo:5000", "docker.io", "library/foo", "5000", NULL),
    /* As in distribution: callers test imgref_is_id() before parsing. */
    OK(SHA256, "docker.io", "library/sha256", HEX64, NULL),
    OK("library/" HEX64, "docker.io", "library/" HEX64, "latest", NULL),

    BAD("", "image reference is empty"),
    BAD(":", "repository name is empty"),
    BAD("@", "repository name is empty"),
    BAD("docker.io/", "repository name is empty"),
    BAD("Busybox", "image reference 'Busybox': repository name must be lowercase"),
    BAD("LOCALHOST/foo", "must be lowercase"),
    BAD("busybox:", "tag is empty"),
    BAD("busybox@", "digest is empty"),
    BAD("busybox@sha256:abc", "digest 'sha256:abc' is invalid"),
    BAD("busybox@sha256:zz", "digest 'sha256:zz' is invalid"),
    BAD("busybox@md5:" HEX64, "is invalid"),
    BAD("busybox@SHA256:" HEX64, "is invalid"),
    BAD("busybox@" SHA256 "@" SHA256, "is invalid"),
    BAD("a//b", "repository name 'a//b' has an empty component"),
    BAD("a/", "has an empty component"),
    BAD("/a", "has an empty component"),
    BAD("a:b:c", "component 'a:b' is invalid"),
    BAD("-a", "component '-a' is invalid"),
    BAD("a-", "component 'a-' is invalid"),
    BAD("a..b", "component 'a..b' is invalid"),
    BAD("a___b", "component 'a___b' is invalid"),
    BAD("a._b", "component 'a._b' is invalid"),
    BAD(".a", "component '.a' is invalid"),
    BAD("busybox:.x", "tag '.x' is invalid"),
    BAD("busybox:-x", "tag '-x' is invalid"),
    BAD("busybox:a/b", "registry host 'busybox:a' is invalid"),
    BAD(HEX64, "cannot be a 64-hex-digit image ID"),
    BAD(HEX64 ":tag", "cannot be a 64-hex-digit image ID"),
    BAD("example.com/" HEX64, "cannot be a 64-hex-digit image ID"),
    BAD("my registry.com/foo", "registry host 'my registry.com' is invalid"),
    BAD("a_b.com/foo", "registry host 'a_b.com' is invalid"),
    BAD("-a.com/foo", "registry host '-a.com' is invalid"),
    BAD("a-.com/foo", "is invalid"),
    BAD("a..com/foo", "is invalid"),
    BAD(".com/foo", "is invalid"),
    BAD("a.com./foo", "is invalid"),
    BAD(":5000/foo", "registry host ':5000' is invalid"),
    BAD("localhost:/foo", "registry host 'localhost:' is invalid"),
    BAD("localhost:50a/foo", "is invalid"),
    BAD("localhost:5000:6000/foo", "is invalid"),
    BAD("[]:5000/foo", "registry host '[]:5000' is invalid"),
    BAD("[::1/foo", "is invalid"),
    BAD("[::g]:5000/foo", "is invalid"),
    BAD("[::1]x/foo", "is invalid"),
    BAD("busy box", "component 'busy box' is invalid"),
    BAD(" busybox", "is invalid"),
    BAD("busybox ", "is invalid"),
    BAD("busybox:1 ", "tag '1 ' is invalid"),
    BAD("busybox\n", "component 'busybox\\x0a' is invalid"),
    BAD("busybox:1\r\nX-Forged: yes", "\\x0d\\x0a"),
    BAD("busy\tbox", "\\x09"),
    BAD("busy\x1b[31mbox", "\\x1b"),
    BAD("busy\\box", "\\x5c"),
    BAD("busyb\xc3\xb6x", "\\xc3\\xb6"),
};

static int test_parse_table(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
        const struct parse_case *c = &parse_cases[i];
        struct imgref ref;
        struct crib_err err = {0};
        int r = imgref_parse(c->in, &ref, &err);

        if (c->code != CRIB_INTERNAL) {
            if (r >= 0)
                fprintf(stderr, "  case '%s' was accepted\n", c->in);
            CHECK(r < 0);
            CHECK_INT(err.code, c->code);
            CHECK_CONTAINS(err.msg, c->msg);
            CHECK(strchr(err.msg, '\n') == NULL && strchr(err.msg, '\r') == NULL);
            if (r >= 0)
                imgref_done(&ref);
            continue;
        }
        if (r < 0) {
            fprintf(stderr, "  case '%s': %s\n", c->in, err.msg);
            test_case_failures++;
            continue;
        }
        CHECK_STR(ref.domain, c->domain);
        CHECK_STR(ref.path, c->path);
        if (c->tag)
            CHECK_STR(ref.tag, c->tag);
        else
            CHECK(ref.tag == NULL);
        if (c->digest)
            CHECK_STR(ref.digest, c->digest);
        else
            CHECK(ref.digest == NULL);
        imgref_done(&ref);
    }
    return 0;
}

/* A string of n copies of c, after prefix and before suffix. */
static char *make(const char *prefix, char c, size_t n, const char *suffix)
{
    _cleanup_free_ char *run = xmalloc(n + 1);

    memset(run, c, n);
    run[n] = '\0';
    return xasprintf("%s%s%s", prefix, run, suffix);
}

static int test_limits_are_enforced(void)
{
    /* docker.io/library/ is 18 characters of the 255 a name may have. */
    static const struct {
        const char *prefix;
        char c;
        size_t n;
        const char *suffix;
        const char *msg; /* NULL: accepted */
    } cases[] = {
        {"", 'a', 255 - 18, "", NULL},
        {"", 'a', 255 - 18 + 1, "", "repository name is longer than 255 characters"},
        {"example.com/", 'a', 255 - 12, "", NULL},
        {"example.com/", 'a', 255 - 12 + 1, "", "longer than 255"},
        {"", 'a', 300, "", "longer than 255"},
        {"busybox:", 't', 128, "", NULL},
        {"busybox:", 't', 129, "", "is longer than 128 characters"},
        {"busybox:", 't', 129, "", "tag 'tttttttt"},
        {"", 'a', IMGREF_MAX_LEN, "", "longer than 255"},
        {"", 'a', IMGREF_MAX_LEN + 1, "", "longer than 1024 characters"},
        {"", 'a', 1u << 20, "", "longer than 1024 characters"},
        {"", '\n', 300, "", "\\x0a\\x0a..."},
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        _cleanup_free_ char *in = make(cases[i].prefix, cases[i].c, cases[i].n, cases[i].suffix);
        struct imgref ref;
        struct crib_err err = {0};
        int r = imgref_parse(in, &ref, &err);

        if (!cases[i].msg) {
            CHECK_INT(r, 0);
            if (r == 0)
                imgref_done(&ref);
            continue;
        }
        CHECK(r < 0);
        CHECK_INT(err.code, CRIB_INVALID);
        CHECK_CONTAINS(err.msg, cases[i].msg);
        /* The message quotes bounded prefixes of the input, so it is never cut. */
        CHECK(strlen(err.msg) < CRIB_ERR_MSG_MAX - 1);
        if (r >= 0)
            imgref_done(&ref);
    }
    return 0;
}

static int test_format_round_trips(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
        struct imgref a, b;
        struct crib_err err;
        _cleanup_free_ char *text = NULL, *again = NULL;

        if (parse_cases[i].code != CRIB_INTERNAL)
            continue;
        CHECK_INT(imgref_parse(parse_cases[i].in, &a, &err), 0);
        text = imgref_format(&a);
        CHECK_INT(imgref_parse(text, &b, &err), 0);
        CHECK_STR(b.domain, a.domain);
        CHECK_STR(b.path, a.path);
        CHECK((a.tag == NULL) == (b.tag == NULL));
        CHECK(!a.tag || !b.tag || strcmp(a.tag, b.tag) == 0);
        CHECK((a.digest == NULL) == (b.digest == NULL));
        CHECK(!a.digest || !b.digest || strcmp(a.digest, b.digest) == 0);
        again = imgref_format(&b);
        CHECK_STR(again, text);
        imgref_done(&a);
        imgref_done(&b);
    }
    return 0;
}

static int test_format_and_names(void)
{
    static const struct {
        const char *in, *format, *name, *tagged; /* tagged NULL: no tag */
    } cases[] = {
        {"busybox", "docker.io/library/busybox:latest", "docker.io/library/busybox",
         "docker.io/library/busybox:latest"},
        {"[::1]:5000/x:y", "[::1]:5000/x:y", "[::1]:5000/x", "[::1]:5000/x:y"},
        {"n@" SHA256, "docker.io/library/n@" SHA256, "docker.io/library/n", NULL},
        {"r.io/n:t@" SHA256, "r.io/n:t@" SHA256, "r.io/n", "r.io/n:t"},
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct imgref ref;
        struct crib_err err;
        _cleanup_free_ char *format = NULL, *name = NULL, *tagged = NULL, *digested = NULL;

        CHECK_INT(imgref_parse(cases[i].in, &ref, &err), 0);
        format = imgref_format(&ref);
        name = imgref_name(&ref);
        tagged = imgref_tagged(&ref);
        digested = imgref_digested(&ref, "sha512:ab");
        CHECK_STR(format, cases[i].format);
        CHECK_STR(name, cases[i].name);
        if (cases[i].tagged)
            CHECK_STR(tagged, cases[i].tagged);
        else
            CHECK(tagged == NULL);
        CHECK(strncmp(digested, name, strlen(name)) == 0);
        CHECK_STR(digested + strlen(name), "@sha512:ab");
        imgref_done(&ref);
    }
    return 0;
}

static int test_done_frees_and_zeroes(void)
{
    struct imgref ref;
    struct crib_err err;

    CHECK_INT(imgref_parse("a.io/b:c@" SHA256, &ref, &err), 0);
    imgref_done(&ref);
    CHECK(!ref.domain && !ref.path && !ref.tag && !ref.digest);
    imgref_done(&ref); /* a second call is harmless */
    return 0;
}

static int test_failure_leaves_output_untouched(void)
{
    struct imgref ref = {.domain = (char *)"sentinel"};
    struct crib_err err;

    CHECK(imgref_parse("Busybox", &ref, &err) < 0);
    CHECK_STR(ref.domain, "sentinel");
    return 0;
}

static int test_is_id_and_prefix(void)
{
    static const struct {
        const char *s;
        bool is_id, is_prefix;
    } cases[] = {
        {HEX64, true, true},
        {SHA256, true, true},
        {"a", false, true},
        {"0123abc", false, true},
        {"sha256:0123abc", false, true},
        {"", false, false},
        {"sha256:", false, false},
        {HEX64 "0", false, false},
        {"sha256:" HEX64 "0", false, false},
        {"0123ABC", false, false},
        {"0123abg", false, false},
        {"busybox", false, false},
        {"sha512:" HEX64, false, false},
        {"sha256:sha256:abc", false, false},
        {"abc ", false, false},
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        if (imgref_is_id(cases[i].s) != cases[i].is_id ||
            imgref_is_id_prefix(cases[i].s) != cases[i].is_prefix) {
            fprintf(stderr, "  case '%s'\n", cases[i].s);
            test_case_failures++;
        }
    }
    return 0;
}

TEST_MAIN(TEST(test_parse_table), TEST(test_limits_are_enforced), TEST(test_format_round_trips),
          TEST(test_format_and_names), TEST(test_done_frees_and_zeroes),
          TEST(test_failure_leaves_output_untouched), TEST(test_is_id_and_prefix))
