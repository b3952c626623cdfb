#!/usr/bin/env bash
# broker-auth: an agent offline for longer than its token (issue 19, item 1). A monitor with a persistent session
# and a 3 s token disconnects; once its token has expired the plugin purges the offline session's claims; then the
# admin publishes the monitor's assign, so the broker checks delivery to that offline session. The broker must
# stay up (under ASan: no use-after-free in the plugin), the delivery must be refused, and the monitor, back with a
# new token on the same persistent session, must get what is published after that.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
H_AUTH_LEEWAY=0 H_AUTH_PURGE_INTERVAL=1 h_start_broker_auth
E=ntpmon/test
probe=$H_BIN/auth-probe

tmon=$(h_token monitor m7 3s)
exp=$(/usr/bin/python3 -c 'import sys,json,base64; p=sys.argv[1].split(".")[1]; print(json.loads(base64.urlsafe_b64decode(p+"=="))["exp"])' "$tmon")
tadm=$(h_token admin)
out=$("$probe" -p "$H_MQTT_PORT" -u m7 -P "$tmon" -i m7 -c "sub:$E/monitors/m7/assign" 2>&1)
h_like "$out" "sub $E/monitors/m7/assign ok" "the monitor subscribes in a persistent session and disconnects"
# while valid and offline, deliveries are queued for it (READ checked for the offline session)
out=$("$probe" -p "$H_MQTT_PORT" -u admin -P "$tadm" "pub:$E/monitors/m7/assign" 2>&1)
h_like "$out" "pub $E/monitors/m7/assign ok" "admin publishes the assign while the monitor's token is valid"
h_wait_ok "the monitor's token expires" 15 sh -c "[ \$(date +%s) -ge $exp ]"
h_wait_ok "the plugin purges the expired offline session" 30 \
    grep -q "ntpmon_auth: purged 1 expired offline session" "${H_LOG[mosquitto]}"
out=$("$probe" -p "$H_MQTT_PORT" -u admin -P "$tadm" "pub:$E/monitors/m7/assign" "pub:$E/monitors/m7/assign" 2>&1)
h_like "$out" "pub $E/monitors/m7/assign ok" "admin publishes the assign after the purge"
h_ok "the broker is still running" kill -0 "${H_PID[mosquitto]}"
out=$("$probe" -p "$H_MQTT_PORT" -u admin -P "$tadm" "pub:$E/monitors/m1/status" 2>&1)
h_like "$out" "pub $E/monitors/m1/status ok" "…and serves new clients"
h_unlike "$(h_log mosquitto)" "AddressSanitizer|runtime error" "no sanitizer report from the plugin"

# back with a new token on the same session: the one message queued while valid arrives, the two refused after
# the purge do not, and a new publish is delivered
mkfifo "$H_TMP/m7.in"
h_spawn m7 sh -c "exec '$probe' -p '$H_MQTT_PORT' -u m7 -P '$(h_token monitor m7)' -i m7 -c -w 1000 - <'$H_TMP/m7.in'"
exec 7>"$H_TMP/m7.in"
h_wait_ok "the monitor reconnects" 10 grep -q "^connect ok" "${H_LOG[m7]}"
for _ in 1 2 3; do echo "recv:$E/monitors/m7/assign" >&7; done
h_wait_ok "the monitor has looked for three queued messages" 15 \
    sh -c "[ \$(grep -c '^recv $E/monitors/m7/assign' '${H_LOG[m7]}') -ge 3 ]"
h_is "$(grep -c "^recv $E/monitors/m7/assign got" "${H_LOG[m7]}")" 1 \
    "only the message queued while the token was valid was delivered"
out=$("$probe" -p "$H_MQTT_PORT" -u admin -P "$tadm" "pub:$E/monitors/m7/assign" 2>&1)
h_like "$out" "pub $E/monitors/m7/assign ok" "admin publishes again"
echo "recv:$E/monitors/m7/assign" >&7
h_wait_ok "…and the monitor, valid again, receives it" 10 \
    sh -c "[ \$(grep -c '^recv $E/monitors/m7/assign got' '${H_LOG[m7]}') -ge 2 ]"
exec 7>&-
h_ok "the broker is still running at the end" kill -0 "${H_PID[mosquitto]}"
h_done
