#!/usr/bin/env bash
# IPv4/IPv6 probing follows the host's addresses (no --allow-loopback): run in a private network namespace, the
# agent starts with both families off (only loopback), turns IPv4 on when an interface gets an IPv4 address, IPv6
# when one gets a global IPv6 address, and IPv4 off again when it is removed — status and probing follow. The
# addresses are from the documentation ranges (192.0.2.0/24, 2001:db8::/32), which an agent probes only with
# --allow-documentation-nets: without it `check` refuses them before opening any socket.
if [ -z "${AG_IN_NETNS:-}" ]; then
    if unshare -n true 2>/dev/null; then exec unshare -n env AG_IN_NETNS=1 bash "$0" "$@"; fi
    echo "ok 1 # skip cannot create a network namespace here"; echo "1..1"; exit 0
fi
ip link set lo up
. "$(dirname "$0")/../../lib/harness.sh"
. "$H_ROOT/tests/lib/agent.sh"
ag_broker
ag_responder
ag_setup ca-yyz1 >/dev/null
ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up
FLAGS=(--allow-documentation-nets --ntp-port "$AG_NTP_PORT" --min-interval 0.5 --first-probe-max 0.3 --sample-spacing 0.05 --timeout 1
       --status-interval 1 --mqtt-backoff-min 0.1 --mqtt-backoff-max 0.5 --netwatch-interval 1)
h_spawn agent "$H_BIN/ntpmon-agent" -e test --state-dir "$AG_STATE" --log-level debug monitor "${FLAGS[@]}"
LOG=${H_LOG[agent]}
status() { ag_status ca-yyz1; }
h_wait_ok "only loopback: both families off" 10 grep -q "probing over IPv4 off, IPv6 off" "$LOG"
h_wait_ok "status says so" 10 ag_status_like ca-yyz1 '"ipv4":false,"ipv6":false'
h_ok "the daemon warns that the test flag is on" grep -q " warn: --allow-documentation-nets: .*labs and tests only" "$LOG"
ag_assign ca-yyz1 1 '[{"id":51,"ip":"192.0.2.2","status":"active","interval_s":1,"samples":1},
  {"id":52,"ip":"2001:db8::2","status":"active","interval_s":1,"samples":1}]'
h_wait_ok "assignment taken" 10 grep -q "assignment seq 1 from the broker: 2 server(s)" "$LOG"

ip addr add 192.0.2.1/24 dev v0 && ip addr add 192.0.2.2/24 dev v1
ag_fake v4 192.0.2.2 --offset 0.004
h_wait_ok "an IPv4 address appears: IPv4 on" 10 grep -q "probing over IPv4 on, IPv6 off" "$LOG"
h_wait_ok "the IPv4 server is probed" 10 grep -q " result .* server 51 .* error ''\$" "$LOG"
h_is "$(grep -c ' result .* server 52 ' "$LOG")" 0 "the IPv6 server is not"
h_wait_ok "status ipv4:true ipv6:false" 10 ag_status_like ca-yyz1 '"ipv4":true,"ipv6":false'

# without --allow-documentation-nets a documentation address is refused with its reason, before any socket is opened
# (strace records every socket call; this namespace has no route out either); with it, the same check probes
CHECK=("$H_BIN/ntpmon-agent" check --ntp-port "$AG_NTP_PORT" --samples 1 --timeout 0.3)
if command -v strace >/dev/null && strace -qq -o /dev/null true 2>/dev/null; then
    ST=(strace -f -qq -e trace=socket,connect,sendto,sendmsg,sendmmsg -o "$H_TMP/strace.out")
else
    ST=(); h_diag "strace cannot trace here: the socket assertions are skipped"
fi
out=$("${ST[@]}" "${CHECK[@]}" 192.0.2.2 2>&1); rc=$?
h_is "$rc" 2 "check 192.0.2.2 without --allow-documentation-nets: exit 2"
h_is "$out" "ntpmon-agent: refusing to probe 192.0.2.2: documentation address (--allow-documentation-nets allows it in labs and tests)" \
    "… with the reason and the flag that allows it"
h_is "$("${CHECK[@]}" 2001:db8::2 2>&1; echo "rc $?")" "ntpmon-agent: refusing to probe 2001:db8::2: documentation address (--allow-documentation-nets allows it in labs and tests)
rc 2" "the same for 2001:db8::/32"
if [ ${#ST[@]} -gt 0 ]; then
    h_is "$(grep -c . "$H_TMP/strace.out")" 0 "refused before any socket is opened (no socket/connect/send call)"
    out=$("${ST[@]}" "${CHECK[@]}" --allow-documentation-nets 192.0.2.2 2>&1); rc=$?
    h_is "$rc" 0 "with --allow-documentation-nets the same check probes: exit 0"
    h_like "$(grep -c '^[0-9]* *socket(AF_INET,' "$H_TMP/strace.out")" '^[1-9]' "… and strace saw its socket (the assertion above can fail)"
fi
h_like "$("${CHECK[@]}" --allow-documentation-nets 192.0.2.2)" '"ip":"192.0.2.2".*"error":""' "a documentation check with the flag answers"

ip -6 addr add 2001:db8::1/64 dev v0 nodad && ip -6 addr add 2001:db8::2/64 dev v1 nodad
ag_fake v6 2001:db8::2 --offset -0.004
h_wait_ok "a global IPv6 address appears: IPv6 on" 10 grep -q "probing over IPv4 on, IPv6 on" "$LOG"
h_wait_ok "the IPv6 server is probed" 10 grep -q " result .* server 52 .* error ''\$" "$LOG"
h_wait_ok "and its results arrive" 10 grep -q ' server 52 monitor ca-yyz1 .* error .. offset -0.00' "${H_LOG[responder]}"

ip addr del 192.0.2.1/24 dev v0 && ip addr del 192.0.2.2/24 dev v1
h_wait_ok "the IPv4 addresses go: IPv4 off" 10 grep -q "probing over IPv4 off, IPv6 on" "$LOG"
h_wait_ok "status follows" 10 ag_status_like ca-yyz1 '"ipv4":false,"ipv6":true'
m=$(grep -c ' result .* server 52 ' "$LOG")
h_wait_ok "IPv6 probing goes on" 10 bash -c "[ \$(grep -c ' result .* server 52 ' '$LOG') -gt $((m + 1)) ]"
# an IPv4 probe already under way at the switch has ended by now (one sample, 1 s timeout): count from here
n=$(grep -c ' result .* server 51 ' "$LOG"); m=$(grep -c ' result .* server 52 ' "$LOG")
h_wait_ok "IPv6 probing goes on and on" 10 bash -c "[ \$(grep -c ' result .* server 52 ' '$LOG') -gt $((m + 1)) ]"
h_is "$(grep -c ' result .* server 51 ' "$LOG")" "$n" "IPv4 probing stopped"
h_stop agent; h_is "$?" 0 "SIGTERM: exit 0"
h_done
