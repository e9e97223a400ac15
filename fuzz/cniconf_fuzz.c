/* CNI network config files, as conflist and as single-plugin conf. */
#include <stddef.h>
#include <stdint.h>

#include "netcni/cniconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cniconf conf;
    struct crib_err err;

    for (int is_list = 0; is_list <= 1; is_list++)
        if (cniconf_parse((const char *)data, size, is_list, &conf, &err) >= 0)
            cniconf_done(&conf);
    return 0;
}
