/* CNI results as a plugin prints them on stdout. */
#include <stddef.h>
#include <stdint.h>

#include "netcni/cniresult.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cni_result *res;
    struct crib_err err;

    if (cni_result_parse((const char *)data, size, &res, &err) >= 0)
        cni_result_free(res);
    return 0;
}
