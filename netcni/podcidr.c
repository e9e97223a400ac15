#include "netcni/podcidr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

#define PODCIDR_KEY "pod_cidr"

static int validate_prefix(const char *p, size_t len, struct crib_err *err)
{
    char addr[INET6_ADDRSTRLEN + 8];
    unsigned char buf[sizeof(struct in6_addr)];
    const char *slash = memchr(p, '/', len);
    char *end;
    long bits;
    int max;

    if (!slash || (size_t)(slash - p) >= sizeof(addr) || slash + 1 == p + len)
        return crib_fail(err, CRIB_INVALID, 0, "pod CIDR '%.*s' is not ADDRESS/BITS", (int)len, p);
    memcpy(addr, p, (size_t)(slash - p));
    addr[slash - p] = '\0';
    if (inet_pton(AF_INET, addr, buf) == 1)
        max = 32;
    else if (inet_pton(AF_INET6, addr, buf) == 1)
        max = 128;
    else
        return crib_fail(err, CRIB_INVALID, 0, "pod CIDR '%.*s': '%s' is not an IP address",
                         (int)len, p, addr);
    bits = strtol(slash + 1, &end, 10);
    if (end != p + len || bits < 0 || bits > max || slash[1] == '-' || slash[1] == '+')
        return crib_fail(err, CRIB_INVALID, 0, "pod CIDR '%.*s': prefix length must be 0 to %d",
                         (int)len, p, max);
    return 0;
}

int podcidr_validate(const char *cidr, struct crib_err *err)
{
    const char *p = cidr;
    int n = 0;

    if (strlen(cidr) > PODCIDR_MAX_LEN)
        return crib_fail(err, CRIB_INVALID, 0, "pod CIDR is over %d characters", PODCIDR_MAX_LEN);
    for (;;) {
        size_t len = strcspn(p, ",");
        int r = validate_prefix(p, len, err);

        if (r < 0)
            return r;
        if (++n > 2)
            return crib_fail(err, CRIB_INVALID, 0,
                             "pod CIDR '%s' has more than two prefixes (one per IP family)", cidr);
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

int podcidr_set(struct store *store, const char *cidr, struct crib_err *err)
{
    struct store_tx tx;
    int r = podcidr_validate(cidr, err);

    if (r < 0)
        return r;
    r = store_tx_begin(store, true, &tx, err);
    if (r < 0)
        return r;
    r = store_setting_set(&tx, PODCIDR_KEY, cidr, err);
    if (r >= 0)
        r = store_tx_commit(&tx, "podcidr-commit", err);
    store_tx_done(&tx);
    return r;
}

int podcidr_get(struct store *store, char **ret_cidr, struct crib_err *err)
{
    struct store_tx tx;
    int r = store_tx_begin(store, false, &tx, err);

    if (r < 0)
        return r;
    r = store_setting_get(&tx, PODCIDR_KEY, ret_cidr, err);
    store_tx_done(&tx);
    if (r < 0 && err->code == CRIB_NOT_FOUND) {
        *ret_cidr = NULL;
        return 0;
    }
    return r;
}
