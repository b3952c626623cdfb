#!/usr/bin/env bash
# The broker is stopped for 60 s and restarted: the agent keeps probing into its spool (status shows it), reconnects
# with its persistent session, and every result made meanwhile arrives at the confirmer; the spool drains.
. "$(dirname "$0")/../../lib/harness.sh"
. "$H_ROOT/tests/lib/agent.sh"
OUTAGE_S=${AGENT_OUTAGE_S:-60}
ag_broker
ag_fake a 127.0.0.2 --offset 0.003
ag_fake b ::1 --offset -0.003
ag_responder
ag_setup us-lax1 >/dev/null
ag_start us-lax1 --min-interval 1
ag_assign us-lax1 7 '[{"id":21,"ip":"127.0.0.2","status":"active","interval_s":1,"samples":1},
  {"id":22,"ip":"::1","status":"active","interval_s":1,"samples":1}]'
h_wait_ok "results flow" 20 bash -c "[ \$(grep -c '^result ' '${H_LOG[responder]}') -ge 4 ]"

h_stop mosquitto
made_before=$(ag_made agent-us-lax1 | grep -c .)
start=$(date +%s)
# keep the broker away for the whole outage, checking on the agent meanwhile
h_wait $((OUTAGE_S + 30)) bash -c "[ \$(( \$(date +%s) - $start )) -ge $OUTAGE_S ]"
made_during=$(( $(ag_made agent-us-lax1 | grep -c .) - made_before ))
h_num_between "$made_during" $((OUTAGE_S / 2)) 100000 "the agent kept probing while the broker was away ($made_during results)"
h_ok "the agent is still running" h_alive agent-us-lax1
h_restart_mosquitto
restart_made=$(ag_made agent-us-lax1)
h_wait_ok "every result made before the restart arrives" 30 bash -c \
    "[ -z \"\$(comm -23 <(echo '$restart_made') <(grep '^result ' '${H_LOG[responder]}' | awk '{print \$2}' | sort -u))\" ]"
h_wait_ok "the spool drains" 20 ag_status_like us-lax1 '"spool":0,'
h_like "$(ag_status us-lax1)" '"online":true' "status back online"
h_is "$(ag_results | grep -c "error '[^']")" 0 "no result carries an error"
h_stop agent-us-lax1; h_is "$?" 0 "SIGTERM: exit 0"
h_done
