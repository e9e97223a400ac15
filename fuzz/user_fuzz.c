/* An image's /etc/passwd and /etc/group, as hostile as it likes: the input
 * up to its first NUL is the user name looked up, the rest is the file text
 * (parsed as passwd and as group). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/user.h"

#define NAME_MAX_LEN 64

static void check_members(const char *text, size_t len, const char *name)
{
    uint32_t groups[8];
    size_t n = user_group_members(text, len, name, groups, 0, 8);

    if (n > 8)
        __builtin_trap();
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (groups[i] == groups[j])
                __builtin_trap(); /* no duplicates */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size < NAME_MAX_LEN ? size : NAME_MAX_LEN);
    char name[NAME_MAX_LEN + 1] = "root", found[16];
    size_t off = 0, len;
    char *text;
    uint32_t uid = 0, gid = 0;

    if (size > (1u << 20))
        return 0;
    if (nul) {
        memcpy(name, data, (size_t)(nul - data));
        name[nul - data] = '\0';
        off = (size_t)(nul - data) + 1;
    }
    /* An exact-size copy, so ASan sees any read past the end. */
    len = size - off;
    text = malloc(len ? len : 1);
    memcpy(text, data + off, len);

    if (user_passwd_lookup(text, len, name, 0, &uid, &gid, found, sizeof(found)) &&
        (strlen(found) >= sizeof(found) || strcmp(found, name) != 0))
        __builtin_trap();
    if (user_passwd_lookup(text, len, NULL, 0, &uid, &gid, found, sizeof(found)) && uid != 0)
        __builtin_trap();
    (void)user_passwd_lookup(text, len, NULL, 1000, NULL, NULL, NULL, 0);
    if (user_group_lookup(text, len, NULL, 50, &gid) && gid != 50)
        __builtin_trap();
    (void)user_group_lookup(text, len, name, 0, &gid);
    check_members(text, len, name);
    free(text);
    return 0;
}
