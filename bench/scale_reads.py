"""Reads at city scale through HTTP, side by side with the hand-written SQL they need.

With N reports bulk-loaded (bench/loader.py, default 1,000,000), an API process of its own
(uvicorn, as scripts/run.sh serves it) answers one client on loopback; each figure is timed
as RUNS sequential requests, alternated with the same number of runs of the hand-written
SQL the answer needs (raw asyncpg on one connection, same cluster, same moment). Then the
map-cell recount: the incremental recount after 100 changed reports against a full recount.

    BENCH_REPORTS=1000000 python bench/scale_reads.py      (make bench-full runs it)
    BENCH_FIGURES=map_,nearby python bench/scale_reads.py  (only those figures)

One JSON line per figure: name, http p50/p95, sql p50/p95 (ms), ratio (p95 over p95), the
HTTP p95 minus the SQL p95, target (ms, p95 through HTTP), met (the target, and at most
2 ms over the SQL where issue 25 sets that: one report, nearby, the map, the queue, one
Open311 request). Exit status 0 either way:
the lines say what was met.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import loader, loadgen  # noqa: E402
from service.auth.tokens import issue_access_token  # noqa: E402
from service.clock import system_clock  # noqa: E402
from service.config import get_settings  # noqa: E402
from service.open311.repository import RequestFilter, requests_statement  # noqa: E402
from service.reports.mapview import (  # noqa: E402
    BASE_ZOOM,
    MAP_STATES,
    OPEN_STATE_NAMES,
    cell_size,
)
from service.reports.repository import NEARBY_SQL as APP_NEARBY_SQL  # noqa: E402
from service.reports.statements import VIEW_BY_ID_SQL  # noqa: E402

REPORTS = int(os.environ.get("BENCH_REPORTS", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "100"))
# Only the figures whose names start with one of these (comma-separated; all when empty),
# e.g. BENCH_FIGURES=map_,nearby.
ONLY = tuple(name for name in os.environ.get("BENCH_FIGURES", "").split(",") if name)
# Issue 25: what the Python stack may add to a hot read's SQL, p95 against p95.
OVERHEAD_MS = 2.0
CITY = (26.649, 58.348, 26.809, 58.408)
DISTRICT = (26.755, 58.365, 26.785, 58.381)  # about Annelinn
STREET = (26.7225, 58.3790, 26.7245, 58.3800)  # a block in Kesklinn
HERE = (58.3795, 26.7230)
MAP = [str(s) for s in MAP_STATES]
_90_DAYS = timedelta(days=90)


def wanted(name: str) -> bool:
    return not ONLY or name.startswith(ONLY)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_api(url: str, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        {
            "MEIELINN_DATABASE_URL": url,
            "MEIELINN_HOST": "127.0.0.1",
            "MEIELINN_LOG_LEVEL": "WARNING",
        }
    )
    return subprocess.Popen(  # noqa: S603 - our own venv's uvicorn
        [
            str(ROOT / ".venv/bin/uvicorn"),
            "--factory",
            "service.main:run_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-proxy-headers",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )


async def wait_up(client: httpx.AsyncClient) -> None:
    for _ in range(300):
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the API did not start")


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


Sql = Callable[[asyncpg.Connection], Awaitable[Any]]


def _items(body: Any) -> int:
    """How many things the answer lists (reports, features, requests)."""
    if isinstance(body, dict):
        return len(body.get("features", [body]))
    return len(body) if isinstance(body, list) else 1


async def figure(
    name: str,
    client: httpx.AsyncClient,
    path: str,
    params: dict[str, Any],
    headers: dict[str, str],
    db: asyncpg.Connection,
    sql: Sql,
    target_ms: float,
    extra: dict[str, Any] | None = None,
    overhead_ms: float | None = OVERHEAD_MS,
) -> dict[str, Any]:
    """RUNS requests and RUNS runs of the SQL, alternated; one JSON line. ``overhead_ms``:
    the most the HTTP p95 may exceed the SQL's p95 (issue 25), None where no such target
    is set (Open311 lists: their targets are absolute)."""
    if not wanted(name):
        return {}
    for _ in range(10):  # warm both
        answer = await client.get(path, params=params, headers=headers)
        assert answer.status_code == 200, (name, answer.status_code, answer.text[:300])
        await sql(db)
    http: list[float] = []
    raw: list[float] = []
    # Timed with a bare keep-alive HTTP/1.1 exchange (bench/loadgen.py's): httpx's own cost
    # per request (about a millisecond) would count as the server's.
    port = int(str(client.base_url).rsplit(":", 1)[1].strip("/"))
    target = httpx.URL(path, params=params)
    request = {"method": "GET", "path": f"{target.raw_path.decode()}"}
    if "Authorization" in headers:
        request["token"] = headers["Authorization"].removeprefix("Bearer ")
    message = loadgen._render(request, 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(RUNS):
            started = time.perf_counter()
            status = await loadgen._exchange(reader, writer, message, [])
            http.append((time.perf_counter() - started) * 1000)
            assert status == 200, (name, status)
            started = time.perf_counter()
            await sql(db)
            raw.append((time.perf_counter() - started) * 1000)
    finally:
        writer.close()
    http_p95, sql_p95 = percentile(http, 0.95), percentile(raw, 0.95)
    ratio = http_p95 / sql_p95 if sql_p95 else 0.0
    line = {
        "bench": "scale",
        "name": name,
        "reports": REPORTS,
        "http_p50_ms": round(statistics.median(http), 2),
        "http_p95_ms": round(http_p95, 2),
        "sql_p50_ms": round(statistics.median(raw), 2),
        "sql_p95_ms": round(sql_p95, 2),
        "ratio": round(ratio, 2),
        "http_minus_sql_p95_ms": round(http_p95 - sql_p95, 2),
        "overhead_target_ms": overhead_ms,
        "target_ms": target_ms,
        "met": http_p95 <= target_ms and (overhead_ms is None or http_p95 - sql_p95 <= overhead_ms),
        "bytes": len(answer.content),
        "items": _items(answer.json()),
        **(extra or {}),
    }
    print(json.dumps(line), flush=True)
    return line


async def web_session_cookie(db: asyncpg.Connection, user_id: Any) -> dict[str, str]:
    """A browser session of ``user_id`` (as signing in through the page makes one)."""
    import secrets

    from service.auth.tokens import digest

    secret = secrets.token_urlsafe(32)
    await db.execute(
        "INSERT INTO web_session (id, user_id, token_hash, created_at, expires_at) "
        "VALUES (gen_random_uuid(), $1, $2, now(), now() + interval '1 day')",
        user_id,
        digest(secret),
    )
    return {"meielinn_session": secret}


async def page_figure(
    name: str,
    client: httpx.AsyncClient,
    path: str,
    target_ms: float,
    cookies: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A web page's server time, p95 of RUNS requests one after another (the web issues'
    figures at this size: the home page ≤ 100 ms, the staff queue page ≤ 50 ms)."""
    if not wanted(name):
        return {}
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())}
    for _ in range(10):
        answer = await client.get(path, headers=headers)
        assert answer.status_code == 200, (name, answer.status_code, answer.text[:300])
    http: list[float] = []
    for _ in range(RUNS):
        started = time.perf_counter()
        answer = await client.get(path, headers=headers)
        http.append((time.perf_counter() - started) * 1000)
    p95 = percentile(http, 0.95)
    line = {
        "bench": "scale",
        "name": name,
        "reports": REPORTS,
        "http_p50_ms": round(statistics.median(http), 2),
        "http_p95_ms": round(p95, 2),
        "target_ms": target_ms,
        "met": p95 <= target_ms,
        "bytes": len(answer.content),
    }
    print(json.dumps(line), flush=True)
    return line


# --- the hand-written SQL each answer needs ------------------------------------------------

ACTOR_SQL = """
SELECT u.id, u.language, u.disabled_at, g.role, g.department_id
FROM user_account u LEFT JOIN role_grant g ON g.user_id = u.id WHERE u.id = $1
"""

QUEUE_PAGE_SQL = """
SELECT id, due_at FROM report WHERE department_id = $1 AND state IN (
  'accepted', 'in_progress', 'awaiting_info', 'reopened', 'transferred')
ORDER BY due_at, id LIMIT 51
"""

WORK_SQL = """
SELECT r.*, ST_Y(r.location) AS lat, ST_X(r.location) AS lon, re.code, re.names,
       d.code, d.name, di.code, di.name, b.address, u.display_name, u.email,
       a.display_name, p.code, p.name, p.external_code
FROM report r
JOIN reason re ON re.id = r.reason_id
JOIN department d ON d.id = r.department_id
JOIN user_account u ON u.id = r.reporter_id
LEFT JOIN district di ON di.id = r.district_id
LEFT JOIN building b ON b.id = r.building_id
LEFT JOIN user_account a ON a.id = r.assignee_id
LEFT JOIN response_priority p ON p.id = r.priority_id
WHERE r.id = ANY($1)
"""

QUEUE_COUNTS_SQL = """
SELECT state, count(*), count(*) FILTER (WHERE breached_at IS NOT NULL OR due_at < $2)
FROM report WHERE department_id = $1 AND state IN (
  'accepted', 'in_progress', 'awaiting_info', 'reopened', 'transferred') GROUP BY state
"""

MAP_PROBE_SQL = """
SELECT count(*) FROM (
  SELECT 1 FROM report
  WHERE location && ST_MakeEnvelope($1, $2, $3, $4, 4326) AND state = ANY($5) LIMIT 501
) AS capped
"""

MAP_POINTS_SQL = """
SELECT id, tracking_code, state, reason_id, due_at, supporters_count,
       ST_X(location), ST_Y(location)
FROM report WHERE location && ST_MakeEnvelope($1, $2, $3, $4, 4326) AND state = ANY($5)
"""

MAP_CELLS_SQL = """
SELECT cx, cy, sum(n), sum(sum_lon) / sum(n), sum(sum_lat) / sum(n)
FROM report_map_cell
WHERE zoom = $1 AND cx BETWEEN $2 AND $3 AND cy BETWEEN $4 AND $5 AND state = ANY($6)
GROUP BY cx, cy
"""

NEARBY_REASON_SQL = "SELECT category_id, duplicate_radius_m FROM reason WHERE id = $1"


def map_cells_args(bbox: tuple[float, float, float, float], zoom: int) -> list[Any]:
    size = cell_size(zoom)
    return [
        zoom,
        int(bbox[0] // size),
        int(bbox[2] // size),
        int(bbox[1] // size),
        int(bbox[3] // size),
        MAP,
    ]


# The point nearby asks about: of the open reports of the category near the street box, the
# one with the most open neighbours of its category within the duplicate radius, moved by
# ~5 m (a resident about to file beside them). An empty answer would time only the index
# probe, not the rows and their building.
BUSY_POINT_SQL = """
WITH candidate AS (
  SELECT location FROM report
  WHERE category_id = $1 AND state = ANY($2)
  ORDER BY location <-> ST_SetSRID(ST_MakePoint($4, $3), 4326) LIMIT 200
)
SELECT ST_Y(c.location) + 0.00004 AS lat, ST_X(c.location) AS lon, (
  SELECT count(*) FROM report r
  WHERE r.category_id = $1 AND r.state = ANY($2)
    AND ST_DWithin(r.location::geography, c.location::geography, $5)
) AS neighbours
FROM candidate c ORDER BY neighbours DESC, lat, lon LIMIT 1
"""


async def measure_reads(city: loader.City) -> list[dict[str, Any]]:
    settings = get_settings()
    db = await asyncpg.connect(city.dsn)
    roads = await db.fetchval("SELECT id FROM department WHERE code = 'roads'")
    pothole = await db.fetchval("SELECT id FROM reason WHERE code = 'pothole'")
    code, report_id = await db.fetchrow(
        "SELECT tracking_code, id FROM report WHERE state = 'in_progress' "
        "ORDER BY created_at DESC LIMIT 1"
    )
    category, radius = await db.fetchrow(NEARBY_REASON_SQL, pothole)
    here = await db.fetchrow(
        BUSY_POINT_SQL, category, OPEN_STATE_NAMES, HERE[0], HERE[1], float(radius)
    )
    busy = (float(here["lat"]), float(here["lon"]))
    staff = city.staff_ids[1]
    token = issue_access_token(settings, staff, system_clock())
    auth = {"Authorization": f"Bearer {token}"}
    port = _free_port()
    api = start_api(city.url, port)
    lines: list[dict[str, Any]] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30.0) as client:
            await wait_up(client)

            async def report_sql(c: asyncpg.Connection) -> None:
                await c.fetchrow(VIEW_BY_ID_SQL, report_id)

            # One report, anonymous: the read pool's one statement.
            lines.append(
                await figure(
                    "report_one",
                    client,
                    f"/v1/reports/{report_id}",
                    {},
                    {},
                    db,
                    report_sql,
                    10.0,
                )
            )

            async def queue_sql(c: asyncpg.Connection) -> None:
                await c.fetch(ACTOR_SQL, staff)
                page = await c.fetch(QUEUE_PAGE_SQL, roads)
                await c.fetch(WORK_SQL, [row["id"] for row in page[:50]])
                await c.fetch(QUEUE_COUNTS_SQL, roads, system_clock())

            lines.append(
                await figure(
                    "department_queue",
                    client,
                    f"/v1/departments/{roads}/queue",
                    {"limit": 50},
                    auth,
                    db,
                    queue_sql,
                    20.0,
                )
            )

            def map_sql(bbox: tuple[float, float, float, float], zoom: int) -> Sql:
                async def run(c: asyncpg.Connection) -> None:
                    # Up to zoom 16 the cells first: far over the budget (500) in the
                    # cells wholly inside the box, they are the answer.
                    if zoom <= BASE_ZOOM:
                        args = map_cells_args(bbox, zoom)
                        cells = await c.fetch(MAP_CELLS_SQL, *args)
                        inside = sum(
                            row[2]
                            for row in cells
                            if args[1] < row[0] < args[2] and args[3] < row[1] < args[4]
                        )
                        if inside > 1000:
                            return
                    box = list(bbox)
                    if await c.fetchval(MAP_PROBE_SQL, *box, MAP) <= 500:
                        await c.fetch(MAP_POINTS_SQL, *box, MAP)
                    elif zoom <= BASE_ZOOM:
                        await c.fetch(MAP_CELLS_SQL, *map_cells_args(bbox, zoom))

                return run

            for name, bbox, zoom in (
                ("map_city_z12", CITY, 12),
                ("map_district_z14", DISTRICT, 14),
                ("map_street_z18", STREET, 18),
            ):
                lines.append(
                    await figure(
                        name,
                        client,
                        "/v1/map",
                        {"bbox": ",".join(map(str, bbox)), "zoom": zoom},
                        {},
                        db,
                        map_sql(bbox, zoom),
                        50.0,
                    )
                )

            async def nearby_sql(c: asyncpg.Connection) -> None:
                # The app's own statement: the reason and its nearby reports in one.
                await c.fetch(APP_NEARBY_SQL, pothole, busy[0], busy[1], 10)

            lines.append(
                await figure(
                    "nearby",
                    client,
                    "/v1/reports/nearby",
                    {"lat": busy[0], "lon": busy[1], "reason": str(pothole)},
                    {},
                    db,
                    nearby_sql,
                    10.0,
                    {"lat": busy[0], "lon": busy[1], "open_within_radius": here["neighbours"]},
                )
            )

            def requests_sql(limit: int, by_code: bool) -> Sql:
                # The app's own statement (service.open311.repository), as the route builds
                # it: by code any time; a list the last 90 days (the Open311 default).
                async def run(c: asyncpg.Connection) -> None:
                    now = system_clock()
                    if by_code:
                        query = RequestFilter(ids=[code], limit=1000)
                    else:
                        query = RequestFilter(start=now - _90_DAYS, end=now, limit=limit)
                    sql, args = requests_statement(query)
                    await c.fetch(sql, *args)

                return run

            for name, path, params, limit, by_code, target, overhead in (
                (
                    "open311_requests_50",
                    "/open311/v2/requests.json",
                    {"page_size": 50},
                    50,
                    0,
                    40.0,
                    None,
                ),
                ("open311_requests_1000", "/open311/v2/requests.json", {}, 1000, 0, 120.0, None),
                (
                    "open311_request_one",
                    f"/open311/v2/requests/{code}.json",
                    {},
                    1,
                    1,
                    50.0,
                    OVERHEAD_MS,
                ),
            ):
                lines.append(
                    await figure(
                        name,
                        client,
                        path,
                        params,
                        {},
                        db,
                        requests_sql(limit, bool(by_code)),
                        target,
                        overhead_ms=overhead,
                    )
                )
            lines.append(await page_figure("page_home", client, "/", 100.0))
            cookie = await web_session_cookie(db, staff)
            lines.append(
                await page_figure("page_staff_queue", client, "/staff/queue", 50.0, cookie)
            )
        rss = peak_rss_mb(api.pid)
        print(
            json.dumps(
                {"bench": "scale", "name": "api_peak_rss_mb", "reports": REPORTS, "mb": rss}
            ),
            flush=True,
        )
    finally:
        api.terminate()
        api.wait(timeout=10)
        await db.close()
    return lines


async def measure_cells(city: loader.City) -> dict[str, Any]:
    """The incremental recount (every zoom) after 100 changed reports, against a full
    recount."""
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
    from sqlalchemy.pool import NullPool

    from service.reports.mapview import FULL_RECOUNT_SQL, refresh_cells

    db = await asyncpg.connect(city.dsn)
    engine = create_async_engine(city.url, poolclass=NullPool)
    try:
        incremental: list[float] = []
        cells: list[int] = []
        rng = random.Random(5)
        for _ in range(5):
            codes = [f"B{rng.randrange(1, REPORTS + 1):010d}" for _ in range(100)]
            async with db.transaction():
                # 100 changed reports: 40 moved by ~30 m, 60 changed state.
                await db.execute(
                    """
                    UPDATE report SET location = ST_SetSRID(ST_MakePoint(
                        ST_X(location) + 0.0004, ST_Y(location)), 4326)
                    WHERE tracking_code = ANY($1)
                    """,
                    codes[:40],
                )
                await db.execute(
                    """
                    UPDATE report SET state = CASE state WHEN 'closed' THEN 'answered'
                                                         ELSE 'closed' END
                    WHERE tracking_code = ANY($1)
                    """,
                    codes[40:],
                )
            async with AsyncSession(engine) as session:
                started = time.perf_counter()
                cells.append(await refresh_cells(session))
                await session.commit()
                incremental.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        async with db.transaction():
            await db.execute(FULL_RECOUNT_SQL)
        full = (time.perf_counter() - started) * 1000
    finally:
        await db.close()
        await engine.dispose()
    line = {
        "bench": "scale",
        "name": "map_cells_recount_100_changes",
        "reports": REPORTS,
        "incremental_p50_ms": round(statistics.median(incremental), 2),
        "incremental_max_ms": round(max(incremental), 2),
        "full_recount_ms": round(full, 1),
        "cells_recounted_p50": statistics.median(cells),
        "ratio": round(statistics.median(incremental) / full, 4),
    }
    print(json.dumps(line), flush=True)
    return line


async def main() -> int:
    city = await loader.city("scale", REPORTS)
    await measure_reads(city)
    if wanted("map_cells_recount"):
        await measure_cells(city)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
