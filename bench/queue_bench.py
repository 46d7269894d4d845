"""Department queue queries at city scale (default 1,000,000 reports).

Builds a separate database (``<name>_queue_bench``) with the demo city and N synthetic
reports shaped like a city's history: spread over about two years across the departments
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

from service.city import service as city  # noqa: E402
from service.config import get_settings  # noqa: E402
from service.demo.seed import seed_city  # noqa: E402
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

FILL = """
INSERT INTO report (
    id, tracking_code, reporter_id, reason_id, category_id, department_id, location,
    description, address_text, attributes, anonymous_public, state, round, version,
    created_at, updated_at, submitted_at, accepted_at, due_at, assignee_id,
    supporters_count, subscribers_count, photo_count, filed_on_behalf
)
SELECT
    gen_random_uuid(),
    'B' || lpad(n::text, 10, '0'),
    :reporter,
    r.id, r.category_id,
    p.departments[1 + (n::bigint * 7919) % cardinality(p.departments)],
    ST_SetSRID(ST_MakePoint(26.649 + random() * 0.16, 58.348 + random() * 0.06), 4326),
    (ARRAY['Deep pothole by the crossing', 'Street lamp out all night', 'Graffiti on the wall',
           'Litter all over the park', 'Ice on the pavement', 'Broken bench in the yard',
           'Overflowing bin by the stop', 'Fallen tree branch', 'Missing road sign',
           'Blocked drain floods the street'])[1 + n % 10] || ', report ' || n,
    'Street ' || (n % 500) || ' house ' || (n % 97),
    '{}', false,
    CASE WHEN n > p.total - p.open
         THEN (ARRAY['accepted', 'in_progress', 'in_progress', 'awaiting_info', 'reopened'])
              [1 + n % 5]
         ELSE (ARRAY['closed', 'closed', 'closed', 'answered', 'rejected'])[1 + n % 5]
    END,
    1, 1,
    p.now - (p.total - n) * interval '1 minute',
    p.now, p.now - (p.total - n) * interval '1 minute', p.now - (p.total - n) * interval '1 minute',
    p.now - (p.total - n) * interval '1 minute' + interval '7 days',
    CASE WHEN n % 3 <> 0 THEN (CAST(:staff AS uuid[]))[1 + n % p.staff_count] END,
    0, 1, 0, false
FROM generate_series(CAST(:first AS int), CAST(:last AS int)) AS n
CROSS JOIN (
    SELECT CAST(:total AS int) AS total, CAST(:open AS int) AS open,
           CAST(:now AS timestamptz) AS now, CAST(:staff_count AS int) AS staff_count,
           CAST(:departments AS uuid[]) AS departments
) p
JOIN LATERAL (
    SELECT id, category_id FROM reason ORDER BY id OFFSET (n % CAST(:reasons AS int)) LIMIT 1
) r ON true
"""


def _migrate(connection: Any) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _bench_url(url: str) -> str:
    base = make_url(url)
    return base.set(database=f"{base.database}_queue_bench").render_as_string(False)


async def build(url: str, now: datetime) -> None:
    base = make_url(url)
    admin = await asyncpg.connect(base.set(drivername="postgresql").render_as_string(False))
    name = f"{base.database}_queue_bench"
    marker = f"reports={REPORTS}"
    comment = await admin.fetchval(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", name
    )
    if comment == marker:
        await admin.close()
        return
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = create_async_engine(_bench_url(url), poolclass=NullPool)
    async with engine.begin() as connection:
        await connection.run_sync(_migrate)
    async with AsyncSession(engine) as session:
        await seed_city(session)
        reporter = await session.scalar(
            text(
                "INSERT INTO user_account (id, email, display_name, language, password_hash) "
                "VALUES (gen_random_uuid(), 'bench@example.org', 'Bench', 'et', '!') "
                "RETURNING id"
            )
        )
        staff = list(
            (
                await session.execute(
                    text(
                        "INSERT INTO user_account (id, email, display_name, language, "
                        "password_hash) SELECT gen_random_uuid(), 'staff' || n || "
                        "'@example.org', 'Staff ' || n, 'et', '!' "
                        "FROM generate_series(1, :count) AS n RETURNING id"
                    ),
                    {"count": STAFF},
                )
            ).scalars()
        )
        rows = await session.execute(text("SELECT code, id FROM department ORDER BY code"))
        by_code = {row.code: row.id for row in rows}
        # Roads is the busiest department: it takes a quarter of the reports.
        departments = [*by_code.values(), *[by_code["roads"]] * 4]
        reasons = await session.scalar(text("SELECT count(*) FROM reason"))
        await session.commit()
        started = time.perf_counter()
        step = 100_000
        for first in range(1, REPORTS + 1, step):
            await session.execute(
                text(FILL),
                {
                    "reporter": reporter,
                    "departments": departments,
                    "staff": staff,
                    "staff_count": STAFF,
                    "reasons": reasons,
                    "total": REPORTS,
                    "open": int(REPORTS * OPEN_SHARE),
                    "now": now,
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


async def measure(url: str, now: datetime) -> dict[str, Any]:
    engine = create_async_engine(_bench_url(url), pool_size=1)
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
    url = get_settings().database_url
    # A database built once is reused: its open reports' deadlines are days around then.
    now = datetime.now(UTC).replace(microsecond=0)
    await build(url, now)
    results = await measure(url, datetime.now(UTC))
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
