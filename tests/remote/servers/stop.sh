#!/usr/bin/env bash
# Stops the servers that start.sh started in WORKDIR and removes
# endpoints.env. Exits 0 when nothing is running.
#
# Usage: stop.sh WORKDIR
set -uo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 WORKDIR" >&2
  exit 2
fi
WORKDIR=$1
[[ -d "$WORKDIR" ]] || exit 0

# Remove first, so nobody reads endpoints of servers going away.
rm -f "$WORKDIR/endpoints.env" "$WORKDIR/endpoints.env.tmp"

# A zombie counts as gone: the servers are re-parented to init, which may
# take a while to reap them.
alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# True when PID is alive and its command line mentions WORD (guards against
# a recycled pid belonging to an unrelated process).
is_ours() {
  local pid=$1 word=$2
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$word"
}

wait_gone() {
  local pid=$1 i
  for ((i = 0; i < 50; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  return 1
}

stop_pidfile() {
  local pidfile=$1 word=$2 pid children
  [[ -f "$pidfile" ]] || return 0
  pid=$(tr -dc '0-9' <"$pidfile")
  if is_ours "$pid" "$word"; then
    children=$(pgrep -P "$pid" 2>/dev/null || true)
    kill -TERM "$pid" 2>/dev/null
    if ! wait_gone "$pid"; then
      kill -KILL "$pid" 2>/dev/null
      wait_gone "$pid"
    fi
    # nginx workers outlive a killed master; make sure none is left.
    for c in $children; do
      if is_ours "$c" "$word"; then
        kill -KILL "$c" 2>/dev/null
      fi
    done
  fi
  rm -f "$pidfile"
}

stop_pidfile "$WORKDIR/fault_proxy.pid" fault_proxy.mjs
stop_pidfile "$WORKDIR/s3.pid" s3.mjs
stop_pidfile "$WORKDIR/nginx.pid" nginx
rm -f "$WORKDIR"/fault_proxy.port "$WORKDIR"/s3.port
exit 0
