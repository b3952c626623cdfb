/* strmap.c — chained hash map with FNV-1a hashing; grows by doubling when the load passes 1. */
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    struct entry *next;
    uint64_t hash;
    void *value;
    char key[]; /* NUL-terminated */
};

struct strmap {
    struct entry **buckets;
    size_t n_buckets; /* a power of two */
    size_t count;
};

static uint64_t hash_key(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

struct strmap *strmap_new(void)
{
    struct strmap *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n_buckets = 64;
    m->buckets = calloc(m->n_buckets, sizeof *m->buckets);
    if (!m->buckets) {
        free(m);
        return NULL;
    }
    return m;
}

void strmap_free(struct strmap *m, void (*free_value)(void *))
{
    if (!m) return;
    for (size_t i = 0; i < m->n_buckets; i++) {
        for (struct entry *e = m->buckets[i], *next; e; e = next) {
            next = e->next;
            if (free_value) free_value(e->value);
            free(e);
        }
    }
    free(m->buckets);
    free(m);
}

static struct entry **find(const struct strmap *m, const char *key, uint64_t h)
{
    struct entry **pp = &m->buckets[h & (m->n_buckets - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0) return pp;
    return pp;
}

void *strmap_get(const struct strmap *m, const char *key)
{
    struct entry **pp = find(m, key, hash_key(key));
    return *pp ? (*pp)->value : NULL;
}

/* Doubling is best effort: without memory the chains just get longer. */
static void grow(struct strmap *m)
{
    size_t n = m->n_buckets * 2;
    struct entry **b = calloc(n, sizeof *b);
    if (!b) return;
    for (size_t i = 0; i < m->n_buckets; i++) {
        for (struct entry *e = m->buckets[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->n_buckets = n;
}

int strmap_put(struct strmap *m, const char *key, void *value, void **old)
{
    uint64_t h = hash_key(key);
    struct entry **pp = find(m, key, h);
    if (*pp) {
        if (old) *old = (*pp)->value;
        (*pp)->value = value;
        return 0;
    }
    size_t klen = strlen(key);
    struct entry *e = malloc(sizeof *e + klen + 1);
    if (!e) return -1;
    memcpy(e->key, key, klen + 1);
    e->hash = h;
    e->value = value;
    e->next = NULL;
    *pp = e;
    m->count++;
    if (old) *old = NULL;
    if (m->count > m->n_buckets) grow(m);
    return 0;
}

void *strmap_remove(struct strmap *m, const char *key)
{
    struct entry **pp = find(m, key, hash_key(key));
    struct entry *e = *pp;
    if (!e) return NULL;
    *pp = e->next;
    void *v = e->value;
    free(e);
    m->count--;
    return v;
}

size_t strmap_count(const struct strmap *m)
{
    return m->count;
}

void strmap_filter(struct strmap *m, bool (*fn)(const char *key, void *value, void *arg), void *arg,
                   void (*free_value)(void *))
{
    for (size_t i = 0; i < m->n_buckets; i++) {
        for (struct entry **pp = &m->buckets[i]; *pp;) {
            struct entry *e = *pp;
            if (fn(e->key, e->value, arg)) {
                *pp = e->next;
                if (free_value) free_value(e->value);
                free(e);
                m->count--;
            } else {
                pp = &e->next;
            }
        }
    }
}
