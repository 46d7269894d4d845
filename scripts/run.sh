#!/usr/bin/env bash
# Serves the API and one arq worker until Ctrl-C or SIGTERM, then stops both.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PORT="${MEIELINN_PORT:-8000}"
HOST="${MEIELINN_HOST:-127.0.0.1}"
# The settings refuse the published development secret key off loopback: they must know.
export MEIELINN_HOST="$HOST"
# Emailed links lead to this server unless a public address is configured.
export MEIELINN_PUBLIC_BASE_URL="${MEIELINN_PUBLIC_BASE_URL:-http://$HOST:$PORT}"
VENV="$ROOT/.venv/bin"
# One line per request only at DEBUG: a first start is not buried in access lines.
export MEIELINN_ACCESS_LOG_LEVEL="${MEIELINN_ACCESS_LOG_LEVEL:-DEBUG}"

# Free unless something listens there (or the address cannot be bound at all).
port_free() {
  "$VENV/python" - "$1" "$2" <<'PY'
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
with socket.socket(family, socket.SOCK_STREAM) as probe:
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((host.strip("[]"), port))
    except OSError:
        sys.exit(1)
PY
}

if ! port_free "$HOST" "$PORT"; then
  echo "[run] port $PORT on $HOST is taken by another program; set MEIELINN_PORT to a free" \
    "port, e.g. MEIELINN_PORT=$((PORT + 100)) make run" >&2
  exit 1
fi
if [ -z "${MEIELINN_SMTP_HOST:-}" ]; then
  # The local mail sink sits beside the API (8000 → 8025), so two checkouts on two API
  # ports do not share, or fight over, one sink; the app and the worker send to it.
  export MEIELINN_SMTP_PORT="${MEIELINN_SMTP_PORT:-$((PORT + 25))}"
  if ! port_free 127.0.0.1 "$MEIELINN_SMTP_PORT"; then
    echo "[run] port $MEIELINN_SMTP_PORT (the local mail sink) on 127.0.0.1 is taken by another" \
      "program; set MEIELINN_SMTP_PORT to a free port (by default MEIELINN_PORT + 25)" >&2
    exit 1
  fi
fi

if [ -f scripts/seed_demo.py ]; then
  "$VENV/python" scripts/seed_demo.py --if-empty
fi

mail=""
if [ -z "${MEIELINN_SMTP_HOST:-}" ]; then
  # No mail server configured: a local one prints every message (verification codes too).
  "$VENV/python" -m aiosmtpd -n -l "127.0.0.1:$MEIELINN_SMTP_PORT" \
    -c aiosmtpd.handlers.Debugging stdout &
  mail=$!
fi

# The app itself believes X-Forwarded-* only from MEIELINN_FORWARDED_ALLOW_IPS (service/main.py).
# MEIELINN_WEB_WORKERS: API processes. By default one per core in production (the API is
# stateless: every process serves any request), one otherwise (a development machine).
if [ -z "${MEIELINN_WEB_WORKERS:-}" ]; then
  if [ "${MEIELINN_ENV:-development}" = production ]; then
    MEIELINN_WEB_WORKERS="$(nproc)"
  else
    MEIELINN_WEB_WORKERS=1
  fi
fi
"$VENV/uvicorn" --factory service.main:run_app --host "$HOST" --port "$PORT" \
  --workers "$MEIELINN_WEB_WORKERS" --no-proxy-headers --no-access-log --log-level warning &
api=$!
"$VENV/python" -m workers &
worker=$!

stop() {
  trap - INT TERM
  kill -TERM "$api" "$worker" $mail 2>/dev/null || true
  wait "$api" "$worker" $mail 2>/dev/null || true
  echo "[run] stopped" >&2
}
trap 'stop; exit 0' INT TERM

echo "[run] starting the API on http://$HOST:$PORT and the workers" >&2
up=0
# Importing the app takes seconds, more on a busy machine: wait up to a minute.
for _ in $(seq 1 600); do
  kill -0 "$api" 2>/dev/null || break  # it stopped (refused settings, port taken): say nothing
  if curl -fsS "http://$HOST:$PORT/healthz" >/dev/null 2>&1; then up=1; break; fi
  sleep 0.1
done
if [ $up -eq 1 ]; then
  echo "[run] meielinn API on http://$HOST:$PORT  (OpenAPI docs: http://$HOST:$PORT/docs, readiness: http://$HOST:$PORT/readyz)" >&2
  [ -n "$mail" ] && echo "[run] outgoing email is printed here (local SMTP sink on port $MEIELINN_SMTP_PORT)" >&2
  echo "[run] the workers (every pool in one process: python -m workers); Ctrl-C stops both" >&2
fi

# Whichever exits first takes the other down with it.
wait -n "$api" "$worker" || true
stop
exit 1
