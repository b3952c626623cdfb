/* test_strmap.c — the plugin's hash map: put/replace/get/remove across growth, and filtered removal. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

#include "strmap.h"
#include "unit.h"

static int freed;
static void count_free(void *v)
{
    (void)v;
    freed++;
}

static bool drop_odd(const char *key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    return ((long)(intptr_t)value) % 2 == 1;
}

TEST(put_get_remove_across_growth)
{
    struct strmap *m = strmap_new();
    char key[32];
    for (long i = 1; i <= 5000; i++) {
        snprintf(key, sizeof key, "client-%ld", i);
        void *old = (void *)1;
        CHECK_INT(strmap_put(m, key, (void *)(intptr_t)i, &old), 0);
        CHECK(old == NULL);
    }
    CHECK_INT(strmap_count(m), 5000);
    CHECK((intptr_t)strmap_get(m, "client-4321") == 4321);
    void *old = NULL;
    CHECK_INT(strmap_put(m, "client-7", (void *)(intptr_t)70, &old), 0);
    CHECK((intptr_t)old == 7);
    CHECK_INT(strmap_count(m), 5000);
    CHECK((intptr_t)strmap_remove(m, "client-7") == 70);
    CHECK(strmap_remove(m, "client-7") == NULL);
    CHECK(strmap_get(m, "client-7") == NULL);
    CHECK(strmap_get(m, "") == NULL);
    freed = 0;
    strmap_filter(m, drop_odd, NULL, count_free);
    CHECK_INT(freed, 2499); /* the odd ones, client-7 already removed */
    CHECK_INT(strmap_count(m), 2500);
    CHECK(strmap_get(m, "client-4321") == NULL);
    CHECK((intptr_t)strmap_get(m, "client-4322") == 4322);
    freed = 0;
    strmap_free(m, count_free);
    CHECK_INT(freed, 2500);
}

int main(void)
{
    RUN(put_get_remove_across_growth);
    return unit_done();
}
