/* test_dbrows.c — the chunk plan of common/dbrows (the statements themselves run against MariaDB in the ingest
 * and scorer integration tests): power-of-two chunks for writes, padded chunks for IN lists, whole statements. */
#include "dbrows.h"
#include "unit.h"

/* The chunks (statement rows) a list of n rows becomes; returns how many, fills rows[] and takes[]. */
static size_t plan(const struct dbrows *st, size_t n, size_t *rows, size_t *takes)
{
    size_t k = 0;
    for (size_t at = 0; at < n;) {
        size_t take;
        rows[k] = dbrows_chunk(st, n - at, &take);
        takes[k++] = take;
        at += take;
    }
    return k;
}

TEST(pow2_writes)
{
    struct dbrows st = {.columns = 5, .max_rows = 256};
    size_t rows[16], takes[16];
    /* 500 = 256 + 128 + 64 + 32 + 16 + 4: never more rows than there are, never a non-power of two */
    size_t k = plan(&st, 500, rows, takes);
    CHECK_INT(k, 6);
    size_t want[] = {256, 128, 64, 32, 16, 4}, sum = 0;
    for (size_t i = 0; i < k && i < 6; i++) {
        CHECK_INT(rows[i], want[i]);
        CHECK_INT(takes[i], want[i]);
        sum += takes[i];
    }
    CHECK_INT(sum, 500);
    CHECK_INT(plan(&st, 1, rows, takes), 1);
    CHECK_INT(rows[0], 1);
}

TEST(pow2_writes_long)
{
    struct dbrows st = {.columns = 9, .max_rows = 256};
    size_t rows[32], takes[32], sum = 0;
    size_t k = plan(&st, 1000, rows, takes);
    for (size_t i = 0; i < k; i++) {
        CHECK(rows[i] == takes[i]);
        CHECK((rows[i] & (rows[i] - 1)) == 0);
        CHECK(rows[i] <= 256);
        sum += takes[i];
    }
    CHECK_INT(sum, 1000);
    CHECK_INT(k, 3 + 4); /* 256 × 3, then 232 = 128 + 64 + 32 + 8 */
}

TEST(padded_in_lists)
{
    struct dbrows st = {.columns = 1, .max_rows = 256, .pad = true};
    size_t rows[8], takes[8];
    /* 300 ids: 256, then 44 ids in a 64-row statement (the first id repeated) */
    CHECK_INT(plan(&st, 300, rows, takes), 2);
    CHECK_INT(rows[0], 256);
    CHECK_INT(takes[0], 256);
    CHECK_INT(rows[1], 64);
    CHECK_INT(takes[1], 44);
    CHECK_INT(plan(&st, 3, rows, takes), 1);
    CHECK_INT(rows[0], 4);
    CHECK_INT(takes[0], 3);
}

TEST(bulk_writes)
{
    /* bulk execution: one single-row statement for up to max_rows rows a round trip */
    struct dbrows st = {.columns = 9, .max_rows = 2000, .chunking = DBROWS_BULK};
    size_t rows[8], takes[8];
    CHECK_INT(plan(&st, 11, rows, takes), 1);
    CHECK_INT(takes[0], 11);
    CHECK_INT(plan(&st, 4500, rows, takes), 3);
    CHECK_INT(takes[2], 500);
}

int main(void)
{
    RUN(pow2_writes);
    RUN(pow2_writes_long);
    RUN(padded_in_lists);
    RUN(bulk_writes);
    return unit_done();
}
