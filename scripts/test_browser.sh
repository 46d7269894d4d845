#!/usr/bin/env bash
# The browser the web app's tests drive: Debian's Chromium (Playwright's own browser download
# is not used). Installs it when missing, as scripts/dev_services.sh installs PostgreSQL;
# MEIELINN_CHROMIUM names another Chromium or Chrome binary instead.
set -euo pipefail

browser="${MEIELINN_CHROMIUM:-/usr/bin/chromium}"
[ -x "$browser" ] && exit 0
if [ -n "${MEIELINN_CHROMIUM:-}" ]; then
  echo "[browser] MEIELINN_CHROMIUM=$browser is not an executable" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "[browser] Chromium is missing: install it (apt-get install -y chromium) or set" >&2
  echo "[browser] MEIELINN_CHROMIUM to a Chromium or Chrome binary" >&2
  exit 1
fi
echo "[browser] installing Chromium from Debian's packages for the browser tests"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
