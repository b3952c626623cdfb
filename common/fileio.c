/* fileio.c — bounded whole-file reads, whole writes, durable renames and atomic file replacement (agent state,
 * spool and assignment, key files, the revocation file). */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xalloc.h"

/* Reads what fd has, up to max + 1 bytes (so a larger input is noticed), into a growing buffer; NULL with errno. */
static char *read_stream(int fd, size_t max, size_t *len)
{
    size_t cap = 4096, got = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (got + 1 == cap) {
            char *bigger = cap > max + 1 ? NULL : realloc(buf, cap * 2);
            if (!bigger) break;
            buf = bigger;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + got, cap - 1 - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            errno = e;
            return NULL;
        }
        if (r == 0) {
            buf[got] = '\0';
            *len = got;
            return buf;
        }
        got += (size_t)r;
        if (got > max) break;
    }
    int e = buf ? EFBIG : ENOMEM;
    free(buf);
    errno = e;
    return NULL;
}

char *file_read_all(const char *path, size_t max, size_t *len, char *err, size_t err_len)
{
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, err_len, "cannot read %s: %s", path, strerror(e));
        errno = e;
        return NULL;
    }
    struct stat st;
    int e = 0;
    char *buf = NULL;
    if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
        e = EINVAL;
        snprintf(err, err_len, "%s is not a file", path);
    } else if (!S_ISREG(st.st_mode)) { /* a pipe (--key-file <(…)), a FIFO, a device: read to its end */
        if (!(buf = read_stream(fd, max, len))) {
            e = errno;
            if (e == EFBIG) snprintf(err, err_len, "%s is too large (over %zu bytes)", path, max);
            else snprintf(err, err_len, "cannot read %s: %s", path, strerror(e));
        }
    } else if ((uint64_t)st.st_size > max) {
        e = EFBIG;
        snprintf(err, err_len, "%s is too large (%lld bytes, max %zu)", path, (long long)st.st_size, max);
    } else if (!(buf = malloc((size_t)st.st_size + 1))) {
        e = ENOMEM;
        snprintf(err, err_len, "%s: out of memory", path);
    } else {
        size_t got = 0; /* up to the size seen; a file that grows meanwhile is read as it was */
        while (got < (size_t)st.st_size) {
            ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) {
                e = errno;
                snprintf(err, err_len, "cannot read %s: %s", path, strerror(e));
                free(buf);
                buf = NULL;
            }
            if (r <= 0) break;
            got += (size_t)r;
        }
        if (buf) {
            buf[got] = '\0';
            *len = got;
        }
    }
    close(fd);
    if (!buf) errno = e;
    return buf;
}

int file_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

void file_fsync_dir(const char *path)
{
    char *copy = xstrdup(path);
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

int file_write_atomic(const char *path, const void *data, size_t len, unsigned mode, char *err, size_t err_len)
{
    char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(err, err_len, "cannot write %s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    int rc = file_write_all(fd, data, len);
    if (rc == 0 && fchmod(fd, mode) < 0) rc = -1; /* the umask must not widen or narrow it */
    if (rc == 0 && fsync(fd) < 0) rc = -1;
    if (close(fd) < 0) rc = -1;
    if (rc == 0 && rename(tmp, path) < 0) rc = -1;
    if (rc < 0) {
        snprintf(err, err_len, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    file_fsync_dir(path);
    return 0;
}
