#!/usr/bin/env bash
# Faults against the running pipeline (real broker + plugin, MariaDB, three agents, ingest, scorer, selector, token
# service), each phase ending with a count by ULID that proves nothing was lost or doubled: kill -9 of the broker,
# then of ingest, scorer and selector in turn; MariaDB stopped for 30 s; one agent cut off the network (its spool
# drains later); one agent's token revoked (it loses its rights at once, the others go on). At the end the servers
# are deleted so the agents go quiet, and every result the agents made is stored exactly once, confirmed (their
# spools are empty) and scored exactly once — except what the revoked agent made after losing its rights, which
# stays in its spool.
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/../../lib/pipeline.sh"
P_AGENT_LOG=debug          # every result's ULID is in the agents' logs
P_PROXY_AGENTS=syd1        # syd1 reaches the broker through a proxy we can cut
p_stack

made=$H_TMP/made stored=$H_TMP/stored
stored_count() { h_sql "SELECT COUNT(*) FROM results"; }
# all_stored FILE: every id in FILE is in the results table
all_stored() { p_stored_ids "$stored"; [ -z "$(LC_ALL=C comm -23 "$1" "$stored" | head -1)" ]; }
unscored() { h_sql "SELECT COUNT(*) FROM results r WHERE NOT EXISTS
                    (SELECT 1 FROM log_scores l WHERE l.result_id = r.id AND l.monitor_id IS NOT NULL)"; }
all_scored() { [ "$(unscored)" = 0 ]; }
actives_at_least() { [ "$(h_sql "SELECT COUNT(*) FROM server_scores WHERE status = 'active'")" -ge "$1" ]; }
# phase_check NAME: what the agents made up to now all arrives; nothing stored that no agent made; scored once.
phase_check() {
    local name=$1 snap=$H_TMP/snap.$RANDOM
    p_made_ids "$snap"
    h_wait_ok "$name: every result made so far ($(wc -l <"$snap")) is stored" 90 all_stored "$snap"
    # stored first: whatever is stored by then was made (and logged) before the second snapshot; the other order
    # lets a result made and stored between the two look like one no agent made
    p_stored_ids "$stored"; p_made_ids "$made"
    h_is "$(LC_ALL=C comm -13 "$made" "$stored" | wc -l)" 0 "$name: nothing stored that no agent made"
    h_wait_ok "$name: every stored result is scored" 60 all_scored
    h_is "$(h_sql "SELECT COUNT(*) - COUNT(DISTINCT result_id) FROM log_scores WHERE monitor_id IS NOT NULL")" 0 \
        "$name: no result scored twice"
}
more_than() { [ "$(stored_count)" -gt "$1" ]; }
sleep_until() { [ "$(date +%s)" -ge "$1" ]; }  # with h_wait: let time pass while nothing else is awaited

h_wait_ok "results flow" 60 more_than 30

# ---- the broker, kill -9 ----
before=$(stored_count)
h_stop mosquitto KILL
# the broker stays down until an agent has noticed, so agents really spool and reconnect
disconnected() { [ "$(p_metric agent-lax1 ntpmon_agent_mqtt_connected)" = 0 ]; }
h_wait_ok "an agent notices the broker is gone" 30 disconnected
h_restart_mosquitto
h_wait_ok "broker back: results flow again" 60 more_than "$((before + 20))"
phase_check "broker kill -9"

# ---- ingest, scorer, selector, kill -9 in turn ----
for d in ingest scorer selector; do
    before=$(stored_count)
    h_stop "$d" KILL
    p_start "$d"
    h_wait_ok "$d restarted: results flow again" 60 more_than "$((before + 20))"
    phase_check "$d kill -9"
done
h_wait_ok "the selector still keeps the servers' monitors after its restart" 30 actives_at_least 3

# ---- MariaDB stopped for 30 s ----
h_stop_mariadb
t0=$(date +%s)
h_wait 60 sleep_until "$((t0 + 30))"
h_restart_mariadb; h_is "$?" 0 "MariaDB restarts on the same datadir and port"
before=$(stored_count)
h_wait_ok "results flow again after the database outage" 90 more_than "$((before + 20))"
phase_check "MariaDB stopped 30 s"

# ---- syd1 cut off the network: its spool holds what it makes, then drains ----
p_proxy_down syd1
t_cut=$(date +%s)
cut_off() { [ "$(p_metric agent-syd1 ntpmon_agent_mqtt_connected)" = 0 ]; }
h_wait_ok "syd1 notices it is cut off" 15 cut_off
h_like "$(curl -s "http://127.0.0.1:${P_METRICS[agent-syd1]}/healthz")" "^unhealthy: broker not connected" "…and its /healthz says so"
base=$(p_metric agent-syd1 ntpmon_agent_spool_depth)
spooling() { [ "$(p_metric agent-syd1 ntpmon_agent_spool_depth)" -ge $((base + 15)) ] 2>/dev/null; }
h_wait_ok "cut off, syd1 keeps probing into its spool" 60 spooling
p_proxy_up syd1
drained() { [ "$(p_metric agent-syd1 ntpmon_agent_spool_depth)" -le 3 ] 2>/dev/null; }
h_wait_ok "back online, syd1's spool drains" 90 drained
phase_check "syd1 cut off for $(( $(date +%s) - t_cut )) s"

# ---- ams1's token revoked: it loses its rights at once, the others go on ----
h_ok "revoke ams1" "$H_BIN/ntpmonctl" token revoke ams1 --revoked-file "$NTPMON_REVOKED_FILE"
gone() { [ "$(p_metric agent-ams1 ntpmon_agent_mqtt_connected)" = 0 ]; }
h_wait_ok "ams1 is dropped by the broker at once" 10 gone
t_gone=$(date -u '+%Y-%m-%d %H:%M:%S')
h_like "$(h_log mosquitto)" "refused client 'ams1' .*token revoked|ams1.*revoked" "the broker says why"
p_made_ids "$H_TMP/made.before_quiet"
# results made (their ts, the agents' clock: this machine's) after ams1 lost its connection; the second after
# t_gone is left out because t_gone is cut to whole seconds
made_after() { h_sql "SELECT COUNT(*) FROM results r JOIN monitors m ON m.id = r.monitor_id
                      WHERE m.name = '$1' AND r.ts >= '$t_gone' + INTERVAL 1 SECOND"; }
at_least_after() { [ "$(made_after "$1")" -ge "$2" ]; }
h_wait_ok "lax1 goes on" 60 at_least_after lax1 3
h_wait_ok "syd1 goes on" 60 at_least_after syd1 3
h_is "$(made_after ams1)" 0 "nothing ams1 made after it was dropped is stored"
refused() { grep -q "broker refused the connection: Not authorized" "${H_LOG[agent-ams1]}"; }
h_wait_ok "ams1's reconnects are refused" 20 refused

# ---- quiet down and count everything ----
for ip in 127.0.0.2 127.0.0.3 127.0.0.4; do h_ok "server delete $ip" "$H_BIN/ntpmonctl" server delete "$ip"; done
quiet() { [ "$(p_metric "agent-$1" ntpmon_agent_servers_assigned)" = 0 ] && [ "$(p_metric "agent-$1" ntpmon_agent_spool_depth)" = 0 ]; }
h_wait_ok "lax1's work list empties and its spool drains (every result confirmed)" 60 quiet lax1
h_wait_ok "syd1's work list empties and its spool drains (every result confirmed)" 60 quiet syd1
for m in lax1 syd1; do
    p_made_ids "$H_TMP/made.$m" "$m"
    p_stored_ids "$H_TMP/stored.$m" "$m"
    n=$(wc -l <"$H_TMP/made.$m")
    h_num_between "$n" 50 1000000 "$m made $n results"
    if cmp -s "$H_TMP/made.$m" "$H_TMP/stored.$m"; then h_pass "$m: stored exactly the $n results it made"
    else h_fail "$m: stored exactly the $n results it made" "$(diff "$H_TMP/made.$m" "$H_TMP/stored.$m" | head -5)"; fi
done
# ams1: everything up to the revocation is stored; what it made after stays in its spool (not lost)
h_stop agent-ams1
p_made_ids "$H_TMP/made.ams1" ams1
p_stored_ids "$H_TMP/stored.ams1" ams1
sed -n 's/^R \([0-9A-Z]\{26\}\) .*/\1/p' "$H_TMP/agent-ams1/$P_ENV/spool.log" 2>/dev/null | LC_ALL=C sort -u >"$H_TMP/spool.ams1"
h_is "$(LC_ALL=C comm -23 "$H_TMP/made.ams1" "$H_TMP/stored.ams1" | LC_ALL=C comm -23 - "$H_TMP/spool.ams1" | wc -l)" 0 \
    "ams1: every result it made is stored or still in its spool"
h_num_between "$(wc -l <"$H_TMP/spool.ams1")" 1 100000 "ams1: what it made after the revocation waits in its spool"
h_is "$(unscored)" 0 "every stored result is scored"
h_is "$(h_sql "SELECT COUNT(*) - COUNT(DISTINCT result_id) FROM log_scores WHERE monitor_id IS NOT NULL")" 0 "none twice"
h_is "$(h_sql "SELECT COUNT(*) FROM results_rejected")" 0 "nothing was rejected"
h_done
