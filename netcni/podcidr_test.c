#include "common/cleanup.h"
#include "common/testing.h"
#include "netcni/podcidr.h"

static const struct {
    const char *cidr;
    int ok;
    const char *msg;
} cases[] = {
    {"10.244.1.0/24", 1, NULL},
    {"10.244.1.0/24,fd00:10:244:1::/64", 1, NULL},
    {"fd00::/128", 1, NULL},
    {"0.0.0.0/0", 1, NULL},
    {"10.244.1.0", 0, "not ADDRESS/BITS"},
    {"10.244.1.0/", 0, "not ADDRESS/BITS"},
    {"10.244.1.0/33", 0, "0 to 32"},
    {"10.244.1.0/-1", 0, "0 to 32"},
    {"10.244.1.0/+8", 0, "0 to 32"},
    {"10.244.1.0/24x", 0, "0 to 32"},
    {"fd00::/129", 0, "0 to 128"},
    {"300.1.1.1/8", 0, "not an IP address"},
    {"a/8,b/8", 0, "not an IP address"},
    {"10.0.0.0/8,10.1.0.0/16,10.2.0.0/16", 0, "more than two"},
    {"10.0.0.0/8,", 0, "not ADDRESS/BITS"},
};

static int test_validate_table(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct crib_err err;
        int r = podcidr_validate(cases[i].cidr, &err);

        if (cases[i].ok) {
            CHECK_INT(r, 0);
            continue;
        }
        CHECK(r < 0);
        CHECK_INT(err.code, CRIB_INVALID);
        CHECK_CONTAINS(err.msg, cases[i].msg);
    }
    return 0;
}

TEST_MAIN(TEST(test_validate_table))
