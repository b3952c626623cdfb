/* ring.c — the growing and shrinking FIFO (see ring.h): a reallocation copies the queued elements to the front of
 * a new buffer; after a large buffer is given back, glibc is asked to return free memory to the system (a freed
 * mmap'd block raises malloc's mmap threshold, so the next buffers of that size come from the heap, where freed
 * memory otherwise stays resident). */
#include "ring.h"

#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "xalloc.h"

#define TRIM_BYTES (1u << 20) /* give memory back to the system after freeing a buffer at least this large */

void ring_init(struct ring *r, size_t elem, size_t min_cap, size_t max_cap)
{
    *r = (struct ring){.elem = elem ? elem : 1, .min_cap = min_cap ? min_cap : 1};
    r->max_cap = max_cap < r->min_cap ? r->min_cap : max_cap;
    r->cap = r->min_cap;
    r->buf = xmalloc(r->cap * r->elem);
}

void ring_free(struct ring *r)
{
    free(r->buf);
    *r = (struct ring){0};
}

static void resize(struct ring *r, size_t cap)
{
    unsigned char *buf = xmalloc(cap * r->elem);
    size_t first = r->cap - r->head < r->len ? r->cap - r->head : r->len; /* up to the end of the old buffer */
    memcpy(buf, r->buf + r->head * r->elem, first * r->elem);
    memcpy(buf + first * r->elem, r->buf, (r->len - first) * r->elem);
    size_t old_bytes = r->cap * r->elem;
    free(r->buf);
    r->buf = buf;
    r->head = 0;
    r->cap = cap;
#ifdef __GLIBC__
    if (old_bytes >= TRIM_BYTES && cap * r->elem < old_bytes) malloc_trim(0);
#else
    (void)old_bytes;
#endif
}

void *ring_push(struct ring *r)
{
    if (r->len >= r->max_cap) return NULL;
    if (r->len == r->cap) resize(r, r->cap * 2 < r->max_cap ? r->cap * 2 : r->max_cap);
    r->len++;
    return ring_at(r, r->len - 1);
}

void *ring_at(const struct ring *r, size_t i) { return r->buf + ((r->head + i) % r->cap) * r->elem; }

void ring_pop(struct ring *r, size_t n)
{
    if (n > r->len) n = r->len;
    r->head = r->len == n ? 0 : (r->head + n) % r->cap;
    r->len -= n;
    size_t cap = r->cap;
    while (cap > r->min_cap && r->len <= cap / 4) cap = cap / 2 > r->min_cap ? cap / 2 : r->min_cap;
    if (cap < r->cap) resize(r, cap);
}
