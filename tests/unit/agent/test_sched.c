/* test_sched.c — probe scheduling: first-probe spread and start floor, jitter bounds, the min-interval rule, and
 * assignment merges (added/removed/changed, duplicates, address changes, remove + re-add keeps the last probe). */
#include <stdlib.h>
#include <string.h>

#include "sched.h"
#include "timeutil.h"
#include "unit.h"

#define S 1000000LL

static const struct sched_config cfg = {.min_interval_us = 60 * S, .jitter = 0.1, .first_max_us = 600 * S,
                                        .start_floor_us = 0};

TEST(first_probe_is_spread_over_the_interval)
{
    CHECK_INT(sched_next_due(&cfg, 1000 * S, 0, 540 * S, 0.0), 1000 * S);
    CHECK_INT(sched_next_due(&cfg, 1000 * S, 0, 540 * S, 0.5), 1270 * S);
    /* long intervals are capped by first_max */
    CHECK_INT(sched_next_due(&cfg, 1000 * S, 0, 7200 * S, 0.5), 1300 * S);
}

TEST(start_floor_delays_never_probed_servers)
{
    struct sched_config c = cfg;
    c.start_floor_us = 1060 * S; /* start + min interval */
    CHECK_INT(sched_next_due(&c, 1000 * S, 0, 540 * S, 0.0), 1060 * S);
    CHECK_INT(sched_next_due(&c, 1000 * S, 0, 540 * S, 0.5), 1330 * S);
    CHECK_INT(sched_next_due(&c, 2000 * S, 0, 540 * S, 0.0), 2000 * S); /* later on the floor is past */
}

TEST(jitter_stays_within_bounds)
{
    for (double u = 0; u < 1; u += 0.01) {
        int64_t due = sched_next_due(&cfg, 1000 * S, 1000 * S, 540 * S, u);
        CHECK(due >= 1000 * S + 486 * S && due <= 1000 * S + 594 * S);
    }
    CHECK_INT(sched_next_due(&cfg, 1000 * S, 1000 * S, 540 * S, 0.5), 1540 * S);
}

TEST(never_closer_than_min_interval)
{
    /* a 10 s interval is stretched to the 60 s minimum */
    CHECK_INT(sched_next_due(&cfg, 1000 * S, 1000 * S, 10 * S, 0.0), 1060 * S);
    CHECK_INT(sched_next_due(&cfg, 1000 * S, 1000 * S, 10 * S, 0.99), 1060 * S);
    /* and a due time in the past becomes now */
    CHECK_INT(sched_next_due(&cfg, 5000 * S, 1000 * S, 540 * S, 0.5), 5000 * S);
}

static int due_calls;
static void on_due(struct sched *s, struct sched_server *srv, void *arg)
{
    (void)s;
    (void)srv;
    (void)arg;
    due_calls++;
}
static int removed_busy;
static void on_removed(struct sched *s, struct sched_server *srv, void *arg)
{
    (void)s;
    (void)srv;
    (void)arg;
    removed_busy++;
}

static struct msg_assign make(int n, const int64_t *ids, const char *const *ips, const int *intervals)
{
    struct msg_assign a = {.seq = 1, .n_servers = (size_t)n};
    a.servers = calloc((size_t)n, sizeof *a.servers);
    for (int i = 0; i < n; i++) {
        a.servers[i].id = ids[i];
        strcpy(a.servers[i].ip, ips[i]);
        a.servers[i].status = MSG_STATUS_ACTIVE;
        a.servers[i].interval_s = intervals[i];
        a.servers[i].samples = 3;
    }
    return a;
}

TEST(apply_merges_by_id)
{
    struct evloop *loop = evloop_new();
    struct sched *s = sched_new(loop, &cfg, on_due, on_removed, NULL);
    struct sched_apply_stats st;
    int64_t ids1[] = {30, 10, 20};
    const char *ips1[] = {"192.0.2.3", "192.0.2.1", "192.0.2.2"};
    int iv1[] = {540, 540, 540};
    struct msg_assign a1 = make(3, ids1, ips1, iv1);
    sched_apply(s, &a1, &st);
    CHECK_INT(st.added, 3);
    CHECK_INT(st.total, 3);
    CHECK_INT(sched_at(s, 0)->id, 10);
    CHECK_INT(sched_at(s, 2)->id, 30);
    CHECK(sched_find(s, 20) != NULL);
    CHECK(sched_find(s, 25) == NULL);

    /* 10 goes, 20 changes interval, 30 changes address, 40 arrives, 40 twice */
    sched_probe_started(s, sched_find(s, 10), NULL);
    int64_t ids2[] = {20, 30, 40, 40};
    const char *ips2[] = {"192.0.2.2", "192.0.2.33", "2001:db8::4", "2001:db8::5"};
    int iv2[] = {2700, 540, 7200, 7200};
    struct msg_assign a2 = make(4, ids2, ips2, iv2);
    sched_apply(s, &a2, &st);
    CHECK_INT(st.removed, 2); /* 10, and 30's old address */
    CHECK_INT(st.added, 2);   /* 30's new address, 40 */
    CHECK_INT(st.changed, 1); /* 20 */
    CHECK_INT(st.duplicates, 1);
    CHECK_INT(st.total, 3);
    CHECK_INT(removed_busy, 1); /* 10 had a probe in flight: the owner was asked to cancel it */
    CHECK_STR(sched_find(s, 30)->ip, "192.0.2.33");
    CHECK_STR(sched_find(s, 40)->ip, "2001:db8::4");
    CHECK_INT(sched_find(s, 20)->interval_us, 2700 * S);
    CHECK(evloop_timer_active(&sched_find(s, 40)->timer));
    sched_free(s);
    evloop_free(loop);
    free(a1.servers);
    free(a2.servers);
}

TEST(removed_and_readded_keeps_its_last_probe)
{
    struct evloop *loop = evloop_new();
    struct sched *s = sched_new(loop, &cfg, on_due, on_removed, NULL);
    struct sched_apply_stats st;
    int64_t ids[] = {7};
    const char *ips[] = {"192.0.2.7"};
    int iv[] = {540};
    struct msg_assign a = make(1, ids, ips, iv);
    sched_apply(s, &a, &st);
    struct sched_server *srv = sched_find(s, 7);
    sched_probe_started(s, srv, NULL);
    int64_t probed = srv->last_probe_us;
    sched_probe_done(s, srv);
    struct msg_assign empty = {.seq = 2};
    sched_apply(s, &empty, &st);
    CHECK_INT(sched_count(s), 0);
    sched_apply(s, &a, &st);
    srv = sched_find(s, 7);
    CHECK(srv != NULL);
    CHECK_INT(srv->last_probe_us, probed);
    /* so its next probe is at least a min interval after the last one */
    CHECK(srv->timer.due_us >= probed + 60 * S);
    sched_free(s);
    evloop_free(loop);
    free(a.servers);
}

TEST(held_servers_are_released)
{
    struct evloop *loop = evloop_new();
    struct sched_config c = cfg;
    c.min_interval_us = S / 100;
    c.first_max_us = S / 100;
    struct sched *s = sched_new(loop, &c, on_due, on_removed, NULL);
    struct sched_apply_stats st;
    int64_t ids[] = {1, 2};
    const char *ips[] = {"192.0.2.1", "192.0.2.2"};
    int iv[] = {1, 1};
    struct msg_assign a = make(2, ids, ips, iv);
    sched_apply(s, &a, &st);
    due_calls = 0;
    int64_t end = time_mono_us() + S;
    while (due_calls < 2 && time_mono_us() < end) evloop_run_once(loop, 10000);
    CHECK_INT(due_calls, 2);
    sched_hold(s, sched_at(s, 0));
    sched_hold(s, sched_at(s, 1));
    sched_release_held(s, NULL, NULL);
    CHECK(!sched_at(s, 0)->held && evloop_timer_active(&sched_at(s, 0)->timer));
    end = time_mono_us() + S;
    while (due_calls < 4 && time_mono_us() < end) evloop_run_once(loop, 10000);
    CHECK_INT(due_calls, 4);
    sched_free(s);
    evloop_free(loop);
    free(a.servers);
}

int main(void)
{
    RUN(first_probe_is_spread_over_the_interval);
    RUN(start_floor_delays_never_probed_servers);
    RUN(jitter_stays_within_bounds);
    RUN(never_closer_than_min_interval);
    RUN(apply_merges_by_id);
    RUN(removed_and_readded_keeps_its_last_probe);
    RUN(held_servers_are_released);
    return unit_done();
}
