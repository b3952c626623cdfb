/* test_opts.c — the table-driven flags: exact long names only (getopt_long would take any unique prefix, so
 * `setup --token X` silently set --token-retry), values, positionals in any place, and exit 2 with a clear message
 * on a bad flag. Each parse that must fail runs in a child process (opts_usage_error exits). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "opts.h"
#include "unit.h"

static int64_t retry_us, count;
static const char *token_file;
static bool verbose;

static const struct opt_spec specs[] = {
    {"token-retry", 0, NULL, OPT_DURATION, &retry_us, "60", 0, 3600, "DURATION", "retry interval"},
    {"token-file", 0, NULL, OPT_STRING, &token_file, NULL, 0, 0, "FILE", "the token"},
    {"count", 'n', NULL, OPT_INT, &count, "1", 0, 100, "N", "how many"},
    {"verbose", 0, NULL, OPT_FLAG, &verbose, NULL, 0, 0, NULL, "more output"},
    {0},
};
static const struct opt_spec *const groups[] = {specs, NULL};
static const struct opt_program prog = {"opts-test", "[options] CMD", "a test", groups, NULL};

/* Parses the words in a child; returns its exit status and puts its stderr in err. */
static int parse_in_child(const char *const *words, char *err, size_t err_len)
{
    int pipefd[2];
    if (pipe(pipefd) < 0) return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], STDERR_FILENO);
        if (!freopen("/dev/null", "w", stdout)) _exit(99);
        close(pipefd[0]);
        char *argv[16];
        int argc = 0;
        argv[argc++] = (char *)"opts-test";
        for (size_t i = 0; words[i]; i++) argv[argc++] = (char *)words[i];
        argv[argc] = NULL;
        opts_parse(&prog, argc, argv);
        _exit(0);
    }
    close(pipefd[1]);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < err_len && (r = read(pipefd[0], err + got, err_len - 1 - got)) > 0) got += (size_t)r;
    err[got] = '\0';
    close(pipefd[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(exact_names_parse)
{
    char *argv[] = {"opts-test", "setup", "--token-retry", "5s", "--token-file=/x", "-n", "7", "--verbose", "y", NULL};
    int first = opts_parse(&prog, 9, argv);
    CHECK_INT(first, 7);
    CHECK_STR(argv[7], "setup");
    CHECK_STR(argv[8], "y");
    CHECK_INT(retry_us, 5000000);
    CHECK_STR(token_file, "/x");
    CHECK_INT(count, 7);
    CHECK(verbose);
}

/* Issue 19: `ntpmon-agent setup --token X` was taken as --token-retry X (getopt_long accepts any unique prefix). */
TEST(abbreviations_are_refused)
{
    char err[1024];
    const char *const a[] = {"setup", "--token", "X", NULL};
    CHECK_INT(parse_in_child(a, err, sizeof err), 2);
    CHECK_CONTAINS(err, "unknown option '--token'");
    const char *const b[] = {"--token-r=5", "setup", NULL};
    CHECK_INT(parse_in_child(b, err, sizeof err), 2);
    CHECK_CONTAINS(err, "unknown option '--token-r'");
    CHECK_CONTAINS(err, "--token-retry");
    const char *const c[] = {"--verb", NULL};
    CHECK_INT(parse_in_child(c, err, sizeof err), 2);
    CHECK_CONTAINS(err, "unknown option '--verb'");
    const char *const d[] = {"--cou", "3", NULL};
    CHECK_INT(parse_in_child(d, err, sizeof err), 2);
    const char *const e[] = {"--vers", NULL};
    CHECK_INT(parse_in_child(e, err, sizeof err), 2);
    /* exact names, "--" and what follows it still work */
    const char *const ok1[] = {"--count", "3", "--", "--token", NULL};
    CHECK_INT(parse_in_child(ok1, err, sizeof err), 0);
    const char *const ok2[] = {"--token-file", "--token", NULL}; /* a value that looks like a flag */
    CHECK_INT(parse_in_child(ok2, err, sizeof err), 0);
}

TEST(bad_values_exit_2)
{
    char err[1024];
    const char *const a[] = {"--count", "1000", NULL};
    CHECK_INT(parse_in_child(a, err, sizeof err), 2);
    CHECK_CONTAINS(err, "--count");
    const char *const b[] = {"--nope", NULL};
    CHECK_INT(parse_in_child(b, err, sizeof err), 2);
    CHECK_CONTAINS(err, "unknown option '--nope'");
    const char *const c[] = {"--token-file", NULL};
    CHECK_INT(parse_in_child(c, err, sizeof err), 2);
    CHECK_CONTAINS(err, "needs a value");
}

int main(void)
{
    RUN(exact_names_parse);
    RUN(abbreviations_are_refused);
    RUN(bad_values_exit_2);
    return unit_done();
}
