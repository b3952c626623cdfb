#!/usr/bin/env bash
# Database TLS (DATABASE_DSN tls=…) against a real MariaDB whose certificate comes from a scratch CA, for 127.0.0.1
# and localhost; its ntpmon user must use TLS, so every connection that succeeds here is an encrypted one.
#   tls=true: the chain and the host name are verified (CA from --database-ca-file, the DSN's tls-ca, or the
#   system's store) — the right CA connects; another CA, no CA (system store) or a host name the certificate does not
#   name are refused with a clear error. tls=skip-verify connects whatever the certificate, with a warning.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
h_start_mariadb_tls
dsn() { echo "ntpmon:ntpmon@tcp($1:$H_DB_PORT)/ntpmon_test${2:+?$2}"; }
ctl() { local d=$1; shift; DATABASE_DSN=$d "$H_BIN/ntpmonctl" "$@"; }

h_ok "tls=true with the server's CA (--database-ca-file) connects" ctl "$(dsn 127.0.0.1 tls=true)" --database-ca-file "$H_TLS_CA" db migrate
ca_escaped=$(/usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$H_TLS_CA")
h_ok "tls=true with the CA as the DSN's tls-ca connects" ctl "$(dsn 127.0.0.1 "tls=true&tls-ca=$ca_escaped")" db status
h_ok "… and by the name localhost, which the certificate also names" ctl "$(dsn localhost tls=true)" --database-ca-file "$H_TLS_CA" db status
h_ok "DATABASE_CA_FILE works like the flag" env DATABASE_CA_FILE="$H_TLS_CA" DATABASE_DSN="$(dsn 127.0.0.1 tls=true)" "$H_BIN/ntpmonctl" db status

# refused DESC REGEX DSN ARGS…: ntpmonctl exits 1 and says REGEX (one clear line)
refused() {
    local desc=$1 re=$2 out rc; shift 2
    out=$(ctl "$@" db status 2>&1); rc=$?
    h_is "$rc" 1 "$desc"
    h_like "$out" "$re" "…saying: $re"
    h_unlike "$out" "ntpmon:ntpmon" "…never showing the password"
}
refused "without TLS the server refuses the user (it REQUIRE SSL): the successes above were encrypted" \
    "Access denied" "$(dsn 127.0.0.1)"
refused "tls=true with another CA is refused" \
    "cannot connect to ntpmon@127.0.0.1:$H_DB_PORT/ntpmon_test \(tls=true\): TLS/SSL error: .*certificate.*must be signed by $H_TLS_OTHER_CA and name the host 127.0.0.1" \
    "$(dsn 127.0.0.1 tls=true)" --database-ca-file "$H_TLS_OTHER_CA"
refused "tls=true without a CA uses the system's store, which does not know the scratch CA: refused" \
    "TLS/SSL error: .*a CA of the system's store" "$(dsn 127.0.0.1 tls=true)"
refused "tls=true to 127.0.0.2, a host name the certificate does not name, is refused" \
    "TLS/SSL error: .*name the host 127.0.0.2" "$(dsn 127.0.0.2 tls=true)" --database-ca-file "$H_TLS_CA"

out=$(ctl "$(dsn 127.0.0.2 tls=skip-verify)" db status 2>&1); rc=$?
h_is "$rc" 0 "tls=skip-verify connects to a host its certificate does not name"
h_like "$out" "warn: database: tls=skip-verify encrypts without verifying" "…and warns"
h_ok "tls=skip-verify ignores the CA" ctl "$(dsn 127.0.0.1 tls=skip-verify)" --database-ca-file "$H_TLS_OTHER_CA" db status
out=$(ctl "$(dsn 127.0.0.1 tls=true)" --database-ca-file "$H_TMP/missing.pem" db status 2>&1); rc=$?
h_like "$out" "cannot read the database CA file $H_TMP/missing.pem" "a missing CA file is a configuration error"
out=$(ctl "$(dsn 127.0.0.1 tls=maybe)" db status 2>&1)
h_like "$out" "DSN parameter tls must be true, false or skip-verify" "an unknown tls value is a configuration error"
h_done
