/* test_verify.c — token verification against tokens signed by common/token.c, the libjwt 1.10 pitfalls (alg none,
 * algorithm confusion), claim checks with leeway, per-session ACL decisions, and the revocation list parser. */
#include <jwt.h>
#include <stdint.h>
#include <stdio.h>
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

/* A token with exactly these claims (a JSON object), HS256 with SECRET. */
static char *sign_claims(const char *claims)
{
    jwt_t *j = NULL;
    char *out = NULL;
    if (jwt_new(&j) == 0 && jwt_add_grants_json(j, claims) == 0 &&
        jwt_set_alg(j, JWT_ALG_HS256, (const unsigned char *)SECRET, (int)strlen(SECRET)) == 0)
        out = jwt_encode_str(j);
    jwt_free(j);
    CHECK(out != NULL);
    return out;
}

/* Issue 19: exp + leeway overflowed for exp near INT64_MAX (undefined behaviour; the ASan/UBSan build aborts on it)
 * and the refusal said "expired -9223372035058192548 s ago". Compared without overflow: such a token is valid, one
 * with a hugely negative exp is expired, and every message is sane. */
TEST(extreme_exp_values_do_not_overflow)
{
    struct auth_key *k = hmac_key();
    struct auth_session *s = NULL;
    char err[AUTH_ERR_LEN] = "";
    char claims[256];
    snprintf(claims, sizeof claims, "{\"sub\":\"m1\",\"aud\":\"test\",\"exp\":%lld,\"publ\":[\"ntpmon/test/results/+/m1\"]}",
             (long long)INT64_MAX);
    char *tok = sign_claims(claims);
    CHECK_INT(auth_verify(k, &pol, "m1", tok, NOW, &s, err), 0);
    if (s) {
        CHECK(s->exp == INT64_MAX);
        CHECK(!auth_session_expired(s, &pol, NOW));
        CHECK(!auth_session_expired(s, &pol, INT64_MAX));
        CHECK(auth_session_allows(s, &pol, AUTH_WRITE, "ntpmon/test/results/1/m1", NOW));
        struct auth_policy big = {"test", 3600};
        CHECK(!auth_session_expired(s, &big, INT64_MAX - 1));
    }
    auth_session_free(s);
    free(tok);
    snprintf(claims, sizeof claims, "{\"sub\":\"m1\",\"aud\":\"test\",\"exp\":%lld}", (long long)INT64_MIN);
    tok = sign_claims(claims);
    CHECK(auth_verify(k, &pol, "m1", tok, NOW, &s, err) < 0);
    CHECK_CONTAINS(err, "expired");
    CHECK(strstr(err, "-") == NULL); /* no negative "ago" */
    free(tok);
    snprintf(claims, sizeof claims, "{\"sub\":\"m1\",\"aud\":\"test\",\"exp\":%lld,\"nbf\":%lld,\"iat\":%lld}",
             (long long)INT64_MAX, (long long)INT64_MAX, (long long)INT64_MIN);
    tok = sign_claims(claims);
    CHECK(auth_verify(k, &pol, "m1", tok, NOW, &s, err) < 0);
    CHECK_CONTAINS(err, "not valid before");
    free(tok);
    snprintf(claims, sizeof claims, "{\"sub\":\"m1\",\"aud\":\"test\",\"exp\":%lld,\"nbf\":%lld}",
             (long long)INT64_MAX, (long long)INT64_MIN);
    tok = sign_claims(claims);
    CHECK_INT(auth_verify(k, &pol, "m1", tok, NOW, &s, err), 0);
    auth_session_free(s);
    free(tok);
    auth_key_free(k);
}

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

/* HS384 and HS512 need keys of 48 and 64 bytes (RFC 7518 §3.2): with a shorter secret only HS256 is accepted. */
TEST(hmac_algorithm_needs_a_key_as_long_as_its_hash)
{
    struct auth_key *k = hmac_key(); /* 38 bytes */
    struct auth_session *s = NULL;
    char err[AUTH_ERR_LEN];
    jwt_alg_t algs[] = {JWT_ALG_HS256, JWT_ALG_HS384, JWT_ALG_HS512};
    for (int i = 0; i < 3; i++) {
        jwt_t *j = NULL;
        char claims[128];
        snprintf(claims, sizeof claims, "{\"sub\":\"m1\",\"aud\":\"test\",\"exp\":%lld}", NOW + 60);
        CHECK_INT(jwt_new(&j), 0);
        jwt_add_grants_json(j, claims);
        jwt_set_alg(j, algs[i], (const unsigned char *)SECRET, (int)strlen(SECRET));
        char *tok = jwt_encode_str(j);
        jwt_free(j);
        int rc = auth_verify(k, &pol, "m1", tok, NOW, &s, err);
        if (i == 0) CHECK_INT(rc, 0);
        else {
            CHECK(rc < 0);
            CHECK_CONTAINS(err, "is not accepted by this broker's key");
        }
        auth_session_free(s);
        s = NULL;
        free(tok);
    }
    auth_key_free(k);
    /* with a 64-byte secret all three are accepted */
    const char long_secret[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char warn[AUTH_ERR_LEN];
    k = auth_key_from_bytes(long_secret, 64, err, warn);
    CHECK(k != NULL);
    for (int i = 0; k && i < 3; i++) {
        jwt_t *j = NULL;
        char claims[128];
        snprintf(claims, sizeof claims, "{\"sub\":\"m1\",\"aud\":\"test\",\"exp\":%lld}", NOW + 60);
        jwt_new(&j);
        jwt_add_grants_json(j, claims);
        jwt_set_alg(j, algs[i], (const unsigned char *)long_secret, 64);
        char *tok = jwt_encode_str(j);
        jwt_free(j);
        CHECK_INT(auth_verify(k, &pol, "m1", tok, NOW, &s, err), 0);
        auth_session_free(s);
        s = NULL;
        free(tok);
    }
    auth_key_free(k);
}

TEST(key_loading)
{
    char err[AUTH_ERR_LEN], warn[AUTH_ERR_LEN];
    CHECK(auth_key_from_bytes("\n", 1, err, warn) == NULL);
    CHECK_CONTAINS(err, "empty");
    /* RFC 7518 §3.2: an HMAC key at least as long as the hash, 32 bytes for HS256 — shorter ones are refused */
    CHECK(auth_key_from_bytes("short", 5, err, warn) == NULL);
    CHECK_CONTAINS(err, "only 5 bytes");
    CHECK_CONTAINS(err, "at least 32");
    CHECK(auth_key_from_bytes("0123456789abcdef0123456789abcde\n", 32, err, warn) == NULL); /* 31 + newline */
    struct auth_key *k = auth_key_from_bytes("0123456789abcdef0123456789abcdef", 32, err, warn);
    CHECK(k != NULL);
    CHECK_STR(warn, "");
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
    RUN(extreme_exp_values_do_not_overflow);
    RUN(hmac_algorithm_needs_a_key_as_long_as_its_hash);
    RUN(key_loading);
    RUN(revocation_list);
    RUN(client_ids_are_bound_to_the_subject);
    return unit_done();
}
