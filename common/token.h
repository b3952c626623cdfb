/* token.h — issuing broker tokens (DESIGN.md §4): the role table (subject, topic lists, default lifetime), the
 * claims every token carries (sub, aud = env, iat, nbf, exp, jti, role, subs, publ) and signing with libjwt from
 * an HMAC secret (JWT_KEY or a secret file) or a private EC P-256 / RSA PEM. Used by `ntpmonctl token issue` and
 * ntpmon-tokend; verification is the broker plugin's (broker-auth/). Plain malloc: errors are returned. */
#ifndef NTPMON_TOKEN_H
#define NTPMON_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "ulid.h"

#define TOKEN_ERR_LEN 256
#define TOKEN_SUB_MAX 128
#define TOKEN_MAX_FILTERS 8
#define TOKEN_MAX_LEN 4096 /* the broker refuses longer tokens */
/* RFC 7518 §3.2: an HMAC key at least as long as the hash output — 32 bytes for HS256 (48 for HS384, 64 for HS512).
 * Issuers and the broker refuse shorter secrets. */
#define TOKEN_HMAC_MIN_LEN 32

enum token_role {
    TOKEN_ROLE_MONITOR,
    TOKEN_ROLE_INGEST,
    TOKEN_ROLE_SCORER,
    TOKEN_ROLE_SELECTOR,
    TOKEN_ROLE_TOKENS,
    TOKEN_ROLE_WEB,
    TOKEN_ROLE_WATCHER,
    TOKEN_ROLE_ADMIN,
    TOKEN_ROLE_COUNT
};

/* What a role may do: the topic filters of the `publ` and `subs` claims. */
struct token_acl {
    size_t n_publ, n_subs;
    char publ[TOKEN_MAX_FILTERS][MSG_TOPIC_MAX];
    char subs[TOKEN_MAX_FILTERS][MSG_TOPIC_MAX];
};

/* Parses a role name ("monitor", "ingest", …); 0 or -1. */
int token_role_parse(const char *name, enum token_role *out);
/* The role's name as in the `role` claim. */
const char *token_role_name(enum token_role role);
/* The role's default lifetime in seconds (monitor 6 h, admin 5 min, others 30 d). */
int64_t token_role_default_ttl_s(enum token_role role);
/* The token's subject (MQTT username) for a role and an optional name: monitors use the name itself (required);
 * other roles are "<prefix>-<name>" ("ingest-a", "watch-web1"; a name that already carries the prefix is kept),
 * defaulting to "<prefix>-<env>"; admin defaults to "admin". 0, or -1 with a reason in err. */
int token_role_subject(enum token_role role, const char *name, const char *env, char *out, size_t len,
                       char err[TOKEN_ERR_LEN]);
/* Fills the role's topic filters for env and subject (DESIGN.md §4's table); 0, or -1 on a bad env/subject. */
int token_role_acl(enum token_role role, const char *env, const char *sub, struct token_acl *out);

/* A signing key: an HMAC secret (signs HS256) or a private EC P-256 (ES256) or RSA (RS256) PEM. */
struct token_key;
/* The HMAC secret given as a string (JWT_KEY). NULL with a reason on a secret shorter than TOKEN_HMAC_MIN_LEN
 * bytes or no memory. */
struct token_key *token_key_from_secret(const char *secret, char err[TOKEN_ERR_LEN]);
/* Reads a key file: a private PEM (EC P-256 or RSA), or else an HMAC secret (the bytes, one trailing newline
 * stripped; at least TOKEN_HMAC_MIN_LEN of them). NULL with a reason naming the file. */
struct token_key *token_key_load(const char *path, char err[TOKEN_ERR_LEN]);
/* The key given by --key-file (wins) or $JWT_KEY; NULL with a reason when neither is set or it is unusable. */
struct token_key *token_key_from_options(const char *key_file, char err[TOKEN_ERR_LEN]);
/* "HS256", "ES256" or "RS256". */
const char *token_key_alg(const struct token_key *key);
void token_key_free(struct token_key *key);

/* What was signed. */
struct token_issued {
    char *token; /* malloc'd JWT; free() it */
    int64_t iat, exp;
    char jti[ULID_LEN + 1];
    char sub[TOKEN_SUB_MAX];
};

/* Builds and signs a token for role/env/sub valid from now_s for ttl_s seconds. 0, or -1 with a reason. */
int token_issue(const struct token_key *key, enum token_role role, const char *env, const char *sub, int64_t ttl_s,
                int64_t now_s, struct token_issued *out, char err[TOKEN_ERR_LEN]);

#endif
