/* Structured logging: one line per event to stderr, logfmt or JSON.
 * Parts below cri/ log at debug at most and return errors instead (style.md). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum log_level {
    LOG_LEVEL_ERROR,
    LOG_LEVEL_WARN,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG,
    LOG_LEVEL_TRACE
};
enum log_format { LOG_FORMAT_LOGFMT, LOG_FORMAT_JSON };

struct log_field {
    const char *key;
    const char *value;
};

/* Set once at start-up, before any thread starts; read-only afterwards. */
extern enum log_level log_max_level;

void log_setup(enum log_level level, enum log_format format);
/* "error".."trace"; returns 0, or -EINVAL for an unknown name. */
int log_level_parse(const char *name, enum log_level *ret_level);
/* "logfmt" or "json"; returns 0, or -EINVAL. */
int log_format_parse(const char *name, enum log_format *ret_format);
const char *log_level_name(enum log_level level);

/* Writes one line: time, level, the fields in order, then msg. Values are
 * quoted as the format needs. Prefer the macros, which skip disabled levels
 * before any formatting. */
void log_emit(enum log_level level, const struct log_field *fields, size_t n_fields,
              const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_at(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) <= log_max_level)                                                              \
            log_emit((level), NULL, 0, __VA_ARGS__);                                               \
    } while (0)

#define log_error(...) log_at(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_at(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_at(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_LEVEL_DEBUG, __VA_ARGS__)
