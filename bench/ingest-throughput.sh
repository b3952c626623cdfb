#!/usr/bin/env bash
# bench/ingest-throughput.sh — ntpmon-ingest's sustained throughput on this machine, with the broker and the
# database on it too (real mosquitto and MariaDB, started like the tests start them), beside the two ceilings it
# sits between, all in one run and interleaved round by round (the machine is shared: a neighbour's burst then
# hits every measure alike, and the medians are reported):
#   broker ceiling:   4 publishers × N results, QoS 1, publish → one subscriber on the shared filter, no database
#   database ceiling: the same rows through ingest's prepared multi-row INSERT, 1000-row transactions, no MQTT
#   end to end:       the same 4 publishers → ntpmon-ingest → committed rows → `stored` confirmations back
# plus latency from publish to the publisher receiving its confirmation (an upper bound of publish → commit), at
# full speed and at a steady 4 × 1000 results/s.
#   bench/ingest-throughput.sh [--per-publisher N] [--rounds R] [--build DIR]
set -u
PER=25000
ROUNDS=3
# Unconfirmed results each publisher keeps in flight end to end. Much more only builds a queue in mosquitto (which
# then spends its CPU on the queue: 2000 each gave ~25 % less throughput and 3x the latency); much less leaves the
# pipeline idle waiting for confirmations.
E2E_WINDOW=${E2E_WINDOW:-1000}
while [ $# -gt 0 ]; do
    case "$1" in
        --per-publisher) PER=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        --build) export NTPMON_BUILD=$2; shift ;;
        *) echo "usage: $0 [--per-publisher N] [--rounds R] [--build DIR]" >&2; exit 2 ;;
    esac
    shift
done
. "$(dirname "$0")/../tests/lib/harness.sh"
. "$(dirname "$0")/../tests/integration/ingest/ingest-lib.bash"
export LOG_LEVEL=warn
NPUB=4
TOTAL=$((PER * NPUB))
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
h_start_mariadb
h_start_mosquitto
ig_fixture $NPUB

field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }
min_first() { for i in $(seq 1 $NPUB); do grep '^monitor=' "$H_TMP/$1$i.log" | tail -1 | field first_us; done | sort -n | head -1; }
max_last() { for i in $(seq 1 $NPUB); do grep '^monitor=' "$H_TMP/$1$i.log" | tail -1 | field last_us; done | sort -n | tail -1; }
wait_all() { # wait_all PREFIX: every publisher PREFIX1..4 ended with status 0
    local i ok=0
    for i in $(seq 1 $NPUB); do
        h_wait 600 _ig_exited "$1$i"; h_stop "$1$i" || { echo "$1$i failed: $(tail -2 "$H_TMP/$1$i.log")" >&2; ok=1; }
    done
    return $ok
}
rate() { awk -v n="$1" -v us="$2" 'BEGIN { printf "%.0f", n / (us / 1e6) }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
minmax() { sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "–" hi }'; }
pctl() { # pctl FILE P: the P-th percentile of the µs values in FILE, in ms
    sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100) + 1; if (i > NR) i = NR; printf "%.1f", v[i] / 1000 }'
}

h_spawn ingest "$H_BIN/ntpmon-ingest" --log-level info --mqtt-client-id ingest-bench --summary-interval 600s
h_wait 20 grep -q 'mqtt: connected' "$H_TMP/ingest.log" || { echo "ingest did not connect" >&2; exit 1; }
ingest_cpu() { awk '{ print ($14 + $15) / 100 }' "/proc/${H_PID[ingest]}/stat"; }

for r in $(seq 1 "$ROUNDS"); do
    # broker ceiling: a plain subscriber; under env "bench", so the idle ingest (env "test") gets none of these
    h_spawn sink "$H_BIN/result-publisher" -e bench --sink --count $TOTAL --deadline 600s
    h_wait 10 grep -q '^ready' "$H_TMP/sink.log" || { echo "sink did not subscribe" >&2; exit 1; }
    for i in $(seq 1 $NPUB); do
        h_spawn "raw$i" "$H_BIN/result-publisher" -e bench --monitor "pub$i" --client-id "raw$i" --servers 1-10 \
            --count $PER --no-confirm --window 2000 --deadline 600s
    done
    wait_all raw || exit 1
    h_wait 60 _ig_exited sink; h_stop sink || { echo "sink failed: $(tail -2 "$H_TMP/sink.log")" >&2; exit 1; }
    echo "$(rate $TOTAL $(( $(sed -n 's/.*last_us=\([0-9]*\).*/\1/p' "$H_TMP/sink.log") - $(min_first raw) )))" >>"$H_TMP/broker"
    : >"$H_TMP/sink.log"

    # database ceiling
    out=$("$H_BUILD/bench/ingest-dbload" --rows $TOTAL --batch 1000 --monitor-id 1 --servers 10) || { echo "dbload failed" >&2; exit 1; }
    echo "$out" | field rows_per_s >>"$H_TMP/db"
    h_sql 'TRUNCATE TABLE results'

    # end to end
    cpu0=$(ingest_cpu)
    for i in $(seq 1 $NPUB); do
        h_spawn "e2e$i" "$H_BIN/result-publisher" --monitor "pub$i" --servers 1-10 --count $PER --window $E2E_WINDOW \
            --resend-timeout 60s --deadline 600s --latency-out "$H_TMP/lat.full.$r.$i"
    done
    wait_all e2e || exit 1
    echo "$(rate $TOTAL $(( $(max_last e2e) - $(min_first e2e) )))" >>"$H_TMP/e2e"
    awk -v a="$(ingest_cpu)" -v b="$cpu0" 'BEGIN { printf "%.1f\n", a - b }' >>"$H_TMP/cpu"
    rows=$(h_sql 'SELECT COUNT(*) FROM results')
    [ "$rows" = "$TOTAL" ] || { echo "round $r: $rows rows instead of $TOTAL" >&2; exit 1; }
    h_sql 'TRUNCATE TABLE results'
    for i in $(seq 1 $NPUB); do : >"$H_TMP/raw$i.log"; : >"$H_TMP/e2e$i.log"; done
    paste -d' ' <(tail -1 "$H_TMP/e2e") <(tail -1 "$H_TMP/broker") | awk '{ printf "%.0f\n", 100 * $1 / $2 }' >>"$H_TMP/ratio"
done

# latency below saturation: the same publishers at a steady 1000 results/s each (open loop)
RATE=1000
for i in $(seq 1 $NPUB); do
    h_spawn "lat$i" "$H_BIN/result-publisher" --monitor "pub$i" --servers 1-10 --count $((RATE * 10)) --rate $RATE \
        --window 100000 --resend-timeout 60s --deadline 600s --latency-out "$H_TMP/lat.rated.$i"
done
wait_all lat || exit 1
h_stop ingest
cat "$H_TMP"/lat.full.* >"$H_TMP/lat.full"
cat "$H_TMP"/lat.rated.* >"$H_TMP/lat.rated"

broker=$(median <"$H_TMP/broker"); db=$(median <"$H_TMP/db"); e2e=$(median <"$H_TMP/e2e"); ratio=$(median <"$H_TMP/ratio")
echo "## ingest-throughput: ntpmon-ingest end to end, beside the broker's and the database's own ceilings"
echo
echo "$NPUB publishers × $PER results, QoS 1; mosquitto, MariaDB, ingest and the publishers all on this $(nproc)-core"
echo "host. $ROUNDS interleaved rounds, medians (range). Load average before: $load_before; after:"
echo "$(cut -d' ' -f1-3 /proc/loadavg) — the machine is shared with other engineers' builds and tests."
echo
echo "| measure | results/s | notes |"
echo "|---|---:|---|"
echo "| broker ceiling: publish → shared subscriber, no database | $broker | range $(minmax <"$H_TMP/broker") |"
echo "| database ceiling: prepared multi-row INSERT, 1000/tx | $db | range $(minmax <"$H_TMP/db"); ingest's store code, no MQTT |"
echo "| ingest end to end: publish → committed, confirmed | $e2e | range $(minmax <"$H_TMP/e2e"); $ratio % of the broker ceiling (per-round range $(minmax <"$H_TMP/ratio") %); ingest CPU $(median <"$H_TMP/cpu") s per $TOTAL |"
echo "| latency publish → stored confirmation, p50 / p99 | $(pctl "$H_TMP/lat.full" 50) / $(pctl "$H_TMP/lat.full" 99) ms | at full speed ($((E2E_WINDOW * NPUB)) in flight) |"
echo "| latency publish → stored confirmation, p50 / p99 | $(pctl "$H_TMP/lat.rated" 50) / $(pctl "$H_TMP/lat.rated" 99) ms | at a steady $((RATE * NPUB)) results/s |"
echo
echo "Latency is measured by the publisher up to the \"stored\" message, so it is an upper bound of publish → commit"
echo "(it includes the flush interval of 50 ms, the commit and the confirmation's trip back)."
exit 0
