/* cmd_key.c — `ntpmonctl key gen --alg HS256|ES256|RS256 --out PREFIX`: signing keys for the broker and the
 * token issuers (OpenSSL). HS256 writes PREFIX.key (a random secret, usable as $JWT_KEY and plugin_opt_key_file);
 * ES256/RS256 write PREFIX.key (private PEM, 0600: for ntpmonctl and ntpmon-tokend) and PREFIX.pub (public PEM:
 * for the broker). Existing files are never overwritten. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "ctl.h"
#include "xalloc.h"

static const char *opt_alg, *opt_out;

const struct opt_spec *cmd_key_specs(void)
{
    static const struct opt_spec specs[] = {
        {"alg", 0, NULL, OPT_STRING, &opt_alg, "HS256", 0, 0, "ALG", "HS256 (shared secret), ES256 or RS256 (key pair)"},
        {"out", 0, NULL, OPT_STRING, &opt_out, NULL, 0, 0, "PREFIX", "writes PREFIX.key (and PREFIX.pub)"},
        {0},
    };
    return specs;
}

/* Opens a new file exclusively with the given mode as a stdio stream. */
static FILE *create_new(const char *path, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "w");
    if (!f) close(fd);
    return f;
}

static int finish_file(FILE *f, const char *path, bool ok)
{
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) ok = false;
    if (fclose(f) != 0) ok = false;
    if (!ok) {
        unlink(path);
        return ctl_fail("writing %s failed", path);
    }
    return 0;
}

static int gen_hmac(const char *key_path)
{
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) return ctl_fail("no random bytes from OpenSSL");
    /* base64url text, so the same secret works in a file and in $JWT_KEY */
    char b64[64];
    int n = EVP_EncodeBlock((unsigned char *)b64, raw, sizeof raw);
    OPENSSL_cleanse(raw, sizeof raw);
    while (n > 0 && b64[n - 1] == '=') n--;
    b64[n] = '\0';
    for (char *p = b64; *p; p++) *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    FILE *f = create_new(key_path, 0600);
    if (!f) return ctl_fail("cannot create %s: %s", key_path, strerror(errno));
    bool ok = fprintf(f, "%s\n", b64) > 0;
    OPENSSL_cleanse(b64, sizeof b64);
    if (finish_file(f, key_path, ok)) return 1;
    printf("%s\n", key_path);
    return 0;
}

static int gen_pair(bool ec, const char *key_path, const char *pub_path)
{
    EVP_PKEY *pk = ec ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256") : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    if (!pk) return ctl_fail("key generation failed");
    int rc = 1;
    FILE *f = create_new(key_path, 0600);
    if (!f) {
        rc = ctl_fail("cannot create %s: %s", key_path, strerror(errno));
        goto out;
    }
    if (finish_file(f, key_path, PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) == 1)) goto out;
    f = create_new(pub_path, 0644);
    if (!f) {
        rc = ctl_fail("cannot create %s: %s", pub_path, strerror(errno));
        unlink(key_path);
        goto out;
    }
    if (finish_file(f, pub_path, PEM_write_PUBKEY(f, pk) == 1)) {
        unlink(key_path);
        goto out;
    }
    printf("%s\n%s\n", key_path, pub_path);
    rc = 0;
out:
    EVP_PKEY_free(pk);
    return rc;
}

int cmd_key_gen(struct ctl_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argv;
    if (argc || !opt_out || !*opt_out) return ctl_fail("usage: key gen --alg HS256|ES256|RS256 --out PREFIX");
    char *key_path = xasprintf("%s.key", opt_out), *pub_path = xasprintf("%s.pub", opt_out);
    int rc;
    if (strcmp(opt_alg, "HS256") == 0) rc = gen_hmac(key_path);
    else if (strcmp(opt_alg, "ES256") == 0) rc = gen_pair(true, key_path, pub_path);
    else if (strcmp(opt_alg, "RS256") == 0) rc = gen_pair(false, key_path, pub_path);
    else rc = ctl_fail("invalid --alg '%s' (HS256, ES256 or RS256)", opt_alg);
    free(key_path);
    free(pub_path);
    return rc;
}
