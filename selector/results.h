/* results.h — the result stream into the pool's statistics: the shared validator (common/msg), the common step
 * function (common/step), the pair found by server id and monitor name, each result counted once. The same path
 * serves the daemon's subscription and the benchmark. */
#ifndef NTPMON_SELECTOR_RESULTS_H
#define NTPMON_SELECTOR_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "pool.h"

enum results_outcome {
    RESULTS_ADDED = 0,
    RESULTS_DUPLICATE,
    RESULTS_INVALID,         /* the shared validator refused it */
    RESULTS_UNKNOWN_MONITOR, /* no such monitor, or it is deleted */
    RESULTS_UNKNOWN_SERVER,  /* no such server */
    RESULTS_OUT_OF_WINDOW,   /* older than the window, or stamped too far ahead */
    RESULTS_REFUSED,         /* the pair's store is full or the values are not finite */
    RESULTS_N_OUTCOMES
};
/* "added", "duplicate", … (logs). */
const char *results_outcome_str(enum results_outcome o);
/* The Prometheus label set of an outcome ("outcome=\"added\""; static). */
const char *results_outcome_label(enum results_outcome o);

/* Validates one MQTT message and counts it; err says why it was refused (RESULTS_INVALID). */
enum results_outcome results_ingest(struct pool *p, const char *env, const char *topic, const void *payload, size_t len,
                                    int64_t now_us, int window_s, char err[MSG_ERR_LEN]);
/* Counts one decoded, valid result. A monitor/server pair without a server_scores row still gets its statistics
 * (the row may come with the next scan); the rules only look at pairs with rows. */
enum results_outcome results_add(struct pool *p, const struct msg_result *r, int64_t now_us, int window_s);
/* The rtt a result counts with, in ms: 0 when there was no response at all. */
double results_rtt_ms(const struct msg_result *r);

#endif
