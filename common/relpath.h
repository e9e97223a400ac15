/* Relative paths from untrusted input (tar entry names, lists of deleted
 * files): put in one canonical form, or refused with the reason. */
#pragma once

#include <limits.h>

enum relpath_problem {
    RELPATH_OK = 0,
    RELPATH_ABSOLUTE,
    RELPATH_DOTDOT, /* a ".." component: refused, never resolved */
    RELPATH_NAME_TOO_LONG,
    RELPATH_TOO_LONG,
};

/* Writes name's canonical relative form into out: no "." or empty
 * components, no trailing "/" ("" for the root itself). ".." is refused
 * rather than resolved, since no real archive needs it and it is how
 * traversal starts. Returns RELPATH_OK or the problem (out is then unset). */
enum relpath_problem relpath_normalize(const char *name, char out[PATH_MAX]);

/* What is wrong, as a phrase after the path ("is absolute"); a static string. */
const char *relpath_problem_str(enum relpath_problem p);

/* Splits a normalized path into its parent (copied into parent, "" at the
 * top) and its last component (a pointer into path). */
const char *relpath_split(const char *path, char parent[PATH_MAX]);
