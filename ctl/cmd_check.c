/* cmd_check.c — `ntpmonctl check IP [--all] [--timeout S] [--table]`: the web UI's ad-hoc check over MQTT. It
 * learns the online monitors of the address's family from their retained status messages, asks them one by one
 * (400 ms apart) on requests/ntp with an MQTT 5 response topic and correlation data, stops after 3 healthy
 * answers unless --all, prints every answer, and exits 0 when any answer was healthy. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cmds.h"
#include "ctl.h"
#include "evloop.h"
#include "jwtpeek.h"
#include "log.h"
#include "mqtt.h"
#include "mqttreq.h"
#include "msg.h"
#include "netaddr.h"
#include "timeutil.h"
#include "xalloc.h"

static bool opt_all, opt_table;
static int64_t opt_timeout_us, opt_spacing_us, opt_discover_us, opt_want_healthy, opt_samples;

const struct opt_spec *cmd_check_specs(void)
{
    static const struct opt_spec specs[] = {
        {"all", 0, NULL, OPT_FLAG, &opt_all, NULL, 0, 0, NULL, "ask every online monitor, not just until 3 are healthy"},
        {"timeout", 0, NULL, OPT_DURATION, &opt_timeout_us, "10s", 0.1, 600, "S", "give up waiting for answers after S"},
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

struct asked {
    char name[MSG_NAME_MAX];
    bool asked, answered, healthy;
};

struct check {
    struct ctl_ctx *ctx;
    struct ctl_mqtt m;
    struct evloop *loop;
    struct mqtt_session *mqtt;
    const char *env;
    char ip[NETADDR_STRLEN];
    int family;
    const char *request_id;
    struct asked *mons;
    size_t n_mons, next;
    int healthy, answered;
    bool discovering, finished;
    struct evloop_timer discover_timer, ask_timer, deadline;
};

static struct asked *find(struct check *c, const char *name)
{
    for (size_t i = 0; i < c->n_mons; i++)
        if (strcmp(c->mons[i].name, name) == 0) return &c->mons[i];
    return NULL;
}

static bool all_answered(const struct check *c)
{
    for (size_t i = 0; i < c->n_mons; i++)
        if (c->mons[i].asked && !c->mons[i].answered) return false;
    return true;
}

static void done(struct check *c)
{
    c->finished = true;
    evloop_stop(c->loop);
}

static void maybe_done(struct check *c)
{
    bool enough = !opt_all && c->healthy >= opt_want_healthy;
    if ((enough || c->next >= c->n_mons) && all_answered(c)) done(c);
}

static void print_answer(const char *monitor, const struct msg_result *r, const char *error)
{
    if (opt_table) {
        if (error) printf("%-20s %-8s %s\n", monitor, "error", error);
        else {
            char off[48] = "-", rtt[48] = "-";
            if (r->has_offset) msg_format_number(r->offset, off);
            if (r->has_rtt) msg_format_number(r->rtt, rtt);
            printf("%-20s %-8s offset=%s rtt=%s stratum=%d leap=%d refid=%s%s%s\n", monitor,
                   r->error[0] ? "bad" : "ok", off, rtt, r->stratum, r->leap, r->refid, r->error[0] ? " error=" : "",
                   r->error);
        }
    } else if (error) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "monitor", json_object_new_string(monitor));
        json_object_object_add(o, "error", json_object_new_string(error));
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    } else {
        char *enc = msg_result_encode(r);
        printf("%s\n", enc ? enc : "{}");
        free(enc);
    }
    fflush(stdout);
}

static void on_message(struct mqtt_session *s, const struct mosquitto_message *m, const mosquitto_property *props,
                       void *arg)
{
    (void)s;
    (void)props;
    struct check *c = arg;
    struct msg_topic t;
    enum msg_topic_kind kind = msg_topic_parse(c->env, m->topic, &t);
    if (kind == MSG_TOPIC_MONITOR_STATUS && c->discovering) {
        struct msg_monitor_status st;
        char err[MSG_ERR_LEN];
        if (msg_monitor_status_decode(m->payload, (size_t)m->payloadlen, &st, err) < 0) return;
        bool serves = st.online && (c->family == 4 ? st.ipv4 : st.ipv6);
        struct asked *a = find(c, t.monitor);
        if (serves && !a) {
            c->mons = xrealloc(c->mons, (c->n_mons + 1) * sizeof *c->mons);
            memset(&c->mons[c->n_mons], 0, sizeof c->mons[0]);
            snprintf(c->mons[c->n_mons++].name, MSG_NAME_MAX, "%s", t.monitor);
        } else if (!serves && a) {
            *a = c->mons[--c->n_mons];
        }
        return;
    }
    if (kind != MSG_TOPIC_RESPONSE || strcmp(t.request_id, c->request_id) != 0) return;
    struct asked *a = find(c, t.monitor);
    if (!a || a->answered) return;
    a->answered = true;
    c->answered++;
    char error[MSG_ERROR_MAX];
    struct msg_result r;
    char err[MSG_ERR_LEN];
    if (msg_error_decode(m->payload, (size_t)m->payloadlen, error, sizeof error)) {
        print_answer(t.monitor, NULL, error);
    } else if (msg_result_decode(m->payload, (size_t)m->payloadlen, &r, err) < 0) {
        char why[MSG_ERR_LEN + 32];
        snprintf(why, sizeof why, "unreadable answer: %s", err);
        print_answer(t.monitor, NULL, why);
    } else {
        a->healthy = r.error[0] == '\0' && r.leap != 3 && r.stratum >= 1 && r.stratum <= 7;
        if (a->healthy) c->healthy++;
        print_answer(t.monitor, &r, NULL);
    }
    maybe_done(c);
}

static void ask_next(struct evloop *loop, void *arg)
{
    struct check *c = arg;
    if (!opt_all && c->healthy >= opt_want_healthy) {
        maybe_done(c);
        return;
    }
    if (c->next >= c->n_mons) {
        maybe_done(c);
        return;
    }
    struct asked *a = &c->mons[c->next++];
    struct msg_ntp_request body = {.samples = (int)opt_samples};
    snprintf(body.ip, sizeof body.ip, "%s", c->ip);
    char *payload = msg_ntp_request_encode(&body);
    if (ctl_mqtt_ask(c->ctx, &c->m, MSG_TOPIC_REQUEST_NTP, a->name, payload))
        a->asked = true;
    else
        print_answer(a->name, NULL, "could not send the request");
    free(payload);
    evloop_timer_start(loop, &c->ask_timer, opt_spacing_us);
}

static void on_discovered(struct evloop *loop, void *arg)
{
    struct check *c = arg;
    c->discovering = false;
    if (c->n_mons == 0) {
        fprintf(stderr, "ntpmonctl: no online monitor serves IPv%d in env %s\n", c->family, c->env);
        done(c);
        return;
    }
    /* A random order spreads ad-hoc load over the monitors. */
    for (size_t i = c->n_mons; i > 1; i--) {
        uint32_t r = 0;
        if (getrandom(&r, sizeof r, 0) < 0) r = 0;
        size_t j = r % i;
        struct asked tmp = c->mons[i - 1];
        c->mons[i - 1] = c->mons[j];
        c->mons[j] = tmp;
    }
    ask_next(loop, c);
}

static void on_connect(struct mqtt_session *s, bool present, void *arg)
{
    (void)s;
    (void)present;
    struct check *c = arg;
    if (!evloop_timer_active(&c->discover_timer) && c->discovering)
        evloop_timer_start(c->loop, &c->discover_timer, opt_discover_us);
}

static void on_deadline(struct evloop *loop, void *arg)
{
    (void)loop;
    struct check *c = arg;
    if (!mqtt_session_connected(c->mqtt) && c->discovering) fprintf(stderr, "ntpmonctl: could not reach the broker\n");
    for (size_t i = 0; i < c->n_mons; i++)
        if (c->mons[i].asked && !c->mons[i].answered) print_answer(c->mons[i].name, NULL, "no answer (timeout)");
    done(c);
}

int cmd_check(struct ctl_ctx *ctx, int argc, char **argv)
{
    if (argc != 1) return ctl_fail("usage: check IP [--all] [--timeout S] [--table]");
    struct netaddr addr;
    if (netaddr_parse(argv[0], &addr) < 0) return ctl_fail("invalid IP address '%s'", argv[0]);
    static struct check c;
    c.ctx = ctx;
    c.env = ctx->common.env;
    netaddr_format(&addr, c.ip);
    c.family = netaddr_version(&addr);
    c.discovering = true;
    struct mqtt_handlers h = {.on_connect = on_connect, .on_message = on_message};
    int rc = ctl_mqtt_open(ctx, "check", &h, &c, &c.m);
    if (rc) return rc;
    c.loop = c.m.loop;
    c.mqtt = c.m.mqtt;
    c.request_id = c.m.request_id;
    char filter[MSG_TOPIC_MAX];
    msg_filter_monitor_statuses(filter, sizeof filter, c.env);
    mqtt_session_subscribe(c.mqtt, filter, 1);
    evloop_timer_init(&c.discover_timer, on_discovered, &c);
    evloop_timer_init(&c.ask_timer, ask_next, &c);
    evloop_timer_init(&c.deadline, on_deadline, &c);
    evloop_timer_start(c.loop, &c.deadline, opt_timeout_us);
    if (opt_table) printf("%-20s %-8s %s\n", "monitor", "answer", "details");
    mqtt_session_start(c.mqtt);
    evloop_run(c.loop);
    ctl_mqtt_close(&c.m);
    free(c.mons);
    return c.healthy > 0 ? 0 : 1;
}
