# tests/lib/pipeline.sh — the whole ntpmon pipeline on loopback, for `make demo` and the pipeline tests (source it
# after harness.sh). p_stack starts MariaDB, the broker with broker-auth, three NTP servers on 127.0.0.2-4 sharing
# one port (chronyd, a fake 120 ms off, a fake answering KoD RATE), the schema, accounts, monitors in their own
# accounts and /20s, and then ingest, scorer, selector, the token service and one agent per monitor, each with its
# own token, metrics endpoint and log. Every daemon can be stopped and started again by name (p_start NAME).
#
#   P_ENV            deployment env (default test)
#   P_SERVERS        servers added at start (default "127.0.0.2 127.0.0.3 127.0.0.4")
#   P_MONITORS       monitor names (default "ams1 lax1 syd1")
#   P_PROXY_AGENTS   agents that reach the broker through a socat proxy named proxy-<agent> (to cut their network)
#   P_AGENT_LOG      agents' log level (default info; debug logs every result's ULID)
#   P_WEB            1 (default): also start ntpmon-web (the page and API on 127.0.0.1:$P_WEB_PORT; --allow-loopback)
#   P_WEB_FLAGS      extra flags for ntpmon-web
#   P_SCORER_FLAGS   extra flags for ntpmon-scorer (e.g. record every overall score, for live views)
#   P_AGENT_FLAGS    extra flags for every agent's `monitor`

P_ENV=${P_ENV:-test}
P_SERVERS=${P_SERVERS:-127.0.0.2 127.0.0.3 127.0.0.4}
P_MONITORS=${P_MONITORS:-ams1 lax1 syd1}
P_PROXY_AGENTS=${P_PROXY_AGENTS:-}
P_AGENT_LOG=${P_AGENT_LOG:-info}
P_WEB=${P_WEB:-1}
P_WEB_FLAGS=${P_WEB_FLAGS:-}
P_SCORER_FLAGS=${P_SCORER_FLAGS:-}
P_AGENT_FLAGS=${P_AGENT_FLAGS:-}
P_WEB_PORT=
declare -A P_MON_IP=([ams1]=192.0.2.10 [lax1]=198.51.100.10 [syd1]=203.0.113.10 [fra1]=192.0.2.138)
declare -A P_TOKEN P_METRICS P_PROXY_PORT
# A 3-monitor pool whose servers live a whole life in about a minute (DESIGN.md §7 settings).
P_SELECTOR_SETTINGS='{"active_target":3,"testing_target":3,"min_count_testing":3,"min_count_active":6,
  "interval_active_s":2,"interval_active_other_s":2,"interval_testing_s":2,"interval_candidate_s":2,
  "interval_paused_s":10,"samples":2,"review_after_change_s":4,"review_after_nochange_s":4,
  "review_after_error_s":4,"backoff_min_s":1,"backoff_max_s":2,"rescan_s":3,"new_pair_review_delay_s":0}'

p_ctl() { "$H_BIN/ntpmonctl" "$@" >/dev/null || { echo "# ntpmonctl $* failed"; exit 1; }; }
# p_token NAME ROLE: makes sure ${P_TOKEN[NAME]} holds one long-lived token of ROLE (call it outside $(…)).
p_token() {
    [ -n "${P_TOKEN[$1]:-}" ] || P_TOKEN[$1]=$(h_token "$2" "$([ "$2" = monitor ] && echo "$1")" 24h)
}
# p_metric NAME METRIC[{labels}]: the value a daemon's /metrics reports (empty when unreachable).
p_metric() {
    curl -s --max-time 2 "http://127.0.0.1:${P_METRICS[$1]}/metrics" | awk -v m="$2" '$1 == m { print $2; exit }'
}

p_stack() {
    h_start_mariadb
    export DEPLOYMENT_MODE=$P_ENV DATABASE_DSN="ntpmon:ntpmon@tcp(127.0.0.1:$H_DB_PORT)/ntpmon_$P_ENV"
    export H_DB_NAME=ntpmon_$P_ENV
    h_start_broker_auth
    H_NTP_PORT=$(h_free_port udp)
    h_start_chronyd chrony-good 127.0.0.2
    h_spawn ntp-120ms "$H_BIN/ntp-fake" --listen "127.0.0.3:$H_NTP_PORT" --offset 0.120 --stratum 2 --refid 127.0.0.2
    h_spawn ntp-rate "$H_BIN/ntp-fake" --listen "127.0.0.4:$H_NTP_PORT" --kod RATE
    p_ctl db migrate
    # Settings first: adding servers and monitors schedules their first review with them.
    p_ctl settings set selector "$P_SELECTOR_SETTINGS"
    p_ctl account add pool-operators
    local ip m
    for ip in $P_SERVERS; do p_ctl server add "$ip" --account pool-operators --allow-local; done
    for m in $P_MONITORS; do
        p_ctl account add "ops-$m"
        p_ctl monitor add --name "$m" --account "ops-$m" --ip4 "${P_MON_IP[$m]}" --status active
    done
    p_start ingest
    p_start scorer
    p_start selector
    p_start tokend
    for m in $P_MONITORS; do p_agent_setup "$m"; p_start "agent-$m"; done
    [ "$P_WEB" = 1 ] && p_start web
    local p
    for p in ingest scorer selector tokend $(for m in $P_MONITORS; do echo "agent-$m"; done) $([ "$P_WEB" = 1 ] && echo web); do
        h_wait 20 p_connected "$p" || { echo "# $p did not connect to the broker"; tail -5 "${H_LOG[$p]}"; exit 1; }
    done
}
p_connected() { grep -q "mqtt: connected" "${H_LOG[$1]}"; }

# p_agent_setup NAME: the agent's state dir and state.json (through its proxy when it has one).
p_agent_setup() {
    local m=$1 url=$MQTT_URL
    if [[ " $P_PROXY_AGENTS " == *" $m "* ]]; then
        P_PROXY_PORT[$m]=$(h_free_port tcp)
        url=mqtt://127.0.0.1:${P_PROXY_PORT[$m]}
        p_proxy_up "$m"
    fi
    p_token "$m" monitor
    echo "${P_TOKEN[$m]}" | "$H_BIN/ntpmon-agent" -e "$P_ENV" --state-dir "$H_TMP/agent-$m" setup --name "$m" \
        --mqtt-url "$url" --mqtt-token-file - --clock-ref "127.0.0.2:$H_NTP_PORT" >/dev/null ||
        { echo "# agent setup failed"; exit 1; }
}
# The network between an agent and the broker: a socat proxy that can be cut (p_proxy_down) and restored.
p_proxy_up() {
    h_spawn "proxy-$1" socat "TCP-LISTEN:${P_PROXY_PORT[$1]},bind=127.0.0.1,reuseaddr,fork" "TCP:127.0.0.1:$H_MQTT_PORT"
    h_wait 10 h_port_open_tcp "${P_PROXY_PORT[$1]}"
}
# socat forks a child per connection: kill those by parent PID too, so open connections really break.
p_proxy_down() {
    local pid=${H_PID[proxy-$1]:-}
    [ -n "$pid" ] && pkill -KILL -P "$pid"
    h_stop "proxy-$1" KILL
}

# p_start NAME: starts (or restarts) a daemon by name: ingest, scorer, selector, tokend, web, agent-<monitor>.
p_start() {
    local name=$1 port
    [ -n "${P_METRICS[$name]:-}" ] || P_METRICS[$name]=$(h_free_port tcp)
    port=${P_METRICS[$name]}
    case "$name" in
        ingest|scorer|selector|web) p_token "$name" "$name" ;;
        tokend) p_token tokend tokens ;;
    esac
    case "$name" in
        ingest) h_spawn ingest env MQTT_TOKEN="${P_TOKEN[ingest]}" "$H_BIN/ntpmon-ingest" \
                    --summary-interval 20s --metrics-listen "127.0.0.1:$port" ;;
        scorer) h_spawn scorer env MQTT_TOKEN="${P_TOKEN[scorer]}" "$H_BIN/ntpmon-scorer" \
                    --reload-interval 2 --rescan-interval 10s --rescan-settle 2s --metrics-listen "127.0.0.1:$port" $P_SCORER_FLAGS ;;
        selector) h_spawn selector env MQTT_TOKEN="${P_TOKEN[selector]}" "$H_BIN/ntpmon-selector" \
                    --metrics-listen "127.0.0.1:$port" ;;
        web) [ -n "$P_WEB_PORT" ] || P_WEB_PORT=$(h_free_port tcp)
             h_spawn web env MQTT_TOKEN="${P_TOKEN[web]}" "$H_BIN/ntpmon-web" --listen "127.0.0.1:$P_WEB_PORT" \
                    --allow-loopback --servers-refresh 2s --metrics-listen "127.0.0.1:$port" $P_WEB_FLAGS
             h_wait 10 h_port_open_tcp "$P_WEB_PORT" || { echo "# ntpmon-web did not listen"; tail -5 "${H_LOG[web]}"; exit 1; } ;;
        tokend) h_spawn tokend env MQTT_TOKEN="${P_TOKEN[tokend]}" "$H_BIN/ntpmon-tokend" \
                    --revoked-file "$NTPMON_REVOKED_FILE" --monitor-ttl 6h --metrics-listen "127.0.0.1:$port" ;;
        agent-*) h_spawn "$name" "$H_BIN/ntpmon-agent" -e "$P_ENV" --state-dir "$H_TMP/$name" --log-level "$P_AGENT_LOG" \
                    monitor --allow-loopback --ntp-port "$H_NTP_PORT" --min-interval 1s --sample-spacing 0.2s \
                    --timeout 1s --first-probe-max 1s --resend-timeout 10s --status-interval 10s \
                    --mqtt-backoff-max 2s --metrics-listen "127.0.0.1:$port" $P_AGENT_FLAGS ;;
        *) echo "# p_start: unknown daemon $name"; exit 1 ;;
    esac
}

# p_made_ids FILE [MONITOR…]: every result ULID the agents (default: all) made, from their debug logs, sorted.
p_made_ids() {
    local out=$1 m; shift
    for m in ${*:-$P_MONITORS}; do sed -n 's/.* result \([0-9A-Z]\{26\}\) server .*/\1/p' "$H_TMP/agent-$m.log"; done |
        LC_ALL=C sort -u >"$out"
}
# p_stored_ids FILE [MONITOR]: the ids in the results table (of one monitor), sorted.
p_stored_ids() {
    if [ $# -gt 1 ]; then
        h_sql "SELECT r.id FROM results r JOIN monitors m ON m.id = r.monitor_id WHERE m.name = '$2'"
    else
        h_sql "SELECT id FROM results"
    fi | LC_ALL=C sort >"$1"
}
