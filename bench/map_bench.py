"""Map, list and nearby queries at city scale (default 1,000,000 reports).

Builds a separate database (``<name>_bench``) with the demo city and N synthetic reports,
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
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402

from service.config import get_settings  # noqa: E402
from service.demo.seed import seed_city  # noqa: E402
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

FILL = """
INSERT INTO report (
    id, tracking_code, reporter_id, reason_id, category_id, department_id, location,
    description, attributes, anonymous_public, state, round, created_at, updated_at,
    submitted_at, accepted_at, due_at, supporters_count, subscribers_count, photo_count
)
SELECT
    gen_random_uuid(),
    'B' || lpad(n::text, 10, '0'),
    :reporter,
    r.id, r.category_id, :department,
    ST_SetSRID(ST_MakePoint(26.649 + random() * 0.16, 58.348 + random() * 0.06), 4326),
    'Synthetic report', '{}', false,
    (ARRAY['accepted', 'in_progress', 'answered', 'closed', 'closed', 'closed', 'submitted'])
        [1 + (n % 7)],
    1,
    now() - (n % 400000) * interval '1 minute',
    now(), now(), now(), now() + interval '5 days', 0, 1, 0
FROM generate_series(CAST(:first AS int), CAST(:last AS int)) AS n
JOIN LATERAL (
    SELECT id, category_id FROM reason ORDER BY id OFFSET (n % CAST(:reasons AS int)) LIMIT 1
) r ON true
"""


def _migrate(connection: Any) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def build(url: str) -> None:
    base = make_url(url)
    admin = await asyncpg.connect(base.set(drivername="postgresql").render_as_string(False))
    name = f"{base.database}_bench"
    marker = f"reports={REPORTS}"
    comment = await admin.fetchval(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", name
    )
    if comment == marker:
        await admin.close()
        return
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = create_async_engine(
        base.set(database=name).render_as_string(False), poolclass=NullPool
    )
    async with engine.begin() as connection:
        await connection.run_sync(_migrate)
    async with AsyncSession(engine) as session:
        await seed_city(session)
        reporter = uuid.uuid4()
        await session.execute(
            text(
                "INSERT INTO user_account (id, email, display_name, language, password_hash) "
                "VALUES (:id, 'bench@example.org', 'Bench', 'et', '!')"
            ),
            {"id": reporter},
        )
        department = await session.scalar(text("SELECT id FROM department WHERE code = 'roads'"))
        reasons = await session.scalar(text("SELECT count(*) FROM reason"))
        await session.commit()
        started = time.perf_counter()
        step = 100_000
        for first in range(1, REPORTS + 1, step):
            await session.execute(
                text(FILL),
                {
                    "reporter": reporter,
                    "department": department,
                    "reasons": reasons,
                    "first": first,
                    "last": min(REPORTS, first + step - 1),
                },
            )
            await session.commit()
        print(
            f"[bench] {REPORTS} reports in {time.perf_counter() - started:.0f} s", file=sys.stderr
        )
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE report"))
        await connection.execute(text("REFRESH MATERIALIZED VIEW report_map_cell"))
        await connection.execute(text("VACUUM ANALYZE report_map_cell"))
    await engine.dispose()
    await admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{marker}'")
    await admin.close()


async def median_seconds(run: Callable[[], Awaitable[Any]]) -> float:
    await run()  # warm the cache
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def measure(url: str) -> dict[str, Any]:
    base = make_url(url)
    engine = create_async_engine(
        base.set(database=f"{base.database}_bench").render_as_string(False), pool_size=1
    )
    now = datetime.now(UTC)
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
    url = get_settings().database_url
    await build(url)
    results = await measure(url)
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
