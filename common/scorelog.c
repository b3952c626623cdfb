/* scorelog.c — the pool's CSV score log lines (see scorelog.h). */
#include "scorelog.h"

#include <inttypes.h>
#include <string.h>

#include "msg.h"
#include "timeutil.h"

/* Go's encoding/csv quotes a field holding a comma, a quote, CR or LF, or starting with a space or tab. */
static bool needs_quotes(const char *s)
{
    if (!*s) return false;
    if (s[0] == ' ' || s[0] == '\t') return true;
    return strpbrk(s, ",\"\r\n") != NULL;
}

struct out {
    char *buf;
    size_t len, used;
    bool overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->used + n >= o->len) {
        o->overflow = true;
        return;
    }
    memcpy(o->buf + o->used, s, n);
    o->used += n;
    o->buf[o->used] = '\0';
}

static void put_str(struct out *o, const char *s) { put(o, s, strlen(s)); }

static void put_field(struct out *o, const char *s)
{
    if (!needs_quotes(s)) {
        put_str(o, s);
        return;
    }
    put(o, "\"", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"') put(o, "\"\"", 2);
        else put(o, p, 1);
    }
    put(o, "\"", 1);
}

static void put_number(struct out *o, double v)
{
    char n[48];
    msg_format_number(v, n);
    put_str(o, n);
}

/* "ts_epoch,ts" of a second; consecutive rows usually share it (a result and its overall score), so the last
 * one is kept. */
static const char *time_columns(int64_t secs)
{
    static _Thread_local int64_t cached = INT64_MIN;
    static _Thread_local char text[64];
    if (secs != cached) {
        int n = snprintf(text, sizeof text, "%" PRId64 ",", secs);
        time_format_sql(secs * 1000000, text + n);
        cached = secs;
    }
    return text;
}

int scorelog_csv_format(char *buf, size_t len, const struct scorelog_row *r)
{
    if (len == 0) return -1;
    struct out o = {buf, len, 0, false};
    buf[0] = '\0';
    char text[48];
    /* Unix seconds, rounded down like Go's Time.Unix() */
    int64_t secs = r->ts_us >= 0 ? r->ts_us / 1000000 : -((-r->ts_us + 999999) / 1000000);
    put_str(&o, time_columns(secs));
    put(&o, ",", 1);
    if (r->has_offset) put_number(&o, r->offset);
    put(&o, ",", 1);
    put_number(&o, r->step);
    put(&o, ",", 1);
    put_number(&o, r->score);
    snprintf(text, sizeof text, ",%" PRId64 ",", r->monitor_id);
    put_str(&o, text);
    put_field(&o, r->monitor_name ? r->monitor_name : "");
    put(&o, ",", 1);
    if (r->has_rtt) put_number(&o, (double)r->rtt_us / 1000.0);
    put(&o, ",", 1);
    if (r->leap) {
        snprintf(text, sizeof text, "%d", r->leap);
        put_str(&o, text);
    }
    put(&o, ",", 1);
    put_field(&o, r->error ? r->error : "");
    if (r->extra) {
        put(&o, ",", 1);
        put_field(&o, r->extra);
    }
    return o.overflow ? -1 : (int)o.used;
}

void scorelog_csv_header(FILE *f) { fputs(SCORELOG_CSV_HEADER "\n", f); }

void scorelog_csv_header_extra(FILE *f, const char *extra) { fprintf(f, SCORELOG_CSV_HEADER ",%s\n", extra); }

void scorelog_csv_row(FILE *f, const struct scorelog_row *r)
{
    char line[1024];
    if (scorelog_csv_format(line, sizeof line, r) < 0) {
        /* only an absurdly long error text gets here: print it without the error */
        struct scorelog_row short_row = *r;
        short_row.error = "(error text too long)";
        scorelog_csv_format(line, sizeof line, &short_row);
    }
    fputs(line, f);
    fputc('\n', f);
}
