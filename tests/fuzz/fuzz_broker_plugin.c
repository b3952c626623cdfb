/* fuzz_broker_plugin.c — libFuzzer target for the broker plugin's callbacks (plugin.c as it is linked into the .so)
 * through the fake broker of tests/fakes: the input is a script of broker events — logins with real and random
 * tokens, ACL checks with random topics, accesses and payload sizes, disconnects (clean or persistent), ticks
 * with the clock moving on (purges), reloads, revocation-file changes, contexts freed and reused — on a few client
 * contexts. Nothing may crash, leak or touch freed memory, and two rules must hold whatever happened before: a
 * context that never logged in is denied everything, and no publish above the topic's payload limit is allowed. */
// fuzz-sources: broker-auth/strmap.c broker-auth/topicacl.c broker-auth/verify.c broker-auth/revoked.c broker-auth/plugin.c tests/fakes/broker.c
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "msg.h"
#include "token.h"

#define SECRET "fuzz-secret-fuzz-secret-fuzz-secret"
#define NOW 1795470000LL
#define N_CTX 4
#define N_TOKENS 6

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], key_path[128], revoked_path[128], opt_key[160], opt_revoked[160];
static char *tokens[N_TOKENS];
static char subs[N_TOKENS][TOKEN_SUB_MAX];
static const char *const topics[] = {
    "ntpmon/test/results/1/m1", "ntpmon/test/results/1/m2", "ntpmon/test/monitors/m1/assign",
    "ntpmon/test/monitors/m1/#", "ntpmon/test/monitors/+/status", "$share/g/ntpmon/test/results/#",
    "ntpmon/test/responses/m1/r1", "ntpmon/#", "#", "ntpmon/prod/results/1/m1",
};
static const char *const ids[] = {"m1", "m2", "m1:x", "ingest-f", "admin", "selector-test", "mosq-abc", ""};

static void init(void)
{
    fake_broker_quiet = true;
    snprintf(dir, sizeof dir, "/tmp/fuzz-plugin.XXXXXX");
    if (!mkdtemp(dir)) abort();
    snprintf(key_path, sizeof key_path, "%s/jwt.key", dir);
    snprintf(revoked_path, sizeof revoked_path, "%s/revoked", dir);
    FILE *f = fopen(key_path, "w");
    if (!f) abort();
    fputs(SECRET, f);
    fclose(f);
    snprintf(opt_key, sizeof opt_key, "key_file=%s", key_path);
    snprintf(opt_revoked, sizeof opt_revoked, "revoked_file=%s", revoked_path);
    char err[TOKEN_ERR_LEN];
    struct token_key *k = token_key_from_secret(SECRET, err);
    static const struct {
        enum token_role role;
        const char *name;
        int64_t ttl;
    } spec[N_TOKENS] = {{TOKEN_ROLE_MONITOR, "m1", 3600}, {TOKEN_ROLE_MONITOR, "m2", 3},
                        {TOKEN_ROLE_INGEST, "f", 3600},   {TOKEN_ROLE_ADMIN, NULL, 60},
                        {TOKEN_ROLE_SELECTOR, NULL, 3600}, {TOKEN_ROLE_MONITOR, "m1", 1}};
    for (int i = 0; i < N_TOKENS; i++) {
        struct token_issued t;
        if (!k || token_role_subject(spec[i].role, spec[i].name, "test", subs[i], sizeof subs[i], err) < 0 ||
            token_issue(k, spec[i].role, "test", subs[i], spec[i].ttl, NOW, &t, err) < 0)
            abort();
        tokens[i] = t.token;
    }
    token_key_free(k);
}

struct reader {
    const uint8_t *p;
    size_t n;
};

static unsigned byte(struct reader *r)
{
    if (!r->n) return 0;
    r->n--;
    return *r->p++;
}

/* A string of up to 255 bytes from the input (NUL-terminated copy in buf). */
static const char *text(struct reader *r, char *buf, size_t cap)
{
    size_t len = byte(r);
    if (len > r->n) len = r->n;
    if (len >= cap) len = cap - 1;
    memcpy(buf, r->p, len);
    buf[len] = '\0';
    r->p += len;
    r->n -= len;
    return buf;
}

static void write_revoked(struct reader *r)
{
    FILE *f = fopen(revoked_path, "w");
    if (!f) return;
    unsigned what = byte(r);
    if (what & 1) fputs("m1\n", f);
    if (what & 2) fputs("m2\n", f);
    if (what & 4) {
        char buf[256];
        fputs(text(r, buf, sizeof buf), f);
    }
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tokens[0]) init();
    fake_now_s = NOW;
    unlink(revoked_path);
    const char *opts[] = {"env=test", opt_key, opt_revoked, "leeway=0", "purge_interval=1"};
    fake_broker_reset();
    if (fake_broker_start(opts, 5) != MOSQ_ERR_SUCCESS) abort();
    struct mosquitto *ctx[N_CTX];
    bool authed[N_CTX] = {false};
    for (int i = 0; i < N_CTX; i++) {
        ctx[i] = calloc(1, sizeof *ctx[i]);
        strcpy(ctx[i]->address, "192.0.2.1");
    }
    struct reader r = {data, size};
    char buf[256], user[256];
    for (int steps = 0; r.n && steps < 64; steps++) {
        unsigned op = byte(&r), i = byte(&r) % N_CTX;
        struct mosquitto *c = ctx[i];
        switch (op % 9) {
        case 0: { /* a real token, as its own user, on a client id from the list */
            unsigned t = byte(&r) % N_TOKENS;
            snprintf(c->id, sizeof c->id, "%s", ids[byte(&r) % (sizeof ids / sizeof ids[0])]);
            c->clean_session = byte(&r) & 1;
            if (fake_broker_auth(c, subs[t], tokens[t]) == MOSQ_ERR_SUCCESS) authed[i] = true;
            break;
        }
        case 1: /* anything as username and token */
            snprintf(c->id, sizeof c->id, "%s", ids[byte(&r) % (sizeof ids / sizeof ids[0])]);
            text(&r, user, sizeof user);
            if (fake_broker_auth(c, byte(&r) & 1 ? user : NULL, text(&r, buf, sizeof buf)) == MOSQ_ERR_SUCCESS)
                authed[i] = true;
            break;
        case 2: { /* an ACL check: a listed or random topic, any access, any size */
            unsigned sel = byte(&r);
            const char *topic = sel < 200 ? topics[sel % (sizeof topics / sizeof topics[0])] : text(&r, buf, sizeof buf);
            int access = (int)(byte(&r) % 5);
            uint32_t len = (uint32_t)byte(&r) << 16 | (uint32_t)byte(&r) << 8 | byte(&r);
            int rc = fake_broker_acl(c, access, topic, len);
            if (rc == MOSQ_ERR_SUCCESS && !authed[i] && access != MOSQ_ACL_UNSUBSCRIBE) abort();
            if (rc == MOSQ_ERR_SUCCESS && access == MOSQ_ACL_WRITE && len > msg_max_payload("test", topic)) abort();
            break;
        }
        case 3: /* disconnect, as the session says */
            fake_broker_disconnect(c);
            break;
        case 4: /* time passes: expiry, purges */
            fake_now_s += byte(&r);
            fake_broker_tick();
            break;
        case 5:
            fake_broker_reload();
            break;
        case 6:
            write_revoked(&r);
            fake_now_s += 2; /* the plugin looks at the file at most once a second */
            fake_broker_tick();
            break;
        case 7: /* the broker ends the session and frees the context; a new one may get another address */
            c->clean_session = true;
            fake_broker_disconnect(c);
            free(c);
            ctx[i] = calloc(1, sizeof *ctx[i]);
            strcpy(ctx[i]->address, "192.0.2.2");
            authed[i] = false;
            break;
        case 8: /* an offline persistent session's context is freed while the plugin may still hold its claims */
            c->clean_session = false;
            fake_broker_disconnect(c);
            break;
        }
    }
    for (int i = 0; i < N_CTX; i++) {
        ctx[i]->clean_session = true;
        fake_broker_disconnect(ctx[i]);
    }
    fake_broker_stop();
    for (int i = 0; i < N_CTX; i++) free(ctx[i]);
    return 0;
}
