#!/usr/bin/env bash
# `make e2e`: the private engine, the images, then the Go e2e tests against
# a real kind cluster; the engine is stopped afterwards whatever happened.
# The log (with the figures) goes to $cache/logs/e2e-<time>.log.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${POCKETIDP_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pocketidp/e2e}"
mkdir -p "$cache/logs"
# One run at a time: runs share the engine's socket, data root and cache.
exec 9>"$cache/run.lock"
flock -n 9 || { echo "e2e: another run holds $cache/run.lock; waiting for it" >&2; flock 9; }
log="$cache/logs/e2e-$(date -u +%Y%m%dT%H%M%SZ).log"
# The real chart archives (Traefik 41.3.0, the Gitea chart's source), the
# ones the unit tests render: the e2e installs them through --chart-dir, as
# no chart repository answers here.
export POCKETIDP_CHART_DIR="${POCKETIDP_CHART_DIR:-$root/internal/charts/testdata/upstream}"
[ -d "$POCKETIDP_CHART_DIR" ] || { echo "e2e: no chart archives at $POCKETIDP_CHART_DIR (set POCKETIDP_CHART_DIR)" >&2; exit 1; }

# Peak disk of the cache (engine data root, images, root filesystems).
# `|| true`: du fails when files go while it counts (set -e would end the
# sampler, and then the trap's kill would fail and skip stopping the engine).
( peak=0; while sleep 20; do
    s=$(du -sxm "$cache" 2>/dev/null | cut -f1) || true
    if [ "${s:-0}" -gt "$peak" ]; then peak=$s; echo "$peak" >"$cache/logs/peak-mb"; fi
  done ) 9>&- &
sampler=$!
trap 'kill $sampler 2>/dev/null || true; "$here/engine.sh" stop' EXIT

# 9>&-: dockerd must not inherit the lock, or an engine left running by a
# killed run would hold it for ever.
eval "$("$here/engine.sh" start 9>&-)"
export DOCKER_HOST
# Node volumes (/var of a kind node, ~1-2 GB each) a killed run left.
docker volume prune -f >/dev/null
start=$SECONDS
"$here/images.sh" 2>&1 | tee -a "$log"
echo "e2e: figure: images ready in $((SECONDS - start))s" | tee -a "$log"
export POCKETIDP_E2E_IMAGES="$cache/images.env" CI="${CI:-}"
start=$SECONDS
set +e
(cd "$root" && go test -tags e2e -count=1 -p 1 -timeout 75m -v -run 'EndToEnd' ./internal/cluster/ ./internal/cli/) 2>&1 | tee -a "$log"
rc=${PIPESTATUS[0]}
set -e
echo "e2e: figure: go test (exit $rc) in $((SECONDS - start))s; peak cache disk $(cat "$cache/logs/peak-mb" 2>/dev/null || echo '?') MB; log $log" | tee -a "$log"
exit "$rc"
