/* replay.c — scoring a recorded result stream from stdin (see replay.h). Monitors get ids in order of first
 * appearance (the CSV prints monitor_id 0: replay has no database). Lines the shared decoder rejects, and results
 * without server_id, are reported on stderr and skipped; everything else goes on. */
#include "replay.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "log.h"
#include "messages.h"
#include "scorelog.h"
#include "timeutil.h"
#include "xalloc.h"
#include "zone.h"

#define GUARD_MAX_IDS 64

/* Monitor names ↔ ids, in order of first appearance. */
struct names {
    char **names; /* names[id - 1] */
    size_t n, cap;
    uint32_t *slots; /* hash → id */
    size_t n_slots;
};

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int64_t names_intern(struct names *t, const char *name)
{
    if (!t->slots) {
        t->n_slots = 64;
        t->slots = xcalloc(t->n_slots, sizeof *t->slots);
    }
    size_t mask = t->n_slots - 1, i = hash_name(name) & mask;
    for (; t->slots[i]; i = (i + 1) & mask)
        if (strcmp(t->names[t->slots[i] - 1], name) == 0) return t->slots[i];
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->names = xrealloc(t->names, t->cap * sizeof *t->names);
    }
    t->names[t->n++] = xstrdup(name);
    t->slots[i] = (uint32_t)t->n;
    if (t->n * 2 > t->n_slots) {
        free(t->slots);
        t->n_slots *= 2;
        t->slots = xcalloc(t->n_slots, sizeof *t->slots);
        mask = t->n_slots - 1;
        for (size_t k = 0; k < t->n; k++) {
            size_t j = hash_name(t->names[k]) & mask;
            while (t->slots[j]) j = (j + 1) & mask;
            t->slots[j] = (uint32_t)k + 1;
        }
    }
    return (int64_t)t->n;
}

static void names_free(struct names *t)
{
    for (size_t i = 0; i < t->n; i++) free(t->names[i]);
    free(t->names);
    free(t->slots);
}


/* ---- zones and the guard ---- */

static int cmp_zone(const void *a, const void *b)
{
    int64_t x = ((const struct replay_zone *)a)->server_id, y = ((const struct replay_zone *)b)->server_id;
    return x < y ? -1 : x > y;
}

int replay_zones_load(const char *path, struct replay_zones *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_len, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, n_cap = 0;
    int rc = 0;
    for (unsigned long no = 1; getline(&line, &cap, f) >= 0; no++) {
        char *p = line + strspn(line, " \t");
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0') continue;
        char zone[64];
        long long id;
        char extra;
        int got = sscanf(p, "%lld %63s %c", &id, zone, &extra);
        char z[ZONE_MAX];
        if (got != 2 || id < 1 || id > MSG_MAX_SERVER_ID) {
            snprintf(err, err_len, "%s:%lu: want \"server_id zone\"", path, no);
            rc = -1;
            break;
        }
        if (zone_normalize(zone, z) < 0) {
            snprintf(err, err_len, "%s:%lu: unknown zone '%s' (an ISO 3166 country code or a continent)", path, no,
                     zone);
            rc = -1;
            break;
        }
        if (out->n == n_cap) {
            n_cap = n_cap ? n_cap * 2 : 64;
            out->z = xrealloc(out->z, n_cap * sizeof *out->z);
        }
        out->z[out->n++] = (struct replay_zone){id, zone_id(z)};
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, err_len, "reading %s failed", path);
        rc = -1;
    }
    free(line);
    fclose(f);
    if (rc == 0 && out->n) qsort(out->z, out->n, sizeof *out->z, cmp_zone);
    for (size_t i = 1; rc == 0 && i < out->n; i++) {
        if (out->z[i].server_id == out->z[i - 1].server_id) {
            snprintf(err, err_len, "%s: server %lld is listed twice", path, (long long)out->z[i].server_id);
            rc = -1;
        }
    }
    if (rc < 0) replay_zones_free(out);
    return rc;
}

void replay_zones_free(struct replay_zones *z)
{
    free(z->z);
    z->z = NULL;
    z->n = 0;
}

static unsigned zone_of(const struct replay_zones *z, int64_t server_id)
{
    struct replay_zone key = {server_id, 0};
    const struct replay_zone *hit = z ? bsearch(&key, z->z, z->n, sizeof *z->z, cmp_zone) : NULL;
    return hit ? hit->zone : 0;
}

/* The guard as the pool hook of replay: the zone's counts come from the servers of the zones file as the stream
 * has left them. The decision on the current result waits in `event` for the output. */
struct rguard {
    const struct guard_settings *g;
    const struct replay_zones *zones;
    size_t n_zone_ids;
    struct members {
        int64_t *ids;
        size_t n;
    } *members;             /* by zone id */
    bool has_event;
    struct guard_decision d;
    int64_t ids[GUARD_MAX_IDS];
    int n_ids;
    struct msg_zone_alert *alerts; /* the last alert printed per zone (zone[0] == '\0': none standing) */
};

static void member_of(const struct rguard *rg, const struct eng_server *s, int64_t now_us, struct guard_member *m)
{
    struct guard_tally t;
    guard_tally_server(s, now_us, (int64_t)rg->g->answer_window_s * 1000000, &t);
    *m = (struct guard_member){s->in_pool, s->held_since_us, s->left_us, s->recovered_us, guard_tally_at_risk(&t)};
}

/* The zone's counts as of now; `except` is left out (0: nobody). */
static void zone_counts(struct eng *e, const struct rguard *rg, unsigned zone, int64_t except, int64_t now_us,
                        struct guard_counts *c)
{
    memset(c, 0, sizeof *c);
    const struct members *m = &rg->members[zone];
    for (size_t i = 0; i < m->n; i++) {
        if (m->ids[i] == except) continue;
        const struct eng_server *o = eng_server_find(e, m->ids[i]);
        if (!o) continue; /* not in the stream yet: never in the pool */
        struct guard_member gm;
        member_of(rg, o, now_us, &gm);
        guard_count(rg->g, &gm, now_us, c);
    }
}

struct count_ctx {
    struct eng *e;
    struct rguard *rg;
};

static int replay_count(void *arg, const struct eng_server *s, int64_t now_us, struct guard_counts *c)
{
    struct count_ctx *k = arg;
    zone_counts(k->e, k->rg, s->zone, s->id, now_us, c);
    return 0;
}

static bool replay_hook(void *arg, struct eng *e, struct eng_server *s, bool score_in, int64_t ts_us)
{
    struct rguard *rg = arg;
    struct count_ctx k = {e, rg};
    guard_apply(rg->g, e, s, score_in, ts_us, replay_count, &k, rg->ids, GUARD_MAX_IDS, &rg->d);
    rg->n_ids = guard_answering(e, s, ts_us, (int64_t)rg->g->answer_window_s * 1000000, NULL, 0);
    if (rg->n_ids > GUARD_MAX_IDS) rg->n_ids = GUARD_MAX_IDS;
    rg->has_event = true;
    return rg->d.in_pool;
}

static void rguard_init(struct rguard *rg, const struct replay_opts *o)
{
    memset(rg, 0, sizeof *rg);
    rg->g = &o->guard;
    rg->zones = o->zones;
    zone_codes(&rg->n_zone_ids);
    rg->n_zone_ids++;
    rg->members = xcalloc(rg->n_zone_ids, sizeof *rg->members);
    rg->alerts = xcalloc(rg->n_zone_ids, sizeof *rg->alerts);
    for (size_t i = 0; i < o->zones->n; i++) {
        struct members *m = &rg->members[o->zones->z[i].zone];
        m->ids = xrealloc(m->ids, (m->n + 1) * sizeof *m->ids);
        m->ids[m->n++] = o->zones->z[i].server_id;
    }
}

static void rguard_free(struct rguard *rg)
{
    for (size_t i = 0; rg->members && i < rg->n_zone_ids; i++) free(rg->members[i].ids);
    free(rg->members);
    free(rg->alerts);
}

/* ---- output ---- */

static void add_num(json_object *o, const char *key, double v)
{
    char text[48];
    msg_format_number(v, text);
    json_object_object_add(o, key, json_object_new_double_s(v, text));
}

static void add_time(json_object *o, const char *key, int64_t us)
{
    char text[TIME_RFC3339_LEN];
    time_format_rfc3339(us, text);
    json_object_object_add(o, key, json_object_new_string(text));
}

static void print_json(FILE *out, json_object *o)
{
    fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), out);
    fputc('\n', out);
    json_object_put(o);
}

static void emit_monitor_row(FILE *out, enum replay_format f, const struct msg_result *r,
                             const struct eng_outcome *oc, const char *extra)
{
    if (f == REPLAY_CSV) {
        struct scorelog_row row = {
            .ts_us = r->ts_us,
            .has_offset = r->has_offset,
            .offset = r->offset,
            .step = oc->step.step,
            .score = oc->pair_score,
            .monitor_id = 0,
            .monitor_name = r->monitor,
            .has_rtt = r->has_rtt,
            .rtt_us = r->has_rtt ? eng_rtt_us(r->rtt) : 0,
            .leap = r->leap,
            .error = r->error,
            .extra = extra,
        };
        scorelog_csv_row(out, &row);
    } else if (f == REPLAY_JSON) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "type", json_object_new_string("monitor"));
        json_object_object_add(o, "server_id", json_object_new_int64(r->server_id));
        json_object_object_add(o, "monitor", json_object_new_string(r->monitor));
        json_object_object_add(o, "result_id", json_object_new_string(r->id));
        add_time(o, "ts", r->ts_us);
        json_object_object_add(o, "status", json_object_new_string(msg_pair_status_str(oc->status_used)));
        if (r->has_offset) add_num(o, "offset", r->offset);
        if (r->has_rtt) add_num(o, "rtt", r->rtt);
        json_object_object_add(o, "stratum", json_object_new_int(r->stratum));
        json_object_object_add(o, "leap", json_object_new_int(r->leap));
        json_object_object_add(o, "error", json_object_new_string(r->error));
        add_num(o, "step", oc->step.step);
        add_num(o, "score", oc->pair_score);
        print_json(out, o);
    }
}

static void print_message(FILE *out, const char *env, const struct msg_topic *t, char *payload)
{
    char topic[MSG_TOPIC_MAX];
    if (msg_topic_build(topic, sizeof topic, env, t) == 0 && payload) fprintf(out, "%s %s\n", topic, payload);
    free(payload);
}

/* guard_status: a guard decision on this result replaces the plain in/out status message. */
static void emit_overall(FILE *out, const struct replay_opts *opt, const struct eng *e, const struct names *names,
                         const struct msg_result *r, const struct eng_server *s, const struct eng_outcome *oc,
                         const char *extra, bool guard_status)
{
    const char *chosen = oc->chosen_monitor_id > 0 && (size_t)oc->chosen_monitor_id <= names->n
                             ? names->names[oc->chosen_monitor_id - 1]
                             : "";
    if (opt->format == REPLAY_CSV) {
        struct scorelog_row row = {
            .ts_us = r->ts_us,
            .step = oc->chosen.step,
            .score = oc->chosen.score,
            .leap = oc->chosen.leap,
            .error = eng_error_text(e, oc->chosen.error),
            .extra = extra,
        };
        scorelog_csv_row(out, &row);
    } else if (opt->format == REPLAY_JSON) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "type", json_object_new_string("overall"));
        json_object_object_add(o, "server_id", json_object_new_int64(r->server_id));
        json_object_object_add(o, "result_id", json_object_new_string(r->id));
        add_time(o, "ts", r->ts_us);
        add_num(o, "step", oc->chosen.step);
        add_num(o, "score", oc->chosen.score);
        json_object_object_add(o, "monitor", json_object_new_string(chosen));
        json_object_object_add(o, "monitors", json_object_new_int(oc->monitors));
        json_object_object_add(o, "in_pool", json_object_new_boolean(oc->in_pool));
        if (s->held_since_us) json_object_object_add(o, "held", json_object_new_boolean(1));
        if (oc->crossed) json_object_object_add(o, "changed", json_object_new_boolean(1));
        print_json(out, o);
    } else {
        struct msg_topic t = {.kind = MSG_TOPIC_SCORES, .server_id = r->server_id};
        struct msg_score m;
        sc_score_message(&m, r->server_id, r->ts_us, oc->chosen.score, oc->chosen.step, oc->in_pool, oc->monitors);
        print_message(out, opt->env, &t, msg_score_encode(&m));
        if (oc->crossed && !guard_status) {
            struct msg_server_status st;
            sc_status_message(&st, r->server_id, s->in_pool, s->in_pool_ts_us, s->in_pool_score,
                              eng_params(e)->in_pool_score);
            t.kind = MSG_TOPIC_SERVER_STATUS;
            print_message(out, opt->env, &t, msg_server_status_encode(&st));
        }
    }
}

/* The guard's decision on this result: a "guard" JSON line or a status message (the CSV carries it in its
 * eleventh column). Only decisions worth telling: holds, releases, hold ends, and departures of zoned servers
 * ("not held: …" says why the guard let them go). */
static bool guard_worth_telling(const struct rguard *rg, const struct eng_server *s, const struct eng_outcome *oc)
{
    if (!rg->has_event) return false;
    if (rg->d.verdict != GUARD_FOLLOW && rg->d.verdict != GUARD_KEEP) return true;
    return rg->d.verdict == GUARD_FOLLOW && oc->crossed && !oc->in_pool && s->zone;
}

static void emit_guard(FILE *out, const struct replay_opts *opt, const struct names *names, const struct rguard *rg,
                       const struct msg_result *r, const struct eng_server *s)
{
    if (opt->format == REPLAY_JSON) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "type", json_object_new_string("guard"));
        json_object_object_add(o, "server_id", json_object_new_int64(r->server_id));
        json_object_object_add(o, "result_id", json_object_new_string(r->id));
        add_time(o, "ts", r->ts_us);
        json_object_object_add(o, "zone", json_object_new_string(s->zone ? zone_code(s->zone) : ""));
        json_object_object_add(o, "verdict", json_object_new_string(guard_verdict_name(rg->d.verdict)));
        json_object_object_add(o, "in_pool", json_object_new_boolean(rg->d.in_pool));
        json_object_object_add(o, "held", json_object_new_boolean(rg->d.held));
        json_object_object_add(o, "reason", json_object_new_string(rg->d.reason));
        json_object *arr = json_object_new_array();
        for (int i = 0; i < rg->n_ids; i++) {
            int64_t id = rg->ids[i];
            if (id > 0 && (size_t)id <= names->n) json_object_array_add(arr, json_object_new_string(names->names[id - 1]));
        }
        json_object_object_add(o, "monitors_answering", arr);
        print_json(out, o);
    } else if (opt->format == REPLAY_MESSAGES && rg->d.verdict != GUARD_FOLLOW) {
        struct msg_server_status st;
        sc_guard_status_message(&st, r->server_id, rg->d.in_pool, rg->d.held, r->ts_us, s->last_score, rg->d.reason);
        struct msg_topic t = {.kind = MSG_TOPIC_SERVER_STATUS, .server_id = r->server_id};
        print_message(out, opt->env, &t, msg_server_status_encode(&st));
    }
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The zone's alert after a decision: printed when it changed, cleared (empty message) when the last hold ended. */
static void emit_zone_alert(FILE *out, const struct replay_opts *opt, struct eng *e, const struct names *names,
                            struct rguard *rg, unsigned zone, int64_t now_us, struct replay_stats *stats)
{
    struct guard_counts all;
    zone_counts(e, rg, zone, 0, now_us, &all);
    struct msg_zone_alert *last = &rg->alerts[zone];
    if (all.held == 0 && !last->zone[0]) return;
    struct msg_topic t = {.kind = MSG_TOPIC_ZONE_STATUS};
    snprintf(t.zone, sizeof t.zone, "%s", zone_code(zone));
    if (all.held == 0) {
        memset(last, 0, sizeof *last);
        stats->alerts++;
        if (opt->format == REPLAY_MESSAGES) {
            char topic[MSG_TOPIC_MAX];
            if (msg_topic_build(topic, sizeof topic, opt->env, &t) == 0) fprintf(out, "%s \n", topic);
        } else if (opt->format == REPLAY_JSON) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "type", json_object_new_string("zone"));
            json_object_object_add(o, "zone", json_object_new_string(t.zone));
            json_object_object_add(o, "cleared", json_object_new_boolean(1));
            add_time(o, "ts", now_us);
            print_json(out, o);
        }
        return;
    }
    /* the monitors that still get answers from the zone's held servers */
    const char *mon[MSG_ZONE_MONITORS_MAX];
    size_t n_mon = 0;
    const struct members *m = &rg->members[zone];
    for (size_t i = 0; i < m->n; i++) {
        const struct eng_server *o = eng_server_find(e, m->ids[i]);
        if (!o || !o->held_since_us) continue;
        int64_t ids[GUARD_MAX_IDS];
        int n = guard_answering(e, o, now_us, (int64_t)rg->g->answer_window_s * 1000000, ids, GUARD_MAX_IDS);
        for (int k = 0; k < n && k < GUARD_MAX_IDS; k++) {
            const char *name = ids[k] > 0 && (size_t)ids[k] <= names->n ? names->names[ids[k] - 1] : NULL;
            bool seen = !name;
            for (size_t j = 0; j < n_mon && !seen; j++) seen = strcmp(mon[j], name) == 0;
            if (!seen && n_mon < MSG_ZONE_MONITORS_MAX) mon[n_mon++] = name;
        }
    }
    qsort(mon, n_mon, sizeof *mon, cmp_str);
    struct msg_zone_alert a;
    sc_zone_alert(&a, t.zone, &all, mon, n_mon, now_us);
    a.ts_us = last->ts_us; /* compare without the time */
    if (memcmp(&a, last, sizeof a) == 0) return;
    a.ts_us = now_us;
    *last = a;
    stats->alerts++;
    if (opt->format == REPLAY_MESSAGES) {
        print_message(out, opt->env, &t, msg_zone_alert_encode(&a));
    } else if (opt->format == REPLAY_JSON) {
        char *payload = msg_zone_alert_encode(&a);
        json_object *o = payload ? json_tokener_parse(payload) : NULL;
        free(payload);
        if (o) {
            json_object_object_add(o, "type", json_object_new_string("zone"));
            print_json(out, o);
        }
    }
}

int replay_run(FILE *in, FILE *out, const struct replay_opts *o, struct replay_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    struct eng_params params = o->params;
    bool keep_all = params.history_us <= 0;
    if (keep_all) params.history_us = INT64_MAX / 4;
    struct eng *e = eng_new(&params);
    struct rguard rg = {0};
    if (o->zones) {
        rguard_init(&rg, o);
        eng_set_pool_hook(e, replay_hook, &rg);
    }
    struct names names = {0};
    struct msg_result *r = xmalloc(sizeof *r);
    char err[MSG_ERR_LEN];
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int64_t clock_us = INT64_MIN / 4;
    int rc = 0;

    if (o->format == REPLAY_CSV && o->zones) scorelog_csv_header_extra(out, "guard");
    else if (o->format == REPLAY_CSV) scorelog_csv_header(out);
    while ((len = getline(&line, &cap, in)) >= 0) {
        stats->lines++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0) continue;
        if (msg_result_decode(line, (size_t)len, r, err) < 0) {
            stats->skipped++;
            LOG(WARN, "line %llu skipped: %s", (unsigned long long)stats->lines, err);
            continue;
        }
        if (!r->has_server_id) {
            stats->skipped++;
            LOG(WARN, "line %llu skipped: field 'server_id' is missing", (unsigned long long)stats->lines);
            continue;
        }
        if (r->ts_us > clock_us) clock_us = r->ts_us;
        struct eng_server *s = eng_server_find(e, r->server_id);
        if (!s) {
            s = eng_server_add(e, r->server_id);
            s->zone = zone_of(o->zones, r->server_id);
        }
        int64_t mid = names_intern(&names, r->monitor);
        struct eng_pair *p = eng_pair_get(s, mid, true);
        if (r->status != MSG_STATUS_NONE) p->status = r->status;
        struct msg_result_record rec;
        msg_result_record_of(r, &rec);
        struct eng_outcome oc;
        rg.has_event = false;
        eng_score(e, s, mid, &rec, clock_us, &oc);
        stats->scored++;
        if (oc.crossed) stats->crossings++;
        /* the CSV's eleventh column: the guard's decision on the row it happened on, else "held" while held */
        bool tell = guard_worth_telling(&rg, s, &oc);
        const char *word = !o->zones ? NULL : tell ? rg.d.reason : s->held_since_us ? "held" : "";
        emit_monitor_row(out, o->format, r, &oc, !o->zones ? NULL : oc.recorded ? "" : word);
        if (oc.recorded) {
            stats->recorded++;
            emit_overall(out, o, e, &names, r, s, &oc, word, tell && rg.d.verdict != GUARD_FOLLOW);
        }
        if (tell) {
            stats->holds += rg.d.verdict == GUARD_HOLD;
            stats->releases += rg.d.verdict == GUARD_RELEASE;
            stats->hold_ends += rg.d.verdict == GUARD_LEAVE;
            emit_guard(out, o, &names, &rg, r, s);
            emit_zone_alert(out, o, e, &names, &rg, s->zone, r->ts_us, stats);
        }
    }
    if (ferror(in)) {
        LOG(ERROR, "reading input failed");
        rc = -1;
    }
    if (fflush(out) != 0 || ferror(out)) {
        LOG(ERROR, "writing output failed");
        rc = -1;
    }
    free(line);
    free(r);
    names_free(&names);
    rguard_free(&rg);
    eng_free(e);
    return rc;
}
