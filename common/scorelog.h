/* scorelog.h — the pool's CSV score log (DESIGN.md §8), one formatter for `ntpmonctl log` and
 * `ntpmon-scorer replay --csv` so both print the same bytes: header
 * ts_epoch,ts,offset,step,score,monitor_id,monitor_name,rtt,leap,error; ts as "YYYY-MM-DD HH:MM:SS" UTC; numbers
 * with up to 9 decimals, trailing zeros trimmed (msg_format_number); rtt in ms; leap empty when 0; an empty
 * monitor_name and monitor_id 0 for the overall score; fields quoted as RFC 4180 (Go's encoding/csv) needs. */
#ifndef NTPMON_SCORELOG_H
#define NTPMON_SCORELOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define SCORELOG_CSV_HEADER "ts_epoch,ts,offset,step,score,monitor_id,monitor_name,rtt,leap,error"

struct scorelog_row {
    int64_t ts_us;
    bool has_offset;
    double offset; /* seconds */
    double step, score;
    int64_t monitor_id;       /* 0 for the overall score */
    const char *monitor_name; /* NULL or "" for the overall score */
    bool has_rtt;
    int64_t rtt_us;           /* printed in ms */
    int leap;
    const char *error;        /* NULL or "" when none */
    const char *extra;        /* NULL: the pool's ten columns; else an eleventh (replay --zones: the guard's word) */
};

/* Writes the header line (with a newline). */
void scorelog_csv_header(FILE *f);
/* The header with an eleventh column named `extra` (rows then carry scorelog_row.extra, "" when NULL). */
void scorelog_csv_header_extra(FILE *f, const char *extra);
/* Writes one row as a CSV line (with a newline). */
void scorelog_csv_row(FILE *f, const struct scorelog_row *r);
/* Formats one row into buf (no newline); returns the length, or -1 when it does not fit. */
int scorelog_csv_format(char *buf, size_t len, const struct scorelog_row *r);

#endif
