#!/usr/bin/env bash
# bench/scorer-guard.sh — what the mass-outage guard costs the scorer, guard on vs off in the same run, on the
# same streams (tests/tools/guard-scenario.py: zone au with 40 % of its servers cut off from two of three monitors
# for 45 min, and a calm stream with nothing failing): `replay` on one core (user+sys CPU, best of three), and the
# service through the broker and MariaDB (first publish → last commit) where the guard reads the zone from the
# database on every would-be departure.
set -u
cd "$(dirname "$0")/.."
export NTPMON_BUILD=${NTPMON_BUILD:-build}
. tests/lib/harness.sh >/dev/null
B=$H_BIN
AU=${BENCH_AU:-600}; DE=${BENCH_DE:-400}
gen=tests/tools/guard-scenario.py
/usr/bin/python3 $gen cut "$AU" "$DE" --zones "$H_TMP/zones.txt" >"$H_TMP/cut.jsonl"
/usr/bin/python3 $gen calm "$AU" "$DE" >"$H_TMP/calm.jsonl"
n=$(wc -l <"$H_TMP/cut.jsonl")
. bench/lib.bash
cpu() { bench_cpu "$@"; }
rate() { bench_rate "$@"; }
per() { awk -v n="$1" -v on="$2" -v off="$3" 'BEGIN { printf "%.2f", (on - off) / n * 1e6 }'; }
echo "## scorer: the mass-outage guard's cost (guard on vs off, same run)"
echo
echo "$n results per stream ($((AU + DE)) servers: $AU in zone au, $DE in de; 3 monitors; one result per monitor and"
echo "server every 540 s for 15 h); load average at start: $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores (shared machine)."
echo
echo "| replay --csv, one core | guard off | guard on (--zones) | cost per result | holds |"
echo "|---|---|---|---|---|"
for s in calm cut; do
    off=$(cpu "$H_TMP/$s.jsonl" "$B/ntpmon-scorer" replay --csv)
    on=$(cpu "$H_TMP/$s.jsonl" "$B/ntpmon-scorer" replay --csv --zones "$H_TMP/zones.txt")
    holds=$("$B/ntpmon-scorer" replay --zones "$H_TMP/zones.txt" <"$H_TMP/$s.jsonl" 2>&1 >/dev/null | sed -n 's/.*guard held \([0-9]*\) times.*/\1/p')
    echo "| $s | $(rate "$n" "$off")/s | $(rate "$n" "$on")/s | $(per "$n" "$on" "$off") µs | $holds |"
done

# ---- the service ----
h_start_mariadb >/dev/null
export DEPLOYMENT_MODE=bench
h_start_broker_auth >/dev/null
FEED_TOKEN=$(h_token admin "" 1h); SCORER_TOKEN=$(h_token scorer)
"$B/ntpmonctl" db migrate >/dev/null
h_sql "INSERT INTO accounts (name) VALUES ('bench');
       INSERT INTO monitors (id, name, account_id, status, ip4) VALUES (1, 'lax1', 1, 'active', '203.0.16.1'),
         (2, 'lax2', 1, 'active', '203.0.32.1'), (3, 'zrh1', 1, 'active', '203.0.48.1');
       INSERT INTO servers (id, ip, ip_version, account_id, zone)
         SELECT seq, CONCAT('10.', seq DIV 65536, '.', (seq DIV 256) MOD 256, '.', seq MOD 256), 'v4', 1,
                IF(seq <= $AU, 'au', 'de') FROM seq_1_to_$((AU + DE));
       INSERT INTO server_scores (monitor_id, server_id, status) SELECT m.id, s.id, 'active' FROM monitors m, servers s;"
now=$(date +%s)
/usr/bin/python3 $gen cut "$AU" "$DE" --start $((now - 15 * 3600 - 600)) >"$H_TMP/svc.jsonl"
/usr/bin/python3 tests/integration/scorer/stream.py tsv "$H_TMP/svc.jsonl" lax1=1,lax2=2,zrh1=3 >"$H_TMP/svc.tsv"
# the rows ingest would store (the guard reads who is at risk from them); received "tomorrow", so that the
# scorer's start-up scan leaves them to the stream and each run measures the MQTT path
mariadb --no-defaults -S "$H_DB_SOCK" -uroot ntpmon_test --local-infile=1 -e "LOAD DATA LOCAL INFILE '$H_TMP/svc.tsv'
    INTO TABLE results (id, monitor_id, server_id, ts, ip, status, \`offset\`, rtt, stratum, leap, refid, error, samples, agent)
    SET received_at = UTC_TIMESTAMP(6) + INTERVAL 1 DAY"
N=$(wc -l <"$H_TMP/svc.jsonl")
service() { # GUARD(true|false) → results/s and the holds
    h_sql "DELETE FROM log_scores; UPDATE server_scores SET score_raw = 0, score_ts = NULL;
           UPDATE servers SET score_raw = 0, score_ts = NULL, in_pool = 0, held_since = NULL, held_reason = NULL,
           pool_left_at = NULL, hold_recovered_at = NULL; DELETE FROM guard_zones;"
    h_spawn "scorer$1" env MQTT_TOKEN="$SCORER_TOKEN" "$B/ntpmon-scorer" -e bench --max-age 16h --rescan-interval 0 \
        --guard-setting "enabled=$1" --metrics-listen "127.0.0.1:$2"
    h_wait 20 grep -q "connected to the broker" "${H_LOG[scorer$1]}"
    local t0 t1
    t0=$(date +%s%N)
    MQTT_TOKEN=$FEED_TOKEN "$B/result-feed" "$MQTT_URL" --env bench --window 1000 --input "$H_TMP/svc.jsonl" >/dev/null
    h_wait 600 bash -c "[ \$(mariadb --no-defaults -S '$H_DB_SOCK' -uroot -N -B ntpmon_test -e 'SELECT COUNT(*) FROM log_scores WHERE monitor_id IS NOT NULL') -ge $N ]"
    t1=$(date +%s%N)
    curl -s "http://127.0.0.1:$2/metrics" | sed -n 's/^ntpmon_scorer_guard_decisions_total{verdict="held"} //p' >"$H_TMP/holds.$1"
    h_stop "scorer$1"
    awk -v n="$N" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }'
}
off_rate=$(service false "$(h_free_port)")
on_rate=$(service true "$(h_free_port)")
holds=$(cat "$H_TMP/holds.true")
[ -n "${BENCH_KEEP_LOGS:-}" ] && cp "$H_TMP"/scorer*.log "$BENCH_KEEP_LOGS"/
echo
echo "| service (broker + MariaDB) | guard off | guard on | cost per result | holds |"
echo "|---|---|---|---|---|"
echo "| cut, $N results | $off_rate/s | $on_rate/s | $(awk -v a="$on_rate" -v b="$off_rate" 'BEGIN { printf "%.1f µs", (1e6 / a - 1e6 / b) }') | $holds |"
echo
echo "Replay: results per CPU-second of one process, best of three. Service: wall time from the first publish to the last"
echo "commit, one run each; the guard's database reads happen only when a server of a zone would leave the pool or is held."
