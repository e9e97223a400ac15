#include "common/ids.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int ids_new(char out[static IDS_LEN + 1], struct crib_err *err)
{
    unsigned char raw[IDS_LEN / 2];

    if (getentropy(raw, sizeof(raw)) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "getentropy");
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return 0;
}
