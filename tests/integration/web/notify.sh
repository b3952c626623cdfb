#!/usr/bin/env bash
# ntpmon-web in the daemon frame, as systemd sees it: READY=1, STATUS= (broker, database, requests and streams),
# WATCHDOG=1 and STOPPING=1 on a notify socket the test owns; /healthz 503 with the reason while the broker and
# while the database are stopped, 200 when each is back; SIGTERM drains and exits 0.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$H_ROOT/tests/lib/pipeline.sh"
. "$H_ROOT/tests/lib/web.sh"
p_stack
w_init
h_wait_ok "web is healthy" 20 h_healthz_is "$P_WEB_PORT" '^200 ok$'
h_stop web
sock=$(h_notify_socket web)
NOTIFY_SOCKET=$sock WATCHDOG_USEC=300000 p_start web
h_ready web "$P_WEB_PORT" 'serving; 0 requests, 0 streams, 0 checks running'
h_outage "$P_WEB_PORT" broker 'broker: '
h_outage "$P_WEB_PORT" database 'database: '
h_stopped web web
h_like "$(h_log web)" "draining \(0 requests" "the drain is logged"
h_done
