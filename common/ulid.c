/* ulid.c — ULID generation and checking (https://github.com/ulid/spec). Monotonic within a millisecond:
 * the random part is incremented rather than redrawn, so ids from one agent sort in creation order. */
#include "ulid.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "timeutil.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static pthread_mutex_t ulid_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t last_ms = -1;
static uint8_t last_rand[10];

static void fill_random(uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n > 0) got += (size_t)n;
    }
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

void ulid_new_at(int64_t unix_ms, char out[ULID_LEN + 1])
{
    uint8_t r[10];
    pthread_mutex_lock(&ulid_lock);
    if (unix_ms == last_ms) {
        int i = 9;
        while (i >= 0 && ++last_rand[i] == 0) i--;
        if (i < 0) { /* 2^80 ids in one ms: cannot happen in practice; move to the next ms */
            last_ms++;
            fill_random(last_rand, sizeof last_rand);
        }
    } else {
        last_ms = unix_ms;
        fill_random(last_rand, sizeof last_rand);
    }
    memcpy(r, last_rand, sizeof r);
    int64_t ms = last_ms;
    pthread_mutex_unlock(&ulid_lock);
    encode(ms, r, out);
}

void ulid_new(char out[ULID_LEN + 1])
{
    int64_t ms = time_now_us() / 1000;
    pthread_mutex_lock(&ulid_lock);
    if (ms < last_ms) ms = last_ms; /* the clock stepped back: keep ids increasing */
    pthread_mutex_unlock(&ulid_lock);
    ulid_new_at(ms, out);
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
