/* test_spool.c — the on-disk spool: durability across reopen (what a restart after kill -9 sees), confirmations
 * never resurrected, torn and malformed records, the bound and its persisted drop counter, send/resend state,
 * compaction. Uses a real file in a temporary directory. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"
#include "ulid.h"
#include "unit.h"

static char dir[] = "/tmp/test_spool.XXXXXX";
static char path[256];

static void fresh(void)
{
    unlink(path);
}

static char *payload_for(const char *id, int n)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "{\"v\":1,\"id\":\"%s\",\"n\":%d}", id, n);
    return buf;
}

static struct spool *open_spool(size_t max)
{
    char err[256];
    struct spool *sp = spool_open(path, max, true, err, sizeof err);
    if (!sp) printf("# %s\n", err);
    return sp;
}

TEST(survives_reopen_and_forgets_confirmed)
{
    fresh();
    struct spool *sp = open_spool(100);
    char ids[10][ULID_LEN + 1];
    for (int i = 0; i < 10; i++) {
        ulid_new(ids[i]);
        CHECK_INT(spool_add(sp, ids[i], 1000 + i, payload_for(ids[i], i), strlen(payload_for(ids[i], i))), 0);
    }
    CHECK(spool_confirm(sp, ids[2]));
    CHECK(spool_confirm(sp, ids[7]));
    CHECK(!spool_confirm(sp, ids[7])); /* twice is a no-op */
    CHECK_INT(spool_live(sp), 8);
    /* no close: as if killed */
    struct spool *again = open_spool(100);
    spool_close(sp);
    CHECK_INT(spool_live(again), 8);
    CHECK(!spool_contains(again, ids[2]));
    CHECK(!spool_contains(again, ids[7]));
    CHECK(spool_contains(again, ids[9]));
    /* order and payloads survive */
    const struct spool_entry *e = spool_next_due(again);
    CHECK(e && strcmp(e->id, ids[0]) == 0);
    CHECK_INT(e->server_id, 1000);
    char *p = spool_payload(again, e);
    CHECK_STR(p, payload_for(ids[0], 0));
    free(p);
    spool_close(again);
}

TEST(torn_tail_and_malformed_lines_are_dropped)
{
    fresh();
    struct spool *sp = open_spool(100);
    char a[ULID_LEN + 1], b[ULID_LEN + 1];
    ulid_new(a);
    ulid_new(b);
    spool_add(sp, a, 1, "{\"x\":1}", 7);
    spool_close(sp);
    FILE *f = fopen(path, "a");
    fprintf(f, "garbage line\nR %s 2 {\"x\":2}\nR 01ARZ3NDEKTSV4RRFFQ69G5FAV 3 {\"x\":", b);
    fclose(f);
    sp = open_spool(100);
    struct spool_stats st;
    spool_get_stats(sp, &st);
    CHECK_INT(spool_live(sp), 2);
    CHECK_INT(st.torn, 1);
    CHECK_INT(st.malformed, 1);
    CHECK(spool_contains(sp, a) && spool_contains(sp, b));
    spool_close(sp);
    /* the rewrite left a clean file: nothing torn any more */
    sp = open_spool(100);
    spool_get_stats(sp, &st);
    CHECK_INT(st.torn, 0);
    CHECK_INT(st.malformed, 0);
    CHECK_INT(spool_live(sp), 2);
    spool_close(sp);
}

TEST(bound_drops_oldest_and_counts)
{
    fresh();
    struct spool *sp = open_spool(5);
    char ids[8][ULID_LEN + 1];
    for (int i = 0; i < 8; i++) {
        ulid_new(ids[i]);
        spool_add(sp, ids[i], i + 1, "{}", 2);
    }
    CHECK_INT(spool_live(sp), 5);
    CHECK_INT(spool_dropped(sp), 3);
    CHECK(!spool_contains(sp, ids[0]) && !spool_contains(sp, ids[2]) && spool_contains(sp, ids[3]));
    struct spool *again = open_spool(5);
    spool_close(sp);
    CHECK_INT(spool_dropped(again), 3);
    CHECK_INT(spool_live(again), 5);
    spool_close(again);
    /* a smaller bound at the next start drops (and counts) the excess */
    again = open_spool(2);
    CHECK_INT(spool_live(again), 2);
    CHECK_INT(spool_dropped(again), 6);
    CHECK(spool_contains(again, ids[7]));
    spool_close(again);
    again = open_spool(2);
    CHECK_INT(spool_dropped(again), 6);
    spool_close(again);
}

TEST(send_state_and_resend)
{
    fresh();
    struct spool *sp = open_spool(100);
    char ids[3][ULID_LEN + 1];
    for (int i = 0; i < 3; i++) {
        ulid_new(ids[i]);
        spool_add(sp, ids[i], 5, "{}", 2);
    }
    for (int i = 0; i < 3; i++) {
        const struct spool_entry *e = spool_next_due(sp);
        CHECK(e && strcmp(e->id, ids[i]) == 0);
        spool_mark_sent(sp, e, 1000 + i);
    }
    CHECK(spool_next_due(sp) == NULL);
    CHECK_INT(spool_expire(sp, 1500, 1000), 0);
    CHECK_INT(spool_expire(sp, 2001, 1000), 2); /* sent at 1000 and 1001 */
    const struct spool_entry *e = spool_next_due(sp);
    CHECK(e && strcmp(e->id, ids[0]) == 0);
    spool_mark_sent(sp, e, 3000);
    e = spool_next_due(sp);
    CHECK(e && strcmp(e->id, ids[1]) == 0);
    spool_mark_sent(sp, e, 3000);
    CHECK(spool_next_due(sp) == NULL);
    spool_confirm(sp, ids[1]);
    spool_mark_all_due(sp); /* a reconnect */
    int n = 0;
    while ((e = spool_next_due(sp))) {
        spool_mark_sent(sp, e, 4000);
        n++;
    }
    CHECK_INT(n, 2);
    spool_close(sp);
}

TEST(compaction_keeps_live_payloads)
{
    fresh();
    struct spool *sp = open_spool(1000000);
    char big[1200];
    memset(big, 'x', sizeof big);
    big[0] = '{';
    big[sizeof big - 2] = '}';
    big[sizeof big - 1] = '\0';
    char keep[ULID_LEN + 1];
    ulid_new(keep);
    spool_add(sp, keep, 42, big, strlen(big));
    for (int i = 0; i < 3000; i++) { /* ~3.6 MB of confirmed results: several compactions */
        char id[ULID_LEN + 1];
        ulid_new(id);
        spool_add(sp, id, 1, big, strlen(big));
        spool_confirm(sp, id);
    }
    struct spool_stats st;
    spool_get_stats(sp, &st);
    CHECK(st.compactions >= 1);
    CHECK(st.file_bytes < 2u << 20);
    CHECK_INT(spool_live(sp), 1);
    const struct spool_entry *e = spool_next_due(sp);
    CHECK(e && strcmp(e->id, keep) == 0);
    char *p = spool_payload(sp, e);
    CHECK_STR(p, big);
    free(p);
    spool_close(sp);
    sp = open_spool(1000000);
    CHECK_INT(spool_live(sp), 1);
    spool_close(sp);
}

TEST(rejects_bad_records)
{
    fresh();
    struct spool *sp = open_spool(10);
    char id[ULID_LEN + 1];
    ulid_new(id);
    CHECK_INT(spool_add(sp, "not-a-ulid", 1, "{}", 2), -1);
    CHECK_INT(spool_add(sp, id, 1, "{\n}", 3), -1); /* a newline would break the line format */
    CHECK_INT(spool_add(sp, id, 1, "{}", 2), 0);
    CHECK_INT(spool_add(sp, id, 1, "{}", 2), 0); /* the same id twice is one entry */
    CHECK_INT(spool_live(sp), 1);
    spool_close(sp);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
}

TEST(many_entries)
{
    fresh();
    struct spool *sp = open_spool(100000);
    static char ids[20000][ULID_LEN + 1];
    for (int i = 0; i < 20000; i++) {
        ulid_new(ids[i]);
        spool_add(sp, ids[i], i, "{\"a\":1}", 7);
    }
    for (int i = 0; i < 20000; i += 2) spool_confirm(sp, ids[i]);
    CHECK_INT(spool_live(sp), 10000);
    struct spool *again = open_spool(100000);
    spool_close(sp);
    CHECK_INT(spool_live(again), 10000);
    CHECK(spool_contains(again, ids[19999]) && !spool_contains(again, ids[19998]));
    spool_close(again);
}

/* Traces live in the same spool with their own record letter; a spool.log written before traces existed (R, C, D,
 * H records only) loads unchanged; compaction and reopen keep each entry's kind. */
TEST(traces_beside_results_and_old_files_load)
{
    fresh();
    char r1[ULID_LEN + 1] = "01JDQ3V5Z8N6W2K4M7P9R1T3X5", r2[ULID_LEN + 1] = "01JDQ3V5Z8N6W2K4M7P9R1T3X6", old[1024];
    int n = snprintf(old, sizeof old, "H 4\nR %s 12 {\"v\":1,\"n\":1}\nR %s 13 {\"v\":1,\"n\":2}\nC %s\n", r1, r2, r1);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK_INT(write(fd, old, (size_t)n), n);
    close(fd);
    struct spool *sp = open_spool(100);
    struct spool_stats st;
    spool_get_stats(sp, &st);
    CHECK_INT(st.malformed, 0);
    CHECK_INT(spool_live(sp), 1);
    CHECK_INT(spool_dropped(sp), 4);
    const struct spool_entry *e = spool_next_due(sp);
    CHECK(e && strcmp(e->id, r2) == 0 && e->kind == SPOOL_RESULT);
    char t[ULID_LEN + 1];
    ulid_new(t);
    const char *tj = "{\"v\":1,\"trace\":true}";
    CHECK_INT(spool_add_kind(sp, SPOOL_TRACE, t, 12, tj, strlen(tj)), 0);
    spool_close(sp);
    sp = open_spool(100); /* replay + compaction */
    CHECK_INT(spool_live(sp), 2);
    e = spool_next_due(sp);
    CHECK(e && e->kind == SPOOL_RESULT);
    spool_mark_sent(sp, e, 1);
    e = spool_next_due(sp);
    CHECK(e && strcmp(e->id, t) == 0 && e->kind == SPOOL_TRACE && e->server_id == 12);
    char *p = spool_payload(sp, e);
    CHECK_STR(p, tj);
    free(p);
    CHECK(spool_confirm(sp, t));
    spool_close(sp);
    sp = open_spool(100);
    CHECK(!spool_contains(sp, t));
    CHECK_INT(spool_live(sp), 1);
    spool_close(sp);
}

int main(void)
{
    log_set_level(LOG_LEVEL_ERROR);
    if (!mkdtemp(dir)) return 1;
    snprintf(path, sizeof path, "%s/spool.log", dir);
    RUN(survives_reopen_and_forgets_confirmed);
    RUN(torn_tail_and_malformed_lines_are_dropped);
    RUN(bound_drops_oldest_and_counts);
    RUN(send_state_and_resend);
    RUN(compaction_keeps_live_payloads);
    RUN(rejects_bad_records);
    RUN(many_entries);
    RUN(traces_beside_results_and_old_files_load);
    unlink(path);
    rmdir(dir);
    return unit_done();
}
