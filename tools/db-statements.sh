#!/usr/bin/env bash
# tools/db-statements.sh — what ingest and the scorer ask of MariaDB per 1000 results: a fixed workload (the
# soak's pool: SERVERS servers × MONITORS monitors seeded 7 active + 5 testing, simulated agents publishing RATE
# results/s for DURATION s through mosquitto and broker-auth) with ntpmon-ingest and ntpmon-scorer at their default
# flags, MariaDB with production durability (flush at every commit). Over the load window (from the first result
# to the last one scored) it counts, per daemon connection:
#   - from the general log (log_output=TABLE): Query / Prepare / Execute / Close stmt commands, BEGIN, COMMIT, SET
#     (a bulk UPDATE shows as one Execute per row: the server runs its rows one by one);
#   - from performance_schema.status_by_thread: Questions, Com_admin_commands (pings), Created_tmp_tables,
#     Com_begin, Com_commit;
# connections are told apart by what they run (INTO results → ingest, INTO log_scores → scorer). It also prints
# the scorer's and ingest's RSS at the end, and p50/p99 made → scored. A measuring tool, not a test.
#
#   tools/db-statements.sh [--duration 60] [--rate 900] [--servers 6000] [--monitors 40] [--build DIR]
#                          [--scorer-flag FLAG]… [--keep]
set -u
cd "$(dirname "$0")/.."
DURATION=60 RATE=900 SERVERS=6000 MONITORS=40
SCORER_FLAGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION=$2; shift ;;
        --rate) RATE=$2; shift ;;
        --servers) SERVERS=$2; shift ;;
        --monitors) MONITORS=$2; shift ;;
        --build) export NTPMON_BUILD=$2; shift ;;
        --scorer-flag) SCORER_FLAGS+=("$2"); shift ;;
        --keep) export NTPMON_KEEP=1 ;;
        *) echo "usage: $0 [--duration S] [--rate N] [--servers N] [--monitors N] [--build DIR] [--scorer-flag F]… [--keep]" >&2
           exit 2 ;;
    esac
    shift
done
# the harness and the soak's pool (soak_seed_pool: the same accounts, monitors, servers and pairs) from bench/soak.sh
. bench/soak.sh --duration "$DURATION" --rate "$RATE" --servers "$SERVERS" --monitors "$MONITORS"
export DEPLOYMENT_MODE=dbstat H_DB_NAME=ntpmon_dbstat
declare -A PID TOKEN

H_DB_EXTRA=(--innodb-flush-log-at-trx-commit=1 --innodb-buffer-pool-size=128M --performance-schema=ON
            --log-output=TABLE --general-log=0)
h_start_mariadb >/dev/null
export DATABASE_DSN="ntpmon:ntpmon@tcp(127.0.0.1:$H_DB_PORT)/ntpmon_dbstat"
h_start_broker_auth >/dev/null
"$H_BIN/ntpmonctl" db migrate >/dev/null || { echo "migrate failed" >&2; exit 1; }
soak_seed_pool

for d in ingest scorer; do
    TOKEN[$d]=$(h_token "$d" "" 24h)
    if [ "$d" = scorer ]; then
        h_spawn "$d" env MQTT_TOKEN="${TOKEN[$d]}" "$H_BIN/ntpmon-$d" ${SCORER_FLAGS[@]+"${SCORER_FLAGS[@]}"}
    else
        h_spawn "$d" env MQTT_TOKEN="${TOKEN[$d]}" "$H_BIN/ntpmon-$d"
    fi
    PID[$d]=${H_PID[$d]}
done
for d in ingest scorer; do
    h_wait 60 grep -q "mqtt: connected" "${H_LOG[$d]}" || { echo "$d did not connect" >&2; h_log "$d" >&2; exit 1; }
done
mkdir -p "$H_TMP/tokens"
for i in $(seq 1 "$MONITORS"); do
    name=$(printf 'soak-%03d' "$i")
    h_token monitor "$name" 24h >"$H_TMP/tokens/$name.jwt"
done

# per-thread counters of every connection, as "processlist_id variable value" lines
snapshot() {
    h_sql "SELECT t.processlist_id, s.variable_name, s.variable_value FROM performance_schema.status_by_thread s
           JOIN performance_schema.threads t ON t.thread_id = s.thread_id
           WHERE s.variable_name IN ('Questions', 'Com_admin_commands', 'Created_tmp_tables', 'Com_begin', 'Com_commit',
                                     'Com_stmt_execute', 'Com_stmt_prepare', 'Com_set_option', 'Created_tmp_disk_tables')
             AND t.processlist_id IS NOT NULL" >"$1"
}
# global counters too: COM_PING shows in neither the general log nor status_by_thread, only in the global
# Com_admin_commands (the tool's own mariadb clients do not ping; broker-auth's and the daemons' idle probes do)
gstatus() { h_sql "SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_admin_commands', 'Created_tmp_tables', 'Innodb_data_fsyncs', 'Com_commit', 'Questions')" ; }

count_results() { h_sql "SELECT COUNT(*) FROM results"; }
scored_all() {
    [ "$(h_sql "SELECT COUNT(*) FROM results r WHERE NOT EXISTS
                (SELECT 1 FROM log_scores l WHERE l.result_id = r.id AND l.monitor_key = r.monitor_id)")" = 0 ]
}

snapshot "$H_TMP/before"
gstatus >"$H_TMP/gbefore"
h_sql "TRUNCATE mysql.general_log; SET GLOBAL general_log = 1"
h_spawn soak-agents "$H_BUILD/bench/soak-agents" --mqtt-url "$MQTT_URL" --token-dir "$H_TMP/tokens" \
    --monitors "$MONITORS" --servers "$SERVERS" --rate "$RATE" --duration "${DURATION}s" --drain 120s \
    --ids-out "$H_TMP/made"
h_wait $((DURATION + 150)) bash -c "! kill -0 ${H_PID[soak-agents]} 2>/dev/null"
h_wait 120 scored_all
h_sql "SET GLOBAL general_log = 0"
snapshot "$H_TMP/after"
gstatus >"$H_TMP/gafter"
RSS_SCORER=$(awk '/^VmRSS:/ { print $2 }' "/proc/${PID[scorer]}/status")
RSS_INGEST=$(awk '/^VmRSS:/ { print $2 }' "/proc/${PID[ingest]}/status")
HWM_SCORER=$(awk '/^VmHWM:/ { print $2 }' "/proc/${PID[scorer]}/status")
N=$(count_results)

# which connection is whose: by what it ran
h_sql "SELECT thread_id, CASE WHEN SUM(argument LIKE '%INTO results %') > 0 THEN 'ingest'
                              WHEN SUM(argument LIKE '%INTO log_scores%') > 0 THEN 'scorer' ELSE 'other' END
       FROM mysql.general_log GROUP BY thread_id" >"$H_TMP/who"
h_sql "SELECT thread_id, command_type, COUNT(*),
              SUM(argument LIKE 'START TRANSACTION%' OR argument LIKE 'BEGIN%'), SUM(argument LIKE 'COMMIT%'),
              SUM(argument LIKE 'SET %'), SUM(argument LIKE 'SELECT%' OR argument LIKE 'SHOW%')
       FROM mysql.general_log GROUP BY thread_id, command_type" >"$H_TMP/cmds"

LAT=$(h_sql "SELECT TIMESTAMPDIFF(MICROSECOND, r.ts, l.soak_at) FROM results r
             JOIN log_scores l ON l.result_id = r.id AND l.monitor_key = r.monitor_id" | LC_ALL=C sort -n |
      awk '{ v[NR] = $1 } END { if (!NR) { print "-"; exit }; i = int(NR * .5); j = int(NR * .99); if (i < 1) i = 1; if (j < 1) j = 1;
            printf "p50 %.0f ms, p99 %.0f ms, max %.0f ms", v[i] / 1000, v[j] / 1000, v[NR] / 1000 }')

echo "## database work per 1000 results ($N results stored; $RATE/s for ${DURATION}s; $SERVERS servers × $MONITORS monitors)"
echo
echo "scorer flags: ${SCORER_FLAGS[*]:-(defaults)}; made → scored: $LAT; RSS at the end: scorer $((RSS_SCORER / 1024)) MB" \
     "(peak $((HWM_SCORER / 1024)) MB), ingest $((RSS_INGEST / 1024)) MB"
echo
echo "| daemon | conns | general-log commands | Query | Prepare | Execute | Close stmt | BEGIN | COMMIT | SET | SELECT/SHOW | Questions (P_S) | pings | tmp tables | round trips |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
awk -v n="$N" -v who="$H_TMP/who" -v cmds="$H_TMP/cmds" -v before="$H_TMP/before" -v after="$H_TMP/after" '
    BEGIN {
        while ((getline l < who) > 0) { split(l, f, "\t"); role[f[1]] = f[2] }
        while ((getline l < cmds) > 0) {
            split(l, f, "\t"); r = role[f[1]]; if (r == "") r = "other"
            conns[r "," f[1]] = 1
            all[r] += f[3]; cmd[r, f[2]] += f[3]; begin[r] += f[4]; commit[r] += f[5]; set[r] += f[6]; sel[r] += f[7]
        }
        while ((getline l < before) > 0) { split(l, f, "\t"); b[f[1], f[2]] = f[3] }
        while ((getline l < after) > 0) {
            split(l, f, "\t"); r = role[f[1]]; if (r == "") continue
            d[r, toupper(f[2])] += f[3] - b[f[1], f[2]]
        }
        for (k in conns) { split(k, p, ","); nc[p[1]]++ }
        k = 1000 / (n ? n : 1)
        split("ingest scorer other", roles, " ")
        for (i = 1; i <= 3; i++) {
            r = roles[i]; if (!(r in all)) continue
            # a round trip: every command the client sent that waits for an answer — the server Questions counter (the
            # general log writes one Execute per row of a bulk UPDATE/DELETE, which the server runs row by row
            # inside one COM_STMT_BULK_EXECUTE) — and every ping
            rt = d[r, "QUESTIONS"] + d[r, "COM_ADMIN_COMMANDS"]
            printf "| %s | %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n", r, nc[r],
                all[r] * k, cmd[r, "Query"] * k, cmd[r, "Prepare"] * k, cmd[r, "Execute"] * k, cmd[r, "Close stmt"] * k,
                begin[r] * k, commit[r] * k, set[r] * k, sel[r] * k, d[r, "QUESTIONS"] * k, d[r, "COM_ADMIN_COMMANDS"] * k,
                d[r, "CREATED_TMP_TABLES"] * k, rt * k
        }
    }'
echo
echo "Global over the window: $(paste "$H_TMP/gbefore" "$H_TMP/gafter" | awk -v n="$N" '{ printf "%s %.1f per 1000 results; ", $1, ($4 - $2) * 1000 / n }')"
h_sql "SELECT command_type, LEFT(REGEXP_REPLACE(argument, '\\\\(\\\\?[?,]*\\\\)(,\\\\(\\\\?[?,]*\\\\))*', '(…)'), 110) a, COUNT(*) c
       FROM mysql.general_log GROUP BY command_type, a ORDER BY c DESC LIMIT 25" >"$H_TMP/top"
# bytes per row of every index of the two tables that grow with results (for conf/mariadb/ntpmon.cnf's sizing)
h_sql "ANALYZE TABLE results, log_scores" >/dev/null
echo
echo "| table | rows | index | bytes per row (pages × 16 KiB / rows) |"
echo "|---|---:|---|---:|"
h_sql "SELECT s.table_name, t.n_rows, s.index_name, ROUND(s.stat_value * @@innodb_page_size / t.n_rows)
       FROM mysql.innodb_index_stats s JOIN mysql.innodb_table_stats t USING (database_name, table_name)
       WHERE s.database_name = DATABASE() AND s.table_name IN ('results', 'log_scores') AND s.stat_name = 'size'
       ORDER BY s.table_name, s.index_name" | awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }'
echo
echo "Most frequent commands (whole window):"
echo '```'
cat "$H_TMP/top"
echo '```'
