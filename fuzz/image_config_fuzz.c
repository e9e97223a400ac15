/* Image configs (OCI and Docker). */
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "imagestore/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct image_config *c = NULL;
    struct crib_err err;

    if (image_config_parse((const char *)data, size, &c, &err) < 0)
        return 0;
    /* The contract the unpacker relies on: every diff_id is a valid digest. */
    for (size_t i = 0; i < c->n_diff_ids; i++)
        if (!digest_is_valid(c->diff_ids[i]))
            __builtin_trap();
    image_config_free(c);
    return 0;
}
