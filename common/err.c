#include "common/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int crib_err_ret(const struct crib_err *err)
{
    return err->errnum > 0 ? -err->errnum : -EIO;
}

/* Joins "a: b" into the message buffer, cut to fit. */
static void set_msg(struct crib_err *err, const char *a, const char *b)
{
    char joined[2 * CRIB_ERR_MSG_MAX + 4];
    size_t len;

    snprintf(joined, sizeof(joined), "%s: %s", a, b);
    len = strlen(joined);
    if (len >= sizeof(err->msg))
        len = sizeof(err->msg) - 1;
    memcpy(err->msg, joined, len);
    err->msg[len] = '\0';
}

int crib_fail(struct crib_err *err, enum crib_code code, int errnum, const char *fmt, ...)
{
    char text[CRIB_ERR_MSG_MAX];
    va_list ap;

    if (errnum < 0)
        errnum = -errnum;
    err->code = code;
    err->errnum = errnum;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (errnum != 0)
        set_msg(err, text, strerror(errnum));
    else
        memcpy(err->msg, text, sizeof(err->msg));
    return crib_err_ret(err);
}

int crib_wrap(struct crib_err *err, const char *fmt, ...)
{
    char ctx[CRIB_ERR_MSG_MAX];
    char old[CRIB_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    set_msg(err, ctx, old);
    return crib_err_ret(err);
}

const char *crib_code_name(enum crib_code code)
{
    static const char *const names[] = {
        [CRIB_INTERNAL] = "internal",
        [CRIB_INVALID] = "invalid",
        [CRIB_NOT_FOUND] = "not_found",
        [CRIB_EXISTS] = "exists",
        [CRIB_STATE] = "state",
        [CRIB_TIMEOUT] = "timeout",
        [CRIB_UNAVAILABLE] = "unavailable",
        [CRIB_LIMIT] = "limit",
        [CRIB_UNIMPLEMENTED] = "unimplemented",
        [CRIB_DENIED] = "denied",
    };

    if ((unsigned)code < sizeof(names) / sizeof(names[0]) && names[code])
        return names[code];
    return "internal";
}
