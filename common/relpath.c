#include "common/relpath.h"

#include <string.h>

enum relpath_problem relpath_normalize(const char *name, char out[PATH_MAX])
{
    size_t len = 0;

    if (name[0] == '/')
        return RELPATH_ABSOLUTE;
    for (const char *p = name; *p;) {
        const char *end = strchrnul(p, '/');
        size_t n = (size_t)(end - p);

        if (n == 2 && p[0] == '.' && p[1] == '.')
            return RELPATH_DOTDOT;
        if (n > NAME_MAX)
            return RELPATH_NAME_TOO_LONG;
        if (len + n + 2 > PATH_MAX)
            return RELPATH_TOO_LONG;
        if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (len)
                out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
        }
        p = *end ? end + 1 : end;
    }
    out[len] = '\0';
    return RELPATH_OK;
}

const char *relpath_problem_str(enum relpath_problem p)
{
    switch (p) {
    case RELPATH_OK: return "is fine";
    case RELPATH_ABSOLUTE: return "is absolute";
    case RELPATH_DOTDOT: return "has a '..' component";
    case RELPATH_NAME_TOO_LONG: return "has a component over 255 bytes";
    case RELPATH_TOO_LONG: return "is too long";
    }
    return "is unusable";
}

const char *relpath_split(const char *path, char parent[PATH_MAX])
{
    const char *slash = strrchr(path, '/');

    if (!slash) {
        parent[0] = '\0';
        return path;
    }
    memcpy(parent, path, (size_t)(slash - path));
    parent[slash - path] = '\0';
    return slash + 1;
}
