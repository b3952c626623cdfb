#!/usr/bin/env bash
# broker-auth: rights taken away mid-session — revocation (by sub and by jti) without restarting the broker, a
# connected revoked client is refused and dropped at once; a token that expires while connected loses every
# ACL right (publish and delivery); persistent sessions keep their queue while offline.
. "$(dirname "$0")/../../lib/harness.sh"
H_AUTH_LEEWAY=0 h_start_broker_auth
E=ntpmon/test
probe=$H_BIN/auth-probe
ctl=$H_BIN/ntpmonctl

# start_probe NAME USER TOKEN [ARGS…]: an interactive auth-probe fed through fd 7/8/9 (one per name slot).
start_probe() {
    local name=$1 user=$2 tok=$3; shift 3
    mkfifo "$H_TMP/$name.in"
    h_spawn "$name" sh -c "exec '$probe' -p '$H_MQTT_PORT' -u '$user' -P '$tok' -i '$user:$name' $* - <'$H_TMP/$name.in'"
}
seen() { grep -q "$2" "${H_LOG[$1]}"; }

# ---- revocation by sub, while connected ----
start_probe a m5 "$(h_token monitor m5)" -w 5000
exec 7>"$H_TMP/a.in"
echo "pub:$E/monitors/m5/status" >&7
h_wait_ok "m5 publishes before the revocation" 10 seen a "^pub $E/monitors/m5/status ok"
h_ok "ntpmonctl token revoke m5" "$ctl" token revoke m5
h_like "$(cat "$NTPMON_REVOKED_FILE")" "(^|$'\n')m5$" "m5 is in the revocation file"
h_wait_ok "the connected revoked client is dropped at once" 5 seen a "^disconnected"
echo "pub:$E/monitors/m5/status" >&7
h_wait_ok "…and can no longer publish" 5 seen a "^pub $E/monitors/m5/status \(error\|denied\|timeout\)"
exec 7>&-
h_like "$("$probe" -p "$H_MQTT_PORT" -u m5 -P "$(h_token monitor m5)" 2>&1)" "^connect refused 13[45]" \
    "a new token for a revoked sub is refused at connect"
h_like "$(h_log mosquitto)" "refused client .*\(username 'm5'\): token revoked" "the log says why"
h_like "$("$ctl" token revoke m5 2>&1)" "already revoked" "revoking twice is harmless"
h_is "$(grep -c '^m5$' "$NTPMON_REVOKED_FILE")" 1 "…and adds no second line"

# ---- revocation by jti: only that token ----
t1=$("$ctl" token issue --role monitor --name m6 2>"$H_TMP/t1.err")
jti=$(sed -n 's/.*jti \([0-9A-Z]*\).*/\1/p' "$H_TMP/t1.err")
t2=$(h_token monitor m6)
h_like "$jti" "^[0-9A-Z]{26}$" "issue prints the token id"
h_ok "revoke by jti" "$ctl" token revoke "$jti"
h_wait_ok "the revoked token is refused" 5 sh -c "'$probe' -p $H_MQTT_PORT -u m6 -P '$t1' | grep -q 'connect refused'"
h_like "$("$probe" -p "$H_MQTT_PORT" -u m6 -P "$t2" "pub:$E/monitors/m6/status" 2>&1)" "pub $E/monitors/m6/status ok" \
    "another token of the same monitor still works"

# ---- expiry mid-session (leeway 0) ----
# 10 s: the "while valid" steps below must fit before exp even on a loaded machine
tb=$(h_token monitor m7 10s)
exp=$(/usr/bin/python3 -c 'import sys,json,base64; p=sys.argv[1].split(".")[1]; print(json.loads(base64.urlsafe_b64decode(p+"=="))["exp"])' "$tb")
start_probe b m7 "$tb" -w 5000
exec 8>"$H_TMP/b.in"
echo "sub:$E/monitors/m7/#" >&8
echo "pub:$E/monitors/m7/status" >&8
h_wait_ok "m7 publishes while its token is valid" 5 seen b "^pub $E/monitors/m7/status ok"
tsel=$(h_token selector)
"$probe" -p "$H_MQTT_PORT" -u selector-test -P "$tsel" "pub:$E/monitors/m7/assign" >/dev/null
echo "recv:$E/monitors/m7/assign" >&8
h_wait_ok "m7 receives its assignment while valid" 5 seen b "^recv $E/monitors/m7/assign got"
# a second past exp: the broker reads time() (the kernel's coarse clock, up to a tick behind date's) and may still
# be in the second before exp for a few milliseconds after date has entered it
h_wait_ok "the token's exp passes" 15 sh -c "[ \$(date +%s) -gt $exp ]"
echo "pub:$E/monitors/m7/status" >&8
h_wait_ok "after exp, publishing is refused mid-session" 5 seen b "^pub $E/monitors/m7/status denied"
out=$("$probe" -p "$H_MQTT_PORT" -u selector-test -P "$tsel" "pub:$E/monitors/m7/assign")
h_like "$out" "pub $E/monitors/m7/assign ok" "the selector still publishes"
echo "recv:$E/monitors/m7/assign" >&8
h_wait_ok "after exp, nothing is delivered" 5 seen b "^recv $E/monitors/m7/assign none"
echo "sub:$E/monitors/m7/assign" >&8
h_wait_ok "after exp, subscribing is refused" 5 seen b "^sub $E/monitors/m7/assign denied"
exec 8>&-
h_like "$(h_log mosquitto)" "client 'm7:b' \(m7\): token expired, access denied" "expiry logged once"
h_is "$(h_log mosquitto | grep -c "client 'm7:b' (m7): token expired")" 1 "…and only once"

# ---- persistent sessions keep their queue while offline (READ is checked for offline sessions too) ----
ting=$(h_token ingest q)
out=$("$probe" -p "$H_MQTT_PORT" -u ingest-q -P "$ting" -i ingest-q:worker -c "sub:$E/results/#")
h_like "$out" "sub $E/results/# ok" "ingest subscribes with a persistent session"
tm=$(h_token monitor m8)
out=$("$probe" -p "$H_MQTT_PORT" -u m8 -P "$tm" "pub:$E/results/1/m8" "pub:$E/results/2/m8" "pub:$E/results/3/m8")
h_like "$out" "pub $E/results/3/m8 ok" "results published while ingest is away"
out=$("$probe" -p "$H_MQTT_PORT" -u ingest-q -P "$ting" -i ingest-q:worker -c -w 10000 \
      "recv:$E/results/1/m8" "recv:$E/results/2/m8" "recv:$E/results/3/m8")
h_like "$out" "recv $E/results/1/m8 got x" "queued result 1 delivered on reconnect"
h_like "$out" "recv $E/results/3/m8 got x" "queued result 3 delivered on reconnect"
# ---- key rotation: a new key file and SIGHUP, no restart ----
old=$(h_token monitor m9)
"$ctl" key gen --alg HS256 --out "$H_TMP/new" >/dev/null
mv "$H_TMP/new.key" "$H_JWT_KEY_FILE"
JWT_KEY=$(cat "$H_JWT_KEY_FILE"); export JWT_KEY
kill -HUP "${H_PID[mosquitto]}"
h_wait_ok "the plugin reloads on SIGHUP" 10 sh -c "[ \$(grep -c 'ntpmon_auth: env' '${H_LOG[mosquitto]}') -ge 2 ]"
h_like "$("$probe" -p "$H_MQTT_PORT" -u m9 -P "$old" 2>&1)" "^connect refused" "after rotation, old-key tokens are refused"
h_like "$("$probe" -p "$H_MQTT_PORT" -u m9 -P "$(h_token monitor m9)" "pub:$E/monitors/m9/status" 2>&1)" \
    "pub $E/monitors/m9/status ok" "new-key tokens are accepted"
h_like "$("$probe" -p "$H_MQTT_PORT" -u m5 -P "$(h_token monitor m5)" 2>&1)" "^connect refused" \
    "revocations survive the reload"
h_ok "broker alive" kill -0 "${H_PID[mosquitto]}"
h_done
