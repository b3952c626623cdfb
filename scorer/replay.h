/* replay.h — `ntpmon-scorer replay`: results (one JSON message per line) on stdin scored by the engine with no
 * database and no broker, each monitor's status taken from the message's `status`; prints the score log as
 * JSON lines (default), the pool's CSV (--csv, DESIGN.md §8) or the MQTT messages the daemon would publish
 * (--messages, `TOPIC PAYLOAD` like `mosquitto_sub -v`). Deterministic: the same input gives the same bytes.
 * With the servers' zones (--zones) the mass-outage guard applies as in the service, its zone counts taken from
 * the replayed stream: JSON gets "guard" and "zone" lines and "held" on overall rows, the CSV an eleventh column
 * `guard`, --messages the held statuses and zone alerts. */
#ifndef NTPMON_SCORER_REPLAY_H
#define NTPMON_SCORER_REPLAY_H

#include <stdint.h>
#include <stdio.h>

#include "engine.h"
#include "guardconf.h"

enum replay_format { REPLAY_JSON, REPLAY_CSV, REPLAY_MESSAGES };

/* The servers' zones for the mass-outage guard (--zones FILE: lines "server_id zone"). */
struct replay_zone {
    int64_t server_id;
    unsigned zone; /* common/zone id */
};
struct replay_zones {
    struct replay_zone *z; /* sorted by server_id */
    size_t n;
};
/* Reads a zones file: "server_id zone" per line, '#' comments and blank lines allowed; an unknown zone, a bad
 * id or a server listed twice is an error naming the line. 0, or -1 with err. */
int replay_zones_load(const char *path, struct replay_zones *out, char *err, size_t err_len);
void replay_zones_free(struct replay_zones *z);

struct replay_opts {
    enum replay_format format;
    const char *env;          /* topic prefix for --messages */
    struct eng_params params; /* history_us ≤ 0: keep every row (exact for any input order) */
    const struct replay_zones *zones; /* NULL: no guard (as before); else the guard applies with `guard` */
    struct guard_settings guard;
};

struct replay_stats {
    uint64_t lines, scored, skipped, recorded, crossings;
    uint64_t holds, releases, hold_ends, alerts; /* the guard's decisions and zone alert messages */
};

/* Reads results from in until EOF and writes the log to out. Returns 0, or -1 on a read/write error. */
int replay_run(FILE *in, FILE *out, const struct replay_opts *o, struct replay_stats *stats);

#endif
