#!/usr/bin/env bash
# The mass-outage guard in the network lab, every part real (agents, broker-auth broker, ingest, scorer, MariaDB,
# NTP servers in their own namespaces): monitors in two regions — lax1, lax2 behind router rus; zrh1, fra1 behind
# reu — and ten servers in zone au behind rau (s1 runs chronyd, the others ntp-fake). s1..s7 have lax1, lax2 and
# zrh1 as actives; s8..s10 have zrh1, fra1 and lax1. When the link rus–rau is cut, the servers whose actives sit
# mostly behind it (s1..s7) would leave the pool, but zrh1 still reaches them: they are held, the zone alert is
# retained on the broker, s8..s10 are untouched. When the link returns their scores recover, the holds end and the
# alert is cleared. Then chronyd on s1 stops: s1 leaves the pool (nobody reaches it), the others stay.
. "$(dirname "$0")/../../lib/netlab.sh"
nl_enter "$@"
. "$(dirname "$0")/../../lib/harness.sh"
nl_init
nl_router rus; nl_router reu; nl_router rau
for m in lax1 lax2; do nl_host $m; nl_link $m rus; done
for m in zrh1 fra1; do nl_host $m; nl_link $m reu; done
nl_link rus rau; nl_link reu rau
SERVERS=$(seq 1 10)
for i in $SERVERS; do nl_host s$i; nl_link rau s$i servers; done
for m in lax1 lax2 zrh1 fra1; do nl_mgmt $m; done
nl_routes
nl_chronyd s1
for i in $(seq 2 10); do nl_fake s$i; done
for m in lax1 zrh1; do for i in 1 10; do h_ok "$m reaches s$i" nl_warm $m s$i; done; done

h_start_mariadb
. "$H_ROOT/tests/lib/agent.sh"
ag_broker "$NL_BROKER_LISTENER"
ctl() { "$H_BIN/ntpmonctl" "$@"; }
ctl db migrate >/dev/null && ctl account add ops >/dev/null || { echo "# fixture failed"; exit 1; }
for m in lax1 lax2 zrh1 fra1; do
    ctl account add "acct-$m" >/dev/null
    ctl monitor add --name $m --account "acct-$m" --ip4 "$(nl_addr $m 4)" --status active >/dev/null
done
for i in $SERVERS; do ctl server add "$(nl_addr s$i 4)" --account ops --zone au >/dev/null || { echo "# server add failed"; exit 1; }; done
sid() { h_sql "SELECT id FROM servers WHERE ip = '$(nl_addr s$1 4)'"; }
# the selector's decisions, by hand: s1..s7 watched by lax1, lax2, zrh1; s8..s10 by zrh1, fra1, lax1
h_sql "UPDATE server_scores ss JOIN monitors m ON m.id = ss.monitor_id JOIN servers s ON s.id = ss.server_id
       SET ss.status = IF(IF(s.id <= $(sid 7), m.name IN ('lax1', 'lax2', 'zrh1'), m.name IN ('zrh1', 'fra1', 'lax1')),
                          'active', 'candidate')"
h_is "$(h_sql "SELECT COUNT(*) FROM server_scores WHERE status = 'active'")" 30 "three actives per server"
# the guard: checks and zone reads every second (every interval is a setting)
ctl settings set guard '{"refresh_s":1,"zone_cache_s":1}' >/dev/null

h_spawn ingest env MQTT_TOKEN="$(h_token ingest)" "$H_BIN/ntpmon-ingest" --flush-interval 20ms --summary-interval 1h
h_spawn scorer env MQTT_TOKEN="$(h_token scorer)" "$H_BIN/ntpmon-scorer" --batch-delay 5ms --reload-interval 1 \
    --report-interval 1h --no-pool-change-traces
for p in ingest scorer; do h_wait 20 grep -q "mqtt: connected" "${H_LOG[$p]}" || { echo "# $p did not connect"; exit 1; }; done

# no traces here (they have their own lab tests): --trace-rate 0
# the lab's addresses are documentation addresses: the agents take --allow-documentation-nets (labs and tests only)
FLAGS=(--allow-documentation-nets
       --min-interval 0.3 --first-probe-max 0.3 --sample-spacing 0.05 --timeout 0.3 --status-interval 1
       --resend-timeout 3 --mqtt-backoff-min 0.1 --mqtt-backoff-max 0.5 --trace-rate 0)
for m in lax1 lax2 zrh1 fra1; do
    AG_STATE=$H_TMP/$m ag_setup $m --mqtt-url "$NL_MQTT_URL" >/dev/null || { echo "# setup $m failed"; exit 1; }
    nl_spawn $m "agent-$m" "$H_BIN/ntpmon-agent" -e test --state-dir "$H_TMP/$m" monitor "${FLAGS[@]}"
    h_wait 20 grep -q "mqtt: connected" "${H_LOG[agent-$m]}" || { echo "# agent $m did not connect"; exit 1; }
    list=$(h_sql "SELECT GROUP_CONCAT(CONCAT('{\"id\":', s.id, ',\"ip\":\"', s.ip, '\",\"status\":\"', ss.status,
                  '\",\"interval_s\":1,\"samples\":1}') ORDER BY s.id) FROM server_scores ss JOIN servers s ON s.id = ss.server_id
                  JOIN monitors m ON m.id = ss.monitor_id WHERE m.name = '$m'")
    ag_assign $m 1 "[$list]"
done

sql_is() { [ "$(h_sql "$1")" = "$2" ]; }
ids() { h_sql "SELECT IFNULL(GROUP_CONCAT(id ORDER BY id), '') FROM servers WHERE $1"; }
S1_7=$(ids "id <= $(sid 7)"); S8_10=$(ids "id > $(sid 7)"); ALL=$(ids "1")
h_wait_ok "all ten servers enter the pool" 120 sql_is "SELECT COUNT(*) FROM servers WHERE in_pool = 1" 10
# as servers in the pool do, let the scores settle near the steady 20 first (a server just above 10 falls out on one
# bad result, before its neighbours have shown any trouble)
h_wait_ok "the scores settle (>= 17)" 180 sql_is "SELECT COUNT(*) FROM servers WHERE score_raw >= 17" 10
zone_alert() { timeout 5 mosquitto_sub -V mqttv5 -p "$H_MQTT_PORT" -u admin -P "$AG_ADMIN" -t ntpmon/test/status/zones/au \
    -C 1 -W 2 2>/dev/null; }
h_is "$(zone_alert)" "" "no zone alert while all is well"

# ---- cut the link between the US region and au ----
nl_cut rus rau
h_wait_ok "s1..s7 are held" 90 sql_is "SELECT IFNULL(GROUP_CONCAT(id ORDER BY id), '') FROM servers WHERE held_since IS NOT NULL" "$S1_7"
h_is "$(ids "in_pool = 1")" "$ALL" "no server left the pool"
h_is "$(h_sql "SELECT COUNT(*) FROM servers WHERE id <= $(sid 7) AND score_raw < 10")" 7 "… although s1..s7 score below 10"
h_is "$(ids "held_since IS NOT NULL AND id > $(sid 7)")" "" "s8..s10 (two of three actives in Europe) are not held"
h_like "$(h_sql "SELECT held_reason FROM servers WHERE id = $(sid 1)")" "^held: zone au [0-9]+ of 10 servers hit" "the reason names the zone"
alert_has() { [[ "$(zone_alert)" =~ $1 ]]; }
h_wait_ok "the zone alert is retained on the broker: 7 held, zrh1 answering" 20 \
    alert_has '"zone":"au","held":7,"in_pool":10,.*"monitors_answering":\[[^]]*"zrh1"'
h_unlike "$(zone_alert)" '"lax1"|"lax2"' "… and names no monitor behind the cut"
status1=$(timeout 5 mosquitto_sub -V mqttv5 -p "$H_MQTT_PORT" -u admin -P "$AG_ADMIN" -t "ntpmon/test/status/servers/$(sid 1)" -C 1 -W 2 2>/dev/null)
h_like "$status1" '"in_pool":true,"held":true,.*"reason":"held: zone au' "status/servers of s1 says held"
h_like "$(ctl zone list | grep "^au")" "^au	10	10	7	" "zone list: 10 servers, 10 in the pool, 7 held"

# ---- the link returns: scores recover, holds end, the alert is cleared ----
nl_restore rus rau
h_wait_ok "nothing is held after the link returns" 180 sql_is "SELECT COUNT(*) FROM servers WHERE held_since IS NOT NULL" 0
h_is "$(ids "in_pool = 1")" "$ALL" "all ten in the pool"
h_wait_ok "the zone alert is cleared" 20 sql_is "SELECT COUNT(*) FROM guard_zones WHERE alert IS NOT NULL" 0
h_is "$(zone_alert)" "" "no retained alert on the broker"
h_like "$(grep -c 'released: hold ended: the score recovered' "${H_LOG[scorer]}")" "^[1-7]$" "released because their scores recovered"

# ---- a server that is really down: chronyd on s1 stops; it leaves, the others stay ----
h_stop chronyd-s1
h_wait_ok "s1 leaves the pool" 90 sql_is "SELECT in_pool FROM servers WHERE id = $(sid 1)" 0
h_is "$(h_sql "SELECT held_since IS NULL FROM servers WHERE id = $(sid 1)")" 1 "s1 is not held (no monitor reaches it)"
h_is "$(ids "in_pool = 1")" "$(ids "id <> $(sid 1)")" "the other nine stay in the pool"
h_is "$(h_sql "SELECT COUNT(*) FROM results_rejected")" 0 "nothing rejected"
h_stop scorer; h_is "$?" 0 "scorer: SIGTERM, exit 0"
h_done
