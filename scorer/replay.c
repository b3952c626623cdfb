/* replay.c — scoring a recorded result stream from stdin (see replay.h). Monitors get ids in order of first
 * appearance (the CSV prints monitor_id 0: replay has no database). Lines the shared decoder rejects, and results
 * without server_id, are reported on stderr and skipped; everything else goes on. */
#include "replay.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "messages.h"
#include "scorelog.h"
#include "timeutil.h"
#include "xalloc.h"

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
                             const struct eng_outcome *oc)
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

static void emit_overall(FILE *out, const struct replay_opts *opt, const struct eng *e, const struct names *names,
                         const struct msg_result *r, const struct eng_server *s, const struct eng_outcome *oc)
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
        if (oc->crossed) json_object_object_add(o, "changed", json_object_new_boolean(1));
        print_json(out, o);
    } else {
        struct msg_topic t = {.kind = MSG_TOPIC_SCORES, .server_id = r->server_id};
        char topic[MSG_TOPIC_MAX];
        struct msg_score m;
        sc_score_message(&m, r->server_id, r->ts_us, oc->chosen.score, oc->chosen.step, oc->in_pool, oc->monitors);
        char *payload = msg_score_encode(&m);
        if (msg_topic_build(topic, sizeof topic, opt->env, &t) == 0 && payload) fprintf(out, "%s %s\n", topic, payload);
        free(payload);
        if (oc->crossed) {
            struct msg_server_status st;
            sc_status_message(&st, r->server_id, s->in_pool, s->in_pool_ts_us, s->in_pool_score,
                              eng_params(e)->in_pool_score);
            t.kind = MSG_TOPIC_SERVER_STATUS;
            payload = msg_server_status_encode(&st);
            if (msg_topic_build(topic, sizeof topic, opt->env, &t) == 0 && payload)
                fprintf(out, "%s %s\n", topic, payload);
            free(payload);
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
    struct names names = {0};
    struct msg_result *r = xmalloc(sizeof *r);
    char err[MSG_ERR_LEN];
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int64_t clock_us = INT64_MIN / 4;
    int rc = 0;

    if (o->format == REPLAY_CSV) scorelog_csv_header(out);
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
        if (!s) s = eng_server_add(e, r->server_id);
        int64_t mid = names_intern(&names, r->monitor);
        struct eng_pair *p = eng_pair_get(s, mid, true);
        if (r->status != MSG_STATUS_NONE) p->status = r->status;
        struct msg_result_record rec;
        msg_result_record_of(r, &rec);
        struct eng_outcome oc;
        eng_score(e, s, mid, &rec, clock_us, &oc);
        stats->scored++;
        emit_monitor_row(out, o->format, r, &oc);
        if (oc.recorded) {
            stats->recorded++;
            if (oc.crossed) stats->crossings++;
            emit_overall(out, o, e, &names, r, s, &oc);
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
    eng_free(e);
    return rc;
}
