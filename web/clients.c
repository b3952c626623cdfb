/* clients.c — the client table (open addressing with linear probing, keys are 17-byte address keys) and the
 * token bucket (see clients.h). */
#include "clients.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "xalloc.h"

int64_t bucket_take(struct bucket *b, double rate, double burst, int64_t now_us)
{
    if (burst < 1) burst = 1;
    if (b->last_us == 0) {
        b->tokens = burst;
    } else if (now_us > b->last_us) {
        b->tokens += (double)(now_us - b->last_us) / 1e6 * rate;
        if (b->tokens > burst) b->tokens = burst;
    }
    b->last_us = now_us;
    if (b->tokens >= 1) {
        b->tokens -= 1;
        return 0;
    }
    if (rate <= 0) return INT64_MAX;
    int64_t wait = (int64_t)((1 - b->tokens) / rate * 1e6) + 1;
    return wait > 0 ? wait : 1;
}

struct clients {
    struct client **slots; /* NULL = empty */
    size_t cap, n;
};

struct clients *clients_new(void)
{
    struct clients *c = xcalloc(1, sizeof *c);
    c->cap = 256;
    c->slots = xcalloc(c->cap, sizeof *c->slots);
    return c;
}

void clients_free(struct clients *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->cap; i++) free(c->slots[i]);
    free(c->slots);
    free(c);
}

static void make_key(const struct netaddr *addr, struct netaddr *key)
{
    memset(key, 0, sizeof *key);
    key->family = addr->family;
    memcpy(key->bytes, addr->bytes, addr->family == AF_INET6 ? 8 : 4); /* IPv6: the /64 */
}

static size_t hash_key(const struct netaddr *k)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)k->family; /* FNV-1a */
    for (size_t i = 0; i < sizeof k->bytes; i++) h = (h ^ k->bytes[i]) * 1099511628211ULL;
    return (size_t)h;
}

static bool same_key(const struct netaddr *a, const struct netaddr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

static size_t slot_of(const struct clients *c, const struct netaddr *key, bool *found)
{
    size_t i = hash_key(key) & (c->cap - 1);
    while (c->slots[i]) {
        if (same_key(&c->slots[i]->key, key)) {
            *found = true;
            return i;
        }
        i = (i + 1) & (c->cap - 1);
    }
    *found = false;
    return i;
}

static void grow(struct clients *c)
{
    struct client **old = c->slots;
    size_t old_cap = c->cap;
    c->cap *= 2;
    c->slots = xcalloc(c->cap, sizeof *c->slots);
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i]) continue;
        bool found;
        c->slots[slot_of(c, &old[i]->key, &found)] = old[i];
    }
    free(old);
}

struct client *clients_find(struct clients *c, const struct netaddr *addr)
{
    struct netaddr key;
    make_key(addr, &key);
    bool found;
    size_t i = slot_of(c, &key, &found);
    return found ? c->slots[i] : NULL;
}

struct client *clients_get(struct clients *c, const struct netaddr *addr, int64_t now_us)
{
    struct netaddr key;
    make_key(addr, &key);
    bool found;
    size_t i = slot_of(c, &key, &found);
    if (!found) {
        if ((c->n + 1) * 2 > c->cap) {
            grow(c);
            i = slot_of(c, &key, &found);
        }
        struct client *cl = xcalloc(1, sizeof *cl);
        cl->key = key;
        netaddr_format(&key, cl->text);
        if (key.family == AF_INET6) strcat(cl->text, "/64");
        c->slots[i] = cl;
        c->n++;
    }
    c->slots[i]->last_us = now_us;
    return c->slots[i];
}

size_t clients_expire(struct clients *c, int64_t idle_before_us)
{
    /* Removing from a linear-probing table means re-inserting the rest of each cluster: rebuild instead. */
    size_t gone = 0;
    for (size_t i = 0; i < c->cap; i++) {
        struct client *cl = c->slots[i];
        if (cl && cl->conns == 0 && cl->streams == 0 && cl->checks == 0 && cl->requests == 0 &&
            cl->last_us < idle_before_us) {
            free(cl);
            c->slots[i] = NULL;
            gone++;
        }
    }
    if (gone == 0) return 0;
    c->n -= gone;
    struct client **old = c->slots;
    c->slots = xcalloc(c->cap, sizeof *c->slots);
    for (size_t i = 0; i < c->cap; i++) {
        if (!old[i]) continue;
        bool found;
        c->slots[slot_of(c, &old[i]->key, &found)] = old[i];
    }
    free(old);
    return gone;
}

size_t clients_count(const struct clients *c) { return c->n; }
