/* idmap.c — linear-probing hash map (idmap.h), grown at 50 % load. */
#include "idmap.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static size_t slot(uint64_t key, size_t cap)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (size_t)key & (cap - 1);
}

static void grow(struct idmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    uint64_t *keys = xmalloc(cap * sizeof *keys);
    uint32_t *vals = xmalloc(cap * sizeof *vals);
    memset(keys, 0xff, cap * sizeof *keys);
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] == IDMAP_EMPTY) continue;
        size_t j = slot(m->keys[i], cap);
        while (keys[j] != IDMAP_EMPTY) j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
}

void idmap_put(struct idmap *m, uint64_t key, uint32_t val)
{
    if ((m->n + 1) * 2 > m->cap) grow(m);
    size_t j = slot(key, m->cap);
    while (m->keys[j] != IDMAP_EMPTY && m->keys[j] != key) j = (j + 1) & (m->cap - 1);
    if (m->keys[j] == IDMAP_EMPTY) m->n++;
    m->keys[j] = key;
    m->vals[j] = val;
}

uint32_t idmap_get(const struct idmap *m, uint64_t key)
{
    if (!m->cap || key == IDMAP_EMPTY) return IDMAP_NONE;
    size_t j = slot(key, m->cap);
    while (m->keys[j] != IDMAP_EMPTY) {
        if (m->keys[j] == key) return m->vals[j];
        j = (j + 1) & (m->cap - 1);
    }
    return IDMAP_NONE;
}

void idmap_clear(struct idmap *m)
{
    if (m->keys) memset(m->keys, 0xff, m->cap * sizeof *m->keys);
    m->n = 0;
}

void idmap_free(struct idmap *m)
{
    free(m->keys);
    free(m->vals);
    *m = (struct idmap){0};
}

uint64_t idmap_hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h == IDMAP_EMPTY ? 0 : h;
}
