#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum log_level log_max_level = LOG_LEVEL_INFO;
static enum log_format log_fmt = LOG_FORMAT_LOGFMT;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

/* A line longer than this is cut; it keeps one event one write(). */
#define LOG_LINE_MAX 4096

struct line {
    char buf[LOG_LINE_MAX];
    size_t len;
};

void log_setup(enum log_level level, enum log_format format)
{
    log_max_level = level;
    log_fmt = format;
}

int log_level_parse(const char *name, enum log_level *ret_level)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
        if (strcmp(name, level_names[i]) == 0) {
            *ret_level = (enum log_level)i;
            return 0;
        }
    return -EINVAL;
}

int log_format_parse(const char *name, enum log_format *ret_format)
{
    if (strcmp(name, "logfmt") == 0 || strcmp(name, "text") == 0)
        *ret_format = LOG_FORMAT_LOGFMT;
    else if (strcmp(name, "json") == 0)
        *ret_format = LOG_FORMAT_JSON;
    else
        return -EINVAL;
    return 0;
}

const char *log_level_name(enum log_level level)
{
    return level_names[level];
}

static void put_char(struct line *l, char c)
{
    if (l->len < sizeof(l->buf) - 1)
        l->buf[l->len++] = c;
}

static void put_str(struct line *l, const char *s)
{
    while (*s)
        put_char(l, *s++);
}

static bool logfmt_needs_quotes(const char *v)
{
    if (!*v)
        return true;
    for (; *v; v++)
        if (*v <= ' ' || *v == '"' || *v == '=' || *v == '\\' || *v == 0x7f)
            return true;
    return false;
}

/* Escapes for a double-quoted value; valid for both JSON and logfmt. */
static void put_quoted(struct line *l, const char *v)
{
    put_char(l, '"');
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;

        if (c == '"' || c == '\\') {
            put_char(l, '\\');
            put_char(l, (char)c);
        } else if (c == '\n') {
            put_str(l, "\\n");
        } else if (c == '\t') {
            put_str(l, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            char esc[8];

            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put_str(l, esc);
        } else {
            put_char(l, (char)c);
        }
    }
    put_char(l, '"');
}

static void put_field(struct line *l, const char *key, const char *value, bool first)
{
    if (log_fmt == LOG_FORMAT_JSON) {
        if (!first)
            put_char(l, ',');
        put_quoted(l, key);
        put_char(l, ':');
        put_quoted(l, value);
        return;
    }
    if (!first)
        put_char(l, ' ');
    put_str(l, key);
    put_char(l, '=');
    if (logfmt_needs_quotes(value))
        put_quoted(l, value);
    else
        put_str(l, value);
}

void log_emit(enum log_level level, const struct log_field *fields, size_t n_fields,
              const char *fmt, ...)
{
    char msg[LOG_LINE_MAX / 2];
    char now[64];
    struct line l = {.len = 0};
    struct timespec ts;
    struct tm tm;
    va_list ap;
    int saved_errno = errno;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(now, sizeof(now), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ts.tv_nsec / 1000000));

    if (log_fmt == LOG_FORMAT_JSON)
        put_char(&l, '{');
    put_field(&l, "time", now, true);
    put_field(&l, "level", level_names[level], false);
    for (size_t i = 0; i < n_fields; i++)
        if (fields[i].value)
            put_field(&l, fields[i].key, fields[i].value, false);
    put_field(&l, "msg", msg, false);
    if (log_fmt == LOG_FORMAT_JSON)
        put_char(&l, '}');
    l.buf[l.len++] = '\n';
    (void)!write(STDERR_FILENO, l.buf, l.len);
    errno = saved_errno;
}
