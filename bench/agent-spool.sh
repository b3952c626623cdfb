#!/usr/bin/env bash
# bench/agent-spool.sh — the spool's cost on this machine's disk (see bench/agent-spool.c).
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${NTPMON_BUILD:-${BUILD:-$ROOT/build}}
[ "${1:-}" = --build ] && B=$2
case "$B" in /*) ;; *) B=$ROOT/$B ;; esac
echo "## agent: spool cost ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(df -h /var/tmp | awk 'NR==2{print $1}'))"
"$B/bench/agent-spool" "${SPOOL_N:-100000}"
