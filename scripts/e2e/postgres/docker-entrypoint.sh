#!/usr/bin/env bash
# The postgres image's entrypoint (the role of docker-library/postgres's
# docker-entrypoint.sh), for the e2e's image built from Debian's
# postgresql-17. Same contract for what the e2e uses:
#   - `postgres ...` (or `-...` flags) as the command: when $PGDATA holds no
#     cluster, initdb it as the current user, the superuser named
#     $POSTGRES_USER (default postgres) with password $POSTGRES_PASSWORD
#     (given to initdb through a pwfile, never on a command line or in the
#     log), local connections trusted, host connections from anywhere by
#     password ($POSTGRES_HOST_AUTH_METHOD, default scram-sha-256), then
#     create $POSTGRES_DB (default: the user's name) unless it is "postgres", run
#     /docker-entrypoint-initdb.d/*.sh and *.sql on a socket-only server;
#   - then exec postgres (port $PGPORT, default 5432; listen_addresses='*'
#     comes from the image's postgresql.conf.sample).
# POSTGRES_{USER,PASSWORD,DB}_FILE read the value from a file. Run as root,
# it makes $PGDATA the postgres user's and re-runs itself as that user
# (setpriv instead of gosu). Anything else as the command is exec'd as is.
set -Eeuo pipefail

say() { echo "docker-entrypoint: $*" >&2; }

# file_env VAR [DEFAULT]: VAR from $VAR or from the file $VAR_FILE.
file_env() {
  local var=$1 def=${2:-} fvar="${1}_FILE"
  if [ -n "${!var:-}" ] && [ -n "${!fvar:-}" ]; then
    say "both $var and $fvar are set (they are exclusive)"
    exit 1
  fi
  local val=$def
  if [ -n "${!var:-}" ]; then val=${!var}; elif [ -n "${!fvar:-}" ]; then val=$(<"${!fvar}"); fi
  export "$var=$val"
  unset "$fvar"
}

# A server command: `postgres ...`, or flags meant for postgres.
if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi
if [ "$1" != postgres ]; then exec "$@"; fi
for a in "$@"; do
  case "$a" in -'?'|--help|--describe-config|-V|--version) exec "$@" ;; esac
done

: "${PGDATA:?PGDATA must be set}"
export PGPORT=${PGPORT:-5432}

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

mkdir -p "$PGDATA"
chmod 700 "$PGDATA" 2>/dev/null || true

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  getent passwd "$(id -u)" >/dev/null || {
    say "uid $(id -u) has no /etc/passwd entry: initdb needs one (this image has postgres and 65532)"
    exit 1
  }
  file_env POSTGRES_USER postgres
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_DB "$POSTGRES_USER"
  auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth" != trust ]; then
    say "the database is uninitialized and POSTGRES_PASSWORD is not set (set it, or POSTGRES_HOST_AUTH_METHOD=trust)"
    exit 1
  fi

  say "initializing $PGDATA (superuser $POSTGRES_USER, database $POSTGRES_DB)"
  # printf is a builtin: the password reaches initdb through a pipe only.
  # shellcheck disable=SC2086
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host="$auth" ${POSTGRES_INITDB_ARGS:-}
  printf '\n# docker-entrypoint: any host, by password\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

  # A server on the unix socket only, for the database and the init scripts.
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -p $PGPORT" start >/dev/null
  export PGUSER=$POSTGRES_USER PGPASSWORD=$POSTGRES_PASSWORD
  psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password -q)
  # initdb made only "postgres" (and the templates).
  if [ "$POSTGRES_DB" != postgres ]; then
    "${psql[@]}" --dbname postgres -v db="$POSTGRES_DB" <<<'CREATE DATABASE :"db"'
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
    *.sh) say "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
    *.sql) say "running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
    *) [ -e "$f" ] && say "ignoring $f" ;;
    esac
  done
  unset PGPASSWORD
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  say "init done; starting postgres"
else
  say "$PGDATA holds a cluster (PostgreSQL $(<"$PGDATA/PG_VERSION")): skipping init"
fi

exec "$@"
