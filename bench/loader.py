"""A city with N synthetic reports, bulk-loaded with COPY: the one set-up of the benchmarks
at scale (bench/map_bench.py, bench/queue_bench.py, bench/scale_reads.py).

The database (``<name>_<suffix>``) is cloned from the test template when there is one (else
migrated and seeded), then filled with reports shaped like a city's history: spread over
about two years across the departments (roads the busiest, a quarter of all), the newest
5 % still open (due a week after filing, so some overdue), the rest closed, answered or
rejected long ago; two thirds assigned to one of 40 staff of their department; points
spread over the city's box, each in the district that contains it. The physical order
follows filing time, so due times correlate with it.

Loading drops the report table's secondary indexes and user triggers, COPYs the rows in
(text format, generated here), then builds the indexes again: about a minute for a million
reports on two cores, instead of ten with the indexes in place. A database already built
for the same size and migrations is reused (the marker is the database's comment).
"""

from __future__ import annotations

import hashlib
import random
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OPEN_SHARE = 0.05
STAFF = 40
CITY = (26.649, 58.348, 26.809, 58.408)
OPEN_STATES = ("accepted", "in_progress", "in_progress", "awaiting_info", "reopened")
PAST_STATES = ("closed", "closed", "closed", "answered", "rejected")
DESCRIPTIONS = (
    "Deep pothole by the crossing",
    "Street lamp out all night",
    "Graffiti on the wall",
    "Litter all over the park",
    "Ice on the pavement",
    "Broken bench in the yard",
    "Overflowing bin by the stop",
    "Fallen tree branch",
    "Missing road sign",
    "Blocked drain floods the street",
)
COLUMNS = (
    "id",
    "tracking_code",
    "reporter_id",
    "reason_id",
    "category_id",
    "department_id",
    "district_id",
    "location",
    "description",
    "address_text",
    "attributes",
    "anonymous_public",
    "state",
    "round",
    "version",
    "created_at",
    "updated_at",
    "submitted_at",
    "accepted_at",
    "due_at",
    "assignee_id",
    "supporters_count",
    "subscribers_count",
    "photo_count",
    "filed_on_behalf",
)


@dataclass(frozen=True)
class City:
    """What a benchmark needs to know about the loaded city."""

    url: str  # SQLAlchemy URL of the database
    dsn: str  # the same for asyncpg
    reports: int
    now: datetime  # the moment the history was generated up to
    reporter_id: uuid.UUID
    staff_ids: list[uuid.UUID]  # staff of roads (the first one also a supervisor)


def dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def _migrations_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _migrate(connection: Any) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def _create(base_url: str, name: str) -> None:
    """The database, from the test template when there is one, migrated and seeded."""
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
    from sqlalchemy.pool import NullPool

    from service.demo.seed import seed_city

    base = make_url(base_url)
    template = f"{base.database}_test_template"
    admin = await asyncpg.connect(dsn(base_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        has_template = await admin.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", template
        )
        if has_template:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    engine = create_async_engine(
        base.set(database=name).render_as_string(hide_password=False), poolclass=NullPool
    )
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate)
        if not has_template:
            async with AsyncSession(engine) as session:
                await seed_city(session)
                await session.commit()
    finally:
        await engine.dispose()


async def _people(connection: asyncpg.Connection) -> tuple[uuid.UUID, list[uuid.UUID]]:
    reporter = await connection.fetchval(
        "INSERT INTO user_account (id, email, display_name, language, password_hash, "
        "email_verified_at, contact_only, created_at) VALUES (gen_random_uuid(), "
        "'bench@example.org', 'Bench', 'et', '!', now(), false, now()) RETURNING id"
    )
    staff = [
        row[0]
        for row in await connection.fetch(
            "INSERT INTO user_account (id, email, display_name, language, password_hash, "
            "email_verified_at, contact_only, created_at) SELECT gen_random_uuid(), "
            "'staff' || n || '@example.org', 'Staff ' || n, 'et', '!', now(), false, now() "
            "FROM generate_series(1, $1::int) AS n RETURNING id",
            STAFF,
        )
    ]
    await connection.execute(
        "INSERT INTO role_grant (id, user_id, role, department_id, granted_at) "
        "SELECT gen_random_uuid(), u, 'staff', d.id, now() FROM unnest($1::uuid[]) AS u, "
        "department d WHERE d.code = 'roads'",
        staff,
    )
    await connection.execute(
        "INSERT INTO role_grant (id, user_id, role, department_id, granted_at) "
        "SELECT gen_random_uuid(), $1, 'supervisor', d.id, now() FROM department d "
        "WHERE d.code = 'roads'",
        staff[0],
    )
    return reporter, staff


async def _lookups(connection: asyncpg.Connection) -> dict[str, Any]:
    """Departments, reasons and district outlines the rows refer to."""
    from shapely import wkb

    return {
        "departments": {
            row["code"]: row["id"]
            for row in await connection.fetch("SELECT code, id FROM department ORDER BY code")
        },
        "reasons": [
            (row["id"], row["category_id"])
            for row in await connection.fetch("SELECT id, category_id FROM reason ORDER BY id")
        ],
        "districts": [
            (row["id"], wkb.loads(bytes(row["shape"])))
            for row in await connection.fetch(
                "SELECT id, ST_AsBinary(geom) AS shape FROM district ORDER BY code"
            )
        ],
    }


async def _rows(
    lookups: dict[str, Any],
    total: int,
    now: datetime,
    reporter: uuid.UUID,
    staff: list[uuid.UUID],
) -> AsyncIterator[bytes]:
    """The reports as COPY text lines, in chunks."""
    import numpy as np
    import shapely

    rng = random.Random(20261124)
    by_code = lookups["departments"]
    departments = [*by_code.values(), *[by_code["roads"]] * 4]
    reasons = lookups["reasons"]
    districts = lookups["districts"]
    opened = total - int(total * OPEN_SHARE)
    chunk = 20_000
    for first in range(1, total + 1, chunk):
        numbers = range(first, min(total, first + chunk - 1) + 1)
        xs = np.array([CITY[0] + rng.random() * (CITY[2] - CITY[0]) for _ in numbers])
        ys = np.array([CITY[1] + rng.random() * (CITY[3] - CITY[1]) for _ in numbers])
        district_of: list[str] = ["\\N"] * len(xs)
        for district_id, shape in districts:
            inside = shapely.contains_xy(shape, xs, ys)
            for found in np.flatnonzero(inside):
                district_of[int(found)] = str(district_id)
        lines = []
        for index, n in enumerate(numbers):
            created = now - timedelta(minutes=total - n)
            is_open = n > opened
            state = (OPEN_STATES if is_open else PAST_STATES)[n % 5]
            reason, category = reasons[n % len(reasons)]
            department = departments[(n * 7919) % len(departments)]
            assignee = str(staff[n % STAFF]) if n % 3 else "\\N"
            stamp = created.isoformat()
            lines.append(
                "\t".join(
                    (
                        str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        f"B{n:010d}",
                        str(reporter),
                        str(reason),
                        str(category),
                        str(department),
                        district_of[index],
                        f"SRID=4326;POINT({xs[index]:.7f} {ys[index]:.7f})",
                        f"{DESCRIPTIONS[n % 10]}, report {n}",
                        f"Street {n % 500} house {n % 97}",
                        "{}",
                        "f",
                        state,
                        "1",
                        "1",
                        stamp,
                        now.isoformat(),
                        stamp,
                        stamp,
                        (created + timedelta(days=7)).isoformat(),
                        assignee,
                        "0",
                        "1",
                        "0",
                        "f",
                    )
                )
            )
        yield ("\n".join(lines) + "\n").encode()


async def _copy_reports(
    connection: asyncpg.Connection,
    total: int,
    now: datetime,
    reporter: uuid.UUID,
    staff: list[uuid.UUID],
) -> None:
    # Secondary indexes are built once after the load instead of row by row during it.
    indexes = await connection.fetch(
        """
        SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = 'report'::regclass AND NOT x.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        """
    )
    for index in indexes:
        await connection.execute(f'DROP INDEX "{index["name"]}"')
    lookups = await _lookups(connection)
    await connection.execute("ALTER TABLE report DISABLE TRIGGER USER")
    await connection.copy_to_table(
        "report",
        source=_rows(lookups, total, now, reporter, staff),
        columns=list(COLUMNS),
        format="text",
    )
    await connection.execute("ALTER TABLE report ENABLE TRIGGER USER")
    await connection.execute("SET maintenance_work_mem = '256MB'")
    for index in indexes:
        await connection.execute(index["definition"])


async def city(suffix: str, reports: int) -> City:
    """The loaded city for ``reports`` reports (built now, or reused)."""
    from service.config import get_settings

    base_url = get_settings().database_url
    base = make_url(base_url)
    name = f"{base.database}_{suffix}"
    url = base.set(database=name).render_as_string(hide_password=False)
    marker = f"reports={reports} migrations={_migrations_fingerprint()}"
    admin = await asyncpg.connect(dsn(base_url))
    try:
        comment = await admin.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            name,
        )
    finally:
        await admin.close()
    if comment is None or not comment.startswith(marker):
        await _build(base_url, name, reports, marker)
    connection = await asyncpg.connect(dsn(url))
    try:
        comment = await connection.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            name,
        )
        now = datetime.fromisoformat(comment.split(" now=")[1])
        reporter = await connection.fetchval(
            "SELECT id FROM user_account WHERE email = 'bench@example.org'"
        )
        staff = [
            row[0]
            for row in await connection.fetch(
                "SELECT u.id FROM user_account u WHERE u.email LIKE 'staff%@example.org' "
                "ORDER BY (substring(u.email from 6 for position('@' in u.email) - 6))::int"
            )
        ]
    finally:
        await connection.close()
    return City(url, dsn(url), reports, now, reporter, staff)


async def _build(base_url: str, name: str, reports: int, marker: str) -> None:
    from service.clock import system_clock

    started = time.perf_counter()
    await _create(base_url, name)
    now = system_clock().replace(microsecond=0)
    connection = await asyncpg.connect(dsn(base_url, name))
    try:
        async with connection.transaction():
            reporter, staff = await _people(connection)
            await _copy_reports(connection, reports, now, reporter, staff)
        await connection.execute("VACUUM ANALYZE report")
        await _recount_cells(connection)
        await connection.execute(f"COMMENT ON DATABASE \"{name}\" IS '{marker} now={now}'")
    finally:
        await connection.close()
    print(
        f"[bench] {name}: {reports} reports loaded in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )


async def _recount_cells(connection: asyncpg.Connection) -> None:
    """Every map cell counted from scratch (what the load's disabled triggers did not)."""
    from service.reports.mapview import FULL_RECOUNT_SQL

    await connection.execute(FULL_RECOUNT_SQL)
    await connection.execute("VACUUM ANALYZE report_map_cell")
