#!/usr/bin/env bash
# bench/scorer-daemon.sh — ntpmon-scorer with a real broker and database: sustained results/s (publish of the
# first result → the last one committed) and the latency from a result's publish to its score's publish, beside
# the broker's own QoS 1 ceiling (one publisher → one subscriber, the same messages) measured in the same run.
# Uses the test harness to start mariadbd and mosquitto on free loopback ports (stopped on exit).
set -u
cd "$(dirname "$0")/.."
export NTPMON_BUILD=${NTPMON_BUILD:-build}
. tests/lib/harness.sh >/dev/null
B=$H_BIN
SERVERS=${BENCH_SERVERS:-1000}; ROUNDS=${BENCH_ROUNDS:-8}; MONITORS=7
h_start_mariadb >/dev/null
export DEPLOYMENT_MODE=bench       # topics and tokens of the env "bench"
h_start_broker_auth >/dev/null   # the production broker: the auth plugin, every party with its role's token
FEED_TOKEN=$(h_token admin "" 1h); SINK_TOKEN=$(h_token watcher); SCORER_TOKEN=$(h_token scorer)
"$B/ntpmonctl" db migrate >/dev/null
# 1000 servers and 7 active monitors straight into the tables (ntpmonctl adds one at a time)
h_sql "INSERT INTO accounts (name) VALUES ('bench');
       INSERT INTO monitors (name, account_id, status, ip4)
         SELECT CONCAT('mon-00', seq), 1, 'active', CONCAT('203.0.113.', seq + 1) FROM seq_0_to_$((MONITORS - 1));
       INSERT INTO servers (id, ip, ip_version, account_id)
         SELECT seq, CONCAT('10.', seq DIV 65536, '.', (seq DIV 256) MOD 256, '.', seq MOD 256), 'v4', 1
         FROM seq_1_to_$SERVERS;
       INSERT INTO server_scores (monitor_id, server_id, status) SELECT m.id, s.id, 'active' FROM monitors m, servers s;"
N=$((SERVERS * MONITORS * ROUNDS))
now=$(date +%s)
/usr/bin/python3 bench/scorer-gen.py "$SERVERS" "$MONITORS" "$ROUNDS" $((now - 3600)) 3 >"$H_TMP/a.jsonl"
/usr/bin/python3 bench/scorer-gen.py "$SERVERS" "$MONITORS" "$ROUNDS" $((now - 1800)) 3 >"$H_TMP/b.jsonl"
feed() { MQTT_TOKEN=$FEED_TOKEN "$B/result-feed" "$MQTT_URL" --env bench --stamp --window 1000 --input "$1"; }
sink() { # FILTER N → the sink's summary line; waits until it has subscribed
    h_spawn "sink$3" env MQTT_TOKEN="$SINK_TOKEN" "$H_BUILD/bench/scorer-sink" "$MQTT_URL" "$1" "$2" 300
    h_wait 10 grep -q ready "${H_LOG[sink$3]}"
}
sink_result() { h_wait 300 bash -c "! kill -0 ${H_PID[sink$1]} 2>/dev/null"; grep received "${H_LOG[sink$1]}"; }
field() { sed -n "s/.*$1 \([0-9.]*\).*/\1/p" <<<"$2"; }
scored() { h_sql "SELECT COUNT(*) FROM log_scores WHERE monitor_id IS NOT NULL"; }

# 1. the broker alone: N results, publisher → subscriber, QoS 1
sink 'ntpmon/bench/results/#' "$N" 1
feed "$H_TMP/a.jsonl" >/dev/null
ceiling=$(sink_result 1)

# 2. the scorer with the pool's rules: results/s until the last one is committed
h_spawn scorer env MQTT_TOKEN="$SCORER_TOKEN" ${BENCH_WRAP:-} "$B/ntpmon-scorer" -e bench
h_wait 20 grep -q "connected to the broker" "${H_LOG[scorer]}"
t0=$(date +%s%N)
feed "$H_TMP/a.jsonl" >/dev/null
h_wait 300 bash -c "[ \$(mariadb --no-defaults -S '$H_DB_SOCK' -uroot -N -B ntpmon_test -e 'SELECT COUNT(*) FROM log_scores WHERE monitor_id IS NOT NULL') -ge $N ]"
t1=$(date +%s%N)
rows=$(scored)
recorded=$(h_sql "SELECT COUNT(*) FROM log_scores WHERE monitor_id IS NULL")
pool_rate=$(awk -v n="$rows" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
h_stop scorer

# 3. worst case for latency: every overall score recorded and published (a log row and a message per result)
sink 'ntpmon/bench/scores/#' "$N" 2
h_spawn scorer2 env MQTT_TOKEN="$SCORER_TOKEN" "$B/ntpmon-scorer" -e bench --record-same-interval 0 --record-close-interval 0
h_wait 20 grep -q "connected to the broker" "${H_LOG[scorer2]}"
feed "$H_TMP/b.jsonl" >/dev/null
every=$(sink_result 2)

# 4. latency below saturation: the same, offered at a steady rate
RATE=${BENCH_RATE:-2000}
/usr/bin/python3 bench/scorer-gen.py "$SERVERS" "$MONITORS" 3 $((now - 900)) 3 >"$H_TMP/c.jsonl"
NC=$(wc -l <"$H_TMP/c.jsonl")
sink 'ntpmon/bench/scores/#' "$NC" 3
MQTT_TOKEN=$FEED_TOKEN "$B/result-feed" "$MQTT_URL" --env bench --stamp --window 1000 --rate "$RATE" --input "$H_TMP/c.jsonl" >/dev/null
steady=$(sink_result 3)
h_stop scorer2

c_rate=$(sed -n 's/.*: \([0-9]*\)\/s.*/\1/p' <<<"$ceiling")
e_rate=$(sed -n 's/.*: \([0-9]*\)\/s.*/\1/p' <<<"$every")
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", 100 * a / b }'; }
echo "## scorer: service throughput and latency (real broker and database)"
echo
echo "$N results per run ($SERVERS servers × $MONITORS monitors × $ROUNDS rounds, 3 samples each), QoS 1 through mosquitto with"
echo "the broker-auth plugin (each party its role's token), published as fast as a window of 1000 unacknowledged"
echo "messages allows; MariaDB $(mariadbd --version | sed 's/.*Ver \([^ ]*\).*/\1/') over TCP"
echo "(innodb_flush_log_at_trx_commit=2, as the test harness starts it); load average at start: $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores (shared machine)."
echo
echo "| run | results/s | share of the broker ceiling | latency p50 / p99 / max (ms) | notes |"
echo "|---|---|---|---|---|"
echo "| broker alone: publisher → subscriber | $c_rate | 100 % | $(field p50 "$ceiling") / $(field p99 "$ceiling") / $(field max "$ceiling") | the ceiling |"
echo "| scorer, pool rules | $pool_rate | $(pct "$pool_rate" "$c_rate") | – | first publish → last commit; $recorded overall scores recorded |"
echo "| scorer, every overall score recorded | $e_rate | $(pct "$e_rate" "$c_rate") | $(field p50 "$every") / $(field p99 "$every") / $(field max "$every") | saturated: the latency is the queue |"
echo "| … offered at $RATE/s | $(sed -n 's/.*: \([0-9]*\)\/s.*/\1/p' <<<"$steady") | – | $(field p50 "$steady") / $(field p99 "$steady") / $(field max "$steady") | result publish → its score message received ($NC results) |"
echo
echo "Target: the service at ≥ 50 % of the broker's QoS 1 ceiling."
