/* log.h — the one log sink every ntpmon program writes to: leveled lines on stderr (journald picks them up). */
#ifndef NTPMON_LOG_H
#define NTPMON_LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN = 1, LOG_LEVEL_INFO = 2, LOG_LEVEL_DEBUG = 3 };

/* Names the program on every line; call once at start. */
void log_init(const char *program_name);
/* Lines above this level are dropped. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug"; returns 0 on success, -1 on an unknown name. */
int log_level_parse(const char *name, enum log_level *out);
/* Writes one line; repeats of the same format are rate-limited (a summary line tells how many were dropped). */
void log_emit(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like log_emit but never rate-limited (start-up, shutdown, summaries). */
void log_emit_always(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG(lvl, ...)                                                                              \
    do {                                                                                           \
        if (LOG_LEVEL_##lvl <= log_get_level()) log_emit(LOG_LEVEL_##lvl, __VA_ARGS__);            \
    } while (0)
#define LOG_ALWAYS(lvl, ...) log_emit_always(LOG_LEVEL_##lvl, __VA_ARGS__)

#endif
