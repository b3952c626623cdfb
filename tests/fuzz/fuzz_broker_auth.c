/* fuzz_broker_auth.c — libFuzzer target for the broker plugin's verification and ACL code: random tokens (seeded with
 * real ones) go through auth_verify, random topics and filters through every ACL decision of a valid session and
 * the filter algebra, and the input also as a revocation file. Nothing may crash, leak or read out of bounds.
 * Input: byte 0 picks the username; the rest is "TOKEN\nTOPIC\nFILTER". */
// fuzz-sources: broker-auth/strmap.c broker-auth/topicacl.c broker-auth/verify.c broker-auth/revoked.c
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "revoked.h"
#include "token.h"
#include "topicacl.h"
#include "verify.h"

#define SECRET "fuzz-secret-fuzz-secret-fuzz-secret"
#define NOW 1795470000LL /* the seed tokens were issued just before this */

static struct auth_key *key;
static struct auth_session *session;
static const struct auth_policy pol = {"test", 30};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void init(void)
{
    char err[AUTH_ERR_LEN], warn[AUTH_ERR_LEN];
    key = auth_key_from_bytes(SECRET, strlen(SECRET), err, warn);
    struct token_key *tk = token_key_from_secret(SECRET, err);
    struct token_issued t;
    if (!key || !tk || token_issue(tk, TOKEN_ROLE_WEB, "test", "web-f", 3600, NOW, &t, err) < 0) abort();
    if (auth_verify(key, &pol, "web-f", t.token, NOW, &session, err) < 0) abort();
    free(t.token);
    token_key_free(tk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!key) init();
    if (size < 1) return 0;
    static const char *const users[] = {"m1", "web-f", "admin", ""};
    const char *user = users[data[0] % 4];
    char *buf = malloc(size);
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    char *topic = strchr(buf, '\n');
    if (topic) *topic++ = '\0';
    char *filter = topic ? strchr(topic, '\n') : NULL;
    if (filter) *filter++ = '\0';

    struct auth_session *s = NULL;
    char err[AUTH_ERR_LEN];
    if (auth_verify(key, &pol, user, buf, NOW, &s, err) == 0) {
        if (topic) auth_session_allows(s, &pol, AUTH_WRITE, topic, NOW);
        auth_session_free(s);
    }
    if (topic) {
        for (int a = AUTH_READ; a <= AUTH_UNSUBSCRIBE; a++) auth_session_allows(session, &pol, a, topic, NOW);
        acl_strip_share(topic);
        if (filter) {
            acl_topic_matches(filter, topic);
            /* containment must agree with matching: a topic matched by inner is matched by outer */
            if (acl_filter_contains(filter, topic) && acl_topic_valid(topic) && !acl_topic_matches(filter, topic))
                abort();
        }
    }
    struct revoked *r = revoked_new(NULL);
    if (r) {
        revoked_parse(r, (const char *)data, size);
        revoked_contains(r, user);
        revoked_free(r);
    }
    free(buf);
    return 0;
}
