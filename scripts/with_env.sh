#!/usr/bin/env bash
# Runs a command with the local services' URLs, unless the caller already set them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENV_FILE="$ROOT/.local/services.env"
if [ -f "$ENV_FILE" ]; then
  while IFS='=' read -r key value; do
    [ -z "$key" ] && continue
    if [ -z "${!key:-}" ]; then
      export "$key=$value"
    fi
  done <"$ENV_FILE"
fi
exec "$@"
