#!/usr/bin/env bash
# bench/scale.sh — the pipeline's shape at pool scale (issue 18): how CPU, memory, start-up and assignment traffic
# grow with load and with history. Built on bench/soak.sh's phases (it sources soak.sh for them; see there):
#
#  1. the whole pipeline at 1× and 10× the NTP pool's result rate (--rates, default 90 and 900 results/s over
#     6 000 servers and 40 monitors, each monitor its own session and token), ingest, scorer and selector started
#     on a seeded steady-state pool (7 active + 5 testing monitors per server, the rest candidates), for
#     --duration (default 150 s; the 10-minute soak is bench/soak.sh): CPU seconds and % of one core per daemon
#     (ingest, scorer, selector, mosquitto, mariadbd) over the load, RSS at the end, results made / stored /
#     scored / lost / doubled (by ULID), made → scored p99, and the 10×/1× ratios;
#  2. the assign traffic of those runs: bench/assign-count.c (an admin token) subscribes to
#     ntpmon/<env>/monitors/+/assign/# before the selector starts; messages are grouped into publication passes
#     by the ts the selector stamps on every message of one pass (a review round that published anything, and
#     the publication of every list when it connects), with messages and bytes per pass; a selector that logs
#     each review round (a line matching $SCALE_ROUND_RE) has those lines counted and its last one printed;
#  3. selector and scorer start-up on 10× history (--history-minutes, default 15 and 120: ~0.8 M and ~6.5 M
#     log_scores rows, INSERT … SELECT), each started --starts times alone: exec → its "broker connected" log
#     line, for the selector also when its history load finished if it logs that (a line matching
#     $SCALE_HISTORY_RE, default below; a build without one loads before connecting), and the 2 h / 15 min ratio.
#
#   bench/scale.sh [--duration 150] [--rates "90 900"] [--history-minutes "15 120"] [--history-rate 900]
#                  [--starts 2] [--servers 6000] [--monitors 40] [--load-history-minutes 0] [--only load|startup]
#                  [--build DIR] [--keep]
# --load-history-minutes M seeds M minutes of history at each load phase's rate before its daemons start (the
# database's working set then outgrows its buffer pool as a long-running pool's does; default 0, empty).
#
# Each phase runs in its own process with its own MariaDB and mosquitto (MariaDB as production: flush at every
# commit, the default 128 MB buffer pool), all stopped by PID. Prints one markdown section. On a shared machine
# the CPU seconds are the figure to compare (they do not depend on what else runs); load averages are printed.
# bench-timeout: 3600
set -u
cd "$(dirname "$0")/.."
SELF=bench/scale.sh
DURATION=150
RATES="90 900"
HISTORY="15 120"
HISTORY_RATE=900
LOAD_HISTORY=0
STARTS=2
SERVERS=6000
MONITORS=40
ONLY=
PHASE=
PHASE_OUT=
KEEP=
ARGS="$*"
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION=$2; shift ;;
        --rates) RATES=$2; shift ;;
        --history-minutes) HISTORY=$2; shift ;;
        --history-rate) HISTORY_RATE=$2; shift ;;
        --load-history-minutes) LOAD_HISTORY=$2; shift ;;
        --starts) STARTS=$2; shift ;;
        --servers) SERVERS=$2; shift ;;
        --monitors) MONITORS=$2; shift ;;
        --only) ONLY=$2; shift ;;
        --build) export NTPMON_BUILD=$2; shift ;;
        --keep) export NTPMON_KEEP=1; KEEP=--keep ;;
        --phase) PHASE=$2; shift ;;         # internal: one phase in this process
        --phase-rate) PHASE_RATE=$2; shift ;;
        --phase-out) PHASE_OUT=$2; shift ;;
        *) echo "usage: $0 [--duration S] [--rates \"N N\"] [--history-minutes \"M M\"] [--history-rate N] [--starts N]" \
                "[--servers N] [--monitors N] [--load-history-minutes M] [--only load|startup] [--build DIR] [--keep]" >&2
           exit 2 ;;
    esac
    shift
done
# the selector's "history loaded" line (a selector that loads history in the background after connecting)
SCALE_HISTORY_RE=${SCALE_HISTORY_RE:-'[Hh]istory.*(loaded|finished|complete|done)|(loaded|finished)[^;]*histor'}
# the selector's line per review round (the last one is printed verbatim)
SCALE_ROUND_RE=${SCALE_ROUND_RE:-'\] info: .*[Rr]ound'}
CONNECTED_RE='broker connected|connected to the broker|mqtt: connected'

# A phase sources soak.sh (the harness, the servers, the phases) here at the top level: the harness's arrays must
# outlive any function, for its EXIT trap stops what they name.
case "$PHASE" in
    load) . bench/soak.sh --duration "$DURATION" --rate "$PHASE_RATE" --servers "$SERVERS" --monitors "$MONITORS" ;;
    startup) . bench/soak.sh --rate "$HISTORY_RATE" --servers "$SERVERS" --monitors "$MONITORS" ;;
esac

# ---- helpers shared by the phases ----

# to_epoch LOGLINE: the unix time (s.ms) of a daemon's log line (common/log: 2024-05-01T10:00:00.123Z prog[pid] …)
to_epoch() { date -u -d "$(cut -d' ' -f1 <<<"$1")" +%s.%N 2>/dev/null; }
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + b }'; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }
cpu_of() { awk '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / '"$(getconf CLK_TCK)"' }' "/proc/$1/stat" 2>/dev/null; }
rss_of() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }

# ---- phase: the pipeline under load at one rate ----
phase_load() {
    soak_before_daemons() {
        local tok # the harness's env (h_start_mariadb and h_start_broker_auth set DEPLOYMENT_MODE): the daemons' topics
        tok=$(h_token admin "" 24h)
        h_spawn assign-count env MQTT_TOKEN="$tok" "$H_BUILD/bench/assign-count" -e "$DEPLOYMENT_MODE" --mqtt-url "$MQTT_URL" \
            --out "$H_TMP/assigns"
        h_wait 30 grep -q subscribed "${H_LOG[assign-count]}" || { echo "scale: assign-count did not subscribe" >&2; exit 1; }
    }
    local load0 load1 d line
    load0=$(cut -d' ' -f1-3 /proc/loadavg)
    soak_start_servers
    soak_seed_pool
    soak_seed_history "$LOAD_HISTORY" 0 # at the phase's rate; 0 (the default): the load starts on an empty history
    soak_start_daemons
    soak_run_load
    local t_end
    t_end=$(awk '$1 == "end" { print $2 }' "$H_TMP/samples" | tail -1)
    t_end=$(( T_START + ${t_end:-0} ))
    soak_count
    soak_latency
    load1=$(cut -d' ' -f1-3 /proc/loadavg)
    {
        echo "load0=$load0"; echo "load1=$load1"; echo "rate=$PHASE_RATE"
        for d in ingest scorer selector mosquitto mariadbd; do
            awk -v n="$d" '
                { for (i = 3; i <= NF; i += 3) if ($i == n && $(i + 1) != "-") { k++; cpu[k] = $(i + 1); rss[k] = $(i + 2); t[k] = $2 } }
                END {
                    if (k == 0) exit
                    secs = t[k] - t[1]; if (secs < 1) secs = 1
                    printf "cpu_%s=%.1f\npct_%s=%.1f\nrss0_%s=%.1f\nrss_%s=%.1f\nsecs=%d\n", n, cpu[k] - cpu[1], n,
                        100 * (cpu[k] - cpu[1]) / secs, n, rss[1] / 1024, n, rss[k] / 1024, secs
                }' "$H_TMP/samples"
        done
        echo "made=$MADE"; echo "stored=$STORED"; echo "scored=$SCORED"; echo "lost=$LOST"; echo "late=$LATE"
        echo "doubled=$(( MADE_DUP + SCORED_DUP ))"; echo "foreign=$FOREIGN"; echo "unscored=${UNSCORED:-?}"
        echo "rejected=$REJECTED"; echo "lat_stored=$LAT_STORED"; echo "lat_scored=$LAT_SCORED"
        for d in ingest scorer selector; do
            line=$(grep -m1 -E "$CONNECTED_RE" "${H_LOG[$d]}")
            [ -n "$line" ] && echo "start_$d=$(sub "$(to_epoch "$line")" "${SOAK_EXEC[$d]}")"
        done
        line=$(grep 'summary:' "${H_LOG[selector]}" | tail -1)
        echo "sel_summary=${line#*summary: }"
        # a selector that logs each review round (common/log: "… prog[pid] info: …")
        echo "sel_round_lines=$(grep -E "$SCALE_ROUND_RE" "${H_LOG[selector]}" | grep -c .)"
        line=$(grep -E "$SCALE_ROUND_RE" "${H_LOG[selector]}" | tail -1)
        echo "sel_round_last=${line#* info: }"
        # the assign messages from the selector's start to the end of the load, in publication passes (same ts)
        awk -v t0="${SOAK_EXEC[selector]%.*}" -v t1="$t_end" '
            $1 / 1e6 < t0 || $1 / 1e6 > t1 + 1 { next }
            {
                key = ($4 != "-") ? $4 : "gap" g
                if ($4 == "-" && last && $1 - last > 500000) { g++; key = "gap" g }
                last = $1
                if (!(key in seen)) { seen[key] = ++np; order[np] = key }
                p = seen[key]; msgs[p]++; bytes[p] += $3
                per[p, $7]++; if (per[p, $7] > most[p]) most[p] = per[p, $7]
            }
            END {
                printf "assign_start_msgs=%d\nassign_start_bytes=%d\n", msgs[1], bytes[1]
                n = 0; m = 0; b = 0; mmax = 0; bmax = 0; dup = 0
                for (p = 2; p <= np; p++) {
                    n++; m += msgs[p]; b += bytes[p]
                    if (msgs[p] > mmax) mmax = msgs[p]; if (bytes[p] > bmax) bmax = bytes[p]; if (most[p] > dup) dup = most[p]
                }
                printf "assign_passes=%d\nassign_msgs=%d\nassign_bytes=%d\nassign_mmax=%d\nassign_bmax=%d\nassign_dup=%d\n", n, m, b, mmax, bmax, dup
                printf "assign_mmean=%.1f\nassign_bmean=%.0f\n", n ? m / n : 0, n ? b / n : 0
            }' "$H_TMP/assigns"
    } >"$PHASE_OUT"
}

# ---- phase: start-up on history ----
# start_one DAEMON LABEL: starts DAEMON alone, waits for its connected line (and, for the selector, its history
# line or a quiet process), records the times, stops it.
start_one() {
    local d=$1 label=$2 name="$1-$2" t0 line t_conn hist="" loaded="" pid cpu0 cpu1 quiet=0 deadline
    [ -n "${SOAK_TOKEN[$d]:-}" ] || SOAK_TOKEN[$d]=$(h_token "$d" "" 24h)
    local db_cpu0 db_cpu
    db_cpu0=$(cpu_of "${SOAK_PID[mariadbd]}") # the database's share of a start (a history load is mostly its work)
    t0=$(date +%s.%N)
    h_spawn "$name" env MQTT_TOKEN="${SOAK_TOKEN[$d]}" "$H_BIN/ntpmon-$d" $([ "$d" = selector ] && echo run)
    pid=${H_PID[$name]}
    h_wait 200 grep -qE "$CONNECTED_RE" "${H_LOG[$name]}" || { echo "scale: $d did not connect" >&2; h_log "$name" >&2; exit 1; }
    line=$(grep -m1 -E "$CONNECTED_RE" "${H_LOG[$name]}")
    t_conn=$(sub "$(to_epoch "$line")" "$t0")
    db_cpu=$(sub "$(cpu_of "${SOAK_PID[mariadbd]}")" "$db_cpu0")
    if [ "$d" = selector ]; then
        # a history load after connecting: wait for its line; a build that has no lazy load (no --load-history)
        # may have none, so there the wait also ends when the selector and the database are quiet for 2 s (a
        # history load is mostly the database's work: the selector alone looks idle while it waits for rows)
        local lazy=0
        "$H_BIN/ntpmon-selector" --help 2>&1 | grep -q -- --load-history && lazy=1
        deadline=$(( $(date +%s) + 300 ))
        cpu0=$(add "$(cpu_of "$pid")" "$(cpu_of "${SOAK_PID[mariadbd]}")")
        while [ "$(date +%s)" -lt "$deadline" ] && ! grep -qE "$SCALE_HISTORY_RE" "${H_LOG[$name]}"; do
            sleep 1 # a benchmark's clock: sampling CPU use
            cpu1=$(add "$(cpu_of "$pid")" "$(cpu_of "${SOAK_PID[mariadbd]}")")
            [ "$lazy" = 1 ] && continue
            if awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { exit !(b - a < 0.05) }'; then quiet=$((quiet + 1)); else quiet=0; fi
            cpu0=$cpu1
            [ "$quiet" -ge 2 ] && break
        done
        line=$(grep -m1 -E "$SCALE_HISTORY_RE" "${H_LOG[$name]}")
        [ -n "$line" ] && hist=$(sub "$(to_epoch "$line")" "$t0")
        loaded=$(sed -n 's/.*loaded in \([0-9.]*\) s.*/\1/p' "${H_LOG[$name]}" | head -1)
    fi
    echo "${d}_${label}=$t_conn ${hist:--} ${loaded:--} $(rss_of "$pid") $(cpu_of "$pid") $db_cpu" >>"$PHASE_OUT"
    h_stop "$name"
}

# After millions of rows are seeded InnoDB flushes and purges for a while; a start measured then measures that.
# Waits (at most 300 s) until mariadbd uses under 5 % of a core over 2 s.
settle_database() {
    local c0 c1 deadline=$(( $(date +%s) + 300 ))
    c0=$(cpu_of "${SOAK_PID[mariadbd]}")
    while [ "$(date +%s)" -lt "$deadline" ]; do
        sleep 2 # a benchmark's clock: sampling CPU use
        c1=$(cpu_of "${SOAK_PID[mariadbd]}")
        awk -v a="$c0" -v b="$c1" 'BEGIN { exit !(b - a < 0.1) }' && return 0
        c0=$c1
    done
}

phase_startup() {
    local prev=0 h s t0 rows
    echo "load0=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$PHASE_OUT"
    soak_start_servers
    soak_seed_pool
    for h in $(tr ' ' '\n' <<<"$HISTORY" | sort -n); do
        t0=$(date +%s)
        soak_seed_history $((h - prev)) "$prev"
        rows=$(h_sql "SELECT COUNT(*) FROM log_scores")
        echo "hist_$h=$rows $(( $(date +%s) - t0 ))" >>"$PHASE_OUT"
        settle_database
        prev=$h
        for s in $(seq 1 "$STARTS"); do
            start_one selector "${h}_$s"
            start_one scorer "${h}_$s"
        done
    done
    echo "load1=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$PHASE_OUT"
}

if [ "$PHASE" = load ]; then phase_load; exit; fi
if [ "$PHASE" = startup ]; then phase_startup; exit; fi

# ---- the parent: runs the phases, prints the report ----
BUILD_DIR=${NTPMON_BUILD:-build}
[ -x "$BUILD_DIR/bench/assign-count" ] || { echo "scale: $BUILD_DIR/bench/assign-count is missing (make -j2)" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ntpmon-scale.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
status=0
run_phase() { # NAME ARGS…: one phase in its own process; its figures in $WORK/NAME.kv, its log in $WORK/NAME.log
    local name=$1; shift
    echo "== scale: $name" >&2
    if ! bash "$SELF" "$@" --phase-out "$WORK/$name.kv" --servers "$SERVERS" --monitors "$MONITORS" $KEEP >"$WORK/$name.log" 2>&1; then
        echo "scale: phase $name failed; its log:" >&2
        tail -n 60 "$WORK/$name.log" >&2
        status=1
        FAILED+=" $name"
    fi
}
kv() { sed -n "s/^$2=//p" "$WORK/$1.kv" 2>/dev/null | tail -1; }
FAILED=
if [ "$ONLY" != startup ]; then
    for r in $RATES; do run_phase "load$r" --phase load --phase-rate "$r" --duration "$DURATION" --load-history-minutes "$LOAD_HISTORY"; done
fi
if [ "$ONLY" != load ]; then
    run_phase startup --phase startup --history-minutes "$HISTORY" --history-rate "$HISTORY_RATE" --starts "$STARTS"
fi

set -- $RATES
R1=${1:-}
RN=${!#}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "–"; else printf "%.1f×", a / b }'; }
p99() { awk -F' / ' '{ print $2 }' <<<"$1"; }
mb() { awk -v b="$1" 'BEGIN { if (b == "") print "–"; else printf "%.2f MB", b / 1e6 }'; }

echo "## scale: the pipeline's shape at 1× and 10× the pool (issue 18)"
echo
echo "Build \`$BUILD_DIR\` (worktree $(git rev-parse --short HEAD 2>/dev/null), branch $(git rev-parse --abbrev-ref HEAD 2>/dev/null));"
echo "\`bench/scale.sh${ARGS:+ $ARGS}\`. $SERVERS servers × $MONITORS monitors, each monitor its own MQTT session and token;"
echo "the pool seeded steady (7 active + 5 testing monitors per server, the rest candidates), reviews spread over 20"
echo "minutes; MariaDB with flush at every commit and the default 128 MB buffer pool; all on this $(nproc)-core machine"
echo "beside the simulated agents. CPU seconds are the robust figure on a shared machine; the load averages are"
echo "the machine's (1/5/15 min) before → after each phase.${FAILED:+ **Failed phases:$FAILED.**}"
if [ "$ONLY" != startup ]; then
    echo
    echo "### The whole pipeline for $DURATION s"
    echo
    hdr="| | "; sep="|---|"
    for r in $RATES; do hdr+="$r results/s | "; sep+="---:|"; done
    [ "$R1" != "$RN" ] && { hdr+="$RN/$R1 ratio |"; sep+="---:|"; }
    echo "$hdr"; echo "$sep"
    row() { # LABEL FORMAT-FUNCTION KEY [ratio]
        local line="| $1 |" r v
        for r in $RATES; do v=$($2 "load$r" "$3"); line+=" ${v:-–} |"; done
        if [ "$R1" != "$RN" ]; then
            if [ "${4:-}" = ratio ]; then line+=" $(ratio "$(kv "load$RN" "$3")" "$(kv "load$R1" "$3")") |"; else line+=" |"; fi
        fi
        echo "$line"
    }
    f_cpu() { local c p; c=$(kv "$1" "$2"); p=$(kv "$1" "pct_${2#cpu_}"); [ -n "$c" ] && echo "$c s ($p %)"; }
    f_rss() { local v; v=$(kv "$1" "$2"); [ -n "$v" ] && echo "$v MB"; }
    f_kv() { kv "$1" "$2"; }
    f_p99() { local v; v=$(kv "$1" "$2"); [ -n "$v" ] && echo "$(p99 "$v")"; }
    f_total() {
        awk -v f="$WORK/$1.kv" 'BEGIN { while ((getline l < f) > 0) if (l ~ /^(cpu|pct)_(ingest|scorer|selector|mosquitto|mariadbd)=/) {
            split(l, a, "="); if (a[1] ~ /^cpu/) c += a[2]; else p += a[2]; n++ }
            if (n) printf "%.1f s (%.1f %%)", c, p }'
    }
    for d in ingest scorer selector mosquitto mariadbd; do row "CPU $d" f_cpu "cpu_$d" ratio; done
    for r in $RATES; do
        awk -F= '/^cpu_(ingest|scorer|selector|mosquitto|mariadbd)=/ { c += $2 } END { printf "cpu_total=%.1f\n", c }' \
            "$WORK/load$r.kv" >>"$WORK/load$r.kv" 2>/dev/null
    done
    row "**CPU, the five together**" f_total cpu_total ratio
    for d in ingest scorer selector mosquitto mariadbd; do row "RSS $d at the end" f_rss "rss_$d" ratio; done
    row "results made" f_kv made ratio
    row "stored" f_kv stored
    row "scored" f_kv scored
    row "lost (by ULID)" f_kv lost
    row "late (still in an agent's spool)" f_kv late
    row "doubled" f_kv doubled
    row "refused" f_kv rejected
    row "made → stored p50 / p99 / max" f_kv lat_stored
    row "made → scored p50 / p99 / max" f_kv lat_scored
    row "start-up, empty history: selector exec → broker connected (s)" f_kv start_selector
    row "start-up, empty history: scorer exec → broker connected (s)" f_kv start_scorer
    f_load() { echo "$(kv "$1" load0) → $(kv "$1" load1)"; }
    row "load average before → after" f_load x
    echo
    echo "### Assignment traffic during those runs"
    echo
    echo "Publication passes: messages grouped by the ts the selector stamps on every message it publishes in one"
    echo "pass (review rounds that published nothing are not seen here); the first pass is the publication of every"
    echo "list when the selector connects, counted apart. Review settings: at most 10 servers a batch, a server"
    echo "again 20 min after a review without change (60 min after a change), nothing due → back off 3 s → 60 s."
    echo
    echo "$hdr"; echo "$sep"
    f_startpub() { echo "$(kv "$1" assign_start_msgs) msgs, $(mb "$(kv "$1" assign_start_bytes)")"; }
    f_pass() { kv "$1" assign_passes; }
    f_msgs() { echo "$(kv "$1" assign_msgs) msgs, $(mb "$(kv "$1" assign_bytes)")"; }
    f_mper() { echo "$(kv "$1" assign_mmean) / $(kv "$1" assign_mmax)"; }
    f_bper() { echo "$(mb "$(kv "$1" assign_bmean)") / $(mb "$(kv "$1" assign_bmax)")"; }
    f_dup() { kv "$1" assign_dup; }
    f_sum() { kv "$1" sel_summary; }
    f_rounds() { local n; n=$(kv "$1" sel_round_lines); [ "${n:-0}" -gt 0 ] && echo "$n lines; last: $(kv "$1" sel_round_last)" || echo "none (build logs no round line)"; }
    row "at the selector's start: every list" f_startpub x
    row "publication passes after that" f_pass assign_passes ratio
    row "messages and bytes in them" f_msgs assign_msgs ratio
    row "messages per pass, mean / max" f_mper x
    row "bytes per pass, mean / max" f_bper x
    row "most messages for one monitor in one pass" f_dup x
    row "selector's last summary line" f_sum x
    row "selector's review-round log lines" f_rounds x
fi
if [ "$ONLY" != load ]; then
    echo
    echo "### Start-up on ${HISTORY_RATE}-results/s history"
    echo
    echo "Each daemon started alone, $STARTS time(s) per history size, on log_scores rows made by INSERT … SELECT (the"
    echo "database warm from the seeding). Connected: exec → the daemon's \"broker connected\" log line. History"
    echo "loaded: exec → the selector's line matching /$SCALE_HISTORY_RE/ (a selector that loads history after"
    echo "connecting); \"loaded in\": the load time the selector's start line reports. Load average:"
    echo "$(kv startup load0) → $(kv startup load1)."
    echo
    echo "| history | log_scores rows (seeding s) | selector: connected / history loaded / \"loaded in\" (s) | selector RSS, CPU s after start; mariadbd CPU s until connected | scorer: connected (s) | scorer RSS |"
    echo "|---|---:|---|---|---|---|"
    mean_conn() { # DAEMON H: mean of the connected times of its starts
        sed -n "s/^$1_$2_[0-9]*=//p" "$WORK/startup.kv" | awk '{ s += $1; n++ } END { if (n) printf "%.2f", s / n }'
    }
    for h in $(tr ' ' '\n' <<<"$HISTORY" | sort -n); do
        read -r rows secs <<<"$(kv startup "hist_$h")"
        sel=$(sed -n "s/^selector_${h}_[0-9]*=//p" "$WORK/startup.kv" | awk '{ printf "%s%s / %s / %s", (NR > 1 ? "; " : ""), $1, $2, $3 }')
        selm=$(sed -n "s/^selector_${h}_[0-9]*=//p" "$WORK/startup.kv" | awk '{ printf "%s%s MB, %s s; db %s s", (NR > 1 ? " — " : ""), $4, $5, ($6 == "" ? "–" : $6) }')
        sco=$(sed -n "s/^scorer_${h}_[0-9]*=//p" "$WORK/startup.kv" | awk '{ printf "%s%s", (NR > 1 ? "; " : ""), $1 }')
        scom=$(sed -n "s/^scorer_${h}_[0-9]*=//p" "$WORK/startup.kv" | awk '{ printf "%s%s MB", (NR > 1 ? "; " : ""), $4 }')
        echo "| $h min | ${rows:-–} (${secs:-–} s) | ${sel:-–} | ${selm:-–} | ${sco:-–} | ${scom:-–} |"
    done
    set -- $(tr ' ' '\n' <<<"$HISTORY" | sort -n)
    H1=$1; HN=${!#}
    if [ "$H1" != "$HN" ]; then
        hist_ratio() { # the selector's history-loaded times when it logs them, else its connected times
            sed -n "s/^selector_$1_[0-9]*=//p" "$WORK/startup.kv" | awk '{ v = ($2 != "-") ? $2 : $1; s += v; n++ } END { if (n) printf "%.2f", s / n }'
        }
        echo
        echo "Ratio $HN min / $H1 min (means of the starts): selector connected $(ratio "$(mean_conn selector "$HN")" "$(mean_conn selector "$H1")")"
        echo "($(mean_conn selector "$HN") s / $(mean_conn selector "$H1") s), selector ready with its history $(ratio "$(hist_ratio "$HN")" "$(hist_ratio "$H1")")"
        echo "($(hist_ratio "$HN") s / $(hist_ratio "$H1") s), scorer connected $(ratio "$(mean_conn scorer "$HN")" "$(mean_conn scorer "$H1")")."
    fi
fi
exit $status
