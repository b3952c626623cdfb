#!/usr/bin/env bash
# bench/web-check.sh — ntpmon-web's on-demand check, end to end through the real pipeline (broker with the auth
# plugin, three agents probing chronyd on loopback): POST → the first monitor's answer and → the full answer
# (the pool's semantics: monitors asked 400 ms apart, stop after 3 healthy; and all=1: everyone at once), beside
# the agent's own probe in the same checks: when it sent its NTP query (the answer's ts) and the exchange (its rtt).
set -u
cd "$(dirname "$0")/.."
export NTPMON_BUILD=${NTPMON_BUILD:-build}
. tests/lib/harness.sh >/dev/null
. tests/lib/pipeline.sh
RUNS=${BENCH_RUNS:-40}
P_AGENT_FLAGS="--request-rate 100000"
P_WEB_FLAGS="--check-cache 0 --check-rate 100000 --check-burst 100000 --check-rate-global 100000 --check-burst-global 100000"
p_stack >/dev/null
URL=http://127.0.0.1:$P_WEB_PORT
h_wait 30 bash -c "[ \$(curl -s $URL/api/monitors/online | jq length) = 3 ]"
/usr/bin/python3 bench/web-check.py "$URL" 127.0.0.2 2 0 >/dev/null   # warm-up
spaced=$(/usr/bin/python3 bench/web-check.py "$URL" 127.0.0.2 "$RUNS" 0)
all=$(/usr/bin/python3 bench/web-check.py "$URL" 127.0.0.2 "$RUNS" 1)
f() { awk -v k="$1" '$1 == k { print $2 }' <<<"$2"; }
ms() { awk -v v="$1" 'BEGIN { printf(v < 10 ? "%.2f" : "%.0f", v) }'; }
row() { echo "| $1 | $(ms "$(f first_p50 "$2")") / $(ms "$(f first_p99 "$2")") ms | $(ms "$(f full_p50 "$2")") / $(ms "$(f full_p99 "$2")") ms | $(ms "$(f to_probe_p50 "$2")") / $(ms "$(f to_probe_p99 "$2")") ms | $(f probe_p50 "$2") / $(f probe_p99 "$2") ms |"; }
echo "## ntpmon-web: on-demand check latency"
echo
echo "$RUNS checks each way of 127.0.0.2 (chronyd on loopback) through ntpmon-web, mosquitto with the broker-auth plugin and"
echo "three agents (one sample per check); answers streamed as Server-Sent Events; load average at start: $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores."
echo
echo "| check | request → first answer, p50 / p99 | request → full answer | request → that agent's NTP query | the agent's probe (NTP exchange) |"
echo "|---|---|---|---|---|"
row "pool semantics (400 ms apart, stop after 3 healthy)" "$spaced"
row "all=1 (every monitor at once)" "$all"
echo
echo "The first answer costs the probe plus two trips through the broker (request out, answer back) and the HTTP/SSE"
echo "hop; the full answer of a check with the pool's semantics is the 400 ms spacing between monitors (two gaps"
echo "before the third healthy answer)."
