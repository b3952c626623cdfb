#!/usr/bin/env bash
# bench/agent-rss.sh — memory of `ntpmon-agent monitor` with 5 000 assigned servers, all probed (every 30 s, 3
# samples) against one wildcard ntp-fake on loopback, results published to a local mosquitto and confirmed by the
# test confirmer. Prints RSS before/after the assignment, at the end, and the peak (VmHWM).
#   bench/agent-rss.sh [--build DIR]     env: SERVERS (5000), SECONDS_RUN (45), INTERVAL (30)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${NTPMON_BUILD:-${BUILD:-$ROOT/build}}
[ "${1:-}" = --build ] && B=$2
case "$B" in /*) ;; *) B=$ROOT/$B ;; esac
SERVERS=${SERVERS:-5000}
RUN=${SECONDS_RUN:-45}
INTERVAL=${INTERVAL:-30}
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done; rm -rf "$TMP"; }
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MQ=$(free_port); NTP=$(free_port)
cat >"$TMP/mosquitto.conf" <<CONF
user root
listener $MQ 127.0.0.1
allow_anonymous true
max_queued_messages 0
set_tcp_nodelay true
log_dest none
CONF
mosquitto -c "$TMP/mosquitto.conf" >/dev/null 2>&1 & PIDS+=($!)
"$B/bin/ntp-fake" --log-level error --listen "0.0.0.0:$NTP" --offset 0.001 >/dev/null 2>&1 & PIDS+=($!)
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$MQ") 2>/dev/null && break; sleep 0.05; done
URL=mqtt://127.0.0.1:$MQ
"$B/bin/stored-responder" -e bench --log-level error --mqtt-url "$URL" >"$TMP/responder.log" 2>&1 & PIDS+=($!)
b64() { /usr/bin/python3 -c 'import base64,sys; print(base64.urlsafe_b64encode(sys.argv[1].encode()).decode().rstrip("="))' "$1"; }
echo "$(b64 '{"alg":"HS256"}').$(b64 "{\"sub\":\"bench1\",\"exp\":$(( $(date +%s) + 86400 ))}").c2ln" >"$TMP/token"
"$B/bin/ntpmon-agent" -e bench --state-dir "$TMP/state" setup --name bench1 --mqtt-url "$URL" --mqtt-token-file "$TMP/token" >/dev/null
"$B/bin/ntpmon-agent" -e bench --state-dir "$TMP/state" --log-level info monitor --allow-loopback --ntp-port "$NTP" \
    --min-interval 1 --first-probe-max "$INTERVAL" >"$TMP/agent.log" 2>&1 & AGENT=$!; PIDS+=($AGENT)
rss() { awk -v k="$1" '$1==k":"{print $2}' "/proc/$AGENT/status"; }
for _ in $(seq 1 100); do grep -q "mqtt: connected" "$TMP/agent.log" && break; sleep 0.05; done
rss_idle=$(rss VmRSS)
/usr/bin/python3 - "$SERVERS" "$INTERVAL" >"$TMP/assign.json" <<'PY'
import json, sys
n, iv = int(sys.argv[1]), int(sys.argv[2])
servers = [{"id": i + 1, "ip": "127.%d.%d.%d" % (1 + i // 62500, (i // 250) % 250 + 1, i % 250 + 1), "status": "active",
            "interval_s": iv, "samples": 3} for i in range(n)]
print(json.dumps({"seq": 1, "ts": "2026-11-23T19:00:00Z", "servers": servers}))
PY
mosquitto_pub -V mqttv5 -p "$MQ" -q 1 -r -t ntpmon/bench/monitors/bench1/assign -f "$TMP/assign.json"
for _ in $(seq 1 200); do grep -q "assignment seq 1" "$TMP/agent.log" && break; sleep 0.05; done
rss_assigned=$(rss VmRSS)
max=0
end=$(( $(date +%s) + RUN ))
while [ "$(date +%s)" -lt "$end" ]; do
    r=$(rss VmRSS); [ "$r" -gt "$max" ] && max=$r
    sleep 0.5
done
rss_end=$(rss VmRSS); hwm=$(rss VmHWM)
kill -TERM "$AGENT"; wait "$AGENT" 2>/dev/null
made=$(grep -o '[0-9]* results made' "$TMP/agent.log" | tail -1 | awk '{print $1}')
confirmed=$(grep -o '[0-9]* confirmed, ' "$TMP/agent.log" | tail -1 | awk '{print $1}')
echo "## agent: memory with $SERVERS assigned servers ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
printf '| %-52s | %9s |\n' measure value
printf '|%s|%s|\n' ------------------------------------------------------ -----------
printf '| %-52s | %6.1f MB |\n' "RSS connected, no assignment" "$(awk -v k="$rss_idle" 'BEGIN{print k/1024}')"
printf '| %-52s | %6.1f MB |\n' "RSS after the $((($(wc -c <"$TMP/assign.json") + 1023) / 1024)) KiB assignment" "$(awk -v k="$rss_assigned" 'BEGIN{print k/1024}')"
printf '| %-52s | %6.1f MB |\n' "RSS, highest sampled while probing (${RUN} s)" "$(awk -v k="$max" 'BEGIN{print k/1024}')"
printf '| %-52s | %6.1f MB |\n' "RSS at the end" "$(awk -v k="$rss_end" 'BEGIN{print k/1024}')"
printf '| %-52s | %6.1f MB |\n' "peak RSS (VmHWM, includes parsing the assignment)" "$(awk -v k="$hwm" 'BEGIN{print k/1024}')"
printf '| %-52s | %9s |\n' "results made / confirmed" "${made:-?} / ${confirmed:-?}"
echo
echo "Target: ≤ 8 MB. The pool's Go agent: under 30 MB with far fewer servers."
