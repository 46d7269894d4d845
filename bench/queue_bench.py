"""Department queue queries at city scale (default 1,000,000 reports).

Uses the city of bench/loader.py (``<name>_scale``, N reports bulk-loaded with COPY), shaped
like a city's history: spread over about two years across the departments
(roads the busiest), the newest 5 % still open (due a week after filing, so some overdue),
the rest closed, answered or rejected long ago; two thirds assigned to one of 40 staff. The
physical order follows filing time, so due times correlate with it: the case where a plan
walking ``ix_report_due_at`` from the oldest deadline would read every closed report first.

Each query is timed as the median of several runs and reported as a ratio to a baseline
measured in the same run (a primary-key lookup of one report), like bench/map_bench.py.

    BENCH_REPORTS=1000000 python bench/queue_bench.py      (make bench runs it)

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
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench import loader  # noqa: E402
from service.city import service as city  # noqa: E402
from service.clock import system_clock  # noqa: E402
from service.pagination import encode_cursor  # noqa: E402
from service.queues import repository  # noqa: E402
from service.queues.repository import QueueFilters  # noqa: E402

REPORTS = int(os.environ.get("BENCH_REPORTS", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
OPEN_SHARE = 0.05
STAFF = 40
# Budgets: how many primary-key lookups one request's query may cost at this scale.
BUDGETS = {
    "queue_first_page": 60.0,
    "queue_page_after_2000": 60.0,
    "queue_subtree_page": 60.0,
    "queue_counts": 60.0,
    "queue_subtree_counts": 120.0,
    "queue_mine": 60.0,
    "queue_unassigned": 60.0,
    "queue_overdue": 60.0,
    "queue_text_code": 60.0,
    "queue_text_word": 120.0,
}


async def median_seconds(run: Callable[[], Awaitable[Any]]) -> float:
    await run()  # warm the cache
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def measure(url: str, now: datetime) -> dict[str, Any]:
    engine = create_async_engine(url, pool_size=1)
    async with AsyncSession(engine) as session:
        some_id = await session.scalar(text("SELECT id FROM report LIMIT 1"))
        roads = await session.scalar(text("SELECT id FROM department WHERE code = 'roads'"))
        urban = await session.scalar(text("SELECT id FROM department WHERE code = 'urban-economy'"))
        subtree = await city.department_subtree(session, urban)
        someone = await session.scalar(
            text("SELECT assignee_id FROM report WHERE assignee_id IS NOT NULL LIMIT 1")
        )
        open_code = await session.scalar(
            text(
                "SELECT tracking_code FROM report WHERE department_id = :roads "
                "AND state = 'in_progress' ORDER BY created_at DESC LIMIT 1"
            ),
            {"roads": roads},
        )
        deep_rows, _ = await repository.queue_page(
            session, [roads], QueueFilters(), now, limit=2000, cursor=None, ascending=True
        )
        last = deep_rows[-1].Report
        deep_cursor = encode_cursor(last.due_at.isoformat(), last.id)

        async def baseline() -> None:
            await session.execute(text("SELECT * FROM report WHERE id = :id"), {"id": some_id})

        def page(
            departments: list[Any], cursor: str | None = None, **filters: Any
        ) -> Callable[[], Awaitable[Any]]:
            return lambda: repository.queue_page(
                session,
                departments,
                QueueFilters(**filters),
                now,
                limit=50,
                cursor=cursor,
                ascending=True,
            )

        cases: dict[str, Callable[[], Awaitable[Any]]] = {
            "queue_first_page": page([roads]),
            "queue_page_after_2000": page([roads], cursor=deep_cursor),
            "queue_subtree_page": page(subtree),
            "queue_counts": lambda: repository.queue_counts(session, [roads], QueueFilters(), now),
            "queue_subtree_counts": lambda: repository.queue_counts(
                session, subtree, QueueFilters(), now
            ),
            "queue_mine": page([roads], assignee_id=someone),
            "queue_unassigned": page([roads], unassigned=True),
            "queue_overdue": page([roads], overdue=True),
            "queue_text_code": page([roads], text=open_code.lower()),
            "queue_text_word": page([roads], text="drain floods"),
        }
        base_seconds = await median_seconds(baseline)
        open_reports = await session.scalar(
            text(
                "SELECT count(*) FROM report WHERE state IN ('accepted','in_progress',"
                "'awaiting_info','reopened','transferred')"
            )
        )
        results: dict[str, Any] = {
            "benchmark": "department_queue",
            "reports": REPORTS,
            "open_reports": open_reports,
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
    # A database built once is reused: its open reports' deadlines are days around then.
    city = await loader.city("scale", REPORTS)
    results = await measure(city.url, system_clock())
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
