/* guard.c — the mass-outage guard's rule (see guard.h). A zone is "losing servers en masse" when the servers hit
 * within the answer window — those that left, those held, those about to leave (at risk: at least half of their
 * monitors get no good answer), those that recovered from a hold, and this one — are at least min_count and more
 * than `fraction` of the zone's servers at the start of the window (in the pool now, plus those that left); or
 * when daily_cap servers of the zone have left since 00:00 UTC. Counting the servers at risk lets the first
 * servers of a cut region be held too, not only those after the threshold; recovered servers count for one
 * window so that the last few of a recovering zone are not dropped just before their own scores bring them back. */
#include "guard.h"

#include <stdio.h>
#include <string.h>

#include "zone.h"

#define DAY_US (86400 * 1000000LL)

const char *guard_verdict_name(enum guard_verdict v)
{
    switch (v) {
    case GUARD_FOLLOW: return "follow";
    case GUARD_HOLD: return "held";
    case GUARD_KEEP: return "kept";
    case GUARD_RELEASE: return "released";
    case GUARD_LEAVE: return "left";
    }
    return "?";
}

int64_t guard_day_start(int64_t now_us)
{
    int64_t d = now_us / DAY_US;
    if (now_us < 0 && d * DAY_US != now_us) d--;
    return d * DAY_US;
}

void guard_count(const struct guard_settings *g, const struct guard_member *m, int64_t now_us, struct guard_counts *c)
{
    int64_t since = now_us - (int64_t)g->answer_window_s * 1000000;
    if (m->in_pool) {
        c->in_pool++;
        if (m->held_since_us) c->held++;
        else if (m->at_risk) c->at_risk++;
        else if (m->recovered_us && m->recovered_us >= since) c->recovered++;
    } else if (m->left_us && m->left_us >= since) {
        c->left++;
    }
    if (m->left_us && m->left_us >= guard_day_start(now_us)) c->removed_today++;
}

bool guard_zone_in_event(const struct guard_settings *g, const struct guard_counts *c, int64_t now_us,
                         struct guard_decision *fig)
{
    (void)now_us;
    fig->zone_in_pool = c->in_pool + 1;
    fig->zone_leaving = c->left + c->held + c->at_risk + 1;
    fig->zone_event = c->left + c->held + c->at_risk + c->recovered + 1;
    fig->zone_base = c->in_pool + c->left + 1;
    fig->zone_fraction = (double)fig->zone_event / fig->zone_base;
    bool mass = fig->zone_event >= g->min_count && fig->zone_fraction > g->fraction;
    bool capped = g->daily_cap > 0 && c->removed_today >= g->daily_cap;
    return mass || capped;
}

/* "zone au 5 of 20 servers hit (25 %, outage: > 20 % and >= 3)" or the daily cap's words. */
static void describe_zone(const struct guard_settings *g, const struct guard_input *in,
                          const struct guard_decision *fig, char *buf, size_t len)
{
    bool mass = fig->zone_event >= g->min_count && fig->zone_fraction > g->fraction;
    if (mass || g->daily_cap <= 0 || in->counts.removed_today < g->daily_cap)
        snprintf(buf, len, "zone %s %d of %d servers hit (%.0f %%, outage: > %.0f %% and >= %d)", in->zone,
                 fig->zone_event, fig->zone_base, fig->zone_fraction * 100, g->fraction * 100, g->min_count);
    else
        snprintf(buf, len, "zone %s %d servers removed today (daily cap %d)", in->zone, in->counts.removed_today,
                 g->daily_cap);
}

static void verdict(struct guard_decision *out, enum guard_verdict v, bool in_pool, bool held)
{
    out->verdict = v;
    out->in_pool = in_pool;
    out->held = held;
}

void guard_decide(const struct guard_settings *g, const struct guard_input *in, struct guard_decision *out)
{
    memset(out, 0, sizeof *out);
    bool held = in->held_since_us != 0;
    bool zoned = in->zone && *in->zone;
    verdict(out, GUARD_FOLLOW, in->score_in, false);
    if (!held && (in->score_in || !in->in_pool)) return; /* entering, staying in or staying out: not ours */
    if (held && in->score_in) {
        verdict(out, GUARD_RELEASE, true, false);
        snprintf(out->reason, sizeof out->reason, "hold ended: the score recovered");
        return;
    }
    /* The score says out, and the server is in the pool (held or not). */
    char zone_text[96] = ""; /* short enough for every reason below to fit */
    bool event = false;
    if (zoned) {
        event = guard_zone_in_event(g, &in->counts, in->now_us, out);
        describe_zone(g, in, out, zone_text, sizeof zone_text);
    }
    const char *why = NULL;
    char buf[112];
    if (!g->enabled) why = "the guard is off";
    else if (in->deleted) why = "the server is deleted";
    else if (!zoned) why = "the server has no zone";
    else if (in->counts.released) why = "the zone was released by hand";
    else if (in->answering <= 0) why = "no monitor gets a good answer";
    else if (held && in->now_us - in->held_since_us >= (int64_t)g->max_hold_s * 1000000) {
        snprintf(buf, sizeof buf, "held for the longest hold (%d s)", g->max_hold_s);
        why = buf;
    } else if (!event) {
        snprintf(buf, sizeof buf, "%s%.88s", held ? "the outage is over: " : "no outage: ", zone_text);
        why = buf;
    }
    if (why) {
        if (held) {
            verdict(out, GUARD_LEAVE, false, false);
            snprintf(out->reason, sizeof out->reason, "hold ended: %.112s", why);
        } else {
            snprintf(out->reason, sizeof out->reason, "not held: %.112s", why);
        }
        return;
    }
    verdict(out, held ? GUARD_KEEP : GUARD_HOLD, true, true);
    snprintf(out->reason, sizeof out->reason, "held: %.85s; answers %d monitor%s", zone_text, in->answering,
             in->answering == 1 ? "" : "s");
}

bool guard_tally_at_risk(const struct guard_tally *t)
{
    return t->monitors > 0 && (t->monitors - t->good) * 2 >= t->monitors;
}

void guard_tally_server(const struct eng_server *s, int64_t now_us, int64_t window_us, struct guard_tally *t)
{
    t->monitors = t->good = 0;
    for (size_t i = 0; i < s->n_pairs; i++) {
        const struct eng_row *r = eng_pair_row_at(&s->pairs[i], now_us);
        if (!r || r->ts_us < now_us - window_us) continue;
        t->monitors++;
        if (r->error == 0 && r->step > 0) t->good++;
    }
}

int guard_answering(const struct eng *e, const struct eng_server *s, int64_t now_us, int64_t window_us,
                    int64_t *ids, size_t max)
{
    (void)e;
    int n = 0;
    for (size_t i = 0; i < s->n_pairs; i++) {
        const struct eng_pair *p = &s->pairs[i];
        const struct eng_row *r = eng_pair_row_at(p, now_us);
        if (!r || r->ts_us < now_us - window_us || r->error != 0 || !(r->step > 0)) continue;
        if (ids && (size_t)n < max) ids[n] = p->monitor_id;
        n++;
    }
    return n;
}

int guard_apply(const struct guard_settings *g, const struct eng *e, struct eng_server *s, bool score_in,
                int64_t now_us, guard_count_fn count, void *arg, int64_t *ids, size_t max_ids,
                struct guard_decision *out)
{
    struct guard_input in = {
        .score_in = score_in,
        .in_pool = s->in_pool,
        .held_since_us = s->held_since_us,
        .zone = zone_code(s->zone),
        .deleted = s->deleted,
        .answering = guard_answering(e, s, now_us, (int64_t)g->answer_window_s * 1000000, ids, max_ids),
        .now_us = now_us,
    };
    /* the zone's counts matter only when the server would leave (or is held) and could be held */
    bool would_go = !score_in && (s->in_pool || s->held_since_us);
    if (would_go && g->enabled && in.zone && !s->deleted && in.answering > 0 && count(arg, s, now_us, &in.counts) < 0) {
        memset(out, 0, sizeof *out);
        out->in_pool = score_in;
        return -1;
    }
    guard_decide(g, &in, out);
    switch (out->verdict) {
    case GUARD_HOLD: s->held_since_us = now_us; break;
    case GUARD_KEEP: break;
    case GUARD_RELEASE:
        s->held_since_us = 0;
        s->recovered_us = now_us;
        break;
    case GUARD_LEAVE:
        s->held_since_us = 0;
        s->left_us = now_us;
        break;
    case GUARD_FOLLOW:
        if (s->in_pool && !out->in_pool) s->left_us = now_us;
        break;
    }
    return 0;
}
