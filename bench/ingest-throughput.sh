#!/usr/bin/env bash
# bench/ingest-throughput.sh — ntpmon-ingest's sustained throughput, all measured in one run on this machine with
# the broker and the database on it too (real mosquitto and MariaDB, started like the tests start them):
#   1. broker ceiling: 4 publishers × N results, QoS 1, publish → one subscriber on the shared filter (no database)
#   2. database ceiling: the same rows through ingest's prepared multi-row INSERT in 1000-row transactions
#   3. end to end: the same 4 publishers → ntpmon-ingest → committed rows → `stored` confirmations back
# plus latency from publish to the publisher receiving the confirmation (an upper bound of publish → commit).
#   bench/ingest-throughput.sh [--per-publisher N] [--build DIR]
set -u
PER=25000
while [ $# -gt 0 ]; do
    case "$1" in
        --per-publisher) PER=$2; shift ;;
        --build) export NTPMON_BUILD=$2; shift ;;
        *) echo "usage: $0 [--per-publisher N] [--build DIR]" >&2; exit 2 ;;
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
wait_all() { # wait_all PREFIX: every publisher PREFIX1..4 exited 0
    local i ok=0
    for i in $(seq 1 $NPUB); do
        h_wait 600 _ig_exited "$1$i"; h_stop "$1$i" || { echo "# $1$i failed:"; tail -3 "$H_TMP/$1$i.log"; ok=1; }
    done
    return $ok
}
rate() { awk -v n="$1" -v us="$2" 'BEGIN { printf "%.0f", n / (us / 1e6) }'; }

# 1. broker ceiling
h_spawn sink "$H_BIN/result-publisher" --sink --count $TOTAL --deadline 600s
h_wait 10 grep -q '^ready' "$H_TMP/sink.log" || { echo "sink did not subscribe"; exit 1; }
for i in $(seq 1 $NPUB); do
    h_spawn "raw$i" "$H_BIN/result-publisher" --monitor "pub$i" --client-id "raw$i" --servers 1-10 --count $PER \
        --no-confirm --window 2000 --deadline 600s
done
wait_all raw || exit 1
h_wait 60 _ig_exited sink; h_stop sink || { echo "sink failed"; tail -3 "$H_TMP/sink.log"; exit 1; }
broker_us=$(( $(sed -n 's/.*last_us=\([0-9]*\).*/\1/p' "$H_TMP/sink.log") - $(min_first raw) ))
broker=$(rate $TOTAL $broker_us)

# 2. database ceiling
dbline=$("$H_BIN/ingest-dbload" --rows $TOTAL --batch 1000 --monitor-id 1 --servers 10) || { echo "dbload failed"; exit 1; }
dbrate=$(echo "$dbline" | field rows_per_s)
h_sql 'TRUNCATE TABLE results'

# 3. end to end
h_spawn ingest "$H_BIN/ntpmon-ingest" --log-level info --mqtt-client-id ingest-bench --summary-interval 600s
h_wait 20 grep -q 'mqtt: connected' "$H_TMP/ingest.log" || { echo "ingest did not connect"; exit 1; }
for i in $(seq 1 $NPUB); do
    h_spawn "e2e$i" "$H_BIN/result-publisher" --monitor "pub$i" --servers 1-10 --count $PER --window 2000 \
        --resend-timeout 60s --deadline 600s --latency-out "$H_TMP/lat.$i"
done
wait_all e2e || exit 1
e2e_us=$(( $(max_last e2e) - $(min_first e2e) ))
e2e=$(rate $TOTAL $e2e_us)
rows=$(h_sql 'SELECT COUNT(*) FROM results')
ingest_cpu=$(awk '{ printf "%.1f", ($14 + $15) / 100 }' "/proc/${H_PID[ingest]}/stat")
pctl() { # pctl FILE P: the P-th percentile of the µs values in FILE, in ms
    sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100) + 1; if (i > NR) i = NR; printf "%.1f", v[i] / 1000 }'
}
cat "$H_TMP"/lat.* >"$H_TMP/lat.sat"
n=$(wc -l <"$H_TMP/lat.sat")
p50=$(pctl "$H_TMP/lat.sat" 50); p99=$(pctl "$H_TMP/lat.sat" 99)
pct=$(awk -v a="$e2e" -v b="$broker" 'BEGIN { printf "%.0f", 100 * a / b }')

# 4. latency below saturation: the same publishers at a steady 1000 results/s each (open loop)
RATE=1000; PER_RATED=$((RATE * 10))
rm -f "$H_TMP"/lat.*
for i in $(seq 1 $NPUB); do
    h_spawn "lat$i" "$H_BIN/result-publisher" --monitor "pub$i" --servers 1-10 --count $PER_RATED --rate $RATE \
        --window 100000 --resend-timeout 60s --deadline 600s --latency-out "$H_TMP/lat.$i"
done
wait_all lat || exit 1
h_stop ingest
cat "$H_TMP"/lat.[0-9]* >"$H_TMP/lat.rated"
n2=$(wc -l <"$H_TMP/lat.rated")
q50=$(pctl "$H_TMP/lat.rated" 50); q99=$(pctl "$H_TMP/lat.rated" 99)

echo "## ingest-throughput: ntpmon-ingest end to end, beside the broker's and the database's own ceilings"
echo
echo "$NPUB publishers x $PER results, QoS 1, mosquitto + MariaDB + ingest + publishers on this $(nproc)-core host."
echo "Load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared)."
echo
echo "| measure                                                  | results/s | notes |"
echo "|----------------------------------------------------------|----------:|-------|"
printf "| broker ceiling: publish -> shared subscriber, no database | %9s | %s |\n" "$broker" "QoS 1 both ways"
printf "| database ceiling: prepared multi-row INSERT, 1000/tx      | %9s | %s |\n" "$dbrate" "ingest's store code, no MQTT"
printf "| ingest end to end: publish -> committed, confirmed        | %9s | %s%% of the broker ceiling; %s rows; ingest CPU %s s |\n" "$e2e" "$pct" "$rows" "$ingest_cpu"
printf "| latency publish -> stored confirmation, p50 / p99        | %s / %s ms | at saturation (8000 in flight), %s results |\n" "$p50" "$p99" "$n"
printf "| latency publish -> stored confirmation, p50 / p99        | %s / %s ms | at %d results/s (open loop), %s results |\n" "$q50" "$q99" $((RATE * NPUB)) "$n2"
echo
echo "Latency is measured at the publisher up to the \"stored\" message: an upper bound of publish -> commit."
exit 0
