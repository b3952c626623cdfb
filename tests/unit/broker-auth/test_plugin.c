/* test_plugin.c — the broker plugin's real callbacks (plugin.c as linked into ntpmon_auth.so) driven through a fake
 * broker (tests/fakes/broker.c) and a fake clock: authentication, ACL decisions from the claims, offline
 * persistent sessions and their purge, and the context cache in front of the client map — no freed client may
 * ever be reached through it (run under ASan, a stale entry is a heap-use-after-free). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "msg.h"
#include "token.h"
#include "unit.h"

#define SECRET "unit-test-secret-that-is-32-bytes-long"
#define NOW 1800000000LL
#define E "ntpmon/test"

static char key_path[256];

static void write_key(void)
{
    char dir[] = "/tmp/ntpmon-test-plugin.XXXXXX";
    if (!mkdtemp(dir)) abort();
    snprintf(key_path, sizeof key_path, "%s/jwt.key", dir);
    FILE *f = fopen(key_path, "w");
    if (!f) abort();
    fputs(SECRET "\n", f);
    fclose(f);
}

static void remove_key(void)
{
    unlink(key_path);
    char *slash = strrchr(key_path, '/');
    if (slash) {
        *slash = '\0';
        rmdir(key_path);
    }
}

/* Starts the plugin with env test, the key, leeway 0 and any extra "key=value" options. */
static int start(const char *extra1, const char *extra2)
{
    char keyopt[300];
    snprintf(keyopt, sizeof keyopt, "key_file=%s", key_path);
    const char *opts[5] = {"env=test", keyopt, "leeway=0"};
    int n = 3;
    if (extra1) opts[n++] = extra1;
    if (extra2) opts[n++] = extra2;
    fake_broker_reset();
    return fake_broker_start(opts, n);
}

static char *issue(enum token_role role, const char *name, int64_t ttl, char *sub_out)
{
    char err[TOKEN_ERR_LEN];
    struct token_key *k = token_key_from_secret(SECRET, err);
    struct token_issued t;
    char sub[TOKEN_SUB_MAX];
    if (!k || token_role_subject(role, name, "test", sub, sizeof sub, err) < 0 ||
        token_issue(k, role, "test", sub, ttl, fake_now_s, &t, err) < 0)
        abort();
    token_key_free(k);
    if (sub_out) strcpy(sub_out, sub);
    return t.token;
}

static struct mosquitto *new_ctx(const char *id, bool clean)
{
    struct mosquitto *c = calloc(1, sizeof *c);
    if (!c) abort();
    snprintf(c->id, sizeof c->id, "%s", id);
    strcpy(c->address, "127.0.0.1");
    c->clean_session = clean;
    return c;
}

/* Connects a client of the role (clean or persistent session); NULL when authentication failed. */
static struct mosquitto *connect_as(enum token_role role, const char *name, int64_t ttl, bool clean)
{
    char sub[TOKEN_SUB_MAX];
    char *tok = issue(role, name, ttl, sub);
    struct mosquitto *ctx = new_ctx(sub, clean);
    int rc = fake_broker_auth(ctx, sub, tok);
    free(tok);
    if (rc != MOSQ_ERR_SUCCESS) {
        free(ctx);
        return NULL;
    }
    return ctx;
}

TEST(acl_decisions_from_claims)
{
    fake_now_s = NOW;
    CHECK_INT(start(NULL, NULL), MOSQ_ERR_SUCCESS);
    struct mosquitto *m1 = connect_as(TOKEN_ROLE_MONITOR, "m1", 3600, true);
    CHECK(m1 != NULL);
    CHECK_INT(fake_broker_acl(m1, MOSQ_ACL_WRITE, E "/results/7/m1", 300), MOSQ_ERR_SUCCESS);
    CHECK_INT(fake_broker_acl(m1, MOSQ_ACL_WRITE, E "/results/7/m2", 300), MOSQ_ERR_ACL_DENIED);
    CHECK_INT(fake_broker_acl(m1, MOSQ_ACL_SUBSCRIBE, E "/monitors/m1/#", 0), MOSQ_ERR_SUCCESS);
    CHECK_INT(fake_broker_acl(m1, MOSQ_ACL_SUBSCRIBE, E "/monitors/+/assign", 0), MOSQ_ERR_ACL_DENIED);
    CHECK_INT(fake_broker_acl(m1, MOSQ_ACL_READ, E "/monitors/m1/assign", 100), MOSQ_ERR_SUCCESS);
    CHECK_INT(fake_broker_acl(m1, MOSQ_ACL_READ, E "/monitors/m2/assign", 100), MOSQ_ERR_ACL_DENIED);
    /* a wrong password, a foreign client id */
    struct mosquitto *bad = new_ctx("m2", true);
    char *tok = issue(TOKEN_ROLE_MONITOR, "m2", 3600, NULL);
    CHECK_INT(fake_broker_auth(bad, "m2", "x.y.z"), MOSQ_ERR_AUTH);
    snprintf(bad->id, sizeof bad->id, "ingest-a");
    CHECK_INT(fake_broker_auth(bad, "m2", tok), MOSQ_ERR_AUTH);
    CHECK_CONTAINS(fake_broker_log(), "client id must be 'm2'");
    /* an unknown context is denied */
    CHECK_INT(fake_broker_acl(bad, MOSQ_ACL_READ, E "/monitors/m2/assign", 1), MOSQ_ERR_ACL_DENIED);
    free(tok);
    fake_broker_disconnect(m1);
    fake_broker_stop();
    free(m1);
    free(bad);
}

/* The issue-19 crash: an offline persistent session whose token expired is purged, the broker keeps the session
 * and checks READ for it when something is published to it → the plugin must deny, not read the freed client. */
TEST(purged_offline_session_is_not_reached_through_the_cache)
{
    fake_now_s = NOW;
    CHECK_INT(start(NULL, NULL), MOSQ_ERR_SUCCESS);
    struct mosquitto *mon = connect_as(TOKEN_ROLE_MONITOR, "m7", 3, false);
    struct mosquitto *adm = connect_as(TOKEN_ROLE_ADMIN, NULL, 300, true);
    CHECK(mon && adm);
    if (!mon || !adm) return;
    CHECK_INT(fake_broker_acl(mon, MOSQ_ACL_SUBSCRIBE, E "/monitors/m7/#", 0), MOSQ_ERR_SUCCESS);
    /* the delivery check while valid puts the client into the context cache */
    CHECK_INT(fake_broker_acl(mon, MOSQ_ACL_READ, E "/monitors/m7/assign", 100), MOSQ_ERR_SUCCESS);
    CHECK_INT(fake_broker_disconnect(mon), MOSQ_ERR_SUCCESS); /* persistent: kept offline */
    CHECK_INT(fake_broker_acl(mon, MOSQ_ACL_READ, E "/monitors/m7/assign", 100), MOSQ_ERR_SUCCESS);
    /* past exp and past the default purge interval (60 s): the tick purges it */
    fake_now_s = NOW + 120;
    CHECK_INT(fake_broker_tick(), MOSQ_ERR_SUCCESS);
    /* admin publishes the monitor's assign; the broker checks delivery to the offline session */
    CHECK_INT(fake_broker_acl(adm, MOSQ_ACL_WRITE, E "/monitors/m7/assign", 100), MOSQ_ERR_SUCCESS);
    CHECK_INT(fake_broker_acl(mon, MOSQ_ACL_READ, E "/monitors/m7/assign", 100), MOSQ_ERR_ACL_DENIED);
    CHECK_INT(fake_broker_acl(mon, MOSQ_ACL_WRITE, E "/results/1/m7", 100), MOSQ_ERR_ACL_DENIED);
    /* the monitor comes back with a new token on a new context: all is well again */
    struct mosquitto *mon2 = connect_as(TOKEN_ROLE_MONITOR, "m7", 3600, false);
    CHECK(mon2 != NULL);
    if (mon2) CHECK_INT(fake_broker_acl(mon2, MOSQ_ACL_READ, E "/monitors/m7/assign", 100), MOSQ_ERR_SUCCESS);
    CHECK_INT(fake_broker_acl(mon, MOSQ_ACL_READ, E "/monitors/m7/assign", 100), MOSQ_ERR_ACL_DENIED);
    fake_broker_stop();
    free(mon);
    free(mon2);
    free(adm);
}

/* Every other way a client is freed: a clean-session disconnect, a takeover by the same id on a new context, and a
 * context address reused for another client; each time the old entry must be gone from the cache. */
TEST(every_dropped_client_leaves_the_cache)
{
    fake_now_s = NOW;
    CHECK_INT(start(NULL, NULL), MOSQ_ERR_SUCCESS);
    /* clean session: dropped at disconnect */
    struct mosquitto *a = connect_as(TOKEN_ROLE_MONITOR, "ma", 3600, true);
    CHECK(a != NULL);
    if (!a) return;
    CHECK_INT(fake_broker_acl(a, MOSQ_ACL_READ, E "/monitors/ma/assign", 1), MOSQ_ERR_SUCCESS);
    fake_broker_disconnect(a);
    CHECK_INT(fake_broker_acl(a, MOSQ_ACL_READ, E "/monitors/ma/assign", 1), MOSQ_ERR_ACL_DENIED);
    /* takeover: the offline session of the same id goes when the id authenticates again */
    struct mosquitto *b = connect_as(TOKEN_ROLE_MONITOR, "mb", 3600, false);
    CHECK(b != NULL);
    if (!b) return;
    CHECK_INT(fake_broker_acl(b, MOSQ_ACL_READ, E "/monitors/mb/assign", 1), MOSQ_ERR_SUCCESS);
    fake_broker_disconnect(b);
    struct mosquitto *b2 = connect_as(TOKEN_ROLE_MONITOR, "mb", 3600, false);
    CHECK(b2 != NULL);
    CHECK_INT(fake_broker_acl(b, MOSQ_ACL_READ, E "/monitors/mb/assign", 1), MOSQ_ERR_ACL_DENIED);
    /* the same context address authenticating as another client replaces the stale entry */
    char *tok = issue(TOKEN_ROLE_MONITOR, "mc", 3600, NULL);
    strcpy(b->id, "mc");
    CHECK_INT(fake_broker_auth(b, "mc", tok), MOSQ_ERR_SUCCESS);
    CHECK_INT(fake_broker_acl(b, MOSQ_ACL_READ, E "/monitors/mc/assign", 1), MOSQ_ERR_SUCCESS);
    CHECK_INT(fake_broker_acl(b, MOSQ_ACL_READ, E "/monitors/mb/assign", 1), MOSQ_ERR_ACL_DENIED);
    free(tok);
    /* a reload keeps the clients */
    CHECK_INT(fake_broker_reload(), MOSQ_ERR_SUCCESS);
    CHECK_INT(fake_broker_acl(b, MOSQ_ACL_READ, E "/monitors/mc/assign", 1), MOSQ_ERR_SUCCESS);
    fake_broker_stop();
    free(a);
    free(b);
    free(b2);
}

/* plugin_opt_purge_interval: expired offline sessions go after that many seconds, not the default minute. */
TEST(purge_interval_option)
{
    fake_now_s = NOW;
    CHECK(start("purge_interval=0", NULL) != MOSQ_ERR_SUCCESS);
    CHECK_CONTAINS(fake_broker_log(), "plugin_opt_purge_interval '0'");
    CHECK(start("purge_interval=2x", NULL) != MOSQ_ERR_SUCCESS);
    CHECK(start("purge_interval=86401", NULL) != MOSQ_ERR_SUCCESS);
    CHECK(start("purge_intervals=5", NULL) != MOSQ_ERR_SUCCESS);
    CHECK_CONTAINS(fake_broker_log(), "unknown option plugin_opt_purge_intervals");
    CHECK_INT(start("purge_interval=2", NULL), MOSQ_ERR_SUCCESS);
    CHECK_CONTAINS(fake_broker_log(), "purge interval 2 s");
    struct mosquitto *m = connect_as(TOKEN_ROLE_MONITOR, "mp", 1, false);
    CHECK(m != NULL);
    if (!m) return;
    fake_broker_disconnect(m);
    fake_now_s = NOW + 1; /* expired, but the purge is not due yet: the claims are kept (READ denied by expiry) */
    fake_broker_tick();
    CHECK(!strstr(fake_broker_log(), "purged"));
    fake_now_s = NOW + 2;
    fake_broker_tick();
    CHECK_CONTAINS(fake_broker_log(), "purged 1 expired offline session");
    CHECK_INT(fake_broker_acl(m, MOSQ_ACL_READ, E "/monitors/mp/assign", 1), MOSQ_ERR_ACL_DENIED);
    /* the interval survives a reload */
    CHECK_INT(fake_broker_reload(), MOSQ_ERR_SUCCESS);
    CHECK_CONTAINS(fake_broker_log(), "leeway 0 s, purge interval 2 s");
    fake_broker_stop();
    free(m);
}

/* Issue 19: any monitor token could push 20 MB through the broker. A publish above the largest payload any reader
 * of the topic accepts is refused: 64 KiB, except assign (the work-list cap). */
TEST(oversized_publishes_are_refused)
{
    fake_now_s = NOW;
    CHECK_INT(start(NULL, NULL), MOSQ_ERR_SUCCESS);
    struct mosquitto *m = connect_as(TOKEN_ROLE_MONITOR, "m1", 3600, true);
    struct mosquitto *sel = connect_as(TOKEN_ROLE_SELECTOR, NULL, 3600, true);
    CHECK(m && sel);
    if (!m || !sel) return;
    CHECK_INT(fake_broker_acl(m, MOSQ_ACL_WRITE, E "/results/7/m1", 65536), MOSQ_ERR_SUCCESS);
    CHECK_INT(fake_broker_acl(m, MOSQ_ACL_WRITE, E "/results/7/m1", 65537), MOSQ_ERR_ACL_DENIED);
    CHECK_CONTAINS(fake_broker_log(), "client 'm1' (m1): refused a 65537-byte publish on " E "/results/7/m1 (limit 65536; 1 refused so far)");
    CHECK_INT(fake_broker_acl(m, MOSQ_ACL_WRITE, E "/results/7/m1", 20 * 1024 * 1024), MOSQ_ERR_ACL_DENIED);
    CHECK_INT(fake_broker_acl(m, MOSQ_ACL_WRITE, E "/responses/m1/r1", 65537), MOSQ_ERR_ACL_DENIED);
    CHECK_INT(fake_broker_acl(m, MOSQ_ACL_WRITE, E "/monitors/m1/status", 65537), MOSQ_ERR_ACL_DENIED);
    CHECK_INT(fake_broker_acl(m, MOSQ_ACL_WRITE, E "/results/7/m1", 300), MOSQ_ERR_SUCCESS);
    /* delivery checks are not about size: the broker only delivers what it accepted */
    CHECK_INT(fake_broker_acl(m, MOSQ_ACL_READ, E "/monitors/m1/assign", 1024 * 1024), MOSQ_ERR_SUCCESS);
    CHECK_INT(fake_broker_acl(sel, MOSQ_ACL_WRITE, E "/monitors/m1/assign", 1024 * 1024), MOSQ_ERR_SUCCESS);
    CHECK_INT(fake_broker_acl(sel, MOSQ_ACL_WRITE, E "/monitors/m1/assign", MSG_MAX_ASSIGN_PAYLOAD), MOSQ_ERR_SUCCESS);
    CHECK_INT(fake_broker_acl(sel, MOSQ_ACL_WRITE, E "/monitors/m1/assign", MSG_MAX_ASSIGN_PAYLOAD + 1),
              MOSQ_ERR_ACL_DENIED);
    CHECK_INT(fake_broker_acl(sel, MOSQ_ACL_WRITE, E "/status/selection/7", 65537), MOSQ_ERR_ACL_DENIED);
    fake_broker_stop();
    free(m);
    free(sel);
}

int main(void)
{
    write_key();
    RUN(acl_decisions_from_claims);
    RUN(purged_offline_session_is_not_reached_through_the_cache);
    RUN(every_dropped_client_leaves_the_cache);
    RUN(purge_interval_option);
    RUN(oversized_publishes_are_refused);
    remove_key();
    return unit_done();
}
