#!/usr/bin/env bash
# ntpmon-tokend stops cleanly on SIGINT as on SIGTERM (issue 19): log, flush, close, exit 0 — also when started from
# a script in the background (the shell hands it SIGINT ignored), and also when the signal comes during start-up,
# before the event loop runs (here: while tokend waits to read its token from a FIFO).
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
h_start_mariadb
h_start_broker_auth
h_ok "migrate" "$H_BIN/ntpmonctl" db migrate

stopped() { ! kill -0 "${H_PID[$1]}" 2>/dev/null; }
check_clean_stop() { # NAME SIG
    h_wait_ok "SIG$2 stops tokend ($1)" 15 stopped "$1"
    local rc=0; h_stop "$1" KILL || rc=$?
    h_is "$rc" 0 "…with exit status 0 ($1)"
    h_like "$(h_log "$1")" "SIG$2: stopping.*stopped \(exit 0\)" "…after its clean shutdown through the frame ($1)"
}

for sig in INT TERM; do
    # as a script without job control starts a background command: SIGINT and SIGQUIT ignored (bash does this)
    h_spawn "run-$sig" env MQTT_TOKEN="$(h_token tokens)" sh -c "trap '' INT QUIT; exec '$H_BIN/ntpmon-tokend'"
    h_wait_ok "tokend connects (for SIG$sig)" 15 grep -q "connected to the broker" "${H_LOG[run-$sig]}"
    kill -s "$sig" "${H_PID[run-$sig]}"
    check_clean_stop "run-$sig" "$sig"

    # during start-up: tokend blocks opening its token file (a FIFO) until we write the token
    mkfifo "$H_TMP/token-$sig"
    h_spawn "early-$sig" sh -c "trap '' INT QUIT; exec '$H_BIN/ntpmon-tokend' --mqtt-token-file '$H_TMP/token-$sig'"
    # in main() already (past the exec and the sanitizer's start), blocked opening the FIFO
    waiting() {
        [ "$(readlink "/proc/${H_PID[early-$sig]}/exe")" = "$H_BIN/ntpmon-tokend" ] &&
            [ "$(cat "/proc/${H_PID[early-$sig]}/wchan" 2>/dev/null)" = wait_for_partner ]
    }
    h_wait_ok "tokend started and waits for its token (for SIG$sig)" 20 waiting
    kill -s "$sig" "${H_PID[early-$sig]}"
    tok=$(h_token tokens)
    timeout 10 sh -c "printf '%s\n' '$tok' >'$H_TMP/token-$sig'" # bounded: a tokend killed early reads nothing
    check_clean_stop "early-$sig" "$sig"
done
h_done
