/* test_fileio.c — common/fileio: whole-file reads (a regular file, an empty one, one over the bound, a pipe as
 * `--key-file <(…)` gives, a pipe over the bound, a directory, a missing file) and the atomic replace beside it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "unit.h"

static char dir[] = "/tmp/ntpmon-test-fileio-XXXXXX";

static const char *path_of(const char *name)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

TEST(regular_files)
{
    char err[256];
    size_t len = 99;
    CHECK_INT(file_write_atomic(path_of("a"), "hello\n", 6, 0600, err, sizeof err), 0);
    char *s = file_read_all(path_of("a"), 100, &len, err, sizeof err);
    CHECK_STR(s, "hello\n");
    CHECK_INT(len, 6);
    free(s);
    struct stat st;
    CHECK_INT(stat(path_of("a"), &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_INT(file_write_atomic(path_of("e"), "", 0, 0644, err, sizeof err), 0);
    s = file_read_all(path_of("e"), 100, &len, err, sizeof err);
    CHECK_STR(s, "");
    CHECK_INT(len, 0);
    free(s);
    CHECK(file_read_all(path_of("a"), 5, &len, err, sizeof err) == NULL);
    CHECK_INT(errno, EFBIG);
    CHECK_CONTAINS(err, "is too large (6 bytes, max 5)");
    CHECK(file_read_all(path_of("missing"), 5, &len, err, sizeof err) == NULL);
    CHECK_INT(errno, ENOENT);
    CHECK_CONTAINS(err, "cannot read");
    CHECK(file_read_all(dir, 5, &len, err, sizeof err) == NULL);
    CHECK_INT(errno, EINVAL);
    CHECK_CONTAINS(err, "is not a file");
}

/* A pipe's content through /dev/fd/N, as the shell's <(…) hands it over. */
static char *read_pipe(const char *text, size_t n, size_t max, size_t *len, char *err, size_t err_len)
{
    int fds[2];
    if (pipe(fds) < 0) return NULL;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        for (size_t off = 0; off < n;) {
            ssize_t w = write(fds[1], text + off, n - off);
            if (w <= 0) break; /* the reader stopped (over the bound) */
            off += (size_t)w;
        }
        _exit(0);
    }
    close(fds[1]);
    char p[64];
    snprintf(p, sizeof p, "/dev/fd/%d", fds[0]);
    char *s = file_read_all(p, max, len, err, err_len);
    int e = errno;
    close(fds[0]);
    waitpid(pid, NULL, 0);
    errno = e;
    return s;
}

TEST(pipes)
{
    char err[256];
    size_t len;
    size_t big = 100000;
    char *text = malloc(big);
    memset(text, 'k', big);
    char *s = read_pipe(text, big, big, &len, err, sizeof err);
    CHECK(s != NULL);
    CHECK_INT(len, big);
    CHECK(s && s[big] == '\0' && s[big - 1] == 'k');
    free(s);
    CHECK(read_pipe(text, big, 65536, &len, err, sizeof err) == NULL);
    CHECK_INT(errno, EFBIG);
    CHECK_CONTAINS(err, "is too large (over 65536 bytes)");
    s = read_pipe("secret\n", 7, 64, &len, err, sizeof err);
    CHECK_STR(s, "secret\n");
    free(s);
    free(text);
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    RUN(regular_files);
    RUN(pipes);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    return unit_done();
}
