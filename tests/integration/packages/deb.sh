#!/usr/bin/env bash
# The Debian packages, built and installed for real. `make deb` builds them once (dpkg-buildpackage, lintian with no
# error or warning); they are installed with the root's own dpkg into a throw-away Debian root (the debootstrap root
# `make deps` cached, unpacked under the test's scratch dir; commands run in it with chroot, no network needed).
# Checked there: users, directories and conffiles; every file a unit names exists and `systemd-analyze verify` accepts
# every unit; the broker plugin loads into the root's mosquitto with Debian's own mosquitto.conf and the shipped
# conf.d example, accepts a token, refuses a bad and a revoked one; the agent runs `setup` and `check` as its user
# against a local chronyd; reinstall, upgrade (a second build with a bumped changelog) and remove keep the state and
# an edited conffile; remove/upgrade stop/restart the units' instances only where systemd runs (a logging systemctl
# stands in for it); purge removes users, state, conffiles and enable links. The host's /etc, users and /var/lib are
# never touched: everything happens inside the root, which the harness deletes.
. "$(dirname "$0")/../../lib/harness.sh"

skip() { echo "ok 1 - Debian packages # SKIP $*"; echo "1..1"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root (chroot and dpkg inside a scratch root)"
for tool in dpkg-buildpackage dh lintian chroot; do
    command -v "$tool" >/dev/null || skip "$tool is not installed, so dpkg-buildpackage cannot run here (make deps installs it)"
done

VERSION=$(sed -n 's/^VERSION *:= *//p' "$H_ROOT/config.mk")
DEB=$H_TMP/deb
R=$H_TMP/root
# in_root CMD…: CMD inside the root with a clean environment; as_user USER CMD…: the same as that user.
in_root() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive chroot "$R" "$@"; }
as_user() { local u=$1; shift; in_root setpriv --reuid="$u" --regid="$u" --init-groups -- "$@"; }
# dpkg_in_root DESC ARGS…: dpkg inside the root as a test (output in $H_TMP/dpkg.log, shown on failure).
dpkg_in_root() {
    local desc=$1; shift
    if in_root dpkg --force-confold "$@" >"$H_TMP/dpkg.log" 2>&1; then h_pass "$desc"
    else h_fail "$desc" "dpkg $*" "$(tail -n 20 "$H_TMP/dpkg.log")"; fi
}
# pkgs DIR NAME…: the root's paths of those packages in /tmp/DIR (v1, v2).
pkgs() { local d=$1 n; shift; for n; do ls "$R/tmp/$d/${n}"_*.deb | sed "s|^$R||"; done; }
stat_in_root() { in_root stat -c "$1" "$2" 2>/dev/null; }
owner_mode() { in_root stat -c '%U:%G %a' "$1" 2>/dev/null; }
sum_in_root() { md5sum <"$R$1" 2>/dev/null | cut -d' ' -f1; }
debs() { ls "$1"/*_"$2"_*.deb | grep -v -- '-dbgsym_'; }

# ---- build (once), lintian ----
start=$(date +%s)
if make -s -C "$H_ROOT" deb DEB_DIR="$DEB" >"$H_TMP/make-deb.log" 2>&1; then
    h_pass "make deb builds the packages and lintian passes ($(( $(date +%s) - start ))s)"
else
    h_fail "make deb" "$(tail -n 40 "$H_TMP/make-deb.log")"
    h_done
fi
h_is "$(ls "$DEB" | grep -cE '^(ntpmon-agent|ntpmon-server|mosquitto-ntpmon-auth)_.*\.deb$')" 3 "three packages in the output directory"
h_is "$(grep -cE '^[EW]: ' "$DEB/lintian.log")" 0 "lintian: no error, no warning on any package"
h_is "$(find "$DEB/src" -maxdepth 1 -name '*.deb' | wc -l)" 0 "nothing left beside the source copy"
v1=$(dpkg-deb -f "$(debs "$DEB" "$VERSION-1" | head -n1)" Version)
h_is "${v1%-*}" "$VERSION" "package version $v1 carries config.mk's VERSION"
SRC=$DEB/src/ntpmon-$VERSION
sed -i 's/^VERSION := .*/VERSION := 9.9.9/' "$SRC/config.mk"
out=$(cd "$SRC" && debian/rules override_dh_auto_configure 2>&1)
h_like "$out" "changelog says $VERSION, config.mk says VERSION := 9.9.9" "the build stops when debian/changelog and config.mk disagree"
sed -i "s/^VERSION := .*/VERSION := $VERSION/" "$SRC/config.mk"

# ---- the root ----
tarball=$("$H_ROOT/tools/deps.sh" --root-tarball) || { h_fail "the cached Debian root exists" "$tarball missing: run make deps"; h_done; }
mkdir -p "$R"
tar -C "$R" --zstd -xf "$tarball"
mkdir -p "$R/tmp/v1" "$R/tmp/v2"
cp $(debs "$DEB" "$VERSION-1") "$R/tmp/v1/"
dpkg_in_root "the three packages install into a Debian root (dependencies from the root itself)" -i $(pkgs v1 ntpmon-agent ntpmon-server mosquitto-ntpmon-auth)

# ---- what landed ----
for u in ntpmon-agent ntpmon; do
    pw=$(in_root getent passwd "$u")
    h_like "$pw" "^$u:x:[0-9]+:[0-9]+:[^:]*:/var/lib/$u:/usr/sbin/nologin$" "system user $u (home /var/lib/$u, no login)"
    uid=$(echo "$pw" | cut -d: -f3)
    h_num_between "${uid:-99999}" 1 999 "$u has a system uid ($uid)"
done
h_is "$(owner_mode /var/lib/ntpmon-agent)" "ntpmon-agent:ntpmon-agent 700" "/var/lib/ntpmon-agent: the agent's, 0700"
h_is "$(owner_mode /var/lib/ntpmon)" "ntpmon:ntpmon 755" "/var/lib/ntpmon: the daemons', 0755 (the broker reads the revocation file)"
h_is "$(in_root dpkg-query -W -f='${Conffiles}' ntpmon-agent | awk '{print $1}' | xargs)" "/etc/default/ntpmon-agent" "agent conffile: /etc/default/ntpmon-agent"
h_is "$(in_root dpkg-query -W -f='${Conffiles}' ntpmon-server | awk '{print $1}' | xargs)" "/etc/default/ntpmon-server" "server conffile: /etc/default/ntpmon-server"
h_is "$(in_root ntpmon-agent --version)" "ntpmon-agent $VERSION" "the installed agent is version $VERSION"
h_is "$(in_root ntpmonctl --version)" "ntpmonctl $VERSION" "the installed ntpmonctl is version $VERSION"

units=$(cd "$R/lib/systemd/system" && ls ntpmon-*@.service)
h_is "$(echo $units)" "$(cd "$H_ROOT/conf/systemd" && for u in ntpmon-*@.service; do [ -x "$R/usr/sbin/${u%@.service}" ] || [ -x "$R/usr/bin/${u%@.service}" ] && echo "$u"; done | xargs)" \
    "every unit in conf/systemd whose daemon is built is installed"
for unit in $units; do
    f=$R/lib/systemd/system/$unit
    exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$f")
    user=$(sed -n 's/^User=//p' "$f")
    man=$(sed -n 's/^Documentation=man:\(.*\)(\([0-9]\))$/man\2\/\1.\2.gz/p' "$f")
    envfile=$(sed -n 's/^EnvironmentFile=-\(\/etc\/default\/.*\)/\1/p' "$f")
    state=$(sed -n 's/^StateDirectory=//p' "$f")
    problems=""
    [ -x "$R$exe" ] || problems="$problems ExecStart $exe missing;"
    in_root getent passwd "$user" >/dev/null || problems="$problems User $user missing;"
    [ -f "$R/usr/share/man/$man" ] || problems="$problems man page $man missing;"
    [ -f "$R$envfile" ] || problems="$problems $envfile missing;"
    [ -z "$state" ] || [ "$(stat_in_root %U "/var/lib/$state")" = "$user" ] || problems="$problems /var/lib/$state not $user's;"
    h_is "${problems:-none}" none "$unit: binary, user, man page, /etc/default file and state dir are where it says"
    out=$(in_root systemd-analyze verify --man=no "${unit%@.service}@prod.service" 2>&1)
    h_is "$? ${out:-clean}" "0 clean" "systemd-analyze verify ${unit%@.service}@prod.service: no error, no warning"
done

# ---- the broker plugin in the root's own mosquitto (Debian's mosquitto.conf + the shipped conf.d example) ----
plugin=$(sed -n 's/^plugin //p' "$R/etc/mosquitto/conf.d/ntpmon.conf.example")
h_ok "the conf.d example names the installed plugin ($plugin)" test -f "$R$plugin"
# The admin's steps from the README: a signing key the daemons' group can read, a broker config from the example.
in_root ntpmonctl key gen --alg ES256 --out /etc/ntpmon/jwt >/dev/null
in_root chgrp ntpmon /etc/ntpmon/jwt.key && in_root chmod 0640 /etc/ntpmon/jwt.key
h_ok "the daemons' user can read the signing key" as_user ntpmon cat /etc/ntpmon/jwt.key
h_fails "the agent's user cannot" as_user ntpmon-agent cat /etc/ntpmon/jwt.key
MQTT_PORT=$(h_free_port tcp)
TLS_PORT=$(h_free_port tcp)
sed -e "s/^listener 1883 127.0.0.1$/listener $MQTT_PORT 127.0.0.1/" -e "s/^listener 8883$/listener $TLS_PORT 127.0.0.1/" \
    -e '/^certfile /d' -e '/^keyfile /d' -e '/^tls_version /d' -e 's/^plugin_opt_env prod$/plugin_opt_env test/' \
    "$R/etc/mosquitto/conf.d/ntpmon.conf.example" >"$R/etc/mosquitto/conf.d/ntpmon.conf"
mkdir -p "$R/run/mosquitto" && in_root chown mosquitto /run/mosquitto
h_spawn mosquitto chroot "$R" /usr/sbin/mosquitto -c /etc/mosquitto/mosquitto.conf
if h_wait 20 h_port_open_tcp "$MQTT_PORT"; then h_pass "mosquitto starts with the plugin and the example configuration"
else h_fail "mosquitto starts with the plugin" "$(tail -n 20 "$R/var/log/mosquitto/mosquitto.log")"; fi
token() { in_root ntpmonctl -e test token issue --role monitor --name "$1" --key-file /etc/ntpmon/jwt.key 2>/dev/null; }
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv5 -i "$1" -u "$1" -P "$2" -q 1 -t "ntpmon/test/monitors/$1/status" -m '{}'; }
refused() { ! pub "$@"; }
TOKEN=$(token pkgmon)
h_ok "a monitor's token is accepted and may publish its status" pub pkgmon "$TOKEN"
h_fails "a token signed with another key is refused" pub pkgmon "$(JWT_KEY=other "$H_BIN/ntpmonctl" -e test token issue --role monitor --name pkgmon 2>/dev/null)"
REVOKED=$(token pkgrevoked)
h_ok "a second monitor connects" pub pkgrevoked "$REVOKED"
in_root ntpmonctl token revoke pkgrevoked --revoked-file /var/lib/ntpmon/revoked >/dev/null
h_wait_ok "after ntpmonctl token revoke, the broker (user mosquitto) reads /var/lib/ntpmon/revoked and refuses it" 10 \
    refused pkgrevoked "$REVOKED"
h_stop mosquitto

# ---- the agent, as its user, against a local chronyd ----
h_start_chronyd
echo "$TOKEN" >"$R/tmp/token"
h_ok "ntpmon-agent setup runs as ntpmon-agent" as_user ntpmon-agent sh -c \
    "ntpmon-agent -e test setup --name pkgmon --mqtt-url mqtt://127.0.0.1:$MQTT_PORT --mqtt-token-file - </tmp/token"
h_is "$(owner_mode /var/lib/ntpmon-agent/test/state.json)" "ntpmon-agent:ntpmon-agent 600" "state.json is the agent's, 0600, in the unit's StateDirectory"
out=$(as_user ntpmon-agent ntpmon-agent check --allow-loopback --ntp-port "$H_NTP_PORT" --samples 1 127.0.0.1 2>"$H_TMP/check.err")
h_is "$?" 0 "ntpmon-agent check runs as ntpmon-agent against chronyd on 127.0.0.1:$H_NTP_PORT"
h_is "$(echo "$out" | /usr/bin/python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); print(r["stratum"], r["error"] or "-", r["agent"])' 2>&1)" \
    "1 - ntpmon-agent/$VERSION" "its result: chronyd's stratum 1, no error, this version"

# ---- reinstall, the second version, upgrade ----
STATE_SUM=$(sum_in_root /var/lib/ntpmon-agent/test/state.json)
echo "# edited by the package test" >>"$R/etc/default/ntpmon-agent"
CONF_SUM=$(sum_in_root /etc/default/ntpmon-agent)
AGENT_UID=$(in_root id -u ntpmon-agent)
h_ok "postinst configure runs again without harm (idempotent)" in_root /var/lib/dpkg/info/ntpmon-agent.postinst configure "$VERSION-1"
dpkg_in_root "reinstalling the same version works" -i $(pkgs v1 ntpmon-agent)
h_is "$(in_root id -u ntpmon-agent) $(sum_in_root /var/lib/ntpmon-agent/test/state.json) $(sum_in_root /etc/default/ntpmon-agent)" \
    "$AGENT_UID $STATE_SUM $CONF_SUM" "after reinstall: same user, same state.json, the edited conffile kept"

maint=$(cd "$SRC" && dpkg-parsechangelog -S Maintainer)
{ printf 'ntpmon (%s-2) bookworm; urgency=medium\n\n  * Package test: a second build to upgrade to.\n\n -- %s  %s\n\n' \
    "$VERSION" "$maint" "$(date -R)"; cat "$SRC/debian/changelog"; } >"$SRC/debian/changelog.new"
mv "$SRC/debian/changelog.new" "$SRC/debian/changelog"
start=$(date +%s)
if (cd "$SRC" && dpkg-buildpackage -b -us -uc -nc) >"$H_TMP/build-v2.log" 2>&1; then
    h_pass "a second version ($VERSION-2) builds ($(( $(date +%s) - start ))s, reusing the first build)"
else
    h_fail "a second version builds" "$(tail -n 30 "$H_TMP/build-v2.log")"
fi
cp $(debs "$DEB/src" "$VERSION-2") "$R/tmp/v2/"

# A stand-in for a running systemd: /run/systemd/system exists and systemctl logs what it is asked.
in_root dpkg-divert --quiet --local --rename --divert /usr/bin/systemctl.real --add /usr/bin/systemctl
printf '#!/bin/sh\necho "$*" >>/tmp/systemctl.log\n' >"$R/usr/bin/systemctl"
chmod 0755 "$R/usr/bin/systemctl"
: >"$R/tmp/systemctl.log"

dpkg_in_root "the agent upgrades to $VERSION-2 where systemd does not run" -i $(pkgs v2 ntpmon-agent)
h_is "$(in_root dpkg-query -W -f='${Version}' ntpmon-agent)" "$VERSION-2" "the agent is now $VERSION-2"
h_is "$(in_root id -u ntpmon-agent) $(sum_in_root /var/lib/ntpmon-agent/test/state.json) $(sum_in_root /etc/default/ntpmon-agent)" \
    "$AGENT_UID $STATE_SUM $CONF_SUM" "after upgrade: same user, same state.json, the edited conffile kept"
h_is "$(find "$R/etc" -name '*.dpkg-*' | wc -l)" 0 "no .dpkg-dist/.dpkg-new/.dpkg-old files"
h_is "$(cat "$R/tmp/systemctl.log")" "" "without systemd no systemctl call is made"

mkdir -p "$R/run/systemd/system"
dpkg_in_root "the server and plugin upgrade to $VERSION-2 where systemd runs" -i $(pkgs v2 ntpmon-server mosquitto-ntpmon-auth)
server_units=$(cd "$R/lib/systemd/system" && ls ntpmon-*@.service | grep -v '^ntpmon-agent@' | sed 's/@\.service$//')
want=$(echo "--system daemon-reload"; for u in $server_units; do echo "try-restart $u@*.service"; done)
h_is "$(cat "$R/tmp/systemctl.log")" "$want" "upgrade: daemon-reload, then every running server instance restarted"
: >"$R/tmp/systemctl.log"
dpkg_in_root "removing the server where systemd runs" -r ntpmon-server
want=$(for u in $server_units; do echo "stop $u@*.service"; done; echo "--system daemon-reload")
h_is "$(cat "$R/tmp/systemctl.log")" "$want" "remove: every server instance stopped, then daemon-reload"
h_ok "remove keeps the ntpmon user and /var/lib/ntpmon" sh -c "chroot '$R' getent passwd ntpmon >/dev/null && test -f '$R/var/lib/ntpmon/revoked'"
rm -rf "$R/run/systemd"
rm -f "$R/usr/bin/systemctl"
in_root dpkg-divert --quiet --local --rename --remove /usr/bin/systemctl

# ---- remove, reinstall, purge ----
in_root systemctl enable ntpmon-agent@test >/dev/null 2>&1
h_ok "systemctl enable ntpmon-agent@test (offline, in the root)" test -L "$R/etc/systemd/system/multi-user.target.wants/ntpmon-agent@test.service"
dpkg_in_root "removing the agent" -r ntpmon-agent
h_ok "remove: the binary is gone" test ! -e "$R/usr/bin/ntpmon-agent"
h_is "$(in_root id -u ntpmon-agent 2>&1) $(sum_in_root /var/lib/ntpmon-agent/test/state.json) $(sum_in_root /etc/default/ntpmon-agent)" \
    "$AGENT_UID $STATE_SUM $CONF_SUM" "remove keeps the user, the state and the edited conffile"
dpkg_in_root "reinstalling the agent after remove" -i $(pkgs v2 ntpmon-agent)
h_is "$(sum_in_root /var/lib/ntpmon-agent/test/state.json) $(sum_in_root /etc/default/ntpmon-agent)" "$STATE_SUM $CONF_SUM" \
    "reinstall after remove finds the state and the edited conffile"

dpkg_in_root "purging the agent" --purge ntpmon-agent
h_fails "purge removes the user ntpmon-agent" in_root getent passwd ntpmon-agent
h_fails "purge removes the group ntpmon-agent" in_root getent group ntpmon-agent
h_ok "purge removes /var/lib/ntpmon-agent, /etc/default/ntpmon-agent and the enable link" sh -c \
    "test ! -e '$R/var/lib/ntpmon-agent' && test ! -e '$R/etc/default/ntpmon-agent' && test ! -L '$R/etc/systemd/system/multi-user.target.wants/ntpmon-agent@test.service'"
dpkg_in_root "purging the server and the plugin" --purge ntpmon-server mosquitto-ntpmon-auth
h_fails "purge removes the user ntpmon" in_root getent passwd ntpmon
h_ok "purge removes /var/lib/ntpmon, /etc/default/ntpmon-server and the conf.d example" sh -c \
    "test ! -e '$R/var/lib/ntpmon' && test ! -e '$R/etc/default/ntpmon-server' && test ! -e '$R/etc/mosquitto/conf.d/ntpmon.conf.example'"
h_ok "the admin's own files in /etc/ntpmon are left alone" test -f "$R/etc/ntpmon/jwt.key"
h_is "$(in_root dpkg-query -W -f='${db:Status-Abbrev}\n' ntpmon-agent ntpmon-server mosquitto-ntpmon-auth 2>/dev/null | xargs)" "" \
    "dpkg no longer knows the packages"

dpkg_in_root "installing again after purge" -i $(pkgs v2 ntpmon-agent ntpmon-server mosquitto-ntpmon-auth)
h_is "$(owner_mode /var/lib/ntpmon-agent) $(in_root getent passwd ntpmon >/dev/null && echo user)" "ntpmon-agent:ntpmon-agent 700 user" \
    "a fresh user and state directory again"
h_done
