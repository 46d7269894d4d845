"""Map, list and nearby queries at city scale (default 1,000,000 reports).

Uses the city of bench/loader.py (``<name>_scale``, N reports bulk-loaded with COPY),
then times each query as the median of several runs and reports it as a ratio to a
baseline measured in the same run: a primary-key lookup of one report. Ratios, not
seconds, so the figures compare across machines and noisy neighbours.

    BENCH_REPORTS=1000000 python bench/map_bench.py      (make bench runs it)

Prints one JSON line; exits non-zero when a ratio exceeds its budget.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench import loader  # noqa: E402
from service.clock import system_clock  # noqa: E402
from service.reports import mapview  # noqa: E402
from service.reports import views as reports  # noqa: E402

REPORTS = int(os.environ.get("BENCH_REPORTS", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
# Budgets: how many primary-key lookups one request may cost at this scale.
BUDGETS = {
    "map_city_clusters": 400.0,
    "map_district_clusters": 150.0,
    "map_street_points": 80.0,
    "list_first_page": 120.0,
    "list_filtered_page": 80.0,
    "nearby": 80.0,
    # The worker's minutely recount of the cluster cells (not a request; for capacity).
    "refresh_map_cells": 20_000.0,
}
CITY = (26.649, 58.348, 26.809, 58.408)
DISTRICT = (26.755, 58.365, 26.785, 58.381)  # about Annelinn
STREET = (26.7225, 58.3790, 26.7245, 58.3800)  # a block in Kesklinn


async def median_seconds(run: Callable[[], Awaitable[Any]]) -> float:
    await run()  # warm the cache
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def measure(url: str) -> dict[str, Any]:
    engine = create_async_engine(url, pool_size=1)
    now = system_clock()
    async with AsyncSession(engine) as session:
        some_id = await session.scalar(text("SELECT id FROM report LIMIT 1"))
        reason_id = await session.scalar(
            text("SELECT reason_id FROM report WHERE state = 'accepted' LIMIT 1")
        )
        district = await session.scalar(text("SELECT id FROM district WHERE code = 'annelinn'"))

        async def baseline() -> None:
            await session.execute(text("SELECT * FROM report WHERE id = :id"), {"id": some_id})

        cases: dict[str, Callable[[], Awaitable[Any]]] = {
            "map_city_clusters": lambda: mapview.map_features(session, CITY, 12, 500, now),
            "map_district_clusters": lambda: mapview.map_features(session, DISTRICT, 14, 500, now),
            "map_street_points": lambda: mapview.map_features(session, STREET, 18, 500, now),
            "list_first_page": lambda: reports.list_reports(
                session,
                None,
                reports.ReportFilters(),
                now=now,
                language="et",
                limit=50,
                cursor=None,
            ),
            "list_filtered_page": lambda: reports.list_reports(
                session,
                None,
                reports.ReportFilters(district_id=district, bbox=DISTRICT),
                now=now,
                language="et",
                limit=50,
                cursor=None,
            ),
            "nearby": lambda: reports.nearby(session, reason_id, 58.3795, 26.7230, "et", 10),
            "refresh_map_cells": lambda: mapview.refresh_cells(session),
        }
        base_seconds = await median_seconds(baseline)
        results: dict[str, Any] = {
            "benchmark": "map_and_lists",
            "reports": REPORTS,
            "baseline": "primary-key lookup of one report",
            "baseline_ms": round(base_seconds * 1000, 3),
        }
        for name, run in cases.items():
            seconds = await median_seconds(run)
            results[name] = {
                "ms": round(seconds * 1000, 1),
                "ratio": round(seconds / base_seconds, 1),
                "budget": BUDGETS[name],
            }
    await engine.dispose()
    return results


async def main() -> int:
    city = await loader.city("scale", REPORTS)
    results = await measure(city.url)
    print(json.dumps(results))
    over = [
        name
        for name, value in results.items()
        if isinstance(value, dict) and value["ratio"] > value["budget"]
    ]
    if over:
        print(f"[bench] over budget: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
