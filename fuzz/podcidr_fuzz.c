/* Pod CIDRs as the kubelet sends them in UpdateRuntimeConfig. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netcni/podcidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    struct crib_err err;

    memcpy(s, data, size);
    s[size] = '\0';
    (void)podcidr_validate(s, &err);
    free(s);
    return 0;
}
