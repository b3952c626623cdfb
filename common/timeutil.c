/* timeutil.c — clocks and the text forms of time used on the wire (RFC 3339 µs), in SQL and in CSV.
 * Calendar math is done here (no timegm/TZ dependence) so parsing is exact and locale-free. */
#include "timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t time_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t time_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

struct civil {
    int64_t year;
    unsigned month, day, hour, minute, second;
    long usec;
};

static int split_us(int64_t us, struct civil *c)
{
    int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    c->usec = (long)(us - secs * 1000000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400;
    civil_from_days(days, &c->year, &c->month, &c->day);
    c->hour = (unsigned)(rem / 3600);
    c->minute = (unsigned)(rem % 3600 / 60);
    c->second = (unsigned)(rem % 60);
    return c->year >= 0 && c->year <= 9999 ? 0 : -1;
}

enum civil_style { STYLE_RFC3339, STYLE_SQL, STYLE_SQL_US };

static int format_civil(int64_t us, enum civil_style style, char *out, size_t len)
{
    struct civil c;
    if (split_us(us, &c) < 0) {
        out[0] = '\0';
        return -1;
    }
    static const char *const formats[] = {
        [STYLE_RFC3339] = "%04lld-%02u-%02uT%02u:%02u:%02u.%06ldZ",
        [STYLE_SQL] = "%04lld-%02u-%02u %02u:%02u:%02u",
        [STYLE_SQL_US] = "%04lld-%02u-%02u %02u:%02u:%02u.%06ld",
    };
    snprintf(out, len, formats[style], (long long)c.year, c.month, c.day, c.hour, c.minute, c.second, c.usec);
    return 0;
}

int time_format_rfc3339(int64_t us, char out[TIME_RFC3339_LEN])
{
    return format_civil(us, STYLE_RFC3339, out, TIME_RFC3339_LEN);
}

int time_format_sql(int64_t us, char out[32]) { return format_civil(us, STYLE_SQL, out, 32); }
int time_format_sql_us(int64_t us, char out[32]) { return format_civil(us, STYLE_SQL_US, out, 32); }

static int read_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int days_in_month(int64_t y, unsigned m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dm[m - 1];
}

/* Parses date, separator (one of seps), time and optional fraction; leaves *p after them. */
static int parse_datetime(const char **p, const char *seps, int64_t *us)
{
    int y, mo, d, h, mi, s;
    const char *q = *p;
    if (read_digits(&q, 4, &y) || *q++ != '-' || read_digits(&q, 2, &mo) || *q++ != '-' ||
        read_digits(&q, 2, &d))
        return -1;
    if (!*q || !strchr(seps, *q)) return -1;
    q++;
    if (read_digits(&q, 2, &h) || *q++ != ':' || read_digits(&q, 2, &mi) || *q++ != ':' ||
        read_digits(&q, 2, &s))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (unsigned)mo) || h > 23 || mi > 59 || s > 60)
        return -1;
    if (s == 60) s = 59; /* a leap second maps onto the second before it */
    long usec = 0;
    if (*q == '.') {
        q++;
        int n = 0;
        while (isdigit((unsigned char)*q)) {
            if (n < 6) usec = usec * 10 + (*q - '0');
            n++;
            q++;
        }
        if (n == 0 || n > 9) return -1;
        for (; n < 6; n++) usec *= 10;
    }
    int64_t days = time_days_from_civil(y, (unsigned)mo, (unsigned)d);
    *us = ((days * 86400) + h * 3600 + mi * 60 + s) * 1000000 + usec;
    *p = q;
    return 0;
}

int time_parse_rfc3339(const char *s, int64_t *us_out)
{
    if (!s) return -1;
    const char *p = s;
    int64_t us;
    if (parse_datetime(&p, "Tt", &us) < 0) return -1;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (read_digits(&p, 2, &oh) || *p++ != ':' || read_digits(&p, 2, &om) || oh > 23 || om > 59)
            return -1;
        us -= (int64_t)sign * (oh * 3600 + om * 60) * 1000000;
    } else {
        return -1;
    }
    if (*p) return -1;
    *us_out = us;
    return 0;
}

int time_parse_sql(const char *s, int64_t *us_out)
{
    if (!s) return -1;
    const char *p = s;
    int64_t us;
    if (parse_datetime(&p, " T", &us) < 0 || *p) return -1;
    *us_out = us;
    return 0;
}

int time_parse_duration(const char *s, int64_t *us_out)
{
    if (!s || !*s) return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0) return -1;
    double mult = 1e6;
    if (strcmp(end, "") == 0 || strcmp(end, "s") == 0) mult = 1e6;
    else if (strcmp(end, "ms") == 0) mult = 1e3;
    else if (strcmp(end, "m") == 0) mult = 60e6;
    else if (strcmp(end, "h") == 0) mult = 3600e6;
    else if (strcmp(end, "d") == 0) mult = 86400e6;
    else return -1;
    double us = v * mult;
    if (us > 9.0e18) return -1;
    *us_out = (int64_t)llround(us);
    return 0;
}
