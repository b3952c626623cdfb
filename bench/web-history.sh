#!/usr/bin/env bash
# bench/web-history.sh — ntpmon-web's score history of 10 000 rows (GET …/json and …/log with limit=10000, monitor=*):
# wall time per request (curl), beside `ntpmonctl log` printing the same CSV and the mariadb client running the same
# query (the database's own floor), each a fresh process, measured in the same run on the same rows.
set -u
cd "$(dirname "$0")/.."
export NTPMON_BUILD=${NTPMON_BUILD:-build}
. tests/lib/harness.sh >/dev/null
B=$H_BIN
ROWS=${BENCH_ROWS:-10000}; RUNS=${BENCH_RUNS:-15}
h_start_mariadb >/dev/null
export DEPLOYMENT_MODE=bench
h_start_broker_auth >/dev/null
"$B/ntpmonctl" db migrate >/dev/null
# a server with 3 monitors and ROWS log rows (each result's row and every third an overall row), as the scorer writes
h_sql "INSERT INTO accounts (name) VALUES ('bench');
       INSERT INTO monitors (name, account_id, status, ip4) VALUES ('ams1', 1, 'active', '192.0.2.1'),
         ('lax1', 1, 'active', '192.0.2.2'), ('syd1', 1, 'active', '192.0.2.3');
       INSERT INTO servers (id, ip, ip_version, account_id) VALUES (1, '198.18.0.1', 'v4', 1);
       INSERT INTO server_scores (monitor_id, server_id, status, score_raw, score_ts)
         SELECT id, 1, 'active', 19.5, NOW() FROM monitors;
       INSERT INTO log_scores (monitor_id, server_id, ts, score, step, \`offset\`, rtt, result_id, attributes)
         SELECT IF(seq % 4 = 3, NULL, seq % 4 + 1), 1, NOW(6) - INTERVAL ($ROWS - seq) * 2 SECOND,
                20 - 20 * POW(0.95, seq / 4), 1, IF(seq % 4 = 3, NULL, (seq % 97) * 0.0000131),
                IF(seq % 4 = 3, NULL, 12000 + seq % 500), CONCAT('01JBENCH', LPAD(seq, 18, '0')),
                '{\"leap\":0,\"error\":\"\",\"stratum\":2,\"status\":\"active\"}'
         FROM seq_0_to_$((ROWS - 1))"
PORT=$(h_free_port tcp)
h_spawn web env MQTT_TOKEN="$(h_token web)" "$B/ntpmon-web" -e bench --listen "127.0.0.1:$PORT" --api-rate 100000 --api-burst 100000
h_wait 10 h_port_open_tcp "$PORT"
URL="http://127.0.0.1:$PORT/api/server/scores/1"
curl -s "$URL/json?limit=10" >/dev/null # the first job connects to the database
# time_ms CMD… → p50 and p99 of RUNS wall times in ms
time_ms() {
    for i in $(seq 1 "$RUNS"); do
        local t0=$(date +%s%N); "$@" >/dev/null; echo $(( ($(date +%s%N) - t0) / 1000 ))
    done | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f %.1f", v[int(NR * .5 + .5)] / 1000, v[NR] / 1000 }'
}
json=$(time_ms curl -s "$URL/json?monitor=*&limit=10000")
csv=$(time_ms curl -s "$URL/log?monitor=*&limit=10000")
ctl=$(time_ms "$B/ntpmonctl" log 1 --monitor '*' --limit 10000)
db=$(time_ms mariadb --no-defaults -h 127.0.0.1 -P "$H_DB_PORT" -untpmon -pntpmon ntpmon_test -B -e \
    "SELECT l.ts, l.offset, l.step, l.score, IFNULL(l.monitor_id, 0), IFNULL(m.name, ''), l.rtt,
            IFNULL(JSON_VALUE(l.attributes, '\$.leap'), 0), IFNULL(JSON_VALUE(l.attributes, '\$.error'), '')
     FROM log_scores l LEFT JOIN monitors m ON m.id = l.monitor_id WHERE l.server_id = 1 ORDER BY l.ts DESC, l.id DESC LIMIT 10000")
rows_json=$(curl -s "$URL/json?monitor=*&limit=10000" | jq '.history | length')
bytes_json=$(curl -s "$URL/json?monitor=*&limit=10000" | wc -c)
bytes_csv=$(curl -s "$URL/log?monitor=*&limit=10000" | wc -c)
same=$(cmp -s <(curl -s "$URL/log?monitor=*&limit=10000") <("$B/ntpmonctl" log 1 --monitor '*' --limit 10000) && echo yes || echo NO)
echo "## ntpmon-web: score history of 10 000 rows"
echo
echo "One server with $ROWS log_scores rows (3 monitors and the overall score); each figure is the wall time of a fresh"
echo "process (curl, ntpmonctl, mariadb) over $RUNS runs, p50 / max; MariaDB over TCP on loopback; load average at start:"
echo "$(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores."
echo
echo "| request | rows | bytes | p50 / max |"
echo "|---|---|---|---|"
echo "| \`GET …/json?monitor=*&limit=10000\` | $rows_json | $bytes_json | $(awk '{print $1 " / " $2}' <<<"$json") ms |"
echo "| \`GET …/log?monitor=*&limit=10000\` (CSV) | 10000 | $bytes_csv | $(awk '{print $1 " / " $2}' <<<"$csv") ms |"
echo "| \`ntpmonctl log --monitor '*' --limit 10000\` (the same CSV: identical bytes: $same) | 10000 | $bytes_csv | $(awk '{print $1 " / " $2}' <<<"$ctl") ms |"
echo "| mariadb client, the same query (the floor) | 10000 | — | $(awk '{print $1 " / " $2}' <<<"$db") ms |"
