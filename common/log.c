/* log.c — owns the log sink: leveled, timestamped lines on stderr with the program name and pid, and
 * rate-limiting of repeated lines (keyed by format string) so a flapping link cannot flood journald.
 * Under systemd (JOURNAL_STREAM set) lines carry a <N> syslog priority prefix instead of a timestamp. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define RATE_SLOTS 128
#define RATE_WINDOW_S 60
#define RATE_MAX_PER_WINDOW 20

struct rate_slot {
    const char *fmt;
    time_t window_start;
    unsigned count;
    unsigned suppressed;
};

static char program[64] = "ntpmon";
static enum log_level current_level = LOG_LEVEL_INFO;
static int under_journald = -1;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rate_slot rate_slots[RATE_SLOTS];

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const int syslog_priority[] = {3, 4, 6, 7};

void log_init(const char *program_name)
{
    const char *slash = strrchr(program_name, '/');
    snprintf(program, sizeof program, "%s", slash ? slash + 1 : program_name);
    under_journald = getenv("JOURNAL_STREAM") != NULL;
}

void log_set_level(enum log_level level) { current_level = level; }
enum log_level log_get_level(void) { return current_level; }

int log_level_parse(const char *name, enum log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    if (strcasecmp(name, "warning") == 0) {
        *out = LOG_LEVEL_WARN;
        return 0;
    }
    return -1;
}

static void write_line(enum log_level level, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (under_journald == 1) {
        fprintf(stderr, "<%d>%s: %s\n", syslog_priority[level], level_names[level], msg);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: %s\n", tm.tm_year + 1900,
            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
            program, (int)getpid(), level_names[level], msg);
}

/* Returns how many earlier repeats were suppressed (to report), or -1 when this line must be dropped. */
static long rate_check(const char *fmt)
{
    uintptr_t h = (uintptr_t)fmt;
    h ^= h >> 7;
    struct rate_slot *slot = &rate_slots[h % RATE_SLOTS];
    time_t now = time(NULL);
    if (slot->fmt != fmt || now - slot->window_start >= RATE_WINDOW_S) {
        long suppressed = slot->fmt == fmt ? (long)slot->suppressed : 0;
        slot->fmt = fmt;
        slot->window_start = now;
        slot->count = 1;
        slot->suppressed = 0;
        return suppressed;
    }
    if (slot->count >= RATE_MAX_PER_WINDOW) {
        slot->suppressed++;
        return -1;
    }
    slot->count++;
    return 0;
}

static void emit_v(enum log_level level, bool limited, const char *fmt, va_list ap)
{
    if (level > current_level) return;
    if (under_journald < 0) under_journald = getenv("JOURNAL_STREAM") != NULL;
    pthread_mutex_lock(&log_lock);
    long suppressed = limited ? rate_check(fmt) : 0;
    if (suppressed > 0) {
        fprintf(stderr, "%s[%d] %s: (%ld similar lines suppressed in the last minute)\n", program,
                (int)getpid(), level_names[level], suppressed);
    }
    if (suppressed >= 0) write_line(level, fmt, ap);
    pthread_mutex_unlock(&log_lock);
}

void log_emit(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit_v(level, true, fmt, ap);
    va_end(ap);
}

void log_emit_always(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit_v(level, false, fmt, ap);
    va_end(ap);
}
