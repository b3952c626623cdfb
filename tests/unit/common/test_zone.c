/* test_zone.c — the accepted zone codes (ISO 3166-1 alpha-2 and the pool's continents), normalizing, ids. */
#include "unit.h"
#include "zone.h"

TEST(codes)
{
    CHECK(zone_is_valid("au"));
    CHECK(zone_is_valid("de"));
    CHECK(zone_is_valid("oceania"));
    CHECK(zone_is_valid("north-america"));
    CHECK(!zone_is_valid("AU")); /* stored lower case */
    CHECK(!zone_is_valid("uk")); /* the ISO code is gb */
    CHECK(!zone_is_valid("xx"));
    CHECK(!zone_is_valid(""));
    CHECK(!zone_is_valid(NULL));
    CHECK(!zone_is_valid("au "));
    size_t n;
    const char *const *all = zone_codes(&n);
    CHECK_INT(n, 249 + 6);
    CHECK_STR(all[0], "ad");
}

TEST(normalize)
{
    char z[ZONE_MAX];
    CHECK_INT(zone_normalize("AU", z), 0);
    CHECK_STR(z, "au");
    CHECK_INT(zone_normalize("Oceania", z), 0);
    CHECK_STR(z, "oceania");
    CHECK_INT(zone_normalize("australia", z), -1);
    CHECK_INT(zone_normalize("a-very-long-zone-name", z), -1);
    CHECK_INT(zone_normalize("au/#", z), -1);
}

TEST(ids)
{
    unsigned au = zone_id("au");
    CHECK(au > 0);
    CHECK_STR(zone_code(au), "au");
    CHECK_INT(zone_id("nope"), 0);
    CHECK(zone_code(0) == NULL);
    CHECK(zone_code(100000) == NULL);
    size_t n;
    zone_codes(&n);
    CHECK_STR(zone_code((unsigned)n), "south-america");
}

int main(void)
{
    RUN(codes);
    RUN(normalize);
    RUN(ids);
    return unit_done();
}
