/* The config file parser: any bytes, on top of the defaults. */
#include <stddef.h>
#include <stdint.h>

#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct crib_config cfg;
    struct crib_err err;

    config_defaults(&cfg);
    if (config_apply_json(&cfg, (const char *)data, size, &err) >= 0 &&
        config_finish(&cfg, &err) >= 0) {
        /* What was accepted must serialize, and read back the same. */
        char *json = config_to_json(&cfg);
        struct crib_config again;

        config_defaults(&again);
        if (config_apply_json(&again, json, __builtin_strlen(json), &err) < 0)
            __builtin_trap();
        config_done(&again);
        __builtin_free(json);
    }
    config_done(&cfg);
    return 0;
}
