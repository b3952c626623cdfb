#!/usr/bin/env bash
# broker-auth: every bad token of the issue is refused at connect (with a reason in the broker log, never the
# token), while the broker keeps serving a client that stayed connected throughout and new good clients.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
h_start_broker_auth
E=ntpmon/test
probe=$H_BIN/auth-probe
forge="/usr/bin/python3 $(dirname "$0")/forge.py"

# A watcher stays connected through everything and must still be served at the end.
mkfifo "$H_TMP/w.in"
h_spawn watcher sh -c "exec '$probe' -p '$H_MQTT_PORT' -u watch-w -P '$(h_token watcher w)' -i watch-w:watcher -w 3000 - <'$H_TMP/w.in'"
exec 7>"$H_TMP/w.in"
echo "sub:$E/monitors/+/status" >&7
h_wait_ok "watcher subscribed" 10 grep -q "^sub $E/monitors/+/status ok" "${H_LOG[watcher]}"

connect() { "$probe" -p "$H_MQTT_PORT" -u "$1" -P "$2" -i "$1:c-$RANDOM" "pub:$E/monitors/$1/status" 2>&1; }

good=$($forge good m1)
h_like "$(connect m1 "$good")" "^connect ok" "a well-formed forged token is accepted (the forger works)"
h_like "$(connect m1 "$($forge hs512 m1)")" "^connect refused 13[45]" \
    "HS512 with the 43-byte HMAC key is refused (RFC 7518 §3.2: HS512 needs 64 bytes of key)"
h_like "$(connect m1 "$(h_token monitor m1)")" "pub $E/monitors/m1/status ok" "an issued token works"

for kind in none none-signed other-key expired nbf-future iat-future no-exp exp-string exp-float sub-other no-sub \
            aud-other no-aud big subs-outside subs-other-env subs-invalid subs-not-array publ-not-strings \
            bad-json payload-array bad-base64 two-dots; do
    tok=$($forge "$kind" m1)
    out=$(connect m1 "$tok")
    h_like "$out" "^connect refused 13[45]" "refused at connect: $kind"
done
h_num_between "$(printf %s "$($forge big m1)" | wc -c)" 4900 5400 "the big token is about 5 KiB"
h_like "$(connect m1 '')" "^connect refused 13[45]" "refused: empty password"
h_like "$("$probe" -p "$H_MQTT_PORT" -i anon "pub:$E/monitors/m1/status" 2>&1)" "^connect refused 13[45]" \
    "refused: no credentials at all"
h_like "$(connect m2 "$good")" "^connect refused 13[45]" "refused: a valid token under another username"

# nbf/iat inside the leeway are fine (clock skew), outside are not (checked above).
log=$(h_log mosquitto)
h_like "$log" "refused client .*: token expired" "the log names the reason (expired)"
h_like "$log" "token algorithm 'none' is not accepted" "the log names the reason (alg none)"
h_like "$log" "token longer than 4096 bytes" "the log names the reason (size)"
h_like "$log" "token sub differs from the username" "the log names the reason (sub)"
h_like "$log" "token aud is not this broker's env 'test'" "the log names the reason (aud)"
sig=${good##*.}
h_unlike "$log" "${sig:0:20}" "no token ever appears in the broker log"

# Still serving: the watcher that stayed connected receives a new status, and new clients connect.
h_like "$(connect m3 "$(h_token monitor m3)")" "pub $E/monitors/m3/status ok" "a new good client is served"
echo "recv:$E/monitors/m3/status" >&7
out=$(connect m4 "$(h_token monitor m4)")
echo "recv:$E/monitors/m4/status" >&7
h_wait_ok "the watcher connected throughout is still served" 10 grep -q "^recv $E/monitors/m4/status got x" "${H_LOG[watcher]}"
h_unlike "$(h_log watcher)" "disconnected" "the watcher was never disconnected"
exec 7>&-
h_ok "broker alive" kill -0 "${H_PID[mosquitto]}"
# A valid token cannot take another party's session: the client id must be the token's sub or "sub:<suffix>".
tm1=$(h_token monitor m1)
h_like "$("$probe" -p "$H_MQTT_PORT" -u m1 -P "$tm1" -i ingest-test "pub:$E/monitors/m1/status" 2>&1)" "^connect refused 13[45]" \
    "a monitor token with ingest's client id is refused"
h_like "$("$probe" -p "$H_MQTT_PORT" -u m1 -P "$tm1" -i m2 "pub:$E/monitors/m1/status" 2>&1)" "^connect refused 13[45]" \
    "a monitor token with another monitor's client id is refused"
h_like "$("$probe" -p "$H_MQTT_PORT" -u m1 -P "$tm1" -i m1x "pub:$E/monitors/m1/status" 2>&1)" "^connect refused 13[45]" \
    "a client id that merely starts with the sub is refused"
h_like "$(h_log mosquitto)" "refused client 'ingest-test' .*client id must be 'm1' or 'm1:…'" "the log says why"
h_like "$("$probe" -p "$H_MQTT_PORT" -u m1 -P "$tm1" -i m1:second "pub:$E/monitors/m1/status" 2>&1)" "connect ok" \
    "sub:<suffix> is accepted"
h_done
