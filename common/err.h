/* The error contract of crib (style.md): a failing function returns a negative
 * errno and fills a caller-owned struct crib_err; on success err is untouched. */
#pragma once

#include <stdarg.h>

/* What happened, independent of errno. Each maps to one gRPC status in
 * cri/status.c. 0 is INTERNAL, so a forgotten code never reads as success. */
enum crib_code {
    CRIB_INTERNAL = 0,
    CRIB_INVALID,
    CRIB_NOT_FOUND,
    CRIB_EXISTS,
    CRIB_STATE,
    CRIB_TIMEOUT,
    CRIB_UNAVAILABLE,
    CRIB_LIMIT,
    CRIB_UNIMPLEMENTED,
    CRIB_DENIED, /* credentials refused by a party we called (a registry) */
};

#define CRIB_ERR_MSG_MAX 512

struct crib_err {
    enum crib_code code;
    int errnum;
    char msg[CRIB_ERR_MSG_MAX];
};

/* Fills *err with code, errnum and the formatted message (", strerror" is
 * appended when errnum != 0). Returns -errnum, or -EIO when errnum is 0. */
int crib_fail(struct crib_err *err, enum crib_code code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Puts "context: " in front of err's message; keeps code and errnum.
 * Returns the same value crib_fail returned. */
int crib_wrap(struct crib_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The negative return value that err stands for. */
int crib_err_ret(const struct crib_err *err);

/* A short name for code ("invalid", "not_found", ...); a static string. */
const char *crib_code_name(enum crib_code code);
