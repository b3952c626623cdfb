#!/usr/bin/env bash
# Traces through ingest: a valid trace on ntpmon/test/traces/<server_id>/<monitor> is stored once in `traceroutes`
# (every field; a re-send is stored once and confirmed again) and confirmed to its monitor through `stored`; a trace
# that fails the validator (bad hops, topic mismatch, an unknown monitor or server) lands in results_rejected with the
# validator's reason and is confirmed as rejected; results keep flowing beside them; ingest never stops.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/ingest-lib.bash"
h_start_mariadb
ig_start_broker
ig_fixture 2
h_is "$(h_sql "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'traceroutes'")" 1 "migration 006 made traceroutes"
h_spawn stored stdbuf -oL mosquitto_sub -d -V mqttv5 -p "$H_MQTT_PORT" -u admin -P "$IG_ADMIN_TOKEN" -q 1 -v -t 'ntpmon/test/monitors/+/stored'
ig_start_ingest ingest1 || exit 1
h_wait 10 grep -q 'SUBACK' "$H_TMP/stored.log" || { echo "# mosquitto_sub did not subscribe"; exit 1; }
ig_publish 1 500 --window 100 --resend-timeout 10s --deadline 60s

# a monitor publishes with its own token: the ACL lets it publish traces/+/<own name>
TOK2=$(h_token monitor pub2 1h)
pub2() { mosquitto_pub -V mqttv5 -p "$H_MQTT_PORT" -u pub2 -P "$TOK2" -i pub2:test -q 1 -t "$1" -s; }
admin() { mosquitto_pub -V mqttv5 -p "$H_MQTT_PORT" -u admin -P "$IG_ADMIN_TOKEN" -q 1 -t "$1" -s; }
sql_is() { [ "$(h_sql "$1")" = "$2" ]; } # for h_wait: the query runs at every poll
gen() { # gen ID [FIELD=JSON …]
    /usr/bin/python3 - "$@" <<'PY'
import json, sys
t = {"v": 1, "id": sys.argv[1], "monitor": "pub2", "server_id": 3, "ip": "192.0.2.3",
     "ts": "2026-11-23T19:00:00.123456Z", "trigger": "status-change", "port": 123, "reached": False,
     "hops": [{"ttl": 1, "addr": "198.51.100.1", "rtt": [0.0011, 0.0012, 0.0013]},
              {"ttl": 2, "addr": "2001:db8::1", "rtt": [0.002]}, {"ttl": 3, "addr": None, "rtt": []}],
     "agent": "ntpmon-agent/0.1.0"}
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    if v == "-": t.pop(k, None)
    else: t[k] = json.loads(v)
print(json.dumps(t, separators=(",", ":")))
PY
}
G=01JDQ3V5Z8N6W2K4M7P9R1T3X5
gen $G | pub2 ntpmon/test/traces/3/pub2
h_wait_ok "a valid trace is stored" 20 sql_is "SELECT COUNT(*) FROM traceroutes WHERE id = '$G'" 1
h_is "$(h_sql "SELECT t.monitor_id = m.id, server_id, ts, ip, port, \`trigger\`, reached, agent FROM traceroutes t JOIN monitors m ON m.name = 'pub2' WHERE t.id = '$G'")" \
    "1	3	2026-11-23 19:00:00.123456	192.0.2.3	123	status-change	0	ntpmon-agent/0.1.0" "every field"
h_is "$(h_sql "SELECT hops FROM traceroutes WHERE id = '$G'")" \
    '[{"ttl":1,"addr":"198.51.100.1","rtt":[0.0011,0.0012,0.0013]},{"ttl":2,"addr":"2001:db8::1","rtt":[0.002]},{"ttl":3,"addr":null,"rtt":[]}]' \
    "hops as the message's JSON"
h_wait_ok "and confirmed to pub2" 10 grep -q "monitors/pub2/stored .*\"ids\":\[\"$G\"\]" "$H_TMP/stored.log"
gen $G | pub2 ntpmon/test/traces/3/pub2
h_wait_ok "a re-send is confirmed again" 10 bash -c "[ \$(grep -c 'monitors/pub2/stored .*\"ids\":\[\"$G\"\]' '$H_TMP/stored.log') -ge 2 ]"
h_is "$(h_sql "SELECT COUNT(*) FROM traceroutes WHERE id = '$G'")" 1 "and stored once"

# bad traces: "ID|topic|gen args|reason"
n=0
while IFS='|' read -r id topic args why; do
    [ -n "$id" ] || continue
    n=$((n + 1))
    # shellcheck disable=SC2086
    gen "$id" $args | admin "$topic"
    h_wait_ok "refused: $why" 20 sql_is "SELECT COUNT(*) FROM results_rejected WHERE result_id = '$id' AND INSTR(reason, '${why//\'/\'\'}') > 0" 1
done <<'EOF2'
01JDQ3V5Z8N6W2K4M7P9R1T3Y1|ntpmon/test/traces/3/pub2|hops=[{"ttl":2,"addr":null,"rtt":[]},{"ttl":1,"addr":null,"rtt":[]}]|does not follow
01JDQ3V5Z8N6W2K4M7P9R1T3Y2|ntpmon/test/traces/4/pub2||does not match the topic
01JDQ3V5Z8N6W2K4M7P9R1T3Y3|ntpmon/test/traces/3/pub2|trigger="whim"|'trigger' must be
01JDQ3V5Z8N6W2K4M7P9R1T3Y4|ntpmon/test/traces/3/pub2|hops=[{"ttl":1,"addr":"not-ip","rtt":[]}]|not an IP address
01JDQ3V5Z8N6W2K4M7P9R1T3Y5|ntpmon/test/traces/3/pub2|reached=true|ends with the server's own hop
01JDQ3V5Z8N6W2K4M7P9R1T3Y6|ntpmon/test/traces/3/pub2|hops=[{"ttl":1,"addr":"192.0.2.9","rtt":[-1]}]|out of range
01JDQ3V5Z8N6W2K4M7P9R1T3Y7|ntpmon/test/traces/999/pub2|server_id=999|unknown server 999
01JDQ3V5Z8N6W2K4M7P9R1T3Y8|ntpmon/test/traces/3/nobody|monitor="nobody"|unknown monitor
EOF2
h_wait_ok "the refused ones are confirmed as rejected to pub2" 10 grep -q 'monitors/pub2/stored .*"rejected":\[.*01JDQ3V5Z8N6W2K4M7P9R1T3Y1' "$H_TMP/stored.log"
printf 'not json' | admin ntpmon/test/traces/3/pub2
h_wait_ok "garbage is recorded too" 10 sql_is "SELECT COUNT(*) FROM results_rejected WHERE topic = 'ntpmon/test/traces/3/pub2' AND result_id IS NULL" 1
h_is "$(h_sql "SELECT COUNT(*) FROM traceroutes")" 1 "only the valid trace is in traceroutes"
h_is "$(h_sql "SELECT COUNT(*) FROM results WHERE id LIKE '01JDQ3V5Z8N6W2K4M7P9R1T3%'")" 0 "no trace ever lands in results"
ig_wait_publishers 1 60
h_is "$(h_sql "SELECT COUNT(*) FROM results")" 500 "results published around the traces are all stored"
h_ok "ingest is still running" h_alive ingest1
h_stop ingest1; h_is "$?" 0 "SIGTERM: exit 0"
h_done
