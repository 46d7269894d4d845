#!/usr/bin/env bash
# The benchmarks at scale: reads through HTTP at 1,000,000 reports beside their hand-written
# SQL and the map-cell recount (bench/scale_reads.py), slow open-data clients that never read
# against the pool (bench/opendata_stall.py), then the deadline engine with
# 100,000 reports due in one minute, 1 and 2 workers (bench/deadline_burst.py). One JSON
# line per figure, also kept in bench/results/full-<date>.jsonl. Bounded in time: the
# load is reused once built, each deadline run stops waiting after DEADLINE_LIMIT_SECONDS.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mkdir -p bench/results
out="bench/results/full-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
status=0
for bench in bench/scale_reads.py bench/opendata_stall.py bench/deadline_burst.py; do
  echo "[bench-full] $bench" >&2
  if ! timeout "${BENCH_FULL_TIMEOUT:-1200}" .venv/bin/python "$bench" | tee -a "$out"; then
    status=1
  fi
done
echo "[bench-full] results in $out" >&2
exit $status
