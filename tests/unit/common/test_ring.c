/* test_ring.c — common/ring: FIFO order across wrap-around, growth only when full (doubling, up to the maximum),
 * shrinking when drained to a quarter (halving, down to the minimum) with the gap that keeps a steady queue from
 * reallocating, and the full ring refusing a push. */
#include "ring.h"
#include "unit.h"

static void push_n(struct ring *r, int from, int n)
{
    for (int i = 0; i < n; i++) {
        int *slot = ring_push(r);
        if (!slot) {
            UNIT_FAIL("push %d refused at len %zu", from + i, r->len);
            return;
        }
        *slot = from + i;
    }
}

static void check_order(const struct ring *r, int first)
{
    for (size_t i = 0; i < ring_len(r); i++) {
        int v = *(int *)ring_at(r, i);
        if (v != first + (int)i) {
            UNIT_FAIL("element %zu is %d, want %d", i, v, first + (int)i);
            return;
        }
    }
}

TEST(fifo_across_wraparound)
{
    struct ring r;
    ring_init(&r, sizeof(int), 8, 1000);
    push_n(&r, 0, 6);
    ring_pop(&r, 5); /* head moves on; 1 left, cap 8 stays at the minimum */
    push_n(&r, 6, 7); /* wraps round the end of the buffer: 8 queued, cap 8 */
    CHECK_INT(r.cap, 8);
    CHECK_INT(ring_len(&r), 8);
    check_order(&r, 5);
    push_n(&r, 13, 1); /* full: grows to 16, the wrapped elements copied in order */
    CHECK_INT(r.cap, 16);
    check_order(&r, 5);
    ring_free(&r);
}

TEST(grows_with_use_up_to_the_maximum)
{
    struct ring r;
    ring_init(&r, sizeof(int), 4, 100);
    CHECK_INT(r.cap, 4);
    push_n(&r, 0, 4);
    CHECK_INT(r.cap, 4); /* full, but nothing more asked for: no growth yet */
    push_n(&r, 4, 1);
    CHECK_INT(r.cap, 8);
    push_n(&r, 5, 60);
    CHECK_INT(r.cap, 100); /* 65 queued: 64 would double to 128, capped at 100 */
    push_n(&r, 65, 35);
    CHECK_INT(ring_len(&r), 100);
    CHECK(ring_full(&r));
    CHECK(ring_push(&r) == NULL); /* the caller drops the oldest first */
    ring_pop(&r, 1);
    int *slot = ring_push(&r);
    CHECK(slot != NULL);
    if (slot) *slot = 100;
    check_order(&r, 1);
    ring_free(&r);
}

TEST(shrinks_when_drained_with_hysteresis)
{
    struct ring r;
    ring_init(&r, sizeof(int), 16, 1 << 20);
    push_n(&r, 0, 10000); /* an outage's backlog */
    CHECK_INT(r.cap, 16384);
    ring_pop(&r, 5000); /* 5000 of 16384: more than a quarter, keeps its size */
    CHECK_INT(r.cap, 16384);
    ring_pop(&r, 1000); /* 4000 ≤ 4096: halves (and no further: 4000 > 8192 / 4) */
    CHECK_INT(r.cap, 8192);
    check_order(&r, 6000);
    /* hovering around one size does not reallocate: up to the cap, down to just above a quarter */
    push_n(&r, 10000, 4192); /* 8192 queued: full, no growth until one more */
    CHECK_INT(r.cap, 8192);
    ring_pop(&r, 6000);      /* 2192 > 2048 */
    CHECK_INT(r.cap, 8192);
    check_order(&r, 12000);
    ring_pop(&r, ring_len(&r)); /* drained: back to the minimum in one step */
    CHECK_INT(r.cap, 16);
    CHECK_INT(ring_len(&r), 0);
    push_n(&r, 0, 3);
    check_order(&r, 0);
    ring_free(&r);
}

TEST(minimum_and_maximum_are_sane)
{
    struct ring r;
    ring_init(&r, sizeof(int), 0, 0); /* at least one slot */
    CHECK_INT(r.cap, 1);
    push_n(&r, 7, 1);
    CHECK(ring_push(&r) == NULL);
    CHECK_INT(*(int *)ring_at(&r, 0), 7);
    ring_pop(&r, 5); /* more than queued: empties */
    CHECK_INT(ring_len(&r), 0);
    ring_free(&r);
}

int main(void)
{
    RUN(fifo_across_wraparound);
    RUN(grows_with_use_up_to_the_maximum);
    RUN(shrinks_when_drained_with_hysteresis);
    RUN(minimum_and_maximum_are_sane);
    return unit_done();
}
