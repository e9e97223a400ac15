/* Localhost seccomp profiles: any bytes, read with and without CAP_SYS_ADMIN
 * (which switches rules on and off). */
#include <stdint.h>
#include <string.h>

#include "oci/seccomp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const caps[] = {"CAP_SYS_ADMIN"};
    struct json_object *out = NULL, *again = NULL;
    struct crib_err err;

    if (seccomp_parse_profile("fuzz", (const char *)data, size, caps, size % 2, &out, &err) < 0) {
        if (out || err.code == CRIB_INTERNAL || !err.msg[0])
            __builtin_trap(); /* a failure sets nothing, with a code and a message */
        return 0;
    }
    /* What was accepted is OCI's form, which reads back as itself: no
     * includes are left to filter, so the caps no longer matter. */
    const char *text = json_object_to_json_string(out);
    if (seccomp_parse_profile("again", text, strlen(text), NULL, 0, &again, &err) < 0 ||
        strcmp(json_object_to_json_string(again), text) != 0)
        __builtin_trap();
    json_object_put(again);
    json_object_put(out);
    return 0;
}
