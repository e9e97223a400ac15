/* Pod sysctl names and values as a client may send them: the first NUL (or
 * the middle) splits name from value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/ns.h"
#include "sandbox/sysctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 2);
    struct crib_err err;
    char *value;

    if (size > 8192) {
        free(buf);
        return 0;
    }
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = '\0';
    value = memchr(buf, '=', size);
    if (value)
        *value++ = '\0';
    else
        value = buf + size + 1;
    if (sysctl_check(buf, value, NS_NET | NS_IPC | NS_UTS, &err) >= 0 && !sysctl_namespace(buf))
        __builtin_trap(); /* accepted means namespaced */
    free(buf);
    return 0;
}
