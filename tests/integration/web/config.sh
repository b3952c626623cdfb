#!/usr/bin/env bash
# ntpmon-web's configuration errors: each a clear line and exit 2 (bad listen address, trusted proxy, broker URL,
# token file, token, no database, an address in use); and it starts, serves and stops cleanly even while neither
# broker nor database can be reached (503 with the reasons, /healthz says why).
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
W=$H_BIN/ntpmon-web
export DATABASE_DSN="ntpmon:x@tcp(127.0.0.1:$(h_free_port tcp))/ntpmon_test" MQTT_URL="mqtt://127.0.0.1:$(h_free_port tcp)"
token=$("$H_BIN/ntpmonctl" token issue --role web --key-file <(echo 0123456789abcdef0123456789abcdef-web) 2>/dev/null)
[ -n "$token" ] || { echo "# cannot issue a web token"; exit 1; }
out=$("$W" --help 2>&1); rc=$?
h_is "$rc" 0 "--help exits 0"
h_like "$out" "--listen ADDR:PORT.*--trusted-proxy.*--check-cache.*--max-streams.*--history-max.*--shutdown-timeout" "…and lists the flags"
while IFS='|' read -r args want; do
    out=$(eval "$W $args" 2>&1 </dev/null); rc=$?
    h_is "$rc" 2 "ntpmon-web $args: exit 2"
    h_like "$out" "$want" "…saying: $want"
done <<LIST
--listen nonsense|--listen: listen address 'nonsense' must be ADDR:PORT
--listen 127.0.0.1:0|has an invalid port
--listen localhost:80|is not an IP address
--trusted-proxy 10.0.0.0/40|invalid --trusted-proxy '10.0.0.0/40'
--mqtt-url http://broker|invalid --mqtt-url 'http://broker'
--mqtt-token-file /nonexistent|cannot read token file /nonexistent
--database-dsn 'no good'|ntpmon-web: .*DSN
--check-deadline 0|--check-deadline
extra|unexpected argument 'extra'
LIST
out=$(MQTT_TOKEN=not-a-jwt "$W" 2>&1); h_is "$?/$(echo "$out" | grep -c 'not a JWT')" "2/1" "a token that is not a JWT: exit 2"

# up without broker or database
port=$(h_free_port tcp)
h_spawn web env MQTT_TOKEN="$token" "$W" --listen "127.0.0.1:$port"
h_wait_ok "it listens although neither broker nor database answers" 10 h_port_open_tcp "$port"
h_wait_ok "/healthz: 503 naming the broker" 10 bash -c "curl -s http://127.0.0.1:$port/healthz | grep -q 'unhealthy: .*broker: '"
h_is "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/api/servers)" 503 "the server list: 503 (never loaded)"
h_like "$(curl -s "http://127.0.0.1:$port/api/server/scores/1/json")" '"error":"database unavailable: ' "history: 503, database unavailable"
h_like "$(curl -s "http://127.0.0.1:$port/healthz")" "database: " "…and /healthz names the database too"
h_is "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/)" 200 "the page is served"
out=$(MQTT_TOKEN="$token" "$W" --listen "127.0.0.1:$port" 2>&1); rc=$?
h_is "$rc" 2 "a second one on the same address: exit 2"
h_like "$out" "cannot listen on 127.0.0.1:$port" "…saying it cannot listen"
h_stop web; h_is "$?" 0 "SIGTERM: exit 0"
h_done
