/* api.c — routing and the endpoints of ntpmon-web (see api.h). Everything that touches the database runs as a
 * dbq job (the request waits deferred); the history job also renders the body on the worker thread, through the
 * same common/history query and common/scorelog writer `ntpmonctl log` uses, so the CSV is the same bytes. */
#include "api.h"

#include <ctype.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assets.h"
#include "history.h"
#include "log.h"
#include "metrics.h"
#include "netaddr.h"
#include "scorelog.h"
#include "timeutil.h"
#include "xalloc.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define PAGE_CSP "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; " \
                 "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

struct api {
    struct api_config cfg;
    struct evloop *loop;
    struct live *live;
    struct dbq *db;
    struct streams *streams;
    struct checks *checks;
    struct bucket global_check;
    struct {
        struct metric *limited, *forbidden, *cached, *bad;
    } m;
};

/* ---- small helpers ---- */

static bool is_get(const char *m) { return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0; }

static const char *after(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

static void public_cors(struct http_req *r) { http_add_header(r, "Access-Control-Allow-Origin", "*"); }

static void method_not_allowed(struct http_req *r, const char *allow)
{
    http_add_header(r, "Allow", allow);
    http_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method %s not allowed here (allowed: %s)", http_method(r), allow);
}

static void too_many(struct api *a, struct http_req *r, int64_t wait_us, const char *why)
{
    char ra[24];
    int64_t secs = (wait_us + 999999) / 1000000;
    snprintf(ra, sizeof ra, "%lld", (long long)(secs < 1 ? 1 : secs));
    http_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    metric_inc(a->m.limited);
    http_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "%s; retry in %s s", why, ra);
}

/* strconv.ParseBool's spellings, as the pool reads all=… */
static int parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *no[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(s, yes[i]) == 0) return *out = true, 0;
        if (strcmp(s, no[i]) == 0) return *out = false, 0;
    }
    return -1;
}

/* An IP literal (canonical text out), or a positive id. 0 address, 1 id, -1 neither. */
static int parse_server_arg(const char *text, char ip[NETADDR_STRLEN], int64_t *id)
{
    struct netaddr a;
    if (strlen(text) < NETADDR_STRLEN && netaddr_parse(text, &a) == 0) {
        netaddr_format(&a, ip);
        return 0;
    }
    if (!*text || strlen(text) > 16) return -1;
    for (const char *p = text; *p; p++)
        if (!isdigit((unsigned char)*p)) return -1;
    *id = strtoll(text, NULL, 10);
    return *id >= 1 && *id <= MSG_MAX_SERVER_ID ? 1 : -1;
}

static json_object *time_or_null(bool has, int64_t us)
{
    if (!has) return json_object_new_null();
    char t[TIME_RFC3339_LEN];
    time_format_rfc3339(us, t);
    return json_object_new_string(t);
}

static json_object *names_array(const char *list)
{
    json_object *arr = json_object_new_array();
    if (!list) return arr;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        json_object_array_add(arr, json_object_new_string_len(p, (int)n));
        p += n;
        if (*p == ',') p++;
    }
    return arr;
}

/* ---- the page, /healthz, /metrics ---- */

static void serve_asset(struct http_req *r, const struct web_asset *as)
{
    const char *inm = http_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
    http_add_header(r, MHD_HTTP_HEADER_ETAG, as->etag);
    http_add_header(r, "Cache-Control", "no-cache");
    if (strncmp(as->content_type, "text/html", 9) == 0) {
        http_add_header(r, "Content-Security-Policy", PAGE_CSP);
        http_add_header(r, "Referrer-Policy", "no-referrer");
        http_add_header(r, "X-Frame-Options", "DENY");
    }
    if (inm && strstr(inm, as->etag)) {
        http_respond(r, MHD_HTTP_NOT_MODIFIED, NULL, "", 0, HTTP_STATIC);
        return;
    }
    http_respond(r, MHD_HTTP_OK, as->content_type, as->data, as->len, HTTP_STATIC);
}

static bool route_page(struct http_req *r, const char *path)
{
    const struct web_asset *as = NULL;
    const char *name;
    if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0 || strcmp(path, "/check") == 0 ||
        ((name = after(path, "/scores/")) && *name && !strchr(name, '/')))
        as = web_asset_find("index.html");
    else if ((name = after(path, "/assets/")) && *name && !strchr(name, '/') && strcmp(name, "index.html") != 0)
        as = web_asset_find(name);
    if (!as) return false;
    if (!is_get(http_method(r))) method_not_allowed(r, "GET, HEAD");
    else serve_asset(r, as);
    return true;
}

bool api_health(const struct api *a, bool draining, char *reason, size_t len)
{
    char broker[200], db[DBQ_ERR_LEN];
    size_t n = 0;
    reason[0] = '\0';
    if (draining) n += (size_t)snprintf(reason, len, "shutting down");
    if (n < len && !live_broker_up(a->live, broker, sizeof broker))
        n += (size_t)snprintf(reason + n, len - n, "%sbroker: %s", n ? "; " : "", broker);
    if (n < len && !dbq_healthy(a->db, db, sizeof db))
        snprintf(reason + n, len - n, "%sdatabase: %s", n ? "; " : "", db);
    return reason[0] == '\0';
}

/* Fresh on every request (the --metrics-listen copy is refreshed every second). */
static void serve_health(struct api *a, struct http_req *r)
{
    char reason[API_HEALTH_LEN], body[API_HEALTH_LEN + 16];
    bool ok = api_health(a, http_quiescing(r), reason, sizeof reason);
    if (ok) snprintf(body, sizeof body, "ok\n");
    else snprintf(body, sizeof body, "unhealthy: %s\n", reason);
    http_respond(r, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", body,
                 strlen(body), HTTP_COPY);
}

static void serve_metrics(struct http_req *r)
{
    char *text = metrics_render();
    if (!text) {
        http_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    http_respond(r, MHD_HTTP_OK, "text/plain; version=0.0.4", text, strlen(text), HTTP_TAKE);
}

/* ---- GET /api/monitors/online, GET /api/servers ---- */

static void serve_monitors(struct api *a, struct http_req *r)
{
    char why[200];
    if (!live_broker_up(a->live, why, sizeof why)) {
        http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "broker unavailable: %s", why);
        return;
    }
    const struct check_roster *ro = live_roster(a->live);
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < ro->n; i++) {
        const struct check_monitor *m = &ro->m[i];
        if (!m->status.online) continue;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(m->name));
        json_object_object_add(o, "ipv4", json_object_new_boolean(m->status.ipv4));
        json_object_object_add(o, "ipv6", json_object_new_boolean(m->status.ipv6));
        json_object_object_add(o, "version", json_object_new_string(m->status.version));
        json_object *clock =
            m->status.clock_ok < 0 ? json_object_new_null() : json_object_new_boolean(m->status.clock_ok);
        json_object_object_add(o, "clock_ok", clock);
        json_object_object_add(o, "ts", time_or_null(m->status.ts_us != 0, m->status.ts_us));
        json_object_object_add(o, "last_seen", time_or_null(true, m->seen_us));
        json_object_array_add(arr, o);
    }
    public_cors(r);
    http_json(r, MHD_HTTP_OK, arr);
}

static void serve_servers(struct api *a, struct http_req *r)
{
    if (!live_directory_loaded(a->live)) {
        char why[DBQ_ERR_LEN];
        dbq_healthy(a->db, why, sizeof why);
        http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "server list not loaded yet%s%s", why[0] ? ": " : "", why);
        return;
    }
    size_t n;
    const struct live_server *v = live_servers(a->live, &n);
    json_object *arr = json_object_new_array_ext((int)n);
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_int64(v[i].id));
        json_object_object_add(o, "ip", json_object_new_string(v[i].ip));
        json_object_object_add(o, "score", v[i].has_score ? msg_json_number(v[i].score) : json_object_new_null());
        json_object_object_add(o, "score_ts", time_or_null(v[i].has_score, v[i].score_ts_us));
        json_object_object_add(o, "in_pool", json_object_new_boolean(v[i].in_pool));
        json_object_object_add(o, "active", names_array(v[i].active));
        json_object_object_add(o, "testing", names_array(v[i].testing));
        json_object_array_add(arr, o);
    }
    public_cors(r);
    http_json(r, MHD_HTTP_OK, arr);
}

/* ---- GET /api/server/scores/{ip|id}/json|log ---- */

struct hist_monitor {
    int64_t id;
    char name[MSG_NAME_MAX];
};

struct history_job {
    struct http_req *r;
    bool csv;
    char server[NETADDR_STRLEN];
    char monitor[MSG_NAME_MAX];
    struct history_query q;
    /* filled on the worker */
    unsigned status;
    char *body;
    size_t len;
    char why[160];
    char ip[MSG_IP_MAX];
    json_object *history;
    FILE *csv_out;
    struct hist_monitor *mons;
    size_t n_mons;
};

static int take_text(void *arg, const struct db_row *row)
{
    snprintf(arg, MSG_IP_MAX, "%s", db_row_str(row, 0));
    return 1;
}

static int csv_row(void *arg, const struct scorelog_row *row)
{
    struct history_job *j = arg;
    scorelog_csv_row(j->csv_out, row);
    return 0;
}

static int json_row(void *arg, const struct scorelog_row *row)
{
    struct history_job *j = arg;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ts", json_object_new_int64(row->ts_us >= 0 ? row->ts_us / 1000000
                                                                           : -((-row->ts_us + 999999) / 1000000)));
    if (row->has_offset) json_object_object_add(o, "offset", msg_json_number(row->offset));
    json_object_object_add(o, "step", msg_json_number(row->step));
    json_object_object_add(o, "score", msg_json_number(row->score));
    json_object_object_add(o, "monitor_id", json_object_new_int64(row->monitor_id));
    json_object_array_add(j->history, o);
    if (row->monitor_id) {
        size_t i = 0;
        while (i < j->n_mons && j->mons[i].id != row->monitor_id) i++;
        if (i == j->n_mons) {
            j->mons = xrealloc(j->mons, (j->n_mons + 1) * sizeof *j->mons);
            j->mons[i].id = row->monitor_id;
            snprintf(j->mons[i].name, sizeof j->mons[i].name, "%s", row->monitor_name ? row->monitor_name : "");
            j->n_mons++;
        }
    }
    return 0;
}

struct monitors_ctx {
    struct history_job *j;
    json_object *arr;
};

static int take_monitor(void *arg, const struct db_row *row)
{
    struct monitors_ctx *c = arg;
    int64_t id = db_row_int(row, 0);
    bool wanted = false;
    for (size_t i = 0; i < c->j->n_mons && !wanted; i++) wanted = c->j->mons[i].id == id;
    if (!wanted) return 0;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(id));
    json_object_object_add(o, "name", json_object_new_string(db_row_str(row, 1)));
    json_object_object_add(o, "type", json_object_new_string(db_row_str(row, 2)));
    json_object_object_add(o, "ts", time_or_null(!db_row_is_null(row, 3), db_row_time_us(row, 3)));
    /* rounded to one decimal, as the pool's data API does */
    double score = db_row_double(row, 4);
    json_object_object_add(o, "score", msg_json_number((double)(int64_t)(score * 10 + (score < 0 ? -0.5 : 0.5)) / 10));
    json_object_object_add(o, "status", json_object_new_string(db_row_str(row, 5)));
    json_object_array_add(c->arr, o);
    return 0;
}

static int history_work(struct db *db, void *arg, char err[DBQ_ERR_LEN])
{
    struct history_job *j = arg;
    int found = history_find_server(db, j->server, &j->q.server_id);
    if (found < 0) goto db_error;
    if (found == 0) {
        j->status = MHD_HTTP_NOT_FOUND;
        snprintf(j->why, sizeof j->why, "server not found");
        return 0;
    }
    found = history_resolve_monitor(db, j->monitor, &j->q);
    if (found < 0) goto db_error;
    if (found == 0) {
        j->status = MHD_HTTP_NOT_FOUND;
        snprintf(j->why, sizeof j->why, "monitor not found");
        return 0;
    }
    if (j->csv) {
        j->csv_out = open_memstream(&j->body, &j->len);
        if (!j->csv_out) {
            snprintf(err, DBQ_ERR_LEN, "out of memory");
            return -1;
        }
        scorelog_csv_header(j->csv_out);
        int rc = history_query(db, &j->q, csv_row, j);
        fclose(j->csv_out);
        j->csv_out = NULL;
        if (rc < 0) goto db_error;
        j->status = MHD_HTTP_OK;
        return 0;
    }
    struct db_param p[] = {DB_INT(j->q.server_id)};
    if (db_query(db, "SELECT ip FROM servers WHERE id = ?", p, 1, take_text, j->ip) < 0) goto db_error;
    j->history = json_object_new_array();
    if (history_query(db, &j->q, json_row, j) < 0) goto db_error;
    json_object *mons = json_object_new_array();
    struct monitors_ctx mc = {j, mons};
    if (j->n_mons &&
        db_query(db,
                 "SELECT m.id, m.name, m.type, ss.score_ts, IFNULL(ss.score_raw, 0), IFNULL(ss.status, '')"
                 " FROM monitors m LEFT JOIN server_scores ss ON ss.monitor_id = m.id AND ss.server_id = ?"
                 " ORDER BY m.name",
                 p, 1,
                 take_monitor, &mc) < 0) {
        json_object_put(mons);
        goto db_error;
    }
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "history", j->history);
    j->history = NULL;
    json_object_object_add(doc, "monitors", mons);
    json_object *srv = json_object_new_object();
    json_object_object_add(srv, "id", json_object_new_int64(j->q.server_id));
    json_object_object_add(srv, "ip", json_object_new_string(j->ip));
    json_object_object_add(doc, "server", srv);
    const char *text = json_object_to_json_string_ext(doc, JSON_FLAGS);
    j->len = strlen(text);
    j->body = xstrdup(text);
    json_object_put(doc);
    j->status = MHD_HTTP_OK;
    return 0;
db_error:
    snprintf(err, DBQ_ERR_LEN, "database unavailable: %s", db_error(db));
    return -1;
}

static void history_done(void *arg, int rc, const char *err)
{
    struct history_job *j = arg;
    struct http_req *r = j->r;
    public_cors(r);
    if (rc < 0) {
        http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", err);
    } else if (j->status != MHD_HTTP_OK) {
        http_error(r, j->status, "%s", j->why);
    } else if (j->csv) {
        /* text/plain: browsers show it instead of downloading (as the pool's data API does) */
        http_add_header(r, "Content-Disposition", "inline");
        http_respond(r, MHD_HTTP_OK, "text/plain; charset=utf-8", j->body, j->len, HTTP_TAKE);
        j->body = NULL;
    } else {
        http_respond(r, MHD_HTTP_OK, "application/json", j->body, j->len, HTTP_TAKE);
        j->body = NULL;
    }
    json_object_put(j->history);
    free(j->body);
    free(j->mons);
    free(j);
}

static void serve_history(struct api *a, struct http_req *r, const char *server, bool csv)
{
    struct history_job *j = xcalloc(1, sizeof *j);
    j->r = r;
    j->csv = csv;
    int64_t id = 0;
    char ip[NETADDR_STRLEN];
    int kind = parse_server_arg(server, ip, &id);
    if (kind < 0) {
        free(j);
        metric_inc(a->m.bad);
        http_error(r, MHD_HTTP_BAD_REQUEST, "'%.64s' is neither an IP address nor a server id", server);
        return;
    }
    if (kind == 0) snprintf(j->server, sizeof j->server, "%s", ip);
    else snprintf(j->server, sizeof j->server, "%lld", (long long)id);
    const char *monitor = http_arg(r, "monitor");
    if (monitor && *monitor && strcmp(monitor, "*") != 0 && !msg_name_is_valid(monitor)) {
        free(j);
        metric_inc(a->m.bad);
        http_error(r, MHD_HTTP_BAD_REQUEST, "invalid monitor '%.64s': a name, an id or '*'", monitor);
        return;
    }
    snprintf(j->monitor, sizeof j->monitor, "%s", monitor ? monitor : "");
    /* the data API's rules: a missing or unreadable limit is the default, larger ones are clamped */
    j->q.limit = a->cfg.history_default;
    const char *limit = http_arg(r, "limit");
    if (limit && *limit) {
        char *end;
        long long v = strtoll(limit, &end, 10);
        if (!*end && v > 0) j->q.limit = v > a->cfg.history_max ? a->cfg.history_max : v;
    }
    const char *since = http_arg(r, "since");
    if (since && *since && history_parse_since(since, &j->q.since_us) < 0) {
        free(j);
        metric_inc(a->m.bad);
        http_error(r, MHD_HTTP_BAD_REQUEST, "invalid since '%.64s': Unix seconds or RFC 3339", since);
        return;
    }
    if (j->q.since_us < 0) j->q.since_us = 0;
    if (dbq_submit(a->db, history_work, history_done, j) < 0) {
        free(j);
        http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "database busy; try again later");
        return;
    }
    http_defer(r);
}

/* ---- GET /api/server/scores/{ip|id}/stream and /api/scores/stream ---- */

/* The stream's first event: the retained score, else the last one recorded in the database. */
static void open_server_stream(struct api *a, struct http_req *r, const struct live_server *srv)
{
    char *first = NULL;
    const struct msg_score *s = live_score(a->live, srv->id);
    struct msg_score from_db = {.server_id = srv->id, .score = srv->score, .in_pool = srv->in_pool,
                                .ts_us = srv->score_ts_us};
    if (!s && srv->has_score) s = &from_db;
    if (s) {
        char *json = msg_score_encode(s);
        size_t len;
        if (json) first = sse_event("score", json, strlen(json), &len);
        free(json);
    }
    public_cors(r);
    streams_open(a->streams, r, srv->id, first);
    free(first);
}

struct find_job {
    struct api *a;
    struct http_req *r;
    char server[NETADDR_STRLEN];
    int64_t id;
    char ip[MSG_IP_MAX];
    bool found;
};

static int find_work(struct db *db, void *arg, char err[DBQ_ERR_LEN])
{
    struct find_job *j = arg;
    int found = history_find_server(db, j->server, &j->id);
    struct db_param p[] = {DB_INT(j->id)};
    if (found < 0 || (found == 1 && db_query(db, "SELECT ip FROM servers WHERE id = ?", p, 1, take_text, j->ip) < 0)) {
        snprintf(err, DBQ_ERR_LEN, "database unavailable: %s", db_error(db));
        return -1;
    }
    j->found = found == 1;
    return 0;
}

static void find_done(void *arg, int rc, const char *err)
{
    struct find_job *j = arg;
    struct api *a = j->a;
    const char *why;
    if (rc < 0) {
        http_error(j->r, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", err);
    } else if (!j->found) {
        http_error(j->r, MHD_HTTP_NOT_FOUND, "server not found");
    } else if ((why = streams_admit(a->streams, http_client(j->r)))) {
        http_error(j->r, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", why);
    } else {
        live_server_add(a->live, j->id, j->ip);
        open_server_stream(a, j->r, live_server_by_id(a->live, j->id));
    }
    free(j);
}

static void serve_stream(struct api *a, struct http_req *r, const char *server)
{
    const char *why = streams_admit(a->streams, http_client(r));
    if (why) {
        http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", why);
        return;
    }
    if (!server) { /* every server */
        public_cors(r);
        streams_open(a->streams, r, STREAMS_ALL, NULL);
        return;
    }
    int64_t id = 0;
    char ip[NETADDR_STRLEN];
    int kind = parse_server_arg(server, ip, &id);
    if (kind < 0) {
        metric_inc(a->m.bad);
        http_error(r, MHD_HTTP_BAD_REQUEST, "'%.64s' is neither an IP address nor a server id", server);
        return;
    }
    const struct live_server *srv = kind == 0 ? live_server_by_ip(a->live, ip) : live_server_by_id(a->live, id);
    if (srv) {
        open_server_stream(a, r, srv);
        return;
    }
    /* not in the directory (yet): ask the database */
    struct find_job *j = xcalloc(1, sizeof *j);
    j->a = a;
    j->r = r;
    if (kind == 0) snprintf(j->server, sizeof j->server, "%s", ip);
    else snprintf(j->server, sizeof j->server, "%lld", (long long)id);
    if (dbq_submit(a->db, find_work, find_done, j) < 0) {
        free(j);
        http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "database busy; try again later");
        return;
    }
    http_defer(r);
}

/* ---- POST /api/check/ntp/{ip} ---- */

static bool wants_stream(struct http_req *r)
{
    const char *accept = http_header(r, MHD_HTTP_HEADER_ACCEPT);
    return accept && strstr(accept, "text/event-stream");
}

static void serve_check(struct api *a, struct http_req *r, const char *target)
{
    struct netaddr addr;
    if (strlen(target) >= NETADDR_STRLEN || netaddr_parse(target, &addr) < 0) {
        metric_inc(a->m.bad);
        http_error(r, MHD_HTTP_BAD_REQUEST, "'%.64s' is not an IP address (an IPv4 dotted quad or an IPv6 literal)",
                   target);
        return;
    }
    netaddr_unmap(&addr); /* ::ffff:192.0.2.1 is checked as 192.0.2.1, by IPv4 monitors */
    char ip[NETADDR_STRLEN];
    netaddr_format(&addr, ip);
    const char *forbidden = netaddr_forbidden_reason(&addr, a->cfg.allow_loopback ? NETADDR_ALLOW_LOOPBACK : 0u);
    if (forbidden) {
        metric_inc(a->m.forbidden);
        http_error(r, MHD_HTTP_FORBIDDEN, "refusing to check %s: it is a %s address", ip, forbidden);
        return;
    }
    bool all = false;
    const char *q_all = http_arg(r, "all");
    if (q_all && *q_all && parse_bool(q_all, &all) < 0) {
        metric_inc(a->m.bad);
        http_error(r, MHD_HTTP_BAD_REQUEST, "invalid all '%.16s': use 1 or 0", q_all);
        return;
    }
    size_t body_len;
    const char *body = http_body(r, &body_len);
    if (body_len) {
        const char *ct = http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
        size_t n = ct ? strcspn(ct, "; \t") : 0;
        if (!ct || n != 16 || strncasecmp(ct, "application/json", 16) != 0) {
            metric_inc(a->m.bad);
            http_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "a check takes no body, or a JSON one (Content-Type: "
                                                           "application/json)");
            return;
        }
        json_tokener *tok = json_tokener_new();
        json_object *o = json_tokener_parse_ex(tok, body, (int)body_len);
        bool whole = o && json_tokener_get_error(tok) == json_tokener_success &&
                     json_tokener_get_parse_end(tok) == body_len;
        json_tokener_free(tok);
        json_object *v;
        if (!whole || !json_object_is_type(o, json_type_object)) {
            json_object_put(o);
            metric_inc(a->m.bad);
            http_error(r, MHD_HTTP_BAD_REQUEST, "the body must be a JSON object");
            return;
        }
        if (json_object_object_get_ex(o, "all", &v)) {
            if (!json_object_is_type(v, json_type_boolean)) {
                json_object_put(o);
                metric_inc(a->m.bad);
                http_error(r, MHD_HTTP_BAD_REQUEST, "field 'all' must be true or false");
                return;
            }
            all = all || json_object_get_boolean(v);
        }
        json_object_put(o);
    }
    struct client *cl = http_client(r);
    if (cl->checks > 0) {
        too_many(a, r, a->cfg.check_deadline_us, "a check from your address is still running");
        return;
    }
    bool stream = wants_stream(r);
    struct check_entry *e = checks_find(a->checks, ip, all);
    if (e) { /* the same target moments ago: its answers, free of charge */
        metric_inc(a->m.cached);
        checks_attach(a->checks, e, r, stream);
        return;
    }
    int64_t now = time_mono_us();
    int64_t wait = bucket_take(&cl->check, a->cfg.check_rate, a->cfg.check_burst, now);
    if (wait) {
        too_many(a, r, wait, "too many checks from your address");
        return;
    }
    wait = bucket_take(&a->global_check, a->cfg.check_rate_global, a->cfg.check_burst_global, now);
    if (wait) {
        too_many(a, r, wait, "too many checks right now");
        return;
    }
    char why[200];
    if (!live_broker_up(a->live, why, sizeof why)) {
        http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "broker unavailable: %s", why);
        return;
    }
    e = checks_start(a->checks, ip, all, why, sizeof why);
    if (!e) {
        http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", why);
        return;
    }
    checks_attach(a->checks, e, r, stream);
}

/* ---- routing ---- */

static void route_api(struct api *a, struct http_req *r, const char *path)
{
    const char *method = http_method(r);
    const char *rest;
    bool get = is_get(method);
    if ((rest = after(path, "/api/check/ntp/"))) {
        if (strcmp(method, "POST") != 0) method_not_allowed(r, "POST");
        else serve_check(a, r, rest);
        return;
    }
    if (!get && strcmp(method, "OPTIONS") == 0) { /* public data only: the check endpoint gets no CORS */
        public_cors(r);
        http_add_header(r, "Access-Control-Allow-Methods", "GET, HEAD");
        http_add_header(r, "Allow", "GET, HEAD, OPTIONS");
        http_respond(r, MHD_HTTP_NO_CONTENT, NULL, "", 0, HTTP_STATIC);
        return;
    }
    if (strcmp(path, "/api/monitors/online") == 0) {
        if (!get) method_not_allowed(r, "GET, HEAD");
        else serve_monitors(a, r);
        return;
    }
    if (strcmp(path, "/api/servers") == 0) {
        if (!get) method_not_allowed(r, "GET, HEAD");
        else serve_servers(a, r);
        return;
    }
    if (strcmp(path, "/api/scores/stream") == 0) {
        if (!get) method_not_allowed(r, "GET");
        else serve_stream(a, r, NULL);
        return;
    }
    if ((rest = after(path, "/api/server/scores/"))) {
        const char *slash = strrchr(rest, '/');
        if (slash && slash > rest && memchr(rest, '/', (size_t)(slash - rest)) == NULL) {
            char server[80];
            size_t n = (size_t)(slash - rest);
            if (n >= sizeof server) n = sizeof server - 1;
            memcpy(server, rest, n);
            server[n] = '\0';
            const char *mode = slash + 1;
            bool json = strcmp(mode, "json") == 0, log = strcmp(mode, "log") == 0, st = strcmp(mode, "stream") == 0;
            if (json || log || st) {
                if (!get) method_not_allowed(r, "GET, HEAD");
                else if (st) serve_stream(a, r, server);
                else serve_history(a, r, server, log);
                return;
            }
            http_error(r, MHD_HTTP_NOT_FOUND, "invalid mode '%.16s': json, log or stream", mode);
            return;
        }
    }
    http_error(r, MHD_HTTP_NOT_FOUND, "no such endpoint");
}

void api_handle(struct http_req *r, void *arg)
{
    struct api *a = arg;
    const char *path = http_path(r);
    if (strncmp(path, "/api/", 5) == 0) {
        struct client *cl = http_client(r);
        int64_t wait = bucket_take(&cl->api, a->cfg.api_rate, a->cfg.api_burst, time_mono_us());
        if (wait) {
            too_many(a, r, wait, "too many requests from your address");
            return;
        }
        route_api(a, r, path);
        return;
    }
    if (strcmp(path, "/healthz") == 0 || strcmp(path, "/metrics") == 0) {
        if (!is_get(http_method(r))) method_not_allowed(r, "GET, HEAD");
        else if (path[1] == 'h') serve_health(a, r);
        else serve_metrics(r);
        return;
    }
    if (route_page(r, path)) return;
    http_error(r, MHD_HTTP_NOT_FOUND, "not found");
}

struct api *api_new(const struct api_config *cfg, struct evloop *loop, struct live *live, struct dbq *db,
                    struct streams *streams, struct checks *checks)
{
    struct api *a = xcalloc(1, sizeof *a);
    a->cfg = *cfg;
    a->loop = loop;
    a->live = live;
    a->db = db;
    a->streams = streams;
    a->checks = checks;
    a->m.limited = metrics_counter("ntpmon_web_rate_limited_total", "requests answered 429", NULL);
    a->m.forbidden = metrics_counter("ntpmon_web_forbidden_targets_total", "checks refused for the target", NULL);
    a->m.cached = metrics_counter("ntpmon_web_checks_cached_total", "checks answered from the cache", NULL);
    a->m.bad = metrics_counter("ntpmon_web_bad_requests_total", "requests refused as malformed", NULL);
    return a;
}

void api_free(struct api *a) { free(a); }
