/* WWW-Authenticate header values as registries (or impostors) send them. */
#include <stddef.h>
#include <stdint.h>

#include "imagestore/challenge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct challenge ch;
    struct crib_err err;

    if (challenge_parse((const char *)data, size, &ch, &err) >= 0)
        challenge_done(&ch);
    return 0;
}
