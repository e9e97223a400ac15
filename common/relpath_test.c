/* relpath: a table of names and what each becomes or why it is refused. */
#include "common/relpath.h"
#include "common/cleanup.h"
#include "common/testing.h"

struct norm_case {
    const char *name;
    enum relpath_problem problem;
    const char *out;
};

static const struct norm_case norm_cases[] = {
    {"a/b", RELPATH_OK, "a/b"},     {"./a//b/./", RELPATH_OK, "a/b"},
    {".", RELPATH_OK, ""},          {"", RELPATH_OK, ""},
    {"..", RELPATH_DOTDOT, NULL},   {"a/../../x", RELPATH_DOTDOT, NULL},
    {"a/..b", RELPATH_OK, "a/..b"}, {"/etc/passwd", RELPATH_ABSOLUTE, NULL},
};

static int test_relpath_normalize_table(void)
{
    char out[PATH_MAX];

    for (size_t i = 0; i < ARRAY_SIZE(norm_cases); i++) {
        enum relpath_problem p = relpath_normalize(norm_cases[i].name, out);

        CHECK_INT(p, norm_cases[i].problem);
        if (p == RELPATH_OK && norm_cases[i].out)
            CHECK_STR(out, norm_cases[i].out);
    }
    return 0;
}

static int test_relpath_refuses_long_names(void)
{
    char name[PATH_MAX + 10], out[PATH_MAX];

    memset(name, 'a', 300);
    name[300] = '\0';
    CHECK_INT(relpath_normalize(name, out), RELPATH_NAME_TOO_LONG);
    for (size_t i = 0; i < sizeof(name) - 1; i++)
        name[i] = i % 2 ? '/' : 'a';
    name[sizeof(name) - 1] = '\0';
    CHECK_INT(relpath_normalize(name, out), RELPATH_TOO_LONG);
    CHECK_STR(relpath_problem_str(RELPATH_DOTDOT), "has a '..' component");
    return 0;
}

static int test_relpath_split(void)
{
    char parent[PATH_MAX];

    CHECK_STR(relpath_split("a/b/c", parent), "c");
    CHECK_STR(parent, "a/b");
    CHECK_STR(relpath_split("top", parent), "top");
    CHECK_STR(parent, "");
    return 0;
}

TEST_MAIN(TEST(test_relpath_normalize_table), TEST(test_relpath_refuses_long_names),
          TEST(test_relpath_split))
