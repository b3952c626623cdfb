#!/usr/bin/env bash
# The lab's bookkeeping: a lab records its namespaces on disk with a per-run prefix; a test killed with -9 leaves them
# behind, and the next lab that starts removes them (processes left inside are killed by PID); a lab that ends
# normally leaves nothing. Links are cut and restored; addresses are the documented ones.
. "$(dirname "$0")/../../lib/netlab.sh"
nl_enter "$@"
. "$(dirname "$0")/../../lib/harness.sh"
export NL_STATE_DIR=$H_TMP/records  # a record directory of our own: other tests' labs are not this test's business

# a lab in a child that dies without cleaning up
cat >"$H_TMP/crash.sh" <<'SH'
. "$H_ROOT/tests/lib/netlab.sh"
nl_enter "$@"
. "$H_ROOT/tests/lib/harness.sh"
nl_init
nl_host a; nl_router b
nl_link a b
nl_spawn b sleeper sleep 600
echo "$NL_PREFIX" >"$1"
h_wait 10 test -n "${H_PID[sleeper]}"
sleep 600
SH
env -u NL_IN_NETNS bash "$H_TMP/crash.sh" "$H_TMP/prefix" >"$H_TMP/crash.log" 2>&1 &
CRASH=$!
h_wait_ok "the child lab is up" 20 test -s "$H_TMP/prefix"
P=$(cat "$H_TMP/prefix")
h_wait_ok "its namespaces exist" 10 bash -c "ip netns list | grep -q '^$P-b'"
h_is "$(cat "$NL_STATE_DIR/$P" | tail -n +2 | tr '\n' ' ')" "$P-a $P-b " "the record lists them"
SLEEPER=$(ip netns pids "$P-b" | head -1)
kill -KILL "$CRASH"; wait "$CRASH" 2>/dev/null
h_ok "after kill -9 they are still there" bash -c "ip netns list | grep -q '^$P-a'"

nl_init
h_ok "the next lab sweeps the stale one" bash -c "! ip netns list | grep -q '^$P-'"
h_ok "and its record" test ! -e "$NL_STATE_DIR/$P"
h_is "$(_h_starttime "$SLEEPER")" "" "the process left in it is gone"
h_like "$NL_PREFIX" '^nl[0-9a-f]{6}$' "a fresh per-run prefix"

nl_host m1; nl_router r1; nl_host s1
nl_link m1 r1; nl_link r1 s1 servers
nl_mgmt m1
nl_routes
h_is "$(nl_addr m1 4) $(nl_addr r1 4 m1) $(nl_addr r1 4 s1) $(nl_addr s1 4)" \
    "198.51.100.1 198.51.100.2 192.0.2.1 192.0.2.2" "IPv4 of the lab and server pools: documentation ranges"
h_is "$(nl_addr m1 6) $(nl_addr s1 6)" "2001:db8:100::1 2001:db8:200::2" "IPv6 of the lab and server pools: 2001:db8::/32"
h_is "$(nl_addr m1 4 hub) $(nl_addr m1 6 hub)" "203.0.113.1 " "the management link: 203.0.113.0/24, IPv4 only"
h_ok "m1 reaches s1 through r1" nl_warm m1 s1
h_ok "m1 reaches the hub on its management link" nl_exec m1 ping -c 1 -W 2 "$NL_HUB_ADDR"
nl_cut r1 s1
h_fails "a cut link carries nothing" nl_exec m1 ping -c 1 -W 1 "$(nl_addr s1 4)"
h_ok "the management link is unaffected" nl_exec m1 ping -c 1 -W 2 "$NL_HUB_ADDR"
nl_restore r1 s1
h_ok "restored" h_wait 10 nl_exec m1 ping -c 1 -W 1 "$(nl_addr s1 4)"
h_is "$(ip netns list | grep -c "^$NL_PREFIX-")" 3 "three namespaces, all with the prefix"
REC=$NL_STATE_DIR/$NL_PREFIX
nl_cleanup
h_is "$(ip netns list | grep -c "^$NL_PREFIX-")" 0 "cleanup removes them"
h_ok "and the record" test ! -e "$REC"
h_done
