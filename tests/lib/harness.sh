# tests/lib/harness.sh — sourced by every integration test. Gives each test a scratch dir, free loopback ports,
# real servers (mariadbd, mosquitto, chronyd) started as root on 127.0.0.1 and our daemons, all stopped by PID
# from an EXIT trap; bounded polling instead of sleeps; TAP output ("ok N - …"); server logs printed on failure.
#
#   . "$(dirname "$0")/../../lib/harness.sh"
#   h_start_mariadb; h_start_mosquitto; h_start_chronyd
#   h_ok "migrate works" "$H_BIN/ntpmonctl" db migrate
#   h_is "$(h_sql 'SELECT 1')" 1 "sql works"
#   h_done
#
# Brokers with authentication (the broker-auth plugin, as in production):
#   h_start_broker_auth [EXTRA_CONFIG_LINES]   mosquitto + ntpmon_auth.so with a fresh HMAC key, allow_anonymous false;
#       exports DEPLOYMENT_MODE (default test), JWT_KEY (the secret: ntpmonctl token issue and ntpmon-tokend sign
#       with it), NTPMON_REVOKED_FILE (the broker's revocation file; `ntpmonctl token revoke` appends to it) and
#       MQTT_URL; sets H_JWT_KEY_FILE. H_AUTH_LEEWAY (default 30) sets plugin_opt_leeway, H_AUTH_PURGE_INTERVAL
#       (default: the plugin's 60 s) plugin_opt_purge_interval.
#   h_token ROLE [NAME] [TTL]                  prints a token (e.g. MQTT_TOKEN=$(h_token ingest) …; monitors need NAME)
#
# Database over TLS: h_start_mariadb_tls (a scratch CA in $H_TLS_CA, the server's certificate for 127.0.0.1 and
# localhost, a second listener on 127.0.0.2 its certificate does not name; the ntpmon user REQUIRE SSL).
set -u

H_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
H_BUILD=${NTPMON_BUILD:-$H_ROOT/build}
case "$H_BUILD" in /*) ;; *) H_BUILD=$H_ROOT/$H_BUILD ;; esac
H_BIN=$H_BUILD/bin
H_PLUGIN=$H_BUILD/broker-auth/ntpmon_auth.so
H_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ntpmon-test.XXXXXX")
H_TEST=$(basename "$0" .sh)
H_N=0
H_FAILED=0
H_NAMES=()      # started processes, by name
declare -A H_PID H_LOG
export H_TMP H_BIN H_BUILD H_ROOT
export LOG_LEVEL=${LOG_LEVEL:-info}
# Sanitizer builds: fail loudly on leaks and UB, and let a plugin built with ASan load into mosquitto.
if [ "${NTPMON_ASAN:-0}" = 1 ]; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=66}
    # appended, so a report is fatal whatever the caller's UBSAN_OPTIONS say (mosquitto's ASan plugin too)
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1:exitcode=67"
    H_LIBASAN=$(gcc -print-file-name=libasan.so)
fi

# ---- TAP ----
h_pass() { H_N=$((H_N + 1)); echo "ok $H_N - $*"; }
h_fail() {
    H_N=$((H_N + 1)); H_FAILED=$((H_FAILED + 1))
    echo "not ok $H_N - $1"
    shift
    [ $# -gt 0 ] && printf '#   %s\n' "$@"
    return 0
}
# h_ok DESC CMD…: passes when CMD exits 0 (its output is shown on failure).
h_ok() {
    local desc=$1; shift
    local out
    if out=$("$@" 2>&1); then h_pass "$desc"; else h_fail "$desc" "command: $*" "exit: $?" "${out:0:2000}"; fi
}
# h_fails DESC CMD…: passes when CMD exits non-zero.
h_fails() {
    local desc=$1; shift
    local out
    if out=$("$@" 2>&1); then h_fail "$desc" "command unexpectedly succeeded: $*" "${out:0:2000}"; else h_pass "$desc"; fi
}
h_is() {
    if [ "$1" = "$2" ]; then h_pass "$3"; else h_fail "$3" "got:  '$1'" "want: '$2'"; fi
}
h_like() {
    if [[ "$1" =~ $2 ]]; then h_pass "$3"; else h_fail "$3" "got:  '${1:0:2000}'" "want match: '$2'"; fi
}
h_unlike() {
    if [[ "$1" =~ $2 ]]; then h_fail "$3" "got:  '${1:0:2000}'" "must not match: '$2'"; else h_pass "$3"; fi
}
# h_num_between VALUE LOW HIGH DESC (floating point)
h_num_between() {
    if awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v+0 >= lo+0 && v+0 <= hi+0) }'; then h_pass "$4"
    else h_fail "$4" "got: $1" "want: between $2 and $3"; fi
}
h_diag() { printf '# %s\n' "$@"; }

# Every h_wait bound is multiplied by this (NTPMON_TEST_WAIT_SCALE, default 3; 6 against the ASan build): a bound
# only limits how long a failing condition is awaited, a passing one returns at once, so generous bounds cost a
# green run nothing while a loaded 2-core machine (CI beside other work, make test-stress) stays green.
H_WAIT_SCALE=${NTPMON_TEST_WAIT_SCALE:-$([ "${NTPMON_ASAN:-0}" = 1 ] && echo 6 || echo 3)}
# h_wait TIMEOUT_S CMD…: polls CMD every 50 ms until it succeeds; returns 1 after TIMEOUT_S × H_WAIT_SCALE.
h_wait() {
    local timeout=$1; shift
    local deadline=$(( $(date +%s%N) / 1000000 + timeout * 1000 * H_WAIT_SCALE ))
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        [ $(( $(date +%s%N) / 1000000 )) -ge $deadline ] && return 1
        sleep 0.05
    done
}
# h_wait_ok DESC TIMEOUT_S CMD…: h_wait reported as a test.
h_wait_ok() {
    local desc=$1 timeout=$2; shift 2
    if h_wait "$timeout" "$@"; then h_pass "$desc"; else h_fail "$desc" "not true within $((timeout * H_WAIT_SCALE))s: $*"; fi
}

# ---- ports ----
# h_free_port [tcp|udp]: a port the kernel just gave out on 127.0.0.1 (race-free enough for tests).
h_free_port() {
    /usr/bin/python3 - "${1:-tcp}" <<'PY'
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
while True:
    s = socket.socket(socket.AF_INET, kind); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    # keep clear of the other protocol too, so one number serves TCP+UDP needs
    o = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM)
    try:
        o.bind(("127.0.0.1", p)); o.close(); s.close(); print(p); break
    except OSError:
        s.close(); o.close()
PY
}
h_port_open_tcp() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
h_port_bound_udp() { ss -Huln "sport = :$1" 2>/dev/null | grep -q .; }

# ---- processes ----
# h_spawn NAME CMD…: starts CMD in the background, output to $H_TMP/NAME.log; PID in ${H_PID[NAME]}.
h_spawn() {
    local name=$1; shift
    H_LOG[$name]=$H_TMP/$name.log
    "$@" >>"${H_LOG[$name]}" 2>&1 &
    H_PID[$name]=$!
    H_NAMES+=("$name")
    # Also on disk: a spawn from a subshell (e.g. inside h_ok's $(…)) leaves H_PID unchanged, and cleanup must still
    # stop it. The start time tells a recorded PID from a later process that reuses the number.
    echo "$! $(_h_starttime $!)" >>"$H_TMP/.spawned"
}
# _h_starttime PID: the process's start time (clock ticks since boot), empty when it is gone or a zombie.
_h_starttime() { sed -n 's/.*) \([^Z]\) /\1 /p' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }
h_alive() { local p=${H_PID[$1]:-}; [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
# h_stop NAME [SIGNAL]: signals the process (TERM by default) and waits for it (KILL after 15 s). Returns its status.
h_stop() {
    local name=$1 sig=${2:-TERM} pid=${H_PID[$1]:-}
    [ -n "$pid" ] || return 0
    kill -s "$sig" "$pid" 2>/dev/null
    local i=0
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1))
        [ $i -eq 300 ] && kill -KILL "$pid" 2>/dev/null
        sleep 0.05
    done
    local rc=0
    wait "$pid" 2>/dev/null || rc=$?
    H_PID[$name]=
    return $rc
}
h_log() { cat "${H_LOG[$1]}" 2>/dev/null; }

h_cleanup() {
    local rc=$?
    local i
    for (( i=${#H_NAMES[@]}-1; i>=0; i-- )); do
        local name=${H_NAMES[$i]} pid=${H_PID[${H_NAMES[$i]}]:-}
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
    done
    for name in "${H_NAMES[@]}"; do
        local pid=${H_PID[$name]:-} n=0
        [ -n "$pid" ] || continue
        while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    # whatever a subshell spawned (missing from H_PID) and is still the process we started
    local pid start
    [ -f "$H_TMP/.spawned" ] && while read -r pid start; do
        [ -n "$start" ] && [ "$(_h_starttime "$pid")" = "$start" ] || continue
        kill -TERM "$pid" 2>/dev/null
        local n=0
        while [ "$(_h_starttime "$pid")" = "$start" ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
        [ "$(_h_starttime "$pid")" = "$start" ] && kill -KILL "$pid" 2>/dev/null
    done <"$H_TMP/.spawned"
    if [ "$H_FAILED" -gt 0 ] || [ "$rc" -ne 0 ]; then
        for name in "${H_NAMES[@]}"; do
            echo "# ---- last lines of $name.log ----"
            tail -n 40 "${H_LOG[$name]}" 2>/dev/null | sed 's/^/#   /'
        done
    fi
    if [ "${NTPMON_KEEP:-0}" = 1 ]; then echo "# kept $H_TMP"; else rm -rf "$H_TMP"; fi
}
trap h_cleanup EXIT
trap 'exit 130' INT TERM

# h_done: ends the test; the exit status is the number of failures (capped).
h_done() {
    echo "1..$H_N"
    [ "$H_N" -gt 0 ] || { echo "not ok - no tests ran"; exit 1; }
    [ "$H_FAILED" -eq 0 ] && exit 0
    exit 1
}

# ---- the daemons' systemd side and /healthz ----
# h_notify_socket NAME [abstract]: a datagram socket standing in for systemd's notify socket (a path, or with
# "abstract" a name in the abstract namespace); prints the value for NOTIFY_SOCKET. Each datagram a daemon sends
# becomes one line of $H_TMP/NAME.notify, its newlines shown as '|'.
h_notify_socket() {
    local name=$1 where
    if [ "${2:-}" = abstract ]; then where="@ntpmon-test-$$-$name"; else where=$H_TMP/$name.notify.sock; fi
    : >"$H_TMP/$name.notify"
    h_spawn "notify-$name" /usr/bin/python3 -u -c '
import socket, sys
where, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + where[1:] if where.startswith("@") else where)
print("bound", flush=True)
with open(out, "a", buffering=1) as f:
    while True:
        f.write(s.recv(65536).decode(errors="replace").replace("\n", "|") + "\n")
' "$where" "$H_TMP/$name.notify"
    h_wait 10 grep -q bound "${H_LOG[notify-$name]}" || { echo "# the notify socket did not come up"; exit 1; }
    echo "$where"
}
# h_notified NAME REGEX: true once a datagram to NAME's socket matched REGEX (extended).
h_notified() { grep -qE "$2" "$H_TMP/$1.notify"; }
# h_healthz PORT: prints "CODE BODY" of GET /healthz (one line).
h_healthz() { curl -s --max-time 3 -o - -w ' %{http_code}' "http://127.0.0.1:$1/healthz" | tr '\n' ' ' | awk '{c=$NF; $NF=""; sub(/ +$/, ""); print c " " $0}'; }
# h_healthz_is PORT REGEX: true when "CODE BODY" matches REGEX (for h_wait).
h_healthz_is() { [[ "$(h_healthz "$1")" =~ $2 ]]; }
# h_ready NAME PORT STATUS_REGEX: a daemon's start as systemd sees it — READY=1 on NAME's notify socket, a STATUS=
# matching STATUS_REGEX, WATCHDOG=1 (start it with a small WATCHDOG_USEC) — and /healthz 200 ok on PORT.
h_ready() {
    h_wait_ok "READY=1 reaches the notify socket" 20 h_notified "$1" '^READY=1\|STATUS='
    h_wait_ok "STATUS=$3" 20 h_notified "$1" "^STATUS=$3"
    h_wait_ok "WATCHDOG=1 comes from the loop" 10 h_notified "$1" '^WATCHDOG=1$'
    h_wait_ok "/healthz is 200 ok" 20 h_healthz_is "$2" '^200 ok$'
}
# h_outage PORT broker|database [REASON_REGEX]: stops that server, waits for /healthz on PORT to answer 503 and why
# (by default "broker not connected" / "database unreachable"), starts it again and waits for 200.
h_outage() {
    local port=$1 what=$2 reason=${3:-}
    if [ "$what" = broker ]; then
        h_stop mosquitto
        h_wait_ok "broker stopped: /healthz is 503 and says why" 20 h_healthz_is "$port" "^503 unhealthy: ${reason:-broker not connected}"
        h_restart_mosquitto
        h_wait_ok "broker back: /healthz is 200 again" 60 h_healthz_is "$port" '^200 ok$'
    else
        h_stop_mariadb
        h_wait_ok "database stopped: /healthz is 503 and says why" 20 h_healthz_is "$port" "^503 unhealthy: ${reason:-database unreachable}"
        h_restart_mariadb
        h_wait_ok "database back: /healthz is 200 again" 30 h_healthz_is "$port" '^200 ok$'
    fi
}
# h_stopped PROC NAME [SIGNAL]: the daemon PROC exits 0 on SIGNAL (TERM) and says STOPPING=1 on NAME's socket.
h_stopped() {
    h_stop "$1" "${3:-TERM}"; h_is "$?" 0 "SIG${3:-TERM}: exits 0"
    h_ok "STOPPING=1 reaches the notify socket" h_notified "$2" '^STOPPING=1'
}

# ---- MariaDB ----
# One pristine datadir per build tree, copied per test (mariadb-install-db takes ~1 s, a copy ~50 ms).
h_mariadb_template() {
    local tpl=$H_BUILD/test-cache/mariadb-template
    if [ ! -d "$tpl/mysql" ]; then
        mkdir -p "$H_BUILD/test-cache"
        (
            flock 9
            if [ ! -d "$tpl/mysql" ]; then
                rm -rf "$tpl.tmp" "$tpl.tmpdir"
                mkdir -p "$tpl.tmpdir" # its own tmpdir: a shared /tmp cleaned by others broke the install once
                mariadb-install-db --no-defaults --datadir="$tpl.tmp" --user=root --tmpdir="$tpl.tmpdir" \
                    --auth-root-authentication-method=normal --skip-test-db >"$H_BUILD/test-cache/install-db.log" 2>&1 \
                    && mv "$tpl.tmp" "$tpl"
                rm -rf "$tpl.tmpdir"
            fi
        ) 9>"$H_BUILD/test-cache/.lock"
    fi
    [ -d "$tpl/mysql" ]
}

# h_start_mariadb: sets H_DB_PORT, H_DB_SOCK and exports DATABASE_DSN (user ntpmon, database ntpmon_test). Tests
# trade durability for speed (flush at commit 2, a 64 MB pool); the array H_DB_EXTRA (later options win) lets a
# benchmark run MariaDB as production does.
h_start_mariadb() {
    h_mariadb_template || { echo "# mariadb-install-db failed"; cat "$H_BUILD/test-cache/install-db.log"; exit 1; }
    H_DB_DIR=$H_TMP/mariadb
    mkdir -p "$H_DB_DIR.tmp" # its own tmpdir: a shared /tmp cleaned by others must not break its temporary tables
    cp -a "$H_BUILD/test-cache/mariadb-template" "$H_DB_DIR"
    H_DB_PORT=$(h_free_port tcp)
    H_DB_SOCK=$H_TMP/mariadb.sock
    _h_mariadbd
    h_wait 30 mariadb --no-defaults -S "$H_DB_SOCK" -uroot -e 'SELECT 1' || { echo "# mariadbd did not start"; h_log mariadb; exit 1; }
    mariadb --no-defaults -S "$H_DB_SOCK" -uroot -e "
        CREATE USER IF NOT EXISTS 'ntpmon'@'127.0.0.1' IDENTIFIED BY 'ntpmon';
        GRANT ALL ON *.* TO 'ntpmon'@'127.0.0.1';"
    export DATABASE_DSN="ntpmon:ntpmon@tcp(127.0.0.1:$H_DB_PORT)/ntpmon_test"
    export DEPLOYMENT_MODE=test
}
H_DB_EXTRA=()   # extra mariadbd arguments (h_start_mariadb_tls, bench/soak.sh), kept across h_restart_mariadb
_h_mariadbd() {
    h_spawn mariadb mariadbd --no-defaults --datadir="$H_DB_DIR" --user=root --socket="$H_DB_SOCK" \
        --pid-file="$H_TMP/mariadb.pid" --port="$H_DB_PORT" --bind-address="${H_DB_BIND:-127.0.0.1}" --skip-name-resolve \
        --log-error="$H_TMP/mariadb.err" --innodb-buffer-pool-size=64M --innodb-log-file-size=48M \
        --innodb-flush-log-at-trx-commit=2 --skip-log-bin --tmpdir="$H_DB_DIR.tmp" ${H_DB_EXTRA[@]+"${H_DB_EXTRA[@]}"}
}
# h_make_cert DIR NAME CA SAN: a key and certificate DIR/NAME.{key,pem} signed by the CA DIR/CA.{key,pem} (made
# first when missing: a scratch CA, valid two days) with subjectAltName SAN ("IP:127.0.0.1,DNS:localhost").
h_make_cert() {
    local dir=$1 name=$2 ca=$3 san=$4
    mkdir -p "$dir"
    if [ ! -f "$dir/$ca.pem" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=ntpmon test CA $ca" \
            -keyout "$dir/$ca.key" -out "$dir/$ca.pem" 2>/dev/null || return 1
    fi
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
        -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null || return 1
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" >"$dir/$name.ext"
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.pem" -CAkey "$dir/$ca.key" -CAcreateserial -days 2 \
        -extfile "$dir/$name.ext" -out "$dir/$name.pem" 2>/dev/null
}
# h_start_mariadb_tls: h_start_mariadb with TLS. The server's certificate (for 127.0.0.1 and localhost) comes from
# a scratch CA, $H_TLS_CA; $H_TLS_OTHER_CA is a second CA that signed nothing the server has. The server also
# listens on 127.0.0.2, an address its certificate does not name (the wrong-host-name case). The ntpmon user must
# use TLS (REQUIRE SSL), so a connection that succeeds is an encrypted one.
h_start_mariadb_tls() {
    H_TLS_DIR=$H_TMP/tls
    h_make_cert "$H_TLS_DIR" mariadb ca "IP:127.0.0.1,DNS:localhost" && h_make_cert "$H_TLS_DIR" other other-ca "DNS:other.invalid" \
        || { echo "# openssl could not make the test certificates"; exit 1; }
    H_TLS_CA=$H_TLS_DIR/ca.pem
    H_TLS_OTHER_CA=$H_TLS_DIR/other-ca.pem
    H_DB_BIND=127.0.0.1,127.0.0.2
    H_DB_EXTRA=(--ssl-ca="$H_TLS_CA" --ssl-cert="$H_TLS_DIR/mariadb.pem" --ssl-key="$H_TLS_DIR/mariadb.key")
    h_start_mariadb
    mariadb --no-defaults -S "$H_DB_SOCK" -uroot -e "ALTER USER 'ntpmon'@'127.0.0.1' REQUIRE SSL;"
    export H_TLS_CA H_TLS_OTHER_CA
}
# Stops MariaDB (for outage tests) keeping its datadir; h_restart_mariadb brings it back on the same port.
h_stop_mariadb() { h_stop mariadb "${1:-TERM}"; }
h_restart_mariadb() {
    _h_mariadbd
    h_wait 30 mariadb --no-defaults -S "$H_DB_SOCK" -uroot -e 'SELECT 1'
}
# h_sql SQL: runs SQL on the test database as root over the socket; prints tab-separated rows, no header.
h_sql() { mariadb --no-defaults -S "$H_DB_SOCK" -uroot -N -B "${H_DB_NAME:-ntpmon_test}" -e "$1"; }

# ---- mosquitto ----
# h_start_mosquitto [EXTRA_CONFIG_LINES]: anonymous broker on a free port (tests of parts other than broker-auth);
# sets H_MQTT_PORT and exports MQTT_URL. broker-auth tests add the plugin via extra lines.
h_start_mosquitto() {
    H_MQTT_PORT=${H_MQTT_PORT:-$(h_free_port tcp)}
    H_MQTT_CONF=$H_TMP/mosquitto.conf
    mkdir -p "$H_TMP/mosquitto-data"
    cat >"$H_MQTT_CONF" <<CONF
user root
pid_file $H_TMP/mosquitto.pid
listener $H_MQTT_PORT 127.0.0.1
allow_anonymous ${H_MQTT_ANONYMOUS:-true}
persistence true
persistence_location $H_TMP/mosquitto-data/
autosave_interval 1
max_queued_messages 1000000
max_queued_bytes 268435456
max_inflight_messages 100
# as conf/mosquitto.conf: MSG_MAX_PACKET of common/msg.h
max_packet_size 2097152
set_tcp_nodelay true
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
${1:-}
CONF
    _h_mosquitto
    export MQTT_URL="mqtt://127.0.0.1:$H_MQTT_PORT"
}
_h_mosquitto() {
    if [ "${NTPMON_ASAN:-0}" = 1 ]; then
        h_spawn mosquitto env LD_PRELOAD="$H_LIBASAN" ASAN_OPTIONS=detect_leaks=0 mosquitto -c "$H_MQTT_CONF"
    else
        h_spawn mosquitto mosquitto -c "$H_MQTT_CONF"
    fi
    h_wait 15 h_port_open_tcp "$H_MQTT_PORT" || { echo "# mosquitto did not start"; h_log mosquitto; exit 1; }
}
h_restart_mosquitto() { _h_mosquitto; }

# ---- chronyd as a loopback NTP server ----
# h_start_chronyd [NAME] [ADDR]: sets H_NTP_PORT (shared by all chronyd of a test) and starts chronyd -x on ADDR.
h_start_chronyd() {
    local name=${1:-chronyd} addr=${2:-127.0.0.1}
    H_NTP_PORT=${H_NTP_PORT:-$(h_free_port udp)}
    local dir=$H_TMP/$name
    mkdir -p "$dir"
    cat >"$dir/chrony.conf" <<CONF
port $H_NTP_PORT
bindaddress $addr
allow 127.0.0.0/8
local stratum 1
cmdport 0
pidfile $dir/chronyd.pid
driftfile $dir/drift
CONF
    h_spawn "$name" chronyd -x -u root -d -f "$dir/chrony.conf"
    h_wait 15 h_port_bound_udp "$H_NTP_PORT" || { echo "# chronyd did not start"; h_log "$name"; exit 1; }
}

# ---- mosquitto with the broker-auth plugin ----
# h_start_broker_auth [EXTRA_CONFIG_LINES]: see the top of this file.
h_start_broker_auth() {
    export DEPLOYMENT_MODE=${DEPLOYMENT_MODE:-test}
    H_JWT_KEY_FILE=$H_TMP/jwt.key
    if [ ! -f "$H_JWT_KEY_FILE" ]; then
        "$H_BIN/ntpmonctl" key gen --alg HS256 --out "$H_TMP/jwt" >/dev/null || { echo "# key gen failed"; exit 1; }
    fi
    JWT_KEY=$(cat "$H_JWT_KEY_FILE"); export JWT_KEY
    export NTPMON_REVOKED_FILE=$H_TMP/revoked
    [ -f "$NTPMON_REVOKED_FILE" ] || : >"$NTPMON_REVOKED_FILE"
    [ -f "$H_PLUGIN" ] || { echo "# $H_PLUGIN is not built"; exit 1; }
    H_MQTT_ANONYMOUS=false h_start_mosquitto "plugin $H_PLUGIN
plugin_opt_env $DEPLOYMENT_MODE
plugin_opt_key_file $H_JWT_KEY_FILE
plugin_opt_revoked_file $NTPMON_REVOKED_FILE
plugin_opt_leeway ${H_AUTH_LEEWAY:-30}
${H_AUTH_PURGE_INTERVAL:+plugin_opt_purge_interval $H_AUTH_PURGE_INTERVAL}
# mosquitto 2.0.11 disconnects a client after any refused PUBLISH when max_queued_messages is 0 (see
# conf/mosquitto.conf): production uses a large count bounded by max_queued_bytes instead.
max_queued_messages 1000000
${1:-}"
}
# h_token ROLE [NAME] [TTL]: a token signed with $JWT_KEY for the env $DEPLOYMENT_MODE.
h_token() {
    "$H_BIN/ntpmonctl" token issue --role "$1" ${2:+--name "$2"} ${3:+--ttl "$3"} 2>/dev/null
}
