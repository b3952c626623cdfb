#!/usr/bin/env bash
# Scorer-triggered traces in the lab: two active monitors (m1, m2, each behind r1 -> r2 -> r3) probe a chronyd
# server; when the real scorer sees the server enter the pool it asks its active and testing monitors (from
# server_scores) to trace it, and a "pool-change" trace that reaches the server arrives from each and is stored; a
# monitor that is only a candidate is not asked. When UDP 123 is dropped on r2 the server leaves the pool: again a
# pool-change trace from each active monitor (beside their own status-change traces), now ending in silent hops.
. "$(dirname "$0")/../../lib/netlab.sh"
nl_enter "$@"
. "$(dirname "$0")/../../lib/harness.sh"
nl_init
nl_chain m1 r1 r2 r3 s1
nl_host m2; nl_host m3; nl_link m2 r1; nl_link m3 r1
nl_mgmt m1; nl_mgmt m2; nl_mgmt m3
nl_routes
nl_chronyd s1
S4=$(nl_addr s1 4)
for m in m1 m2 m3; do h_ok "$m reaches s1" nl_warm "$m" s1; done

h_start_mariadb
. "$H_ROOT/tests/lib/agent.sh"
ag_broker "$NL_BROKER_LISTENER"
CTL=("$H_BIN/ntpmonctl")
"${CTL[@]}" db migrate >/dev/null && "${CTL[@]}" account add a1 >/dev/null || { echo "# fixture failed"; exit 1; }
for m in m1 m2 m3; do
    "${CTL[@]}" account add "acct-$m" >/dev/null
    "${CTL[@]}" monitor add --name "$m" --account "acct-$m" --ip4 "$(nl_addr $m 4)" --status active >/dev/null
done
"${CTL[@]}" server add "$S4" --account a1 >/dev/null || { echo "# server add failed"; exit 1; }
SID=$(h_sql "SELECT id FROM servers WHERE ip = '$S4'")
# the selector's decision, made by hand: m1 and m2 active for this server, m3 a candidate
h_sql "UPDATE server_scores ss JOIN monitors m ON m.id = ss.monitor_id SET ss.status = IF(m.name = 'm3', 'candidate', 'active') WHERE ss.server_id = $SID"
h_is "$(h_sql "SELECT GROUP_CONCAT(CONCAT(m.name, ':', ss.status) ORDER BY m.name) FROM server_scores ss JOIN monitors m ON m.id = ss.monitor_id WHERE ss.server_id = $SID")" \
    "m1:active,m2:active,m3:candidate" "pairs: m1, m2 active; m3 candidate"

h_spawn ingest env MQTT_TOKEN="$(h_token ingest)" "$H_BIN/ntpmon-ingest" --flush-interval 20ms --summary-interval 1h
h_spawn scorer env MQTT_TOKEN="$(h_token scorer)" "$H_BIN/ntpmon-scorer" --batch-delay 5ms --reload-interval 1 --report-interval 1h
for p in ingest scorer; do h_wait 20 grep -q "mqtt: connected" "${H_LOG[$p]}" || { echo "# $p did not connect"; exit 1; }; done

# the lab's addresses are documentation addresses: the agents take --allow-documentation-nets (labs and tests only)
FLAGS=(--allow-documentation-nets
       --min-interval 0.3 --first-probe-max 0.3 --sample-spacing 0.05 --timeout 0.3 --status-interval 1
       --resend-timeout 3 --mqtt-backoff-min 0.1 --mqtt-backoff-max 0.5 --trace-timeout 0.3 --trace-silent-hops 2
       --trace-server-interval 0)
for m in m1 m2 m3; do
    AG_STATE=$H_TMP/$m ag_setup "$m" --mqtt-url "$NL_MQTT_URL" >/dev/null || { echo "# setup $m failed"; exit 1; }
    nl_spawn "$m" "agent-$m" "$H_BIN/ntpmon-agent" -e test --state-dir "$H_TMP/$m" --log-level debug monitor "${FLAGS[@]}"
    h_wait 20 grep -q "mqtt: connected" "${H_LOG[agent-$m]}" || { echo "# agent $m did not connect"; exit 1; }
    st=$( [ $m = m3 ] && echo candidate || echo active )
    ag_assign "$m" 1 "[{\"id\":$SID,\"ip\":\"$S4\",\"status\":\"$st\",\"interval_s\":1,\"samples\":1}]"
done

sql_is() { [ "$(h_sql "$1")" = "$2" ]; }
h_wait_ok "the server enters the pool (the real scorer)" 90 sql_is "SELECT in_pool FROM servers WHERE id = $SID" 1
h_like "$(grep "server $SID enters the pool" "${H_LOG[scorer]}")" . "the scorer logs it"
h_wait_ok "the scorer asked m1 and m2 (not the candidate m3)" 20 grep -q "asked 2 monitor(s) to trace server $SID (pool change)" "${H_LOG[scorer]}"
h_wait_ok "a pool-change trace that reaches the server arrives from each active monitor" 30 \
    sql_is "$(echo "SELECT GROUP_CONCAT(DISTINCT m.name ORDER BY m.name) FROM traceroutes t JOIN monitors m ON m.id = t.monitor_id WHERE t.server_id = $SID AND t.\`trigger\` = 'pool-change' AND t.reached = 1")" "m1,m2"
h_is "$(h_sql "SELECT COUNT(*) FROM traceroutes WHERE \`trigger\` = 'pool-change'")" 2 "one each"
# m1's trace (the path is computed from m1; m2's first hop is its own side of r1): LIMIT 1 alone picked either
h_is "$(h_sql "SELECT t.hops FROM traceroutes t JOIN monitors m ON m.id = t.monitor_id
               WHERE t.\`trigger\` = 'pool-change' AND m.name = 'm1'" | jq -c '[.[].addr]')" \
    "$(nl_path_addrs 4 m1 r1 r2 r3 s1 | jq -Rc 'split(" ")')" "through r1, r2, r3 (m1 and m2 share the path)"
h_like "$(grep 'traceroute request (pool-change)' "${H_LOG[agent-m1]}")" "no response topic: published only" "fire-and-forget: the agent only publishes"
h_is "$(grep -c 'traceroute request' "${H_LOG[agent-m3]}")" 0 "m3 was not asked"

nl_drop_ntp r2
h_wait_ok "UDP 123 dropped on r2: the server leaves the pool" 60 sql_is "SELECT in_pool FROM servers WHERE id = $SID" 0
h_wait_ok "pool-change traces from m1 and m2 that end in silence" 30 sql_is "$(echo "SELECT GROUP_CONCAT(DISTINCT m.name ORDER BY m.name) FROM traceroutes t JOIN monitors m ON m.id = t.monitor_id WHERE t.server_id = $SID AND t.\`trigger\` = 'pool-change' AND t.reached = 0")" "m1,m2"
h_wait_ok "beside each monitor's own status-change trace (m3's too)" 30 sql_is "$(echo "SELECT GROUP_CONCAT(DISTINCT m.name ORDER BY m.name) FROM traceroutes t JOIN monitors m ON m.id = t.monitor_id WHERE t.server_id = $SID AND t.\`trigger\` = 'status-change'")" "m1,m2,m3"
h_is "$(h_sql "SELECT COUNT(*) FROM results_rejected")" 0 "nothing rejected"
h_stop scorer; h_is "$?" 0 "scorer: SIGTERM, exit 0"
h_done
