/* test_state.c — state.json: round trip, mode 0600, refusal of readable files, bad JSON, token/name mismatch;
 * the state directory's precedence (flag, $MONITOR_STATE_DIR, $STATE_DIRECTORY, default). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"
#include "unit.h"
#include "xalloc.h"

static char dir[] = "/tmp/test_state.XXXXXX";
static char path[256];

/* header {"alg":"HS256"} . payload {"sub":"nl-ams1","exp":4102444800} . "sig" */
#define TOKEN "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJubC1hbXMxIiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2ln"

static void write_file(const char *text, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (write(fd, text, strlen(text)) < 0) UNIT_FAIL("write");
    close(fd);
    chmod(path, mode);
}

TEST(round_trip)
{
    struct agent_state s = {0};
    strcpy(s.name, "nl-ams1");
    s.mqtt_url = xstrdup("mqtts://broker.example.org");
    s.mqtt_ca_file = xstrdup("/etc/ssl/ca.pem");
    s.token = xstrdup(TOKEN);
    s.clock_refs[s.n_clock_refs++] = xstrdup("time.example.org");
    s.clock_refs[s.n_clock_refs++] = xstrdup("127.0.0.1:5123");
    char err[256];
    CHECK_INT(state_save(path, &s, err, sizeof err), 0);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    struct agent_state l;
    CHECK_INT(state_load(path, &l, err, sizeof err), 0);
    CHECK_STR(l.name, "nl-ams1");
    CHECK_STR(l.mqtt_url, "mqtts://broker.example.org");
    CHECK_STR(l.mqtt_ca_file, "/etc/ssl/ca.pem");
    CHECK_STR(l.token, TOKEN);
    CHECK_INT(l.n_clock_refs, 2);
    CHECK_STR(l.clock_refs[1], "127.0.0.1:5123");
    CHECK(state_same_connection(&s, &l));
    CHECK(state_same_clock_refs(&s, &l));
    free(l.token);
    l.token = xstrdup("x.y.z");
    CHECK(!state_same_connection(&s, &l));
    state_free(&s);
    state_free(&l);
}

TEST(refuses_readable_file)
{
    write_file("{\"name\":\"nl-ams1\",\"mqtt_url\":\"mqtt://h\",\"token\":\"" TOKEN "\"}", 0644);
    struct agent_state l;
    char err[256];
    CHECK_INT(state_load(path, &l, err, sizeof err), -1);
    CHECK_CONTAINS(err, "mode 0644");
    CHECK_CONTAINS(err, "chmod 600");
    chmod(path, 0600);
    CHECK_INT(state_load(path, &l, err, sizeof err), 0);
    state_free(&l);
}

TEST(bad_contents_have_clear_errors)
{
    struct agent_state l;
    char err[256];
    write_file("{\"name\":\"nl-ams1\",", 0600);
    CHECK_INT(state_load(path, &l, err, sizeof err), -1);
    CHECK_CONTAINS(err, "not a JSON object");
    write_file("[]", 0600);
    CHECK_INT(state_load(path, &l, err, sizeof err), -1);
    CHECK_CONTAINS(err, "not a JSON object");
    write_file("{\"name\":\"nl-ams1\",\"mqtt_url\":\"http://h\",\"token\":\"" TOKEN "\"}", 0600);
    CHECK_INT(state_load(path, &l, err, sizeof err), -1);
    CHECK_CONTAINS(err, "mqtt_url");
    write_file("{\"name\":\"de-fra1\",\"mqtt_url\":\"mqtt://h\",\"token\":\"" TOKEN "\"}", 0600);
    CHECK_INT(state_load(path, &l, err, sizeof err), -1);
    CHECK_CONTAINS(err, "the token is for monitor 'nl-ams1'");
    write_file("{\"name\":\"nl-ams1\",\"mqtt_url\":\"mqtt://h\",\"token\":\"nope\"}", 0600);
    CHECK_INT(state_load(path, &l, err, sizeof err), -1);
    CHECK_CONTAINS(err, "token");
    write_file("{\"name\":\"nl-ams1\",\"mqtt_url\":\"mqtt://h\",\"token\":\"" TOKEN "\",\"clock_refs\":[1]}", 0600);
    CHECK_INT(state_load(path, &l, err, sizeof err), -1);
    CHECK_CONTAINS(err, "clock_refs[0]");
    write_file("{\"name\":\"bad name!\",\"mqtt_url\":\"mqtt://h\",\"token\":\"" TOKEN "\"}", 0600);
    CHECK_INT(state_load(path, &l, err, sizeof err), -1);
    CHECK_CONTAINS(err, "'name'");
}

TEST(state_dir_precedence)
{
    unsetenv("MONITOR_STATE_DIR");
    unsetenv("STATE_DIRECTORY");
    char *d = state_env_dir(NULL, "prod");
    CHECK_STR(d, "/var/lib/ntpmon-agent/prod");
    free(d);
    setenv("STATE_DIRECTORY", "/var/lib/x:/var/lib/y", 1);
    d = state_env_dir(NULL, "prod");
    CHECK_STR(d, "/var/lib/x/prod");
    free(d);
    setenv("MONITOR_STATE_DIR", "/srv/agent", 1);
    d = state_env_dir(NULL, "test");
    CHECK_STR(d, "/srv/agent/test");
    free(d);
    d = state_env_dir("/flag", "devel");
    CHECK_STR(d, "/flag/devel");
    free(d);
}

TEST(dir_prepare_refuses_open_dirs)
{
    char sub[300], err[256];
    snprintf(sub, sizeof sub, "%s/base/env", dir);
    CHECK_INT(state_dir_prepare(sub, err, sizeof err), 0);
    struct stat st;
    CHECK(stat(sub, &st) == 0 && (st.st_mode & 0777) == 0700);
    chmod(sub, 0755);
    CHECK_INT(state_dir_prepare(sub, err, sizeof err), -1);
    CHECK_CONTAINS(err, "chmod 700");
    int fd = state_lock(sub, err, sizeof err);
    CHECK(fd >= 0);
    int fd2 = state_lock(sub, err, sizeof err);
    CHECK(fd2 < 0);
    CHECK_CONTAINS(err, "another ntpmon-agent");
    close(fd);
    char lock[400];
    snprintf(lock, sizeof lock, "%s/%s", sub, LOCK_FILE);
    unlink(lock);
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/base", dir);
    rmdir(sub);
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    snprintf(path, sizeof path, "%s/state.json", dir);
    RUN(round_trip);
    RUN(refuses_readable_file);
    RUN(bad_contents_have_clear_errors);
    RUN(state_dir_precedence);
    RUN(dir_prepare_refuses_open_dirs);
    unlink(path);
    rmdir(dir);
    return unit_done();
}
