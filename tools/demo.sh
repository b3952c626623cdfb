#!/usr/bin/env bash
# tools/demo.sh — `make demo`: the whole ntpmon pipeline on loopback, started as root on free ports and stopped by
# PID when it ends. mosquitto with the broker-auth plugin, MariaDB, three NTP servers on 127.0.0.2-4 sharing one
# port (a real chronyd, a fake one 120 ms off, one answering Kiss-o'-Death RATE), three monitors in their own
# accounts and /20s, each an ntpmon-agent with its own token, then ingest, scorer, selector and the token service,
# with the intervals shrunk so a server's life takes a minute. It shows the scores and the result stream changing
# until Ctrl-C (or for --seconds N), then prints a summary and stops everything it started.
set -u
cd "$(dirname "$0")/.."
BUILD=build
LIMIT=0
while [ $# -gt 0 ]; do
    case "$1" in
        --build) BUILD=$2; shift ;;
        --seconds) LIMIT=$2; shift ;;
        *) echo "usage: $0 [--build DIR] [--seconds N]" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it starts mariadbd, mosquitto and chronyd on loopback)" >&2; exit 1; }
export NTPMON_BUILD=$BUILD
# The test harness gives us a scratch dir, free ports, the real servers and cleanup by PID.
. tests/lib/harness.sh
ENV=devel
say() { printf '%s\n' "$*"; }
say "ntpmon demo: starting the stack in $H_TMP (logs: *.log there)"

# ---- database and broker ----
h_start_mariadb
export DEPLOYMENT_MODE=$ENV DATABASE_DSN="ntpmon:ntpmon@tcp(127.0.0.1:$H_DB_PORT)/ntpmon_$ENV" H_DB_NAME=ntpmon_$ENV
h_start_broker_auth
ctl() { "$H_BIN/ntpmonctl" "$@" >/dev/null || { echo "demo: ntpmonctl $* failed" >&2; exit 1; }; }
ctl db migrate

# ---- three NTP servers on one port ----
H_NTP_PORT=$(h_free_port udp)
h_start_chronyd chrony-good 127.0.0.2
h_spawn ntp-120ms "$H_BIN/ntp-fake" --listen "127.0.0.3:$H_NTP_PORT" --offset 0.120 --stratum 2 --refid 127.0.0.2
h_spawn ntp-rate "$H_BIN/ntp-fake" --listen "127.0.0.4:$H_NTP_PORT" --kod RATE
h_wait 10 h_port_bound_udp "$H_NTP_PORT" || { echo "demo: NTP servers did not start" >&2; exit 1; }

ctl account add pool-operators
for ip in 127.0.0.2 127.0.0.3 127.0.0.4; do ctl server add "$ip" --account pool-operators --allow-local; done
# Three monitors, each in its own account, registered in different /20s (documentation ranges).
MONITORS="ams1 lax1 syd1"
declare -A MON_IP=([ams1]=192.0.2.10 [lax1]=198.51.100.10 [syd1]=203.0.113.10)
for m in $MONITORS; do
    ctl account add "ops-$m"
    ctl monitor add --name "$m" --account "ops-$m" --ip4 "${MON_IP[$m]}" --status active
done
# A 3-monitor pool with a server's whole life in about a minute (DESIGN.md §7 settings).
ctl settings set selector '{"active_target":3,"testing_target":3,"min_count_testing":3,"min_count_active":6,
  "interval_active_s":2,"interval_active_other_s":2,"interval_testing_s":2,"interval_candidate_s":2,
  "interval_paused_s":10,"samples":2,"review_after_change_s":4,"review_after_nochange_s":4,
  "review_after_error_s":4,"backoff_min_s":1,"backoff_max_s":2,"rescan_s":5,"new_pair_review_delay_s":0}'

# ---- daemons, each with its own token ----
tok() { h_token "$@" 24h; }
h_spawn ingest env MQTT_TOKEN="$(tok ingest)" "$H_BIN/ntpmon-ingest" --summary-interval 20s
h_spawn scorer env MQTT_TOKEN="$(tok scorer)" "$H_BIN/ntpmon-scorer" --reload-interval 2 --rescan-interval 0
h_spawn selector env MQTT_TOKEN="$(tok selector)" "$H_BIN/ntpmon-selector"
h_spawn tokend env MQTT_TOKEN="$(tok tokens)" "$H_BIN/ntpmon-tokend" --revoked-file "$NTPMON_REVOKED_FILE" \
    --monitor-ttl 6h
for m in $MONITORS; do
    dir=$H_TMP/agent-$m
    tok monitor "$m" | "$H_BIN/ntpmon-agent" -e "$ENV" --state-dir "$dir" setup --name "$m" --mqtt-url "$MQTT_URL" \
        --mqtt-token-file - --clock-ref "127.0.0.2:$H_NTP_PORT" >/dev/null || { echo "demo: agent setup failed" >&2; exit 1; }
    h_spawn "agent-$m" "$H_BIN/ntpmon-agent" -e "$ENV" --state-dir "$dir" monitor --allow-loopback \
        --ntp-port "$H_NTP_PORT" --min-interval 1s --sample-spacing 0.2s --timeout 1s --first-probe-max 1s \
        --resend-timeout 15s --status-interval 10s
done
sleep 0.5
for p in ingest scorer selector tokend agent-ams1 agent-lax1 agent-syd1; do
    h_alive "$p" || { echo "demo: $p exited at start:" >&2; tail -5 "${H_LOG[$p]}" >&2; exit 1; }
done

# ---- the live view ----
view() {
    h_sql "SELECT s.ip, ROUND(s.score_raw, 2), IF(s.in_pool, 'yes', 'no'),
                  IFNULL((SELECT GROUP_CONCAT(m.name ORDER BY m.name) FROM server_scores ss JOIN monitors m ON m.id = ss.monitor_id
                          WHERE ss.server_id = s.id AND ss.status = 'active'), '-'),
                  IFNULL((SELECT GROUP_CONCAT(m.name ORDER BY m.name) FROM server_scores ss JOIN monitors m ON m.id = ss.monitor_id
                          WHERE ss.server_id = s.id AND ss.status = 'testing'), '-')
           FROM servers s ORDER BY s.id" 2>/dev/null |
        awk -F'\t' 'BEGIN { printf "%-11s %8s  %-7s  %-18s %s\n", "server", "score", "in pool", "active", "testing" }
                    { printf "%-11s %8s  %-7s  %-18s %s\n", $1, $2, $3, $4, $5 }'
    echo
    echo "last results (stored by ingest):"
    h_sql "SELECT DATE_FORMAT(r.ts, '%H:%i:%s'), m.name, r.ip, IFNULL(ROUND(r.offset * 1000, 3), '-'),
                  IFNULL(ROUND(r.rtt * 1000, 3), '-'), r.error
           FROM results r JOIN monitors m ON m.id = r.monitor_id ORDER BY r.received_at DESC LIMIT 8" 2>/dev/null |
        awk -F'\t' 'BEGIN { printf "  %-8s %-6s %-11s %12s %10s  %s\n", "time", "monitor", "server", "offset ms", "rtt ms", "error" }
                    { printf "  %-8s %-6s %-11s %12s %10s  %s\n", $1, $2, $3, $4, $5, $6 }'
}
STOP=0
trap 'STOP=1' INT TERM
START=$(date +%s)
TTY=0; [ -t 1 ] && TTY=1
last_print=0
while [ "$STOP" = 0 ]; do
    now=$(date +%s); elapsed=$((now - START))
    [ "$LIMIT" -gt 0 ] && [ "$elapsed" -ge "$LIMIT" ] && break
    if [ "$TTY" = 1 ]; then
        frame=$(view)
        printf '\033[H\033[2J'
        echo "ntpmon demo — env $ENV — ${elapsed}s$([ "$LIMIT" -gt 0 ] && echo " of ${LIMIT}s") — Ctrl-C to stop"
        echo
        echo "$frame"
    elif [ $((now - last_print)) -ge 15 ]; then
        last_print=$now
        echo "---- ${elapsed}s"
        view
    fi
    sleep 1
done
trap - INT TERM

# ---- summary ----
stored=$(h_sql "SELECT COUNT(*) FROM results")
rejected=$(h_sql "SELECT COUNT(*) FROM results_rejected")
echo
echo "== ntpmon demo summary after $(( $(date +%s) - START ))s"
echo "summary: results_stored=$stored results_rejected=$rejected"
h_sql "SELECT s.ip, ROUND(s.score_raw, 3), s.in_pool,
              (SELECT COUNT(*) FROM server_scores ss WHERE ss.server_id = s.id AND ss.status = 'active'),
              (SELECT COUNT(*) FROM server_scores ss WHERE ss.server_id = s.id AND ss.status = 'testing'),
              (SELECT COUNT(*) FROM log_scores l WHERE l.server_id = s.id AND l.monitor_id IS NULL)
       FROM servers s ORDER BY s.id" |
    while IFS=$'\t' read -r ip score in_pool active testing recorded; do
        echo "summary: server=$ip score=$score in_pool=$in_pool active=$active testing=$testing overall_scores=$recorded"
    done
echo "in the pool: $(h_sql "SELECT IFNULL(GROUP_CONCAT(ip ORDER BY id SEPARATOR ' '), 'none') FROM servers WHERE in_pool = 1")"
echo "stopping everything the demo started"
