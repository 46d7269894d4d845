#!/usr/bin/env bash
# Runs every bench/*_bench.py; each prints one JSON line of ratios against a baseline it
# measured in the same run. The lines are also kept in bench/results/<date>.jsonl.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mkdir -p bench/results
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ).jsonl"
status=0
for bench in bench/*_bench.py; do
  echo "[bench] $bench" >&2
  if ! .venv/bin/python "$bench" | tee -a "$out"; then
    status=1
  fi
done
echo "[bench] results in $out" >&2
exit $status
