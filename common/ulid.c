/* ulid.c — ULID generation and checking (https://github.com/ulid/spec). Monotonic within a process: the random
 * part is incremented rather than redrawn within a millisecond, the clock is read and the id made in one critical
 * section (so ids of one thread always increase, whatever other threads do); ids for explicit times come from a
 * generator of their own, so they never pull the clock-driven one back. Without random bytes no id is made: the process aborts with a message
 * (an id from a predictable source could collide, and a collision loses a result). */
#include "ulid.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "random.h"
#include "timeutil.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Two generators: one for ulid_new (now), one for ulid_new_at (explicit times), so that an id for an explicit
 * time never moves the clock-driven one back, while each stays monotonic within a millisecond. */
struct generator {
    int64_t ms;
    uint8_t rand[10];
};
static pthread_mutex_t ulid_lock = PTHREAD_MUTEX_INITIALIZER;
static struct generator now_gen = {-1, {0}}, at_gen = {-1, {0}};

static void fill_random(uint8_t *buf, size_t len)
{
    if (random_fill(buf, len) == 0) return;
    /* stderr directly: this runs in every program, the broker plugin's callers included */
    fprintf(stderr, "ntpmon: no random bytes for a ULID (getrandom and /dev/urandom failed: %s)\n", strerror(errno));
    abort();
}

static void encode(int64_t ms, const uint8_t r[10], char out[ULID_LEN + 1])
{
    uint8_t b[16];
    for (int i = 0; i < 6; i++) b[i] = (uint8_t)((uint64_t)ms >> (8 * (5 - i)));
    memcpy(b + 6, r, 10);
    /* 128 bits -> 26 chars of 5 bits, the first char holding the top 3 bits (bits 125..127 are zero). */
    for (int i = 0; i < ULID_LEN; i++) {
        int bit = 128 - (ULID_LEN - i) * 5; /* position of this char's least-significant... counted from top */
        unsigned v = 0;
        for (int k = 0; k < 5; k++) {
            int pos = bit + k; /* bit index from the most significant, may be negative for the first char */
            v <<= 1;
            if (pos >= 0) v |= (b[pos / 8] >> (7 - pos % 8)) & 1u;
        }
        out[i] = alphabet[v];
    }
    out[ULID_LEN] = '\0';
}

/* The next id of g at ms: the same ms increments the random part, another draws a fresh one. ulid_lock held. */
static int64_t next_locked(struct generator *g, int64_t ms, uint8_t r[10])
{
    if (ms == g->ms) {
        int i = 9;
        while (i >= 0 && ++g->rand[i] == 0) i--;
        if (i < 0) { /* 2^80 ids in one ms: cannot happen in practice; move to the next ms */
            g->ms++;
            fill_random(g->rand, sizeof g->rand);
        }
    } else {
        g->ms = ms;
        fill_random(g->rand, sizeof g->rand);
    }
    memcpy(r, g->rand, 10);
    return g->ms;
}

void ulid_new_at(int64_t unix_ms, char out[ULID_LEN + 1])
{
    uint8_t r[10];
    pthread_mutex_lock(&ulid_lock);
    int64_t ms = next_locked(&at_gen, unix_ms, r);
    pthread_mutex_unlock(&ulid_lock);
    encode(ms, r, out);
}

void ulid_new(char out[ULID_LEN + 1])
{
    uint8_t r[10];
    pthread_mutex_lock(&ulid_lock);
    int64_t ms = time_now_us() / 1000;
    if (ms < now_gen.ms) ms = now_gen.ms; /* the clock stepped back: keep ids increasing */
    ms = next_locked(&now_gen, ms, r);
    pthread_mutex_unlock(&ulid_lock);
    encode(ms, r, out);
}

static int decode_char(char c)
{
    if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

bool ulid_is_valid(const char *s)
{
    if (!s || strlen(s) != ULID_LEN) return false;
    for (int i = 0; i < ULID_LEN; i++)
        if (decode_char(s[i]) < 0) return false;
    return decode_char(s[0]) <= 7; /* larger first chars overflow 128 bits */
}

bool ulid_canonical(const char *s, char out[ULID_LEN + 1])
{
    if (!ulid_is_valid(s)) { /* checked before out is touched: s and out may be the same buffer */
        out[0] = '\0';
        return false;
    }
    for (int i = 0; i < ULID_LEN; i++) out[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i]);
    out[ULID_LEN] = '\0';
    return true;
}

int64_t ulid_time_ms(const char *s)
{
    if (!ulid_is_valid(s)) return -1;
    int64_t ms = 0;
    for (int i = 0; i < 10; i++) ms = (ms << 5) | decode_char(s[i]);
    return ms;
}
