/* guardconf.h — the mass-outage guard's settings (system_settings key 'guard', DESIGN.md §9): whether it is on,
 * what counts as a zone losing servers en masse (fraction, minimum count, daily cap), how recent an answer must
 * be, how long a server may be held, and how often the scorer re-reads them. The scorer applies them
 * (scorer/guard.h); ntpmonctl refuses bad ones before they are stored and uses the answer window in `zone list`. */
#ifndef NTPMON_GUARDCONF_H
#define NTPMON_GUARDCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "conftab.h"

#define GUARD_SETTINGS_KEY "guard" /* system_settings.key */

struct guard_settings {
    bool enabled;        /* true (servers without a zone are never held anyway) */
    double fraction;     /* 0.20: a zone loses servers en masse when more than this share of it is leaving… */
    int min_count;       /* 3: …and at least this many servers */
    int daily_cap;       /* 0 (no cap): or when this many of its servers left the pool since 00:00 UTC */
    int answer_window_s; /* 1800: a monitor's answer counts for this long; also the window of recent departures */
    int max_hold_s;      /* 21600: no server is held longer */
    int refresh_s;       /* 60: the scorer re-reads these, re-checks held servers and zone alerts this often */
    int zone_cache_s;    /* 30: the service reuses a zone read from the database this long (wall and result time) */
};

/* The defaults. */
void guard_settings_defaults(struct guard_settings *g);
/* Parses system_settings 'guard' (NULL/"": defaults); -1 with a reason naming the key, out untouched. Unknown keys
 * are listed in `unknown` (comma separated) when not NULL. */
int guard_settings_parse(const char *json, struct guard_settings *out, char err[CONFTAB_ERR_LEN], char *unknown,
                         size_t unknown_len);
/* The table behind both (for merging overrides, printing, comparing). */
const struct conftab *guard_settings_table(void);

#endif
