/* verify.h — the broker's token check (DESIGN.md §4): the verification key (HMAC secret, or EC P-256 / RSA public
 * PEM; the key decides the accepted algorithms), signature and claims (exp required, nbf/iat with leeway,
 * sub == username, aud == env, size ≤ 4 KiB, well-formed `subs`/`publ` inside the env's topic tree), and the
 * per-session ACL decision made from the parsed claims. Plain malloc, errors returned: runs inside mosquitto. */
#ifndef NTPMON_AUTH_VERIFY_H
#define NTPMON_AUTH_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_ERR_LEN 160
#define AUTH_TOKEN_MAX 4096
#define AUTH_MAX_FILTERS 32

enum auth_key_kind { AUTH_KEY_HMAC, AUTH_KEY_EC, AUTH_KEY_RSA };

struct auth_key;

/* Loads the key file: a PEM (public, or private whose public half is used) or else an HMAC secret (the bytes,
 * one trailing newline stripped; at least 32 of them, RFC 7518 §3.2). NULL with a reason naming the file. A
 * warning (a private key where the public one would do) goes to warn (else warn is ""). */
struct auth_key *auth_key_load(const char *path, char err[AUTH_ERR_LEN], char warn[AUTH_ERR_LEN]);
/* A key from bytes already in memory (tests, fuzzing); same rules as auth_key_load. */
struct auth_key *auth_key_from_bytes(const void *bytes, size_t len, char err[AUTH_ERR_LEN], char warn[AUTH_ERR_LEN]);
enum auth_key_kind auth_key_kind(const struct auth_key *key);
void auth_key_free(struct auth_key *key);

/* What a verified token allows; one per connected client. */
struct auth_session {
    char *sub;
    char *jti;       /* NULL when the token has none */
    int64_t exp;     /* Unix seconds */
    size_t n_subs, n_publ;
    char **subs;     /* topic filters the client may subscribe to (and so read) */
    char **publ;     /* topic filters the client may publish on */
};

struct auth_policy {
    const char *env;     /* the token's aud must equal it */
    int64_t leeway_s;    /* clock skew allowed for exp, nbf and iat */
};

/* Verifies username/password (the JWT) at now_s; on success fills a new session (auth_session_free()).
 * Returns 0, or -1 with a one-line reason (never containing the token). */
int auth_verify(const struct auth_key *key, const struct auth_policy *pol, const char *username, const char *password,
                int64_t now_s, struct auth_session **out, char err[AUTH_ERR_LEN]);
void auth_session_free(struct auth_session *s);

enum auth_access { AUTH_READ, AUTH_WRITE, AUTH_SUBSCRIBE, AUTH_UNSUBSCRIBE };
/* True when the session's token (not expired at now_s with leeway) allows the access to topic (a topic name for
 * read/write, a filter for subscribe — contained in one of `subs` after stripping `$share/<group>/`). */
bool auth_session_allows(const struct auth_session *s, const struct auth_policy *pol, enum auth_access access,
                         const char *topic, int64_t now_s);
/* True when the token has expired at now_s (exp + leeway reached). */
bool auth_session_expired(const struct auth_session *s, const struct auth_policy *pol, int64_t now_s);

/* Whether a client may use this MQTT client id with a token for `sub`: the id must be `sub` itself or
 * `sub:<suffix>`, so no client can take over (and keep kicking off) another party's session. Ids that libmosquitto
 * tools generate ("mosq-…", "auto-…") and the bare UUIDs the broker assigns to clients that sent none are allowed
 * too: they never name a daemon's session. */
bool auth_client_id_allowed(const char *sub, const char *client_id);

#endif
