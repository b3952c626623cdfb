/* main.c — ntpmon-scorer: the pool's scores (DESIGN.md §6). `ntpmon-scorer [options]` runs the service;
 * `ntpmon-scorer replay [--csv|--messages]` scores a recorded stream from stdin with no database or broker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "guardconf.h"
#include "dbconf.h"
#include "log.h"
#include "metrics.h"
#include "opts.h"
#include "replay.h"
#include "xalloc.h"

static struct opts_common common;
static struct opts_mqtt mqtto;
static struct opts_db dbo;
static struct opts_metrics metricso;

static int64_t lookback_active, lookback_testing, lookback_candidate, record_same, record_close;
static double record_close_fraction, in_pool_score;
static int64_t max_age, batch_max, batch_delay, max_pending, reload_every, unknown_reload, report_every, rescan_every,
    rescan_settle, idle_evict, history_tail, history, max_lag, start_retry, shutdown_timeout;
static const char *shard_text, *zones_file;
static struct opt_list guard_words;
static bool shard_topics, no_republish, no_pool_change_traces, csv, messages;

static const struct opt_spec guard_specs[] = {
    {"guard-setting", 0, NULL, OPT_LIST, &guard_words, NULL, 0, 0, "KEY=VALUE",
     "override one of the mass-outage guard's settings (system_settings 'guard'; repeatable), e.g. min_count=5"},
    {0},
};

static const struct opt_spec scoring_specs[] = {
    {"lookback-active", 0, NULL, OPT_DURATION, &lookback_active, "1200", 1, 86400, "DUR",
     "the median looks back this far over active monitors"},
    {"lookback-testing", 0, NULL, OPT_DURATION, &lookback_testing, "2700", 1, 86400, "DUR",
     "… else this far over active and testing monitors"},
    {"lookback-candidate", 0, NULL, OPT_DURATION, &lookback_candidate, "7200", 1, 86400, "DUR",
     "… else this far over candidate and testing monitors"},
    {"record-same-interval", 0, NULL, OPT_DURATION, &record_same, "15m", 0, 86400, "DUR",
     "an unchanged overall score is recorded again only after this"},
    {"record-close-interval", 0, NULL, OPT_DURATION, &record_close, "5m", 0, 86400, "DUR",
     "an overall score within --record-close-fraction of the last is recorded only after this"},
    {"record-close-fraction", 0, NULL, OPT_DOUBLE, &record_close_fraction, "0.05", 0, 1, "F",
     "what counts as close to the last recorded score"},
    {"in-pool-score", 0, NULL, OPT_DOUBLE, &in_pool_score, "10", -1000, 1000, "S",
     "a server is in the pool when its overall score is at least this"},
    {0},
};

static const struct opt_spec daemon_specs[] = {
    {"max-age", 0, "SCORER_MAX_AGE", OPT_DURATION, &max_age, "3h", 1, 7 * 86400, "DUR",
     "the service does not score results older than this (they stay in the results table)"},
    {"shard", 0, "SCORER_SHARD", OPT_STRING, &shard_text, "0/1", 0, 0, "K/N",
     "score only servers with id mod N == K (one process per K)"},
    {"shard-topics", 0, NULL, OPT_FLAG, &shard_topics, NULL, 0, 0, NULL,
     "with N > 1: subscribe per server of the shard instead of to every result (see README)"},
    {"batch-size", 0, NULL, OPT_INT, &batch_max, "500", 1, 10000, "N", "results per database transaction"},
    {"batch-delay", 0, NULL, OPT_DURATION, &batch_delay, "100ms", 0, 10, "DUR",
     "wait this long for more results before committing a partial batch"},
    {"max-pending", 0, NULL, OPT_INT, &max_pending, "200000", 1000, 100000000, "N",
     "results kept queued while the database is away (beyond: dropped, and rescanned later)"},
    {"reload-interval", 0, NULL, OPT_DURATION, &reload_every, "60", 0.01, 86400, "DUR",
     "how often monitor statuses, monitors and servers are reloaded"},
    {"unknown-reload-interval", 0, NULL, OPT_DURATION, &unknown_reload, "10", 0, 86400, "DUR",
     "an unknown monitor or server reloads the list at most this often"},
    {"report-interval", 0, NULL, OPT_DURATION, &report_every, "1h", 0.01, 7 * 86400, "DUR",
     "the reason a result is skipped is logged once per this interval"},
    {"rescan-interval", 0, NULL, OPT_DURATION, &rescan_every, "5m", 0, 86400, "DUR",
     "how often the results table is checked for results never scored (0: only at start)"},
    {"rescan-settle", 0, NULL, OPT_DURATION, &rescan_settle, "2m", 0, 86400, "DUR",
     "… that were received at least this long ago"},
    {"idle-evict", 0, NULL, OPT_DURATION, &idle_evict, "1h", 1, 30 * 86400, "DUR",
     "servers without results this long are dropped from memory"},
    {"history-tail", 0, NULL, OPT_DURATION, &history_tail, "2m", 0, 86400, "DUR",
     "per monitor/server pair, rows this recent stay in memory with the latest older one; a later result older"
     " than that loads what it needs from the database"},
    {"no-republish", 0, NULL, OPT_FLAG, &no_republish, NULL, 0, 0, NULL,
     "do not republish the retained scores from the database on (re)connect"},
    {"max-lag", 0, NULL, OPT_DURATION, &max_lag, "60s", 0.01, 86400, "DUR",
     "/healthz says 'falling behind' when a received result has waited longer than this to be scored"},
    {"start-retry", 0, NULL, OPT_DURATION, &start_retry, "3s", 0.01, 3600, "DUR",
     "loading monitors and servers at start is retried this often while the database is away"},
    {"shutdown-timeout", 0, NULL, OPT_DURATION, &shutdown_timeout, "30s", 0, 3600, "DUR",
     "on SIGTERM, how long scoring what is queued may take"},
    {"no-pool-change-traces", 0, NULL, OPT_FLAG, &no_pool_change_traces, NULL, 0, 0, NULL,
     "do not ask a server's active and testing monitors to trace it when it enters or leaves the pool"},
    {0},
};

static const struct opt_spec replay_specs[] = {
    {"csv", 0, NULL, OPT_FLAG, &csv, NULL, 0, 0, NULL, "replay: print the pool's CSV score log"},
    {"messages", 0, NULL, OPT_FLAG, &messages, NULL, 0, 0, NULL,
     "replay: print the MQTT messages the service would publish (TOPIC PAYLOAD)"},
    {"zones", 0, NULL, OPT_STRING, &zones_file, NULL, 0, 0, "FILE",
     "replay: apply the mass-outage guard with these zones (lines \"server_id zone\")"},
    {"history", 0, NULL, OPT_DURATION, &history, "0", 0, 366 * 86400, "DUR",
     "replay: forget per-monitor rows this much older than the newest result (0: keep all; exact for any order)"},
    {0},
};

static const char footer[] =
    "Commands:\n"
    "  (none)           run the scoring service: results from MQTT, scores into the database and retained topics\n"
    "  replay           score results (one JSON message per line) from stdin; no database, no broker\n"
    "\n"
    "Examples:\n"
    "  mosquitto_sub -t 'ntpmon/prod/results/1234/+' > results.jsonl\n"
    "  ntpmon-scorer replay --csv < results.jsonl\n"
    "  ntpmon-scorer replay --csv --zones zones.txt < incident.jsonl   # why did my server stay in?\n";

static bool parse_shard(const char *text, struct shard *out)
{
    char *end;
    long long k = strtoll(text, &end, 10);
    if (end == text || *end != '/') return false;
    const char *n_text = end + 1;
    long long n = strtoll(n_text, &end, 10);
    if (end == n_text || *end || n < 1 || n > 1000000 || k < 0 || k >= n) return false;
    out->k = k;
    out->n = n;
    return true;
}

static void fill_params(struct eng_params *p)
{
    eng_params_default(p);
    p->lookback_active_us = lookback_active;
    p->lookback_testing_us = lookback_testing;
    p->lookback_candidate_us = lookback_candidate;
    p->same_interval_us = record_same;
    p->close_interval_us = record_close;
    p->close_fraction = record_close_fraction;
    p->in_pool_score = in_pool_score;
    /* the median at the oldest result still scored needs rows back to (now − max-age) − the longest lookback */
    int64_t longest = lookback_candidate > lookback_testing ? lookback_candidate : lookback_testing;
    if (lookback_active > longest) longest = lookback_active;
    p->history_us = max_age + longest;
}

/* The --guard-setting overrides as a JSON object (NULL when none); a bad word or value is a usage error. */
static char *guard_overrides(const struct opt_program *prog)
{
    if (!guard_words.n) return NULL;
    char err[CONFTAB_ERR_LEN];
    char *json = conftab_from_words(guard_words.items, guard_words.n, err);
    struct guard_settings check;
    if (!json || guard_settings_parse(json, &check, err, NULL, 0) < 0) opts_usage_error(prog, "--guard-setting: %s", err);
    return json;
}

static int run_replay(const struct opt_program *prog)
{
    if (csv && messages) opts_usage_error(prog, "--csv and --messages exclude each other");
    struct replay_opts ro = {
        .format = csv ? REPLAY_CSV : messages ? REPLAY_MESSAGES : REPLAY_JSON,
        .env = common.env,
    };
    fill_params(&ro.params);
    ro.params.history_us = history; /* 0: keep every row */
    char *overrides = guard_overrides(prog);
    char err[256];
    if (guard_settings_parse(overrides, &ro.guard, err, NULL, 0) < 0) opts_usage_error(prog, "%s", err);
    free(overrides);
    struct replay_zones zones = {0};
    if (zones_file) {
        if (replay_zones_load(zones_file, &zones, err, sizeof err) < 0) {
            fprintf(stderr, "ntpmon-scorer: --zones: %s\n", err);
            return 2;
        }
        ro.zones = &zones;
    }
    static char buf[1 << 16];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    struct replay_stats st;
    int rc = replay_run(stdin, stdout, &ro, &st);
    LOG(INFO, "replay: %llu results scored, %llu skipped, %llu overall scores recorded, %llu pool changes",
        (unsigned long long)st.scored, (unsigned long long)st.skipped, (unsigned long long)st.recorded,
        (unsigned long long)st.crossings);
    if (zones_file)
        LOG(INFO, "replay: the guard held %llu times, released %llu, ended %llu holds; %llu zone alert messages",
            (unsigned long long)st.holds, (unsigned long long)st.releases, (unsigned long long)st.hold_ends,
            (unsigned long long)st.alerts);
    replay_zones_free(&zones);
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    log_init("ntpmon-scorer");
    opts_load_env_file("/etc/default/ntpmon-scorer");
    const struct opt_spec *groups[] = {opts_common_specs(&common), opts_db_specs(&dbo), opts_mqtt_specs(&mqtto),
                                       opts_metrics_specs(&metricso), scoring_specs, guard_specs, daemon_specs,
                                       replay_specs, NULL};
    struct opt_program prog = {
        "ntpmon-scorer", "[options] [replay [--csv|--messages]]",
        "Scores NTP servers exactly as the pool does: per-monitor steps and scores, the recent-median overall "
        "score, and in/out-of-pool changes.",
        groups, footer};
    int first = opts_parse(&prog, argc, argv);
    opts_common_apply(&prog, &common);
    const char *cmd = first < argc ? argv[first] : NULL;
    if (cmd && strcmp(cmd, "replay") == 0) {
        if (first + 1 < argc) opts_usage_error(&prog, "replay takes no arguments (results come on stdin)");
        return run_replay(&prog);
    }
    if (cmd) opts_usage_error(&prog, "unknown command '%s'", cmd);
    if (csv || messages || zones_file) opts_usage_error(&prog, "--csv, --messages and --zones are options of 'replay'");

    struct daemon_opts o = {
        .env = common.env,
        .shard_topics = shard_topics,
        .max_age_us = max_age,
        .batch_max = (size_t)batch_max,
        .batch_delay_us = batch_delay,
        .max_pending = (size_t)max_pending,
        .reload_us = reload_every,
        .unknown_reload_us = unknown_reload,
        .report_us = report_every,
        .rescan_us = rescan_every,
        .rescan_settle_us = rescan_settle,
        .idle_evict_us = idle_evict,
        .history_tail_us = history_tail,
        .republish = !no_republish,
        .max_lag_us = max_lag,
        .start_retry_us = start_retry,
        .shutdown_timeout_us = shutdown_timeout,
        .metrics = metricso,
        .db_check_interval_us = dbo.check_interval_us,
        .pool_change_traces = !no_pool_change_traces,
    };
    char *guard_json = guard_overrides(&prog);
    o.guard_overrides = guard_json;
    if (!parse_shard(shard_text, &o.shard))
        opts_usage_error(&prog, "invalid --shard '%s': want K/N with 0 <= K < N", shard_text);
    fill_params(&o.params);

    /* Without a token the broker is reached anonymously (a broker without the auth plugin: tests, a lab). */
    char *token, *username;
    opts_mqtt_credentials(&prog, &mqtto, &token, &username);
    struct db_dsn dsn;
    opts_db_resolve(&prog, &dbo, common.env, &dsn);
    char client_id[128];
    /* A persistent session needs a stable id: one per env and shard (the broker queues for it while we are away).
     * With a token it is "<sub>:shard-K-of-N", the form the broker-auth plugin accepts for that sub. */
    if (mqtto.client_id && *mqtto.client_id) snprintf(client_id, sizeof client_id, "%s", mqtto.client_id);
    else if (username) snprintf(client_id, sizeof client_id, "%s:shard-%lld-of-%lld", username, (long long)o.shard.k,
                                (long long)o.shard.n);
    else snprintf(client_id, sizeof client_id, "ntpmon-scorer-%s-shard-%lld-of-%lld", common.env,
                  (long long)o.shard.k, (long long)o.shard.n);
    struct mqtt_config mc = {
        .url = mqtto.url,
        .client_id = client_id,
        .username = username,
        .password = token,
        .ca_file = mqtto.ca_file,
        .clean_start = false,
        .receive_maximum = 1000,
    };
    int rc = scorer_daemon_run(&o, &dsn, &mc);
    free(guard_json);
    free(token);
    free(username);
    return rc;
}
