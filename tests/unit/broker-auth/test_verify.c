/* test_verify.c — token verification against tokens signed by common/token.c, the libjwt 1.10 pitfalls (alg none,
 * algorithm confusion), claim checks with leeway, per-session ACL decisions, and the revocation list parser. */
#include <stdlib.h>
#include <string.h>

#include "revoked.h"
#include "token.h"
#include "unit.h"
#include "verify.h"

#define SECRET "unit-test-secret-that-is-32-bytes-long"
#define NOW 1800000000LL

static struct auth_key *hmac_key(void)
{
    char err[AUTH_ERR_LEN], warn[AUTH_ERR_LEN];
    struct auth_key *k = auth_key_from_bytes(SECRET "\n", strlen(SECRET) + 1, err, warn);
    CHECK(k != NULL);
    CHECK_STR(warn, "");
    return k;
}

static char *issue(enum token_role role, const char *sub, int64_t ttl, int64_t now)
{
    char err[TOKEN_ERR_LEN];
    struct token_key *k = token_key_from_secret(SECRET, err);
    struct token_issued t;
    int rc = token_issue(k, role, "test", sub, ttl, now, &t, err);
    token_key_free(k);
    CHECK_INT(rc, 0);
    return t.token;
}

static const struct auth_policy pol = {"test", 30};

TEST(valid_token_and_acl)
{
    struct auth_key *k = hmac_key();
    char *tok = issue(TOKEN_ROLE_MONITOR, "m1", 3600, NOW);
    struct auth_session *s;
    char err[AUTH_ERR_LEN] = "";
    CHECK_INT(auth_verify(k, &pol, "m1", tok, NOW, &s, err), 0);
    if (s) {
        CHECK_STR(s->sub, "m1");
        CHECK_INT(s->exp, NOW + 3600);
        CHECK_INT(s->n_subs, 1);
        CHECK_INT(s->n_publ, 5);
        CHECK(auth_session_allows(s, &pol, AUTH_WRITE, "ntpmon/test/results/7/m1", NOW));
        CHECK(auth_session_allows(s, &pol, AUTH_WRITE, "ntpmon/test/traces/7/m1", NOW));
        CHECK(!auth_session_allows(s, &pol, AUTH_WRITE, "ntpmon/test/traces/7/m2", NOW));
        CHECK(!auth_session_allows(s, &pol, AUTH_WRITE, "ntpmon/test/results/7/m2", NOW));
        CHECK(auth_session_allows(s, &pol, AUTH_SUBSCRIBE, "ntpmon/test/monitors/m1/assign", NOW));
        CHECK(auth_session_allows(s, &pol, AUTH_SUBSCRIBE, "$share/g/ntpmon/test/monitors/m1/#", NOW));
        CHECK(!auth_session_allows(s, &pol, AUTH_SUBSCRIBE, "ntpmon/test/#", NOW));
        CHECK(auth_session_allows(s, &pol, AUTH_READ, "ntpmon/test/monitors/m1/assign", NOW));
        CHECK(!auth_session_allows(s, &pol, AUTH_READ, "ntpmon/test/monitors/m2/assign", NOW));
        /* expiry (with leeway) takes every right away, except giving up subscriptions */
        CHECK(auth_session_allows(s, &pol, AUTH_WRITE, "ntpmon/test/results/7/m1", NOW + 3600 + 29));
        CHECK(!auth_session_allows(s, &pol, AUTH_WRITE, "ntpmon/test/results/7/m1", NOW + 3600 + 30));
        CHECK(!auth_session_allows(s, &pol, AUTH_READ, "ntpmon/test/monitors/m1/assign", NOW + 3600 + 30));
        CHECK(auth_session_allows(s, &pol, AUTH_UNSUBSCRIBE, "ntpmon/test/monitors/m1/#", NOW + 99999));
    }
    auth_session_free(s);
    CHECK(auth_verify(k, &pol, "m2", tok, NOW, &s, err) < 0);
    CHECK_CONTAINS(err, "sub differs");
    CHECK(auth_verify(k, &pol, "m1", tok, NOW + 3600 + 30, &s, err) < 0);
    CHECK_CONTAINS(err, "expired");
    CHECK(auth_verify(k, &pol, "m1", tok, NOW - 31, &s, err) < 0);
    CHECK_CONTAINS(err, "not valid before");
    CHECK_INT(auth_verify(k, &pol, "m1", tok, NOW - 29, &s, err), 0);
    auth_session_free(s);
    struct auth_policy prod = {"prod", 30};
    CHECK(auth_verify(k, &prod, "m1", tok, NOW, &s, err) < 0);
    CHECK_CONTAINS(err, "aud");
    free(tok);
    auth_key_free(k);
}

TEST(structural_refusals)
{
    struct auth_key *k = hmac_key();
    struct auth_session *s;
    char err[AUTH_ERR_LEN];
    CHECK(auth_verify(k, &pol, NULL, NULL, NOW, &s, err) < 0);
    CHECK_CONTAINS(err, "no credentials");
    CHECK(auth_verify(k, &pol, "m1", "a.b", NOW, &s, err) < 0);
    CHECK(auth_verify(k, &pol, "m1", "a.b.c.d", NOW, &s, err) < 0);
    CHECK(auth_verify(k, &pol, "m1", "a!.b.c", NOW, &s, err) < 0);
    CHECK(auth_verify(k, &pol, "m1", "", NOW, &s, err) < 0);
    /* alg none: {"alg":"none"} . {"sub":"m1","aud":"test","exp":9999999999} . (empty) */
    CHECK(auth_verify(k, &pol, "m1", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJtMSIsImF1ZCI6InRlc3QiLCJleHAiOjk5OTk5OTk5OTl9.",
                      NOW, &s, err) < 0);
    CHECK(auth_verify(k, &pol, "m1", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJtMSIsImF1ZCI6InRlc3QiLCJleHAiOjk5OTk5OTk5OTl9.eA",
                      NOW, &s, err) < 0);
    CHECK_CONTAINS(err, "'none' is not accepted");
    char *big = malloc(5000);
    memset(big, 'a', 4999);
    big[4999] = '\0';
    CHECK(auth_verify(k, &pol, "m1", big, NOW, &s, err) < 0);
    CHECK_CONTAINS(err, "longer than 4096");
    free(big);
    /* a token signed with another secret */
    char e2[TOKEN_ERR_LEN];
    struct token_key *other = token_key_from_secret("another-secret-another-secret-xx", e2);
    struct token_issued t;
    CHECK_INT(token_issue(other, TOKEN_ROLE_MONITOR, "test", "m1", 60, NOW, &t, e2), 0);
    CHECK(auth_verify(k, &pol, "m1", t.token, NOW, &s, err) < 0);
    CHECK_CONTAINS(err, "signature");
    free(t.token);
    token_key_free(other);
    auth_key_free(k);
}

TEST(key_loading)
{
    char err[AUTH_ERR_LEN], warn[AUTH_ERR_LEN];
    CHECK(auth_key_from_bytes("\n", 1, err, warn) == NULL);
    CHECK_CONTAINS(err, "empty");
    struct auth_key *k = auth_key_from_bytes("short", 5, err, warn);
    CHECK(k != NULL);
    CHECK_CONTAINS(warn, "only 5 bytes");
    auth_key_free(k);
    CHECK(auth_key_from_bytes("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n", 56, err, warn) == NULL);
    CHECK(auth_key_load("/nonexistent/key", err, warn) == NULL);
    CHECK_CONTAINS(err, "/nonexistent/key");
}

TEST(revocation_list)
{
    struct revoked *r = revoked_new(NULL);
    const char *text = "# revoked\n  m1  \n\n01ARZ3NDEKTSV4RRFFQ69G5FAV\r\nm2";
    uint64_t g = revoked_generation(r);
    CHECK_INT(revoked_parse(r, text, strlen(text)), 0);
    CHECK(revoked_generation(r) > g);
    CHECK_INT(revoked_count(r), 3);
    CHECK(revoked_contains(r, "m1"));
    CHECK(revoked_contains(r, "m2"));
    CHECK(revoked_contains(r, "01ARZ3NDEKTSV4RRFFQ69G5FAV"));
    CHECK(!revoked_contains(r, "# revoked"));
    CHECK(!revoked_contains(r, "m3"));
    CHECK(!revoked_contains(r, NULL));
    char msg[256];
    CHECK_INT(revoked_refresh(r, NOW, true, msg, sizeof msg), 0); /* no file configured */
    revoked_free(r);
}

TEST(client_ids_are_bound_to_the_subject)
{
    CHECK(auth_client_id_allowed("nl-ams1", "nl-ams1"));
    CHECK(auth_client_id_allowed("ingest-prod", "ingest-prod:host1"));
    CHECK(!auth_client_id_allowed("nl-ams1", "ingest-prod"));
    CHECK(!auth_client_id_allowed("nl-ams1", "nl-ams12"));
    CHECK(!auth_client_id_allowed("nl-ams1", "nl-ams1:"));
    CHECK(!auth_client_id_allowed("nl-ams1", "nl-ams1-x"));
    CHECK(auth_client_id_allowed("nl-ams1", "mosq-Zx81kQ"));
    CHECK(auth_client_id_allowed("nl-ams1", "auto-5E1D"));
    CHECK(auth_client_id_allowed("nl-ams1", "DD7265F1-B7B9-10D5-4EFE-B8CE9B6213D7"));
    CHECK(!auth_client_id_allowed("nl-ams1", "DD7265F1-B7B9-10D5-4EFE-B8CE9B6213D"));
    CHECK(!auth_client_id_allowed("nl-ams1", "DD7265F1xB7B9-10D5-4EFE-B8CE9B6213D7"));
    CHECK(!auth_client_id_allowed("", "x"));
    CHECK(!auth_client_id_allowed("a", NULL));
}

int main(void)
{
    RUN(valid_token_and_acl);
    RUN(structural_refusals);
    RUN(key_loading);
    RUN(revocation_list);
    RUN(client_ids_are_bound_to_the_subject);
    return unit_done();
}
