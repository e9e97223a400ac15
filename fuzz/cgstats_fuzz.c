/* The kernel text parsers behind the stats RPCs: the first byte picks one
 * ('k' keyed files such as memory.stat, 'v' one-value files, 'p' pressure,
 * 'i' io.stat, 'b' v1 blkio, 'n' /proc/net/dev; any other byte picks by its
 * value), the rest is the file. Each checks what its contract promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "sandbox/cgstats.h"
#include "sandbox/netstats.h"

#define INPUT_MAX 65536

static void check_psi_data(const struct cg_psi_data *d)
{
    if (d->avg10 < 0 || d->avg10 > 100 || d->avg60 < 0 || d->avg60 > 100 || d->avg300 < 0 ||
        d->avg300 > 100 || d->total_ns % 1000 != 0)
        __builtin_trap();
}

static void fuzz_keyed(const char *text, size_t len)
{
    static const char *const keys[] = {"total_rss", "anon", "usage_usec", "populated", "user", ""};
    uint64_t values[ARRAY_SIZE(keys)];
    uint32_t found = 0;
    struct crib_err err;

    if (cgstats_keyed_parse(text, len, keys, ARRAY_SIZE(keys), values, &found, &err) >= 0 &&
        (found >> ARRAY_SIZE(keys)) != 0)
        __builtin_trap();
}

static void fuzz_psi(const char *text, size_t len)
{
    struct cg_psi psi = {0};
    struct crib_err err;

    if (cgstats_psi_parse(text, len, &psi, &err) < 0)
        return;
    if (psi.has_some)
        check_psi_data(&psi.some);
    if (psi.has_full)
        check_psi_data(&psi.full);
}

static void fuzz_net(const char *text, size_t len)
{
    struct net_sample s;
    struct crib_err err;

    if (netstats_parse(text, len, &s, &err) < 0)
        return;
    if (s.n_ifaces > NETSTATS_MAX_IFACES)
        __builtin_trap();
    for (size_t i = 0; i < s.n_ifaces; i++) {
        size_t n = strnlen(s.ifaces[i].name, NETSTATS_NAME_MAX);

        if (n == 0 || n == NETSTATS_NAME_MAX || strcmp(s.ifaces[i].name, "lo") == 0 ||
            netstats_find(&s, s.ifaces[i].name) == NULL)
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char kinds[] = "kvpibn";
    struct cg_sample sample = {0};
    struct crib_err err;
    uint64_t a, b;
    const char *pick;
    char *text;
    size_t len;

    if (size == 0 || size > INPUT_MAX)
        return 0;
    pick = memchr(kinds, data[0], sizeof(kinds) - 1);
    /* An exact-size copy, so reading past the end trips ASan. */
    len = size - 1;
    text = malloc(len ? len : 1);
    memcpy(text, data + 1, len);
    switch (pick ? pick - kinds : data[0] % 6) {
    case 0: fuzz_keyed(text, len); break;
    case 1: (void)cgstats_value_parse(text, len, &a, &err); break;
    case 2: fuzz_psi(text, len); break;
    case 3: (void)cgstats_io_stat_parse(text, len, &sample, &err); break;
    case 4: (void)cgstats_blkio_parse(text, len, &a, &b, &err); break;
    default: fuzz_net(text, len); break;
    }
    free(text);
    return 0;
}
