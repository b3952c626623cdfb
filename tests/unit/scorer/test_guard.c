/* test_guard.c — the mass-outage guard's rule at and around every threshold: the zone's fraction (exceeds, not
 * equals), the minimum count, the daily cap, the answer window (inclusive edge, errors, bad steps, the latest
 * answer only), the longest hold, the outage ending, recovered servers keeping an outage alive, nobody answering
 * (never held; a held one leaves at once), no zone, deleted servers, the guard off; the counting of a zone's
 * members at the window and day edges; guard_apply's state changes; and the engine's pool hook (scores never
 * change, a held server leaves on an unrecorded result). */
#include <string.h>

#include "engine.h"
#include "guard.h"
#include "guardconf.h"
#include "unit.h"
#include "zone.h"

#define S 1000000LL
#define T0 (1795460400LL * S) /* 2026-11-23 19:00:00 UTC */

static struct guard_settings g;

static void reset_settings(void)
{
    guard_settings_defaults(&g); /* enabled, 0.20, min 3, no cap, 1800 s, 21600 s */
}

/* A server in the pool whose score says out, answering `answering` monitors, in zone au with these counts. */
static struct guard_input leaving(int answering, struct guard_counts c)
{
    struct guard_input in = {.score_in = false, .in_pool = true, .zone = "au", .answering = answering,
                             .counts = c, .now_us = T0};
    return in;
}

static struct guard_input held(int64_t since_us, int answering, struct guard_counts c)
{
    struct guard_input in = leaving(answering, c);
    in.held_since_us = since_us;
    return in;
}

static enum guard_verdict decide(const struct guard_input *in, struct guard_decision *d)
{
    guard_decide(&g, in, d);
    return d->verdict;
}

TEST(defaults_and_settings)
{
    reset_settings();
    CHECK(g.enabled);
    CHECK_NEAR(g.fraction, 0.20, 0);
    CHECK_INT(g.min_count, 3);
    CHECK_INT(g.daily_cap, 0);
    CHECK_INT(g.answer_window_s, 1800);
    CHECK_INT(g.max_hold_s, 21600);
    char err[CONFTAB_ERR_LEN], unknown[64];
    struct guard_settings s = g;
    CHECK_INT(guard_settings_parse("{\"enabled\":false,\"fraction\":0.3,\"min_count\":5,\"bogus\":1}", &s, err,
                                   unknown, sizeof unknown), 0);
    CHECK(!s.enabled);
    CHECK_NEAR(s.fraction, 0.3, 0);
    CHECK_INT(s.min_count, 5);
    CHECK_STR(unknown, "bogus");
    struct guard_settings before = s;
    CHECK_INT(guard_settings_parse("{\"fraction\":0}", &s, err, NULL, 0), -1);
    CHECK_CONTAINS(err, "guard.fraction must be between 0.01 and 1");
    CHECK_INT(guard_settings_parse("{\"min_count\":2.5}", &s, err, NULL, 0), -1);
    CHECK_CONTAINS(err, "guard.min_count must be a whole number");
    CHECK_INT(guard_settings_parse("{\"enabled\":\"yes\"}", &s, err, NULL, 0), -1);
    CHECK_CONTAINS(err, "guard.enabled must be true or false");
    CHECK_INT(guard_settings_parse("{\"max_hold_s\":-1}", &s, err, NULL, 0), -1);
    CHECK_CONTAINS(err, "guard.max_hold_s");
    CHECK_INT(guard_settings_parse("[1]", &s, err, NULL, 0), -1);
    CHECK_CONTAINS(err, "must be a JSON object");
    CHECK_INT(guard_settings_parse("{", &s, err, NULL, 0), -1);
    CHECK_CONTAINS(err, "not valid JSON");
    CHECK(memcmp(&s, &before, sizeof s) == 0); /* refused: the old settings stay */
    CHECK_INT(guard_settings_parse("{\"enabled\":1}", &s, err, NULL, 0), 0);
    CHECK(s.enabled);
}

TEST(not_the_guards_business)
{
    reset_settings();
    struct guard_decision d;
    struct guard_counts mass = {.in_pool = 9, .held = 5};
    struct guard_input in = leaving(2, mass);
    in.score_in = true; /* staying in */
    CHECK_INT(decide(&in, &d), GUARD_FOLLOW);
    CHECK(d.in_pool && !d.held);
    in.in_pool = false; /* entering */
    CHECK_INT(decide(&in, &d), GUARD_FOLLOW);
    CHECK(d.in_pool);
    in.score_in = false; /* staying out: never pulled back in */
    CHECK_INT(decide(&in, &d), GUARD_FOLLOW);
    CHECK(!d.in_pool && !d.held);
}

TEST(fraction_exceeded_not_equalled)
{
    reset_settings();
    struct guard_decision d;
    /* 20 servers in the pool (19 others): 3 others held + this one = 4 of 20 = 20 %: not more than 20 % */
    struct guard_input in = leaving(1, (struct guard_counts){.in_pool = 19, .held = 3});
    CHECK_INT(decide(&in, &d), GUARD_FOLLOW);
    CHECK(!d.in_pool);
    CHECK_INT(d.zone_event, 4);
    CHECK_INT(d.zone_base, 20);
    CHECK_CONTAINS(d.reason, "not held: no outage: zone au 4 of 20 servers hit (20 %");
    /* 5 of 20 = 25 % */
    in.counts.held = 4;
    CHECK_INT(decide(&in, &d), GUARD_HOLD);
    CHECK(d.in_pool && d.held);
    CHECK_NEAR(d.zone_fraction, 0.25, 1e-12);
    CHECK_INT(d.zone_leaving, 5);
    CHECK_INT(d.zone_in_pool, 20);
    CHECK_CONTAINS(d.reason, "held: zone au 5 of 20 servers hit (25 %");
    CHECK_CONTAINS(d.reason, "answers 1 monitor");
    /* servers that already left count, and the base is the zone at the start of the window: 15 in + 4 left + this */
    in.counts = (struct guard_counts){.in_pool = 15, .left = 4};
    CHECK_INT(decide(&in, &d), GUARD_HOLD);
    CHECK_INT(d.zone_base, 20);
    in.counts = (struct guard_counts){.in_pool = 16, .left = 3};
    CHECK_INT(decide(&in, &d), GUARD_FOLLOW);
    /* a different fraction moves the edge: 30 % of 20 = 6; 7 of 20 is more */
    g.fraction = 0.30;
    in.counts = (struct guard_counts){.in_pool = 19, .held = 5};
    CHECK_INT(decide(&in, &d), GUARD_FOLLOW);
    in.counts.held = 6;
    CHECK_INT(decide(&in, &d), GUARD_HOLD);
}

TEST(servers_at_risk_count_as_leaving)
{
    reset_settings();
    struct guard_decision d;
    /* the first server of a cut region to fall: nobody left or held yet, but 4 others already fail from most of
     * their monitors: 5 of 20 */
    struct guard_input in = leaving(1, (struct guard_counts){.in_pool = 19, .at_risk = 4});
    CHECK_INT(decide(&in, &d), GUARD_HOLD);
    CHECK_INT(d.zone_leaving, 5);
    in.counts.at_risk = 3;
    CHECK_INT(decide(&in, &d), GUARD_FOLLOW);
    /* at risk: at least half of the monitors reporting got no good answer */
    struct guard_tally t = {0, 0};
    CHECK(!guard_tally_at_risk(&t)); /* nobody reports: unknown, not at risk */
    t = (struct guard_tally){1, 0};
    CHECK(guard_tally_at_risk(&t));
    t = (struct guard_tally){2, 1};
    CHECK(guard_tally_at_risk(&t));
    t = (struct guard_tally){3, 2};
    CHECK(!guard_tally_at_risk(&t));
    t = (struct guard_tally){3, 1};
    CHECK(guard_tally_at_risk(&t));
    t = (struct guard_tally){7, 4};
    CHECK(!guard_tally_at_risk(&t));
    t = (struct guard_tally){7, 3};
    CHECK(guard_tally_at_risk(&t));
    /* counted only for servers in the pool and not held */
    struct guard_counts c = {0};
    struct guard_member m1 = {.in_pool = true, .at_risk = true};
    struct guard_member m2 = {.in_pool = true, .held_since_us = T0, .at_risk = true};
    struct guard_member m3 = {.in_pool = false, .at_risk = true};
    guard_count(&g, &m1, T0, &c);
    guard_count(&g, &m2, T0, &c);
    guard_count(&g, &m3, T0, &c);
    CHECK_INT(c.at_risk, 1);
    CHECK_INT(c.held, 1);
    CHECK_INT(c.in_pool, 2);
}

TEST(minimum_count)
{
    reset_settings();
    struct guard_decision d;
    /* a zone of 5: 1 other held + this one = 2 of 5 (40 %) but fewer than 3 */
    struct guard_input in = leaving(1, (struct guard_counts){.in_pool = 4, .held = 1});
    CHECK_INT(decide(&in, &d), GUARD_FOLLOW);
    in.counts.held = 2; /* 3 of 5 */
    CHECK_INT(decide(&in, &d), GUARD_HOLD);
    g.min_count = 4;
    CHECK_INT(decide(&in, &d), GUARD_FOLLOW);
    in.counts.held = 3;
    CHECK_INT(decide(&in, &d), GUARD_HOLD);
    g.min_count = 1; /* a lone server in a zone of one: 1 of 1 = 100 % */
    in.counts = (struct guard_counts){0};
    CHECK_INT(decide(&in, &d), GUARD_HOLD);
}

TEST(daily_cap)
{
    reset_settings();
    struct guard_decision d;
    /* a calm zone of 100 (no outage by fraction) */
    struct guard_input in = leaving(1, (struct guard_counts){.in_pool = 90, .left = 1, .removed_today = 9});
    CHECK_INT(decide(&in, &d), GUARD_FOLLOW); /* no cap */
    in.counts.removed_today = 1000;
    CHECK_INT(decide(&in, &d), GUARD_FOLLOW);
    g.daily_cap = 10;
    in.counts.removed_today = 9;
    CHECK_INT(decide(&in, &d), GUARD_FOLLOW);
    in.counts.removed_today = 10;
    CHECK_INT(decide(&in, &d), GUARD_HOLD);
    CHECK_CONTAINS(d.reason, "held: zone au 10 servers removed today (daily cap 10)");
    in.counts.removed_today = 11;
    CHECK_INT(decide(&in, &d), GUARD_HOLD);
    /* held under the cap, the cap resets at midnight (the counts say 0 today): the outage is over */
    struct guard_input h = held(T0 - 60 * S, 1, (struct guard_counts){.in_pool = 90, .removed_today = 0});
    CHECK_INT(decide(&h, &d), GUARD_LEAVE);
    CHECK_CONTAINS(d.reason, "hold ended: the outage is over");
}

TEST(nobody_answers)
{
    reset_settings();
    struct guard_decision d;
    struct guard_counts mass = {.in_pool = 9, .held = 5};
    struct guard_input in = leaving(0, mass);
    CHECK_INT(decide(&in, &d), GUARD_FOLLOW); /* never held when no monitor reaches it */
    CHECK(!d.in_pool);
    CHECK_CONTAINS(d.reason, "not held: no monitor gets a good answer");
    struct guard_input h = held(T0 - S, 0, mass);
    CHECK_INT(decide(&h, &d), GUARD_LEAVE); /* leaves at once */
    CHECK(!d.in_pool && !d.held);
    CHECK_CONTAINS(d.reason, "hold ended: no monitor gets a good answer");
    h.answering = 1;
    CHECK_INT(decide(&h, &d), GUARD_KEEP);
    CHECK(d.in_pool && d.held);
}

TEST(longest_hold)
{
    reset_settings();
    struct guard_decision d;
    struct guard_counts mass = {.in_pool = 9, .held = 5};
    struct guard_input h = held(T0 - 21600 * S + 1, 2, mass);
    CHECK_INT(decide(&h, &d), GUARD_KEEP);
    h.held_since_us = T0 - 21600 * S;
    CHECK_INT(decide(&h, &d), GUARD_LEAVE);
    CHECK_CONTAINS(d.reason, "hold ended: held for the longest hold (21600 s)");
    g.max_hold_s = 60;
    h.held_since_us = T0 - 59 * S;
    CHECK_INT(decide(&h, &d), GUARD_KEEP);
    h.held_since_us = T0 - 60 * S;
    CHECK_INT(decide(&h, &d), GUARD_LEAVE);
}

TEST(outage_ends_and_recovered_servers)
{
    reset_settings();
    struct guard_decision d;
    /* held in a zone of 20 with 5 others held: kept */
    struct guard_input h = held(T0 - 600 * S, 1, (struct guard_counts){.in_pool = 19, .held = 5});
    CHECK_INT(decide(&h, &d), GUARD_KEEP);
    /* four of them recovered within the window: they still count, the outage goes on */
    h.counts = (struct guard_counts){.in_pool = 19, .held = 1, .recovered = 4};
    CHECK_INT(decide(&h, &d), GUARD_KEEP);
    CHECK_INT(d.zone_event, 6);
    CHECK_INT(d.zone_leaving, 2);
    /* once their recovery is older than the window they no longer count: 2 of 20 */
    h.counts = (struct guard_counts){.in_pool = 19, .held = 1};
    CHECK_INT(decide(&h, &d), GUARD_LEAVE);
    CHECK(!d.in_pool);
    CHECK_CONTAINS(d.reason, "hold ended: the outage is over: zone au 2 of 20");
    /* a held server whose score recovers is simply in again */
    h.score_in = true;
    CHECK_INT(decide(&h, &d), GUARD_RELEASE);
    CHECK(d.in_pool && !d.held);
    CHECK_STR(d.reason, "hold ended: the score recovered");
}

TEST(no_zone_deleted_and_off)
{
    reset_settings();
    struct guard_decision d;
    struct guard_counts mass = {.in_pool = 9, .held = 5};
    struct guard_input in = leaving(3, mass);
    in.zone = NULL;
    CHECK_INT(decide(&in, &d), GUARD_FOLLOW);
    CHECK_CONTAINS(d.reason, "no zone");
    in.zone = "";
    CHECK_INT(decide(&in, &d), GUARD_FOLLOW);
    in = leaving(3, mass);
    in.deleted = true;
    CHECK_INT(decide(&in, &d), GUARD_FOLLOW);
    CHECK_CONTAINS(d.reason, "deleted");
    in = leaving(3, mass);
    g.enabled = false;
    CHECK_INT(decide(&in, &d), GUARD_FOLLOW);
    CHECK_CONTAINS(d.reason, "the guard is off");
    struct guard_input h = held(T0 - S, 3, mass);
    CHECK_INT(decide(&h, &d), GUARD_LEAVE); /* turning the guard off ends every hold */
    g.enabled = true;
    h.zone = NULL; /* the zone was removed */
    CHECK_INT(decide(&h, &d), GUARD_LEAVE);
    h = held(T0 - S, 3, mass);
    h.deleted = true;
    CHECK_INT(decide(&h, &d), GUARD_LEAVE);
    /* ntpmonctl zone release: holds end, none start */
    h = held(T0 - S, 3, mass);
    h.counts.released = true;
    CHECK_INT(decide(&h, &d), GUARD_LEAVE);
    CHECK_CONTAINS(d.reason, "hold ended: the zone was released by hand");
    in = leaving(3, mass);
    in.counts.released = true;
    CHECK_INT(decide(&in, &d), GUARD_FOLLOW);
    CHECK(!d.in_pool);
}

TEST(counting_members)
{
    reset_settings();
    struct guard_counts c = {0};
    int64_t w = 1800 * S;
    struct guard_member in_plain = {.in_pool = true};
    struct guard_member in_held = {.in_pool = true, .held_since_us = T0 - 5 * S};
    struct guard_member recovered_edge = {.in_pool = true, .recovered_us = T0 - w};
    struct guard_member recovered_old = {.in_pool = true, .recovered_us = T0 - w - 1};
    struct guard_member left_edge = {.in_pool = false, .left_us = T0 - w};
    struct guard_member left_old = {.in_pool = false, .left_us = T0 - w - 1};
    struct guard_member back_in = {.in_pool = true, .left_us = T0 - 60 * S}; /* left and came back: in, not left */
    guard_count(&g, &in_plain, T0, &c);
    guard_count(&g, &in_held, T0, &c);
    guard_count(&g, &recovered_edge, T0, &c);
    guard_count(&g, &recovered_old, T0, &c);
    guard_count(&g, &left_edge, T0, &c);
    guard_count(&g, &left_old, T0, &c);
    guard_count(&g, &back_in, T0, &c);
    CHECK_INT(c.in_pool, 5);
    CHECK_INT(c.held, 1);
    CHECK_INT(c.recovered, 1);
    CHECK_INT(c.left, 1);
    CHECK_INT(c.removed_today, 3); /* left_edge, left_old and back_in left today (19:00 − 30 min) */
    /* the day starts at 00:00 UTC */
    int64_t midnight = guard_day_start(T0);
    CHECK_INT(midnight, 1795392000LL * S);
    struct guard_counts d = {0};
    struct guard_member yesterday = {.left_us = midnight - 1};
    struct guard_member today = {.left_us = midnight};
    guard_count(&g, &yesterday, T0, &d);
    guard_count(&g, &today, T0, &d);
    CHECK_INT(d.removed_today, 1);
}

/* ---- answers and the engine ---- */

static struct eng *e;

static void result(struct eng_server *s, int64_t monitor, int64_t ts, double offset, const char *error,
                   struct eng_outcome *oc)
{
    bool ok = !error || !*error;
    struct msg_result_record in = {.ts_us = ts, .has_offset = ok, .offset = offset, .has_rtt = ok, .rtt = 0.01,
                                   .stratum = 2};
    snprintf(in.error, sizeof in.error, "%s", error ? error : "");
    eng_score(e, s, monitor, &in, ts, oc);
}

TEST(answer_window)
{
    reset_settings();
    struct eng_server *s = eng_server_add(e, 100);
    struct eng_outcome oc;
    int64_t w = 1800 * S;
    result(s, 1, T0 - w, 0.001, NULL, &oc);      /* good, exactly at the window's edge */
    result(s, 2, T0 - w - 1, 0.001, NULL, &oc);  /* good, just outside */
    result(s, 3, T0 - 60 * S, 0, "timeout", &oc); /* no answer */
    result(s, 4, T0 - 120 * S, 0.001, NULL, &oc);
    result(s, 4, T0 - 60 * S, 0, "RATE", &oc);    /* answered earlier, but its latest result is an error */
    result(s, 5, T0 - 60 * S, 0.5, NULL, &oc);    /* answers with a 0.5 s offset: a negative step is no good answer */
    result(s, 6, T0 - 30 * S, 0.02, NULL, &oc);   /* good */
    int64_t ids[8];
    int n = guard_answering(e, s, T0, w, ids, 8);
    CHECK_INT(n, 2);
    CHECK_INT(ids[0], 1);
    CHECK_INT(ids[1], 6);
    CHECK_INT(guard_answering(e, s, T0 + 1, w, NULL, 0), 1); /* one µs later monitor 1 falls out */
    struct guard_tally t;
    guard_tally_server(s, T0, w, &t);
    CHECK_INT(t.monitors, 5); /* 1, 3, 4, 5, 6 reported within the window */
    CHECK_INT(t.good, 2);
    CHECK(guard_tally_at_risk(&t));
    /* a result after `now` is not seen: the latest row at or before now counts */
    result(s, 6, T0 + 10 * S, 0, "timeout", &oc);
    CHECK_INT(guard_answering(e, s, T0, w, NULL, 0), 2);
    CHECK_INT(guard_answering(e, s, T0 + 10 * S, w, NULL, 0), 0);
    eng_server_drop(e, 100);
}

struct counter {
    int calls;
    int fail;
    struct guard_counts counts;
};

static int count_fn(void *arg, const struct eng_server *s, int64_t now_us, struct guard_counts *c)
{
    (void)s;
    (void)now_us;
    struct counter *k = arg;
    k->calls++;
    if (k->fail) return -1;
    *c = k->counts;
    return 0;
}

TEST(apply_changes_the_servers_state)
{
    reset_settings();
    struct eng_server *s = eng_server_add(e, 200);
    struct eng_outcome oc;
    result(s, 1, T0 - 60 * S, 0.001, NULL, &oc);
    s->in_pool = true;
    s->zone = zone_id("au");
    struct counter k = {.counts = {.in_pool = 9, .held = 5}};
    struct guard_decision d;
    /* staying in: the counts are not even asked for */
    CHECK_INT(guard_apply(&g, e, s, true, T0, count_fn, &k, NULL, 0, &d), 0);
    CHECK_INT(k.calls, 0);
    CHECK_INT(d.verdict, GUARD_FOLLOW);
    /* would leave, answers monitor 1, zone in an outage: held */
    int64_t ids[4];
    CHECK_INT(guard_apply(&g, e, s, false, T0, count_fn, &k, ids, 4, &d), 0);
    CHECK_INT(k.calls, 1);
    CHECK_INT(d.verdict, GUARD_HOLD);
    CHECK_INT(ids[0], 1);
    CHECK_INT(s->held_since_us, T0);
    /* the counts fail (database away): nothing changes, the caller retries */
    k.fail = 1;
    CHECK_INT(guard_apply(&g, e, s, false, T0 + S, count_fn, &k, NULL, 0, &d), -1);
    CHECK_INT(s->held_since_us, T0);
    k.fail = 0;
    /* recovered */
    CHECK_INT(guard_apply(&g, e, s, true, T0 + 2 * S, count_fn, &k, NULL, 0, &d), 0);
    CHECK_INT(d.verdict, GUARD_RELEASE);
    CHECK_INT(s->held_since_us, 0);
    CHECK_INT(s->recovered_us, T0 + 2 * S);
    /* a calm zone: it leaves, and the departure is noted */
    k.counts = (struct guard_counts){.in_pool = 50};
    CHECK_INT(guard_apply(&g, e, s, false, T0 + 3 * S, count_fn, &k, NULL, 0, &d), 0);
    CHECK_INT(d.verdict, GUARD_FOLLOW);
    CHECK(!d.in_pool);
    CHECK_INT(s->left_us, T0 + 3 * S);
    /* no answer within the window: no counts needed, not held */
    int calls = k.calls;
    k.counts = (struct guard_counts){.in_pool = 9, .held = 5};
    CHECK_INT(guard_apply(&g, e, s, false, T0 + 3600 * S, count_fn, &k, NULL, 0, &d), 0);
    CHECK_INT(k.calls, calls);
    CHECK_INT(d.verdict, GUARD_FOLLOW);
    eng_server_drop(e, 200);
}

/* The engine's pool hook as the service and replay use it. */
static struct counter hook_counter;

static bool hook(void *arg, struct eng *eng, struct eng_server *s, bool score_in, int64_t ts_us)
{
    (void)arg;
    struct guard_decision d;
    if (guard_apply(&g, eng, s, score_in, ts_us, count_fn, &hook_counter, NULL, 0, &d) < 0) return score_in;
    return d.in_pool;
}

/* Three active monitors; from `fail_from` on, monitors 1 and 2 time out (monitor 3 answers unless all_fail). */
static void run_server(struct eng *eng, struct eng_server *s, bool all_fail, double *scores, bool *in_pool, int n)
{
    for (int m = 1; m <= 3; m++) eng_pair_get(s, m, true)->status = MSG_STATUS_ACTIVE;
    int k = 0;
    for (int i = 0; i < n / 3; i++) {
        for (int m = 1; m <= 3; m++) {
            int64_t ts = T0 + (int64_t)(i * 3 + m) * 60 * S;
            bool fail = i >= 30 && (m < 3 || all_fail);
            struct msg_result_record in = {.ts_us = ts, .has_offset = !fail, .offset = 0.001, .has_rtt = !fail,
                                           .rtt = 0.01 * m, .stratum = 2};
            snprintf(in.error, sizeof in.error, "%s", fail ? "timeout" : "");
            struct eng_outcome oc;
            eng_score(eng, s, m, &in, ts, &oc);
            scores[k] = oc.recorded ? oc.chosen.score : -999;
            in_pool[k++] = oc.in_pool;
        }
    }
}

TEST(engine_hook_changes_membership_only)
{
    reset_settings();
    struct eng_params p;
    eng_params_default(&p);
    struct eng *plain = eng_new(&p), *guarded = eng_new(&p);
    eng_set_pool_hook(guarded, hook, NULL);
    hook_counter = (struct counter){.counts = {.in_pool = 9, .held = 5}};
    enum { N = 150 };
    double s1[N], s2[N];
    bool p1[N], p2[N];
    struct eng_server *a = eng_server_add(plain, 1), *b = eng_server_add(guarded, 1);
    b->zone = zone_id("au");
    run_server(plain, a, false, s1, p1, N);
    run_server(guarded, b, false, s2, p2, N);
    int held_results = 0, in_plain = 0;
    for (int i = 0; i < N; i++) {
        CHECK(s1[i] == s2[i]); /* every recorded score identical */
        if (p2[i] && !p1[i]) held_results++;
        if (p1[i]) in_plain++;
    }
    CHECK(in_plain > 0);
    CHECK(!a->in_pool);
    CHECK(b->in_pool); /* monitor 3 still answers: held */
    CHECK(b->held_since_us != 0);
    CHECK(held_results > 0);

    /* the same zone, but now monitor 3 stops answering too: the held server leaves on its next result, even when
     * that result's overall score is not recorded */
    int64_t ts = T0 + (int64_t)(N + 10) * 60 * S;
    struct msg_result_record in = {.ts_us = ts, .error = "timeout", .stratum = 0};
    struct eng_outcome oc;
    eng_score(guarded, b, 3, &in, ts, &oc);
    CHECK(oc.crossed);
    CHECK(!oc.in_pool);
    CHECK(!b->in_pool);
    CHECK_INT(b->held_since_us, 0);
    CHECK_INT(b->left_us, ts);
    eng_free(plain);
    eng_free(guarded);
}

TEST(recheck)
{
    reset_settings();
    struct eng_server *s = eng_server_add(e, 300);
    struct eng_outcome oc;
    result(s, 1, T0, 0.001, NULL, &oc);
    CHECK(!eng_pool_recheck(e, s, T0)); /* not held: nothing to do */
    eng_set_pool_hook(e, hook, NULL);
    s->in_pool = true;
    s->held_since_us = T0;
    s->zone = zone_id("au");
    s->has_last = true; /* the pair has no status: no overall score was recorded by the result above */
    s->last_score = 5;
    hook_counter = (struct counter){.counts = {.in_pool = 9, .held = 5}};
    CHECK(!eng_pool_recheck(e, s, T0 + 60 * S)); /* still answers, outage goes on */
    CHECK(s->in_pool);
    CHECK(eng_pool_recheck(e, s, T0 + 21600 * S)); /* the longest hold */
    CHECK(!s->in_pool);
    CHECK_INT(s->in_pool_ts_us, T0 + 21600 * S);
    CHECK_NEAR(s->in_pool_score, 5, 0);
    eng_set_pool_hook(e, NULL, NULL);
    eng_server_drop(e, 300);
}

int main(void)
{
    struct eng_params p;
    eng_params_default(&p);
    e = eng_new(&p);
    RUN(defaults_and_settings);
    RUN(not_the_guards_business);
    RUN(fraction_exceeded_not_equalled);
    RUN(servers_at_risk_count_as_leaving);
    RUN(minimum_count);
    RUN(daily_cap);
    RUN(nobody_answers);
    RUN(longest_hold);
    RUN(outage_ends_and_recovered_servers);
    RUN(no_zone_deleted_and_off);
    RUN(counting_members);
    RUN(answer_window);
    RUN(apply_changes_the_servers_state);
    RUN(engine_hook_changes_membership_only);
    RUN(recheck);
    eng_free(e);
    return unit_done();
}
