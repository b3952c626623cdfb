/* test_pool.c — the selector's in-memory pool and its edges: scans (pairs, servers and monitors appearing and
 * disappearing), work lists (order, statuses, intervals, who gets none), their change detection, results taken
 * from the stream (valid, repeated, unknown, malformed, mismatched, out of the window), the assign seq, a
 * 10 000-server assignment that an agent can decode, a server's new address changing its monitors' work-list hash,
 * and the lazy history: stored rows loaded after the stream gave the same results summarize exactly as the eager
 * load (rows first, stream after), each result counted once. */
#include <stdio.h>
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

TEST(address_change_changes_the_hash)
{
    struct pool p;
    small_pool(&p);
    uint32_t ams = pool_monitor_by_name(&p, "nl-ams1");
    uint64_t h = pool_work_hash(&p, ams, &cfg);
    pool_upsert_server(&p, 100, "192.0.2.11", 9, false); /* the assign message lists the address */
    CHECK(p.mon[ams].dirty);
    CHECK(pool_work_hash(&p, ams, &cfg) != h);
    pool_upsert_server(&p, 100, "192.0.2.10", 9, false);
    CHECK(pool_work_hash(&p, ams, &cfg) == h);
    pool_free(&p);
}

/* One stored result: what log_scores holds and what the stream carried for it (the same result). */
struct row {
    int64_t server, monitor, ts_us;
    char ulid[27];
    double step, rtt_ms;
};

static void add_row(struct pool *p, const struct row *r, int64_t now, int window, int *added, int *dups)
{
    uint32_t s = pool_server_by_id(p, r->server), m = pool_monitor_by_id(p, r->monitor);
    uint32_t k = pool_pair_find(p, s, m, true);
    enum stats_add_result a = stats_add(&p->pairs[k].stats, r->ts_us, stats_fingerprint(r->ulid), r->step, r->rtt_ms,
                                        now, window);
    if (a == STATS_ADDED) (*added)++;
    else if (a == STATS_DUPLICATE) (*dups)++;
}

TEST(lazy_history_equals_eager)
{
    const int window = 86400, n_rows = 3000;
    const int64_t now = 1800000000LL * 1000000;
    struct row *rows = xcalloc(n_rows, sizeof *rows);
    uint32_t seed = 12345;
    for (int i = 0; i < n_rows; i++) {
        seed = seed * 1103515245u + 12345u;
        struct row *r = &rows[i];
        r->server = 100 * (1 + (int64_t)(seed >> 8) % 3);
        r->monitor = 10 + (int64_t)(seed >> 12) % 3;
        r->ts_us = now - (int64_t)((seed >> 4) % (uint32_t)(window + 3600)) * 1000000; /* some before the window */
        snprintf(r->ulid, sizeof r->ulid, "01HISTORY%017d", i);
        r->step = (seed >> 20) % 7 == 0 ? -5 : 1 - (double)((seed >> 16) % 100) / 50;
        r->rtt_ms = r->step == -5 ? 0 : 5 + (double)((seed >> 3) % 2000) / 10;
    }
    /* eager: every stored row at start, then the stream (the newest 1000, also stored, and 200 not stored yet) */
    struct pool eager, lazy;
    small_pool(&eager);
    small_pool(&lazy);
    int e_added = 0, e_dups = 0, l_added = 0, l_dups = 0, stream_added = 0, stream_dups = 0;
    for (int i = 0; i < n_rows - 200; i++) add_row(&eager, &rows[i], now, window, &e_added, &e_dups);
    for (int i = n_rows - 1200; i < n_rows; i++) add_row(&eager, &rows[i], now, window, &e_added, &e_dups);
    /* lazy: the stream first, the stored rows when the server is loaded */
    CHECK_INT(pool_history_pending(&lazy), 3);
    for (int i = n_rows - 1200; i < n_rows; i++) add_row(&lazy, &rows[i], now, window, &stream_added, &stream_dups);
    int64_t ids[8];
    size_t n = pool_history_next(&lazy, ids, 2);
    CHECK_INT(n, 2);
    for (int round = 0; round < 2; round++) {
        for (size_t k = 0; k < n; k++) {
            for (int i = 0; i < n_rows - 200; i++)
                if (rows[i].server == ids[k]) add_row(&lazy, &rows[i], now, window, &l_added, &l_dups);
            pool_history_mark(&lazy, pool_server_by_id(&lazy, ids[k]));
            pool_history_mark(&lazy, pool_server_by_id(&lazy, ids[k])); /* counted once */
        }
        if (round == 0) {
            CHECK_INT(pool_history_pending(&lazy), 1);
            int64_t first[2] = {ids[0], ids[1]};
            n = pool_history_next(&lazy, ids, 8);
            CHECK_INT(n, 1); /* only the server still without history */
            CHECK(ids[0] != first[0] && ids[0] != first[1]);
        }
    }
    CHECK_INT(pool_history_pending(&lazy), 0);
    CHECK_INT(lazy.n_history, 3);
    CHECK_INT(pool_history_next(&lazy, ids, 8), 0);
    CHECK(l_dups > 900);                                       /* the stream's results came again from the table */
    CHECK_INT(stream_added + l_added, e_added);               /* and counted once */
    CHECK_INT((int)pool_stats_entries(&lazy), (int)pool_stats_entries(&eager));
    for (int64_t sv = 100; sv <= 300; sv += 100)
        for (int64_t m = 10; m <= 12; m++) {
            struct stats_summary a, b;
            uint32_t ke = pool_pair_find(&eager, pool_server_by_id(&eager, sv), pool_monitor_by_id(&eager, m), false);
            uint32_t kl = pool_pair_find(&lazy, pool_server_by_id(&lazy, sv), pool_monitor_by_id(&lazy, m), false);
            stats_summarize(&eager.pairs[ke].stats, now, window, &a);
            stats_summarize(&lazy.pairs[kl].stats, now, window, &b);
            CHECK(a.count > 0);
            CHECK_INT(a.count, b.count);
            CHECK(a.avg_step == b.avg_step); /* exactly: the same integer sums */
            CHECK(a.avg_rtt_ms == b.avg_rtt_ms);
        }
    free(rows);
    pool_free(&eager);
    pool_free(&lazy);
}

int main(void)
{
    sel_settings_defaults(&cfg);
    RUN(work_lists);
    RUN(change_detection_and_scans);
    RUN(results_from_the_stream);
    RUN(seq_always_grows);
    RUN(large_assignment_decodes);
    RUN(address_change_changes_the_hash);
    RUN(lazy_history_equals_eager);
    return unit_done();
}
