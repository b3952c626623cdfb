#!/usr/bin/env bash
# asan: yes
# The lab path: a monitor host behind three routers traces a server host running chronyd. `ntpmon-agent trace`
# prints exactly {"ip","port","reached","hops"}: the three routers' addresses in order, then the server, for IPv4 and
# for IPv6; three RTTs per hop. Through a router that drops UDP 123, the path stops at that router and silent hops
# follow; a forbidden target is refused as `check` refuses it. The lab's addresses are documentation addresses: the
# agent traces them only with --allow-documentation-nets.
. "$(dirname "$0")/../../lib/netlab.sh"
nl_enter "$@"
. "$(dirname "$0")/../../lib/harness.sh"
nl_init
nl_chain m1 r1 r2 r3 s1
nl_routes
nl_chronyd s1
S4=$(nl_addr s1 4); S6=$(nl_addr s1 6)
h_ok "m1 reaches s1 (IPv4 and IPv6) through three routers" nl_warm m1 s1

# expected path: the routers' addresses facing m1, then the server
read -ra R4 < <(nl_path_addrs 4 m1 r1 r2 r3 s1)
read -ra R6 < <(nl_path_addrs 6 m1 r1 r2 r3 s1)
# shape: replace every rtt list by its length, so the JSON is compared exactly apart from the timings
shape() { jq -c '.hops |= map(.rtt |= length)'; }
want() { # want IP PORT REACHED ADDR… (a literal "null" for a silent hop)
    local ip=$1 port=$2 reached=$3; shift 3
    local hops="" ttl=1 a
    for a in "$@"; do
        if [ "$a" = null ]; then hops+="${hops:+,}{\"ttl\":$ttl,\"addr\":null,\"rtt\":0}"
        else hops+="${hops:+,}{\"ttl\":$ttl,\"addr\":\"$a\",\"rtt\":3}"; fi
        ttl=$((ttl + 1))
    done
    echo "{\"ip\":\"$ip\",\"port\":$port,\"reached\":$reached,\"hops\":[$hops]}"
}
# the lab's addresses are documentation addresses: agents in the lab take --allow-documentation-nets
AG=("$H_BIN/ntpmon-agent" --log-level warn --allow-documentation-nets)
out=$(nl_exec m1 "$H_BIN/ntpmon-agent" trace "$S4" 2>&1); rc=$?
h_is "$rc" 2 "without --allow-documentation-nets a documentation target is refused (exit 2)"
h_is "$out" "ntpmon-agent: refusing to trace $S4: documentation address (--allow-documentation-nets allows it in labs and tests)" \
    "… saying why and naming the flag"

out=$(nl_exec m1 "${AG[@]}" trace "$S4"); rc=$?
h_is "$rc" 0 "IPv4 trace: exit 0"
h_is "$(echo "$out" | jq -c 'keys_unsorted')" '["ip","port","reached","hops"]' "IPv4 trace: exactly the fields of the issue, in order"
h_is "$(echo "$out" | shape)" "$(want "$S4" 123 true "${R4[@]}")" "IPv4 trace: r1, r2, r3, then the server; 3 rtts each"
h_is "$(echo "$out" | jq '[.hops[].rtt[] | select(. > 0 and . < 1)] | length')" 12 "IPv4 rtts are plausible seconds"

out=$(nl_exec m1 "${AG[@]}" trace "$S6"); rc=$?
h_is "$rc" 0 "IPv6 trace: exit 0"
h_is "$(echo "$out" | shape)" "$(want "$S6" 123 true "${R6[@]}")" "IPv6 trace: r1, r2, r3, then the server"

# no NTP server on another port: the server's port unreachable ends the trace as reached
out=$(nl_exec m1 "${AG[@]}" --ntp-port 4123 trace "$S4")
h_is "$(echo "$out" | shape)" "$(want "$S4" 4123 true "${R4[@]}")" "--ntp-port: port unreachable from the server ends the trace"

# the middle router drops UDP 123: r1, r2, then silent hops until --trace-silent-hops
nl_drop_ntp r2
out=$(nl_exec m1 "${AG[@]}" --trace-timeout 0.3 --trace-silent-hops 3 trace "$S4")
h_is "$(echo "$out" | shape)" "$(want "$S4" 123 false "${R4[0]}" "${R4[1]}" null null null)" \
    "UDP 123 dropped on r2: the path up to r2, then silent hops"
out=$(nl_exec m1 "${AG[@]}" --trace-timeout 0.3 --trace-silent-hops 2 --max-hops 3 trace "$S6")
h_is "$(echo "$out" | shape)" "$(want "$S6" 123 false "${R6[0]}" "${R6[1]}" null)" "--max-hops ends the trace (IPv6)"
nl_allow_ntp r2
out=$(nl_exec m1 "${AG[@]}" trace "$S4")
h_is "$(echo "$out" | jq .reached)" true "drop lifted: the server is reached again"

# forbidden targets, as for check (--allow-documentation-nets opens nothing else)
for bad in 10.1.2.3 100.64.0.1 127.0.0.1 fe80::1 ff02::1 fd00::1 0.0.0.0 ::ffff:10.0.0.1 not-an-ip; do
    out=$(nl_exec m1 "${AG[@]}" trace "$bad" 2>&1); rc=$?
    h_is "$rc" 2 "trace $bad is refused (exit 2)"
done
h_like "$(nl_exec m1 "${AG[@]}" trace 10.1.2.3 2>&1)" "refusing to trace 10.1.2.3: private address" "the refusal says why"
h_like "$(nl_exec m1 "${AG[@]}" trace 127.0.0.1 2>&1)" "loopback address \(--allow-loopback allows it\)" "loopback needs --allow-loopback"
h_is "$(nl_exec m1 "${AG[@]}" --no-ipv6 trace "$S6" 2>&1 >/dev/null; echo $?)" "ntpmon-agent: refusing to trace $S6: IPv6 is turned off
2" "a family turned off is refused"
h_done
