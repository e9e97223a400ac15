/* Image references, normalized as Docker and the kubelet do:
 * "busybox" is "docker.io/library/busybox:latest". */
#pragma once

#include <stdbool.h>

#include "common/err.h"

/* A reference's text is refused beyond this length. */
#define IMGREF_MAX_LEN 1024
/* A repository name (domain/path) is refused beyond this length (distribution). */
#define IMGREF_NAME_MAX_LEN 255

struct imgref {
    char *domain; /* "docker.io", "registry.k8s.io", "127.0.0.1:5000", "[::1]:5000" */
    char *path;   /* "library/busybox" */
    char *tag;    /* "latest" when neither tag nor digest was given; NULL with a digest alone */
    char *digest; /* "sha256:<hex>", or NULL */
};

/* Parses and normalizes s: [domain/]path[:tag][@digest].
 * - no domain (the first component has no '.', no ':' and is not "localhost")
 *   means docker.io; "index.docker.io" is docker.io too;
 * - docker.io with a one-component path gets "library/";
 * - no tag and no digest means tag "latest";
 * - uppercase in the path, empty components, bad separators, a tag over 128
 *   characters, a bad digest, or a 64-hex-digit path (that is an image ID,
 *   not a name) are refused.
 * Errors: CRIB_INVALID naming the bad part, e.g. "image reference 'Foo': repository
 * name must be lowercase". On success free the fields with imgref_done(). */
int imgref_parse(const char *s, struct imgref *ret_ref, struct crib_err *err);

/* The repository: "docker.io/library/busybox". New string: free() it. */
char *imgref_name(const struct imgref *ref);
/* "name:tag", or NULL when ref has no tag. New string: free() it. */
char *imgref_tagged(const struct imgref *ref);
/* "name@digest" for the given digest. New string: free() it. */
char *imgref_digested(const struct imgref *ref, const char *digest);
/* The canonical text: name:tag, name@digest, or name:tag@digest. free() it. */
char *imgref_format(const struct imgref *ref);

/* True if s names an image by ID rather than by reference: 64 lowercase hex
 * digits or "sha256:" + 64 hex. */
bool imgref_is_id(const char *s);
/* True if s could be an ID prefix: 1 to 64 lowercase hex digits, optionally
 * after "sha256:". */
bool imgref_is_id_prefix(const char *s);

void imgref_done(struct imgref *ref);
