/* cmd_token.c — `ntpmonctl token issue|revoke`: signs broker tokens for the roles of DESIGN.md §4 (common/token.h)
 * and appends subjects or token ids to the broker's revocation file, atomically (write a copy, then rename). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmds.h"
#include "ctl.h"
#include "fileio.h"
#include "msg.h"
#include "timeutil.h"
#include "token.h"
#include "xalloc.h"

#define REVOKED_FILE_MAX (16 * 1024 * 1024)

static const char *opt_role, *opt_name, *opt_ttl, *opt_key_file, *opt_revoked_file;

const struct opt_spec *cmd_token_specs(void)
{
    static const struct opt_spec specs[] = {
        {"role", 0, NULL, OPT_STRING, &opt_role, NULL, 0, 0, "ROLE",
         "monitor, ingest, scorer, selector, tokens, web, watcher or admin"},
        {"name", 0, NULL, OPT_STRING, &opt_name, NULL, 0, 0, "NAME",
         "the monitor's name (monitor role), or the suffix of the subject (ingest-NAME, …)"},
        {"ttl", 0, NULL, OPT_STRING, &opt_ttl, NULL, 0, 0, "DURATION",
         "lifetime, e.g. 90s, 6h, 30d (default: the role's: monitor 6h, web 1d, admin 5m, others 30d)"},
        {"key-file", 0, "JWT_KEY_FILE", OPT_STRING, &opt_key_file, NULL, 0, 0, "FILE",
         "signing key: an HMAC secret file or a private EC P-256/RSA PEM (default: the secret in $JWT_KEY)"},
        {"revoked-file", 0, "NTPMON_REVOKED_FILE", OPT_STRING, &opt_revoked_file, "/var/lib/ntpmon/revoked", 0, 0,
         "FILE", "the broker's revocation file (plugin_opt_revoked_file)"},
        {0},
    };
    return specs;
}

int cmd_token_issue(struct ctl_ctx *ctx, int argc, char **argv)
{
    (void)argv;
    if (argc) return ctl_fail("usage: token issue --role ROLE [--name N] [--ttl D] [--key-file F]");
    enum token_role role;
    if (!opt_role || token_role_parse(opt_role, &role) < 0)
        return ctl_fail("invalid or missing --role (monitor, ingest, scorer, selector, tokens, web, watcher, admin)");
    int64_t ttl_s = token_role_default_ttl_s(role);
    if (opt_ttl) {
        int64_t us;
        if (time_parse_duration(opt_ttl, &us) < 0 || us < 1000000 || us > 366LL * 86400 * 1000000)
            return ctl_fail("invalid --ttl '%s' (a duration from 1s to 366d, e.g. 6h or 30d)", opt_ttl);
        ttl_s = us / 1000000;
    }
    char err[TOKEN_ERR_LEN], sub[TOKEN_SUB_MAX];
    if (token_role_subject(role, opt_name, ctx->common.env, sub, sizeof sub, err) < 0) return ctl_fail("%s", err);
    struct token_key *key = token_key_from_options(opt_key_file, err);
    if (!key) return ctl_fail("%s", err);
    struct token_issued t;
    int rc = token_issue(key, role, ctx->common.env, sub, ttl_s, time_now_us() / 1000000, &t, err);
    token_key_free(key);
    if (rc < 0) return ctl_fail("%s", err);
    char exp[TIME_RFC3339_LEN];
    time_format_rfc3339(t.exp * 1000000, exp);
    printf("%s\n", t.token);
    fprintf(stderr, "ntpmonctl: %s token for '%s' (env %s, jti %s), expires %s\n", token_role_name(role), t.sub,
            ctx->common.env, t.jti, exp);
    free(t.token);
    return 0;
}

/* True when `entry` is one of the file's lines (surrounding blanks ignored). */
static bool has_line(const char *text, const char *entry)
{
    size_t el = strlen(entry);
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (len && (*s == ' ' || *s == '\t')) s++, len--;
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r')) len--;
        if (len == el && memcmp(s, entry, el) == 0) return true;
        if (!end) break;
        p = end + 1;
    }
    return false;
}

int cmd_token_revoke(struct ctl_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    if (argc != 1) return ctl_fail("usage: token revoke NAME|JTI [--revoked-file F]");
    const char *entry = argv[0];
    if (!msg_name_is_valid(entry)) return ctl_fail("invalid subject or token id '%s'", entry);
    const char *path = opt_revoked_file;

    /* Serialises concurrent revokers; the broker only ever sees complete files (rename is atomic). */
    char *lock_path = xasprintf("%s.lock", path);
    int lock_fd = open(lock_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX) < 0) {
        int e = errno;
        free(lock_path);
        if (lock_fd >= 0) close(lock_fd);
        return ctl_fail("cannot lock %s.lock: %s", path, strerror(e));
    }
    free(lock_path);
    int rc = 1;
    size_t len;
    char rerr[512];
    char *old = file_read_all(path, REVOKED_FILE_MAX, &len, rerr, sizeof rerr);
    if (!old && errno == ENOENT) old = xstrdup(""); /* a missing file revokes nobody yet */
    if (!old) {
        rc = ctl_fail("%s", rerr);
        goto out;
    }
    if (has_line(old, entry)) {
        printf("'%s' is already revoked\n", entry);
        rc = 0;
        goto out;
    }
    struct stat st;
    mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644;
    bool need_nl = len && old[len - 1] != '\n';
    char *content = xasprintf("%.*s%s%s\n", (int)len, old, need_nl ? "\n" : "", entry);
    char werr[512];
    if (file_write_atomic(path, content, strlen(content), mode, werr, sizeof werr) < 0) {
        free(content);
        rc = ctl_fail("%s", werr);
        goto out;
    }
    free(content);
    printf("revoked '%s' (%s)\n", entry, path);
    rc = 0;
out:
    free(old);
    close(lock_fd);
    return rc;
}
