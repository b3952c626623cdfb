/* idmap.h — a small open-addressing hash map from 64-bit keys to 32-bit values (database ids and name hashes to
 * array indexes in the selector's pool). Keys are any value but IDMAP_EMPTY; no deletion (ids are never reused). */
#ifndef NTPMON_SELECTOR_IDMAP_H
#define NTPMON_SELECTOR_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDMAP_EMPTY UINT64_MAX
#define IDMAP_NONE UINT32_MAX

struct idmap {
    uint64_t *keys;
    uint32_t *vals;
    size_t cap, n; /* cap is a power of two */
};

/* Inserts or replaces. */
void idmap_put(struct idmap *m, uint64_t key, uint32_t val);
/* The value, or IDMAP_NONE. */
uint32_t idmap_get(const struct idmap *m, uint64_t key);
void idmap_clear(struct idmap *m);
void idmap_free(struct idmap *m);
/* 64-bit FNV-1a of a string (for name keys). */
uint64_t idmap_hash_str(const char *s);

#endif
