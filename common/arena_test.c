#include <stdint.h>

#include "common/arena.h"
#include "common/testing.h"

static int test_allocations_are_zeroed_and_aligned(void)
{
    struct arena a;

    arena_init(&a);
    for (int i = 1; i < 200; i++) {
        unsigned char *p = arena_alloc(&a, (size_t)i);

        CHECK_INT((uintptr_t)p % 16, 0);
        for (int j = 0; j < i; j++)
            CHECK_INT(p[j], 0);
        memset(p, 0xff, (size_t)i);
    }
    arena_done(&a);
    return 0;
}

static int test_big_objects_do_not_waste_the_head_chunk(void)
{
    struct arena a;
    char *small1, *small2;

    arena_init(&a);
    small1 = arena_alloc(&a, 8);
    (void)arena_alloc(&a, 100000);
    small2 = arena_alloc(&a, 8);
    CHECK_INT(small2 - small1, 16);
    arena_done(&a);
    return 0;
}

static int test_strings(void)
{
    struct arena a;

    arena_init(&a);
    CHECK_STR(arena_strdup(&a, "crib"), "crib");
    CHECK_STR(arena_strndup(&a, "cribd", 4), "crib");
    CHECK_STR(arena_printf(&a, "%s-%d", "pod", 7), "pod-7");
    arena_done(&a);
    arena_done(&a);
    return 0;
}

TEST_MAIN(TEST(test_allocations_are_zeroed_and_aligned),
          TEST(test_big_objects_do_not_waste_the_head_chunk), TEST(test_strings))
