/* cmd_check.c — `ntpmonctl check IP [--all] [--timeout S] [--table]`: the web UI's ad-hoc check from a shell. On the
 * session ctl/mqttreq opens (shared with trace) it collects the monitors' retained status messages for a moment,
 * then runs common/check (the pool's semantics, the same code as ntpmon-web), prints every answer as it arrives,
 * and exits 0 when any answer was healthy. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cmds.h"
#include "ctl.h"
#include "evloop.h"
#include "log.h"
#include "mqtt.h"
#include "mqttreq.h"
#include "msg.h"
#include "netaddr.h"
#include "timeutil.h"

static bool opt_all, opt_table;
static int64_t opt_timeout_us, opt_spacing_us, opt_discover_us, opt_want_healthy, opt_samples;

const struct opt_spec *cmd_check_specs(void)
{
    static const struct opt_spec specs[] = {
        {"all", 0, NULL, OPT_FLAG, &opt_all, NULL, 0, 0, NULL, "ask every online monitor, not just until 3 are healthy"},
        {"timeout", 0, NULL, OPT_DURATION, &opt_timeout_us, "8s", 0.1, 600, "S", "give up waiting for answers after S"},
        {"table", 0, NULL, OPT_FLAG, &opt_table, NULL, 0, 0, NULL, "print a table instead of JSON lines"},
        {"spacing", 0, NULL, OPT_DURATION, &opt_spacing_us, "400ms", 0, 60, "S", "time between two requests"},
        {"discover", 0, NULL, OPT_DURATION, &opt_discover_us, "500ms", 0.05, 60, "S",
         "how long to collect the monitors' retained status messages"},
        {"healthy", 0, NULL, OPT_INT, &opt_want_healthy, "3", 1, 1000, "N", "stop after N healthy answers"},
        {"samples", 0, NULL, OPT_INT, &opt_samples, "1", 1, MSG_REQUEST_MAX_SAMPLES, "N", "queries per monitor"},
        {0},
    };
    return specs;
}

struct run {
    struct ctl_mqtt m;
    struct evloop *loop;
    struct mqtt_session *mqtt;
    const char *env;
    char ip[NETADDR_STRLEN];
    struct check_roster roster;
    struct check *check;
    bool discovering;
    int healthy;
    struct evloop_timer discover_timer, deadline;
};

static void print_answer(const struct check_answer *a)
{
    const struct msg_result *r = a->result;
    if (opt_table) {
        if (!r) {
            printf("%-20s %-8s %s\n", a->monitor, "error", a->error);
        } else {
            char off[48] = "-", rtt[48] = "-";
            if (r->has_offset) msg_format_number(r->offset, off);
            if (r->has_rtt) msg_format_number(r->rtt, rtt);
            printf("%-20s %-8s offset=%s rtt=%s stratum=%d leap=%d refid=%s%s%s\n", a->monitor,
                   a->healthy ? "ok" : "bad", off, rtt, r->stratum, r->leap, r->refid, r->error[0] ? " error=" : "",
                   r->error);
        }
    } else if (!r) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "monitor", json_object_new_string(a->monitor));
        json_object_object_add(o, "error", json_object_new_string(a->error));
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    } else {
        char *enc = msg_result_encode(r);
        printf("%s\n", enc ? enc : "{}");
        free(enc);
    }
    fflush(stdout);
}

static void on_answer(struct check *c, const struct check_answer *a, void *arg)
{
    (void)c;
    struct run *run = arg;
    if (a->healthy) run->healthy++;
    print_answer(a);
}

static void on_done(struct check *c, void *arg)
{
    (void)c;
    evloop_stop(((struct run *)arg)->loop);
}

static void on_message(struct mqtt_session *s, const struct mosquitto_message *m, const mosquitto_property *props,
                       void *arg)
{
    (void)s;
    (void)props;
    struct run *run = arg;
    struct msg_topic t;
    enum msg_topic_kind kind = msg_topic_parse(run->env, m->topic, &t);
    if (kind == MSG_TOPIC_MONITOR_STATUS && run->discovering) {
        char err[MSG_ERR_LEN];
        check_roster_update(&run->roster, t.monitor, m->payload, (size_t)m->payloadlen, time_now_us(), err);
    } else if (kind == MSG_TOPIC_RESPONSE && run->check) {
        check_response(run->check, t.monitor, t.request_id, m->payload, (size_t)m->payloadlen);
    }
}

static void on_discovered(struct evloop *loop, void *arg)
{
    struct run *run = arg;
    run->discovering = false;
    struct check_params p;
    check_params_default(&p);
    p.all = opt_all;
    p.want_healthy = (int)opt_want_healthy;
    p.samples = (int)opt_samples;
    p.spacing_us = opt_spacing_us;
    /* the deadline counts from the command's start, discovery included */
    p.deadline_us = opt_timeout_us - opt_discover_us > 100000 ? opt_timeout_us - opt_discover_us : 100000;
    struct check_handlers h = {.on_answer = on_answer, .on_done = on_done};
    char err[160];
    run->check = check_start(loop, run->mqtt, run->env, &run->roster, run->ip, run->m.request_id, &p, &h, run, err,
                             sizeof err);
    if (!run->check) {
        fprintf(stderr, "ntpmonctl: %s in env %s\n", err, run->env);
        evloop_stop(loop);
    }
}

static void on_connect(struct mqtt_session *s, bool present, void *arg)
{
    (void)s;
    (void)present;
    struct run *run = arg;
    if (run->discovering && !evloop_timer_active(&run->discover_timer))
        evloop_timer_start(run->loop, &run->discover_timer, opt_discover_us);
}

static void on_deadline(struct evloop *loop, void *arg)
{
    struct run *run = arg;
    if (run->discovering) {
        fprintf(stderr, "ntpmonctl: could not reach the broker\n");
        evloop_stop(loop);
    }
    /* otherwise the check's own deadline ends it */
}

int cmd_check(struct ctl_ctx *ctx, int argc, char **argv)
{
    if (argc != 1) return ctl_fail("usage: check IP [--all] [--timeout S] [--table]");
    struct netaddr addr;
    if (netaddr_parse(argv[0], &addr) < 0) return ctl_fail("invalid IP address '%s'", argv[0]);
    static struct run run;
    run.env = ctx->common.env;
    netaddr_format(&addr, run.ip);
    run.discovering = true;
    struct mqtt_handlers h = {.on_connect = on_connect, .on_message = on_message};
    int rc = ctl_mqtt_open(ctx, "check", &h, &run, &run.m);
    if (rc) return rc;
    run.loop = run.m.loop;
    run.mqtt = run.m.mqtt;
    char filter[MSG_TOPIC_MAX];
    msg_filter_monitor_statuses(filter, sizeof filter, run.env);
    mqtt_session_subscribe(run.mqtt, filter, 1);
    evloop_timer_init(&run.discover_timer, on_discovered, &run);
    evloop_timer_init(&run.deadline, on_deadline, &run);
    evloop_timer_start(run.loop, &run.deadline, opt_timeout_us);
    if (opt_table) printf("%-20s %-8s %s\n", "monitor", "answer", "details");
    mqtt_session_start(run.mqtt);
    evloop_run(run.loop);
    check_free(run.check);
    ctl_mqtt_close(&run.m);
    check_roster_free(&run.roster);
    return run.healthy > 0 ? 0 : 1;
}
