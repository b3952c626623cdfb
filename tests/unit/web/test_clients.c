/* test_clients.c — the token bucket (rate, burst, the wait it reports) and the client table (IPv6 keyed by /64,
 * growth, expiry that spares entries still in use). */
#include "clients.h"
#include "unit.h"

TEST(bucket)
{
    struct bucket b = {0};
    int64_t t = 1000000;
    /* burst 3 at 1 a second: three at once, then one a second */
    CHECK_INT(bucket_take(&b, 1, 3, t), 0);
    CHECK_INT(bucket_take(&b, 1, 3, t), 0);
    CHECK_INT(bucket_take(&b, 1, 3, t), 0);
    int64_t wait = bucket_take(&b, 1, 3, t);
    CHECK(wait > 990000 && wait <= 1000001);
    CHECK(bucket_take(&b, 1, 3, t + 500000) > 0);
    CHECK_INT(bucket_take(&b, 1, 3, t + 1000001), 0);
    /* a long pause refills only up to the burst */
    t += 3600 * 1000000LL;
    for (int i = 0; i < 3; i++) CHECK_INT(bucket_take(&b, 1, 3, t), 0);
    CHECK(bucket_take(&b, 1, 3, t) > 0);
    /* 6 a minute: the wait is ten seconds */
    struct bucket c = {0};
    CHECK_INT(bucket_take(&c, 0.1, 1, t), 0);
    wait = bucket_take(&c, 0.1, 1, t);
    CHECK(wait > 9900000 && wait <= 10000001);
}

static struct netaddr addr(const char *text)
{
    struct netaddr a;
    netaddr_parse(text, &a);
    return a;
}

TEST(table)
{
    struct clients *c = clients_new();
    struct netaddr a = addr("192.0.2.1"), b = addr("192.0.2.2");
    struct client *ca = clients_get(c, &a, 10);
    CHECK(ca == clients_get(c, &a, 20));
    CHECK(ca != clients_get(c, &b, 20));
    CHECK_STR(ca->text, "192.0.2.1");
    /* one IPv6 /64 is one client */
    struct netaddr x = addr("2001:db8:1:2::1"), y = addr("2001:db8:1:2:ffff::9"), z = addr("2001:db8:1:3::1");
    struct client *cx = clients_get(c, &x, 30);
    CHECK(cx == clients_get(c, &y, 30));
    CHECK(cx != clients_get(c, &z, 30));
    CHECK_STR(cx->text, "2001:db8:1:2::/64");
    CHECK_INT(clients_count(c), 4);
    /* many clients: the table grows and keeps them apart */
    for (int i = 0; i < 5000; i++) {
        char text[32];
        snprintf(text, sizeof text, "10.%d.%d.1", i / 256, i % 256);
        struct netaddr n = addr(text);
        clients_get(c, &n, 40)->checks = i % 2; /* every other one is in use */
    }
    CHECK_INT(clients_count(c), 5004);
    CHECK(clients_find(c, &a) == ca);
    /* expiry forgets the idle ones only */
    ca->streams = 1;
    CHECK_INT(clients_expire(c, 35), 3); /* b, x/y's /64 and z; a has a stream */
    CHECK(clients_find(c, &a) == ca);
    CHECK(clients_find(c, &b) == NULL);
    CHECK_INT(clients_expire(c, 100), 2500); /* the 10.x without a check in flight */
    CHECK_INT(clients_count(c), 2501);
    struct netaddr n1 = addr("10.0.1.1"), n0 = addr("10.0.0.1");
    CHECK(clients_find(c, &n1) != NULL);
    CHECK(clients_find(c, &n0) == NULL);
    clients_free(c);
}

int main(void)
{
    RUN(bucket);
    RUN(table);
    return unit_done();
}
