#!/usr/bin/env bash
# bench/broker-auth-throughput.sh — messages/s through mosquitto with the broker-auth plugin vs. the same broker with
# allow_anonymous true and no plugin: same load generator (bench/mqtt-load: one publisher, one subscriber,
# 280-byte payloads, TCP_NODELAY), runs alternating between the two set-ups, median of each. Target: the plugin
# costs ≤ 10 %.   bench/broker-auth-throughput.sh [--build DIR] [--messages N] [--rounds R]
set -u
BUILD=${NTPMON_BUILD:-build} N=50000 ROUNDS=3
while [ $# -gt 0 ]; do
    case "$1" in
        --build) BUILD=$2; shift ;;
        --messages) N=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        *) echo "usage: $0 [--build DIR] [--messages N] [--rounds R]" >&2; exit 2 ;;
    esac
    shift
done
export NTPMON_BUILD=$BUILD
. "$(dirname "$0")/../tests/lib/harness.sh"
load=$H_BUILD/bench/mqtt-load
E=ntpmon/test

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rate() { sed -n 's/.*rate=\([0-9]*\).*/\1/p'; }

declare -A R
for round in $(seq 1 "$ROUNDS"); do
    for setup in anonymous plugin; do
        if [ "$setup" = anonymous ]; then
            H_MQTT_PORT=; h_start_mosquitto
            args=()
        else
            H_MQTT_PORT=; h_start_broker_auth
            args=(-u m1 -P "$(h_token monitor m1)" -U ingest-b -W "$(h_token ingest b)")
        fi
        for qos in 1 0; do
            r=$("$load" -p "$H_MQTT_PORT" -t "$E/results/1234/m1" -s "$E/results/#" -n "$N" -q $qos "${args[@]}" throughput | rate)
            R[$setup-$qos]+="${r:-0} "
        done
        h_stop mosquitto
    done
done
printf '## broker-auth: messages/s through mosquitto, plugin vs. no plugin\n\n'
printf '%s messages of 280 bytes, one publisher and one subscriber (TCP_NODELAY), median of %s alternating rounds;\n' \
    "$N" "$ROUNDS"
printf 'load average at the end: %s. Target: the plugin costs at most 10 %%.\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '| QoS | allow_anonymous, no plugin (msg/s) | broker-auth plugin (msg/s) | cost |\n|---|---|---|---|\n'
for qos in 1 0; do
    a=$(tr ' ' '\n' <<<"${R[anonymous-$qos]}" | grep . | median)
    p=$(tr ' ' '\n' <<<"${R[plugin-$qos]}" | grep . | median)
    printf '| %s | %s | %s | %s %% |\n' "$qos" "$a" "$p" \
        "$(awk -v a="$a" -v p="$p" 'BEGIN { printf "%.1f", a ? (a - p) * 100 / a : 0 }')"
done
printf '\nEach round (msg/s): no plugin QoS 1 [%s], plugin QoS 1 [%s], no plugin QoS 0 [%s], plugin QoS 0 [%s].\n' \
    "${R[anonymous-1]% }" "${R[plugin-1]% }" "${R[anonymous-0]% }" "${R[plugin-0]% }"
