/* jwtpeek.h — reads a JWT's claims WITHOUT verifying it: clients need the token's `sub` (their MQTT username)
 * and `exp`/`iat` (when to renew). Verification is the broker plugin's job (broker-auth/). */
#ifndef NTPMON_JWTPEEK_H
#define NTPMON_JWTPEEK_H

#include <stddef.h>
#include <stdint.h>

struct jwt_claims_peek {
    char sub[128];
    int64_t exp; /* 0 when absent */
    int64_t iat; /* 0 when absent */
    char aud[64];
};

/* 0 on success; -1 with a reason in err when the token is not three base64url parts with a JSON payload. */
int jwt_peek(const char *token, struct jwt_claims_peek *out, char *err, size_t err_len);
/* Decodes base64url (no padding needed) into a malloc'd buffer; returns its length or -1. */
long base64url_decode(const char *in, size_t len, unsigned char **out);

#endif
