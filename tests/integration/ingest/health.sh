#!/usr/bin/env bash
# ntpmon-ingest in the daemon frame: READY=1, STATUS= (broker, queue depth, unsent confirmations), WATCHDOG=1 and
# STOPPING=1 on a notify socket the test owns; /healthz 503 with the reason while the broker is stopped and while
# the database is (noticed by the writer's pings while idle, and by a batch it must hold), 200 again when each
# comes back — and the results held meanwhile are stored.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/ingest-lib.bash"
h_start_mariadb
ig_start_broker
ig_fixture 1
MPORT=$(h_free_port tcp)
sock=$(h_notify_socket ingest)
NOTIFY_SOCKET=$sock WATCHDOG_USEC=300000 ig_start_ingest ingest1 --metrics-listen "127.0.0.1:$MPORT" \
    --health-interval 0.1s --database-check-interval 0.3s || exit 1
h_wait_ok "READY=1" 20 h_notified ingest '^READY=1\|STATUS='
h_wait_ok "STATUS= tells the broker and the queue" 20 h_notified ingest '^STATUS=serving; broker connected; queue 0; unsent confirmations 0'
h_wait_ok "WATCHDOG=1" 10 h_notified ingest '^WATCHDOG=1$'
h_wait_ok "/healthz is 200 ok" 20 h_healthz_is "$MPORT" '^200 ok$'

h_stop mosquitto
h_wait_ok "broker stopped: 503 and why" 20 h_healthz_is "$MPORT" '^503 unhealthy: broker not connected'
h_restart_mosquitto
h_wait_ok "broker back: 200" 60 h_healthz_is "$MPORT" '^200 ok$'

h_stop_mariadb
h_wait_ok "database stopped while idle: 503 and why" 20 h_healthz_is "$MPORT" '^503 unhealthy: database writes failing: .*connect'
h_restart_mariadb
h_wait_ok "database back: 200" 30 h_healthz_is "$MPORT" '^200 ok$'

# while results arrive: the batch is held, /healthz says so, and everything is stored once the database is back
h_stop_mariadb
ig_publish 1 200 --window 200 --resend-timeout 5s --deadline 120s
h_wait_ok "database stopped with results arriving: 503" 20 h_healthz_is "$MPORT" '^503 unhealthy: database writes failing'
h_wait_ok "…and STATUS= shows the queue" 20 h_notified ingest '^STATUS=unhealthy; broker connected; queue [1-9]'
h_restart_mariadb
ig_wait_publishers 1 120
ig_check_exact 1 200
h_wait_ok "recovered: 200" 30 h_healthz_is "$MPORT" '^200 ok$'

h_stop ingest1; h_is "$?" 0 "SIGTERM: exits 0"
h_ok "STOPPING=1" h_notified ingest '^STOPPING=1'
h_done
