#!/usr/bin/env bash
# Payload limits (issue 19, item 4): a monitor token cannot push big messages through the broker. The plugin
# refuses a publish above the largest payload any reader of that topic accepts (64 KiB; assign: the work-list cap),
# with the connection kept, so the agent's next, normal publish is delivered; the broker-wide max_packet_size
# (2 MiB, the harness sets what conf/mosquitto.conf sets) stops anything larger before it is read whole.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
h_start_broker_auth
E=ntpmon/test
probe=$H_BIN/auth-probe
seen() { grep -q "$2" "${H_LOG[$1]}"; }

# a results subscriber (ingest) that reports what it receives
mkfifo "$H_TMP/ing.in"
h_spawn ing sh -c "exec '$probe' -p '$H_MQTT_PORT' -u ingest-o -P '$(h_token ingest o)' -i ingest-o:a -w 3000 -l - <'$H_TMP/ing.in'"
exec 7>"$H_TMP/ing.in"
echo "sub:$E/results/#" >&7
h_wait_ok "ingest subscribes to the results" 10 seen ing "^sub $E/results/# ok"

mkfifo "$H_TMP/mon.in"
h_spawn mon sh -c "exec '$probe' -p '$H_MQTT_PORT' -u m1 -P '$(h_token monitor m1)' -i m1 -w 5000 - <'$H_TMP/mon.in'"
exec 8>"$H_TMP/mon.in"
h_wait_ok "the monitor connects" 10 seen mon "^connect ok"
for topic in results/1/m1 responses/m1/req-1 monitors/m1/status traces/1/m1; do
    printf 'size:%d\npub:%s\n' $((64 * 1024 + 1)) "$E/$topic" >&8
    h_wait_ok "a 64 KiB + 1 byte publish on $topic is refused" 10 seen mon "^pub $E/$topic denied"
done
printf 'size:%d\npub:%s\n' $((1024 * 1024)) "$E/results/1/m1" >&8
h_wait_ok "a 1 MiB result is refused" 10 sh -c "[ \$(grep -c '^pub $E/results/1/m1 denied' '${H_LOG[mon]}') -ge 2 ]"
printf 'size:%d\npub:%s\n' 300 "$E/results/1/m1" >&8
h_wait_ok "a normal result right after is accepted on the same connection" 10 seen mon "^pub $E/results/1/m1 ok"
h_unlike "$(h_log mon)" "^disconnected" "the monitor was never disconnected"
printf 'size:%d\npub:%s\n' $((64 * 1024)) "$E/results/1/m1" >&8
h_wait_ok "exactly 64 KiB is still accepted" 10 sh -c "[ \$(grep -c '^pub $E/results/1/m1 ok' '${H_LOG[mon]}') -ge 2 ]"
echo "recv:$E/results/1/m1" >&7
echo "recv:$E/results/1/m1" >&7
echo "recv:$E/results/1/m1" >&7
h_wait_ok "ingest looked for three results" 15 sh -c "[ \$(grep -c '^recv ' '${H_LOG[ing]}') -ge 3 ]"
h_is "$(grep '^recv ' "${H_LOG[ing]}" | tr '\n' '|')" \
    "recv $E/results/1/m1 got 300 bytes|recv $E/results/1/m1 got 65536 bytes|recv $E/results/1/m1 none|" \
    "ingest received the normal results and none of the refused ones"
h_like "$(h_log mosquitto)" "ntpmon_auth: client 'm1' \(m1\): refused a 65537-byte publish on $E/results/1/m1 \(limit 65536; 1 refused so far\)" \
    "the broker log says why"

# assign: the selector may publish a work list far above 64 KiB, up to the assign cap
tsel=$(h_token selector)
out=$("$probe" -p "$H_MQTT_PORT" -u selector-test -P "$tsel" "size:$((1024 * 1024))" "pub:$E/monitors/m1/assign" 2>&1)
h_like "$out" "pub $E/monitors/m1/assign ok" "a 1 MiB assign from the selector is accepted"
out=$("$probe" -p "$H_MQTT_PORT" -u selector-test -P "$tsel" "size:$((3 * 1024 * 1024))" "pub:$E/monitors/m1/assign" 2>&1)
h_like "$out" "pub $E/monitors/m1/assign (error|denied)" "a 3 MiB assign is over the broker's packet limit"
# an MQTT 3.1.1 client is not told the limit: the broker drops it, and stays up
head -c $((3 * 1024 * 1024)) /dev/zero | tr '\0' x >"$H_TMP/big"
mosquitto_pub -V mqttv311 -p "$H_MQTT_PORT" -u m1 -P "$(h_token monitor m1)" -i m1:v3 -q 1 -t "$E/results/1/m1" -f "$H_TMP/big" \
    >"$H_TMP/v3.out" 2>&1
h_ok "the broker is still running" kill -0 "${H_PID[mosquitto]}"
h_like "$("$probe" -p "$H_MQTT_PORT" -u m1 -P "$(h_token monitor m1)" -i m1:x "pub:$E/results/1/m1" 2>&1)" \
    "pub $E/results/1/m1 ok" "…and accepts a normal publish afterwards"
exec 7>&- 8>&-
h_done
