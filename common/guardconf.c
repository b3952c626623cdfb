/* guardconf.c — the guard's settings table (see guardconf.h), one row per setting, parsed by common/conftab. */
#include "guardconf.h"

#include <stddef.h>

#define B(field, def, help) {#field, CONFTAB_BOOL, offsetof(struct guard_settings, field), def, 0, 1, help}
#define I(field, def, min, max, help) {#field, CONFTAB_INT, offsetof(struct guard_settings, field), def, min, max, help}
#define D(field, def, min, max, help) {#field, CONFTAB_DOUBLE, offsetof(struct guard_settings, field), def, min, max, help}

static const struct conftab_row rows[] = {
    B(enabled, 1, "hold servers in the pool during a zone's mass outage"),
    D(fraction, 0.20, 0.01, 1, "a zone is losing servers en masse when more than this share is leaving"),
    I(min_count, 3, 1, 1000000, "... and at least this many servers"),
    I(daily_cap, 0, 0, 1000000, "or when this many of its servers left the pool since 00:00 UTC (0: no cap)"),
    I(answer_window_s, 1800, 1, 86400, "seconds a monitor's good answer counts as evidence; window of departures"),
    I(max_hold_s, 21600, 1, 604800, "no server is held longer than this many seconds"),
    I(refresh_s, 60, 1, 86400, "seconds between re-reads of these settings and checks of held servers"),
    I(zone_cache_s, 30, 0, 3600, "seconds (of wall time and of result time) a zone read from the database is reused"),
};

static const struct conftab table = {GUARD_SETTINGS_KEY, rows, sizeof rows / sizeof rows[0],
                                     sizeof(struct guard_settings)};

void guard_settings_defaults(struct guard_settings *g) { conftab_defaults(&table, g); }

int guard_settings_parse(const char *json, struct guard_settings *out, char err[CONFTAB_ERR_LEN], char *unknown,
                         size_t unknown_len)
{
    return conftab_parse(&table, json, out, err, unknown, unknown_len);
}

const struct conftab *guard_settings_table(void) { return &table; }
