#!/usr/bin/env bash
# bench/broker-auth-connect.sh — connects/s (sequential connect + CONNACK + disconnect, MQTT 5) against mosquitto
# with the broker-auth plugin verifying HS256 and ES256 tokens, and against an anonymous broker as the baseline.
#   bench/broker-auth-connect.sh [--build DIR] [--connects N]
set -u
BUILD=${NTPMON_BUILD:-build} N=2000
while [ $# -gt 0 ]; do
    case "$1" in
        --build) BUILD=$2; shift ;;
        --connects) N=$2; shift ;;
        *) echo "usage: $0 [--build DIR] [--connects N]" >&2; exit 2 ;;
    esac
    shift
done
export NTPMON_BUILD=$BUILD
. "$(dirname "$0")/../tests/lib/harness.sh"
load=$H_BUILD/bench/mqtt-load
rate() { sed -n 's/.*rate=\([0-9]*\).*/\1/p'; }
export DEPLOYMENT_MODE=test

H_MQTT_PORT=; h_start_mosquitto
anon=$("$load" -p "$H_MQTT_PORT" -n "$N" connect | rate)
h_stop mosquitto

H_MQTT_PORT=; h_start_broker_auth
hs=$("$load" -p "$H_MQTT_PORT" -n "$N" -u m1 -P "$(h_token monitor m1)" connect | rate)
h_stop mosquitto

"$H_BIN/ntpmonctl" key gen --alg ES256 --out "$H_TMP/ec" >/dev/null
H_MQTT_PORT=; H_MQTT_ANONYMOUS=false h_start_mosquitto "plugin $H_PLUGIN
plugin_opt_env test
plugin_opt_key_file $H_TMP/ec.pub"
es_tok=$("$H_BIN/ntpmonctl" token issue --role monitor --name m1 --key-file "$H_TMP/ec.key" 2>/dev/null)
es=$("$load" -p "$H_MQTT_PORT" -n "$N" -u m1 -P "$es_tok" connect | rate)
h_stop mosquitto

printf '## broker-auth: connects/s with token verification\n\n'
printf '%s sequential MQTT 5 connects (connect, CONNACK, disconnect) from one client; load average at the end: %s.\n\n' \
    "$N" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '| broker | connects/s |\n|---|---|\n'
printf '| allow_anonymous, no plugin | %s |\n| plugin, HS256 token | %s |\n| plugin, ES256 token | %s |\n' "$anon" "$hs" "$es"
