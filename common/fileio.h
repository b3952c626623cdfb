/* fileio.h — small file primitives that must be right once: reading a whole bounded file, writing a whole
 * buffer, replacing a file atomically (temp file, fsync, rename, fsync of the directory), and making a rename
 * durable. */
#ifndef NTPMON_FILEIO_H
#define NTPMON_FILEIO_H

#include <stddef.h>

/* Reads the whole of path (a file, or a pipe such as --key-file <(…), read to its end), at most max bytes, into a
 * malloc'd NUL-terminated buffer (*len bytes, the NUL not counted). Never aborts. NULL with errno set (ENOENT
 * missing, EINVAL a directory, EFBIG larger than max, ENOMEM, or the read's error) and a message naming it in err. */
char *file_read_all(const char *path, size_t max, size_t *len, char *err, size_t err_len);
/* Writes all len bytes (retrying short writes and EINTR); 0, or -1 with errno set. */
int file_write_all(int fd, const void *buf, size_t len);
/* fsyncs the directory that holds path, so a rename or create in it survives a crash (errors are ignored). */
void file_fsync_dir(const char *path);
/* Replaces path with data: written to a temporary file beside it with the given mode (regardless of the umask),
 * fsync'd, renamed over path, and the directory fsync'd. Readers see the old or the new file, never a mix.
 * 0, or -1 with a message naming the file in err. */
int file_write_atomic(const char *path, const void *data, size_t len, unsigned mode, char *err, size_t err_len);

#endif
