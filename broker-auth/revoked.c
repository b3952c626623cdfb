/* revoked.c — revocation file reading: stat() for change detection (mtime with ns, size, inode: an atomic
 * rename always changes the inode), a fresh set built aside and swapped in only when complete. */
#include "revoked.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "strmap.h"

struct revoked {
    char *path;
    struct strmap *set;
    uint64_t generation;
    int64_t last_check_s;
    bool have_stat;
    struct stat st;
};

static void no_free(void *v)
{
    (void)v;
}

struct revoked *revoked_new(const char *path)
{
    struct revoked *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->set = strmap_new();
    r->path = path ? strdup(path) : NULL;
    if (!r->set || (path && !r->path)) {
        revoked_free(r);
        return NULL;
    }
    r->last_check_s = INT64_MIN;
    return r;
}

void revoked_free(struct revoked *r)
{
    if (!r) return;
    strmap_free(r->set, no_free);
    free(r->path);
    free(r);
}

int revoked_parse(struct revoked *r, const char *text, size_t len)
{
    struct strmap *set = strmap_new();
    if (!set) return -1;
    char line[256];
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && text[i] != '\n') i++;
        size_t end = i++;
        while (start < end && (text[start] == ' ' || text[start] == '\t')) start++;
        while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r')) end--;
        if (start == end || text[start] == '#' || end - start >= sizeof line) continue;
        memcpy(line, text + start, end - start);
        line[end - start] = '\0';
        if (memchr(line, '\0', end - start)) continue; /* an embedded NUL: not a name */
        if (strmap_put(set, line, (void *)1, NULL) < 0) {
            strmap_free(set, no_free);
            return -1;
        }
    }
    strmap_free(r->set, no_free);
    r->set = set;
    r->generation++;
    return 0;
}

static bool same_stat(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int revoked_refresh(struct revoked *r, int64_t now_s, bool force, char *msg, size_t msg_len)
{
    msg[0] = '\0';
    if (!r->path) return 0;
    if (!force && now_s == r->last_check_s) return 0;
    r->last_check_s = now_s;
    struct stat st;
    if (stat(r->path, &st) < 0) {
        if (errno != ENOENT) {
            snprintf(msg, msg_len, "cannot stat revocation file %s: %s (keeping %zu entries)", r->path,
                     strerror(errno), strmap_count(r->set));
            return -1;
        }
        /* no file: nothing revoked (an operator removed it, or none was written yet) */
        if (!force && !r->have_stat && r->generation > 0) return 0; /* already known to be missing */
        r->have_stat = false;
        if (revoked_parse(r, "", 0) < 0) return -1;
        snprintf(msg, msg_len, "revocation file %s does not exist: nothing is revoked", r->path);
        return 1;
    }
    if (!force && r->have_stat && same_stat(&st, &r->st)) return 0;
    if (st.st_size > REVOKED_FILE_MAX) {
        snprintf(msg, msg_len, "revocation file %s is larger than %d bytes (keeping %zu entries)", r->path,
                 REVOKED_FILE_MAX, strmap_count(r->set));
        return -1;
    }
    FILE *f = fopen(r->path, "rb");
    char *buf = f ? malloc((size_t)st.st_size + 1) : NULL;
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    bool failed = !f || !buf || ferror(f);
    if (f) fclose(f);
    if (failed || revoked_parse(r, buf, n) < 0) {
        snprintf(msg, msg_len, "cannot read revocation file %s (keeping %zu entries)", r->path, strmap_count(r->set));
        free(buf);
        return -1;
    }
    free(buf);
    r->st = st;
    r->have_stat = true;
    snprintf(msg, msg_len, "revocation file %s loaded: %zu entries", r->path, strmap_count(r->set));
    return 1;
}

bool revoked_contains(const struct revoked *r, const char *key)
{
    return key && strmap_get(r->set, key) != NULL;
}

uint64_t revoked_generation(const struct revoked *r)
{
    return r->generation;
}

size_t revoked_count(const struct revoked *r)
{
    return strmap_count(r->set);
}
