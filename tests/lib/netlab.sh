# tests/lib/netlab.sh — a network-namespace lab for integration tests: hosts (monitors, NTP servers) and routers,
# each in its own network namespace, joined by veth pairs with addresses from the documentation ranges (192.0.2.0/24,
# 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32), real kernel routing between them (static routes computed from the
# topology), and a "hub": the test's own private network namespace, where the harness runs mosquitto, MariaDB and the
# server daemons on 127.0.0.1 as usual and where the broker also listens on $NL_HUB_ADDR for the lab's agents.
# Nothing outside the lab is touched: the test runs in a namespace of its own (unshare -n), and every namespace the
# lab makes carries a per-run prefix, is recorded on disk and removed at exit — or, after a crash, by the next lab
# that starts (a stale-record sweep).
#
#   . "$(dirname "$0")/../../lib/netlab.sh"
#   nl_enter "$@"                  # FIRST: re-runs this script under `unshare -n` (or prints a TAP skip and exits)
#   . "$(dirname "$0")/../../lib/harness.sh"
#   nl_init                        # prefix, record, sweep, hub address; exports NL_MQTT_URL, NL_BROKER_LISTENER
#   nl_chain m1 r1 r2 s1           # hosts m1, s1 and routers r1, r2, linked in that order (or nl_host/nl_router/nl_link)
#   nl_mgmt m1                     # m1 reaches the hub (the broker) on a link of its own, outside the data path
#   nl_routes                      # shortest-path static routes everywhere (IPv4 and IPv6); call after the links
#   ag_broker "$NL_BROKER_LISTENER"        # the broker now also listens on $NL_HUB_ADDR (tests/lib/agent.sh)
#   nl_spawn m1 agent-m1 ntpmon-agent … monitor --allow-documentation-nets   # h_spawn inside a namespace
#
# Agents refuse documentation addresses unless told otherwise: every agent a lab test starts (`monitor`, `check`,
# `trace`) takes --allow-documentation-nets (for labs and tests; never in production).
#
# Nodes and links
#   nl_host NAME / nl_router NAME  a namespace with lo up (routers forward, and send ICMP without rate limits)
#   nl_link A B [POOL]             a veth pair A<->B; in A it is named B and in B it is named A (one link per pair).
#                                  Each link gets a /30 from POOL and a /64: POOL "lab" (default) = 198.51.100.0/24
#                                  and 2001:db8:100:K::/64; "servers" = 192.0.2.0/24 and 2001:db8:200:K::/64
#                                  (a different /24 and /48 than the monitors', which the selector's network rules
#                                  care about); the first node named gets .1/::1 of the link, the second .2/::2.
#   nl_chain A R… B                hosts A and B with routers R… between them, linked in that order (the last link in
#                                  the "servers" pool), e.g. nl_chain m1 r1 r2 r3 s1; nodes that exist are reused
#   nl_path_addrs FAM A R… B       the addresses a trace from A sees along that chain: each router's address on the
#                                  link it was entered by, then B's
#   nl_mgmt NODE                   a link NODE<->hub from the "mgmt" pool 203.0.113.0/24 (/30, IPv4 only) and a host
#                                  route to $NL_HUB_ADDR
#   nl_routes                      installs routes: transit only through routers; re-run after adding links
#   nl_addr NODE [4|6] [PEER]      NODE's address on its link to PEER (default: its first data link)
#   nl_ns NODE                     the namespace name (for `ip -n`, `ip netns exec`)
#   NL_HUB_ADDR                    203.0.113.254, the hub's address the lab reaches
# Running things
#   nl_exec NODE CMD…              runs CMD in NODE's namespace (foreground)
#   nl_spawn NODE NAME CMD…        h_spawn NAME inside NODE (log $H_TMP/NAME.log, PID ${H_PID[NAME]})
#   nl_chronyd NODE [PORT]         chronyd serving NTP on every address of NODE (process chronyd-NODE; PORT 123)
#   nl_fake NODE [PORT] [ntp-fake flags…]   tests/tools/ntp-fake on NODE's addresses (process fake-NODE)
#   nl_warm A B                    pings B's addresses from A until they answer (neighbour discovery done)
# Faults
#   nl_cut A B / nl_restore A B    takes the link down / up at both ends (`ip link set … down|up`; restore puts
#                                  back the routes the kernel dropped with the link)
#   nl_drop_ntp ROUTER [PORT]      drops forwarded UDP to PORT (123) on ROUTER (nft; the router still sends ICMP
#                                  time-exceeded for packets that expire there, as real routers do)
#   nl_allow_ntp ROUTER            lifts that
# The lab needs root and `ip netns`; where namespaces cannot be made, nl_enter / nl_init print
# "ok 1 # skip …" and exit 0. Records live in $NL_STATE_DIR (default /run/ntpmon-netlab): one file per run with the
# owner's PID and start time and the namespaces made; a record whose owner is gone is swept (the processes left in
# its namespaces are killed by PID, then the namespaces deleted).

NL_STATE_DIR=${NL_STATE_DIR:-/run/ntpmon-netlab}
NL_HUB_ADDR=203.0.113.254
NL_HUB=hub

# nl_enter "$@": run the rest of the test in a private network namespace.
nl_enter() {
    if [ -n "${NL_IN_NETNS:-}" ]; then
        ip link set lo up
        return 0
    fi
    if unshare -n true 2>/dev/null && ip netns list >/dev/null 2>&1; then
        exec unshare -n env NL_IN_NETNS=1 bash "$0" "$@"
    fi
    echo "ok 1 # skip the network lab needs root and network namespaces (unshare -n, ip netns)"
    echo "1..1"
    exit 0
}

_nl_skip() {
    echo "ok 1 # skip the network lab cannot run here: $*"
    echo "1..1"
    trap - EXIT
    [ -n "${NL_RECORD:-}" ] && nl_cleanup
    [ -n "${H_TMP:-}" ] && rm -rf "$H_TMP"
    exit 0
}

_nl_starttime() { sed -n 's/.*) \([^Z]\) /\1 /p' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }

# Removes the namespaces of one record (killing by PID whatever still runs in them) and the record.
_nl_remove_record() {
    local rec=$1 ns pid
    [ -f "$rec" ] || return 0
    tail -n +2 "$rec" | while read -r ns; do
        [ -n "$ns" ] || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    rm -f "$rec"
}

# The stale-record sweep: labs whose owner process is gone (a crashed or killed test).
_nl_sweep() {
    local rec owner start
    for rec in "$NL_STATE_DIR"/nl*; do
        [ -f "$rec" ] || continue
        read -r owner start <"$rec" || continue
        if [ -n "$owner" ] && [ "$(_nl_starttime "$owner")" = "$start" ]; then continue; fi
        echo "# netlab: removing the stale lab $(basename "$rec") (owner $owner is gone)"
        _nl_remove_record "$rec"
    done
}

nl_init() {
    [ -n "${NL_IN_NETNS:-}" ] || { echo "# nl_init: call nl_enter first"; exit 1; }
    mkdir -p "$NL_STATE_DIR" 2>/dev/null || NL_STATE_DIR=${TMPDIR:-/tmp}/ntpmon-netlab && mkdir -p "$NL_STATE_DIR"
    _nl_sweep
    NL_PREFIX=nl$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
    NL_RECORD=$NL_STATE_DIR/$NL_PREFIX
    echo "$$ $(_nl_starttime $$)" >"$NL_RECORD"
    declare -gA NL_KIND NL_ADJ NL_A4 NL_A6 NL_NET4 NL_NET6 NL_FIRST
    NL_NODES=()
    NL_LINKS=()
    declare -gA NL_POOL_NEXT=([lab]=0 [servers]=0 [mgmt]=0)
    NL_KIND[$NL_HUB]=hub
    ip addr replace "$NL_HUB_ADDR/32" dev lo || _nl_skip "cannot add $NL_HUB_ADDR to the private loopback"
    H_MQTT_PORT=${H_MQTT_PORT:-$(h_free_port tcp)}
    NL_MQTT_URL=mqtt://$NL_HUB_ADDR:$H_MQTT_PORT
    NL_BROKER_LISTENER="listener $H_MQTT_PORT $NL_HUB_ADDR"
    export NL_MQTT_URL NL_PREFIX
    trap 'h_cleanup; nl_cleanup' EXIT
    ip netns add "$NL_PREFIX-probe" 2>/dev/null || _nl_skip "ip netns add failed"
    ip netns del "$NL_PREFIX-probe"
}

nl_cleanup() {
    [ -n "${NL_RECORD:-}" ] && _nl_remove_record "$NL_RECORD"
    NL_RECORD=
}

nl_ns() { [ "$1" = "$NL_HUB" ] && echo "" || echo "$NL_PREFIX-$1"; }

_nl_node() {
    local name=$1 kind=$2
    [ ${#name} -le 12 ] && [[ "$name" =~ ^[a-z][a-z0-9-]*$ ]] || { echo "# netlab: bad node name '$name'"; exit 1; }
    [ -z "${NL_KIND[$name]:-}" ] || { echo "# netlab: node '$name' exists"; exit 1; }
    local ns=$NL_PREFIX-$name
    echo "$ns" >>"$NL_RECORD"
    ip netns add "$ns" || _nl_skip "ip netns add $ns failed"
    ip -n "$ns" link set lo up
    NL_KIND[$name]=$kind
    NL_NODES+=("$name")
    local fwd=0
    [ "$kind" = router ] && fwd=1
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=$fwd net.ipv6.conf.all.forwarding=$fwd \
        net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 net.ipv6.conf.default.accept_dad=0 \
        net.ipv6.conf.all.keep_addr_on_down=1 net.ipv6.conf.default.keep_addr_on_down=1 \
        net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null
}
nl_host() { _nl_node "$1" host; }
nl_router() { _nl_node "$1" router; }

# _nl_ipcmd NODE ARGS…: `ip` in NODE's namespace (the hub is this namespace)
_nl_ip() {
    local node=$1; shift
    if [ "$node" = "$NL_HUB" ]; then ip "$@"; else ip -n "$NL_PREFIX-$node" "$@"; fi
}
nl_exec() {
    local node=$1; shift
    if [ "$node" = "$NL_HUB" ]; then "$@"; else ip netns exec "$NL_PREFIX-$node" "$@"; fi
}
nl_spawn() {
    local node=$1 name=$2; shift 2
    if [ "$node" = "$NL_HUB" ]; then h_spawn "$name" "$@"; else h_spawn "$name" ip netns exec "$NL_PREFIX-$node" "$@"; fi
}

_nl_pool_base() {
    case $1 in
        lab) echo "198.51.100 2001:db8:100" ;;   # three disjoint documentation /24s (and /48s)
        servers) echo "192.0.2 2001:db8:200" ;;
        mgmt) echo "203.0.113 2001:db8:300" ;;
        *) echo "# netlab: unknown pool '$1'" >&2; exit 1 ;;
    esac
}

# _nl_veth A B POOL: the link, its addresses and the bookkeeping
_nl_veth() {
    local a=$1 b=$2 pool=$3
    [ -n "${NL_KIND[$a]:-}" ] && [ -n "${NL_KIND[$b]:-}" ] || { echo "# netlab: unknown node in link $a-$b"; exit 1; }
    [ -z "${NL_NET4[$a|$b]:-}" ] || { echo "# netlab: $a and $b are already linked"; exit 1; }
    local k=${NL_POOL_NEXT[$pool]} max=64
    [ "$pool" = mgmt ] && max=63 # 203.0.113.252/30 holds the hub address
    [ "$k" -lt "$max" ] || { echo "# netlab: pool $pool is full"; exit 1; }
    NL_POOL_NEXT[$pool]=$((k + 1))
    local base4 base6
    read -r base4 base6 < <(_nl_pool_base "$pool")
    local na=$b nb=$a
    [ "$a" = "$NL_HUB" ] && na=nl-$b
    [ "$b" = "$NL_HUB" ] && nb=nl-$a
    local nsa nsb
    nsa=$(nl_ns "$a"); nsb=$(nl_ns "$b")
    # create both ends where they belong (names need only be unique inside each namespace)
    local tmp=nlv$RANDOM$RANDOM
    ip link add "${tmp:0:15}" type veth peer name "${tmp:0:13}p" || { echo "# netlab: ip link add failed"; exit 1; }
    if [ -n "$nsa" ]; then ip link set "${tmp:0:15}" netns "$nsa"; fi
    if [ -n "$nsb" ]; then ip link set "${tmp:0:13}p" netns "$nsb"; fi
    _nl_ip "$a" link set "${tmp:0:15}" name "$na"
    _nl_ip "$b" link set "${tmp:0:13}p" name "$nb"
    local a4=$base4.$((4 * k + 1)) b4=$base4.$((4 * k + 2))
    local p6=$base6:$(printf '%x' "$k") # canonical text: the /64 of link 0 is base6::/64
    [ "$k" -eq 0 ] && p6=$base6
    local a6=$p6::1 b6=$p6::2
    _nl_ip "$a" addr add "$a4/30" dev "$na"
    _nl_ip "$b" addr add "$b4/30" dev "$nb"
    if [ "$pool" != mgmt ]; then
        _nl_ip "$a" -6 addr add "$a6/64" dev "$na" nodad
        _nl_ip "$b" -6 addr add "$b6/64" dev "$nb" nodad
    fi
    _nl_ip "$a" link set "$na" up
    _nl_ip "$b" link set "$nb" up
    NL_NET4[$a|$b]=$base4.$((4 * k))/30; NL_NET4[$b|$a]=${NL_NET4[$a|$b]}
    NL_A4[$a|$b]=$a4; NL_A4[$b|$a]=$b4
    if [ "$pool" != mgmt ]; then
        NL_NET6[$a|$b]=$p6::/64; NL_NET6[$b|$a]=${NL_NET6[$a|$b]}
        NL_A6[$a|$b]=$a6; NL_A6[$b|$a]=$b6
    fi
}

nl_link() {
    local a=$1 b=$2 pool=${3:-lab}
    _nl_veth "$a" "$b" "$pool"
    NL_ADJ[$a]="${NL_ADJ[$a]:-} $b"
    NL_ADJ[$b]="${NL_ADJ[$b]:-} $a"
    NL_LINKS+=("$a|$b")
    [ -n "${NL_FIRST[$a]:-}" ] || NL_FIRST[$a]=$b
    [ -n "${NL_FIRST[$b]:-}" ] || NL_FIRST[$b]=$a
}

nl_chain() {
    local nodes=("$@") i n=$#
    for ((i = 0; i < n; i++)); do
        [ -n "${NL_KIND[${nodes[$i]}]:-}" ] && continue
        if [ "$i" -eq 0 ] || [ "$i" -eq $((n - 1)) ]; then nl_host "${nodes[$i]}"; else nl_router "${nodes[$i]}"; fi
    done
    for ((i = 1; i < n; i++)); do
        [ -n "${NL_NET4[${nodes[$((i - 1))]}|${nodes[$i]}]:-}" ] && continue
        nl_link "${nodes[$((i - 1))]}" "${nodes[$i]}" "$([ "$i" -eq $((n - 1)) ] && echo servers || echo lab)"
    done
}

nl_path_addrs() {
    local fam=$1; shift
    local nodes=("$@") i out=()
    for ((i = 1; i < $#; i++)); do out+=("$(nl_addr "${nodes[$i]}" "$fam" "${nodes[$((i - 1))]}")"); done
    echo "${out[@]}"
}

nl_mgmt() {
    local node=$1
    _nl_veth "$node" "$NL_HUB" mgmt
    _nl_ip "$node" route replace "$NL_HUB_ADDR/32" via "${NL_A4[$NL_HUB|$node]}"
}

nl_addr() {
    local node=$1 fam=${2:-4} peer=${3:-}
    [ -n "$peer" ] || peer=${NL_FIRST[$node]:-}
    if [ "$fam" = 6 ]; then echo "${NL_A6[$node|$peer]:-}"; else echo "${NL_A4[$node|$peer]:-}"; fi
}

# nl_routes: for every node, a breadth-first search that passes only through routers gives the first hop toward
# every link it is not on; the route to that link's subnets goes via the first hop's address.
nl_routes() { _nl_routes_for "${NL_NODES[@]}"; }
_nl_routes_for() {
    local n
    for n in "$@"; do
        [ "$n" != "$NL_HUB" ] || continue
        declare -A first=() seen=()
        local queue=("$n") head=0 cur nb
        seen[$n]=1
        while [ $head -lt ${#queue[@]} ]; do
            cur=${queue[$head]}; head=$((head + 1))
            [ "$cur" = "$n" ] || [ "${NL_KIND[$cur]}" = router ] || continue
            for nb in ${NL_ADJ[$cur]:-}; do
                [ -z "${seen[$nb]:-}" ] || continue
                seen[$nb]=1
                if [ "$cur" = "$n" ]; then first[$nb]=$nb; else first[$nb]=${first[$cur]}; fi
                queue+=("$nb")
            done
        done
        local l x y via
        for l in "${NL_LINKS[@]}"; do
            x=${l%%|*}; y=${l##*|}
            [ "$x" = "$n" ] || [ "$y" = "$n" ] && continue
            # the nearer end of the link decides the first hop (a link behind a host is still reached via the host)
            local hop=""
            if [ -n "${first[$x]:-}" ] && { [ "${NL_KIND[$x]}" = router ] || [ "$x" = "${first[$x]}" ]; }; then hop=${first[$x]}
            elif [ -n "${first[$y]:-}" ] && { [ "${NL_KIND[$y]}" = router ] || [ "$y" = "${first[$y]}" ]; }; then hop=${first[$y]}
            fi
            [ -n "$hop" ] || continue
            via=${NL_A4[$hop|$n]}
            _nl_ip "$n" route replace "${NL_NET4[$l]}" via "$via"
            [ -n "${NL_NET6[$l]:-}" ] && _nl_ip "$n" -6 route replace "${NL_NET6[$l]}" via "${NL_A6[$hop|$n]}"
        done
        unset first seen
    done
}

nl_chronyd() {
    local node=$1 port=${2:-123}
    local dir=$H_TMP/chronyd-$node
    mkdir -p "$dir"
    cat >"$dir/chrony.conf" <<CONF
port $port
allow all
local stratum 1
cmdport 0
pidfile $dir/chronyd.pid
driftfile $dir/drift
CONF
    nl_spawn "$node" "chronyd-$node" chronyd -x -u root -d -f "$dir/chrony.conf"
    h_wait 15 nl_exec "$node" sh -c "ss -Huln 'sport = :$port' | grep -q ." \
        || { echo "# chronyd in $node did not start"; h_log "chronyd-$node"; exit 1; }
}

nl_fake() {
    local node=$1 port=123
    shift
    if [[ "${1:-}" =~ ^[0-9]+$ ]]; then port=$1; shift; fi
    local addr=${NL_A4[$node|${NL_FIRST[$node]}]}
    nl_spawn "$node" "fake-$node" "$H_BIN/ntp-fake" --listen "$addr:$port" "$@"
    h_wait 10 grep -q "listening" "${H_LOG[fake-$node]}" || { echo "# ntp-fake in $node did not start"; h_log "fake-$node"; exit 1; }
}

nl_warm() {
    local a=$1 b=$2 peer addr
    for peer in ${NL_ADJ[$b]:-}; do
        for addr in "${NL_A4[$b|$peer]:-}" "${NL_A6[$b|$peer]:-}"; do
            [ -n "$addr" ] || continue
            h_wait 10 nl_exec "$a" ping -c 1 -W 1 "$addr" || { echo "# netlab: $a cannot reach $b at $addr"; return 1; }
        done
    done
}

nl_cut() { _nl_ip "$1" link set "$(_nl_ifname "$1" "$2")" down; _nl_ip "$2" link set "$(_nl_ifname "$2" "$1")" down; }
# The kernel drops the routes through a link that goes down: restoring puts the two ends' routes back.
nl_restore() {
    _nl_ip "$1" link set "$(_nl_ifname "$1" "$2")" up
    _nl_ip "$2" link set "$(_nl_ifname "$2" "$1")" up
    _nl_routes_for "$1" "$2"
    if [ "$1" = "$NL_HUB" ]; then _nl_ip "$2" route replace "$NL_HUB_ADDR/32" via "${NL_A4[$NL_HUB|$2]}"; fi
    if [ "$2" = "$NL_HUB" ]; then _nl_ip "$1" route replace "$NL_HUB_ADDR/32" via "${NL_A4[$NL_HUB|$1]}"; fi
}
_nl_ifname() { if [ "$2" = "$NL_HUB" ]; then echo "$NL_HUB"; elif [ "$1" = "$NL_HUB" ]; then echo "nl-$2"; else echo "$2"; fi; }

nl_drop_ntp() {
    local node=$1 port=${2:-123}
    nl_exec "$node" nft -f - <<NFT
table inet ntpmon_lab {
    chain forward {
        type filter hook forward priority 0; policy accept;
        udp dport $port drop
    }
}
NFT
}
nl_allow_ntp() { nl_exec "$1" nft delete table inet ntpmon_lab; }
