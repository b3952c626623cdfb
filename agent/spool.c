/* spool.c — the append-only spool file, its replay, compaction, and the in-memory index (an array in append order
 * plus an open-addressing hash from ULID to array slot). See spool.h for the file format and durability rules. */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "ulid.h"
#include "xalloc.h"

#define COMPACT_MIN_GARBAGE (1u << 20) /* bytes of dead records before a compaction is worth it */

struct spool {
    char *path;
    int fd;
    bool fsync_on, dirty;
    size_t max;
    struct spool_entry *e;
    size_t n, cap;
    size_t head;   /* entries before head are all dead */
    size_t cursor; /* entries before cursor are not due (or dead) */
    size_t live;
    uint32_t *hash; /* slot -> index + 1; 0 = empty */
    size_t hash_cap;
    uint64_t file_bytes, live_bytes;
    int64_t dropped;
    struct spool_stats st;
};

/* ---- index ---- */

static uint64_t id_hash(const char *id)
{
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < ULID_LEN; i++) h = (h ^ (unsigned char)id[i]) * 1099511628211ULL;
    return h;
}

/* Rebuilds the hash over the live entries, sized for at least `room` entries. */
static void hash_rebuild(struct spool *sp, size_t room)
{
    size_t want = 64;
    while (want < room * 2 + 16) want *= 2;
    free(sp->hash);
    sp->hash = xcalloc(want, sizeof *sp->hash);
    sp->hash_cap = want;
    for (size_t i = 0; i < sp->n; i++) {
        if (!sp->e[i].live) continue;
        size_t slot = id_hash(sp->e[i].id) & (want - 1);
        while (sp->hash[slot]) slot = (slot + 1) & (want - 1);
        sp->hash[slot] = (uint32_t)(i + 1);
    }
}

/* The index of the live entry with this id, or -1. */
static long find(const struct spool *sp, const char *id)
{
    if (!sp->hash_cap) return -1;
    size_t slot = id_hash(id) & (sp->hash_cap - 1);
    while (sp->hash[slot]) {
        size_t i = sp->hash[slot] - 1;
        if (sp->e[i].live && memcmp(sp->e[i].id, id, ULID_LEN) == 0) return (long)i;
        slot = (slot + 1) & (sp->hash_cap - 1);
    }
    return -1;
}

static struct spool_entry *push_entry(struct spool *sp)
{
    if (sp->n == sp->cap) {
        sp->cap = sp->cap ? sp->cap * 2 : 256;
        sp->e = xrealloc(sp->e, sp->cap * sizeof *sp->e);
    }
    if ((sp->n + 1) * 2 + 16 > sp->hash_cap) hash_rebuild(sp, sp->n + 1);
    struct spool_entry *e = &sp->e[sp->n];
    memset(e, 0, sizeof *e);
    return e;
}

static void index_entry(struct spool *sp, size_t i)
{
    size_t slot = id_hash(sp->e[i].id) & (sp->hash_cap - 1);
    while (sp->hash[slot]) slot = (slot + 1) & (sp->hash_cap - 1);
    sp->hash[slot] = (uint32_t)(i + 1);
}

static void kill_entry(struct spool *sp, size_t i)
{
    sp->e[i].live = false;
    sp->live--;
    sp->live_bytes -= sp->e[i].rec_len;
    while (sp->head < sp->n && !sp->e[sp->head].live) sp->head++;
}

static char kind_letter(uint8_t kind) { return kind == SPOOL_TRACE ? 'T' : 'R'; }

/* ---- file I/O ---- */

/* Appends one record; on failure the file is cut back so no partial record remains. */
static int append(struct spool *sp, const char *rec, size_t len)
{
    if (file_write_all(sp->fd, rec, len) < 0) {
        int saved = errno;
        if (ftruncate(sp->fd, (off_t)sp->file_bytes) < 0) { /* nothing more we can do; replay drops a torn tail */
        }
        errno = saved;
        return -1;
    }
    sp->file_bytes += len;
    sp->dirty = true;
    return 0;
}

static int append_mark(struct spool *sp, char kind, const char *id)
{
    char rec[32];
    int n = snprintf(rec, sizeof rec, "%c %s\n", kind, id);
    return append(sp, rec, (size_t)n);
}

static int pread_all(int fd, char *buf, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t r = pread(fd, buf, len, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        buf += r;
        len -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

/* Rewrites the file with the live entries only (and compacts the index). On failure the old file stays. */
static int compact(struct spool *sp)
{
    char *tmp = xasprintf("%s.tmp", sp->path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        LOG(ERROR, "spool: cannot compact %s: %s", sp->path, strerror(errno));
        free(tmp);
        return -1;
    }
    size_t cap = 1 << 16, used = 0;
    char *buf = xmalloc(cap);
    used = (size_t)snprintf(buf, cap, "H %" PRId64 "\n", sp->dropped);
    uint64_t pos = 0;
    uint64_t *new_off = xcalloc(sp->live ? sp->live : 1, sizeof *new_off);
    size_t k = 0;
    int rc = 0;
    for (size_t i = sp->head; i < sp->n && rc == 0; i++) {
        struct spool_entry *e = &sp->e[i];
        if (!e->live) continue;
        char prefix[64];
        int plen = snprintf(prefix, sizeof prefix, "%c %s %" PRId64 " ", kind_letter(e->kind), e->id, e->server_id);
        size_t need = (size_t)plen + e->len + 1;
        if (used + need > cap) {
            if (file_write_all(fd, buf, used) < 0) rc = -1;
            pos += used;
            used = 0;
            if (need > cap) {
                cap = need;
                buf = xrealloc(buf, cap);
            }
        }
        memcpy(buf + used, prefix, (size_t)plen);
        if (rc == 0 && pread_all(sp->fd, buf + used + plen, e->len, e->offset) < 0) rc = -1;
        new_off[k++] = pos + used + (uint64_t)plen;
        used += need;
        buf[used - 1] = '\n';
    }
    if (rc == 0 && file_write_all(fd, buf, used) < 0) rc = -1;
    pos += used;
    free(buf);
    if (rc == 0 && fsync(fd) < 0) rc = -1;
    if (close(fd) < 0) rc = -1;
    if (rc == 0 && rename(tmp, sp->path) < 0) rc = -1;
    if (rc < 0) {
        LOG(ERROR, "spool: cannot compact %s: %s (keeping the current file)", sp->path, strerror(errno));
        unlink(tmp);
        free(tmp);
        free(new_off);
        return -1;
    }
    free(tmp);
    file_fsync_dir(sp->path);
    int nfd = open(sp->path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (nfd < 0) {
        /* The new file is in place but we cannot open it: this is fatal for the guarantee. */
        LOG(ERROR, "spool: cannot reopen %s after compaction: %s", sp->path, strerror(errno));
        free(new_off);
        return -1;
    }
    close(sp->fd);
    sp->fd = nfd;
    /* compact the index in the same order */
    k = 0;
    size_t j = 0;
    for (size_t i = sp->head; i < sp->n; i++) {
        if (!sp->e[i].live) continue;
        sp->e[j] = sp->e[i];
        sp->e[j].offset = new_off[k++];
        j++;
    }
    free(new_off);
    sp->n = j;
    sp->head = 0;
    sp->cursor = 0;
    sp->file_bytes = pos;
    sp->dirty = false;
    hash_rebuild(sp, sp->n);
    sp->st.compactions++;
    return 0;
}

static void maybe_compact(struct spool *sp)
{
    uint64_t garbage = sp->file_bytes - sp->live_bytes;
    if (garbage >= COMPACT_MIN_GARBAGE && garbage > sp->live_bytes) compact(sp);
}

/* ---- replay ---- */

static bool parse_record(char *line, size_t len, char *kind, char id[ULID_LEN + 1], int64_t *server_id, size_t *payload_off)
{
    if (len < 3 || line[1] != ' ') return false;
    *kind = line[0];
    if (*kind == 'H') return line[2] >= '0' && line[2] <= '9';
    if (len < 2 + ULID_LEN) return false;
    char raw[ULID_LEN + 1];
    memcpy(raw, line + 2, ULID_LEN);
    raw[ULID_LEN] = '\0';
    if (!ulid_canonical(raw, id)) return false;
    if (*kind == 'C' || *kind == 'D') return len == 2 + ULID_LEN;
    if ((*kind != 'R' && *kind != 'T') || line[2 + ULID_LEN] != ' ') return false;
    char *p = line + 3 + ULID_LEN, *end;
    errno = 0;
    long long sid = strtoll(p, &end, 10);
    if (errno || end == p || *end != ' ' || sid < 0) return false;
    *server_id = sid;
    *payload_off = (size_t)(end + 1 - line);
    /* the payload is one JSON object */
    return *payload_off < len && line[*payload_off] == '{' && line[len - 1] == '}';
}

static int replay(struct spool *sp, FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    uint64_t off = 0, good_end = 0;
    while ((got = getline(&line, &cap, f)) > 0) {
        size_t len = (size_t)got;
        if (line[len - 1] != '\n') { /* torn tail: the process died mid-write */
            sp->st.torn++;
            break;
        }
        line[--len] = '\0';
        char kind, id[ULID_LEN + 1];
        int64_t sid = 0;
        size_t poff = 0;
        if (!parse_record(line, len, &kind, id, &sid, &poff)) {
            sp->st.malformed++;
            LOG(WARN, "spool: skipping a malformed record at byte %" PRIu64 " of %s", off, sp->path);
        } else if (kind == 'H') {
            sp->dropped = strtoll(line + 2, NULL, 10);
            if (sp->dropped < 0) sp->dropped = 0;
        } else if (kind == 'R' || kind == 'T') {
            if (find(sp, id) < 0) {
                struct spool_entry *e = push_entry(sp);
                memcpy(e->id, id, sizeof e->id);
                e->live = true;
                e->kind = kind == 'T' ? SPOOL_TRACE : SPOOL_RESULT;
                e->server_id = sid;
                e->offset = off + poff;
                e->len = (uint32_t)(len - poff);
                e->rec_len = (uint32_t)len + 1;
                index_entry(sp, sp->n);
                sp->n++;
                sp->live++;
                sp->live_bytes += e->rec_len;
                sp->st.replayed++;
            }
        } else {
            long i = find(sp, id);
            if (i >= 0) {
                kill_entry(sp, (size_t)i);
                sp->st.replayed--;
                if (kind == 'D') sp->dropped++;
            }
        }
        off += (uint64_t)got;
        good_end = off;
    }
    free(line);
    sp->file_bytes = good_end;
    return ferror(f) ? -1 : 0;
}

/* ---- public ---- */

struct spool *spool_open(const char *path, size_t max_entries, bool fsync_on, char *err, size_t err_len)
{
    struct spool *sp = xcalloc(1, sizeof *sp);
    sp->path = xstrdup(path);
    sp->fsync_on = fsync_on;
    sp->max = max_entries ? max_entries : 1;
    sp->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (sp->fd < 0) {
        snprintf(err, err_len, "cannot open spool %s: %s", path, strerror(errno));
        goto fail;
    }
    hash_rebuild(sp, 0);
    int dupfd = dup(sp->fd);
    FILE *f = dupfd >= 0 ? fdopen(dupfd, "r") : NULL;
    if (!f || fseek(f, 0, SEEK_SET) < 0 || replay(sp, f) < 0) {
        snprintf(err, err_len, "cannot read spool %s: %s", path, strerror(errno));
        if (f) fclose(f);
        else if (dupfd >= 0) close(dupfd);
        goto fail;
    }
    fclose(f);
    if (sp->st.torn) LOG(WARN, "spool: dropped a torn last record in %s (a crash while writing it)", path);
    /* enforce the bound on what was left by a run with a larger bound */
    while (sp->live > sp->max) {
        kill_entry(sp, sp->head);
        sp->dropped++;
    }
    /* Start every run from a clean file: live records only, no torn tail. */
    if (compact(sp) < 0) {
        snprintf(err, err_len, "cannot rewrite spool %s: %s", path, strerror(errno));
        goto fail;
    }
    sp->st.compactions = 0;
    return sp;
fail:
    if (sp->fd >= 0) close(sp->fd);
    free(sp->path);
    free(sp->e);
    free(sp->hash);
    free(sp);
    return NULL;
}

void spool_close(struct spool *sp)
{
    if (!sp) return;
    if (sp->dirty) fsync(sp->fd);
    close(sp->fd);
    free(sp->path);
    free(sp->e);
    free(sp->hash);
    free(sp);
}

void spool_sync(struct spool *sp)
{
    if (!sp->dirty || !sp->fsync_on) return;
    if (fdatasync(sp->fd) < 0) LOG(ERROR, "spool: fdatasync %s: %s", sp->path, strerror(errno));
    sp->dirty = false;
    sp->st.syncs++;
}

static void drop_oldest(struct spool *sp)
{
    size_t i = sp->head;
    if (i >= sp->n) return;
    if (append_mark(sp, 'D', sp->e[i].id) < 0)
        LOG(ERROR, "spool: cannot record a dropped result in %s: %s", sp->path, strerror(errno));
    kill_entry(sp, i);
    sp->dropped++;
    LOG(WARN, "spool: full (%zu results): dropped the oldest unconfirmed result (%" PRId64 " dropped so far)",
        sp->max, sp->dropped);
}

int spool_add(struct spool *sp, const char *id, int64_t server_id, const char *payload, size_t len)
{
    return spool_add_kind(sp, SPOOL_RESULT, id, server_id, payload, len);
}

int spool_add_kind(struct spool *sp, enum spool_kind kind, const char *id, int64_t server_id, const char *payload,
                   size_t len)
{
    char nid[ULID_LEN + 1];
    if (!ulid_canonical(id, nid) || server_id < 0 || len == 0 || memchr(payload, '\n', len) || len > UINT32_MAX / 2) {
        errno = EINVAL;
        return -1;
    }
    if (find(sp, nid) >= 0) return 0; /* already spooled */
    while (sp->live >= sp->max) drop_oldest(sp);
    char prefix[64];
    int plen = snprintf(prefix, sizeof prefix, "%c %s %" PRId64 " ", kind_letter(kind), nid, server_id);
    size_t rec_len = (size_t)plen + len + 1;
    char *rec = xmalloc(rec_len);
    memcpy(rec, prefix, (size_t)plen);
    memcpy(rec + plen, payload, len);
    rec[rec_len - 1] = '\n';
    uint64_t start = sp->file_bytes;
    int rc = append(sp, rec, rec_len);
    free(rec);
    if (rc < 0) return -1;
    struct spool_entry *e = push_entry(sp);
    memcpy(e->id, nid, sizeof e->id);
    e->live = true;
    e->kind = (uint8_t)kind;
    e->server_id = server_id;
    e->offset = start + (uint64_t)plen;
    e->len = (uint32_t)len;
    e->rec_len = (uint32_t)rec_len;
    e->sent_us = 0;
    index_entry(sp, sp->n);
    sp->n++;
    sp->live++;
    sp->live_bytes += rec_len;
    return 0;
}

bool spool_confirm(struct spool *sp, const char *id)
{
    char nid[ULID_LEN + 1];
    if (!ulid_canonical(id, nid)) return false;
    long i = find(sp, nid);
    if (i < 0) return false;
    if (append_mark(sp, 'C', nid) < 0) /* not fatal: the result would only be re-sent after a restart */
        LOG(ERROR, "spool: cannot record a confirmation in %s: %s", sp->path, strerror(errno));
    kill_entry(sp, (size_t)i);
    maybe_compact(sp);
    return true;
}

bool spool_contains(const struct spool *sp, const char *id)
{
    char nid[ULID_LEN + 1];
    if (!ulid_canonical(id, nid)) return false;
    return find(sp, nid) >= 0;
}

void spool_get_stats(const struct spool *sp, struct spool_stats *st)
{
    *st = sp->st;
    st->live = sp->live;
    st->dropped = sp->dropped;
    st->file_bytes = sp->file_bytes;
}

size_t spool_live(const struct spool *sp) { return sp->live; }
int64_t spool_dropped(const struct spool *sp) { return sp->dropped; }

const struct spool_entry *spool_next_due(struct spool *sp)
{
    if (sp->cursor < sp->head) sp->cursor = sp->head;
    while (sp->cursor < sp->n && (!sp->e[sp->cursor].live || sp->e[sp->cursor].sent_us != 0)) sp->cursor++;
    return sp->cursor < sp->n ? &sp->e[sp->cursor] : NULL;
}

void spool_mark_sent(struct spool *sp, const struct spool_entry *e, int64_t now_us)
{
    size_t i = (size_t)(e - sp->e);
    if (i >= sp->n) return;
    sp->e[i].sent_us = now_us ? now_us : 1;
}

void spool_mark_all_due(struct spool *sp)
{
    for (size_t i = sp->head; i < sp->n; i++) sp->e[i].sent_us = 0;
    sp->cursor = sp->head;
}

size_t spool_expire(struct spool *sp, int64_t now_us, int64_t timeout_us)
{
    size_t count = 0, first = sp->n;
    for (size_t i = sp->head; i < sp->n; i++) {
        struct spool_entry *e = &sp->e[i];
        if (!e->live || e->sent_us == 0 || now_us - e->sent_us < timeout_us) continue;
        e->sent_us = 0;
        if (i < first) first = i;
        count++;
    }
    if (first < sp->cursor) sp->cursor = first;
    return count;
}

char *spool_payload(struct spool *sp, const struct spool_entry *e)
{
    char *buf = xmalloc((size_t)e->len + 1);
    if (pread_all(sp->fd, buf, e->len, e->offset) < 0) {
        LOG(ERROR, "spool: cannot read a result from %s: %s", sp->path, strerror(errno));
        free(buf);
        return NULL;
    }
    buf[e->len] = '\0';
    return buf;
}
