/* results.c — validating and counting results into the pool's statistics (results.h). */
#include "results.h"

#include "step.h"

const char *results_outcome_str(enum results_outcome o)
{
    static const char *const n[] = {"added", "duplicate", "invalid", "unknown_monitor", "unknown_server",
                                    "out_of_window", "refused"};
    return (unsigned)o < RESULTS_N_OUTCOMES ? n[o] : "?";
}

const char *results_outcome_label(enum results_outcome o)
{
    static const char *const n[] = {"outcome=\"added\"", "outcome=\"duplicate\"", "outcome=\"invalid\"",
                                    "outcome=\"unknown_monitor\"", "outcome=\"unknown_server\"",
                                    "outcome=\"out_of_window\"", "outcome=\"refused\""};
    return (unsigned)o < RESULTS_N_OUTCOMES ? n[o] : "outcome=\"?\"";
}

double results_rtt_ms(const struct msg_result *r)
{
    if (msg_error_is_no_response(r->error) || !r->has_rtt) return 0;
    return r->rtt * 1000.0;
}

enum results_outcome results_add(struct pool *p, const struct msg_result *r, int64_t now_us, int window_s)
{
    uint32_t m = pool_monitor_by_name(p, r->monitor);
    if (m == IDMAP_NONE || p->mon[m].status == SEL_MON_DELETED) return RESULTS_UNKNOWN_MONITOR;
    uint32_t s = pool_server_by_id(p, r->server_id); /* a deleted server still exists (ingest stores its results) */
    if (s == IDMAP_NONE) return RESULTS_UNKNOWN_SERVER;
    uint32_t k = pool_pair_find(p, s, m, true);
    struct step st = step_for_result(r);
    switch (stats_add(&p->pairs[k].stats, r->ts_us, stats_fingerprint(r->id), st.step, results_rtt_ms(r), now_us,
                      window_s)) {
    case STATS_ADDED: return RESULTS_ADDED;
    case STATS_DUPLICATE: return RESULTS_DUPLICATE;
    case STATS_TOO_OLD:
    case STATS_FUTURE: return RESULTS_OUT_OF_WINDOW;
    default: return RESULTS_REFUSED;
    }
}

enum results_outcome results_ingest(struct pool *p, const char *env, const char *topic, const void *payload, size_t len,
                                    int64_t now_us, int window_s, char err[MSG_ERR_LEN])
{
    struct msg_result r;
    if (msg_result_validate(env, topic, payload, len, &r, err) < 0) return RESULTS_INVALID;
    return results_add(p, &r, now_us, window_s);
}
