/* verify.c — token verification with libjwt 1.10 and json-c. libjwt does not check exp/nbf and accepts whatever
 * algorithm the token names if the key fits it (alg none with no key; HS256 keyed with a public PEM), so the
 * algorithm is checked against the key twice (header before decoding, jwt_get_alg after) and every claim is read
 * and type-checked here from the verified payload. */
#include "verify.h"

#include <json-c/json.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>

#include "jwtpeek.h"
#include "msg.h"
#include "token.h"
#include "topicacl.h"

#define KEY_FILE_MAX (64 * 1024)
#define FILTER_MAX 256

struct auth_key {
    enum auth_key_kind kind;
    unsigned char *bytes; /* HMAC secret, or a public key PEM */
    size_t len;
};

static void set_err(char err[AUTH_ERR_LEN], const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(char err[AUTH_ERR_LEN], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, AUTH_ERR_LEN, fmt, ap);
    va_end(ap);
}

/* ---------- keys ---------- */

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* Reads a PEM public key (or the public half of a private key) and re-encodes it as a public PEM for libjwt. */
static struct auth_key *key_from_pem(const void *pem, size_t len, char err[AUTH_ERR_LEN], char warn[AUTH_ERR_LEN])
{
    BIO *in = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pk = in ? PEM_read_bio_PUBKEY(in, NULL, no_passphrase, NULL) : NULL;
    if (!pk && in) {
        BIO_free(in);
        in = BIO_new_mem_buf(pem, (int)len);
        pk = in ? PEM_read_bio_PrivateKey(in, NULL, no_passphrase, NULL) : NULL;
        if (pk) set_err(warn, "the key file holds a private key: the broker needs only the public key");
    }
    BIO_free(in);
    if (!pk) {
        set_err(err, "not a readable EC or RSA PEM key");
        return NULL;
    }
    struct auth_key *k = NULL;
    enum auth_key_kind kind;
    int id = EVP_PKEY_get_base_id(pk);
    char group[64] = "";
    size_t glen = 0;
    if (id == EVP_PKEY_EC && EVP_PKEY_get_group_name(pk, group, sizeof group, &glen) == 1 &&
        (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)) {
        kind = AUTH_KEY_EC;
    } else if (id == EVP_PKEY_RSA && EVP_PKEY_get_bits(pk) >= 2048) {
        kind = AUTH_KEY_RSA;
    } else {
        set_err(err, "unsupported key (want an EC P-256 or an RSA ≥ 2048-bit key)");
        EVP_PKEY_free(pk);
        return NULL;
    }
    BIO *out = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n = 0;
    if (out && PEM_write_bio_PUBKEY(out, pk) == 1) n = BIO_get_mem_data(out, &data);
    if (n > 0 && (k = calloc(1, sizeof *k)) && (k->bytes = malloc((size_t)n + 1))) {
        memcpy(k->bytes, data, (size_t)n);
        k->bytes[n] = '\0';
        k->len = (size_t)n;
        k->kind = kind;
    } else {
        free(k);
        k = NULL;
        set_err(err, "out of memory");
    }
    BIO_free(out);
    EVP_PKEY_free(pk);
    return k;
}

struct auth_key *auth_key_from_bytes(const void *bytes, size_t len, char err[AUTH_ERR_LEN], char warn[AUTH_ERR_LEN])
{
    warn[0] = '\0';
    if (len >= 10 && memmem(bytes, len, "-----BEGIN", 10)) return key_from_pem(bytes, len, err, warn);
    const unsigned char *b = bytes;
    if (len && b[len - 1] == '\n') len--;
    if (len && b[len - 1] == '\r') len--;
    if (len == 0) {
        set_err(err, "the HMAC secret is empty");
        return NULL;
    }
    if (len < TOKEN_HMAC_MIN_LEN) {
        set_err(err, "the HMAC secret is only %zu bytes; HS256 needs at least %d (RFC 7518 §3.2): ntpmonctl key gen",
                len, TOKEN_HMAC_MIN_LEN);
        return NULL;
    }
    struct auth_key *k = calloc(1, sizeof *k);
    if (k) k->bytes = malloc(len + 1);
    if (!k || !k->bytes) {
        free(k);
        set_err(err, "out of memory");
        return NULL;
    }
    memcpy(k->bytes, b, len);
    k->bytes[len] = '\0';
    k->len = len;
    k->kind = AUTH_KEY_HMAC;
    return k;
}

struct auth_key *auth_key_load(const char *path, char err[AUTH_ERR_LEN], char warn[AUTH_ERR_LEN])
{
    warn[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, "cannot open key file %s", path);
        return NULL;
    }
    unsigned char *buf = malloc(KEY_FILE_MAX + 1);
    size_t len = buf ? fread(buf, 1, KEY_FILE_MAX + 1, f) : 0;
    bool bad = !buf || ferror(f) || len > KEY_FILE_MAX;
    fclose(f);
    if (bad) {
        set_err(err, "cannot read key file %s (missing memory, a read error, or larger than 64 KiB)", path);
        free(buf);
        return NULL;
    }
    char e[AUTH_ERR_LEN];
    struct auth_key *k = auth_key_from_bytes(buf, len, e, warn);
    if (!k) set_err(err, "key file %s: %s", path, e);
    OPENSSL_cleanse(buf, len);
    free(buf);
    return k;
}

enum auth_key_kind auth_key_kind(const struct auth_key *key)
{
    return key->kind;
}

void auth_key_free(struct auth_key *key)
{
    if (!key) return;
    OPENSSL_cleanse(key->bytes, key->len);
    free(key->bytes);
    free(key);
}

/* The key decides the algorithm; an HMAC key also needs the hash's length (RFC 7518 §3.2: 32, 48, 64 bytes). */
static bool alg_fits_key(jwt_alg_t alg, const struct auth_key *key)
{
    switch (key->kind) {
    case AUTH_KEY_HMAC:
        return (alg == JWT_ALG_HS256 && key->len >= 32) || (alg == JWT_ALG_HS384 && key->len >= 48) ||
               (alg == JWT_ALG_HS512 && key->len >= 64);
    case AUTH_KEY_EC: return alg == JWT_ALG_ES256;
    case AUTH_KEY_RSA: return alg == JWT_ALG_RS256;
    }
    return false;
}

/* ---------- tokens ---------- */

static bool is_b64url(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return len > 0;
}

/* Checks the shape and the header's alg before libjwt parses anything. */
static int check_header(const char *token, const struct auth_key *key, char err[AUTH_ERR_LEN])
{
    const char *d1 = strchr(token, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.')) {
        set_err(err, "token is not a JWT (want header.payload.signature)");
        return -1;
    }
    if (!is_b64url(token, (size_t)(d1 - token)) || !is_b64url(d1 + 1, (size_t)(d2 - d1 - 1)) ||
        !is_b64url(d2 + 1, strlen(d2 + 1))) {
        set_err(err, "token is not base64url (or has an empty part)");
        return -1;
    }
    unsigned char *hdr;
    long n = base64url_decode(token, (size_t)(d1 - token), &hdr);
    if (n <= 0) {
        set_err(err, "token header is not base64url");
        return -1;
    }
    json_object *o = json_tokener_parse((const char *)hdr);
    free(hdr);
    json_object *alg;
    int rc = -1;
    if (!o || !json_object_is_type(o, json_type_object)) {
        set_err(err, "token header is not a JSON object");
    } else if (!json_object_object_get_ex(o, "alg", &alg) || !json_object_is_type(alg, json_type_string)) {
        set_err(err, "token header has no alg");
    } else {
        jwt_alg_t a = jwt_str_alg(json_object_get_string(alg));
        if (!alg_fits_key(a, key)) set_err(err, "token algorithm '%.20s' is not accepted by this broker's key",
                                            json_object_get_string(alg));
        else rc = 0;
    }
    json_object_put(o);
    return rc;
}

/* An integer claim: 1 present, 0 absent, -1 present but not an integer. */
static int int_claim(json_object *claims, const char *name, int64_t *out)
{
    json_object *v;
    if (!json_object_object_get_ex(claims, name, &v)) return 0;
    if (!json_object_is_type(v, json_type_int)) return -1;
    *out = json_object_get_int64(v);
    return 1;
}

static const char *str_claim(json_object *claims, const char *name, bool *wrong_type)
{
    json_object *v;
    *wrong_type = false;
    if (!json_object_object_get_ex(claims, name, &v)) return NULL;
    if (!json_object_is_type(v, json_type_string)) {
        *wrong_type = true;
        return NULL;
    }
    return json_object_get_string(v);
}

static bool aud_matches(json_object *claims, const char *env)
{
    json_object *v;
    if (!json_object_object_get_ex(claims, "aud", &v)) return false;
    if (json_object_is_type(v, json_type_string)) return strcmp(json_object_get_string(v), env) == 0;
    if (!json_object_is_type(v, json_type_array)) return false;
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (json_object_is_type(e, json_type_string) && strcmp(json_object_get_string(e), env) == 0) return true;
    }
    return false;
}

/* Copies a `subs`/`publ` claim; every entry must be a valid filter inside env_all ("ntpmon/<env>/#"). */
static int filter_claim(json_object *claims, const char *name, const char *env_all, char ***out, size_t *n_out,
                        char err[AUTH_ERR_LEN])
{
    *out = NULL;
    *n_out = 0;
    json_object *v;
    if (!json_object_object_get_ex(claims, name, &v)) return 0;
    if (!json_object_is_type(v, json_type_array)) {
        set_err(err, "claim %s is not an array", name);
        return -1;
    }
    size_t n = json_object_array_length(v);
    if (n > AUTH_MAX_FILTERS) {
        set_err(err, "claim %s has more than %d filters", name, AUTH_MAX_FILTERS);
        return -1;
    }
    if (n == 0) return 0;
    char **list = calloc(n, sizeof *list);
    if (!list) {
        set_err(err, "out of memory");
        return -1;
    }
    *out = list;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        const char *f = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
        if (!f || strlen(f) >= FILTER_MAX || !acl_filter_valid(f) || !acl_filter_contains(env_all, f)) {
            set_err(err, "claim %s has an invalid filter or one outside this env's topics", name);
            return -1;
        }
        if (!(list[i] = strdup(f))) {
            set_err(err, "out of memory");
            return -1;
        }
        (*n_out)++;
    }
    return 0;
}

/* True when a token with this exp has expired at now_s (exp + leeway reached), without overflowing: an exp so far
 * ahead that exp + leeway is not representable never expires. */
static bool exp_reached(int64_t exp, int64_t leeway_s, int64_t now_s)
{
    int64_t limit;
    if (__builtin_add_overflow(exp, leeway_s, &limit)) return leeway_s < 0;
    return now_s >= limit;
}

/* How far apart two times are, for messages: a - b, saturated instead of overflowing. */
static long long seconds_between(int64_t a, int64_t b)
{
    int64_t d;
    if (__builtin_sub_overflow(a, b, &d)) return a > b ? INT64_MAX : INT64_MIN;
    return (long long)d;
}

/* True when t lies beyond now_s + leeway (nbf and iat in the future), without overflowing. */
static bool after_leeway(int64_t t, int64_t leeway_s, int64_t now_s)
{
    int64_t limit;
    if (__builtin_add_overflow(now_s, leeway_s, &limit)) return false;
    return t > limit;
}

static int check_claims(json_object *c, const struct auth_policy *pol, const char *username, int64_t now_s,
                        struct auth_session *s, char err[AUTH_ERR_LEN])
{
    bool wrong;
    const char *sub = str_claim(c, "sub", &wrong);
    if (!sub || !*sub) {
        set_err(err, "token has no sub");
        return -1;
    }
    if (strcmp(sub, username) != 0) {
        set_err(err, "token sub differs from the username");
        return -1;
    }
    if (!aud_matches(c, pol->env)) {
        set_err(err, "token aud is not this broker's env '%s'", pol->env);
        return -1;
    }
    int64_t exp = 0, nbf = 0, iat = 0;
    int r = int_claim(c, "exp", &exp);
    if (r <= 0) {
        set_err(err, r == 0 ? "token has no exp" : "token exp is not an integer");
        return -1;
    }
    if (exp_reached(exp, pol->leeway_s, now_s)) {
        set_err(err, "token expired %lld s ago", seconds_between(now_s, exp));
        return -1;
    }
    if ((r = int_claim(c, "nbf", &nbf)) < 0 || (r > 0 && after_leeway(nbf, pol->leeway_s, now_s))) {
        set_err(err, r < 0 ? "token nbf is not an integer" : "token not valid before %lld s from now",
                seconds_between(nbf, now_s));
        return -1;
    }
    if ((r = int_claim(c, "iat", &iat)) < 0 || (r > 0 && after_leeway(iat, pol->leeway_s, now_s))) {
        set_err(err, r < 0 ? "token iat is not an integer" : "token issued in the future");
        return -1;
    }
    const char *jti = str_claim(c, "jti", &wrong);
    if (wrong || (jti && (strlen(jti) == 0 || strlen(jti) > 64))) {
        set_err(err, "token jti is not a string of 1..64 characters");
        return -1;
    }
    char env_all[MSG_TOPIC_MAX];
    if (msg_prefix(env_all, sizeof env_all - 2, pol->env) < 0) {
        set_err(err, "invalid broker env");
        return -1;
    }
    strcat(env_all, "/#");
    s->exp = exp;
    if (!(s->sub = strdup(sub)) || (jti && !(s->jti = strdup(jti)))) {
        set_err(err, "out of memory");
        return -1;
    }
    if (filter_claim(c, "subs", env_all, &s->subs, &s->n_subs, err) < 0) return -1;
    if (filter_claim(c, "publ", env_all, &s->publ, &s->n_publ, err) < 0) return -1;
    return 0;
}

int auth_verify(const struct auth_key *key, const struct auth_policy *pol, const char *username, const char *password,
                int64_t now_s, struct auth_session **out, char err[AUTH_ERR_LEN])
{
    *out = NULL;
    if (!username || !password) {
        set_err(err, "no credentials (username = token sub, password = token)");
        return -1;
    }
    if (strlen(password) > AUTH_TOKEN_MAX) {
        set_err(err, "token longer than %d bytes", AUTH_TOKEN_MAX);
        return -1;
    }
    if (check_header(password, key, err) < 0) return -1;
    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, password, key->bytes, (int)key->len) != 0 || !jwt) {
        set_err(err, "token signature or encoding is invalid");
        return -1;
    }
    if (!alg_fits_key(jwt_get_alg(jwt), key)) {
        jwt_free(jwt);
        set_err(err, "token algorithm is not accepted by this broker's key");
        return -1;
    }
    char *payload = jwt_get_grants_json(jwt, NULL);
    jwt_free(jwt);
    json_object *claims = payload ? json_tokener_parse(payload) : NULL;
    free(payload);
    if (!claims || !json_object_is_type(claims, json_type_object)) {
        json_object_put(claims);
        set_err(err, "token payload is not a JSON object");
        return -1;
    }
    struct auth_session *s = calloc(1, sizeof *s);
    int rc = -1;
    if (!s) set_err(err, "out of memory");
    else rc = check_claims(claims, pol, username, now_s, s, err);
    json_object_put(claims);
    if (rc < 0) {
        auth_session_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void auth_session_free(struct auth_session *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n_subs; i++) free(s->subs[i]);
    for (size_t i = 0; i < s->n_publ; i++) free(s->publ[i]);
    free(s->subs);
    free(s->publ);
    free(s->sub);
    free(s->jti);
    free(s);
}

bool auth_session_expired(const struct auth_session *s, const struct auth_policy *pol, int64_t now_s)
{
    return exp_reached(s->exp, pol->leeway_s, now_s);
}

bool auth_session_allows(const struct auth_session *s, const struct auth_policy *pol, enum auth_access access,
                         const char *topic, int64_t now_s)
{
    if (!s || !topic) return false;
    if (access == AUTH_UNSUBSCRIBE) return true; /* giving up a subscription never widens access */
    if (auth_session_expired(s, pol, now_s)) return false;
    switch (access) {
    case AUTH_UNSUBSCRIBE:
        return true;
    case AUTH_SUBSCRIBE: {
        const char *f = acl_strip_share(topic);
        if (!f || !acl_filter_valid(f)) return false;
        for (size_t i = 0; i < s->n_subs; i++)
            if (acl_filter_contains(s->subs[i], f)) return true;
        return false;
    }
    case AUTH_READ:
        for (size_t i = 0; i < s->n_subs; i++)
            if (acl_topic_matches(s->subs[i], topic)) return true;
        return false;
    case AUTH_WRITE:
        for (size_t i = 0; i < s->n_publ; i++)
            if (acl_topic_matches(s->publ[i], topic)) return true;
        return false;
    }
    return false;
}

bool auth_client_id_allowed(const char *sub, const char *client_id)
{
    if (!sub || !client_id || !*sub) return false;
    size_t n = strlen(sub);
    if (strncmp(client_id, sub, n) == 0 && (client_id[n] == '\0' || (client_id[n] == ':' && client_id[n + 1])))
        return true;
    if (strncmp(client_id, "mosq-", 5) == 0 || strncmp(client_id, "auto-", 5) == 0) return true;
    /* mosquitto 2.0 assigns a bare UUID (8-4-4-4-12 hex) to a client that sent an empty id */
    if (strlen(client_id) != 36) return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? client_id[i] != '-' : !isxdigit((unsigned char)client_id[i])) return false;
    }
    return true;
}
