#!/usr/bin/env bash
# bench/web-sse.sh — ntpmon-web's score streams under fan-out: 1 000 concurrent Server-Sent Event clients on one
# server's stream; the scorer's messages (published like the scorer: retained, QoS 1) → received by every client,
# p50/p99/max, beside the broker's own delivery to one plain MQTT subscriber of the same topic in the same run;
# ntpmon-web's RSS and CPU while serving them. Real broker (with the auth plugin) and MariaDB on loopback.
set -u
cd "$(dirname "$0")/.."
export NTPMON_BUILD=${NTPMON_BUILD:-build}
. tests/lib/harness.sh >/dev/null
B=$H_BIN
CLIENTS=${BENCH_CLIENTS:-1000}; COUNT=${BENCH_COUNT:-200}; RATE=${BENCH_RATE:-20}
h_start_mariadb >/dev/null
export DEPLOYMENT_MODE=bench
h_start_broker_auth >/dev/null
"$B/ntpmonctl" db migrate >/dev/null
h_sql "INSERT INTO accounts (name) VALUES ('bench');
       INSERT INTO servers (id, ip, ip_version, account_id) VALUES (1, '198.18.0.1', 'v4', 1)"
PUB=$(h_token scorer); SUB=$(h_token watcher); WEB=$(h_token web)
# the retained score every stream starts with
mosquitto_pub -V mqttv5 -p "$H_MQTT_PORT" -u scorer-bench -P "$PUB" -q 1 -r -t ntpmon/bench/scores/1 \
    -m "{\"server_id\":1,\"score\":1,\"step\":1,\"in_pool\":false,\"ts\":\"$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)\",\"monitors\":3}"
PORT=$(h_free_port tcp)
h_spawn web env MQTT_TOKEN="$WEB" "$B/ntpmon-web" -e bench --listen "127.0.0.1:$PORT" --max-connections 5000 \
    --max-connections-per-client 5000 --max-streams 5000 --max-streams-per-client 5000 --api-rate 100000 --api-burst 100000
h_wait 10 grep -q "mqtt: connected" "${H_LOG[web]}"
pid=${H_PID[web]}
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
rss_idle=$(rss)
"$H_BUILD/bench/web-sse-fanout" "$PORT" /api/server/scores/1/stream "$CLIENTS" "$MQTT_URL" "$PUB" "$SUB" bench 1 "$COUNT" "$RATE" \
    >"$H_TMP/fanout.out" 2>&1 &
fan=$!
h_wait 60 grep -q '^ready' "$H_TMP/fanout.out"
rss_ready=$(rss); cpu0=$(cpu); t0=$(date +%s%N)
wait $fan
t1=$(date +%s%N); cpu1=$(cpu); rss_end=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
tick=$(getconf CLK_TCK)
cpu_pct=$(awk -v c=$((cpu1 - cpu0)) -v t="$tick" -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", 100 * (c / t) / (ns / 1e9) }')
sse=$(grep '^sse' "$H_TMP/fanout.out"); mqtt=$(grep '^mqtt' "$H_TMP/fanout.out")
f() { sed -n "s/.*$1 \([0-9.]*\).*/\1/p" <<<"$2"; }
echo "## ntpmon-web: score stream fan-out"
echo
echo "$CLIENTS Server-Sent Event clients on /api/server/scores/1/stream; $COUNT scores published at $RATE/s as the scorer"
echo "publishes them (retained, QoS 1, through mosquitto with the broker-auth plugin); delay = arrival − the score's"
echo "publish time, every client and every score; load average at start: $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores (shared machine)."
echo
echo "| | delivered | p50 | p99 | max |"
echo "|---|---|---|---|---|"
echo "| ntpmon-web, $CLIENTS SSE clients | $(f delivered "$sse") of $((CLIENTS * COUNT)) | $(f p50_ms "$sse") ms | $(f p99_ms "$sse") ms | $(f max_ms "$sse") ms |"
echo "| broker → one MQTT subscriber (same run) | $(f received "$mqtt") of $COUNT | $(f p50_ms "$mqtt") ms | $(f p99_ms "$mqtt") ms | $(f max_ms "$mqtt") ms |"
echo
echo "ntpmon-web RSS: $((rss_idle / 1024)) MB idle, $((rss_ready / 1024)) MB with $CLIENTS streams open, peak $((rss_end / 1024)) MB;"
echo "CPU while fanning out $RATE scores/s to $CLIENTS clients ($((RATE * CLIENTS)) events/s): $cpu_pct % of one core."
