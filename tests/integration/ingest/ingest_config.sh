#!/usr/bin/env bash
# ntpmon-ingest's start-up: configuration errors exit 2 with one clear line (bad flag, bad DSN, wrong password,
# schema not migrated, bad broker URL, unreadable token); an unreachable database is not fatal (it keeps trying and
# stores once the database is there).
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/ingest-lib.bash"
h_start_mariadb
h_start_mosquitto
ing() { timeout -k 2 10 "$H_BIN/ntpmon-ingest" "$@"; }

out=$(ing --batch-size 0 2>&1); rc=$?
h_is "$rc" 2 "bad flag value: exit 2"; h_like "$out" "batch-size" "… naming the flag"
out=$(ing --max-held 10 --batch-size 100 2>&1); rc=$?
h_is "$rc" 2 "--max-held below --batch-size: exit 2"; h_like "$out" "max-held" "… naming it"
out=$(DATABASE_DSN='ntpmon:ntpmon@tcp(127.0.0.1:notaport)/x' ing 2>&1); rc=$?
h_is "$rc" 2 "bad DSN: exit 2"; h_like "$out" "DSN port" "… saying what is wrong"
out=$(DATABASE_DSN="ntpmon:wrong@tcp(127.0.0.1:$H_DB_PORT)/ntpmon_test" ing 2>&1); rc=$?
h_is "$rc" 2 "wrong database password: exit 2"; h_like "$out" "Access denied" "… with the server's reason"
h_unlike "$out" "wrong" "… and without the password"
out=$(ing 2>&1); rc=$?
h_is "$rc" 2 "schema not migrated: exit 2"; h_like "$out" "run .ntpmonctl db migrate. first" "… saying what to do"
ig_fixture 1
out=$(ing --mqtt-url http://x 2>&1); rc=$?
h_is "$rc" 2 "bad broker URL: exit 2"; h_like "$out" "invalid MQTT URL" "… saying so"
out=$(ing --mqtt-token-file "$H_TMP/nope" 2>&1); rc=$?
h_is "$rc" 2 "unreadable token file: exit 2"; h_like "$out" "cannot read token file" "… saying so"

# The database is down at start: ingest starts anyway, holds, and stores once it is back.
h_stop_mariadb
ig_start_ingest ingest1 || exit 1
h_like "$(h_log ingest1)" "will keep trying" "an unreachable database at start is not fatal"
ig_publish 1 500 --window 500 --resend-timeout 30s --deadline 60s
h_wait_ok "the writer keeps trying" 20 grep -q 'database write failed' "$H_TMP/ingest1.log"
h_restart_mariadb
ig_wait_publishers 1 60
h_is "$(h_sql 'SELECT COUNT(*) FROM results')" 500 "all 500 stored once the database came up"
h_stop ingest1; h_is "$?" 0 "SIGTERM: exits 0"
h_done
