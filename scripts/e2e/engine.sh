#!/usr/bin/env bash
# A private Docker engine for the e2e tests (test tooling, not product):
# Debian's docker.io (installed when missing), its own data root, exec root
# and socket, so it never touches another engine on the machine. Its default
# runtime is runc-sandbox (see that file: this sandbox cannot grant
# CAP_SYS_RESOURCE, which privileged kind nodes ask for).
#
# Usage: scripts/e2e/engine.sh start   starts it (idempotent), prints DOCKER_HOST=...
#        scripts/e2e/engine.sh stop    stops it (containers are left to dockerd's shutdown)
#        scripts/e2e/engine.sh env     prints DOCKER_HOST=... for eval
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${POCKETIDP_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pocketidp/e2e}"
run="${POCKETIDP_E2E_RUN:-/run/pocketidp-e2e}" # short: containerd shim socket paths are length-limited
sock="$run/docker.sock"
pidfile="$run/dockerd.pid"
log="$cache/dockerd.log"

say() { echo "engine: $*" >&2; }

install_engine() {
  command -v dockerd >/dev/null && command -v docker >/dev/null && command -v jq >/dev/null && return 0
  say "installing Debian's docker.io and jq (apt-get) ..."
  if [ "$(id -u)" != 0 ]; then
    say "need root to install docker.io: run 'sudo apt-get install -y docker.io jq' and retry"
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io jq >/dev/null
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && DOCKER_HOST="unix://$sock" docker version >/dev/null 2>&1; }

start() {
  install_engine
  if running; then
    say "already running (pid $(cat "$pidfile"))"
    echo "DOCKER_HOST=unix://$sock"
    return 0
  fi
  [ "$(id -u)" = 0 ] || { say "dockerd needs root here (rootful engine with its own data root)"; exit 1; }
  mkdir -p "$run" "$cache/docker"
  install -m755 "$here/runc-sandbox" "$run/runc-sandbox"
  # --bridge=none: no docker0 of ours to clash with another engine's; kind
  # makes its own "kind" network, and image builds use --network none.
  # --iptables stays on: kind's port mappings are DNAT rules.
  dockerd \
    --data-root "$cache/docker" --exec-root "$run/exec" --pidfile "$pidfile" \
    -H "unix://$sock" --bridge=none \
    --add-runtime "sandbox=$run/runc-sandbox" --default-runtime sandbox \
    --storage-driver overlay2 >>"$log" 2>&1 &
  for _ in $(seq 1 60); do
    if running; then
      say "dockerd up (pid $(cat "$pidfile")), data root $cache/docker, log $log"
      echo "DOCKER_HOST=unix://$sock"
      return 0
    fi
    sleep 1
  done
  say "dockerd did not answer on $sock within 60s; last log lines:"
  tail -20 "$log" >&2
  exit 1
}

stop() {
  [ -f "$pidfile" ] || { say "not running"; return 0; }
  local pid
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && { say "dockerd $pid still running after 30s"; exit 1; }
  fi
  rm -f "$pidfile"
  say "stopped"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
env) echo "DOCKER_HOST=unix://$sock" ;;
*) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
