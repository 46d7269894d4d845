#!/usr/bin/env bash
# `make cluster-check`: installs what the rehearsal needs (Debian's PostgreSQL 15 + PostGIS,
# PgBouncer, Redis and Redis Sentinel) when missing, then runs bench/cluster_check.py.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
missing=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql-15 postgresql-contrib)
[ -f /usr/share/postgresql/15/extension/postgis.control ] || missing+=(postgresql-15-postgis-3)
[ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || missing+=(redis-sentinel)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "[cluster] missing packages: ${missing[*]} (apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  echo "[cluster] installing ${missing[*]} from Debian's packages" >&2
  apt-get update -qq
  # Packaged services must not start system-wide instances: the rehearsal runs its own.
  policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    created_policy=1
  fi
  status=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null || status=$?
  [ $created_policy -eq 1 ] && rm -f "$policy"
  [ $status -eq 0 ] || exit $status
fi
cd "$ROOT"
exec .venv/bin/python bench/cluster_check.py "$@"
