#!/usr/bin/env bash
# Automatic and requested traces in the lab, through the real pipeline (broker with the auth plugin, ingest,
# MariaDB in the hub; the agent in a monitor host behind three routers): dropping UDP 123 on the middle router turns
# the agent's results for that server into timeouts, a status-change trace is made at once, published, confirmed
# (it leaves the spool), stored once, and shows r1, r2 and then only silent hops; lifting the drop makes another that
# reaches the server. Then the limits, counted: one trace per server per interval (a flip back and a request are held
# back), a rate for the whole agent; requests with a bad body, a forbidden target or a foreign response topic are
# refused; `ntpmonctl trace` and `ntpmonctl trace show` print traceroute-style paths.
# asan: yes
. "$(dirname "$0")/../../lib/netlab.sh"
nl_enter "$@"
. "$(dirname "$0")/../../lib/harness.sh"
nl_init
nl_chain m1 r1 r2 r3 s1
nl_mgmt m1
nl_routes
nl_chronyd s1
S4=$(nl_addr s1 4)
read -ra R < <(nl_path_addrs 4 m1 r1 r2 r3)
h_ok "the lab path works" nl_warm m1 s1

h_start_mariadb
. "$H_ROOT/tests/lib/agent.sh"
ag_broker "$NL_BROKER_LISTENER"
CTL=("$H_BIN/ntpmonctl")
"${CTL[@]}" db migrate >/dev/null && "${CTL[@]}" account add ops >/dev/null &&
    "${CTL[@]}" monitor add --name m1 --account ops --ip4 "$(nl_addr m1 4)" --status active >/dev/null &&
    "${CTL[@]}" server add "$S4" --account ops >/dev/null || { echo "# fixture failed"; exit 1; }
SID=$(h_sql "SELECT id FROM servers WHERE ip = '$S4'")
h_spawn ingest env MQTT_TOKEN="$(h_token ingest)" "$H_BIN/ntpmon-ingest" --flush-interval 20ms --summary-interval 1h
h_wait 20 grep -q "mqtt: connected" "${H_LOG[ingest]}" || { echo "# ingest did not connect"; exit 1; }

AG_STATE=$H_TMP/m1 ag_setup m1 --mqtt-url "$NL_MQTT_URL" >/dev/null || { echo "# setup failed"; exit 1; }
# the lab's addresses are documentation addresses: the agents take --allow-documentation-nets (labs and tests only)
FLAGS=(--allow-documentation-nets
       --min-interval 0.3 --first-probe-max 0.3 --sample-spacing 0.05 --timeout 0.3 --status-interval 1
       --resend-timeout 3 --mqtt-backoff-min 0.1 --mqtt-backoff-max 0.5 --trace-timeout 0.3 --trace-silent-hops 3)
start_m1() { nl_spawn m1 agent-m1 "$H_BIN/ntpmon-agent" -e test --state-dir "$H_TMP/m1" --log-level debug monitor "${FLAGS[@]}" "$@"; }
start_m1 --trace-server-interval 1s
LOG=${H_LOG[agent-m1]}
h_wait_ok "the agent connects through its management link" 20 grep -q "mqtt: connected" "$LOG"
ag_assign m1 1 "[{\"id\":$SID,\"ip\":\"$S4\",\"status\":\"active\",\"interval_s\":1,\"samples\":1}]"

sql_is() { [ "$(h_sql "$1")" = "$2" ]; }
sql_ge() { [ "$(h_sql "$1")" -ge "$2" ]; }
addrs() { h_sql "SELECT hops FROM traceroutes WHERE id = '$1'" | jq -c '[.[].addr]'; }
# true when the agent's spool holds no live trace (every T record has its C)
no_spooled_traces() { [ "$(awk '$1 == "T" { live[$2] = 1 } $1 == "C" || $1 == "D" { delete live[$2] } END { print length(live) }' "$H_TMP/m1/test/spool.log")" = 0 ]; }
h_wait_ok "results are stored, the server answers" 30 sql_ge "SELECT COUNT(*) FROM results WHERE server_id = $SID AND error = ''" 2
h_is "$(h_sql "SELECT COUNT(*) FROM traceroutes")" 0 "no trace while nothing changes"

nl_drop_ntp r2
h_wait_ok "results turn into timeouts" 30 sql_ge "SELECT COUNT(*) FROM results WHERE server_id = $SID AND error = 'timeout'" 1
h_wait_ok "a status-change trace is stored" 30 sql_is "SELECT COUNT(*) FROM traceroutes WHERE \`trigger\` = 'status-change'" 1
T1=$(h_sql "SELECT id FROM traceroutes WHERE \`trigger\` = 'status-change'")
h_is "$(addrs "$T1")" "[\"${R[0]}\",\"${R[1]}\",null,null,null]" "it shows r1, r2, then only silent hops"
h_is "$(h_sql "SELECT m.name, t.server_id, t.ip, t.port, t.reached FROM traceroutes t JOIN monitors m ON m.id = t.monitor_id WHERE t.id = '$T1'")" \
    "m1	$SID	$S4	123	0" "monitor, server, address, port, not reached"
h_like "$(grep "server $SID ($S4) stopped answering" "$LOG")" "\(timeout\): tracing the path" "the agent says why it traced"
h_ok "it went through the spool" grep -q "^T $T1 $SID " "$H_TMP/m1/test/spool.log"
h_wait_ok "ingest confirmed it: the trace left the agent's spool" 20 no_spooled_traces
h_is "$(h_sql "SELECT COUNT(*) FROM results_rejected")" 0 "nothing rejected"

# lift the drop once the per-server interval (1 s) has passed since that trace
h_wait 20 sql_is "SELECT TIMESTAMPDIFF(MICROSECOND, ts, UTC_TIMESTAMP(6)) > 1500000 FROM traceroutes WHERE id = '$T1'" 1
nl_allow_ntp r2
h_wait_ok "the server answers again: a second trace" 30 sql_is "SELECT COUNT(*) FROM traceroutes WHERE \`trigger\` = 'status-change'" 2
T2=$(h_sql "SELECT id FROM traceroutes WHERE \`trigger\` = 'status-change' AND id <> '$T1'")
h_is "$(addrs "$T2")" "[\"${R[0]}\",\"${R[1]}\",\"${R[2]}\",\"$S4\"]" "it reaches the server through r1, r2, r3"
h_is "$(h_sql "SELECT reached FROM traceroutes WHERE id = '$T2'")" 1 "reached"
h_like "$(grep "server $SID ($S4) answers again" "$LOG")" "tracing the path" "the agent says why"
h_wait_ok "and it is confirmed too" 20 no_spooled_traces

out=$("${CTL[@]}" trace show "$S4" --limit 1)
h_like "$out" "^traceroute from m1 to $S4 port 123, .* \(status-change, trace $T2\): reached after 4 hops" "trace show: the header"
h_like "$out" $'\n 1  '"${R[0]}"'  [0-9.]+ ms  [0-9.]+ ms  [0-9.]+ ms'$'\n'' 2  '"${R[1]}" "trace show: one line per hop, like traceroute"
h_like "$("${CTL[@]}" trace show "$T1")" $'\n 3  \* \* \*\n 4  \* \* \*\n 5  \* \* \*$' "a silent hop is three stars"
h_is "$("${CTL[@]}" trace show "$S4" --json | jq -r .id | sort | tr '\n' ' ')" "$(printf '%s\n' "$T1" "$T2" | sort | tr '\n' ' ')" "trace show --json: the stored traces"
h_fails "trace show of an unknown server fails" "${CTL[@]}" trace show 192.0.2.250

# ---- the limits, counted: one trace per server per hour, four per hour for the agent ----
h_stop agent-m1
L0=$(wc -l <"$LOG") # the restarted agent logs into the same file: look only at what follows
start_m1 --trace-server-interval 1h --trace-rate 4 --trace-window 1h
n0=$(h_sql "SELECT COUNT(*) FROM traceroutes")
h_wait_ok "probing again after the restart" 30 bash -c "tail -n +$((L0 + 1)) '$LOG' | grep -q \"result .* server $SID .* error ''\$\""
nl_drop_ntp r2
h_wait_ok "a flip: traced (1 of 4)" 30 sql_is "SELECT COUNT(*) FROM traceroutes" "$((n0 + 1))"
nl_allow_ntp r2
h_wait_ok "the flip back is held back by the per-server limit" 30 grep -q "server $SID ($S4) answers again; not tracing: rate limited: $S4 was traced" "$LOG"
export MQTT_URL MQTT_TOKEN; MQTT_TOKEN=$(h_token web); MQTT_URL=mqtt://127.0.0.1:$H_MQTT_PORT
out=$("${CTL[@]}" trace "$S4" --monitor m1 --timeout 20s 2>&1); rc=$?
h_is "$rc" 1 "ntpmonctl trace of that server now: refused (exit 1)"
h_like "$out" "m1: refused: rate limited: $S4 was traced [0-9]+ s ago \(one trace per 3600 s\)" "with the reason"
for i in 0 1 2; do
    out=$("${CTL[@]}" trace "${R[$i]}" --monitor m1 --timeout 20s); rc=$?
    h_is "$rc" 0 "ntpmonctl trace ${R[$i]}: a trace ($((i + 2)) of 4)"
    h_like "$out" "^traceroute from m1 to ${R[$i]} port 123, .*\(request, trace [0-9A-Z]{26}\): reached after $((i + 1)) hops?"$'\n'" 1  ${R[0]}  " "  printed like traceroute"
done
out=$("${CTL[@]}" trace "$(nl_addr r2 4 r3)" --monitor m1 --timeout 20s 2>&1)
h_like "$out" "m1: refused: rate limited: more than 4 traces in 3600 s" "a fifth: the agent's limit"
h_is "$(h_sql "SELECT COUNT(*) FROM traceroutes")" "$((n0 + 1))" "requests for addresses that are not servers are answered, not stored"

# bad requests
out=$("${CTL[@]}" trace 10.1.2.3 --monitor m1 --timeout 20s 2>&1)
h_like "$out" "m1: refused: forbidden address: 10.1.2.3 is a private address" "a forbidden target is refused"
h_spawn answers stdbuf -oL mosquitto_sub -d -V mqttv5 -p "$H_MQTT_PORT" -u admin -P "$AG_ADMIN" -v -t 'ntpmon/test/responses/m1/#'
h_wait 10 grep -q SUBACK "${H_LOG[answers]}" || { echo "# mosquitto_sub did not subscribe"; exit 1; }
for body in '{"ip":"nope"}' 'not json' '{"ip":"192.0.2.1","trigger":"status-change"}' '{"ip":"192.0.2.1","server_id":-4}'; do
    ag_pub "monitors/m1/requests/traceroute" -D publish response-topic ntpmon/test/responses/m1/bad -D publish correlation-data c1 -m "$body"
done
h_wait_ok "bad bodies are answered with a reason" 20 bash -c "[ \$(grep -c 'responses/m1/bad {\"error\":\"bad request: ' '${H_LOG[answers]}') -ge 4 ]"
ag_pub "monitors/m1/requests/traceroute" -D publish response-topic ntpmon/test/responses/m2/x -D publish correlation-data c2 -m "{\"ip\":\"$S4\"}"
ag_pub "monitors/m1/requests/traceroute" -D publish response-topic ntpmon/test/results/1/m1 -D publish correlation-data c3 -m "{\"ip\":\"$S4\"}"
h_wait_ok "foreign response topics are refused" 20 bash -c "[ \$(grep -c 'refusing a traceroute request: its response topic' '$LOG') -ge 2 ]"
h_stop agent-m1; h_is "$?" 0 "SIGTERM: exit 0"
h_like "$(grep 'summary:' "$LOG" | tail -1)" "4 traces \(1 on status changes, 3 requested, 0 pool changes; 2 held back by the per-server limit, 1 by the agent's\)" \
    "counted: 4 traces, 2 held back per server, 1 by the agent's rate"
h_is "$(h_sql "SELECT COUNT(*) FROM traceroutes GROUP BY id HAVING COUNT(*) > 1" | wc -l)" 0 "every trace stored once"
h_done
