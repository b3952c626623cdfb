/* state.h — the agent's state directory `<state>/<env>/` (0700): state.json (0600: name, broker URL, CA file, token,
 * clock_refs), assign.json (the last accepted assignment, so probing goes on after a restart with the broker away),
 * spool.log and the lock that keeps two agents off one spool. Every file is replaced atomically
 * (temporary file, fsync, rename, fsync of the directory). */
#ifndef NTPMON_AGENT_STATE_H
#define NTPMON_AGENT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

#define STATE_FILE "state.json"
#define ASSIGN_FILE "assign.json"
#define SPOOL_FILE "spool.log"
#define LOCK_FILE "agent.lock"
#define STATE_MAX_BYTES (256 * 1024)
#define STATE_MAX_CLOCK_REFS 16

struct agent_state {
    char name[MSG_NAME_MAX];
    char *mqtt_url;
    char *mqtt_ca_file; /* NULL: the system store */
    char *token;
    size_t n_clock_refs;
    char *clock_refs[STATE_MAX_CLOCK_REFS];
};

/* The state directory: --state-dir, else $MONITOR_STATE_DIR, else $STATE_DIRECTORY (systemd; the first of a
 * colon-separated list), else /var/lib/ntpmon-agent. Returns a malloc'd "<base>/<env>". */
char *state_env_dir(const char *flag_dir, const char *env);
/* Creates the env dir (and its parent) with mode 0700 when missing; refuses a dir others can read. */
int state_dir_prepare(const char *dir, char *err, size_t err_len);
/* Takes the agent lock in dir (non-blocking); returns the lock fd or -1 with a reason. */
int state_lock(const char *dir, char *err, size_t err_len);

/* Reads and checks state.json: a regular file, not readable by group/others, ≤ 256 KiB, valid JSON with a valid
 * name, a parseable broker URL and a token whose `sub` is the name. 0, or -1 with a one-line reason. */
int state_load(const char *path, struct agent_state *out, char *err, size_t err_len);
/* Writes state.json atomically with mode 0600. */
int state_save(const char *path, const struct agent_state *s, char *err, size_t err_len);
/* Frees the strings (the token is wiped first). */
void state_free(struct agent_state *s);
/* Deep copy. */
void state_copy(struct agent_state *dst, const struct agent_state *src);
/* True when broker URL, CA file and token are the same. */
bool state_same_connection(const struct agent_state *a, const struct agent_state *b);
/* True when both list the same clock references in the same order. */
bool state_same_clock_refs(const struct agent_state *a, const struct agent_state *b);

#endif
