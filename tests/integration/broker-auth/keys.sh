#!/usr/bin/env bash
# broker-auth: the key decides the algorithm. Brokers keyed with an EC P-256 or RSA public PEM accept only ES256 or
# RS256 tokens: HMAC tokens, the other asymmetric algorithm and HS256 signed with the public PEM as a secret
# (algorithm confusion) are refused. Bad plugin options stop the broker at start with a clear message.
. "$(dirname "$0")/../../lib/harness.sh"
export DEPLOYMENT_MODE=test
E=ntpmon/test
ctl=$H_BIN/ntpmonctl
probe=$H_BIN/auth-probe
forge="/usr/bin/python3 $(dirname "$0")/forge.py"
h_ok "EC key pair" "$ctl" key gen --alg ES256 --out "$H_TMP/ec"
h_ok "RSA key pair" "$ctl" key gen --alg RS256 --out "$H_TMP/rsa"
h_ok "HMAC secret" "$ctl" key gen --alg HS256 --out "$H_TMP/hs"
h_is "$(stat -c %a "$H_TMP/ec.key") $(stat -c %a "$H_TMP/hs.key")" "600 600" "private keys are 0600"
h_fails "key gen never overwrites" "$ctl" key gen --alg HS256 --out "$H_TMP/hs"
h_fails "key gen refuses an unknown alg" "$ctl" key gen --alg HS1 --out "$H_TMP/x"
JWT_KEY=$(cat "$H_TMP/hs.key"); export JWT_KEY

connect() { "$probe" -p "$H_MQTT_PORT" -u m1 -P "$1" "pub:$E/monitors/m1/status" 2>&1; }
start_broker() { # KEY_FILE
    H_MQTT_ANONYMOUS=false h_start_mosquitto "plugin $H_PLUGIN
plugin_opt_env test
plugin_opt_key_file $1
max_queued_messages 1000000"
}

# ---- EC P-256 public key ----
start_broker "$H_TMP/ec.pub"
es=$("$ctl" token issue --role monitor --name m1 --key-file "$H_TMP/ec.key" 2>/dev/null)
rs=$("$ctl" token issue --role monitor --name m1 --key-file "$H_TMP/rsa.key" 2>/dev/null)
hs=$("$ctl" token issue --role monitor --name m1 2>/dev/null)
h_like "$(connect "$es")" "pub $E/monitors/m1/status ok" "EC broker: ES256 token accepted"
h_like "$(connect "$hs")" "^connect refused" "EC broker: HS256 token refused"
h_like "$(connect "$rs")" "^connect refused" "EC broker: RS256 token refused"
h_like "$(connect "$($forge confusion m1 "$H_TMP/ec.pub")")" "^connect refused" \
    "EC broker: HS256 signed with the public PEM (algorithm confusion) refused"
h_like "$(connect "$($forge confusion-stripped m1 "$H_TMP/ec.pub")")" "^connect refused" \
    "EC broker: … also with the PEM's trailing newline stripped"
h_like "$(connect "$($forge none m1)")" "^connect refused" "EC broker: alg none refused"
h_like "$(h_log mosquitto)" "key $H_TMP/ec.pub \(EC P-256 key: ES256\)" "the broker logs which algorithm its key accepts"
h_stop mosquitto

# ---- RSA public key ----
start_broker "$H_TMP/rsa.pub"
h_like "$(connect "$rs")" "pub $E/monitors/m1/status ok" "RSA broker: RS256 token accepted"
h_like "$(connect "$es")" "^connect refused" "RSA broker: ES256 token refused"
h_like "$(connect "$hs")" "^connect refused" "RSA broker: HS256 token refused"
h_like "$(connect "$($forge confusion m1 "$H_TMP/rsa.pub")")" "^connect refused" \
    "RSA broker: HS256 signed with the public PEM (algorithm confusion) refused"
h_stop mosquitto

# ---- a private key given to the broker still works (its public half), with a warning ----
start_broker "$H_TMP/ec.key"
h_like "$(connect "$es")" "pub $E/monitors/m1/status ok" "a private EC key file works at the broker"
h_like "$(h_log mosquitto)" "the key file holds a private key" "…with a warning"
h_stop mosquitto

# ---- bad options stop the broker at start ----
bad_start() { # DESC EXPECTED_MESSAGE CONFIG_LINES
    local conf=$H_TMP/bad.conf out rc
    printf 'user root\nlistener %s 127.0.0.1\nallow_anonymous false\nlog_dest stderr\nplugin %s\n%s\n' \
        "$(h_free_port tcp)" "$H_PLUGIN" "$3" >"$conf"
    if [ "${NTPMON_ASAN:-0}" = 1 ]; then
        out=$(env LD_PRELOAD="$H_LIBASAN" ASAN_OPTIONS=detect_leaks=0 timeout 10 mosquitto -c "$conf" 2>&1); rc=$?
    else
        out=$(timeout 10 mosquitto -c "$conf" 2>&1); rc=$?
    fi
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [[ "$out" == *"$2"* ]]; then h_pass "$1"
    else h_fail "$1" "exit $rc" "$out"; fi
}
bad_start "missing plugin_opt_env" "plugin_opt_env is required" "plugin_opt_key_file $H_TMP/hs.key"
bad_start "missing plugin_opt_key_file" "plugin_opt_key_file is required" "plugin_opt_env test"
bad_start "unknown option" "unknown option plugin_opt_kee_file" \
    "plugin_opt_env test
plugin_opt_key_file $H_TMP/hs.key
plugin_opt_kee_file x"
bad_start "bad leeway" "plugin_opt_leeway 'soon'" "plugin_opt_env test
plugin_opt_key_file $H_TMP/hs.key
plugin_opt_leeway soon"
bad_start "bad env" "plugin_opt_env 'Prod!' is not a valid env" "plugin_opt_env Prod!
plugin_opt_key_file $H_TMP/hs.key"
bad_start "missing key file" "cannot open key file $H_TMP/nope" "plugin_opt_env test
plugin_opt_key_file $H_TMP/nope"
: >"$H_TMP/empty.key"
bad_start "empty key file" "the HMAC secret is empty" "plugin_opt_env test
plugin_opt_key_file $H_TMP/empty.key"
# RFC 7518 §3.2: an HS256 key has at least 32 bytes; the broker and every issuer refuse shorter ones
printf 'sixteen-byte-key\n' >"$H_TMP/short.key"
bad_start "a 16-byte HMAC secret" "the HMAC secret is only 16 bytes" "plugin_opt_env test
plugin_opt_key_file $H_TMP/short.key"
out=$(JWT_KEY=sixteen-byte-key "$ctl" token issue --role ingest 2>&1); rc=$?
h_is "$rc" 1 "ntpmonctl token issue refuses a 16-byte JWT_KEY (exit 1, as every failed ntpmonctl command)"
h_like "$out" "only 16 bytes; HS256 needs at least 32" "…saying why"
h_unlike "$out" "eyJ" "…and prints no token"
out=$("$ctl" token issue --role ingest --key-file "$H_TMP/short.key" 2>&1); rc=$?
h_is "$rc" 1 "…and a 16-byte key file"
out=$("$H_BIN/ntpmon-tokend" --key-file "$H_TMP/short.key" 2>&1); rc=$?
h_is "$rc" 2 "ntpmon-tokend refuses a 16-byte key file at start (exit 2)"
h_like "$out" "only 16 bytes" "…saying why"
h_done
