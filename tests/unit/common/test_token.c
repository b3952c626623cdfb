/* test_token.c — the role table of DESIGN.md §4 (subjects, topic lists, lifetimes) and signing. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jwtpeek.h"
#include "token.h"
#include "unit.h"

TEST(roles)
{
    enum token_role r;
    CHECK_INT(token_role_parse("watcher", &r), 0);
    CHECK_INT(r, TOKEN_ROLE_WATCHER);
    CHECK(token_role_parse("root", &r) < 0);
    CHECK_INT(token_role_default_ttl_s(TOKEN_ROLE_MONITOR), 6 * 3600);
    CHECK_INT(token_role_default_ttl_s(TOKEN_ROLE_INGEST), 30 * 86400);
    CHECK_INT(token_role_default_ttl_s(TOKEN_ROLE_WEB), 30 * 86400);
    CHECK_INT(token_role_default_ttl_s(TOKEN_ROLE_ADMIN), 300);
}

TEST(subjects)
{
    char sub[TOKEN_SUB_MAX], err[TOKEN_ERR_LEN];
    CHECK(token_role_subject(TOKEN_ROLE_MONITOR, NULL, "test", sub, sizeof sub, err) < 0);
    CHECK_CONTAINS(err, "--name");
    CHECK_INT(token_role_subject(TOKEN_ROLE_MONITOR, "nl-ams1", "test", sub, sizeof sub, err), 0);
    CHECK_STR(sub, "nl-ams1");
    CHECK_INT(token_role_subject(TOKEN_ROLE_INGEST, "a", "test", sub, sizeof sub, err), 0);
    CHECK_STR(sub, "ingest-a");
    CHECK_INT(token_role_subject(TOKEN_ROLE_INGEST, "ingest-b", "test", sub, sizeof sub, err), 0);
    CHECK_STR(sub, "ingest-b");
    CHECK_INT(token_role_subject(TOKEN_ROLE_SCORER, NULL, "prod", sub, sizeof sub, err), 0);
    CHECK_STR(sub, "scorer-prod");
    CHECK_INT(token_role_subject(TOKEN_ROLE_WATCHER, "web1", "prod", sub, sizeof sub, err), 0);
    CHECK_STR(sub, "watch-web1");
    CHECK_INT(token_role_subject(TOKEN_ROLE_ADMIN, NULL, "prod", sub, sizeof sub, err), 0);
    CHECK_STR(sub, "admin");
    CHECK(token_role_subject(TOKEN_ROLE_MONITOR, "bad/name", "test", sub, sizeof sub, err) < 0);
    CHECK(token_role_subject(TOKEN_ROLE_MONITOR, "a+b", "test", sub, sizeof sub, err) < 0);
}

TEST(acl_lists)
{
    struct token_acl a;
    CHECK_INT(token_role_acl(TOKEN_ROLE_MONITOR, "test", "m1", &a), 0);
    CHECK_INT(a.n_publ, 5);
    CHECK_STR(a.publ[0], "ntpmon/test/results/+/m1");
    CHECK_STR(a.publ[1], "ntpmon/test/traces/+/m1");
    CHECK_STR(a.publ[2], "ntpmon/test/monitors/m1/status");
    CHECK_STR(a.publ[3], "ntpmon/test/responses/m1/+");
    CHECK_STR(a.publ[4], "ntpmon/test/monitors/m1/token/request");
    CHECK_INT(a.n_subs, 1);
    CHECK_STR(a.subs[0], "ntpmon/test/monitors/m1/#");
    CHECK_INT(token_role_acl(TOKEN_ROLE_WEB, "prod", "web-x", &a), 0);
    CHECK_INT(a.n_subs, 6);
    CHECK_STR(a.publ[0], "ntpmon/prod/monitors/+/requests/#");
    CHECK_STR(a.subs[2], "ntpmon/prod/traces/#");
    CHECK_INT(token_role_acl(TOKEN_ROLE_WATCHER, "prod", "watch-x", &a), 0);
    CHECK_INT(a.n_publ, 0);
    CHECK_STR(a.subs[1], "ntpmon/prod/traces/#");
    CHECK_INT(token_role_acl(TOKEN_ROLE_INGEST, "prod", "ingest-x", &a), 0);
    CHECK_STR(a.subs[1], "ntpmon/prod/traces/#");
    CHECK_INT(token_role_acl(TOKEN_ROLE_SCORER, "prod", "scorer-x", &a), 0);
    CHECK_STR(a.publ[2], "ntpmon/prod/status/zones/#"); /* DESIGN.md §4's order */
    CHECK_STR(a.publ[3], "ntpmon/prod/monitors/+/requests/traceroute");
    CHECK_STR(a.subs[2], "ntpmon/prod/responses/#");
    CHECK_INT(token_role_acl(TOKEN_ROLE_ADMIN, "devel", "admin", &a), 0);
    CHECK_STR(a.publ[0], "ntpmon/devel/#");
    CHECK_STR(a.subs[0], "ntpmon/devel/#");
    CHECK(token_role_acl(TOKEN_ROLE_ADMIN, "Bad Env", "admin", &a) < 0);
}

TEST(signing)
{
    char err[TOKEN_ERR_LEN];
    CHECK(token_key_from_secret("", err) == NULL);
    /* RFC 7518 §3.2: HS256 needs at least 32 bytes of key */
    CHECK(token_key_from_secret("0123456789abcdef0123456789abcde", err) == NULL);
    CHECK_CONTAINS(err, "only 31 bytes");
    char path[] = "/tmp/ntpmon-test-token-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, "short-secret\n", 13) == 13);
    close(fd);
    CHECK(token_key_load(path, err) == NULL);
    CHECK_CONTAINS(err, "only 12 bytes");
    unlink(path);
    struct token_key *k = token_key_from_secret("0123456789abcdef0123456789abcdef", err);
    CHECK_STR(token_key_alg(k), "HS256");
    struct token_issued t;
    CHECK_INT(token_issue(k, TOKEN_ROLE_SELECTOR, "test", "selector-a", 60, 1800000000, &t, err), 0);
    CHECK_INT(t.exp, 1800000060);
    CHECK_INT(strlen(t.jti), 26);
    struct jwt_claims_peek p;
    char perr[128];
    CHECK_INT(jwt_peek(t.token, &p, perr, sizeof perr), 0);
    CHECK_STR(p.sub, "selector-a");
    CHECK_STR(p.aud, "test");
    CHECK_INT(p.exp, 1800000060);
    CHECK_INT(p.iat, 1800000000);
    free(t.token);
    CHECK(token_issue(k, TOKEN_ROLE_SELECTOR, "test", "selector-a", 0, 1800000000, &t, err) < 0);
    token_key_free(k);
    CHECK(token_key_load("/nonexistent/key", err) == NULL);
    CHECK_CONTAINS(err, "/nonexistent/key");
}

int main(void)
{
    RUN(roles);
    RUN(subjects);
    RUN(acl_lists);
    RUN(signing);
    return unit_done();
}
