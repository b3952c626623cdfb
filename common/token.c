/* token.c — the role table of DESIGN.md §4, token claims and signing (libjwt; OpenSSL to tell key types apart).
 * Topic filters are built on msg_prefix() so the message schema stays the only place that knows the root. */
#include "token.h"

#include <errno.h>
#include <json-c/json.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

#define KEY_FILE_MAX (64 * 1024)

/* '@' in a template stands for the subject (monitor names and subjects never contain it). */
struct role_def {
    const char *name;
    const char *prefix; /* subject prefix; NULL: the name itself (monitor) */
    int64_t ttl_s;
    const char *publ[TOKEN_MAX_FILTERS];
    const char *subs[TOKEN_MAX_FILTERS];
};

static const struct role_def roles[TOKEN_ROLE_COUNT] = {
    [TOKEN_ROLE_MONITOR] = {"monitor", NULL, 6 * 3600,
                            {"results/+/@", "traces/+/@", "monitors/@/status", "responses/@/+", "monitors/@/token/request"},
                            {"monitors/@/#"}},
    [TOKEN_ROLE_INGEST] = {"ingest", "ingest", 30 * 86400, {"monitors/+/stored"}, {"results/#", "traces/#"}},
    [TOKEN_ROLE_SCORER] = {"scorer", "scorer", 30 * 86400,
                           {"scores/#", "status/servers/#", "status/zones/#", "monitors/+/requests/traceroute"},
                           {"results/#", "status/selection/#", "responses/#"}},
    [TOKEN_ROLE_SELECTOR] = {"selector", "selector", 30 * 86400, {"monitors/+/assign", "status/selection/#"},
                             {"results/#", "monitors/+/status"}},
    [TOKEN_ROLE_TOKENS] = {"tokens", "tokens", 30 * 86400, {"monitors/+/token"}, {"monitors/+/token/request"}},
    [TOKEN_ROLE_WEB] = {"web", "web", 30 * 86400, {"monitors/+/requests/#"},
                        {"responses/#", "results/#", "traces/#", "scores/#", "status/#", "monitors/+/status"}},
    [TOKEN_ROLE_WATCHER] = {"watcher", "watch", 30 * 86400, {NULL},
                            {"results/#", "traces/#", "scores/#", "status/#", "monitors/+/status"}},
    [TOKEN_ROLE_ADMIN] = {"admin", "admin", 300, {"#"}, {"#"}},
};

static void set_err(char err[TOKEN_ERR_LEN], const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(char err[TOKEN_ERR_LEN], const char *fmt, ...)
{
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, TOKEN_ERR_LEN, fmt, ap);
    va_end(ap);
}

int token_role_parse(const char *name, enum token_role *out)
{
    for (int r = 0; name && r < TOKEN_ROLE_COUNT; r++) {
        if (strcmp(roles[r].name, name) == 0) {
            *out = (enum token_role)r;
            return 0;
        }
    }
    return -1;
}

const char *token_role_name(enum token_role role)
{
    return role < TOKEN_ROLE_COUNT ? roles[role].name : "?";
}

int64_t token_role_default_ttl_s(enum token_role role)
{
    return role < TOKEN_ROLE_COUNT ? roles[role].ttl_s : 0;
}

int token_role_subject(enum token_role role, const char *name, const char *env, char *out, size_t len,
                       char err[TOKEN_ERR_LEN])
{
    if (role >= TOKEN_ROLE_COUNT) {
        set_err(err, "unknown role");
        return -1;
    }
    const struct role_def *d = &roles[role];
    if (name && !msg_name_is_valid(name)) {
        set_err(err, "invalid name '%s' (1..63 of letters, digits, '.', '_', '-')", name);
        return -1;
    }
    int n;
    if (!d->prefix) {
        if (!name) {
            set_err(err, "role %s needs --name (the monitor's name)", d->name);
            return -1;
        }
        n = snprintf(out, len, "%s", name);
    } else if (!name) {
        n = role == TOKEN_ROLE_ADMIN ? snprintf(out, len, "admin") : snprintf(out, len, "%s-%s", d->prefix, env);
    } else {
        size_t pl = strlen(d->prefix);
        bool has_prefix = strncmp(name, d->prefix, pl) == 0 && (name[pl] == '\0' || name[pl] == '-');
        n = has_prefix ? snprintf(out, len, "%s", name) : snprintf(out, len, "%s-%s", d->prefix, name);
    }
    if (n < 0 || (size_t)n >= len || !msg_name_is_valid(out)) {
        set_err(err, "subject for role %s and name '%s' is too long or invalid", d->name, name ? name : "");
        return -1;
    }
    return 0;
}

/* prefix + "/" + template with '@' replaced by sub. */
static int expand(char out[MSG_TOPIC_MAX], const char *prefix, const char *tmpl, const char *sub)
{
    size_t n = 0;
    int w = snprintf(out, MSG_TOPIC_MAX, "%s/", prefix);
    if (w < 0 || w >= MSG_TOPIC_MAX) return -1;
    n = (size_t)w;
    for (const char *p = tmpl; *p; p++) {
        const char *piece = *p == '@' ? sub : NULL;
        size_t plen = piece ? strlen(piece) : 1;
        if (n + plen >= MSG_TOPIC_MAX) return -1;
        memcpy(out + n, piece ? piece : p, plen);
        n += plen;
    }
    out[n] = '\0';
    return 0;
}

int token_role_acl(enum token_role role, const char *env, const char *sub, struct token_acl *out)
{
    memset(out, 0, sizeof *out);
    char prefix[MSG_TOPIC_MAX];
    if (role >= TOKEN_ROLE_COUNT || msg_prefix(prefix, sizeof prefix, env) < 0 || !msg_name_is_valid(sub)) return -1;
    const struct role_def *d = &roles[role];
    for (size_t i = 0; i < TOKEN_MAX_FILTERS && d->publ[i]; i++)
        if (expand(out->publ[out->n_publ++], prefix, d->publ[i], sub) < 0) return -1;
    for (size_t i = 0; i < TOKEN_MAX_FILTERS && d->subs[i]; i++)
        if (expand(out->subs[out->n_subs++], prefix, d->subs[i], sub) < 0) return -1;
    return 0;
}

/* ---------- keys ---------- */

struct token_key {
    jwt_alg_t alg;
    unsigned char *bytes; /* the secret, or the PEM text */
    size_t len;
};

static struct token_key *key_new(jwt_alg_t alg, const void *bytes, size_t len, char err[TOKEN_ERR_LEN])
{
    struct token_key *k = calloc(1, sizeof *k);
    if (k) k->bytes = malloc(len + 1);
    if (!k || !k->bytes) {
        free(k);
        set_err(err, "out of memory");
        return NULL;
    }
    memcpy(k->bytes, bytes, len);
    k->bytes[len] = '\0';
    k->len = len;
    k->alg = alg;
    return k;
}

/* NULL when an HMAC secret of len bytes is long enough for HS256, else the reason. */
static const char *weak_secret(size_t len, char buf[TOKEN_ERR_LEN])
{
    if (len == 0) return "the HMAC secret is empty";
    if (len >= TOKEN_HMAC_MIN_LEN) return NULL;
    snprintf(buf, TOKEN_ERR_LEN,
             "the HMAC secret is only %zu bytes; HS256 needs at least %d (RFC 7518 §3.2): make one with ntpmonctl key gen",
             len, TOKEN_HMAC_MIN_LEN);
    return buf;
}

struct token_key *token_key_from_secret(const char *secret, char err[TOKEN_ERR_LEN])
{
    char why[TOKEN_ERR_LEN];
    const char *weak = weak_secret(secret ? strlen(secret) : 0, why);
    if (weak) {
        set_err(err, "%s", weak);
        return NULL;
    }
    return key_new(JWT_ALG_HS256, secret, strlen(secret), err);
}

/* Never prompts for a passphrase: encrypted keys are refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static struct token_key *key_from_pem(const char *path, const unsigned char *pem, size_t len, char err[TOKEN_ERR_LEN])
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);
    if (!pk) {
        set_err(err, "%s: not a usable private key PEM (signing needs an unencrypted EC P-256 or RSA private key)",
                path);
        return NULL;
    }
    jwt_alg_t alg = JWT_ALG_NONE;
    int id = EVP_PKEY_get_base_id(pk);
    if (id == EVP_PKEY_RSA) {
        if (EVP_PKEY_get_bits(pk) >= 2048) alg = JWT_ALG_RS256;
        else set_err(err, "%s: RSA key shorter than 2048 bits", path);
    } else if (id == EVP_PKEY_EC) {
        char group[64] = "";
        size_t glen = 0;
        EVP_PKEY_get_group_name(pk, group, sizeof group, &glen);
        if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) alg = JWT_ALG_ES256;
        else set_err(err, "%s: EC key on curve '%s' (ES256 needs P-256)", path, group);
    } else {
        set_err(err, "%s: key type is neither EC nor RSA", path);
    }
    EVP_PKEY_free(pk);
    return alg == JWT_ALG_NONE ? NULL : key_new(alg, pem, len, err);
}

struct token_key *token_key_load(const char *path, char err[TOKEN_ERR_LEN])
{
    size_t len;
    char rerr[TOKEN_ERR_LEN];
    unsigned char *buf = (unsigned char *)file_read_all(path, KEY_FILE_MAX, &len, rerr, sizeof rerr);
    if (!buf) {
        set_err(err, "key file: %s", rerr);
        return NULL;
    }
    size_t size = len + 1; /* the buffer, NUL included: what is wiped below (len shrinks for an HMAC secret) */
    struct token_key *k;
    if (strstr((char *)buf, "-----BEGIN")) {
        k = key_from_pem(path, buf, len, err);
    } else {
        if (len && buf[len - 1] == '\n') len--;
        if (len && buf[len - 1] == '\r') len--;
        char why[TOKEN_ERR_LEN];
        const char *weak = weak_secret(len, why);
        if (weak) {
            set_err(err, "%s: %s", path, weak);
            k = NULL;
        } else {
            k = key_new(JWT_ALG_HS256, buf, len, err);
        }
    }
    OPENSSL_cleanse(buf, size);
    free(buf);
    return k;
}

struct token_key *token_key_from_options(const char *key_file, char err[TOKEN_ERR_LEN])
{
    if (key_file && *key_file) return token_key_load(key_file, err);
    const char *secret = getenv("JWT_KEY");
    if (secret && *secret) return token_key_from_secret(secret, err);
    set_err(err, "no signing key: set $JWT_KEY or pass --key-file");
    return NULL;
}

const char *token_key_alg(const struct token_key *key)
{
    return jwt_alg_str(key->alg);
}

void token_key_free(struct token_key *key)
{
    if (!key) return;
    OPENSSL_cleanse(key->bytes, key->len);
    free(key->bytes);
    free(key);
}

/* ---------- issuing ---------- */

static json_object *filter_array(char (*filters)[MSG_TOPIC_MAX], size_t n)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; a && i < n; i++) json_object_array_add(a, json_object_new_string(filters[i]));
    return a;
}

int token_issue(const struct token_key *key, enum token_role role, const char *env, const char *sub, int64_t ttl_s,
                int64_t now_s, struct token_issued *out, char err[TOKEN_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    struct token_acl acl;
    if (ttl_s <= 0 || ttl_s > 366LL * 86400) {
        set_err(err, "lifetime must be between 1 s and 366 days");
        return -1;
    }
    if (token_role_acl(role, env, sub, &acl) < 0 || strlen(sub) >= sizeof out->sub) {
        set_err(err, "invalid env '%s' or subject '%s'", env ? env : "", sub ? sub : "");
        return -1;
    }
    snprintf(out->sub, sizeof out->sub, "%s", sub);
    ulid_new_at(now_s * 1000, out->jti);
    out->iat = now_s;
    out->exp = now_s + ttl_s;

    json_object *lists = json_object_new_object();
    if (lists) {
        json_object_object_add(lists, "subs", filter_array(acl.subs, acl.n_subs));
        json_object_object_add(lists, "publ", filter_array(acl.publ, acl.n_publ));
    }
    const char *lists_json = lists ? json_object_to_json_string_ext(lists, JSON_C_TO_STRING_PLAIN) : NULL;

    jwt_t *jwt = NULL;
    int rc = -1;
    if (!lists_json || jwt_new(&jwt) != 0) {
        set_err(err, "out of memory");
        goto done;
    }
    if (jwt_add_grant(jwt, "sub", sub) || jwt_add_grant(jwt, "aud", env) || jwt_add_grant_int(jwt, "iat", now_s) ||
        jwt_add_grant_int(jwt, "nbf", now_s) || jwt_add_grant_int(jwt, "exp", out->exp) ||
        jwt_add_grant(jwt, "jti", out->jti) || jwt_add_grant(jwt, "role", roles[role].name) ||
        jwt_add_grants_json(jwt, lists_json)) {
        set_err(err, "building the claims failed");
        goto done;
    }
    if (jwt_set_alg(jwt, key->alg, key->bytes, (int)key->len) != 0) {
        set_err(err, "the key cannot sign %s", jwt_alg_str(key->alg));
        goto done;
    }
    out->token = jwt_encode_str(jwt);
    if (!out->token) {
        set_err(err, "signing failed (%s)", jwt_alg_str(key->alg));
        goto done;
    }
    if (strlen(out->token) > TOKEN_MAX_LEN) {
        set_err(err, "token longer than %d bytes", TOKEN_MAX_LEN);
        free(out->token);
        out->token = NULL;
        goto done;
    }
    rc = 0;
done:
    jwt_free(jwt);
    json_object_put(lists);
    return rc;
}
