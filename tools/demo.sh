#!/usr/bin/env bash
# tools/demo.sh — `make demo`: the whole ntpmon pipeline on loopback, started as root on free ports and stopped by
# PID when it ends. mosquitto with the broker-auth plugin, MariaDB, three NTP servers on 127.0.0.2-4 sharing one
# port (a real chronyd, a fake one 120 ms off, one answering Kiss-o'-Death RATE), three monitors in their own
# accounts and /20s, each an ntpmon-agent with its own token, then ingest, scorer, selector, the token service and
# ntpmon-web (the page), with the intervals shrunk so a server's life takes a minute. It prints the page's URL and a
# ready mosquitto_sub command line (a watcher token in the demo dir) for the live result stream, shows the scores
# and results changing until Ctrl-C (or for --seconds N), then prints a summary and stops everything it started.
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
# The test harness gives us a scratch dir, free ports, the real servers and cleanup by PID; pipeline.sh the stack.
. tests/lib/harness.sh
. tests/lib/pipeline.sh
P_ENV=devel
say() { printf '%s\n' "$*"; }
say "ntpmon demo: starting the stack in $H_TMP (logs: *.log there)"
p_stack
ENV=$P_ENV
p_token watch watcher
WATCH_TOKEN=$H_TMP/watcher.token
echo "${P_TOKEN[watch]}" >"$WATCH_TOKEN"
PAGE="http://127.0.0.1:$P_WEB_PORT/"
SUB="mosquitto_sub -V mqttv5 -h 127.0.0.1 -p $H_MQTT_PORT -u watch-$ENV -P \"\$(cat $WATCH_TOKEN)\" -t 'ntpmon/$ENV/results/+/+' -v"
links() {
    echo "page:   $PAGE   (servers, live scores and graphs, checks)"
    echo "stream: $SUB"
}
links

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
        links
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
page_code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$PAGE")
servers=$(curl -s --max-time 5 "${PAGE}api/servers" | jq length 2>/dev/null)
results=$(timeout 5 bash -c "$SUB -C 1 -W 4" 2>/dev/null | grep -c "^ntpmon/$ENV/results/")
echo "summary: web_page=$page_code web_servers=${servers:-0} stream_results=$results"
echo "stopping everything the demo started"
