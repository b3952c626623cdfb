#!/usr/bin/env bash
# kill -9 of the agent mid-run: nothing unconfirmed is lost (everything the confirmer had not confirmed, and what
# was never published, is in the on-disk spool and arrives after the restart), nothing confirmed is re-sent.
. "$(dirname "$0")/../../lib/harness.sh"
. "$H_ROOT/tests/lib/agent.sh"
ag_broker
ag_fake a 127.0.0.2 --offset 0.001
ag_fake b 127.0.0.3 --offset 0.002
ag_fake c 127.0.0.4 --no-reply
WITHHOLD=$H_TMP/withhold
ag_responder --withhold-file "$WITHHOLD"
ag_setup de-fra1 >/dev/null
FLAGS=(--min-interval 0.4 --resend-timeout 60)  # no timeout re-sends: every second delivery would be a re-send
ag_start de-fra1 "${FLAGS[@]}"
ag_assign de-fra1 5 '[{"id":1,"ip":"127.0.0.2","status":"active","interval_s":1,"samples":1},
  {"id":2,"ip":"127.0.0.3","status":"active","interval_s":1,"samples":2},
  {"id":3,"ip":"127.0.0.4","status":"testing","interval_s":1,"samples":1}]'

seen_lines() { grep -c '^result ' "${H_LOG[responder]}"; }
h_wait_ok "phase A: results flow and are confirmed" 20 bash -c "[ \$(grep -c '^result ' '${H_LOG[responder]}') -ge 8 ]"
touch "$WITHHOLD"
mark_b=$(wc -l <"${H_LOG[responder]}")  # every line after this one was handled with the file in place
seen_b=$(seen_lines)
h_wait_ok "phase B: results are published but not confirmed" 20 bash -c "[ \$(grep -c '^result ' '${H_LOG[responder]}') -ge $((seen_b + 8)) ]"
h_stop agent-de-fra1 KILL

# What the agent has on disk as unconfirmed (R records minus C/D records): the ground truth after a crash.
unconfirmed() { awk '$1=="R"{s[$2]=1} $1=="C"||$1=="D"{delete s[$2]} END{for(k in s) print k}' "$AG_STATE/test/spool.log" | sort; }
U=$(unconfirmed)
h_diag "unconfirmed in the spool after kill -9: $(echo "$U" | grep -c .)"
withheld=$(tail -n +$((mark_b + 1)) "${H_LOG[responder]}" | awk '$1=="result"{print $2}' | sort -u)
h_is "$(comm -23 <(echo "$withheld") <(echo "$U") | grep -c .)" 0 "every result seen but not confirmed is still in the spool"
made=$(ag_made agent-de-fra1)
seen=$(ag_results | awk '{print $2}' | sort -u)
h_is "$(comm -23 <(comm -23 <(echo "$made") <(echo "$seen")) <(echo "$U") | grep -c .)" 0 \
    "every result made but never published is still in the spool"
h_num_between "$(echo "$U" | grep -c .)" 8 100000 "the spool holds the withheld results"

rm -f "$WITHHOLD"
mark_r=$(wc -l <"${H_LOG[responder]}")
AG_PROC=agent-2 ag_start de-fra1 "${FLAGS[@]}"
h_wait_ok "the restarted agent finds them all" 10 grep -q "spool: $(echo "$U" | grep -c .) unconfirmed result(s)" "${H_LOG[agent-2]}"
after() { tail -n +$((mark_r + 1)) "${H_LOG[responder]}" | awk '$1=="result"{print $2}' | sort -u; }
h_wait_ok "after the restart every unconfirmed result arrives" 20 bash -c \
    "[ -z \"\$(comm -23 <(echo '$U') <(tail -n +$((mark_r + 1)) '${H_LOG[responder]}' | awk '\$1==\"result\"{print \$2}' | sort -u))\" ]"
old_after=$(comm -12 <(after) <(echo "$made"))
h_is "$(comm -23 <(echo "$old_after") <(echo "$U") | grep -c .)" 0 "nothing confirmed before the crash is sent again"
h_is "$(ag_results | awk '$8 > 1 {print $2}' | sort -u | comm -23 - <(echo "$U") | grep -c .)" 0 \
    "every duplicate delivery was an unconfirmed result"
h_wait_ok "the spool drains" 15 ag_status_like de-fra1 '"spool":0,'
h_wait_ok "new results keep flowing" 10 bash -c "[ \$(grep -c ' result .* server 1 ' '${H_LOG[agent-2]}') -ge 2 ]"
h_stop agent-2; h_is "$?" 0 "SIGTERM: exit 0"

# the bound: with confirmations withheld and --spool-max 3, the oldest are dropped, counted, logged and reported
touch "$WITHHOLD"
AG_PROC=agent-3 ag_start de-fra1 "${FLAGS[@]}" --spool-max 3
h_wait_ok "a full spool drops the oldest with a log line" 20 grep -q "spool: full (3 results): dropped the oldest" "${H_LOG[agent-3]}"
h_wait_ok "the status reports spool_dropped" 10 ag_status_like de-fra1 '"spool":3,"spool_dropped":[1-9]'
h_stop agent-3
h_is "$(awk '$1=="R"{s[$2]=1} $1=="C"||$1=="D"{delete s[$2]} END{print length(s)}' "$AG_STATE/test/spool.log")" 3 "the spool file holds 3"
h_ok "and records the drops" grep -q '^D ' "$AG_STATE/test/spool.log"
h_done
