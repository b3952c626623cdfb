/* random.c — the kernel's random bytes, with one fallback and no endless retry loop. */
#include "random.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

/* At most this many interrupted or short reads in a row before a source counts as failed. */
#define MAX_TRIES 64

static int from_getrandom(unsigned char *buf, size_t len)
{
    size_t got = 0;
    for (int tries = 0; got < len && tries < MAX_TRIES; tries++) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n > 0) got += (size_t)n;
        else if (n < 0 && errno != EINTR && errno != EAGAIN) return -1;
    }
    return got == len ? 0 : -1;
}

static int from_urandom(unsigned char *buf, size_t len)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t got = 0;
    for (int tries = 0; got < len && tries < MAX_TRIES; tries++) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n > 0) got += (size_t)n;
        else if (n == 0 || (errno != EINTR && errno != EAGAIN)) break;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return got == len ? 0 : -1;
}

int random_fill(void *buf, size_t len)
{
    if (from_getrandom(buf, len) == 0) return 0;
    if (from_urandom(buf, len) == 0) return 0;
    if (!errno) errno = EIO;
    return -1;
}
