#!/usr/bin/env bash
# Runs benchmarks (by default bench/http_bench.py, the HTTP hot paths, and
# bench/timing_bench.py, the times of hashing and of overload answers: `make bench`); give
# other bench/*.py files as arguments to run those instead. Each prints JSON lines of
# figures against a baseline measured in the same run; the lines are also kept in
# bench/results/<date>.jsonl.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mkdir -p bench/results
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ).jsonl"
status=0
benches=("$@")
[ ${#benches[@]} -eq 0 ] && benches=(bench/http_bench.py bench/timing_bench.py)
for bench in "${benches[@]}"; do
  echo "[bench] $bench" >&2
  if ! .venv/bin/python "$bench" | tee -a "$out"; then
    status=1
  fi
done
echo "[bench] results in $out" >&2
exit $status
