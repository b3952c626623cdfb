#!/usr/bin/env bash
# bench/soak.sh — the whole pipeline at pool scale for a long while: MariaDB (production durability: flush at
# every commit, the default 128 MB buffer pool), mosquitto with the broker-auth plugin, ntpmon-ingest,
# ntpmon-scorer and ntpmon-selector with their role tokens and default flags, and simulated agents
# (bench/soak-agents.c: one MQTT session and token per monitor, results published as the agent does, kept until
# `stored` confirms them). Default: 10× the NTP pool's load — 6 000 servers, 40 monitors, 900 results/s — for
# 10 minutes. It prints, as a markdown section: CPU seconds and RSS of every daemon (and mosquitto, mariadbd) at
# the start and the end of the load and every minute between (a leak shows as growth), latency probe made →
# stored (results.received_at) and → scored (the log row's insert time) p50/p99/max, and results made, stored,
# scored, lost and doubled — counted by ULID (lost and doubled must be 0).
#
#   bench/soak.sh [--duration 600] [--rate 900] [--servers 6000] [--monitors 40] [--build DIR] [--keep]
#
# Built to be extended: every phase is a function — soak_start_servers, soak_seed_pool, soak_seed_history
# (INSERT … SELECT of past log_scores rows), soak_before_daemons (a hook), soak_start_daemons, soak_sample,
# soak_run_load, soak_count, soak_latency — and the run with its report is soak_main, called only when this file
# is run: bench/scale.sh sources it (with the same flags) for its phases. The log_scores column soak_at (insert
# time) exists only in this benchmark's scratch database. Note: the harness sets DEPLOYMENT_MODE to its own env
# (test) when the servers start; every token and topic uses that.
# bench-timeout: 2400
set -u
cd "$(dirname "$0")/.."
DURATION=${SOAK_DURATION:-600}
RATE=${SOAK_RATE:-900}
SERVERS=${SOAK_SERVERS:-6000}
MONITORS=${SOAK_MONITORS:-40}
HISTORY_MIN=${SOAK_HISTORY_MIN:-0}
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION=$2; shift ;;
        --rate) RATE=$2; shift ;;
        --servers) SERVERS=$2; shift ;;
        --monitors) MONITORS=$2; shift ;;
        --history-minutes) HISTORY_MIN=$2; shift ;;
        --build) export NTPMON_BUILD=$2; shift ;;
        --keep) export NTPMON_KEEP=1 ;;
        *) echo "usage: $0 [--duration S] [--rate N] [--servers N] [--monitors N] [--history-minutes M] [--build DIR] [--keep]" >&2
           exit 2 ;;
    esac
    shift
done
[ "$MONITORS" -ge 12 ] || { echo "soak: --monitors must be at least 12 (7 active + 5 testing per server)" >&2; exit 2; }
. tests/lib/harness.sh >/dev/null
export DEPLOYMENT_MODE=soak H_DB_NAME=ntpmon_soak
E=ntpmon/soak
TICK=$(getconf CLK_TCK)
declare -A SOAK_PID SOAK_TOKEN SOAK_EXEC

# ---- phases ----

soak_start_servers() {
    # production durability and MariaDB's default pool, not the test harness's shortcuts
    H_DB_EXTRA=(--innodb-flush-log-at-trx-commit=1 --innodb-buffer-pool-size=128M)
    h_start_mariadb >/dev/null
    export DATABASE_DSN="ntpmon:ntpmon@tcp(127.0.0.1:$H_DB_PORT)/ntpmon_soak"
    h_start_broker_auth >/dev/null
    "$H_BIN/ntpmonctl" db migrate >/dev/null || { echo "soak: migrate failed" >&2; exit 1; }
    SOAK_PID[mariadbd]=${H_PID[mariadb]}
    SOAK_PID[mosquitto]=${H_PID[mosquitto]}
}

# The pool: one operators' account for the servers, each monitor in its own account and /20, every pair seeded
# as a steady pool has it — per server 7 active, 5 testing, the rest candidates (the formula soak-agents uses for
# the status its results carry) — and the servers' reviews spread over the selector's 20 minutes.
soak_seed_pool() {
    h_sql "INSERT INTO accounts (name) VALUES ('soak-operators');
           INSERT INTO accounts (name) SELECT CONCAT('soak-ops-', LPAD(seq, 3, '0')) FROM seq_1_to_$MONITORS;
           INSERT INTO monitors (name, account_id, type, status, ip4)
             SELECT CONCAT('soak-', LPAD(seq, 3, '0')), seq + 1, 'monitor', 'active',
                    CONCAT('198.', 18 + (seq * 16) DIV 256, '.', (seq * 16) MOD 256, '.7')
             FROM seq_1_to_$MONITORS;
           INSERT INTO servers (id, ip, ip_version, account_id)
             SELECT seq, CONCAT('100.', 64 + (seq DIV 65536) MOD 64, '.', (seq DIV 256) MOD 256, '.', seq MOD 256), 'v4', 1
             FROM seq_1_to_$SERVERS;
           INSERT INTO server_scores (monitor_id, server_id, status)
             SELECT m.id, s.id, CASE WHEN (s.id + CAST(SUBSTRING(m.name, 6) AS UNSIGNED) - 1) MOD $MONITORS < 7 THEN 'active'
                                     WHEN (s.id + CAST(SUBSTRING(m.name, 6) AS UNSIGNED) - 1) MOD $MONITORS < 12 THEN 'testing'
                                     ELSE 'candidate' END
             FROM monitors m JOIN servers s;
           INSERT INTO servers_monitor_review (server_id, next_review)
             SELECT id, UTC_TIMESTAMP() + INTERVAL (id MOD 1200) SECOND FROM servers;
           ALTER TABLE log_scores ADD COLUMN soak_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6);" ||
        { echo "soak: seeding failed" >&2; exit 1; }
}

# History before the run: HISTORY_MIN minutes of the same rate as log_scores rows, made by INSERT … SELECT.
# 0 (the default) starts from an empty history. soak_seed_history [MINUTES [OLDER_THAN_MIN]] seeds the rows
# of MINUTES minutes ending OLDER_THAN_MIN minutes ago (bench/scale.sh adds older history to a seeded database):
# row k (1, 2, … counting back from now) is at now - k/RATE s, monitor 1 + k mod MONITORS, server
# 1 + (k div MONITORS) mod SERVERS, id 0HISTORY<k> — so slices seeded one after the other never collide. In
# slices of SOAK_HISTORY_SLICE rows (one transaction each: a single multi-million-row transaction is no way a
# pool's history came about, and it makes MariaDB's undo log the benchmark).
soak_seed_history() {
    local minutes=${1:-$HISTORY_MIN} older=${2:-0}
    [ "$minutes" -gt 0 ] || return 0
    local first=$(( RATE * older * 60 + 1 )) last=$(( RATE * (older + minutes) * 60 ))
    local slice=${SOAK_HISTORY_SLICE:-250000} a b
    for (( a = first; a <= last; a += slice )); do
        b=$(( a + slice - 1 )); [ "$b" -le "$last" ] || b=$last
        h_sql "INSERT INTO log_scores (monitor_id, server_id, ts, score, step, \`offset\`, rtt, result_id, attributes)
               SELECT 1 + (seq MOD $MONITORS), 1 + (seq DIV $MONITORS) MOD $SERVERS,
                      UTC_TIMESTAMP(6) - INTERVAL seq * 1000000 DIV $RATE MICROSECOND, 19, 1, 0.0005, 20000,
                      CONCAT('0HISTORY', LPAD(seq, 18, '0')), '{\"leap\":0,\"error\":\"\",\"stratum\":2,\"status\":\"active\"}'
               FROM seq_${a}_to_${b}" || { echo "soak: history failed" >&2; exit 1; }
    done
}

# Called just before the daemons start (bench/scale.sh starts its assign counter here).
soak_before_daemons() { :; }

soak_start_daemons() {
    local d
    soak_before_daemons
    for d in ingest scorer selector; do
        SOAK_TOKEN[$d]=$(h_token "$d" "" 24h)
        SOAK_EXEC[$d]=$(date +%s.%N) # start-up is measured from here to the log line (bench/scale.sh)
        h_spawn "$d" env MQTT_TOKEN="${SOAK_TOKEN[$d]}" "$H_BIN/ntpmon-$d" $([ "$d" = selector ] && echo run)
        SOAK_PID[$d]=${H_PID[$d]}
    done
    for d in ingest scorer selector; do
        h_wait 60 grep -q "mqtt: connected" "${H_LOG[$d]}" || { echo "soak: $d did not connect" >&2; h_log "$d" >&2; exit 1; }
    done
    mkdir -p "$H_TMP/tokens"
    local i name
    for i in $(seq 1 "$MONITORS"); do
        name=$(printf 'soak-%03d' "$i")
        h_token monitor "$name" 24h >"$H_TMP/tokens/$name.jwt"
    done
}

# soak_sample LABEL: one line "LABEL name cpu_s rss_kb …" for every watched process (appended to $H_TMP/samples).
soak_sample() {
    local line="$1 $(( $(date +%s) - T_START ))" name pid
    for name in ingest scorer selector mosquitto mariadbd soak-agents; do
        pid=${SOAK_PID[$name]:-}
        if [ -n "$pid" ] && [ -r "/proc/$pid/stat" ]; then
            local ticks rss
            ticks=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat")
            rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
            line+=" $name $(awk -v t="$ticks" -v hz="$TICK" 'BEGIN { printf "%.1f", t / hz }') $rss"
        else
            line+=" $name - -"
        fi
    done
    echo "$line" >>"$H_TMP/samples"
}

# The load: soak-agents for DURATION seconds, sampled at its start, every minute, and when it stops making.
soak_run_load() {
    T_START=$(date +%s)
    h_spawn soak-agents "$H_BUILD/bench/soak-agents" --mqtt-url "$MQTT_URL" --token-dir "$H_TMP/tokens" \
        --monitors "$MONITORS" --servers "$SERVERS" --rate "$RATE" --duration "${DURATION}s" --drain 180s \
        --ids-out "$H_TMP/made" --unconfirmed-out "$H_TMP/unconfirmed"
    SOAK_PID[soak-agents]=${H_PID[soak-agents]}
    soak_sample start
    local next=$((T_START + 60))
    while ! grep -q "waiting for the last confirmations" "${H_LOG[soak-agents]}"; do
        h_alive soak-agents || break
        if [ "$(date +%s)" -ge "$next" ]; then soak_sample "minute"; next=$((next + 60)); fi
        sleep 1 # a benchmark's clock: the load runs for DURATION whatever we do
    done
    soak_sample end
    h_wait $((200 / H_WAIT_SCALE + 1)) bash -c "! kill -0 ${SOAK_PID[soak-agents]} 2>/dev/null"
    AGENTS_SUMMARY=$(grep '^made=' "${H_LOG[soak-agents]}" | tail -1)
}

unscored() {
    h_sql "SELECT COUNT(*) FROM results r WHERE NOT EXISTS
           (SELECT 1 FROM log_scores l WHERE l.result_id = r.id AND l.monitor_key = r.monitor_id)"
}
scored_all() { [ "$(unscored)" = 0 ]; }

# Counts by ULID: made (the agents' list) against stored (results) and scored (per-monitor log rows).
soak_count() {
    h_wait $((120 / H_WAIT_SCALE + 1)) scored_all
    cut -d' ' -f1 "$H_TMP/made" | LC_ALL=C sort >"$H_TMP/made.ids"
    h_sql "SELECT id FROM results" | LC_ALL=C sort >"$H_TMP/stored.ids"
    MADE=$(wc -l <"$H_TMP/made.ids")
    STORED=$(wc -l <"$H_TMP/stored.ids")
    LC_ALL=C sort "$H_TMP/unconfirmed" 2>/dev/null >"$H_TMP/unconfirmed.ids"
    LATE=$(LC_ALL=C comm -23 "$H_TMP/made.ids" "$H_TMP/stored.ids" | LC_ALL=C comm -12 - "$H_TMP/unconfirmed.ids" | wc -l)
    LOST=$(LC_ALL=C comm -23 "$H_TMP/made.ids" "$H_TMP/stored.ids" | LC_ALL=C comm -23 - "$H_TMP/unconfirmed.ids" | wc -l)
    FOREIGN=$(LC_ALL=C comm -13 "$H_TMP/made.ids" "$H_TMP/stored.ids" | wc -l)
    MADE_DUP=$(( MADE - $(LC_ALL=C sort -u "$H_TMP/made.ids" | wc -l) ))
    SCORED=$(h_sql "SELECT COUNT(DISTINCT result_id) FROM log_scores WHERE monitor_id IS NOT NULL AND result_id NOT LIKE '0HISTORY%'")
    SCORED_DUP=$(h_sql "SELECT COUNT(*) - COUNT(DISTINCT result_id) FROM log_scores WHERE monitor_id IS NOT NULL")
    UNSCORED=$(unscored)
    REJECTED=$(h_sql "SELECT COUNT(*) FROM results_rejected")
}

# p50 / p99 / max of a column of µs values (stdin), in ms.
pctl() {
    LC_ALL=C sort -n | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "– / – / –"; exit }
        i50 = int(NR * 0.50); if (i50 < 1) i50 = 1; i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
        printf "%.0f / %.0f / %.0f ms", v[i50] / 1000, v[i99] / 1000, v[NR] / 1000 }'
}
soak_latency() {
    LAT_STORED=$(h_sql "SELECT TIMESTAMPDIFF(MICROSECOND, ts, received_at) FROM results" | pctl)
    LAT_SCORED=$(h_sql "SELECT TIMESTAMPDIFF(MICROSECOND, r.ts, l.soak_at) FROM results r
                        JOIN log_scores l ON l.result_id = r.id AND l.monitor_key = r.monitor_id" | pctl)
}

# ---- the run and its report (not when bench/scale.sh sources this file for its phases) ----
soak_main() {
    load0=$(cut -d' ' -f1-3 /proc/loadavg)
    soak_start_servers
    soak_seed_pool
    soak_seed_history
    soak_start_daemons
    soak_run_load
    soak_count
    soak_latency
    load1=$(cut -d' ' -f1-3 /proc/loadavg)

    # ---- report ----
    pairs=$((SERVERS * MONITORS))
    echo "## soak: the whole pipeline at $RATE results/s for $(awk -v d="$DURATION" 'BEGIN { printf "%g", d / 60 }') min ($(awk -v r="$RATE" 'BEGIN { printf "%g", r / 90 }')× the pool's ~90 results/s)"
    echo
    echo "$SERVERS servers × $MONITORS monitors ($pairs pairs: 7 active, 5 testing, the rest candidates per server), each"
    echo "monitor its own MQTT session and token, $RATE results/s together (the NTP pool today: under 100/s over ~6 000"
    echo "servers' active pairs); ingest, scorer and selector with their default flags; MariaDB with flush at every commit"
    echo "and the default 128 MB buffer pool; all on this $(nproc)-core machine beside the simulated agents. Load average"
    echo "before: $load0; after: $load1 (shared machine)."
    echo
    echo "| process | CPU s over the run | CPU % of one core | RSS at start | RSS at end | RSS each minute (MB) |"
    echo "|---|---:|---:|---:|---:|---|"
    for name in ingest scorer selector mosquitto mariadbd soak-agents; do
        awk -v n="$name" '
            { for (i = 3; i <= NF; i += 3) if ($i == n && $(i + 1) != "-") { k++; cpu[k] = $(i + 1); rss[k] = $(i + 2); t[k] = $2 } }
            END {
                if (k == 0) { printf "| %s | – | – | – | – | – |\n", n; exit }
                d = cpu[k] - cpu[1]; secs = t[k] - t[1]; if (secs < 1) secs = 1
                mins = ""; for (r = 1; r <= k; r++) mins = mins (r > 1 ? " " : "") sprintf("%.0f", rss[r] / 1024)
                printf "| %s | %.1f | %.1f %% | %.1f MB | %.1f MB | %s |\n", n, d, 100 * d / secs, rss[1] / 1024, rss[k] / 1024, mins
            }' "$H_TMP/samples"
    done
    echo
    echo "| results | count |"
    echo "|---|---:|"
    echo "| made by the simulated agents | $MADE |"
    echo "| stored (results table) | $STORED |"
    echo "| scored (per-monitor log rows) | $SCORED |"
    echo "| lost: made, not stored and no longer in an agent's spool (by ULID) | $LOST |"
    echo "| late: not stored yet, still in an agent's spool at the end | $LATE |"
    echo "| doubled: stored or scored twice | $(( MADE_DUP + SCORED_DUP )) |"
    echo "| stored but never made (by ULID) | $FOREIGN |"
    echo "| stored, not scored | ${UNSCORED:-?} |"
    echo "| refused (results_rejected) | $REJECTED |"
    echo
    echo "| latency | p50 / p99 / max |"
    echo "|---|---|"
    echo "| probe made → stored (results.received_at) | $LAT_STORED |"
    echo "| probe made → scored (log row inserted) | $LAT_SCORED |"
    echo
    echo "Agents: $AGENTS_SUMMARY"
    [ "$LOST" = 0 ] && [ "$MADE_DUP" = 0 ] && [ "$SCORED_DUP" = 0 ] && [ "$FOREIGN" = 0 ] && [ "$UNSCORED" = 0 ] && [ "$MADE" -gt 0 ]
}
if [ "${BASH_SOURCE[0]}" = "$0" ]; then soak_main; fi
