/* jwtpeek.c — unverified JWT claim reading (OpenSSL for base64, json-c for the payload). */
#include "jwtpeek.h"

#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long base64url_decode(const char *in, size_t len, unsigned char **out)
{
    *out = NULL;
    if (len > 1 << 20) return -1;
    size_t padded = (len + 3) / 4 * 4;
    char *b64 = malloc(padded + 1);
    unsigned char *buf = malloc(padded / 4 * 3 + 1);
    if (!b64 || !buf) {
        free(b64);
        free(buf);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '-') c = '+';
        else if (c == '_') c = '/';
        else if (c == '=' || c == '+' || c == '/') { /* not base64url */
            free(b64);
            free(buf);
            return -1;
        }
        b64[i] = c;
    }
    for (size_t i = len; i < padded; i++) b64[i] = '=';
    b64[padded] = '\0';
    int n = padded ? EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)padded) : 0;
    free(b64);
    if (n < 0 || len % 4 == 1) {
        free(buf);
        return -1;
    }
    n -= (int)(padded - len); /* EVP_DecodeBlock counts padding as zero bytes */
    buf[n] = '\0';
    *out = buf;
    return n;
}

int jwt_peek(const char *token, struct jwt_claims_peek *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    const char *dot1 = token ? strchr(token, '.') : NULL;
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot1 || !dot2 || strchr(dot2 + 1, '.')) {
        snprintf(err, err_len, "token is not a JWT (want header.payload.signature)");
        return -1;
    }
    unsigned char *payload;
    long n = base64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &payload);
    if (n <= 0) {
        snprintf(err, err_len, "token payload is not base64url");
        return -1;
    }
    json_object *o = json_tokener_parse((const char *)payload);
    free(payload);
    if (!o || !json_object_is_type(o, json_type_object)) {
        if (o) json_object_put(o);
        snprintf(err, err_len, "token payload is not a JSON object");
        return -1;
    }
    json_object *v;
    if (json_object_object_get_ex(o, "sub", &v) && json_object_is_type(v, json_type_string))
        snprintf(out->sub, sizeof out->sub, "%s", json_object_get_string(v));
    if (json_object_object_get_ex(o, "aud", &v) && json_object_is_type(v, json_type_string))
        snprintf(out->aud, sizeof out->aud, "%s", json_object_get_string(v));
    if (json_object_object_get_ex(o, "exp", &v) && json_object_is_type(v, json_type_int)) out->exp = json_object_get_int64(v);
    if (json_object_object_get_ex(o, "iat", &v) && json_object_is_type(v, json_type_int)) out->iat = json_object_get_int64(v);
    json_object_put(o);
    if (!out->sub[0]) {
        snprintf(err, err_len, "token has no 'sub' claim");
        return -1;
    }
    return 0;
}
