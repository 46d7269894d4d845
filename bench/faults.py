"""Fault injection for the SLA engine: deadlines fall due while workers are killed, Redis is
restarted and database connections are terminated; afterwards every due breach must have
happened exactly once and every notification must have been delivered exactly once.

    make faults                        full size: 1,000 reports due within about a minute
    FAULT_REPORTS=40 python bench/faults.py   (make test runs a reduced size)

What it does, all on this machine and nothing shared with other runs:

1. a database of its own (``<name>_faults``, cloned from the test template when there is
   one, else migrated and seeded), a Redis server of its own on a free port (so restarting
   it disturbs nothing else), and a real SMTP server (aiosmtpd) that counts what it gets;
2. N accepted reports whose rounds fall due spread over the run, one staff member and one
   supervisor in their department; the rounds are planned before the workers start;
3. K worker processes (``python -m workers``: every pool, the SLA sweep every second);
4. while the deadlines pass: SIGKILL a worker and start a new one, restart Redis (its jobs
   are lost), and ``pg_terminate_backend`` every connection of the workers;
5. then waits until every breach fired and its mail arrived (or a time limit), and checks.

Figures: lost (breaches that never fired), duplicated (overdue events or mails beyond one
per report and recipient), p50/p99/max lag from due time to the breach, and the recovery
time after a SIGKILL (from the kill to the next breach fired). One JSON line on stdout;
exit status 1 when anything was lost or duplicated.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from aiosmtpd.controller import Controller
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.clock import system_clock  # noqa: E402
from service.config import get_settings  # noqa: E402
from service.sla import engine  # noqa: E402


@dataclass
class FaultConfig:
    reports: int = 1000
    workers: int = 3
    # Deadlines fall due spread over this many seconds, starting after the set-up.
    spread_seconds: float = 60.0
    kills: int = 4
    redis_restarts: int = 2
    db_terminations: int = 3
    deadline_seconds: float = 120.0  # how long to wait for everything after the last due
    database_suffix: str = "faults"


@dataclass
class Figures:
    reports: int = 0
    lost: int = 0
    duplicated_events: int = 0
    # Two different messages for one event and recipient (a real duplicate).
    duplicated_mails: int = 0
    # The same message (same Message-ID) handed over again after a crash cut the send off
    # before it was recorded: the receiving side sees the same Message-ID.
    resent_same_message: int = 0
    missing_mails: int = 0
    lag_p50: float = 0.0
    lag_p99: float = 0.0
    lag_max: float = 0.0
    recovery_after_kill: list[float] = field(default_factory=list)
    kills: int = 0
    # Workers that exited on their own (e.g. Redis went away under them) and were started
    # again, as a process supervisor (systemd, Docker's restart policy) would.
    worker_restarts: int = 0
    redis_restarts: int = 0
    db_terminations: int = 0
    seconds: float = 0.0

    def ok(self) -> bool:
        return not (self.lost or self.duplicated_events or self.duplicated_mails)


class Inbox:
    """The SMTP server's counter of received mail: (recipient, subject) → times, and the
    Message-IDs seen for each."""

    def __init__(self) -> None:
        self.received: Counter[tuple[str, str]] = Counter()
        self.message_ids: dict[tuple[str, str], set[str]] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes
        from email.policy import default

        message = message_from_bytes(envelope.content, policy=default)
        for recipient in envelope.rcpt_tos:
            key = (recipient.lower(), str(message["Subject"]))
            self.received[key] += 1
            self.message_ids.setdefault(key, set()).add(str(message["Message-ID"]))
        return "250 OK"

    def total(self) -> int:
        """Messages received, per recipient."""
        return sum(self.received.values())


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


class RedisServer:
    """A redis-server of the run's own, restartable."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.directory = tempfile.mkdtemp(prefix="meielinn-faults-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(  # noqa: S603 - our own redis-server binary
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.directory,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # no save: everything queued is lost
            self.process.wait()
            self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


async def _prepare_database(base_url: str, suffix: str) -> str:
    """A fresh database for the run, from the test template when it exists."""
    base = make_url(base_url)
    target = f"{base.database}_{suffix}"
    template = f"{base.database}_test_template"
    admin = await asyncpg.connect(_dsn(base_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        has_template = await admin.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", template
        )
        if has_template:
            await admin.execute(f'CREATE DATABASE "{target}" TEMPLATE "{template}"')
        else:
            await admin.execute(f'CREATE DATABASE "{target}"')
    finally:
        await admin.close()
    url = base.set(database=target).render_as_string(hide_password=False)
    from alembic import command
    from alembic.config import Config

    from service.demo.seed import seed_city

    engine_ = create_async_engine(url, poolclass=NullPool)

    def migrate(connection: Any) -> None:
        config = Config(str(ROOT / "alembic.ini"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    # The template may predate the newest migrations: bring the copy up to date.
    async with engine_.begin() as connection:
        await connection.run_sync(migrate)
    if not has_template:
        async with AsyncSession(engine_) as session:
            await seed_city(session)
            await session.commit()
    await engine_.dispose()
    return url


SETUP_SQL = """
WITH dept AS (SELECT id FROM department WHERE code = 'roads'),
     reason AS (SELECT id, category_id FROM reason WHERE code = 'pothole'),
     reporter AS (
       INSERT INTO user_account (id, email, display_name, language, password_hash,
                                 email_verified_at, contact_only, created_at)
       VALUES (gen_random_uuid(), 'reporter@faults.example', 'Reporter', 'en', '', now(),
               false, now())
       RETURNING id),
     reports AS (
       INSERT INTO report (id, tracking_code, reporter_id, reason_id, category_id,
                           department_id, location, description, attributes,
                           anonymous_public, state, round, version, created_at, updated_at,
                           submitted_at, accepted_at, due_at, supporters_count,
                           subscribers_count, photo_count, filed_on_behalf)
       SELECT gen_random_uuid(), 'FT-' || lpad(n::text, 6, '0'), reporter.id, reason.id,
              reason.category_id, dept.id, ST_SetSRID(ST_MakePoint(26.72, 58.38), 4326),
              'Fault test ' || n, '{}'::jsonb, false, 'accepted', 1, 2, now(), now(), now(),
              now(), $1::timestamptz + make_interval(secs => n * $2::float8), 0, 1, 0, false
       FROM generate_series(1, $3::int) AS n, dept, reason, reporter
       RETURNING id, department_id, accepted_at, due_at)
INSERT INTO report_round (id, report_id, number, department_id, opened_at, due_at,
                          initial_due_at, paused_working_seconds, extensions)
SELECT gen_random_uuid(), id, 1, department_id, accepted_at, due_at, due_at, 0, 0 FROM reports
"""


async def _setup(url: str, config: FaultConfig, first_due: datetime) -> tuple[str, str]:
    """Reports due one after another from ``first_due``; a staff member and a supervisor."""
    connection = await asyncpg.connect(_dsn(url))
    try:
        emails = ("staff@faults.example", "supervisor@faults.example")
        for email, role in zip(emails, ("staff", "supervisor"), strict=True):
            await connection.execute(
                """
                WITH u AS (
                  INSERT INTO user_account (id, email, display_name, language, password_hash,
                                            email_verified_at, contact_only, created_at)
                  VALUES (gen_random_uuid(), $1, 'Fault', 'en', '', now(), false, now())
                  RETURNING id)
                INSERT INTO role_grant (id, user_id, role, department_id, granted_at)
                SELECT gen_random_uuid(), u.id, $2, d.id, now()
                FROM u, department d WHERE d.code = 'roads'
                """,
                email,
                role,
            )
        step = config.spread_seconds / max(1, config.reports)
        await connection.execute(SETUP_SQL, first_due, step, config.reports)
    finally:
        await connection.close()
    return emails[0], emails[1]


async def _plan_all(url: str) -> None:
    """Plan every round before the workers start (the sweep would, more slowly)."""
    settings = get_settings().model_copy(update={"database_url": url})
    engine_ = create_async_engine(url, poolclass=NullPool)
    try:
        while True:
            async with AsyncSession(engine_, expire_on_commit=False) as session:
                planned = await engine.sweep(session, settings, system_clock(), 500)
                await session.commit()
            if planned.planned == 0:
                return
    finally:
        await engine_.dispose()


def _worker_env(url: str, redis_url: str, smtp_port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "MEIELINN_DATABASE_URL": url,
            "MEIELINN_REDIS_URL": redis_url,
            "MEIELINN_ARQ_QUEUE_NAME": "meielinn:faults",
            "MEIELINN_SMTP_HOST": "127.0.0.1",
            "MEIELINN_SMTP_PORT": str(smtp_port),
            "MEIELINN_SLA_SWEEP_SECONDS": "1",
            "MEIELINN_HEARTBEAT_SECONDS": "5",
            "MEIELINN_DATABASE_POOL_SIZE": "4",
            "MEIELINN_LOG_LEVEL": "WARNING",
        }
    )
    return env


def _start_worker(env: dict[str, str], *pools: str) -> subprocess.Popen[bytes]:
    """A worker process running ``pools`` (every pool when none is named), as
    ``python -m workers`` runs them."""
    return subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
        [sys.executable, "-m", "workers", *pools],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait_for_heartbeats(
    url: str,
    workers: int,
    within: float = 180.0,
    processes: list[subprocess.Popen[bytes]] | None = None,
) -> None:
    """Until every worker has beaten its heartbeat once (it runs at start-up). A cold start
    on a busy 2-core machine (imports, the first connections) can take a minute; a worker
    process that exits meanwhile ends the wait at once, with its exit status."""
    deadline = time.monotonic() + within
    connection = await asyncpg.connect(_dsn(url))
    try:
        while time.monotonic() < deadline:
            beating = await connection.fetchval("SELECT count(*) FROM worker_heartbeat")
            if beating >= workers:
                return
            exited = [p.returncode for p in processes or () if p.poll() is not None]
            if exited:
                raise RuntimeError(f"a worker exited while starting (status {exited})")
            await asyncio.sleep(0.2)
    finally:
        await connection.close()
    raise RuntimeError(f"the workers did not start within {within:.0f} s")


async def _fired_count(url: str) -> int:
    connection = await asyncpg.connect(_dsn(url))
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM sla_timer WHERE kind = 'breach' AND fired_at IS NOT NULL"
        )
        return count
    finally:
        await connection.close()


async def _terminate_connections(url: str) -> int:
    database = make_url(url).database
    connection = await asyncpg.connect(_dsn(url))
    try:
        killed: int = await connection.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
        return killed
    finally:
        await connection.close()


async def check_outcomes(
    url: str, inbox: Inbox, reports: int, recipients: tuple[str, ...], figures: Figures
) -> None:
    """Lost breaches, duplicated overdue events and mails, and the breaches' lag, into
    ``figures`` (``bench/cluster_check.py`` checks its own run with it too)."""
    connection = await asyncpg.connect(_dsn(url))
    try:
        fired = int(
            await connection.fetchval(
                "SELECT count(*) FROM sla_timer WHERE kind = 'breach' AND fired_at IS NOT NULL"
            )
        )
        figures.lost = reports - fired
        figures.duplicated_events = int(
            await connection.fetchval(
                "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM report_event "
                "WHERE type = 'overdue' GROUP BY report_id) AS per_report WHERE n > 1"
            )
        )
        lags = [
            float(row[0])
            for row in await connection.fetch(
                "SELECT lag_seconds FROM sla_timer WHERE kind = 'breach' "
                "AND lag_seconds IS NOT NULL"
            )
        ]
    finally:
        await connection.close()
    for recipient in recipients:
        per_report = {
            (to, subject): n
            for (to, subject), n in inbox.received.items()
            if to == recipient and "overdue" in subject.lower()
        }
        for key, n in per_report.items():
            # Distinct Message-IDs are distinct messages (a real duplicate); the same
            # Message-ID again is one message handed over twice (at least once).
            distinct = len(inbox.message_ids.get(key, ()))
            figures.duplicated_mails += max(0, distinct - 1)
            figures.resent_same_message += n - max(1, distinct)
        figures.missing_mails += reports - len(per_report)
    if lags:
        lags.sort()
        figures.lag_p50 = round(statistics.median(lags), 3)
        figures.lag_p99 = round(lags[min(len(lags) - 1, int(len(lags) * 0.99))], 3)
        figures.lag_max = round(lags[-1], 3)


async def run(config: FaultConfig) -> Figures:
    figures = Figures(reports=config.reports)
    started = time.monotonic()
    settings = get_settings()
    url = await _prepare_database(settings.database_url, config.database_suffix)
    redis = RedisServer()
    redis.start()
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        # Workers first, so deadlines fall due on running workers, not on starting ones.
        env = _worker_env(url, redis.url, smtp.port)
        workers = [_start_worker(env) for _ in range(config.workers)]
        # One heartbeat row per pool of each process.
        await _wait_for_heartbeats(url, 4 * config.workers, processes=workers)

        async def supervise() -> None:
            while True:
                for index, worker in enumerate(workers):
                    if worker.poll() is not None:
                        workers[index] = _start_worker(env)
                        figures.worker_restarts += 1
                await asyncio.sleep(0.5)

        supervisor_task = asyncio.create_task(supervise())
        lead = 3.0 + config.reports / 300  # set-up and planning before the first deadline
        first_due = system_clock() + timedelta(seconds=lead)
        staff, supervisor = await _setup(url, config, first_due)
        await _plan_all(url)
        # Faults at random moments while the deadlines pass.
        rng = random.Random(1789)
        span = config.spread_seconds
        base = max(0.0, (first_due - system_clock()).total_seconds())
        events = (
            [("kill", base + rng.uniform(0, span)) for _ in range(config.kills)]
            + [("redis", base + rng.uniform(0, span)) for _ in range(config.redis_restarts)]
            + [("db", base + rng.uniform(0, span)) for _ in range(config.db_terminations)]
        )
        clock_start = time.monotonic()
        for kind, at in sorted(events, key=lambda e: e[1]):
            await asyncio.sleep(max(0.0, at - (time.monotonic() - clock_start)))
            if kind == "kill":
                victim = rng.randrange(len(workers))
                before = await _fired_count(url)
                killed_at = time.monotonic()
                workers[victim].send_signal(signal.SIGKILL)
                workers[victim].wait()
                workers[victim] = _start_worker(env)
                figures.kills += 1
                # Recovery: until the next breach fires after the kill.
                while time.monotonic() - killed_at < 30:
                    if await _fired_count(url) > before:
                        figures.recovery_after_kill.append(round(time.monotonic() - killed_at, 2))
                        break
                    await asyncio.sleep(0.1)
            elif kind == "redis":
                redis.stop()
                await asyncio.sleep(0.5)
                redis.start()
                figures.redis_restarts += 1
            else:
                await _terminate_connections(url)
                figures.db_terminations += 1
        # Wait for every breach and its two mails.
        last_due = first_due + timedelta(seconds=span)
        deadline = time.monotonic() + max(0.0, (last_due - system_clock()).total_seconds())
        deadline += config.deadline_seconds
        while time.monotonic() < deadline:
            fired = await _fired_count(url)
            mails = len([key for key in inbox.received if "overdue" in key[1].lower()])
            if fired >= config.reports and mails >= 2 * config.reports:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(2.0)  # anything duplicated would show now
        supervisor_task.cancel()
        await check_outcomes(url, inbox, config.reports, (staff, supervisor), figures)
    finally:
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                worker.send_signal(signal.SIGKILL)
            worker.wait()
        redis.stop()
        shutil.rmtree(redis.directory, ignore_errors=True)
        smtp.stop()
        admin = await asyncpg.connect(_dsn(settings.database_url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
        finally:
            await admin.close()
    figures.seconds = round(time.monotonic() - started, 1)
    return figures


def main() -> int:
    config = FaultConfig(
        reports=int(os.environ.get("FAULT_REPORTS", "1000")),
        workers=int(os.environ.get("FAULT_WORKERS", "3")),
        spread_seconds=float(os.environ.get("FAULT_SPREAD_SECONDS", "60")),
        kills=int(os.environ.get("FAULT_KILLS", "4")),
        redis_restarts=int(os.environ.get("FAULT_REDIS_RESTARTS", "2")),
        db_terminations=int(os.environ.get("FAULT_DB_TERMINATIONS", "3")),
    )
    figures = asyncio.run(run(config))
    print(json.dumps({"bench": "faults", "ok": figures.ok(), **figures.__dict__}, default=str))
    return 0 if figures.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
