#!/usr/bin/env bash
# ntpmon-scorer in the daemon frame: READY=1 once monitors and servers are loaded and the start-up scan is done,
# STATUS= (broker, database, queue depth), WATCHDOG=1 and STOPPING=1 on a notify socket the test owns; /healthz
# 503 with the reason while the broker is stopped, while the database is, and while scoring falls behind (a
# trigger makes every log row slow: results wait longer than --max-lag), 200 again when each comes back.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/scorer-lib.bash"
feed() { MQTT_TOKEN=$FEED_TOKEN "$H_BIN/result-feed" "$MQTT_URL" --env test "$@"; }
scored() { h_sql "SELECT COUNT(*) FROM log_scores WHERE monitor_id IS NOT NULL"; }
scored_is() { [ "$(scored)" = "$1" ]; }

h_ok "migrate" ctl db migrate
ctl account add ops >/dev/null
ctl monitor add --name m1 --account ops --ip4 203.0.113.1 --status active >/dev/null
ctl server add 192.0.2.1 --account ops >/dev/null
s1=$(h_sql "SELECT id FROM servers WHERE ip='192.0.2.1'")

MPORT=$(h_free_port tcp)
sock=$(h_notify_socket scorer)
h_spawn scorer env MQTT_TOKEN="$SCORER_TOKEN" NOTIFY_SOCKET="$sock" WATCHDOG_USEC=300000 "$H_BIN/ntpmon-scorer" -e test \
    --metrics-listen "127.0.0.1:$MPORT" --health-interval 0.1s --database-check-interval 0.3s --batch-size 1 \
    --batch-delay 1ms --max-lag 1s
h_ready scorer "$MPORT" 'serving; broker connected; database ok; queue 0; 1 servers, 1 monitors'
h_outage "$MPORT" broker
h_outage "$MPORT" database

# Falling behind: every log row takes 0.3 s, 40 results arrive; the queue's oldest waits longer than --max-lag.
h_sql "CREATE TRIGGER slow_scores BEFORE INSERT ON log_scores FOR EACH ROW SET @slow = SLEEP(0.3)"
for i in $(seq 1 40); do /usr/bin/python3 "$(dirname "$0")/stream.py" one "$s1" m1 $((100 - i)) 0.001 active; done >"$H_TMP/burst.jsonl"
feed <"$H_TMP/burst.jsonl" >/dev/null
h_wait_ok "falling behind: 503 and why" 30 h_healthz_is "$MPORT" '^503 unhealthy: falling behind: the oldest of [0-9]+ queued results has waited'
h_wait_ok "…and STATUS= shows the queue" 10 h_notified scorer '^STATUS=unhealthy; broker connected; database ok; queue [1-9]'
h_sql "DROP TRIGGER slow_scores"
h_wait_ok "caught up: every result scored" 60 scored_is 40
h_wait_ok "caught up: 200" 20 h_healthz_is "$MPORT" '^200 ok$'

h_stopped scorer scorer
h_done
