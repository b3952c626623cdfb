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
h_ready ingest "$MPORT" 'serving; broker connected; queue 0; unsent confirmations 0'
h_outage "$MPORT" broker
h_outage "$MPORT" database 'database writes failing: .*connect' # the writer's ping, while idle

# while results arrive: the batch is held, /healthz says so, and everything is stored once the database is back
h_stop_mariadb
ig_publish 1 200 --window 200 --resend-timeout 5s --deadline 120s
h_wait_ok "database stopped with results arriving: 503" 20 h_healthz_is "$MPORT" '^503 unhealthy: database writes failing'
h_wait_ok "…and STATUS= shows the queue" 20 h_notified ingest '^STATUS=unhealthy; broker connected; queue [1-9]'
h_restart_mariadb
ig_wait_publishers 1 120
ig_check_exact 1 200
h_wait_ok "recovered: 200" 30 h_healthz_is "$MPORT" '^200 ok$'

h_stopped ingest1 ingest
h_done
