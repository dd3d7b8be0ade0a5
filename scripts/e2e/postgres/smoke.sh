#!/usr/bin/env bash
# Smoke test of the e2e's postgres:17-alpine image in the private engine
# (test tooling): the course's postgres resource as `docker run` states it
# (uid/gid 65532, no capabilities, no new privileges, POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB, PGDATA under the volume, PGPORT), then:
# accepts connections; psql from the same image over TCP with that user,
# password and database; a wrong password is refused; the password is not in
# the log; a restart (STOPSIGNAL SIGINT) and a new container on the same
# volume skip init and keep the data.
#
# Takes the e2e's lock, starts the engine and stops it afterwards. Needs the
# image built (scripts/e2e/images.sh).
# Usage: scripts/e2e/postgres/smoke.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cache="${POCKETIDP_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pocketidp/e2e}"
mkdir -p "$cache"
exec 9>"$cache/run.lock"
flock -n 9 || { echo "smoke: another run holds $cache/run.lock; waiting for it" >&2; flock 9; }
cleanup() {
  docker rm -f pgsmoke >/dev/null 2>&1 || true
  docker volume rm pgsmoke >/dev/null 2>&1 || true
  docker network rm pgsmoke >/dev/null 2>&1 || true
  "$here/engine.sh" stop
}
eval "$("$here/engine.sh" start)"
export DOCKER_HOST
trap cleanup EXIT

img=postgres:17-alpine
pw="pw-$RANDOM$RANDOM-x" u=appuser db=appdb port=5433
docker image inspect "$img" >/dev/null 2>&1 || { echo "smoke: no $img in the engine: run scripts/e2e/images.sh" >&2; exit 1; }
docker image inspect -f 'smoke: {{.Config.Entrypoint}} {{.Config.Cmd}} stop={{.Config.StopSignal}} {{.Config.Env}}' "$img"
docker rm -f pgsmoke >/dev/null 2>&1 || true
docker volume rm pgsmoke >/dev/null 2>&1 || true
docker network rm pgsmoke >/dev/null 2>&1 || true
docker network create pgsmoke >/dev/null
docker volume create pgsmoke >/dev/null
sec=(--user 65532:65532 --cap-drop ALL --security-opt no-new-privileges)
server() {
  docker run -d --name pgsmoke --network pgsmoke --network-alias db "${sec[@]}" \
    -e POSTGRES_USER=$u -e POSTGRES_PASSWORD="$pw" -e POSTGRES_DB=$db \
    -e PGDATA=/var/lib/postgresql/data/pgdata -e PGPORT=$port \
    -v pgsmoke:/var/lib/postgresql/data "$img" >/dev/null
}
ready() {
  local s=$SECONDS
  for _ in $(seq 1 120); do
    docker exec pgsmoke pg_isready -q -h 127.0.0.1 -p $port 2>/dev/null && { echo "smoke: accepting connections after $((SECONDS - s))s"; return 0; }
    sleep 0.5
  done
  docker logs pgsmoke; echo "smoke: FAIL: not ready in 60s" >&2; exit 1
}
psql_() { docker run --rm --network pgsmoke "${sec[@]}" -e PGPASSWORD="$1" "$img" psql -h db -p $port -U $u -d $db -v ON_ERROR_STOP=1 -tA -c "$2"; }
# has TEXT: the container's log holds TEXT (the whole log first: grep -q
# closing the pipe early would fail it under pipefail).
has() { grep -qF -- "$1" <<<"$(docker logs pgsmoke 2>&1)"; }
fail() { echo "smoke: FAIL: $*" >&2; docker logs pgsmoke >&2; exit 1; }

server; ready
[ "$(psql_ "$pw" 'select current_user || $$/$$ || current_database()')" = "$u/$db" ] || fail "not $u/$db"
psql_ "$pw" 'select version()'
psql_ "$pw" 'create table t (x int); insert into t values (42)' >/dev/null
! psql_ wrong 'select 1' 2>/dev/null || fail "a wrong password was accepted"
has "initializing" || fail "no init on a fresh volume"
! has "$pw" || fail "the password is in the log"
s=$SECONDS; docker restart -t 30 pgsmoke >/dev/null; echo "smoke: restart in $((SECONDS - s))s"
ready
has "received fast shutdown request" || fail "no fast shutdown (STOPSIGNAL SIGINT)"
has "skipping init" || fail "restart did not skip init"
[ "$(psql_ "$pw" 'select x from t')" = 42 ] || fail "data lost on restart"
docker rm -f pgsmoke >/dev/null; server; ready
has "initializing" && fail "a new container re-initialized the volume"
[ "$(psql_ "$pw" 'select x from t')" = 42 ] || fail "data lost with a new container"
echo "smoke: ok"
