#!/usr/bin/env bash
# ntpmonctl against a real MariaDB: migrate (twice, and refusing a newer schema), accounts, monitors, servers,
# settings, candidate pairs and review scheduling; bad input gets one clear line and writes nothing.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
h_start_mariadb
ctl() { "$H_BIN/ntpmonctl" "$@"; }

out=$(ctl db migrate 2>&1); h_like "$out" "applied migration 001_initial" "first migrate applies version 1"
out=$(ctl db migrate 2>&1); h_like "$out" "up to date \(version [0-9]+\)" "second migrate is a no-op"
h_is "$(h_sql 'SELECT COUNT(*) FROM schema_migrations')" "$(ls "$H_ROOT"/conf/schema/*.sql | wc -l)" "one migration recorded per schema file"
# the contract's tables (parts may add their own with later migrations)
tables=$(h_sql "SELECT table_name FROM information_schema.tables WHERE table_schema='ntpmon_test' AND table_name IN
  ('accounts','log_scores','monitors','results','results_rejected','schema_migrations','server_scores','servers',
   'servers_monitor_review','system_settings')" | LC_ALL=C sort | paste -sd,)
h_is "$tables" "accounts,log_scores,monitors,results,results_rejected,schema_migrations,server_scores,servers,servers_monitor_review,system_settings" "every table of the contract exists"
h_like "$(ctl db status)" "schema version [0-9]+ \(this ntpmonctl knows up to [0-9]+\)" "db status reports the version"

# Accounts
h_like "$(ctl account add ops --monitors-per-server 3)" "^account [0-9]+ ops$" "account add"
out=$(ctl account add ops 2>&1); rc=$?
h_is "$rc" 1 "duplicate account exits 1"
h_like "$out" "account 'ops' already exists" "duplicate account has a clear message"
h_is "$(h_sql "SELECT JSON_VALUE(flags,'\$.monitors_per_server_limit') FROM accounts WHERE name='ops'")" 3 "account flag stored"
h_ok "account set" ctl account set ops --monitors-per-server 4
h_is "$(h_sql "SELECT JSON_VALUE(flags,'\$.monitors_per_server_limit') FROM accounts WHERE name='ops'")" 4 "account set changes the flag"
h_ok "second account" ctl account add pool

# Servers before monitors: pairs appear when the monitors come.
h_like "$(ctl server add 192.0.2.10 --account pool)" "^server [0-9]+ 192.0.2.10$" "server add v4"
h_like "$(ctl server add 2001:DB8::10 --account pool)" "^server [0-9]+ 2001:db8::10$" "server add v6 stores the canonical form"
out=$(ctl server add 192.0.2.10 --account pool 2>&1); h_like "$out" "server 192.0.2.10 already exists" "duplicate server refused"
out=$(ctl server add 192.0.2.300 --account pool 2>&1); h_like "$out" "invalid IP address '192.0.2.300'" "invalid IP refused"
out=$(ctl server add 10.1.2.3 --account pool 2>&1); h_like "$out" "refusing private address" "private server refused"
h_ok "private server accepted with --allow-local" ctl server add 127.0.0.2 --account pool --allow-local
out=$(ctl server add 224.0.0.1 --account pool --allow-local 2>&1); h_like "$out" "refusing multicast" "multicast refused even with --allow-local"
out=$(ctl server add 198.51.100.1 --account nosuch 2>&1); h_like "$out" "no account named 'nosuch'" "unknown account refused"
h_is "$(h_sql 'SELECT COUNT(*) FROM servers')" 3 "only the valid servers were written"

# Monitors
h_like "$(ctl monitor add --name nl-ams1 --account ops --ip4 198.51.100.7 --ip6 2001:db8:1::7)" "^monitor [0-9]+ nl-ams1$" "monitor add dual-stack"
h_ok "monitor add v4 only" ctl monitor add --name us-lax1 --account ops --ip4 203.0.113.9 --status active
out=$(ctl monitor add --name nl-ams1 --account ops --ip4 198.51.100.8 2>&1); h_like "$out" "monitor 'nl-ams1' already exists" "duplicate monitor refused"
out=$(ctl monitor add --name bad/name --account ops --ip4 198.51.100.8 2>&1); h_like "$out" "invalid or missing --name" "invalid monitor name refused"
out=$(ctl monitor add --name x1 --account ops 2>&1); h_like "$out" "at least one of --ip4 and --ip6" "monitor without address refused"
out=$(ctl monitor add --name x1 --account ops --ip4 2001:db8::1 2>&1); h_like "$out" "is not an IPv4 address" "wrong family refused"
h_is "$(h_sql 'SELECT COUNT(*) FROM monitors')" 2 "only the valid monitors were written"

# Pairs: nl-ams1 pairs with both families, us-lax1 with the two v4 servers.
h_is "$(h_sql "SELECT COUNT(*) FROM server_scores ss JOIN monitors m ON m.id=ss.monitor_id WHERE m.name='nl-ams1'")" 3 "dual-stack monitor paired with every server"
h_is "$(h_sql "SELECT COUNT(*) FROM server_scores ss JOIN monitors m ON m.id=ss.monitor_id WHERE m.name='us-lax1'")" 2 "v4 monitor paired with the v4 servers only"
h_is "$(h_sql "SELECT DISTINCT status FROM server_scores")" candidate "new pairs are candidates"
h_is "$(h_sql "SELECT COUNT(*) FROM servers_monitor_review WHERE next_review BETWEEN UTC_TIMESTAMP() + INTERVAL 100 SECOND AND UTC_TIMESTAMP() + INTERVAL 125 SECOND")" 3 "servers due for review in about 2 minutes"

# A server added after monitors: pairs at once, review delay from settings.
h_ok "settings set" ctl settings set selector '{"active_target":3,"new_pair_review_delay_s":5}'
h_like "$(ctl settings get selector)" '"new_pair_review_delay_s":5' "settings get"
out=$(ctl settings set selector '{broken' 2>&1); h_like "$out" "invalid JSON" "bad settings JSON refused"
h_like "$(ctl settings get selector)" '"active_target":3' "bad settings left the old value"
h_ok "late server" ctl server add 192.0.2.20 --account pool
id=$(h_sql "SELECT id FROM servers WHERE ip='192.0.2.20'")
h_is "$(h_sql "SELECT COUNT(*) FROM server_scores WHERE server_id=$id")" 2 "late server paired with both v4 monitors"
h_is "$(h_sql "SELECT next_review < UTC_TIMESTAMP() + INTERVAL 10 SECOND FROM servers_monitor_review WHERE server_id=$id")" 1 "review delay setting honoured"

# Status changes and deletion
h_ok "monitor set-status" ctl monitor set-status nl-ams1 active
h_is "$(h_sql "SELECT status FROM monitors WHERE name='nl-ams1'")" active "status stored"
out=$(ctl monitor set-status nl-ams1 sleepy 2>&1); h_like "$out" "invalid status 'sleepy'" "bad status refused"
h_ok "server delete" ctl server delete 192.0.2.20
h_is "$(h_sql "SELECT deletion_on IS NOT NULL FROM servers WHERE id=$id")" 1 "server marked deleted"
list=$(ctl server list); h_like "$list" "192.0.2.10" "server list"
list=$(ctl monitor list); h_like "$list" "nl-ams1	monitor	ops	active" "monitor list"

# A newer schema than this binary knows is an error.
h_sql "INSERT INTO schema_migrations (version, name) VALUES (99, '099_future')"
out=$(ctl db migrate 2>&1); rc=$?
h_is "$rc" 1 "migrate refuses a newer schema"
h_like "$out" "newer than this ntpmonctl knows" "with a clear message"
h_sql "DELETE FROM schema_migrations WHERE version = 99"
# A migration missing from the record, below the highest applied one, is still applied (and is idempotent).
h_sql "DELETE FROM schema_migrations WHERE version = 1"
out=$(ctl db migrate 2>&1); h_like "$out" "applied migration 001_initial" "a lower unrecorded migration is applied"
h_is "$(h_sql 'SELECT COUNT(*) FROM servers')" 4 "re-applying an idempotent migration keeps the data"

# Bad configuration: one line, exit non-zero.
out=$(DATABASE_DSN='ntpmon:ntpmon@tcp(127.0.0.1:notaport)/x' ctl server list 2>&1); rc=$?
h_is "$rc" 1 "bad DSN exits 1"
h_like "$out" "^ntpmonctl: DSN port must be 1..65535$" "bad DSN message"
dead=$(h_free_port tcp)
out=$(DATABASE_DSN="ntpmon:ntpmon@tcp(127.0.0.1:$dead)/x" ctl server list 2>&1); rc=$?
h_is "$rc" 1 "unreachable database exits 1"
h_like "$out" "cannot connect to ntpmon@127.0.0.1:$dead/x" "unreachable database message"
h_unlike "$out" "ntpmon:ntpmon" "no password in the message"
out=$(ctl frobnicate 2>&1); rc=$?
h_is "$rc" 2 "unknown command exits 2"
h_like "$out" "unknown command 'frobnicate'" "unknown command message"
h_done
