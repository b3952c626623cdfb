# tests/integration/selector/common.bash — helpers for the selector's integration tests (sourced after the
# harness): a broker with the auth plugin and the tokens each party needs, publishing results as agents would
# (mosquitto_pub, QoS 1, each monitor with its own token), reading the retained assignments, and starting
# ntpmon-selector (role selector) with short review intervals.

SEL_ENV=test
# Shrunk timings: every server reviewed about once a second, pairs rescanned every second.
SEL_FAST='"review_after_change_s":1,"review_after_nochange_s":1,"review_after_error_s":1,"rescan_s":1,"backoff_min_s":1,"backoff_max_s":1,"new_pair_review_delay_s":0'

ctl() { "$H_BIN/ntpmonctl" "$@"; }

# sel_start_broker — mosquitto with broker-auth; SEL_ADMIN (observer: reads assignments, publishes bad input; the
# admin role lives 5 min, longer than any of these tests) and SEL_WATCH (status/selection) tokens.
sel_start_broker() {
    h_start_broker_auth
    SEL_ADMIN=$(h_token admin)
    SEL_WATCH=$(h_token watcher)
    SEL_TOKEN=$(h_token selector)
    [ -n "$SEL_ADMIN" ] && [ -n "$SEL_WATCH" ] && [ -n "$SEL_TOKEN" ] || { echo "# token issue failed"; exit 1; }
}
# sel_fixture N — the schema, an account "pool" for servers, and monitors m1..mN (active), each in its own account
# and its own /20 (203.0.16i.9), so no constraint holds between them.
sel_fixture() {
    ctl db migrate >/dev/null
    ctl account add pool >/dev/null
    local i
    for i in $(seq 1 "$1"); do
        ctl account add "acct$i" >/dev/null
        ctl monitor add --name "m$i" --account "acct$i" --ip4 "203.0.$((16 * i)).9" --status active >/dev/null
    done
}
# sel_pub ARGS… — mosquitto_pub as admin.
sel_pub() { mosquitto_pub -h 127.0.0.1 -p "$H_MQTT_PORT" -u admin -P "$SEL_ADMIN" -q 1 "$@"; }
# sel_pub_as MONITOR ARGS… — mosquitto_pub with the monitor's own token (what its agent may publish).
sel_pub_as() {
    local mon=$1; shift
    mosquitto_pub -h 127.0.0.1 -p "$H_MQTT_PORT" -u "$mon" -P "$(h_token monitor "$mon")" -q 1 -i "$mon:pub-$RANDOM" "$@"
}

# sel_gen MONITOR SERVER_ID IP COUNT [ERROR] — prints COUNT result messages of MONITOR for the server, one per
# line, 30 s apart and ending now; good ones (offset 1 ms, rtt 20 ms) unless ERROR is given (e.g. timeout).
sel_gen() {
    /usr/bin/python3 - "$@" <<'PY'
import json, os, sys, time
mon, sid, ip, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
err = sys.argv[5] if len(sys.argv) > 5 else ""
alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
def ulid(ms):
    v = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(alphabet[(v >> (5 * (25 - i))) & 31] for i in range(26))
def stamp(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)
now = time.time()
for i in range(n):
    t = now - (n - 1 - i) * 30
    sample = {"ts": stamp(t), "stratum": 2, "leap": 0, "refid": "GPS", "error": err}
    r = {"v": 1, "id": ulid(int(t * 1000)), "monitor": mon, "server_id": sid, "ip": ip, "ts": stamp(t),
         "stratum": 2, "leap": 0, "refid": "GPS", "error": err, "agent": "test/1"}
    if not err:
        sample.update(offset=0.001, rtt=0.02)
        r.update(offset=0.001, rtt=0.02)
    r["samples"] = [sample]
    print(json.dumps(r))
PY
}
# sel_results MONITOR SERVER_ID IP COUNT [ERROR] — publishes them on the monitor's result topic (QoS 1).
sel_results() {
    sel_gen "$@" | sel_pub_as "$1" -t "ntpmon/$SEL_ENV/results/$2/$1" -l
}

# sel_log_scores SERVER_ID MONITOR COUNT [STEP] [RTT_US] — log_scores rows as the scorer writes them (the scorer
# has not landed: this is its fixture), 30 s apart ending now, each with its own result id.
sel_log_scores() {
    local sid=$1 mon=$2 n=$3 step=${4:-1} rtt=${5:-20000}
    h_sql "INSERT INTO log_scores (monitor_id, server_id, ts, score, step, \`offset\`, rtt, result_id, attributes)
           SELECT m.id, $sid, UTC_TIMESTAMP(6) - INTERVAL (s.seq - 1) * 30 SECOND, 10, $step, 0.001, $rtt,
                  CONCAT('01LOGSCORE', LPAD(m.id, 4, '0'), LPAD($sid, 6, '0'), LPAD(s.seq, 6, '0')),
                  '{\"leap\":0,\"error\":\"\",\"stratum\":2,\"status\":\"active\"}'
           FROM monitors m JOIN seq_1_to_$n s WHERE m.name = '$mon'"
}

# sel_lines_to_sql SERVER_ID MONITOR — turns result lines (stdin) into the log_scores rows the scorer would write
# for them: same result id, same time, step 1 for good results and −5 for no response, rtt in µs.
sel_lines_to_sql() {
    local prog
    prog=$(cat <<'PY'
import json, sys
sid, mon = sys.argv[1], sys.argv[2]
rows = []
for line in sys.stdin:
    r = json.loads(line)
    ts = r["ts"].replace("T", " ").rstrip("Z")
    bad = r["error"] == "timeout" or r["error"].startswith("network:")
    step, rtt = ("-5", "NULL") if bad else ("1", str(int(round(r["rtt"] * 1e6))))
    rows.append("((SELECT id FROM monitors WHERE name = '%s'), %s, '%s', 1, %s, %s, '%s')" % (mon, sid, ts, step, rtt, r["id"]))
print("INSERT INTO log_scores (monitor_id, server_id, ts, score, step, rtt, result_id) VALUES " + ", ".join(rows))
PY
)
    /usr/bin/python3 -c "$prog" "$1" "$2"
}

# sel_raw TOPIC_TAIL PAYLOAD — publishes anything under ntpmon/<env>/ (bad input), as admin.
sel_raw() { sel_pub -t "ntpmon/$SEL_ENV/$1" -m "$2"; }

# sel_assign MONITOR — the retained assignment of a monitor (empty when none).
sel_assign() {
    mosquitto_sub -h 127.0.0.1 -p "$H_MQTT_PORT" -u admin -P "$SEL_ADMIN" -t "ntpmon/$SEL_ENV/monitors/$1/assign" -C 1 -W 10 2>/dev/null
}

# sel_assign_field MONITOR SERVER_ID FIELD — that server's status/interval_s in the monitor's assignment, or "none".
sel_assign_field() {
    sel_assign "$1" | /usr/bin/python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    print("none"); sys.exit()
print(next((str(s[sys.argv[2]]) for s in d["servers"] if s["id"] == int(sys.argv[1])), "none"))' "$2" "$3"
}
sel_assign_is() { [ "$(sel_assign_field "$1" "$2" status)" = "$3" ]; }
# sel_assign_seq MONITOR; sel_assign_count MONITOR
sel_assign_seq() { sel_assign "$1" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["seq"])' 2>/dev/null; }
sel_assign_count() { sel_assign "$1" | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["servers"]))' 2>/dev/null; }

# sel_status SERVER_ID MONITOR — server_scores.status of a pair.
sel_status() {
    h_sql "SELECT ss.status FROM server_scores ss JOIN monitors m ON m.id = ss.monitor_id
           WHERE ss.server_id = $1 AND m.name = '$2'"
}
sel_status_is() { [ "$(sel_status "$1" "$2")" = "$3" ]; }
sel_count_status() { h_sql "SELECT COUNT(*) FROM server_scores WHERE server_id = $1 AND status = '$2'"; }
# sel_count_is SERVER_ID STATUS N
sel_count_is() { [ "$(sel_count_status "$1" "$2")" = "$3" ]; }

# sel_start [NAME [FLAGS…]] — runs the daemon in the background with its token (log in $H_TMP/NAME.log).
sel_start() {
    local name=${1:-selector}
    [ $# -gt 0 ] && shift
    h_spawn "$name" env MQTT_TOKEN="$SEL_TOKEN" "$H_BIN/ntpmon-selector" -e "$SEL_ENV" "$@" run
    h_wait 20 grep -q "started:" "$H_TMP/$name.log" || { h_fail "selector started"; h_log "$name"; }
}

# sel_metric PORT NAME_AND_LABELS — a value from the daemon's /metrics (empty when absent).
sel_metric() {
    curl -s --max-time 2 "http://127.0.0.1:$1/metrics" | awk -v k="$2" 'index($0, k " ") == 1 { print $NF }'
}
sel_metric_is() { [ "$(sel_metric "$1" "$2")" = "$3" ]; }

# sel_selector ARGS… — the selector's commands (once, simulate) with its token.
sel_selector() { MQTT_TOKEN="$SEL_TOKEN" "$H_BIN/ntpmon-selector" -e "$SEL_ENV" "$@"; }

# sel_watch_selection — records status/selection messages to $H_TMP/selection.log.
sel_watch_selection() {
    h_spawn selection-watch mosquitto_sub -h 127.0.0.1 -p "$H_MQTT_PORT" -u "watch-$SEL_ENV" -P "$SEL_WATCH" \
        -t "ntpmon/$SEL_ENV/status/selection/#" -v
}
