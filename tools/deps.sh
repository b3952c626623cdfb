#!/bin/sh
# tools/deps.sh — installs the Debian packages ntpmon needs to build, test and run.
# Idempotent and quick when everything is present: apt is only touched when a package is missing.
set -eu
PACKAGES="gcc make pkg-config clang libclang-rt-14-dev
libmosquitto-dev mosquitto-dev libjwt-dev libjson-c-dev libmariadb-dev libmariadb-dev-compat libssl-dev libyaml-dev libmicrohttpd-dev curl socat
mosquitto mosquitto-clients mariadb-server mariadb-client chrony ntpsec-ntpdate iproute2 procps openssl python3
nftables iputils-ping"

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *" installed") ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages:$missing — run 'make deps' as root" >&2
    exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
# Debian starts daemons on install where it can; ntpmon's tests and demo start their own on private ports.
