/* timeutil.h — wall and monotonic clocks in microseconds, RFC 3339 (UTC, µs) text, and durations ("90s", "6h"). */
#ifndef NTPMON_TIMEUTIL_H
#define NTPMON_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Microseconds since the Unix epoch, from CLOCK_REALTIME. */
int64_t time_now_us(void);
/* Microseconds from CLOCK_MONOTONIC: for timers and intervals, never for timestamps that leave the process. */
int64_t time_mono_us(void);

#define TIME_RFC3339_LEN 28 /* "2026-11-23T19:00:00.123456Z" + NUL */
/* Formats as "YYYY-MM-DDTHH:MM:SS.ffffffZ"; returns 0, or -1 when the year is outside 0000..9999. */
int time_format_rfc3339(int64_t us, char out[TIME_RFC3339_LEN]);
/* Formats as "YYYY-MM-DD HH:MM:SS" UTC (the pool's CSV and SQL DATETIME text). */
int time_format_sql(int64_t us, char out[32]);
/* Formats as "YYYY-MM-DD HH:MM:SS.ffffff" UTC for SQL DATETIME(6). */
int time_format_sql_us(int64_t us, char out[32]);
/* Parses RFC 3339 ("…T…", 'Z' or ±hh:mm, up to 9 fraction digits, truncated to µs); 0 on success, -1 otherwise. */
int time_parse_rfc3339(const char *s, int64_t *us_out);
/* Parses "YYYY-MM-DD HH:MM:SS[.ffffff]" as UTC (SQL text); 0 on success. */
int time_parse_sql(const char *s, int64_t *us_out);
/* Parses a duration: a number with an optional unit ms, s, m, h, d (default seconds), e.g. "540", "9m", "1.5s".
 * Returns 0 and microseconds, -1 on bad syntax or a negative/overflowing value. */
int time_parse_duration(const char *s, int64_t *us_out);
/* Days since 1970-01-01 for a proleptic Gregorian date (also used for era arithmetic). */
int64_t time_days_from_civil(int64_t year, unsigned month, unsigned day);

#endif
