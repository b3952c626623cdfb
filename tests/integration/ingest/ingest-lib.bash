# ingest-lib.bash — shared by ingest's integration tests (sourced after the harness; not a test itself): the
# fixture rows (an account, monitors pub1..pubN, servers 1..S via ntpmonctl), starting ntpmon-ingest with short
# intervals, running result-publisher processes (the agent's spool contract) and checking that exactly the
# results they made are in the database.

IG_SERVERS=${IG_SERVERS:-10}

# ig_start_broker: mosquitto with the broker-auth plugin; every party connects with its own role token.
# IG_ADMIN_TOKEN lets the tests publish what no monitor could (other monitors' names, bad topics) and watch all.
ig_start_broker() {
    h_start_broker_auth
    IG_ADMIN_TOKEN=$(h_token admin "" 2h)
    IG_INGEST_TOKEN=$(h_token ingest "" 2h)
    [ -n "$IG_ADMIN_TOKEN" ] && [ -n "$IG_INGEST_TOKEN" ] || { echo "# token issue failed"; exit 1; }
}

# ig_fixture N_MONITORS: migrate, one account, monitors pub1..pubN (active), servers 192.0.2.1..S (ids 1..S).
ig_fixture() {
    local n=$1 i
    "$H_BIN/ntpmonctl" db migrate >/dev/null || { echo "# migrate failed"; exit 1; }
    "$H_BIN/ntpmonctl" account add ops >/dev/null
    for i in $(seq 1 "$n"); do
        "$H_BIN/ntpmonctl" monitor add --name "pub$i" --account ops --ip4 "198.51.100.$i" --status active >/dev/null
    done
    for i in $(seq 1 "$IG_SERVERS"); do "$H_BIN/ntpmonctl" server add "192.0.2.$i" --account ops >/dev/null; done
    [ "$(h_sql 'SELECT COUNT(*) FROM servers')" = "$IG_SERVERS" ] || { echo "# fixture servers missing"; exit 1; }
}

# ig_start_ingest NAME [FLAGS…]: starts a worker (client id = NAME) and waits until it is subscribed.
ig_start_ingest() {
    local name=$1; shift
    local before=0
    [ -f "$H_TMP/$name.log" ] && before=$(grep -c 'mqtt: connected' "$H_TMP/$name.log")
    h_spawn "$name" env MQTT_TOKEN="${IG_INGEST_TOKEN:-}" "$H_BIN/ntpmon-ingest" --mqtt-client-id "$name" --summary-interval 2s --flush-interval 20ms \
        --db-backoff-max 1s --cache-refresh 5s "$@"
    h_wait 20 _ig_connected "$name" "$before" || { echo "# $name did not connect"; h_log "$name" | tail -20; return 1; }
}
_ig_connected() { [ "$(grep -c 'mqtt: connected' "$H_TMP/$1.log")" -gt "$2" ]; }

# ig_publish N COUNT_EACH [FLAGS…]: starts publishers pub1..pubN in the background (names pubK).
ig_publish() {
    local n=$1 each=$2 i; shift 2
    for i in $(seq 1 "$n"); do
        h_spawn "pub$i" env MQTT_TOKEN="$(h_token monitor "pub$i" 2h)" "$H_BIN/result-publisher" --monitor "pub$i" --servers "1-$IG_SERVERS" --count "$each" \
            --ids-out "$H_TMP/ids.pub$i" "$@"
    done
}

# ig_wait_publishers N TIMEOUT_S: waits for pub1..pubN to end; passes when each confirmed all it made.
ig_wait_publishers() {
    local n=$1 timeout=$2 i
    for i in $(seq 1 "$n"); do
        h_wait "$timeout" _ig_exited "pub$i"
        h_stop "pub$i"; local rc=$?
        local line; line=$(grep '^monitor=' "$H_TMP/pub$i.log" | tail -1)
        h_is "$rc" 0 "publisher pub$i: every result confirmed ($line)"
    done
}
_ig_exited() { ! h_alive "$1"; }

# ig_sum FIELD N: sums key=value FIELD over the publishers' final lines.
ig_sum() {
    local field=$1 n=$2 i s=0 v
    for i in $(seq 1 "$n"); do
        v=$(grep '^monitor=' "$H_TMP/pub$i.log" | tail -1 | tr ' ' '\n' | sed -n "s/^$field=//p")
        s=$((s + ${v:-0}))
    done
    echo "$s"
}

# ig_check_exact N TOTAL: the results table holds exactly the ids the publishers made, no rejections.
ig_check_exact() {
    local n=$1 total=$2
    h_is "$(ig_sum made "$n")" "$total" "publishers made $total results"
    h_is "$(ig_sum confirmed "$n")" "$total" "all $total confirmed as stored"
    h_is "$(h_sql 'SELECT COUNT(*) FROM results')" "$total" "exactly $total rows in results"
    cat "$H_TMP"/ids.pub* | LC_ALL=C sort >"$H_TMP/ids.made"
    h_sql 'SELECT id FROM results' | LC_ALL=C sort >"$H_TMP/ids.stored"
    if cmp -s "$H_TMP/ids.made" "$H_TMP/ids.stored"; then h_pass "the stored ids are exactly the ids made"
    else h_fail "the stored ids are exactly the ids made" "$(diff "$H_TMP/ids.made" "$H_TMP/ids.stored" | head -5)"; fi
    h_is "$(h_sql 'SELECT COUNT(*) FROM results_rejected')" 0 "nothing rejected"
}
