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

h_wait_ok "READY=1 reaches the notify socket (abstract namespace)" 20 h_notified tokend '^READY=1\|STATUS='
h_wait_ok "STATUS= tells the broker and database state" 20 h_notified tokend '^STATUS=serving; broker connected; database ok; 0 tokens issued'
h_wait_ok "WATCHDOG=1 comes from the loop" 10 h_notified tokend '^WATCHDOG=1$'
h_wait_ok "/healthz is 200 ok" 10 h_healthz_is "$MPORT" '^200 ok$'

h_stop mosquitto
h_wait_ok "broker stopped: /healthz is 503 and says why" 20 h_healthz_is "$MPORT" '^503 unhealthy: broker not connected'
h_wait_ok "…and STATUS= says so" 10 h_notified tokend '^STATUS=unhealthy; broker not connected'
h_restart_mosquitto
h_wait_ok "broker back: /healthz is 200 again" 60 h_healthz_is "$MPORT" '^200 ok$'

h_stop_mariadb
h_wait_ok "database stopped: /healthz is 503 and says why" 20 h_healthz_is "$MPORT" '^503 unhealthy: database unreachable: .*connect'
h_wait_ok "…and STATUS= says so" 10 h_notified tokend 'database unreachable'
h_restart_mariadb
h_wait_ok "database back: /healthz is 200 again" 30 h_healthz_is "$MPORT" '^200 ok$'
h_like "$(h_log tokend)" "unhealthy: database unreachable" "the daemon logs the change…"
h_like "$(h_log tokend)" "healthy again" "…and the recovery"

h_stop tokend INT; h_is "$?" 0 "SIGINT: exits 0"
h_ok "STOPPING=1 reaches the notify socket" h_notified tokend '^STOPPING=1'
h_like "$(h_log tokend)" "SIGINT: stopping" "the log names the signal"
h_done
