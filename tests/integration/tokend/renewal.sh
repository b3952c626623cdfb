#!/usr/bin/env bash
# ntpmon-tokend: token renewal through the token service (DESIGN.md §4). A monitor token issued with a 60 s lifetime is
# renewed before it expires (a third of the lifetime before exp) and the client reconnects with the new token;
# renewed tokens are renewed again and publishing never stops. Deleted, unknown and revoked monitors get no
# token. The agent has not landed: tests/tools/token-renew-client plays its part.
. "$(dirname "$0")/../../lib/harness.sh"
h_start_mariadb
H_AUTH_LEEWAY=0 h_start_broker_auth
E=ntpmon/test
ctl=$H_BIN/ntpmonctl
probe=$H_BIN/auth-probe
h_ok "migrate" "$ctl" db migrate
h_ok "account" "$ctl" account add acme
for m in m1 m2 m3 m4 s1; do h_ok "monitor $m" "$ctl" monitor add --name $m --account acme --ip4 192.0.2.1${m#?}; done
h_ok "m2 is deleted" "$ctl" monitor set-status m2 deleted
h_sql "UPDATE monitors SET type = 'score' WHERE name = 's1'"
# tokend's own revocation list also names m3 (the broker's does not): tokend checks it independently.
printf 'm3\n' >"$H_TMP/tokend-revoked"
cat "$NTPMON_REVOKED_FILE" >>"$H_TMP/tokend-revoked"

h_spawn tokend env MQTT_TOKEN="$(h_token tokens)" "$H_BIN/ntpmon-tokend" --monitor-ttl 6s --min-interval 1s \
    --revoked-file "$H_TMP/tokend-revoked"
h_wait_ok "tokend connects" 10 grep -q "connected to the broker" "${H_LOG[tokend]}"

# ---- the 60 s token: renewed at 40 s, then every ~4 s (6 s tokens) ----
h_token monitor m1 60s >"$H_TMP/m1.token"
h_spawn client "$H_BIN/token-renew-client" "$MQTT_URL" m1 "$H_TMP/m1.token" 200
h_wait_ok "the client connects with its 60 s token" 10 grep -q "^connected 1" "${H_LOG[client]}"

# While the first renewal is not due, the refusals: (request, then read the answer on the monitor's own topic)
ask() { "$probe" -p "$H_MQTT_PORT" -u "$1" -P "$2" -w 3000 "sub:$E/monitors/$1/token" "pub:$E/monitors/$1/token/request" \
        "recv:$E/monitors/$1/token" 2>&1; }
h_like "$(ask m2 "$(h_token monitor m2)")" "recv $E/monitors/m2/token got \{\"error\":\"monitor is deleted\"\}" \
    "a deleted monitor gets no new token"
h_like "$(ask m9 "$(h_token monitor m9)")" "recv $E/monitors/m9/token got \{\"error\":\"unknown monitor\"\}" \
    "an unknown monitor gets no token"
h_like "$(ask m3 "$(h_token monitor m3)")" "recv $E/monitors/m3/token got \{\"error\":\"monitor is revoked\"\}" \
    "a monitor in tokend's revocation file gets no token"
h_like "$(ask s1 "$(h_token monitor s1)")" "recv $E/monitors/s1/token got \{\"error\":\"not an agent monitor\"\}" \
    "a scoring (virtual) monitor gets no token"
out=$(ask m4 "$(h_token monitor m4)")
h_like "$out" "recv $E/monitors/m4/token got \{\"token\":\"[^\"]+\",\"exp\":[0-9]+\}" "an active monitor gets a token"
tok4=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' <<<"$out")
h_like "$("$probe" -p "$H_MQTT_PORT" -u m4 -P "$tok4" "pub:$E/monitors/m4/status")" "pub $E/monitors/m4/status ok" \
    "the issued token works at the broker"
h_like "$(ask m4 "$tok4")" "too many requests" "asking again within --min-interval is refused"
h_ok "revoke m4 at the broker" "$ctl" token revoke m4
h_wait_ok "a revoked monitor cannot even reach the token service (within a second)" 5 sh -c \
    "'$probe' -p $H_MQTT_PORT -u m4 -P '$tok4' | grep -q 'connect refused'"
h_like "$(h_log tokend)" "no token for monitor m2: monitor is deleted" "tokend logs refusals"

h_wait_ok "the 60 s token is renewed before it expires" 55 grep -q "^renewed" "${H_LOG[client]}"
exp1=$(sed -n 's/^renewed exp=\([0-9]*\) .*/\1/p' "${H_LOG[client]}" | head -1)
got1=$(sed -n 's/^renewed exp=[0-9]* at=//p' "${H_LOG[client]}" | head -1)
h_num_between "$(( exp1 - got1 ))" 4 6 "the renewed token has tokend's lifetime (from when it arrived)"
h_wait_ok "the client reconnects with the new token" 10 grep -q "^connected 2" "${H_LOG[client]}"
h_wait_ok "and renews it again" 10 sh -c "[ \$(grep -c '^renewed' '${H_LOG[client]}') -ge 2 ]"
h_wait_ok "the second token's exp passes" 10 sh -c "[ \$(date +%s) -gt $exp1 ]"
h_wait_ok "the client is still connected and publishing after that" 10 sh -c \
    "[ \$(grep -c '^connected' '${H_LOG[client]}') -ge 3 ]"
h_stop client
out=$(h_log client)
h_like "$out" "summary ok=[1-9][0-9]* denied=0 renewals=[2-9]" "no publish was refused throughout"
h_unlike "$out" "refused:" "no renewal was refused"
h_stop tokend; h_is "$?" 0 "tokend exits 0 on SIGTERM"
h_like "$(h_log tokend)" "stopped: [0-9]+ tokens issued, [0-9]+ requests refused" "tokend reports at exit"
h_unlike "$(h_log tokend)" "${tok4:0:40}" "tokend never logs a token"
h_done
