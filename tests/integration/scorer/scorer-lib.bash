# scorer-lib.bash — sourced by the scorer's integration tests after the harness (not a test itself): MariaDB and the
# broker with the auth plugin, as in production, with one token per party — SCORER_TOKEN for the scorer,
# FEED_TOKEN (admin: publishes for every monitor, and the bad input), WATCH_TOKEN/WATCH_USER for watching the
# retained messages — and the helpers ctl (ntpmonctl) and py (stream.py: test streams and their comparison).
h_start_mariadb
# the broker with the auth plugin, as in production: every party logs in with its role's token
h_start_broker_auth
SCORER_TOKEN=$(h_token scorer)
FEED_TOKEN=$(h_token admin "" 1h)      # publishes for every monitor, and the bad input
WATCH_TOKEN=$(h_token watcher)
tok_sub() { /usr/bin/python3 -c 'import sys, json, base64; p = sys.argv[1].split(".")[1]; p += "=" * (-len(p) % 4); print(json.loads(base64.urlsafe_b64decode(p))["sub"])' "$1"; }
WATCH_USER=$(tok_sub "$WATCH_TOKEN")
ctl() { "$H_BIN/ntpmonctl" "$@"; }
py() { /usr/bin/python3 "$(dirname "$0")/stream.py" "$@"; }
