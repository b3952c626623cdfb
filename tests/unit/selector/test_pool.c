/* test_pool.c — the selector's in-memory pool and its edges: scans (pairs, servers and monitors appearing and
 * disappearing), work lists (order, statuses, intervals, who gets none), their change detection, results taken
 * from the stream (valid, repeated, unknown, malformed, mismatched, out of the window), the assign seq, and a
 * 10 000-server assignment that an agent can decode. */
#include <stdlib.h>

#include "pool.h"
#include "publish.h"
#include "results.h"
#include "timeutil.h"
#include "unit.h"
#include "xalloc.h"

static struct sel_settings cfg;

static void small_pool(struct pool *p)
{
    pool_init(p);
    pool_scan_begin(p);
    pool_upsert_monitor(p, 10, "nl-ams1", SEL_MON_ACTIVE, 1, "198.51.100.7", "2001:db8:1::7");
    pool_upsert_monitor(p, 11, "us-lax1", SEL_MON_TESTING, 2, "203.0.113.9", NULL);
    pool_upsert_monitor(p, 12, "de-fra1", SEL_MON_PAUSED, 3, "192.0.2.99", NULL);
    pool_upsert_server(p, 300, "192.0.2.30", 9, false);
    pool_upsert_server(p, 100, "192.0.2.10", 9, false);
    pool_upsert_server(p, 200, "192.0.2.20", 9, false);
    for (int64_t s = 100; s <= 300; s += 100)
        for (int64_t m = 10; m <= 12; m++) pool_upsert_pair(p, s, m, MSG_STATUS_CANDIDATE);
    pool_upsert_pair(p, 100, 10, MSG_STATUS_ACTIVE);
    pool_upsert_pair(p, 200, 10, MSG_STATUS_TESTING);
    pool_upsert_pair(p, 100, 11, MSG_STATUS_ACTIVE);
    pool_scan_end(p);
}

TEST(work_lists)
{
    struct pool p;
    small_pool(&p);
    uint32_t ams = pool_monitor_by_name(&p, "nl-ams1");
    struct msg_assign a;
    pool_work_list(&p, ams, &cfg, &a);
    CHECK_INT(a.n_servers, 3);
    CHECK_INT(a.servers[0].id, 100); /* in server id order */
    CHECK_INT(a.servers[2].id, 300);
    CHECK_STR(a.servers[0].ip, "192.0.2.10");
    CHECK_INT(a.servers[0].status, MSG_STATUS_ACTIVE);
    CHECK_INT(a.servers[0].interval_s, 540);  /* active, globally active */
    CHECK_INT(a.servers[1].interval_s, 2700); /* testing */
    CHECK_INT(a.servers[2].interval_s, 7200); /* candidate */
    CHECK_INT(a.servers[2].samples, 3);
    msg_assign_free(&a);
    pool_work_list(&p, pool_monitor_by_name(&p, "us-lax1"), &cfg, &a);
    CHECK_INT(a.servers[0].interval_s, 2700); /* active, but the monitor is only globally testing */
    msg_assign_free(&a);
    pool_work_list(&p, pool_monitor_by_name(&p, "de-fra1"), &cfg, &a);
    CHECK_INT(a.n_servers, 0); /* a globally paused monitor gets no work */
    msg_assign_free(&a);
    pool_free(&p);
}

TEST(change_detection_and_scans)
{
    struct pool p;
    small_pool(&p);
    uint32_t ams = pool_monitor_by_name(&p, "nl-ams1"), lax = pool_monitor_by_name(&p, "us-lax1");
    uint64_t h = pool_work_hash(&p, ams, &cfg), hl = pool_work_hash(&p, lax, &cfg);
    CHECK(!p.mon[ams].dirty);
    pool_set_status(&p, 300, 10, MSG_STATUS_CANDIDATE); /* no change */
    CHECK(!p.mon[ams].dirty);
    pool_set_status(&p, 300, 10, MSG_STATUS_TESTING);
    CHECK(p.mon[ams].dirty);
    CHECK(pool_work_hash(&p, ams, &cfg) != h);
    pool_set_status(&p, 300, 10, MSG_STATUS_CANDIDATE);
    CHECK(pool_work_hash(&p, ams, &cfg) == h); /* same list, same hash */
    /* a rescan where server 200 is deleted and pair (300, us-lax1) is gone */
    pool_scan_begin(&p);
    pool_upsert_monitor(&p, 10, "nl-ams1", SEL_MON_ACTIVE, 1, "198.51.100.7", "2001:db8:1::7");
    pool_upsert_monitor(&p, 11, "us-lax1", SEL_MON_TESTING, 2, "203.0.113.9", NULL);
    pool_upsert_server(&p, 100, "192.0.2.10", 9, false);
    pool_upsert_server(&p, 200, "192.0.2.20", 9, true);
    pool_upsert_server(&p, 300, "192.0.2.30", 9, false);
    pool_upsert_pair(&p, 100, 10, MSG_STATUS_ACTIVE);
    pool_upsert_pair(&p, 200, 10, MSG_STATUS_TESTING);
    pool_upsert_pair(&p, 300, 10, MSG_STATUS_CANDIDATE);
    pool_upsert_pair(&p, 100, 11, MSG_STATUS_ACTIVE);
    pool_upsert_pair(&p, 200, 11, MSG_STATUS_CANDIDATE);
    pool_scan_end(&p);
    CHECK(p.mon[ams].dirty && p.mon[lax].dirty);
    struct msg_assign a;
    pool_work_list(&p, ams, &cfg, &a);
    CHECK_INT(a.n_servers, 2); /* the deleted server left */
    msg_assign_free(&a);
    pool_work_list(&p, lax, &cfg, &a);
    CHECK_INT(a.n_servers, 1); /* (200 deleted, 300 pair gone) */
    msg_assign_free(&a);
    CHECK(pool_work_hash(&p, lax, &cfg) != hl);
    CHECK_INT(p.mon[pool_monitor_by_id(&p, 12)].status, SEL_MON_DELETED); /* its row is gone */
    /* a rename: the old name no longer finds the monitor */
    pool_upsert_monitor(&p, 11, "us-lax2", SEL_MON_TESTING, 2, "203.0.113.9", NULL);
    CHECK_INT(pool_monitor_by_name(&p, "us-lax1"), IDMAP_NONE);
    CHECK_INT(pool_monitor_by_name(&p, "us-lax2"), lax);
    pool_free(&p);
}

static char *result_json(const char *monitor, int64_t server_id, const char *id, int64_t ts_us, const char *error)
{
    char ts[TIME_RFC3339_LEN];
    time_format_rfc3339(ts_us, ts);
    if (*error)
        return xasprintf("{\"v\":1,\"id\":\"%s\",\"monitor\":\"%s\",\"server_id\":%lld,\"ip\":\"192.0.2.10\",\"ts\":\"%s\","
                         "\"stratum\":0,\"leap\":0,\"refid\":\"\",\"error\":\"%s\",\"samples\":[{\"ts\":\"%s\",\"stratum\":0,"
                         "\"leap\":0,\"refid\":\"\",\"error\":\"%s\"}]}",
                         id, monitor, (long long)server_id, ts, error, ts, error);
    return xasprintf("{\"v\":1,\"id\":\"%s\",\"monitor\":\"%s\",\"server_id\":%lld,\"ip\":\"192.0.2.10\",\"ts\":\"%s\","
                     "\"offset\":0.001,\"rtt\":0.02,\"stratum\":2,\"leap\":0,\"refid\":\"GPS\",\"error\":\"\",\"samples\":"
                     "[{\"ts\":\"%s\",\"offset\":0.001,\"rtt\":0.02,\"stratum\":2,\"leap\":0,\"refid\":\"GPS\",\"error\":\"\"}]}",
                     id, monitor, (long long)server_id, ts, ts);
}

TEST(results_from_the_stream)
{
    struct pool p;
    small_pool(&p);
    int64_t now = 1800000000LL * 1000000;
    char err[MSG_ERR_LEN];
    const char *topic = "ntpmon/test/results/100/nl-ams1";
    char *good = result_json("nl-ams1", 100, "01JD3XK5Q9M7Z8Y6W4V2T0S1R3", now - 60000000, "");
    char *timeout = result_json("nl-ams1", 100, "01JD3XK5Q9M7Z8Y6W4V2T0S1R4", now - 30000000, "timeout");
    CHECK_INT(results_ingest(&p, "test", topic, good, strlen(good), now, 86400, err), RESULTS_ADDED);
    CHECK_INT(results_ingest(&p, "test", topic, good, strlen(good), now, 86400, err), RESULTS_DUPLICATE);
    CHECK_INT(results_ingest(&p, "test", topic, timeout, strlen(timeout), now, 86400, err), RESULTS_ADDED);
    uint32_t k = pool_pair_find(&p, pool_server_by_id(&p, 100), pool_monitor_by_name(&p, "nl-ams1"), false);
    struct stats_summary s;
    stats_summarize(&p.pairs[k].stats, now, 86400, &s);
    CHECK_INT(s.count, 2);
    CHECK_NEAR(s.avg_step, (1 - 5) / 2.0, 1e-3);  /* the common step function: +1, −5 */
    CHECK_NEAR(s.avg_rtt_ms, (20 + 0) / 2.0, 0.1); /* no response counts as rtt 0 */
    CHECK_INT(results_ingest(&p, "test", "ntpmon/test/results/100/xx-nope1", good, strlen(good), now, 86400, err),
              RESULTS_INVALID); /* the topic names another monitor than the payload */
    CHECK_CONTAINS(err, "does not match");
    CHECK_INT(results_ingest(&p, "test", topic, "{\"v\":1", 6, now, 86400, err), RESULTS_INVALID);
    CHECK_CONTAINS(err, "invalid JSON");
    char *unknown_mon = result_json("xx-nope1", 100, "01JD3XK5Q9M7Z8Y6W4V2T0S1R5", now, "");
    CHECK_INT(results_ingest(&p, "test", "ntpmon/test/results/100/xx-nope1", unknown_mon, strlen(unknown_mon), now,
                             86400, err), RESULTS_UNKNOWN_MONITOR);
    char *unknown_srv = result_json("nl-ams1", 999, "01JD3XK5Q9M7Z8Y6W4V2T0S1R6", now, "");
    CHECK_INT(results_ingest(&p, "test", "ntpmon/test/results/999/nl-ams1", unknown_srv, strlen(unknown_srv), now,
                             86400, err), RESULTS_UNKNOWN_SERVER);
    char *old = result_json("nl-ams1", 100, "01JD3XK5Q9M7Z8Y6W4V2T0S1R7", now - 90000LL * 1000000, "");
    CHECK_INT(results_ingest(&p, "test", topic, old, strlen(old), now, 86400, err), RESULTS_OUT_OF_WINDOW);
    /* a monitor/server without a pair row still gets statistics (the row may come with the next scan) */
    pool_upsert_server(&p, 400, "192.0.2.40", 9, false);
    char *nopair = result_json("nl-ams1", 400, "01JD3XK5Q9M7Z8Y6W4V2T0S1R8", now, "");
    CHECK_INT(results_ingest(&p, "test", "ntpmon/test/results/400/nl-ams1", nopair, strlen(nopair), now, 86400, err),
              RESULTS_ADDED);
    k = pool_pair_find(&p, pool_server_by_id(&p, 400), pool_monitor_by_name(&p, "nl-ams1"), false);
    CHECK(k != IDMAP_NONE);
    CHECK_INT(p.pairs[k].status, MSG_STATUS_NONE);
    struct msg_assign a;
    pool_work_list(&p, pool_monitor_by_name(&p, "nl-ams1"), &cfg, &a);
    CHECK_INT(a.n_servers, 3); /* a statistics-only pair is no work */
    msg_assign_free(&a);
    free(good);
    free(timeout);
    free(unknown_mon);
    free(unknown_srv);
    free(old);
    free(nopair);
    pool_free(&p);
}

TEST(seq_always_grows)
{
    struct publisher pb;
    publisher_init(&pb, NULL, NULL, "test");
    int64_t a = publisher_next_seq(&pb, 1800000000000000LL);
    int64_t b = publisher_next_seq(&pb, 1800000000000000LL); /* same ms */
    int64_t c = publisher_next_seq(&pb, 1700000000000000LL); /* the clock stepped back */
    CHECK_INT(a, 1800000000000LL);
    CHECK_INT(b, a + 1);
    CHECK_INT(c, a + 2);
    pb.last_seq = 0;
    CHECK_INT(publisher_next_seq(&pb, 1800000000123456LL), 1800000000123LL);
}

TEST(large_assignment_decodes)
{
    struct pool p;
    pool_init(&p);
    pool_scan_begin(&p);
    pool_upsert_monitor(&p, 1, "big-one", SEL_MON_ACTIVE, 1, "198.51.100.7", NULL);
    for (int i = 1; i <= 10000; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.%d.%d.%d", i / 65536, (i / 256) % 256, i % 256);
        pool_upsert_server(&p, i, ip, 2, false);
        pool_upsert_pair(&p, i, 1, i % 100 == 0 ? MSG_STATUS_ACTIVE : MSG_STATUS_CANDIDATE);
    }
    pool_scan_end(&p);
    struct msg_assign a, back;
    pool_work_list(&p, 0, &cfg, &a);
    a.seq = 1;
    a.ts_us = 1800000000000000LL;
    char *json = msg_assign_encode(&a);
    CHECK(strlen(json) > 65536);
    char err[MSG_ERR_LEN];
    CHECK_INT(msg_assign_decode(json, strlen(json), &back, err), 0);
    CHECK_INT(back.n_servers, 10000);
    CHECK_INT(back.servers[99].status, MSG_STATUS_ACTIVE);
    CHECK_INT(back.servers[99].interval_s, 540);
    free(json);
    msg_assign_free(&a);
    msg_assign_free(&back);
    pool_free(&p);
}

int main(void)
{
    sel_settings_defaults(&cfg);
    RUN(work_lists);
    RUN(change_detection_and_scans);
    RUN(results_from_the_stream);
    RUN(seq_always_grows);
    RUN(large_assignment_decodes);
    return unit_done();
}
