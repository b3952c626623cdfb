/* test_confirm.c — confirmations are grouped per publishing monitor, only for entries with an outcome and an id,
 * kept while the broker is unreachable, and bounded (oldest dropped first). */
#include <string.h>

#include "confirm.h"
#include "evloop.h"
#include "unit.h"

static void add(struct batch *b, const char *publisher, const char *id, enum entry_outcome outcome)
{
    struct entry *e = &b->entries[b->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->publisher, sizeof e->publisher, "%s", publisher);
    snprintf(e->rec.id, sizeof e->rec.id, "%s", id);
    e->outcome = outcome;
}

TEST(groups_and_keeps_while_disconnected)
{
    struct evloop *loop = evloop_new();
    struct mqtt_config cfg = {.url = "mqtt://127.0.0.1:1", .client_id = "t"};
    char err[256];
    struct mqtt_session *s = mqtt_session_new(loop, &cfg, NULL, NULL, err, sizeof err);
    CHECK(s != NULL);
    struct confirm *c = confirm_new("test", 100);
    struct batch *b = batch_new(8);
    add(b, "a", "01JD0000000000000000000001", OUTCOME_STORED);
    add(b, "b", "01JD0000000000000000000002", OUTCOME_STORED);
    add(b, "a", "01JD0000000000000000000003", OUTCOME_REJECTED);
    add(b, "a", "", OUTCOME_REJECTED);                            /* no readable id: nobody to tell */
    add(b, "", "01JD0000000000000000000005", OUTCOME_REJECTED);   /* no publisher */
    add(b, "a", "01JD0000000000000000000006", OUTCOME_PENDING);   /* not committed: never confirmed */
    confirm_batch(c, b);
    CHECK_INT(confirm_pending(c), 3);
    CHECK_INT(confirm_flush(c, s), 0); /* not connected: kept */
    CHECK_INT(confirm_pending(c), 3);
    for (size_t i = 0; i < b->n; i++) memset(&b->entries[i], 0, sizeof b->entries[i]);
    b->n = 0;
    batch_free(b);
    confirm_free(c);
    mqtt_session_free(s);
    evloop_free(loop);
}

TEST(bounded_oldest_dropped)
{
    struct confirm *c = confirm_new("test", 5);
    for (int round = 0; round < 4; round++) {
        struct batch *b = batch_new(4);
        char id[ULID_LEN + 1] = "01JD0000000000000000000000";
        for (int i = 0; i < 2; i++) {
            id[24] = (char)('0' + round);
            id[25] = (char)('0' + i);
            add(b, "m", id, OUTCOME_STORED);
        }
        confirm_batch(c, b);
        for (size_t i = 0; i < b->n; i++) memset(&b->entries[i], 0, sizeof b->entries[i]);
        b->n = 0;
        batch_free(b);
    }
    CHECK_INT(confirm_pending(c), 4); /* 8 queued, bound 5: the two oldest messages of 2 went */
    confirm_free(c);
}

int main(void)
{
    RUN(groups_and_keeps_while_disconnected);
    RUN(bounded_oldest_dropped);
    return unit_done();
}
