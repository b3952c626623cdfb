/* test_ulid_random.c — ULIDs when the kernel's random source misbehaves (getrandom interrupted, or unavailable as
 * under some seccomp filters: the generator used to spin for ever) and when several threads make ids at once
 * (each thread's ids must still increase). getrandom is replaced by this file's version, which can fail on cue. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ulid.h"
#include "unit.h"

enum { RNG_REAL, RNG_EINTR_3, RNG_ENOSYS };
static volatile int rng_mode = RNG_REAL;
static volatile int rng_calls;

ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
    rng_calls++;
    if (rng_mode == RNG_ENOSYS) {
        errno = ENOSYS;
        return -1;
    }
    if (rng_mode == RNG_EINTR_3 && rng_calls <= 3) {
        errno = EINTR;
        return -1;
    }
    return syscall(SYS_getrandom, buf, len, flags);
}

/* Runs fn in a child with a 10 s alarm; its exit status, or 128 + the signal that ended it. */
static int in_child(void (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(10);
        fn();
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void make_ids_check_valid(void)
{
    char a[ULID_LEN + 1], b[ULID_LEN + 1];
    ulid_new(a);
    ulid_new(b);
    if (!ulid_is_valid(a) || !ulid_is_valid(b) || strcmp(a, b) >= 0) _exit(3);
    ulid_new_at(1795460400000LL, a);
    if (!ulid_is_valid(a)) _exit(4);
}

static void eintr_then_ids(void)
{
    rng_mode = RNG_EINTR_3;
    rng_calls = 0;
    make_ids_check_valid();
}

static void no_getrandom_then_ids(void)
{
    rng_mode = RNG_ENOSYS;
    make_ids_check_valid(); /* from /dev/urandom */
}

static void no_random_at_all(void)
{
    rng_mode = RNG_ENOSYS;
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, STDERR_FILENO);
    for (int fd = 3; fd < 64; fd++) close(fd);
    struct rlimit rl = {3, 3}; /* no descriptor beyond stdio: /dev/urandom cannot be opened either */
    setrlimit(RLIMIT_NOFILE, &rl);
    char a[ULID_LEN + 1];
    ulid_new(a);
    _exit(0); /* an id made without any randomness: must not happen */
}

TEST(interrupted_getrandom_is_retried)
{
    CHECK_INT(in_child(eintr_then_ids), 0);
}

TEST(without_getrandom_dev_urandom_is_used)
{
    CHECK_INT(in_child(no_getrandom_then_ids), 0);
}

TEST(without_any_random_source_it_fails_loudly)
{
    CHECK_INT(in_child(no_random_at_all), 128 + SIGABRT);
}

enum { THREADS = 4, PER_THREAD = 100000 };
static char (*ids)[ULID_LEN + 1];

static void *make_many(void *arg)
{
    size_t t = (size_t)arg;
    for (size_t i = 0; i < PER_THREAD; i++) ulid_new(ids[t * PER_THREAD + i]);
    return NULL;
}

static int cmp_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Each thread's ids must increase (a call that returned happened before the thread's next call), and no two ids
 * may be equal: the clock check and the generation used to be two critical sections, so a thread could reset the
 * shared millisecond backwards after another had moved it on. */
TEST(ids_from_several_threads_stay_ordered_and_unique)
{
    rng_mode = RNG_REAL;
    ids = malloc((size_t)THREADS * PER_THREAD * sizeof *ids);
    pthread_t th[THREADS];
    for (size_t t = 0; t < THREADS; t++) pthread_create(&th[t], NULL, make_many, (void *)t);
    for (size_t t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    int out_of_order = 0, dup = 0;
    for (size_t t = 0; t < THREADS; t++)
        for (size_t i = 1; i < PER_THREAD; i++)
            if (strcmp(ids[t * PER_THREAD + i - 1], ids[t * PER_THREAD + i]) >= 0) out_of_order++;
    qsort(ids, (size_t)THREADS * PER_THREAD, sizeof *ids, cmp_ids);
    for (size_t i = 1; i < (size_t)THREADS * PER_THREAD; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0) dup++;
    CHECK_INT(out_of_order, 0);
    CHECK_INT(dup, 0);
    /* an explicit earlier time does not pull the generator back */
    char a[ULID_LEN + 1], b[ULID_LEN + 1], c[ULID_LEN + 1];
    ulid_new(a);
    ulid_new_at(1469918176385LL, b);
    ulid_new(c);
    CHECK(strcmp(a, c) < 0);
    CHECK_INT(ulid_time_ms(b), 1469918176385LL);
    free(ids);
}

int main(void)
{
    RUN(interrupted_getrandom_is_retried);
    RUN(without_getrandom_dev_urandom_is_used);
    RUN(without_any_random_source_it_fails_loudly);
    RUN(ids_from_several_threads_stay_ordered_and_unique);
    return unit_done();
}
