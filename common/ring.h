/* ring.h — a FIFO of fixed-size elements whose memory follows what is queued: it starts small, doubles when full
 * (up to a maximum) and halves when a quarter full or less (down to its minimum), so a queue sized for an outage
 * costs that memory only during the outage. The gap between growing (full) and shrinking (a quarter) keeps a queue
 * that hovers around one size from reallocating back and forth. */
#ifndef NTPMON_RING_H
#define NTPMON_RING_H

#include <stdbool.h>
#include <stddef.h>

struct ring {
    unsigned char *buf;
    size_t elem;             /* bytes per element */
    size_t head, len, cap;   /* elements */
    size_t min_cap, max_cap; /* elements */
};

/* An empty ring of min_cap slots (at least 1) that may hold up to max_cap (at least min_cap) elements. */
void ring_init(struct ring *r, size_t elem, size_t min_cap, size_t max_cap);
void ring_free(struct ring *r);
/* A slot at the back for one more element (growing first when full); NULL when max_cap elements are queued (pop
 * the oldest first to make room). */
void *ring_push(struct ring *r);
/* The i-th element from the front (i < len). */
void *ring_at(const struct ring *r, size_t i);
/* Drops n (≤ len) elements from the front; shrinks when a quarter full or less. */
void ring_pop(struct ring *r, size_t n);
static inline size_t ring_len(const struct ring *r) { return r->len; }
static inline bool ring_full(const struct ring *r) { return r->len >= r->max_cap; }

#endif
