/* Image references: any bytes either parse or fail cleanly, and what parses
 * formats to a canonical text that parses back to itself (systemd fuzz-json). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "imagestore/reference.h"

/* Four times IMGREF_MAX_LEN, so the length check itself is fuzzed. */
#define REF_FUZZ_MAX_INPUT 4096

static void check_round_trip(const struct imgref *ref)
{
    _cleanup_free_ char *text = imgref_format(ref), *again = NULL;
    _cleanup_free_ char *name = imgref_name(ref), *tagged = imgref_tagged(ref);
    struct imgref back;
    struct crib_err err;

    if (imgref_parse(text, &back, &err) < 0)
        __builtin_trap();
    again = imgref_format(&back);
    if (strcmp(text, again) != 0 || strcmp(back.domain, ref->domain) != 0 ||
        strcmp(back.path, ref->path) != 0)
        __builtin_trap();
    /* The name and name:tag are prefixes of the canonical text. */
    if (strncmp(text, name, strlen(name)) != 0 ||
        (tagged && strncmp(text, tagged, strlen(tagged)) != 0))
        __builtin_trap();
    imgref_done(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    _cleanup_free_ char *s = NULL;
    struct imgref ref;
    struct crib_err err;

    if (size > REF_FUZZ_MAX_INPUT)
        size = REF_FUZZ_MAX_INPUT;
    s = xmalloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    if (imgref_parse(s, &ref, &err) < 0) {
        if (err.code != CRIB_INVALID || err.msg[0] == '\0')
            __builtin_trap();
        return 0;
    }
    /* A bare 64-hex image ID is never taken for a repository name. */
    if ((imgref_is_id(s) && strchr(s, ':') == NULL) || !ref.domain || !ref.path ||
        (!ref.tag && !ref.digest))
        __builtin_trap();
    check_round_trip(&ref);
    imgref_done(&ref);
    return 0;
}
