/* cmd_trace.c — `ntpmonctl trace IP [--monitor N]…`: asks monitors over MQTT (requests/traceroute, MQTT 5 response
 * topic + correlation data, as `check` does) to trace the path to IP now and prints each answer like traceroute(8)
 * (or the trace messages with --json); without --monitor every online monitor of the address's family is asked.
 * `ntpmonctl trace show IP|ID|TRACE-ULID [--monitor N] [--limit N]` prints stored traces (table traceroutes),
 * newest first, the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "ctl.h"
#include "mqttreq.h"
#include "msg.h"
#include "netaddr.h"
#include "timeutil.h"
#include "ulid.h"
#include "xalloc.h"

static struct opt_list opt_monitors;
static bool opt_json;
static int64_t opt_timeout_us, opt_discover_us, opt_limit, opt_server_id;

const struct opt_spec *cmd_trace_specs(void)
{
    static const struct opt_spec specs[] = {
        {"monitor", 0, NULL, OPT_LIST, &opt_monitors, NULL, 0, 0, "NAME…",
         "trace: ask these monitors (default: every online monitor of the family); show: one monitor (name or id)"},
        {"json", 0, NULL, OPT_FLAG, &opt_json, NULL, 0, 0, NULL, "print the trace messages as JSON lines"},
        {"timeout", 0, NULL, OPT_DURATION, &opt_timeout_us, "60s", 0.1, 3600, "S", "trace: give up waiting after S"},
        {"discover", 0, NULL, OPT_DURATION, &opt_discover_us, "500ms", 0.05, 60, "S",
         "trace: how long to collect the monitors' retained status messages"},
        {"server-id", 0, NULL, OPT_INT, &opt_server_id, NULL, 1, 9007199254740991.0, "ID",
         "trace: the server's id, so the trace is also published and stored (monitors that have the address in "
         "their work list find it themselves)"},
        {"limit", 0, NULL, OPT_INT, &opt_limit, "10", 1, 100000, "N", "show: at most N traces (newest first)"},
        {0},
    };
    return specs;
}

/* ---- traceroute(8)-style text ---- */

static void print_trace(const char *monitor, const struct msg_trace *t)
{
    if (opt_json) {
        char *json = msg_trace_encode(t);
        printf("%s\n", json ? json : "{}");
        free(json);
        fflush(stdout);
        return;
    }
    char ts[TIME_RFC3339_LEN];
    time_format_rfc3339(t->ts_us, ts);
    size_t probes = 3; /* stars for the probes that got no answer: as many as the busiest hop had */
    for (size_t i = 0; i < t->n_hops; i++)
        if (t->hops[i].n_rtt > probes) probes = t->hops[i].n_rtt;
    printf("traceroute from %s to %s port %d, %s (%s%s%s): %s after %zu hop%s\n", monitor, t->ip, t->port, ts,
           msg_trace_trigger_str(t->trigger), t->id[0] ? ", trace " : "", t->id, t->reached ? "reached" : "not reached",
           t->n_hops, t->n_hops == 1 ? "" : "s");
    for (size_t i = 0; i < t->n_hops; i++) {
        const struct msg_trace_hop *h = &t->hops[i];
        printf("%2d  ", h->ttl);
        if (!h->has_addr) {
            for (size_t k = 0; k < probes; k++) printf("%s*", k ? " " : "");
            printf("\n");
            continue;
        }
        printf("%s", h->addr);
        for (size_t k = 0; k < probes; k++) {
            if (k < h->n_rtt) printf("  %.3f ms", h->rtt[k] * 1e3);
            else printf("  *");
        }
        printf("\n");
    }
    fflush(stdout);
}

/* ---- trace IP: live, over MQTT ---- */

struct asked {
    char name[MSG_NAME_MAX];
    bool asked, answered;
};

struct live {
    struct ctl_ctx *ctx;
    struct ctl_mqtt m;
    char body[256];
    int family;
    struct asked *mons;
    size_t n_mons;
    int traces, answers;
    bool discovering;
    struct evloop_timer discover_timer, deadline;
};

static struct asked *find(struct live *c, const char *name)
{
    for (size_t i = 0; i < c->n_mons; i++)
        if (strcmp(c->mons[i].name, name) == 0) return &c->mons[i];
    return NULL;
}

static void add_monitor(struct live *c, const char *name)
{
    if (find(c, name)) return;
    c->mons = xrealloc(c->mons, (c->n_mons + 1) * sizeof *c->mons);
    memset(&c->mons[c->n_mons], 0, sizeof c->mons[0]);
    snprintf(c->mons[c->n_mons++].name, MSG_NAME_MAX, "%s", name);
}

static void maybe_done(struct live *c)
{
    for (size_t i = 0; i < c->n_mons; i++)
        if (c->mons[i].asked && !c->mons[i].answered) return;
    evloop_stop(c->m.loop);
}

static void ask_all(struct live *c)
{
    c->discovering = false;
    if (c->n_mons == 0) {
        fprintf(stderr, "ntpmonctl: no online monitor serves IPv%d in env %s\n", c->family, c->ctx->common.env);
        evloop_stop(c->m.loop);
        return;
    }
    for (size_t i = 0; i < c->n_mons; i++) {
        c->mons[i].asked = ctl_mqtt_ask(c->ctx, &c->m, MSG_TOPIC_REQUEST_TRACEROUTE, c->mons[i].name, c->body);
        if (!c->mons[i].asked) fprintf(stderr, "ntpmonctl: could not send the request to %s\n", c->mons[i].name);
    }
    maybe_done(c);
}

static void on_discovered(struct evloop *loop, void *arg)
{
    (void)loop;
    ask_all(arg);
}

static void on_message(struct mqtt_session *s, const struct mosquitto_message *m, const mosquitto_property *props,
                       void *arg)
{
    (void)s;
    (void)props;
    struct live *c = arg;
    struct msg_topic t;
    const char *env = c->ctx->common.env;
    enum msg_topic_kind kind = msg_topic_parse(env, m->topic, &t);
    size_t len = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
    if (kind == MSG_TOPIC_MONITOR_STATUS && c->discovering) {
        struct msg_monitor_status st;
        char err[MSG_ERR_LEN];
        if (msg_monitor_status_decode(m->payload, len, &st, err) == 0 && st.online &&
            (c->family == 4 ? st.ipv4 : st.ipv6))
            add_monitor(c, t.monitor);
        return;
    }
    if (kind != MSG_TOPIC_RESPONSE || strcmp(t.request_id, c->m.request_id) != 0) return;
    struct asked *a = find(c, t.monitor);
    if (!a || a->answered) return;
    a->answered = true;
    c->answers++;
    char error[MSG_ERROR_MAX], err[MSG_ERR_LEN];
    struct msg_trace *tr = xcalloc(1, sizeof *tr);
    if (msg_error_decode(m->payload, len, error, sizeof error)) {
        fprintf(opt_json ? stderr : stdout, "%s: refused: %s\n", t.monitor, error);
    } else if (msg_trace_decode(m->payload, len, tr, err) < 0) {
        fprintf(stderr, "ntpmonctl: %s: unreadable answer: %s\n", t.monitor, err);
    } else {
        c->traces++;
        print_trace(t.monitor, tr);
    }
    free(tr);
    maybe_done(c);
}

static void on_connect(struct mqtt_session *s, bool present, void *arg)
{
    (void)s;
    (void)present;
    struct live *c = arg;
    if (!c->discovering || evloop_timer_active(&c->discover_timer)) return;
    if (opt_monitors.n > 0) ask_all(c); /* named monitors: no discovery */
    else evloop_timer_start(c->m.loop, &c->discover_timer, opt_discover_us);
}

static void on_deadline(struct evloop *loop, void *arg)
{
    struct live *c = arg;
    if (c->discovering) fprintf(stderr, "ntpmonctl: could not reach the broker\n");
    for (size_t i = 0; i < c->n_mons; i++)
        if (c->mons[i].asked && !c->mons[i].answered) fprintf(stderr, "ntpmonctl: %s: no answer (timeout)\n", c->mons[i].name);
    evloop_stop(loop);
}

int cmd_trace(struct ctl_ctx *ctx, int argc, char **argv)
{
    if (argc != 1) return ctl_fail("usage: trace IP [--monitor NAME…] [--json] [--timeout S]");
    struct netaddr addr;
    if (netaddr_parse(argv[0], &addr) < 0) return ctl_fail("invalid IP address '%s'", argv[0]);
    static struct live c;
    c.ctx = ctx;
    c.family = netaddr_version(&addr);
    c.discovering = true;
    struct msg_traceroute_request req = {.trigger = MSG_TRIGGER_REQUEST, .has_server_id = opt_server_id > 0,
                                         .server_id = opt_server_id};
    netaddr_format(&addr, req.ip);
    char *body = msg_traceroute_request_encode(&req);
    snprintf(c.body, sizeof c.body, "%s", body ? body : "");
    free(body);
    for (size_t i = 0; i < opt_monitors.n; i++) {
        if (!msg_name_is_valid(opt_monitors.items[i])) return ctl_fail("invalid monitor name '%s'", opt_monitors.items[i]);
        add_monitor(&c, opt_monitors.items[i]);
    }
    struct mqtt_handlers h = {.on_connect = on_connect, .on_message = on_message};
    int rc = ctl_mqtt_open(ctx, "trace", &h, &c, &c.m);
    if (rc) return rc;
    if (opt_monitors.n == 0) {
        char filter[MSG_TOPIC_MAX];
        msg_filter_monitor_statuses(filter, sizeof filter, ctx->common.env);
        mqtt_session_subscribe(c.m.mqtt, filter, 1);
    }
    evloop_timer_init(&c.discover_timer, on_discovered, &c);
    evloop_timer_init(&c.deadline, on_deadline, &c);
    evloop_timer_start(c.m.loop, &c.deadline, opt_timeout_us);
    mqtt_session_start(c.m.mqtt);
    evloop_run(c.m.loop);
    ctl_mqtt_close(&c.m);
    free(c.mons);
    return c.traces > 0 ? 0 : 1;
}

/* ---- trace show: stored traces ---- */

static int print_row(void *arg, const struct db_row *row)
{
    int *shown = arg;
    struct msg_trace *t = xcalloc(1, sizeof *t);
    t->v = 1;
    snprintf(t->id, sizeof t->id, "%s", db_row_str(row, 0));
    snprintf(t->monitor, sizeof t->monitor, "%s", db_row_str(row, 1));
    t->has_server_id = true;
    t->server_id = db_row_int(row, 2);
    t->ts_us = db_row_time_us(row, 3);
    snprintf(t->ip, sizeof t->ip, "%s", db_row_str(row, 4));
    t->port = (int)db_row_int(row, 5);
    t->trigger = msg_trace_trigger_parse(db_row_str(row, 6));
    t->reached = db_row_int(row, 7) != 0;
    const char *hops = db_row_str(row, 8);
    snprintf(t->agent, sizeof t->agent, "%s", db_row_str(row, 9));
    char err[MSG_ERR_LEN];
    if (msg_trace_hops_decode(hops, strlen(hops), t, err) < 0)
        fprintf(stderr, "ntpmonctl: trace %s: unreadable hops: %s\n", t->id, err);
    if (*shown && !opt_json) printf("\n");
    print_trace(t->monitor, t);
    (*shown)++;
    free(t);
    return 0;
}

int cmd_trace_show(struct ctl_ctx *ctx, int argc, char **argv)
{
    if (argc != 1) return ctl_fail("usage: trace show IP|ID|TRACE-ULID [--monitor NAME] [--limit N]");
    if (opt_monitors.n > 1) return ctl_fail("trace show takes one --monitor");
    struct db *db = ctl_db(ctx);
    static const char head[] = "SELECT t.id, IFNULL(m.name, ''), t.server_id, t.ts, t.ip, t.port, t.`trigger`, "
                               "t.reached, t.hops, t.agent FROM traceroutes t LEFT JOIN monitors m ON m.id = t.monitor_id";
    char sql[sizeof head + 128];
    struct db_param p[3];
    size_t n = 0;
    char id[ULID_LEN + 1];
    if (strlen(argv[0]) == ULID_LEN && ulid_is_valid(argv[0])) {
        for (int i = 0; i < ULID_LEN; i++) id[i] = (char)(argv[0][i] >= 'a' && argv[0][i] <= 'z' ? argv[0][i] - 32 : argv[0][i]);
        id[ULID_LEN] = '\0';
        snprintf(sql, sizeof sql, "%s WHERE t.id = ?", head);
        p[n++] = DB_STRN(id, ULID_LEN);
    } else {
        int64_t server_id, monitor_id = 0;
        int rc = ctl_find_server(ctx, argv[0], &server_id);
        if (rc) return rc;
        if (opt_monitors.n == 1 && (rc = ctl_find_monitor(ctx, opt_monitors.items[0], &monitor_id)) != 0) return rc;
        snprintf(sql, sizeof sql, "%s WHERE t.server_id = ?%s ORDER BY t.ts DESC, t.id DESC LIMIT ?", head,
                 monitor_id ? " AND t.monitor_id = ?" : "");
        p[n++] = DB_INT(server_id);
        if (monitor_id) p[n++] = DB_INT(monitor_id);
        p[n++] = DB_INT(opt_limit);
    }
    int shown = 0;
    int rc = db_query(db, sql, p, n, print_row, &shown);
    if (rc < 0) return ctl_db_fail(ctx, "reading traces");
    if (shown == 0) return ctl_fail("no stored trace for %s", argv[0]);
    return fflush(stdout) == 0 ? 0 : ctl_fail("writing failed");
}
