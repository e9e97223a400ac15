/* WWW-Authenticate challenges from registries (RFC 7235):
 *   Bearer realm="https://auth.example/token",service="registry",scope="repository:x:pull"
 *   Basic realm="registry" */
#pragma once

#include <stddef.h>

#include "common/err.h"

#define CHALLENGE_MAX_LEN 4096

enum challenge_scheme { CHALLENGE_NONE, CHALLENGE_BASIC, CHALLENGE_BEARER };

struct challenge {
    enum challenge_scheme scheme;
    char *realm;   /* NULL when absent */
    char *service; /* NULL when absent */
    char *scope;   /* NULL when absent */
};

/* Parses one header value. The first challenge whose scheme is Basic or
 * Bearer wins; parameters it does not know are passed over.
 * Errors: CRIB_INVALID naming the problem (unterminated quote, no scheme,
 * too long, a Bearer challenge without a realm). Free with challenge_done(). */
int challenge_parse(const char *value, size_t len, struct challenge *ret_challenge,
                    struct crib_err *err);

void challenge_done(struct challenge *c);
