#!/usr/bin/env bash
# ntpmon-selector in the daemon frame: READY=1 once pairs and statistics are loaded, STATUS=, WATCHDOG=1 and
# STOPPING=1 on a notify socket the test owns, and a /healthz that tells the truth — 503 with the reason while the
# broker is stopped, while the database is, and while reviews fail (a trigger makes the database refuse them) —
# and 200 again when each comes back. Bad settings in the database exit 2.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/common.bash"
h_start_mariadb
sel_start_broker
sel_fixture 2
ctl settings set selector "{\"active_target\":2,$SEL_FAST}" >/dev/null
S=$(ctl server add 192.0.2.30 --account pool | awk '{print $2}')

MPORT=$(h_free_port tcp)
sock=$(h_notify_socket selector)
NOTIFY_SOCKET=$sock WATCHDOG_USEC=300000 sel_start selector --metrics-listen "127.0.0.1:$MPORT" --health-interval 0.1s \
    --database-check-interval 0.3s
h_ready selector "$MPORT" 'serving; broker connected; database ok; 2 monitors, 1 servers, 2 pairs'
for i in 1 2; do sel_results "m$i" "$S" 192.0.2.30 10; done
h_wait_ok "reviews run: the pairs are testing" 30 sel_count_is "$S" testing 2

h_outage "$MPORT" broker
h_outage "$MPORT" database

# Reviews that fail while the database is up: a trigger refuses every status change, and a monitor paused
# globally makes the next review want one (testing → candidate).
h_sql "CREATE TRIGGER refuse_reviews BEFORE UPDATE ON server_scores FOR EACH ROW
         SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure'"
ctl monitor set-status m1 paused >/dev/null
h_wait_ok "reviews failing: 503 and why" 30 h_healthz_is "$MPORT" '^503 unhealthy: reviews failing: .*injected failure'
h_like "$(h_healthz "$MPORT")" "^503 unhealthy: reviews failing" "…and only that (broker and database are fine)"
h_sql "DROP TRIGGER refuse_reviews"
h_wait_ok "reviews go through again: 200" 30 h_healthz_is "$MPORT" '^200 ok$'
h_wait_ok "…and the review that failed is done" 20 sel_status_is "$S" m1 candidate

h_stopped selector selector

ctl settings set selector '{"active_target":"many"}' >/dev/null
h_spawn bad env MQTT_TOKEN="$SEL_TOKEN" "$H_BIN/ntpmon-selector" -e "$SEL_ENV" run
h_wait 20 bash -c "! kill -0 ${H_PID[bad]} 2>/dev/null"
h_stop bad; h_is "$?" 2 "bad settings in the database: exit 2"
h_like "$(h_log bad)" "bad settings: .*active_target" "…with a clear message"
h_done
