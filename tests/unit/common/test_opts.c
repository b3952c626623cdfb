/* test_opts.c — common/opts, the table every binary's flags are parsed through: each type (flag, string, integer,
 * number, duration, list), bounds, default < environment < flag precedence, positionals before and after flags,
 * "--", long names spelled out (getopt_long alone takes any unique prefix: `setup --token X` once set
 * --token-retry), errors (exit 2 with a message naming the flag, the source and the rule), --help (every flag with its
 * default and environment variable) and --version (exit 0), the env file reader and the shared groups. Calls that
 * exit run in a child process whose exit status and output are checked. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "opts.h"
#include "unit.h"

static bool o_flag;
static const char *o_str;
static int64_t o_int, o_dur, o_retry;
static const char *o_token_file;
static double o_num;
static struct opt_list o_list, o_refs;

static const struct opt_spec table[] = {
    {"verbose", 'v', "T_VERBOSE", OPT_FLAG, &o_flag, NULL, 0, 0, NULL, "say more"},
    {"name", 'n', "T_NAME", OPT_STRING, &o_str, "alpha", 0, 0, "NAME", "a name"},
    {"count", 0, "T_COUNT", OPT_INT, &o_int, "10", 1, 100, "N", "how many"},
    {"ratio", 0, "T_RATIO", OPT_DOUBLE, &o_num, "0.5", 0, 1, "R", "a fraction"},
    {"interval", 0, "T_INTERVAL", OPT_DURATION, &o_dur, "9m", 1, 86400, "D", "how often"},
    {"tag", 't', "T_TAGS", OPT_LIST, &o_list, NULL, 0, 0, "TAG", "repeatable"},
    {"ref", 0, NULL, OPT_LIST, &o_refs, NULL, 0, 0, "HOST…", "takes the words that follow"},
    {"token-retry", 0, NULL, OPT_DURATION, &o_retry, "60", 0, 3600, "DURATION", "retry interval"},
    {"token-file", 0, NULL, OPT_STRING, &o_token_file, NULL, 0, 0, "FILE", "the token"},
    {NULL, 0, NULL, 0, NULL, NULL, 0, 0, NULL, NULL},
};
static struct opts_common common;
static struct opts_mqtt mqtt;
static struct opts_db dbo;
static struct opts_metrics metrics;
static const struct opt_spec *groups[6];
static const struct opt_program prog = {"test-prog", "[options] CMD…", "A test program.", groups, "Commands: x\n"};

static void setup_groups(void)
{
    groups[0] = table;
    groups[1] = opts_common_specs(&common);
    groups[2] = opts_mqtt_specs(&mqtt);
    groups[3] = opts_db_specs(&dbo);
    groups[4] = opts_metrics_specs(&metrics);
    groups[5] = NULL;
}

static void clear_env(void)
{
    const char *vars[] = {"T_VERBOSE", "T_NAME", "T_COUNT", "T_RATIO", "T_INTERVAL", "T_TAGS", "DEPLOYMENT_MODE",
                          "LOG_LEVEL", "MQTT_URL", "MQTT_TOKEN", "MQTT_TOKEN_FILE", "DATABASE_DSN", NULL};
    for (int i = 0; vars[i]; i++) unsetenv(vars[i]);
}

/* Parses a NULL-terminated argument list in this process (values that exit must use run_child). */
static int parse(char **words, int *argc_out)
{
    static char *argv[32];
    int argc = 0;
    argv[argc++] = "test-prog";
    for (int i = 0; words[i]; i++) argv[argc++] = words[i];
    argv[argc] = NULL;
    *argc_out = argc;
    return opts_parse(&prog, argc, argv);
}
#define ARGS(...) ((char *[]){__VA_ARGS__, NULL})

/* Runs opts_parse in a child; returns its exit status (-1 when it did not exit) and its stdout+stderr in out. */
static int run_child(char **words, char *out, size_t out_len)
{
    int fds[2];
    if (pipe(fds) < 0) return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        int argc;
        parse(words, &argc);
        fflush(stdout);
        _exit(99); /* parsed without exiting */
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t r;
    while ((r = read(fds[0], out + got, out_len - 1 - got)) > 0) got += (size_t)r;
    out[got] = '\0';
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(defaults)
{
    clear_env();
    int argc;
    CHECK_INT(parse(ARGS("run"), &argc), 1);
    CHECK(!o_flag);
    CHECK_STR(o_str, "alpha");
    CHECK_INT(o_int, 10);
    CHECK_NEAR(o_num, 0.5, 0);
    CHECK_INT(o_dur, 540000000);
    CHECK_INT(o_list.n, 0);
    CHECK_STR(common.env, "devel");
    CHECK_STR(common.log_level, "info");
    CHECK_STR(mqtt.url, "mqtt://127.0.0.1:1883");
    CHECK(mqtt.token_file == NULL);
    CHECK(dbo.dsn == NULL);
    CHECK(metrics.listen == NULL);
}

TEST(every_type_from_flags)
{
    clear_env();
    int argc;
    int first = parse(ARGS("-v", "--name", "beta", "--count=100", "--ratio", "0.25", "--interval", "2.5s", "-t", "a",
                           "--tag", "b", "-e", "prod", "--log-level", "debug", "--mqtt-url", "mqtts://b:8883",
                           "--database-dsn", "u:p@tcp(h:3306)/d", "--metrics-listen", "127.0.0.1:9100"),
                      &argc);
    CHECK_INT(first, argc);
    CHECK(o_flag);
    CHECK_STR(o_str, "beta");
    CHECK_INT(o_int, 100);
    CHECK_NEAR(o_num, 0.25, 0);
    CHECK_INT(o_dur, 2500000);
    CHECK_INT(o_list.n, 2);
    if (o_list.n == 2) {
        CHECK_STR(o_list.items[0], "a");
        CHECK_STR(o_list.items[1], "b");
    }
    CHECK_STR(common.env, "prod");
    CHECK_STR(common.log_level, "debug");
    CHECK_STR(mqtt.url, "mqtts://b:8883");
    CHECK_STR(dbo.dsn, "u:p@tcp(h:3306)/d");
    CHECK_STR(metrics.listen, "127.0.0.1:9100");
}

TEST(durations_and_flag_values)
{
    clear_env();
    int argc;
    parse(ARGS("--interval", "90"), &argc);
    CHECK_INT(o_dur, 90000000);
    parse(ARGS("--interval", "6h"), &argc);
    CHECK_INT(o_dur, 6LL * 3600 * 1000000);
    parse(ARGS("--interval", "1d"), &argc);
    CHECK_INT(o_dur, 86400LL * 1000000);
    parse(ARGS("--verbose=false"), &argc);
    CHECK(!o_flag);
    parse(ARGS("--verbose=yes"), &argc);
    CHECK(o_flag);
}

TEST(environment_between_default_and_flag)
{
    clear_env();
    setenv("T_NAME", "from-env", 1);
    setenv("T_COUNT", "42", 1);
    setenv("T_INTERVAL", "30s", 1);
    setenv("T_VERBOSE", "on", 1);
    setenv("T_TAGS", "x y,z", 1);
    setenv("DEPLOYMENT_MODE", "test", 1);
    setenv("DATABASE_DSN", "e:f@tcp(db:3306)/x", 1);
    int argc;
    parse(ARGS("cmd"), &argc);
    CHECK_STR(o_str, "from-env");
    CHECK_INT(o_int, 42);
    CHECK_INT(o_dur, 30000000);
    CHECK(o_flag);
    CHECK_INT(o_list.n, 3); /* space or comma separated */
    CHECK_STR(common.env, "test");
    CHECK_STR(dbo.dsn, "e:f@tcp(db:3306)/x");
    /* a flag beats the environment; a list flag replaces the environment's list */
    parse(ARGS("--name", "flag", "--count", "7", "-t", "only"), &argc);
    CHECK_STR(o_str, "flag");
    CHECK_INT(o_int, 7);
    CHECK_INT(o_list.n, 1);
    /* an empty variable is unset for numbers, but an empty string for strings */
    setenv("T_COUNT", "", 1);
    setenv("T_NAME", "", 1);
    parse(ARGS("cmd"), &argc);
    CHECK_INT(o_int, 10);
    CHECK_STR(o_str, "");
    clear_env();
}

TEST(positionals_anywhere)
{
    clear_env();
    int argc;
    char *argv_words[] = {"check", "--count", "5", "192.0.2.1", "-v", "2001:db8::1", NULL};
    static char *argv[16];
    int n = 0;
    argv[n++] = "test-prog";
    for (int i = 0; argv_words[i]; i++) argv[n++] = argv_words[i];
    argv[n] = NULL;
    int first = opts_parse(&prog, n, argv);
    CHECK_INT(first, n - 3);
    CHECK_STR(argv[first], "check");
    CHECK_STR(argv[first + 1], "192.0.2.1");
    CHECK_STR(argv[first + 2], "2001:db8::1");
    CHECK_INT(o_int, 5);
    CHECK(o_flag);
    /* after "--" everything is positional, even words that look like flags */
    first = parse(ARGS("x", "--", "--count", "-v"), &argc);
    CHECK_INT(argc - first, 3);
    CHECK_INT(o_int, 10);
}

TEST(list_takes_following_words)
{
    clear_env();
    int argc;
    int first = parse(ARGS("--ref", "a.example", "b.example", "c.example", "--count", "3", "cmd"), &argc);
    CHECK_INT(o_refs.n, 3);
    CHECK_INT(o_int, 3);
    CHECK_INT(argc - first, 1);
    /* a list flag with a short name takes one value per flag */
    first = parse(ARGS("-t", "a", "cmd"), &argc);
    CHECK_INT(o_list.n, 1);
    CHECK_INT(argc - first, 1);
}

/* Exit 2 with a message that names what was wrong. */
static void check_refused(char **words, const char *fragment)
{
    char out[4096];
    int rc = run_child(words, out, sizeof out);
    CHECK_INT(rc, 2);
    CHECK_CONTAINS(out, fragment);
    CHECK_CONTAINS(out, "Try 'test-prog --help'.");
}

TEST(errors_exit_2_with_a_reason)
{
    clear_env();
    check_refused(ARGS("--count", "0"), "invalid value '0' for --count: must be between 1 and 100");
    check_refused(ARGS("--count", "101"), "must be between 1 and 100");
    check_refused(ARGS("--count", "12abc"), "invalid value '12abc' for --count: expected an integer");
    check_refused(ARGS("--count", "99999999999999999999"), "expected an integer");
    check_refused(ARGS("--ratio", "1.5"), "invalid value '1.5' for --ratio: must be between 0 and 1");
    check_refused(ARGS("--ratio", "nan"), "expected a number");
    check_refused(ARGS("--ratio", "inf"), "expected a number");
    check_refused(ARGS("--interval", "0"), "invalid value '0' for --interval: must be between 1s and 86400s");
    check_refused(ARGS("--interval", "2d"), "must be between 1s and 86400s");
    check_refused(ARGS("--interval", "soon"), "expected a duration like 90, 90s, 5m, 6h or 2d");
    check_refused(ARGS("--verbose=maybe"), "invalid value 'maybe' for --verbose: expected true or false");
    check_refused(ARGS("--no-such-flag"), "unknown option '--no-such-flag'");
    check_refused(ARGS("-Z"), "unknown option '-Z'");
    check_refused(ARGS("--count"), "needs a value");
    check_refused(ARGS("-n"), "needs a value");
    setenv("T_COUNT", "500", 1);
    check_refused(ARGS("cmd"), "invalid value '500' for $T_COUNT: must be between 1 and 100");
    clear_env();
}

/* Issue 19: `ntpmon-agent setup --token X` was taken as --token-retry X. */
TEST(abbreviations_are_refused)
{
    clear_env();
    check_refused(ARGS("setup", "--token", "X"), "unknown option '--token'");
    check_refused(ARGS("--token-r=5", "setup"), "did you mean --token-retry");
    check_refused(ARGS("--verb"), "unknown option '--verb'");
    check_refused(ARGS("--cou", "3"), "unknown option '--cou'");
    check_refused(ARGS("--vers"), "unknown option '--vers'");
    char out[2048];
    /* exact names, "--" and what follows it, and a value that looks like a flag still work (99: parsed, no exit) */
    CHECK_INT(run_child(ARGS("--count", "3", "--", "--token"), out, sizeof out), 99);
    CHECK_INT(run_child(ARGS("--token-file", "--token"), out, sizeof out), 99);
    int argc;
    parse(ARGS("setup", "--token-retry", "5s", "--token-file=/x"), &argc);
    CHECK_INT(o_retry, 5000000);
    CHECK_STR(o_token_file, "/x");
}

TEST(help_lists_every_flag)
{
    clear_env();
    char out[16384];
    CHECK_INT(run_child(ARGS("--help"), out, sizeof out), 0);
    CHECK_CONTAINS(out, "Usage: test-prog [options] CMD…");
    CHECK_CONTAINS(out, "A test program.");
    CHECK_CONTAINS(out, "-v, --verbose");
    CHECK_CONTAINS(out, "[env T_VERBOSE]");
    CHECK_CONTAINS(out, "-n, --name NAME");
    CHECK_CONTAINS(out, "how many (default 10) [env T_COUNT]");
    CHECK_CONTAINS(out, "--interval D");
    CHECK_CONTAINS(out, "(default 9m)");
    CHECK_CONTAINS(out, "--ref HOST…");
    CHECK_CONTAINS(out, "-e, --env ENV");
    CHECK_CONTAINS(out, "[env DEPLOYMENT_MODE]");
    CHECK_CONTAINS(out, "--mqtt-url URL");
    CHECK_CONTAINS(out, "--mqtt-token-file FILE");
    CHECK_CONTAINS(out, "--database-dsn DSN");
    CHECK_CONTAINS(out, "--metrics-listen ADDR:PORT");
    CHECK_CONTAINS(out, "-h, --help");
    CHECK_CONTAINS(out, "--version");
    CHECK_CONTAINS(out, "Commands: x");
    /* every row of every group is listed */
    for (const struct opt_spec *const *g = groups; *g; g++)
        for (const struct opt_spec *s = *g; s->name; s++) {
            char want[80];
            snprintf(want, sizeof want, "--%s", s->name);
            CHECK_CONTAINS(out, want);
        }
    /* -h too, and --help wins over a bad value given after it is never reached */
    CHECK_INT(run_child(ARGS("-h"), out, sizeof out), 0);
    CHECK_CONTAINS(out, "Options:");
}

TEST(version)
{
    char out[1024];
    CHECK_INT(run_child(ARGS("--version"), out, sizeof out), 0);
    CHECK_CONTAINS(out, "test-prog ");
    CHECK_INT(run_child(ARGS("run"), out, sizeof out), 99); /* a normal parse does not exit */
}

TEST(env_file)
{
    clear_env();
    char path[] = "/tmp/ntpmon-test-opts-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char text[] = "# comment\n\nT_NAME=\"quoted value\"\nexport T_COUNT=12\nT_RATIO='0.75'\nbad line\n"
                        "1-BAD=x\nT_INTERVAL=5m\n";
    CHECK_INT(write(fd, text, sizeof text - 1), (long long)(sizeof text - 1));
    close(fd);
    setenv("T_INTERVAL", "already", 1); /* set variables win */
    int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2); /* the two bad lines are reported on stderr */
    int set = opts_load_env_file(path);
    dup2(saved, 2);
    close(saved);
    close(devnull);
    CHECK_INT(set, 3);
    CHECK_STR(getenv("T_NAME"), "quoted value");
    CHECK_STR(getenv("T_COUNT"), "12");
    CHECK_STR(getenv("T_RATIO"), "0.75");
    CHECK_STR(getenv("T_INTERVAL"), "already");
    CHECK_INT(opts_load_env_file("/nonexistent/ntpmon-defaults"), 0);
    unlink(path);
    clear_env();
}

TEST(mqtt_token)
{
    clear_env();
    char err[256];
    struct opts_mqtt m = {0};
    CHECK(opts_mqtt_token(&m, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "no broker token");
    setenv("MQTT_TOKEN", "tok.en.value", 1);
    char *t = opts_mqtt_token(&m, err, sizeof err);
    CHECK_STR(t, "tok.en.value");
    free(t);
    char path[] = "/tmp/ntpmon-test-token-XXXXXX";
    int fd = mkstemp(path);
    CHECK_INT(write(fd, "file.token  \n", 13), 13);
    close(fd);
    m.token_file = path; /* the file beats the variable; trailing blanks go */
    t = opts_mqtt_token(&m, err, sizeof err);
    CHECK_STR(t, "file.token");
    free(t);
    fd = open(path, O_WRONLY | O_TRUNC);
    close(fd);
    CHECK(opts_mqtt_token(&m, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "is empty");
    unlink(path);
    CHECK(opts_mqtt_token(&m, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "cannot read token file");
    clear_env();
}

TEST(common_group_checks)
{
    clear_env();
    char out[2048];
    /* opts_common_apply refuses a bad env or log level with exit 2 */
    fflush(stdout);
    for (int bad = 0; bad < 2; bad++) {
        int fds[2];
        CHECK_INT(pipe(fds), 0);
        pid_t pid = fork();
        if (pid == 0) {
            dup2(fds[1], 2);
            struct opts_common c = {bad ? "Prod!" : "prod", bad ? "info" : "chatty"};
            opts_common_apply(&prog, &c);
            _exit(0);
        }
        close(fds[1]);
        size_t got = 0;
        ssize_t n;
        while ((n = read(fds[0], out + got, sizeof out - 1 - got)) > 0) got += (size_t)n;
        out[got] = '\0';
        close(fds[0]);
        int st;
        waitpid(pid, &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
        CHECK_CONTAINS(out, bad ? "invalid env 'Prod!'" : "invalid log level 'chatty'");
    }
}

int main(void)
{
    setup_groups();
    RUN(defaults);
    RUN(every_type_from_flags);
    RUN(durations_and_flag_values);
    RUN(environment_between_default_and_flag);
    RUN(positionals_anywhere);
    RUN(list_takes_following_words);
    RUN(errors_exit_2_with_a_reason);
    RUN(abbreviations_are_refused);
    RUN(help_lists_every_flag);
    RUN(version);
    RUN(env_file);
    RUN(mqtt_token);
    RUN(common_group_checks);
    return unit_done();
}
