/* replay.h — `ntpmon-scorer replay`: results (one JSON message per line) on stdin scored by the engine with no
 * database and no broker, each monitor's status taken from the message's `status`; prints the score log as
 * JSON lines (default), the pool's CSV (--csv, DESIGN.md §8) or the MQTT messages the daemon would publish
 * (--messages, `TOPIC PAYLOAD` like `mosquitto_sub -v`). Deterministic: the same input gives the same bytes. */
#ifndef NTPMON_SCORER_REPLAY_H
#define NTPMON_SCORER_REPLAY_H

#include <stdint.h>
#include <stdio.h>

#include "engine.h"

enum replay_format { REPLAY_JSON, REPLAY_CSV, REPLAY_MESSAGES };

struct replay_opts {
    enum replay_format format;
    const char *env;          /* topic prefix for --messages */
    struct eng_params params; /* history_us ≤ 0: keep every row (exact for any input order) */
};

struct replay_stats {
    uint64_t lines, scored, skipped, recorded, crossings;
};

/* Reads results from in until EOF and writes the log to out. Returns 0, or -1 on a read/write error. */
int replay_run(FILE *in, FILE *out, const struct replay_opts *o, struct replay_stats *stats);

#endif
