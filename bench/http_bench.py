"""The HTTP hot paths against raw asyncpg doing the same SQL, in the same run (``make bench``).

1. A database of its own, ``<name>_http_bench``: cloned from ``<name>_http_bench_seed``,
   which the first run migrates and loads with the demo city (``scripts/seed_demo.py``:
   the city, its accounts and 3,000 reports); later runs only clone it and migrate.
2. ``BENCH_RESIDENTS`` verified residents with access tokens (so the per-person filing
   quota does not bite; the bench's server also gets a large quota).
3. The API and a worker started by ``scripts/run.sh`` — exactly what ``make run`` serves —
   on a free port, with the bench database and a queue name of their own.
4. Load from a separate process (``bench/loadgen.py``) on loopback, ``BENCH_CONNECTIONS``
   keep-alive connections, ``BENCH_SECONDS`` per figure, and right after each figure the
   raw-asyncpg baseline: the same SQL from the same number of connections, prepared
   statements, one transaction per filing.
5. ``BENCH_REPEATS`` rounds; each figure is printed as one JSON line with the median ratio
   and the range over the rounds, and the lines are kept in bench/results/.

Figures (targets from issues 15 and 25):

* ``filing``      POST /v1/reports (resident token, routing, Idempotency-Key) ÷ the same
                  transaction in raw asyncpg: ≥ 0.35
* ``read``        GET /v1/reports/{id} ÷ the same statement (the report, its names and
                  its photos in one row): no target, the physical limit (issue 25 measures
                  a read against the minimal route below)
* ``read_vs_fastapi``  GET /v1/reports/{id} ÷ the same statement served by a minimal
                  FastAPI route with an asyncpg pool and nothing else (``bench/anchors.py``),
                  measured right after it; the bare Starlette route beside it: ≥ 0.60
* ``signed_read_vs_fastapi``  the same read by signed-in residents (bearer token) ÷ the
                  minimal route with a bearer check (PyJWT, then the account statement): ≥ 0.50
* ``list``        GET /v1/reports?limit=20 ÷ the same page statement: ≥ 0.35
                  (``BENCH_BASELINE=orm``: the baselines run the statements the API ran
                  before it read in one statement, for comparing with earlier runs)
* ``routing``     filing a building-bound reason near buildings (nearest building within
                  50 m, its managing organisation) ÷ filing a reason with a plain category
                  rule; the API has no way to name a department, so this is the costliest
                  routing path against the cheapest (see bench/README.md): ≥ 0.85
* ``idempotency`` filing with a key ÷ without: ≥ 0.90
* ``p99_read``, ``p99_filing``  p99 latency at a fixed 70 % of the measured maximum
                  throughput, counted from when each request was due: read ≤ 25 ms,
                  filing ≤ 50 ms
* ``rss``         peak RSS (VmHWM) of the API process and the worker after the load
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.auth.tokens import issue_access_token  # noqa: E402
from service.city.routing.repository import ROUTING_SQL  # noqa: E402
from service.clock import system_clock  # noqa: E402
from service.config import get_settings  # noqa: E402
from service.reports import access  # noqa: E402
from service.reports import repository as reports_repository  # noqa: E402
from service.reports import statements as reports_statements  # noqa: E402
from service.reports.models import Report  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
RESIDENTS = int(os.environ.get("BENCH_RESIDENTS", "256"))
# BENCH_FIGURES=read,list measures only those (filing: filing, routing and idempotency;
# p99: the latency at 70 % of the measured filing and read rates); all by default.
# pages: the web app's pages, one browser at a time (server time), and their weight.
GROUPS = set(os.environ.get("BENCH_FIGURES", "filing,read,list,p99,pages").split(","))
VENV = ROOT / ".venv" / "bin"
TARGETS: dict[str, tuple[str, float]] = {
    "filing": (">=", 0.35),
    # Issue 25: the bar of a read is the minimal FastAPI route (read_vs_fastapi); raw
    # asyncpg stays beside it as the physical limit.
    "read": ("limit", 0.0),
    "list": (">=", 0.35),
    "routing": (">=", 0.85),
    "idempotency": (">=", 0.90),
    "p99_read": ("<=", 25.0),
    "p99_filing": ("<=", 50.0),
    "read_vs_fastapi": (">=", 0.60),
    "signed_read_vs_fastapi": (">=", 0.50),
    "page_ms": ("<=", 50.0),
    "page_kb": ("<=", 100.0),
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- the database -------------------------------------------------------------------------


async def prepare_database(base_url: str) -> str:
    """The run's database (see the module docstring), as a SQLAlchemy URL."""
    base = make_url(base_url)
    seed, target = f"{base.database}_http_bench_seed", f"{base.database}_http_bench"
    admin = await asyncpg.connect(_dsn(base_url))
    try:
        has_seed = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", seed)
        if not has_seed:
            await admin.execute(f'CREATE DATABASE "{seed}"')
    finally:
        await admin.close()
    seed_url = base.set(database=seed).render_as_string(hide_password=False)
    env = os.environ | {"MEIELINN_DATABASE_URL": seed_url}
    subprocess.run([VENV / "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True)  # noqa: S603, ASYNC221
    if not has_seed:
        _log("loading the demo city into the bench's seed database (first run only)")
    subprocess.run(  # noqa: S603, ASYNC221
        [VENV / "python", "scripts/seed_demo.py", "--if-empty"], cwd=ROOT, env=env, check=True
    )
    admin = await asyncpg.connect(_dsn(base_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{target}" TEMPLATE "{seed}"')
    finally:
        await admin.close()
    return base.set(database=target).render_as_string(hide_password=False)


class Fixture:
    """What the load needs: residents and their tokens, reasons, points, reports to read."""

    def __init__(self) -> None:
        self.residents: list[uuid.UUID] = []
        self.tokens: list[str] = []
        self.building_reason: uuid.UUID = uuid.UUID(int=0)
        self.rule_reason: uuid.UUID = uuid.UUID(int=0)
        self.building_points: list[tuple[float, float]] = []
        self.rule_points: list[tuple[float, float]] = []
        self.report_ids: list[uuid.UUID] = []


async def make_fixture(dsn: str) -> Fixture:
    settings = get_settings()
    fixture = Fixture()
    now = system_clock()
    conn = await asyncpg.connect(dsn)
    try:
        for n in range(RESIDENTS):
            user_id = uuid.uuid4()
            await conn.execute(
                "INSERT INTO user_account (id, email, display_name, language, password_hash,"
                " email_verified_at, contact_only, created_at)"
                " VALUES ($1, $2, $3, 'en', '', now(), false, now())",
                user_id,
                f"bench{n}@bench.example",
                f"Bench Resident {n}",
            )
            fixture.residents.append(user_id)
            fixture.tokens.append(issue_access_token(settings, user_id, now))
        # A building-bound reason filed at buildings of their managing organisations; a
        # reason routed by a plain category rule, filed at points in the city.
        fixture.building_reason = await conn.fetchval(
            "SELECT id FROM reason WHERE code = 'roof-leak'"
        )
        fixture.rule_reason = await conn.fetchval("SELECT id FROM reason WHERE code = 'pothole'")
        rows = await conn.fetch(
            "SELECT ST_Y(point) AS lat, ST_X(point) AS lon FROM building"
            " WHERE managing_org_id IS NOT NULL ORDER BY id LIMIT 64"
        )
        fixture.building_points = [(r["lat"], r["lon"]) for r in rows]
        rows = await conn.fetch(
            "SELECT ST_Y(location) AS lat, ST_X(location) AS lon FROM report"
            " WHERE reason_id = $1 ORDER BY id LIMIT 64",
            fixture.rule_reason,
        )
        fixture.rule_points = [(r["lat"], r["lon"]) for r in rows]
        rows = await conn.fetch(
            "SELECT id FROM report WHERE state IN ('accepted', 'in_progress', 'answered',"
            " 'closed') ORDER BY id LIMIT 200"
        )
        fixture.report_ids = [r["id"] for r in rows]
    finally:
        await conn.close()
    assert fixture.building_points
    assert fixture.rule_points
    assert fixture.report_ids
    return fixture


# --- the server ---------------------------------------------------------------------------


class Server:
    """``scripts/run.sh`` (the API and a worker) on a port of its own."""

    def __init__(self, database_url: str) -> None:
        self.port = _free_port()
        self.database_url = database_url
        self.process: subprocess.Popen[bytes] | None = None
        (ROOT / "bench" / "results").mkdir(exist_ok=True)
        self.log = (ROOT / "bench" / "results" / "http_bench_server.log").open("wb")

    def start(self) -> None:
        env = os.environ | {
            "MEIELINN_DATABASE_URL": self.database_url,
            "MEIELINN_PORT": str(self.port),
            "MEIELINN_SMTP_PORT": str(_free_port()),
            "MEIELINN_ARQ_QUEUE_NAME": "meielinn:http-bench",
            "MEIELINN_REPORT_QUOTA_PER_DAY": "1000000",
            "MEIELINN_LOG_LEVEL": "WARNING",
        }
        self.process = subprocess.Popen(  # noqa: S603
            [str(ROOT / "scripts" / "run.sh")],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=self.log,
            stderr=self.log,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("scripts/run.sh stopped") from None
                time.sleep(0.2)
        else:
            raise RuntimeError("the API did not come up")
        time.sleep(1.0)

    def pids(self) -> dict[str, list[int]]:
        """The API's processes (uvicorn, and its workers when there are several) and the
        worker's, by their command lines."""
        assert self.process is not None
        found: dict[str, list[int]] = {"api": [], "worker": []}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.getpgid(int(entry.name)) != self.process.pid:
                    continue
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, ProcessLookupError):
                continue
            if "-m workers" in cmdline or "arq" in cmdline:
                found["worker"].append(int(entry.name))
            elif "uvicorn" in cmdline or "multiprocessing" in cmdline:
                found["api"].append(int(entry.name))  # with --workers: the children too
        return found

    def peak_rss_mb(self) -> dict[str, float]:
        result: dict[str, float] = {}
        for role, pids in self.pids().items():
            total = 0
            for pid in pids:
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
            result[role] = round(total / 1024, 1)
        return result

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


# --- load through HTTP ----------------------------------------------------------------------


def load(
    port: int,
    requests: list[dict[str, Any]],
    rate: float | None = None,
    connections: int | None = None,
) -> dict[str, Any]:
    spec = {
        "port": port,
        "connections": connections or CONNECTIONS,
        "seconds": SECONDS,
        "warmup": 1.0,
        "rate": rate,
        "requests": requests,
    }
    done = subprocess.run(  # noqa: S603
        [VENV / "python", str(ROOT / "bench" / "loadgen.py")],
        input=json.dumps(spec).encode(),
        capture_output=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    bad = {k: v for k, v in result["statuses"].items() if not k.startswith("2")}
    if bad or result["errors"]:
        _log(f"unexpected answers: {bad} {result['errors']}")
    return result


def filings(
    fixture: Fixture,
    reason: uuid.UUID,
    points: list[tuple[float, float]],
    attributes: dict[str, Any],
    *,
    key: bool,
) -> list[dict[str, Any]]:
    requests = []
    for n, token in enumerate(fixture.tokens):
        lat, lon = points[n % len(points)]
        requests.append(
            {
                "method": "POST",
                "path": "/v1/reports",
                "token": token,
                "idempotency": key,
                "lat": lat,
                "lon": lon,
                "jitter": 0.0002,
                "body": {
                    "reason_id": str(reason),
                    "lat": "$lat",
                    "lon": "$lon",
                    "description": "Bench report $n: water through the roof",
                    "attributes": attributes,
                },
            }
        )
    random.Random(7).shuffle(requests)
    return requests


def reads(fixture: Fixture) -> list[dict[str, Any]]:
    return [{"method": "GET", "path": f"/v1/reports/{i}"} for i in fixture.report_ids]


def signed_reads(fixture: Fixture) -> list[dict[str, Any]]:
    """The same reads by signed-in residents (none of them the reporter)."""
    return [
        {"method": "GET", "path": f"/v1/reports/{i}", "token": fixture.tokens[n % RESIDENTS]}
        for n, i in enumerate(fixture.report_ids)
    ]


ROOF = {"entrance": 1}
POTHOLE = {"size": "small"}
LIST = [{"method": "GET", "path": "/v1/reports?limit=20"}]


# --- the same SQL in raw asyncpg ------------------------------------------------------------


def _compiled(statement: Any) -> tuple[str, list[Any]]:
    """SQL and positional arguments of a SQLAlchemy statement, as asyncpg takes them."""
    compiled = statement.compile(dialect=postgresql.asyncpg.dialect())  # type: ignore[no-untyped-call]
    names = compiled.positiontup or []
    return str(compiled), [compiled.params[name] for name in names]


def _numbered(sql: str, names: list[str]) -> str:
    for n, name in enumerate(names, start=1):
        sql = sql.replace(f":{name}", f"${n}")
    return sql


ROUTING = _numbered(
    str(ROUTING_SQL), ["reason_ids", "lats", "lons", "building_ids", "max_m"]
).replace("CAST($1 AS uuid[])", "$1::uuid[]")

FILING_SQL = {
    "user": "SELECT id, disabled_at, sessions_valid_after, email_verified_at, language"
    " FROM user_account WHERE id = $1",
    "grants": "SELECT role, department_id, building_id FROM role_grant WHERE user_id = $1",
    "idem_get": "SELECT status_code, body FROM idempotency_record"
    " WHERE owner = $1 AND key = $2 AND expires_at > $3",
    "lock": "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
    "quota": "SELECT created_at FROM report WHERE reporter_id = $1 AND NOT filed_on_behalf"
    " AND created_at > $2 ORDER BY created_at",
    "report": "INSERT INTO report (id, tracking_code, reporter_id, filed_on_behalf, reason_id,"
    " category_id, department_id, district_id, building_id, location, description,"
    " attributes, anonymous_public, state, round, version, created_at, updated_at,"
    " submitted_at, moderation_due_at, supporters_count, subscribers_count, photo_count,"
    " ambassador_confirmations)"
    " VALUES ($1, $2, $3, false, $4, $5, $6, $7, $8, ST_SetSRID(ST_MakePoint($9, $10), 4326),"
    " $11, '{\"entrance\": 1}'::jsonb, false, 'submitted', 1, 1, $12::timestamptz, $12, $12,"
    " $12::timestamptz + interval '8 hours',"
    " 0, 1, 0, 0)",
    "subscription": "INSERT INTO report_subscription (report_id, user_id, created_at)"
    " VALUES ($1, $2, $3)",
    "event": "INSERT INTO report_event (id, report_id, at, actor_id, actor_role, type,"
    " to_state, public, data) VALUES ($1, $2, $3, $4, 'reporter', 'filed', 'submitted',"
    " false, $5::jsonb)",
    "idem_put": "INSERT INTO idempotency_record (owner, key, fingerprint, status_code, body,"
    " location, created_at, expires_at) VALUES ($1, $2, $3, 201, $4, $5, $6::timestamptz,"
    " $6::timestamptz + interval"
    " '24 hours')",
}


async def baseline(
    dsn: str, work: Callable[[asyncpg.Connection, int], Awaitable[None]]
) -> dict[str, Any]:
    """``work`` in a loop on CONNECTIONS connections for SECONDS after a second's warm-up."""
    connections = [await asyncpg.connect(dsn) for _ in range(CONNECTIONS)]
    counter = iter(range(10**9))
    started = time.perf_counter()
    measure_from, stop_at = started + 1.0, started + 1.0 + SECONDS
    done = 0

    async def loop(conn: asyncpg.Connection) -> None:
        nonlocal done
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                return
            await work(conn, next(counter))
            if now >= measure_from:
                done += 1

    try:
        await asyncio.gather(*(loop(c) for c in connections))
    finally:
        for conn in connections:
            await conn.close()
    return {"per_second": round(done / SECONDS, 1)}


def filing_work(
    fixture: Fixture, body: bytes
) -> Callable[[asyncpg.Connection, int], Awaitable[None]]:
    points = fixture.building_points

    async def work(conn: asyncpg.Connection, n: int) -> None:
        user_id = fixture.residents[n % len(fixture.residents)]
        lat, lon = points[n % len(points)]
        now = system_clock()
        owner, key = f"user:{user_id}", str(uuid.uuid4())
        async with conn.transaction():
            await conn.fetchrow(FILING_SQL["user"], user_id)
            await conn.fetch(FILING_SQL["grants"], user_id)
            await conn.fetchrow(FILING_SQL["idem_get"], owner, key, now)
            route = await conn.fetchrow(
                ROUTING, [fixture.building_reason], [lat], [lon], [None], 50.0
            )
            await conn.execute(FILING_SQL["lock"], f"report-quota:{owner}")
            await conn.fetch(FILING_SQL["quota"], user_id, now - timedelta(hours=24))
            report_id = uuid.uuid4()
            department = route["org_id"] or route["rule_department_id"] or route["dispatcher_id"]
            await conn.execute(
                FILING_SQL["report"],
                report_id,
                f"BN-{uuid.uuid4().hex[:12].upper()}",
                user_id,
                fixture.building_reason,
                await _category(conn, fixture.building_reason),
                department,
                route["district_id"],
                route["building_id"],
                lon,
                lat,
                "Bench report: water through the roof",
                now,
            )
            await conn.execute(FILING_SQL["subscription"], report_id, user_id, now)
            await conn.execute(
                FILING_SQL["event"],
                uuid.uuid4(),
                report_id,
                now,
                user_id,
                '{"routing": "building_managing_org"}',
            )
            await conn.fetchrow(READ_SQL, report_id)
            await conn.fetch(PHOTOS_SQL, report_id)
            await conn.execute(
                FILING_SQL["idem_put"], owner, key, "0" * 64, body, f"/v1/reports/{report_id}", now
            )

    return work


_categories: dict[uuid.UUID, uuid.UUID] = {}


async def _category(conn: asyncpg.Connection, reason_id: uuid.UUID) -> uuid.UUID:
    """The reason's category, as the filing reads it with the reason (one query a filing)."""
    category: uuid.UUID = await conn.fetchval(
        "SELECT reason.category_id FROM reason JOIN category ON category.id = reason.category_id"
        " WHERE reason.id = $1",
        reason_id,
    )
    return category


# What the API runs since it reads a report in one statement: that statement (the report,
# its names and its photos), and the page statement of a public list.
READ_ONE_SQL = reports_statements.VIEW_BY_ID_SQL
_page = reports_statements.PageQuery()
_page.where(access.public_sql(_page.param))
LIST_PAGE_SQL = _page.sql(after=None, ascending=False, limit=21)
LIST_PAGE_ARGS = _page.args
# The two statements the API ran before (``BENCH_BASELINE=orm``), for comparing runs.
READ_SQL, _ = _compiled(
    reports_repository.view_select().where(Report.id == uuid.UUID(int=0))  # type: ignore[arg-type]
)
PHOTOS_SQL, _ = _compiled(reports_repository.photos_select(uuid.UUID(int=0)))
LIST_SQL = str(
    reports_repository.view_select()
    .where(access.public_condition())
    .order_by(Report.created_at.desc(), Report.id.desc())  # type: ignore[attr-defined]
    .limit(21)
    .compile(dialect=postgresql.asyncpg.dialect(), compile_kwargs={"literal_binds": True})  # type: ignore[no-untyped-call]
)
OLD_BASELINE = os.environ.get("BENCH_BASELINE") == "orm"


def read_work(fixture: Fixture) -> Callable[[asyncpg.Connection, int], Awaitable[None]]:
    async def work(conn: asyncpg.Connection, n: int) -> None:
        report_id = fixture.report_ids[n % len(fixture.report_ids)]
        if OLD_BASELINE:
            await conn.fetchrow(READ_SQL, report_id)
            await conn.fetch(PHOTOS_SQL, report_id)
        else:
            await conn.fetchrow(READ_ONE_SQL, report_id)

    return work


async def list_work(conn: asyncpg.Connection, n: int) -> None:
    if OLD_BASELINE:
        await conn.fetch(LIST_SQL)
    else:
        await conn.fetch(LIST_PAGE_SQL, *LIST_PAGE_ARGS)


# --- the run --------------------------------------------------------------------------------


def figure(name: str, values: list[float], extra: dict[str, Any]) -> dict[str, Any]:
    op, target = TARGETS[name]
    value = statistics.median(values)
    met: bool | None = value >= target if op == ">=" else value <= target
    shown = f"{op} {target}"
    if op == "limit":  # raw asyncpg: the physical limit, shown beside, not a target
        met, shown = None, "none (raw asyncpg is the physical limit)"
    return {
        "figure": name,
        "value": round(value, 3),
        "range": [round(min(values), 3), round(max(values), 3)],
        "target": shown,
        "met": met,
        **extra,
    }


# --- the anchors: the read statement behind a minimal FastAPI and a bare Starlette route ---


class Anchor:
    """``bench/anchors.py``'s app ``name`` under uvicorn, as the API runs (one process,
    httptools, uvloop, no access log), with a pool as large as the API's."""

    def __init__(self, name: str, dsn: str) -> None:
        self.name = name
        self.dsn = dsn
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = os.environ | {
            "BENCH_ANCHOR_DSN": self.dsn,
            "BENCH_ANCHOR_POOL": str(get_settings().database_pool_size),
        }
        self.process = subprocess.Popen(  # noqa: S603
            [
                str(VENV / "uvicorn"),
                f"bench.anchors:{self.name}",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--log-level",
                "warning",
                "--http",
                "httptools",
                "--loop",
                "uvloop",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the anchor {self.name} did not come up")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


# --- the web app's pages ---------------------------------------------------------------------

# (figure name, path, signed in: False, True for the demo resident, or a demo account's
# name); "{code}" is a public report's code.
PAGES: list[tuple[str, str, bool | str]] = [
    ("home", "/", False),
    ("report", "/reports/{code}", False),
    ("file", "/reports/new", True),
    ("my_reports", "/my/reports", True),
    ("ideas", "/ideas", False),
    ("training", "/training", False),
    ("figures", "/figures", False),
    ("sign_in", "/sign-in", False),
    ("staff_queue", "/staff/queue", "staff"),
]
DEMO_PASSWORD = "meielinn-demo"  # noqa: S105 (the demo accounts' published password)


def page_requests(port: int) -> tuple[list[tuple[str, dict[str, Any]]], str]:
    """The pages' requests (a signed-in browser's cookie on those that need one)."""
    import httpx

    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base) as client:
        listed = client.get("/v1/reports?limit=1").json()
        code = listed["items"][0]["tracking_code"] if listed.get("items") else "none"
    cookies = {
        account: _signed_in_cookie(base, f"{account}@demo.meielinn.ee")
        for account in {"resident" if who is True else who for _, _, who in PAGES if who}
    }
    requests = [
        (
            name,
            {
                "method": "GET",
                "path": path.replace("{code}", code),
                **({"cookie": cookies["resident" if who is True else who]} if who else {}),
            },
        )
        for name, path, who in PAGES
    ]
    return requests, base


def _signed_in_cookie(base: str, email: str) -> str:
    """A browser's cookies after signing in through the sign-in form."""
    import httpx

    with httpx.Client(base_url=base) as client:
        form = client.get("/sign-in")
        token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post(
            "/sign-in", data={"csrf_token": token, "email": email, "password": DEMO_PASSWORD}
        )
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def page_weight_kb(base: str, path: str, cookie: str | None) -> float:
    """A page's own HTML, styles and scripts, gzip-compressed (the vendored map library
    apart), in KB."""
    import gzip
    import re

    import httpx

    headers = {"Cookie": cookie} if cookie else {}
    with httpx.Client(base_url=base, headers=headers) as client:
        html = client.get(path).content
        total = len(gzip.compress(html))
        for asset in set(re.findall(rb'(?:href|src)="(/static/[^"]+)"', html)):
            if b"/vendor/" not in asset:
                total += len(gzip.compress(client.get(asset.decode()).content))
    return round(total / 1024, 1)


async def main() -> int:
    settings = get_settings()
    url = await prepare_database(settings.database_url)
    dsn = _dsn(url)
    fixture = await make_fixture(dsn)
    server = Server(url)
    _log(f"serving {url.rsplit('/', 1)[-1]} with scripts/run.sh on port {server.port}")
    server.start()
    rounds: list[dict[str, Any]] = []
    anchors = [Anchor("fastapi_app", dsn), Anchor("starlette_app", dsn)]
    if "read" in GROUPS:
        for anchor in anchors:
            anchor.start()
    body = b'{"id": "00000000-0000-0000-0000-000000000000", "state": "submitted"}' * 20
    try:
        # Warm up: the first filing loads the holiday tables, the first of every statement
        # is prepared; none of that is what a running server pays.
        warm = SECONDS
        globals()["SECONDS"] = 2.0
        load(
            server.port,
            filings(fixture, fixture.rule_reason, fixture.rule_points, POTHOLE, key=True),
        )
        load(server.port, reads(fixture) + LIST)
        globals()["SECONDS"] = warm
        for repeat in range(REPEATS):
            _log(f"round {repeat + 1} of {REPEATS}")
            r: dict[str, Any] = {}
            routed = filings(
                fixture, fixture.building_reason, fixture.building_points, ROOF, key=True
            )
            if "filing" in GROUPS:
                r["filing"] = load(server.port, routed)
                r["filing_sql"] = await baseline(dsn, filing_work(fixture, body))
                r["filing_nokey"] = load(
                    server.port,
                    filings(
                        fixture, fixture.building_reason, fixture.building_points, ROOF, key=False
                    ),
                )
                r["filing_rule"] = load(
                    server.port,
                    filings(fixture, fixture.rule_reason, fixture.rule_points, POTHOLE, key=True),
                )
            if "read" in GROUPS:
                r["read"] = load(server.port, reads(fixture))
                r["read_fastapi"] = load(anchors[0].port, reads(fixture))
                r["read_starlette"] = load(anchors[1].port, reads(fixture))
                r["read_sql"] = await baseline(dsn, read_work(fixture))
                r["read_signed"] = load(server.port, signed_reads(fixture))
                r["read_signed_fastapi"] = load(anchors[0].port, signed_reads(fixture))
            if "list" in GROUPS:
                r["list"] = load(server.port, LIST)
                r["list_sql"] = await baseline(dsn, list_work)
            if "p99" in GROUPS and "read" in r:
                r["read_70"] = load(server.port, reads(fixture), rate=0.7 * r["read"]["per_second"])
            if "p99" in GROUPS and "filing" in r:
                r["filing_70"] = load(server.port, routed, rate=0.7 * r["filing"]["per_second"])
            if "pages" in GROUPS:
                for name, request in page_requests(server.port)[0]:
                    r[f"page_{name}"] = load(server.port, [request], connections=1)
            for name, figures in r.items():
                _log(f"  {name}: {json.dumps(figures)}")
            rounds.append(r)
        weights: dict[str, float] = {}
        if "pages" in GROUPS:
            requests, base = page_requests(server.port)
            for name, request in requests:
                weights[name] = page_weight_kb(base, request["path"], request.get("cookie"))
        rss = server.peak_rss_mb()
    finally:
        server.stop()
        for anchor in anchors:
            anchor.stop()

    def ratios(top: str, bottom: str) -> list[float]:
        return [x[top]["per_second"] / max(x[bottom]["per_second"], 0.1) for x in rounds]

    def rates(name: str) -> list[float]:
        return [x[name]["per_second"] for x in rounds]

    def span(values: list[float]) -> str:
        return f"{min(values):g}–{max(values):g}"

    machine = {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "date": system_clock().strftime("%Y-%m-%d"),
        "connections": CONNECTIONS,
        "seconds": SECONDS,
        "rounds": REPEATS,
    }
    lines: list[dict[str, Any]] = []
    if "filing" in rounds[0]:
        lines += [
            figure(
                "filing",
                ratios("filing", "filing_sql"),
                {
                    "meielinn_per_s": span(rates("filing")),
                    "asyncpg_per_s": span(rates("filing_sql")),
                },
            ),
            figure(
                "routing",
                ratios("filing", "filing_rule"),
                {
                    "building_routed_per_s": span(rates("filing")),
                    "rule_routed_per_s": span(rates("filing_rule")),
                },
            ),
            figure(
                "idempotency",
                ratios("filing", "filing_nokey"),
                {
                    "with_key_per_s": span(rates("filing")),
                    "without_per_s": span(rates("filing_nokey")),
                },
            ),
        ]
    for name in ("read", "list"):
        if name in rounds[0]:
            extra = {
                "meielinn_per_s": span(rates(name)),
                "asyncpg_per_s": span(rates(f"{name}_sql")),
            }
            lines.append(figure(name, ratios(name, f"{name}_sql"), extra))
    if "read_fastapi" in rounds[0]:
        lines.append(
            figure(
                "read_vs_fastapi",
                ratios("read", "read_fastapi"),
                {
                    "meielinn_per_s": span(rates("read")),
                    "minimal_fastapi_per_s": span(rates("read_fastapi")),
                    "bare_starlette_per_s": span(rates("read_starlette")),
                    "asyncpg_per_s": span(rates("read_sql")),
                },
            )
        )
    if "read_signed" in rounds[0]:
        lines.append(
            figure(
                "signed_read_vs_fastapi",
                ratios("read_signed", "read_signed_fastapi"),
                {
                    "meielinn_per_s": span(rates("read_signed")),
                    "minimal_fastapi_with_bearer_check_per_s": span(rates("read_signed_fastapi")),
                },
            )
        )
    for name, source in (("p99_read", "read"), ("p99_filing", "filing")):
        if f"{source}_70" in rounds[0]:
            lines.append(
                figure(
                    name,
                    [x[f"{source}_70"]["p99_ms"] or 0.0 for x in rounds],
                    {"rate_per_s": span([round(0.7 * v, 1) for v in rates(source)]), "unit": "ms"},
                )
            )
    for key in rounds[0]:
        if key.startswith("page_"):
            lines.append(
                figure(
                    "page_ms",
                    [x[key]["p95_ms"] or 0.0 for x in rounds],
                    {"page": key.removeprefix("page_"), "unit": "ms p95, one browser"},
                )
            )
    for name, weight in weights.items():
        lines.append(figure("page_kb", [weight], {"page": name, "unit": "KB gzip"}))
    for line in lines:
        print(json.dumps(line | machine), flush=True)
    if not lines:
        _log("no figure measured: BENCH_FIGURES names none of filing, read, list, p99")
    print(
        json.dumps(
            {
                "figure": "peak_rss",
                "api_mb": rss["api"],
                "worker_mb": rss["worker"],
                "met": True,
                **machine,
            }
        ),
        flush=True,
    )
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
