#!/usr/bin/env bash
# ntpmon-tokend in the daemon frame: systemd's notify protocol on a socket the test owns (READY=1 with the broker
# connected, STATUS=, WATCHDOG=1 every WATCHDOG_USEC/2, STOPPING=1) and a /healthz that tells the truth: 503 with
# the reason while the broker is stopped and while the database is, 200 again when each comes back; SIGINT drains
# and exits 0.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
h_start_mariadb
h_start_broker_auth
h_ok "migrate" "$H_BIN/ntpmonctl" db migrate
MPORT=$(h_free_port tcp)
sock=$(h_notify_socket tokend abstract)
h_spawn tokend env MQTT_TOKEN="$(h_token tokens)" NOTIFY_SOCKET="$sock" WATCHDOG_USEC=400000 \
    "$H_BIN/ntpmon-tokend" --metrics-listen "127.0.0.1:$MPORT" --health-interval 0.1s --database-check-interval 0.3s \
    --revoked-file "$H_TMP/revoked"

h_ready tokend "$MPORT" 'serving; broker connected; database ok; 0 tokens issued'
h_outage "$MPORT" broker
h_wait_ok "STATUS= said the broker was away" 10 h_notified tokend '^STATUS=unhealthy; broker not connected'
h_outage "$MPORT" database 'database unreachable: .*connect'
h_wait_ok "STATUS= said the database was away" 10 h_notified tokend 'database unreachable'
h_like "$(h_log tokend)" "unhealthy: database unreachable" "the daemon logs the change…"
h_like "$(h_log tokend)" "healthy again" "…and the recovery"

h_stopped tokend tokend INT
h_like "$(h_log tokend)" "SIGINT: stopping" "the log names the signal"
h_done
