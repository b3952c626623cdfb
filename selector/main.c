/* main.c — ntpmon-selector: which monitors watch which server (DESIGN.md §7).
 *   ntpmon-selector [options] [run]          the daemon
 *   ntpmon-selector [options] once [SERVER…]  review now (the given servers, else every due one), apply, exit
 *   ntpmon-selector [options] simulate SERVER the monitor table and the changes a review would make; writes nothing
 *   ntpmon-selector [options] settings       the effective settings and what each one means */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "dbio.h"
#include "evloop.h"
#include "backfill.h"
#include "jwtpeek.h"
#include "log.h"
#include "mqtt.h"
#include "opts.h"
#include "pool.h"
#include "publish.h"
#include "report.h"
#include "review.h"
#include "timeutil.h"
#include "xalloc.h"

static struct opts_common common;
static struct opts_db dbo;
static struct opts_mqtt mqtto;
static struct opts_metrics metricso;
static struct opt_list settings_words;
static bool no_publish;
static int64_t publish_timeout_us;
static const char *load_history;
static int64_t history_batch, history_turn_rows;

static const struct opt_spec selector_specs[] = {
    {"setting", 0, NULL, OPT_LIST, &settings_words, NULL, 0, 0, "KEY=VALUE",
     "override one of the settings of system_settings 'selector' (repeatable; see 'settings')"},
    {"no-publish", 0, NULL, OPT_FLAG, &no_publish, NULL, 0, 0, NULL,
     "once: do not publish the changed assignments (the daemon's rescan will)"},
    {"load-history", 0, NULL, OPT_STRING, &load_history, "lazy", 0, 0, "lazy|eager",
     "run: lazy reads each server's stored results of the window before its first review and a few servers per "
     "loop turn meanwhile (start-up in O(pairs)); eager reads them all before connecting"},
    {"history-batch", 0, NULL, OPT_INT, &history_batch, "16", 0, 100000, "N",
     "run: at most N servers' stored results read per event-loop turn in the background (0: only before a review)"},
    {"history-turn-rows", 0, NULL, OPT_INT, &history_turn_rows, "10000", 100, 10000000, "N",
     "run: and about N rows per turn (fewer servers per turn when each has many), so the loop never waits long"},
    {"publish-timeout", 0, NULL, OPT_DURATION, &publish_timeout_us, "10", 0.1, 3600, "DURATION",
     "once: how long to try reaching the broker"},
    {0},
};

static const char footer[] =
    "Commands:\n"
    "  run                 the daemon (default): results in, reviews, assignments and selection changes out\n"
    "  once [SERVER…]      review the given servers (id or address), else every due one, apply and exit\n"
    "  simulate SERVER     print the monitor table and the changes a review would make; writes nothing\n"
    "  settings            print the effective settings (system_settings 'selector' + --setting)\n"
    "\nExit status: 0 ok, 1 a review or lookup failed, 2 bad usage or settings.\n";

static struct opt_program prog = {
    "ntpmon-selector", "[options] [run | once [SERVER…] | simulate SERVER | settings]",
    "Decides which monitors watch which NTP server: the pool's selection rules, constraints and safety limits, "
    "applied to each server's pairs from their last 24 h of results.",
    NULL, footer};

static char *overrides; /* JSON object from --setting, or NULL */

static struct db *open_db(void)
{
    struct db_dsn dsn;
    char err[DB_ERR_LEN];
    opts_db_resolve(&prog, &dbo, common.env, &dsn);
    struct db *db = db_open(&dsn, false, err);
    if (!db) {
        fprintf(stderr, "ntpmon-selector: %s\n", err);
        exit(1);
    }
    return db;
}

static void load_settings(struct db *db, struct sel_settings *cfg)
{
    char err[DB_ERR_LEN + SEL_SETTINGS_ERR_LEN];
    int rc = selector_load_settings(db, overrides, cfg, err, sizeof err);
    if (rc == -2) opts_usage_error(&prog, "%s", err);
    if (rc < 0) {
        fprintf(stderr, "ntpmon-selector: %s\n", err);
        exit(1);
    }
}

/* The broker token (or none: an anonymous broker) and its username. */
static void mqtt_credentials(char **token, char *user, size_t user_len)
{
    char err[256];
    *token = opts_mqtt_token(&mqtto, err, sizeof err);
    user[0] = '\0';
    if (!*token) {
        if (mqtto.token_file && *mqtto.token_file) opts_usage_error(&prog, "%s", err);
        LOG(WARN, "no broker token ($MQTT_TOKEN or --mqtt-token-file): connecting anonymously");
        return;
    }
    struct jwt_claims_peek c;
    if (jwt_peek(*token, &c, err, sizeof err) < 0) opts_usage_error(&prog, "the broker token: %s", err);
    snprintf(user, user_len, "%s", c.sub);
}

static int cmd_run(void)
{
    struct selector_daemon_config dc = {.env = common.env, .mqtt_url = mqtto.url, .mqtt_ca_file = mqtto.ca_file,
                                        .mqtt_client_id = mqtto.client_id, .metrics = metricso,
                                        .db_check_interval_us = dbo.check_interval_us,
                                        .setting_overrides = overrides,
                                        .history_mode = backfill_mode_parse(load_history),
                                        .history_batch = (int)history_batch,
                                        .history_turn_rows = (int)history_turn_rows};
    if (dc.history_mode < 0) opts_usage_error(&prog, "invalid --load-history '%s' (lazy or eager)", load_history);
    char user[128];
    opts_db_resolve(&prog, &dbo, common.env, &dc.dsn);
    char host[256];
    int port;
    bool tls;
    if (mqtt_url_parse(mqtto.url, host, sizeof host, &port, &tls) < 0)
        opts_usage_error(&prog, "invalid --mqtt-url '%s' (mqtt://host[:port] or mqtts://host[:port])", mqtto.url);
    char *token;
    mqtt_credentials(&token, user, sizeof user);
    dc.mqtt_token = token;
    dc.mqtt_username = token ? user : NULL;
    char where[512];
    dbconf_describe(&dc.dsn, where, sizeof where);
    LOG(INFO, "starting: env %s, database %s, broker %s", common.env, where, mqtto.url);
    int rc = selector_daemon_run(&dc);
    free(token);
    return rc;
}

/* ---- once: publishing the changed assignments after the reviews ---- */

struct once_pub {
    struct publisher *pb;
    struct pool *pool;
    const struct sel_settings *cfg;
    struct review_outcome *outs;
    size_t n_outs;
    bool sent, failed;
};

static void once_connected(struct mqtt_session *s, bool present, void *arg)
{
    (void)s;
    (void)present;
    struct once_pub *o = arg;
    if (o->sent) return;
    o->sent = true;
    size_t n = publish_assigns(o->pb, o->pool, o->cfg, time_now_us(), false);
    for (size_t i = 0; i < o->n_outs; i++) publish_selection(o->pb, &o->outs[i], time_now_us());
    printf("published %zu assignment%s\n", n, n == 1 ? "" : "s");
}

static void once_timeout(struct evloop *loop, void *arg)
{
    struct once_pub *o = arg;
    if (!o->sent) o->failed = true;
    evloop_stop(loop);
}

static void once_poll(struct evloop *loop, void *arg);
static struct evloop_timer poll_timer;
static struct mqtt_session *once_session;

static void once_poll(struct evloop *loop, void *arg)
{
    struct once_pub *o = arg;
    if (o->sent && mqtt_session_unacked(once_session) == 0) {
        evloop_stop(loop);
        return;
    }
    evloop_timer_start(loop, &poll_timer, 20000);
}

static void once_publish(struct db *db, struct pool *pool, const struct sel_settings *cfg, struct review_outcome *outs,
                         size_t n_outs)
{
    char *token, user[128], err[256], client_id[64];
    mqtt_credentials(&token, user, sizeof user);
    snprintf(client_id, sizeof client_id, "ntpmon-selector-once-%ld", (long)getpid());
    struct evloop *loop = evloop_new();
    struct mqtt_config mc = {.url = mqtto.url, .client_id = client_id, .username = token ? user : NULL,
                             .password = token, .ca_file = mqtto.ca_file, .clean_start = true,
                             .backoff_min_us = 200000, .backoff_max_us = 1000000};
    struct publisher pb;
    struct once_pub op = {&pb, pool, cfg, outs, n_outs, false, false};
    struct mqtt_handlers h = {.on_connect = once_connected};
    once_session = mqtt_session_new(loop, &mc, &h, &op, err, sizeof err);
    if (!once_session) opts_usage_error(&prog, "mqtt: %s", err);
    publisher_init(&pb, once_session, db, common.env);
    struct evloop_timer deadline;
    evloop_timer_init(&deadline, once_timeout, &op);
    evloop_timer_init(&poll_timer, once_poll, &op);
    evloop_timer_start(loop, &deadline, publish_timeout_us);
    evloop_timer_start(loop, &poll_timer, 20000);
    mqtt_session_start(once_session);
    evloop_run(loop);
    if (op.failed)
        fprintf(stderr, "ntpmon-selector: broker %s not reachable: assignments not published (the daemon's rescan "
                        "will publish them)\n", mqtto.url);
    mqtt_session_flush(once_session, 1000000);
    mqtt_session_stop(once_session);
    mqtt_session_free(once_session);
    evloop_free(loop);
    free(token);
}

static int cmd_once(int argc, char **argv)
{
    struct db *db = open_db();
    struct sel_settings cfg;
    load_settings(db, &cfg);
    struct pool pool;
    pool_init(&pool);
    int status = 0;
    struct review_outcome *outs = NULL;
    size_t n_outs = 0;
    int64_t *ids = xcalloc((size_t)argc + 1, sizeof *ids);
    size_t n_ids = 0;
    for (int i = 0; i < argc; i++) {
        int r = dbio_find_server(db, argv[i], &ids[n_ids]);
        if (r < 0) {
            fprintf(stderr, "ntpmon-selector: looking up %s: %s\n", argv[i], db_error(db));
            goto fail;
        }
        if (r == 0) {
            fprintf(stderr, "ntpmon-selector: no server %s\n", argv[i]);
            status = 1;
            continue;
        }
        n_ids++;
    }
    struct dbio_stats_report rep;
    if (dbio_scan(db, &pool) < 0 ||
        dbio_load_stats(db, &pool, ids, n_ids, time_now_us(), cfg.stats_window_s, &rep) < 0) {
        fprintf(stderr, "ntpmon-selector: loading pairs and statistics: %s\n", db_error(db));
        goto fail;
    }
    bool all_due = argc == 0;
    for (size_t round = 0;; round++) {
        if (all_due) {
            int64_t *due = xcalloc((size_t)cfg.review_batch, sizeof *due);
            size_t n_due = 0, fresh = 0;
            if (dbio_due_servers(db, time_now_us(), cfg.review_batch, due, &n_due) < 0) {
                fprintf(stderr, "ntpmon-selector: finding due servers: %s\n", db_error(db));
                free(due);
                goto fail;
            }
            ids = xrealloc(ids, (n_ids + n_due + 1) * sizeof *ids);
            for (size_t i = 0; i < n_due; i++) {
                bool seen = false;
                for (size_t k = 0; k < n_ids; k++) seen |= ids[k] == due[i];
                if (!seen) ids[n_ids + fresh++] = due[i];
            }
            free(due);
            if (!fresh) break;
            if (dbio_load_stats(db, &pool, ids + n_ids, fresh, time_now_us(), cfg.stats_window_s, &rep) < 0) {
                fprintf(stderr, "ntpmon-selector: loading statistics: %s\n", db_error(db));
                goto fail;
            }
            n_ids += fresh;
        } else if (round > 0) {
            break;
        }
        for (size_t i = n_outs; i < n_ids; i++) {
            outs = xrealloc(outs, (n_outs + 1) * sizeof *outs);
            struct review_outcome *o = &outs[n_outs];
            enum review_status st = review_server(db, &pool, &cfg, ids[i], time_now_us(), true, o);
            if (st != REVIEW_OK) {
                fprintf(stderr, "ntpmon-selector: server %lld: %s\n", (long long)ids[i],
                        st == REVIEW_NO_SERVER ? "deleted" : db_error(db));
                status = 1;
                memset(o, 0, sizeof *o);
            } else {
                printf("server %lld %s: %zu change%s%s\n", (long long)ids[i], o->rows.ip, o->res.n_changes,
                       o->res.n_changes == 1 ? "" : "s", o->res.guard ? " (too few monitors with results)" : "");
                report_changes(stdout, o);
            }
            n_outs++;
        }
        if (!all_due) break;
    }
    /* Every monitor with a pair on a reviewed server gets its whole work list again (what it holds may be older
     * than these reviews when no daemon runs); the others are left alone. */
    for (size_t i = 0; i < pool.n_mon; i++) {
        pool.mon[i].sent = pool_work_hash(&pool, (uint32_t)i, &cfg);
        pool.mon[i].published = true;
    }
    for (size_t i = 0; i < n_outs; i++)
        for (size_t k = 0; k < outs[i].rows.n; k++) {
            uint32_t m = pool_monitor_by_id(&pool, outs[i].rows.pairs[k].monitor_id);
            if (m != IDMAP_NONE) pool.mon[m].published = false;
        }
    if (!no_publish && n_outs) once_publish(db, &pool, &cfg, outs, n_outs);
    if (0) {
fail:
        status = 1;
    }
    for (size_t i = 0; i < n_outs; i++) review_outcome_free(&outs[i]);
    free(outs);
    free(ids);
    pool_free(&pool);
    db_close(db);
    return status;
}

static int cmd_simulate(int argc, char **argv)
{
    if (argc != 1) opts_usage_error(&prog, "simulate takes one SERVER (id or address)");
    struct db *db = open_db();
    struct sel_settings cfg;
    load_settings(db, &cfg);
    struct pool pool;
    pool_init(&pool);
    struct review_outcome o = {0};
    int rc = 1;
    int64_t id, now = time_now_us();
    int r = dbio_find_server(db, argv[0], &id);
    if (r <= 0) {
        if (r < 0) fprintf(stderr, "ntpmon-selector: looking up %s: %s\n", argv[0], db_error(db));
        else fprintf(stderr, "ntpmon-selector: no server %s\n", argv[0]);
        goto done;
    }
    struct dbio_stats_report rep;
    if (dbio_scan(db, &pool) < 0 || dbio_load_stats(db, &pool, &id, 1, now, cfg.stats_window_s, &rep) < 0) {
        fprintf(stderr, "ntpmon-selector: loading pairs and statistics: %s\n", db_error(db));
        goto done;
    }
    enum review_status st = review_server(db, &pool, &cfg, id, now, false, &o);
    if (st != REVIEW_OK) {
        fprintf(stderr, "ntpmon-selector: server %s: %s\n", argv[0], st == REVIEW_NO_SERVER ? "deleted" : db_error(db));
        goto done;
    }
    report_table(stdout, &o, &cfg);
    printf("changes a review would make now (nothing is written):\n");
    report_changes(stdout, &o);
    rc = 0;
done:
    review_outcome_free(&o);
    pool_free(&pool);
    db_close(db);
    return rc;
}

static int cmd_settings(void)
{
    struct db *db = open_db();
    struct sel_settings cfg;
    load_settings(db, &cfg);
    char *json = sel_settings_to_json(&cfg);
    printf("%s\n\n", json);
    free(json);
    sel_settings_print_table();
    db_close(db);
    return 0;
}

int main(int argc, char **argv)
{
    const struct opt_spec *groups[] = {opts_common_specs(&common), opts_db_specs(&dbo), opts_mqtt_specs(&mqtto),
                                       opts_metrics_specs(&metricso), selector_specs, NULL};
    prog.groups = groups;
    int first = opts_parse(&prog, argc, argv);
    opts_common_apply(&prog, &common);
    if (settings_words.n) {
        char err[SEL_SETTINGS_ERR_LEN];
        overrides = sel_settings_from_words(settings_words.items, settings_words.n, err);
        if (!overrides) opts_usage_error(&prog, "%s", err);
        struct sel_settings check;
        if (sel_settings_parse(overrides, &check, err, NULL, 0) < 0) opts_usage_error(&prog, "%s", err);
    }
    const char *cmd = first < argc ? argv[first] : "run";
    int rest = first < argc ? first + 1 : argc;
    if (strcmp(cmd, "run") != 0 && log_get_level() == LOG_LEVEL_INFO) log_set_level(LOG_LEVEL_WARN); /* a CLI stays quiet */
    int rc;
    if (strcmp(cmd, "run") == 0) {
        if (rest != argc) opts_usage_error(&prog, "run takes no arguments");
        rc = cmd_run();
    } else if (strcmp(cmd, "once") == 0) {
        rc = cmd_once(argc - rest, argv + rest);
    } else if (strcmp(cmd, "simulate") == 0) {
        rc = cmd_simulate(argc - rest, argv + rest);
    } else if (strcmp(cmd, "settings") == 0) {
        rc = cmd_settings();
    } else {
        opts_usage_error(&prog, "unknown command '%s'", cmd);
    }
    free(overrides);
    free(settings_words.items);
    return rc;
}
