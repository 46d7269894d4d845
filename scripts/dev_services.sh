#!/usr/bin/env bash
# Local PostgreSQL 15 + PostGIS 3 and Redis for development and tests (and Debian's
# fonts-dejavu-core, the typeface diplomas embed, when it is missing).
#
#   scripts/dev_services.sh start   install (if missing), start, create database; idempotent
#   scripts/dev_services.sh stop    stop both servers (data is kept)
#   scripts/dev_services.sh status  print what runs where
#   scripts/dev_services.sh destroy stop and delete the local data
#
# Nothing here runs when MEIELINN_DATABASE_URL / MEIELINN_REDIS_URL are given: the caller then
# brings its own servers. Otherwise the URLs of the local servers are written to
# .local/services.env, which scripts/with_env.sh reads.
#
# PostgreSQL refuses to run as root, and a checkout may sit under a private (0700) home
# directory the server user cannot enter. So when run as root, the cluster lives in a
# directory owned by the `postgres` user under /var/lib/meielinn/<checkout-id>/, and
# .local/pgdata is a link to it. As an ordinary user the cluster simply lives in .local/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
PG_PORT="${MEIELINN_PG_PORT:-54329}"
REDIS_PORT="${MEIELINN_REDIS_PORT:-63799}"
PG_DB="meielinn"
PG_USER="meielinn"
PG_PASSWORD="meielinn"
PG_BIN="/usr/lib/postgresql/15/bin"
ENV_FILE="$LOCAL/services.env"

log() { printf '[services] %s\n' "$*" >&2; }

need_pg() { [ -z "${MEIELINN_DATABASE_URL:-}" ]; }
need_redis() { [ -z "${MEIELINN_REDIS_URL:-}" ]; }

checkout_id() {
  printf '%s' "$ROOT" | sha256sum | cut -c1-12
}

# Where the cluster's files live, and who runs the server.
if [ "$(id -u)" -eq 0 ]; then
  PG_OWNER="postgres"
  PG_HOME="/var/lib/meielinn/$(checkout_id)"
else
  PG_OWNER="$(id -un)"
  PG_HOME="$LOCAL/pg"
fi
PG_DATA="$PG_HOME/data"
PG_RUN="$PG_HOME/run"
PG_LOG="$PG_HOME/postgresql.log"
REDIS_DIR="$LOCAL/redis"

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

install_packages() {
  local missing=()
  if need_pg; then
    [ -x "$PG_BIN/postgres" ] || missing+=(postgresql-15)
    [ -f /usr/share/postgresql/15/extension/postgis.control ] || missing+=(postgresql-15-postgis-3)
  fi
  if need_redis; then
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  fi
  # The typeface diplomas embed (Estonian and Cyrillic letters): MEIELINN_DIPLOMA_FONT_DIR.
  [ -f "${MEIELINN_DIPLOMA_FONT_DIR:-/usr/share/fonts/truetype/dejavu}/DejaVuSans.ttf" ] \
    || missing+=(fonts-dejavu-core)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing packages: ${missing[*]}; install them (apt-get install -y ${missing[*]}) or set"
    log "MEIELINN_DATABASE_URL / MEIELINN_REDIS_URL to servers you already run"
    exit 1
  fi
  log "installing ${missing[*]} from Debian's packages"
  apt-get update -qq
  # Packaged services must not start system-wide instances: we run our own, on our own ports.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    created_policy=1
  fi
  local packages=("${missing[@]}")
  [[ " ${missing[*]} " == *" postgresql-15"* ]] && packages+=(postgresql-contrib)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${packages[@]}" >/dev/null || {
    [ $created_policy -eq 1 ] && rm -f "$policy"
    exit 1
  }
  [ $created_policy -eq 1 ] && rm -f "$policy"
  return 0
}

pg_ready() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" >/dev/null 2>&1
}

pg_init() {
  mkdir -p "$LOCAL"
  if [ "$(id -u)" -eq 0 ]; then
    mkdir -p "$PG_HOME"
    chown postgres:postgres "$PG_HOME"
    chmod 0700 "$PG_HOME"
    ln -sfn "$PG_HOME" "$LOCAL/pg"
    printf '%s\n' "$PG_HOME" >"$LOCAL/pg-location"
  fi
  as_pg mkdir -p "$PG_RUN"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    log "creating the cluster in $PG_DATA"
    local pwfile
    pwfile="$(as_pg mktemp "$PG_HOME/pw.XXXXXX")"
    printf '%s\n' "$PG_PASSWORD" | as_pg tee "$pwfile" >/dev/null
    # Local socket: trust (its directory is private to the server user); TCP: password.
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_USER" --pwfile="$pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    as_pg rm -f "$pwfile"
    as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null <<CONF
# meielinn local development cluster
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_RUN'
max_connections = 200
shared_buffers = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  fi
}

pg_start() {
  if pg_ready; then
    # Ours, or another checkout's local cluster on the same port (same credentials): use it.
    [ -f "$PG_DATA/postmaster.pid" ] || log "PostgreSQL already answers on 127.0.0.1:$PG_PORT; using it"
    return 0
  fi
  pg_init
  # A crash leaves postmaster.pid behind; pg_ctl copes unless the pid now belongs to
  # another process, so drop a pid file whose process is not a postgres server.
  if [ -f "$PG_DATA/postmaster.pid" ]; then
    local pid
    pid="$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
    if [ -z "$pid" ] || ! ps -p "$pid" -o comm= 2>/dev/null | grep -q postgres; then
      log "removing stale postmaster.pid (pid ${pid:-?})"
      rm -f "$PG_DATA/postmaster.pid"
    fi
  fi
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  # The port given now wins over the one the cluster was made with (MEIELINN_PG_PORT changed).
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -o "-p $PG_PORT" -w -t 60 start >/dev/null
}

pg_sql() {
  local database="$1"
  shift
  PGPASSWORD="$PG_PASSWORD" "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" \
    -d "$database" -v ON_ERROR_STOP=1 "$@"
}

pg_setup_database() {
  local exists
  exists="$(pg_sql postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")"
  if [ "$exists" != "1" ]; then
    log "creating database $PG_DB"
    pg_sql postgres -qc "CREATE DATABASE $PG_DB" >/dev/null
  fi
  pg_sql "$PG_DB" -qc \
    "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS pg_trgm" >/dev/null
}

redis_ready() {
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG
}

redis_start() {
  mkdir -p "$REDIS_DIR"
  if redis_ready; then
    return 0
  fi
  rm -f "$REDIS_DIR/redis.pid"
  log "starting Redis on 127.0.0.1:$REDIS_PORT"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$REDIS_DIR" \
    --daemonize yes --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" \
    --save "" --appendonly no >/dev/null
  for _ in $(seq 1 50); do
    redis_ready && return 0
    sleep 0.1
  done
  log "Redis did not answer; see $REDIS_DIR/redis.log"
  exit 1
}

# The address of a service given by URL this time stays as it was: a run against other
# servers must not make the next plain `make test` forget the local ones.
kept_line() {
  [ -f "$ENV_FILE" ] && grep "^$1=" "$ENV_FILE" || true
}

write_env() {
  mkdir -p "$LOCAL"
  {
    if need_pg; then
      printf 'MEIELINN_DATABASE_URL=postgresql+asyncpg://%s:%s@127.0.0.1:%s/%s\n' \
        "$PG_USER" "$PG_PASSWORD" "$PG_PORT" "$PG_DB"
    else
      kept_line MEIELINN_DATABASE_URL
    fi
    if need_redis; then
      printf 'MEIELINN_REDIS_URL=redis://127.0.0.1:%s/0\n' "$REDIS_PORT"
    else
      kept_line MEIELINN_REDIS_URL
    fi
  } >"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

start() {
  install_packages
  if need_pg; then
    pg_start
    pg_setup_database
  fi
  need_redis && redis_start
  write_env
}

stop() {
  if [ -f "$PG_DATA/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    log "stopping PostgreSQL"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
  fi
  if command -v redis-cli >/dev/null 2>&1 && redis_ready; then
    log "stopping Redis"
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  fi
  return 0
}

status() {
  if pg_ready; then echo "postgresql: up on 127.0.0.1:$PG_PORT (data: $PG_DATA)"; else echo "postgresql: down"; fi
  if command -v redis-cli >/dev/null 2>&1 && redis_ready; then
    echo "redis: up on 127.0.0.1:$REDIS_PORT"
  else
    echo "redis: down"
  fi
}

destroy() {
  stop
  log "deleting $PG_HOME and $REDIS_DIR"
  rm -rf "$PG_HOME" "$REDIS_DIR" "$LOCAL/pg" "$LOCAL/pg-location" "$ENV_FILE"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  destroy) destroy ;;
  *) echo "usage: $0 start|stop|status|destroy" >&2; exit 2 ;;
esac
