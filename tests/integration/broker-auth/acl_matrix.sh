#!/usr/bin/env bash
# broker-auth: the allowed/denied matrix of DESIGN.md §4 for every role, against a real mosquitto loading the
# plugin. Each role connects once (auth-probe) and tries what its lists allow and what they must not.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
h_start_broker_auth
E=ntpmon/test
probe=$H_BIN/auth-probe

# expect_line OUTPUT LINE DESC: OUTPUT has exactly LINE as one of its lines.
expect_line() {
    if grep -qxF -- "$2" <<<"$1"; then h_pass "$3"; else h_fail "$3" "no line '$2' in:" "$1"; fi
}

# check_role ROLE NAME SUB "ALLOWED OPS" "DENIED OPS": one connection; every op's result must be as listed.
check_role() {
    local role=$1 name=$2 sub=$3 allowed=$4 denied=$5 tok out op
    tok=$(h_token "$role" "$name")
    # shellcheck disable=SC2086
    out=$("$probe" -p "$H_MQTT_PORT" -u "$sub" -P "$tok" -i "$sub:probe" -w 10000 $allowed $denied 2>&1) # every op is answered: the bound only matters under load
    h_like "$out" "^connect ok" "$role: connects as $sub"
    for op in $allowed; do expect_line "$out" "${op%%:*} ${op#*:} ok" "$role: ${op%%:*} ${op#*:} allowed"; done
    for op in $denied; do expect_line "$out" "${op%%:*} ${op#*:} denied" "$role: ${op%%:*} ${op#*:} denied"; done
}

check_role monitor m1 m1 \
    "pub:$E/results/1234/m1 pub:$E/monitors/m1/status pub:$E/responses/m1/req-1 pub:$E/monitors/m1/token/request
     pub:$E/traces/1234/m1 sub:$E/monitors/m1/requests/traceroute sub:$E/monitors/m1/# sub:$E/monitors/m1/assign sub:$E/monitors/m1/token sub:$E/monitors/m1/stored
     sub:$E/monitors/m1/requests/ntp sub:\$share/g/$E/monitors/m1/assign sub:$E/monitors/m1/+" \
    "pub:$E/results/1234/m2 pub:$E/monitors/m2/status pub:$E/monitors/m1/assign pub:$E/monitors/m1/stored
     pub:$E/monitors/m1/token pub:$E/monitors/m2/token/request pub:$E/responses/m2/req-1 pub:$E/scores/1
     pub:$E/status/servers/1 pub:$E/monitors/m1/requests/ntp pub:ntpmon/prod/results/1/m1 pub:other/topic
     pub:$E/traces/1234/m2 pub:$E/monitors/m1/requests/traceroute sub:$E/traces/#
     sub:$E/monitors/m2/assign sub:$E/monitors/+/assign sub:$E/monitors/# sub:$E/# sub:# sub:+/+/monitors/m1/#
     sub:\$SYS/# sub:\$SYS/broker/uptime sub:$E/results/# sub:$E/results/+/m1 sub:\$share/g/$E/results/#
     sub:ntpmon/prod/monitors/m1/# sub:$E/+/m1/assign"

check_role ingest a ingest-a \
    "pub:$E/monitors/m1/stored sub:$E/results/# sub:$E/results/+/m1 sub:$E/results/1234/m1
     sub:\$share/ingest/$E/results/# sub:$E/traces/# sub:\$share/ingest/$E/traces/#" \
    "pub:$E/monitors/m1/assign pub:$E/results/1/m1 pub:$E/scores/1 pub:$E/monitors/m1/status pub:$E/traces/1/m1
     sub:$E/# sub:$E/monitors/+/status sub:$E/monitors/m1/# sub:# sub:\$share/ingest/#"

check_role scorer a scorer-a \
    "pub:$E/scores/1 pub:$E/status/servers/1 pub:$E/status/zones/au sub:$E/results/# sub:$E/status/selection/#
     pub:$E/monitors/m1/requests/traceroute sub:$E/responses/# sub:$E/responses/m1/x" \
    "pub:$E/status/selection/1 pub:$E/monitors/m1/assign pub:$E/results/1/m1 pub:$E/monitors/m1/stored
     sub:$E/scores/# sub:$E/monitors/+/status sub:$E/status/# sub:$E/# pub:$E/monitors/m1/requests/ntp
     pub:$E/traces/1/m1 sub:$E/traces/#"

check_role selector a selector-a \
    "pub:$E/monitors/m1/assign pub:$E/status/selection/1 sub:$E/results/# sub:$E/monitors/+/status
     sub:$E/monitors/m1/status" \
    "pub:$E/monitors/m1/stored pub:$E/scores/1 pub:$E/monitors/m1/status pub:$E/status/servers/1
     sub:$E/monitors/+/assign sub:$E/monitors/m1/# sub:$E/scores/# sub:$E/monitors/#"

check_role tokens a tokens-a \
    "pub:$E/monitors/m1/token sub:$E/monitors/+/token/request sub:$E/monitors/m1/token/request" \
    "pub:$E/monitors/m1/token/request pub:$E/monitors/m1/assign pub:$E/monitors/m1/token/x
     sub:$E/monitors/+/token sub:$E/monitors/# sub:$E/monitors/+/#"

check_role web a web-a \
    "pub:$E/monitors/m1/requests/ntp sub:$E/responses/# sub:$E/results/# sub:$E/traces/# sub:$E/scores/# sub:$E/status/#
     sub:$E/monitors/+/status sub:$E/responses/m1/abc" \
    "pub:$E/monitors/m1/assign pub:$E/results/1/m1 pub:$E/responses/m1/x pub:$E/monitors/m1/token
     sub:$E/monitors/+/assign sub:$E/monitors/m1/token sub:$E/# sub:$E/monitors/+/requests/#"

check_role watcher w1 watch-w1 \
    "sub:$E/results/# sub:$E/scores/# sub:$E/status/# sub:$E/monitors/+/status sub:$E/results/+/m1
     sub:$E/traces/# sub:$E/traces/1234/+" \
    "pub:$E/traces/1/m1 pub:$E/results/1/m1 pub:$E/scores/1 pub:$E/monitors/m1/status pub:$E/monitors/m1/requests/ntp
     sub:$E/monitors/m1/assign sub:$E/responses/# sub:$E/# sub:#"

check_role admin "" admin \
    "pub:$E/monitors/m1/assign pub:$E/results/1/m1 pub:$E/anything/at/all sub:$E/# sub:$E/monitors/+/token" \
    "pub:ntpmon/prod/monitors/m1/assign pub:other/x sub:# sub:ntpmon/prod/# sub:\$SYS/# sub:+/test/#"

# READ follows `subs`: a watcher receives results but not a monitor's assignment; a monitor reads only its own.
tsel=$(h_token selector) tmon=$(h_token monitor m1)
mkfifo "$H_TMP/m1.in"
h_spawn m1 sh -c "exec '$probe' -p '$H_MQTT_PORT' -u m1 -P '$tmon' -i m1 -w 10000 - <'$H_TMP/m1.in'"
exec 7>"$H_TMP/m1.in"
echo "sub:$E/monitors/m1/#" >&7
h_wait_ok "monitor subscribed" 10 grep -q "^sub $E/monitors/m1/# ok" "${H_LOG[m1]}"
out=$("$probe" -p "$H_MQTT_PORT" -u selector-test -P "$tsel" pub:$E/monitors/m1/assign pub:$E/monitors/m2/assign)
h_like "$out" "pub $E/monitors/m2/assign ok" "selector publishes assignments"
echo "recv:$E/monitors/m1/assign" >&7
h_wait_ok "monitor receives its own assignment" 10 grep -q "^recv $E/monitors/m1/assign got x" "${H_LOG[m1]}"
exec 7>&-
h_wait_ok "probe finishes" 10 sh -c "! kill -0 ${H_PID[m1]} 2>/dev/null"
h_ok "broker still running" kill -0 "${H_PID[mosquitto]}"
h_done
