"""Test fixtures: real PostgreSQL/PostGIS and Redis, nothing started here, only connected to.

* Each xdist worker gets its own database, cloned from a template that alembic migrated
  once per change of the migrations (``CREATE DATABASE … TEMPLATE``), and its own Redis
  database number and arq queue name.
* Each test runs inside one transaction on one connection, rolled back at the end; the
  app's sessions and the burst-mode arq worker's sessions join it through savepoints.
"""

from __future__ import annotations

import functools
import hashlib
import os
import socket
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from fastapi.dependencies import models as fastapi_dependency_models
from httpx import ASGITransport, AsyncClient
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from service.config import Environment, Settings, get_settings
from service.demo.seed import seed_city
from service.main import create_app, create_redis
from tests.burst import BurstResult, burst

ROOT = Path(__file__).resolve().parent.parent
# Fixtures of the browser tests (a live server, a real Chromium): tests/browser.py.
pytest_plugins = ["tests.browser"]
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
WORKER_NUMBER = int(XDIST_WORKER.removeprefix("gw") or 0)


def _migrations_fingerprint() -> str:
    """Changes when the migrations or the demo city (loaded into every test database) do."""
    digest = hashlib.sha256()
    sources = [*(ROOT / "migrations").rglob("*.py"), *(ROOT / "service" / "demo").rglob("*.py")]
    for path in sorted(sources):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def _run_alembic(connection: Connection) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def create_test_database(base_url: str, purpose: str = "test") -> str:
    """A migrated database of this xdist worker (``<name>_<purpose>_<worker>``, a fresh copy
    of the template); returns its SQLAlchemy URL."""
    base = make_url(base_url)
    template = f"{base.database}_test_template"
    target = f"{base.database}_{purpose}_{XDIST_WORKER}"
    fingerprint = _migrations_fingerprint()
    admin = await asyncpg.connect(_asyncpg_dsn(base_url))
    try:
        # One worker builds the template; the others wait for it on this lock.
        await admin.execute("SELECT pg_advisory_lock(hashtext('meielinn-test-template'))")
        try:
            comment = await admin.fetchval(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
                template,
            )
            if comment != fingerprint:
                await admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
                await admin.execute(f'CREATE DATABASE "{template}"')
                engine = create_async_engine(
                    base.set(database=template).render_as_string(hide_password=False),
                    poolclass=NullPool,
                )
                async with engine.begin() as connection:
                    await connection.run_sync(_run_alembic)
                # Every test starts from the demo Tartu (without its demo accounts).
                async with AsyncSession(engine) as seed_session:
                    await seed_city(seed_session)
                    await seed_session.commit()
                await engine.dispose()
                await admin.execute(f"COMMENT ON DATABASE \"{template}\" IS '{fingerprint}'")
            await admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{target}" TEMPLATE "{template}"')
        finally:
            await admin.execute("SELECT pg_advisory_unlock(hashtext('meielinn-test-template'))")
    finally:
        await admin.close()
    return base.set(database=target).render_as_string(hide_password=False)


class Mailbox:
    """Messages received by the test's real SMTP server (aiosmtpd)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[Controller, Mailbox]) -> Mailbox:
    smtp_server[1].messages.clear()
    return smtp_server[1]


@pytest.fixture(scope="session")
async def settings(smtp_server: tuple[Controller, Mailbox]) -> Settings:
    base = get_settings()
    database_url = await create_test_database(base.database_url)
    # Redis database 1..15 per xdist worker; 0 stays the developer's.
    redis_url = urlsplit(base.redis_url)._replace(path=f"/{1 + WORKER_NUMBER % 15}").geturl()
    return base.model_copy(
        update={
            "env": Environment.test,
            "database_url": database_url,
            "redis_url": redis_url,
            "arq_queue_name": f"meielinn:test:{XDIST_WORKER}",
            "database_pool_size": 2,
            "database_max_overflow": 2,
            "smtp_host": "127.0.0.1",
            "media_dir": tempfile.mkdtemp(prefix="meielinn-media-"),
            "smtp_port": smtp_server[0].port,
            # Cheap hashing in tests only (the settings refuse this outside MEIELINN_ENV=test).
            "argon2_time_cost": 1,
            "argon2_memory_kib": 1024,
            "argon2_parallelism": 1,
            # Webhook tests post to a receiver on 127.0.0.1, and retry within the test.
            "webhook_allow_private": True,
            "webhook_retry_base_seconds": 0.05,
            "webhook_retry_max_seconds": 0.2,
        }
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(
        settings.database_url,
        pool_size=2,
        connect_args={"server_settings": {"timezone": "UTC"}},
    )
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """The test's connection; everything done on it is rolled back at the end."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
async def session(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session for arranging and checking data directly, inside the test's transaction."""
    async with sessionmaker() as session:
        yield session


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Any]:
    client = create_redis(settings)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
async def app(
    settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Any,
) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    # What the lifespan would set up, bound to the test's transaction.
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker
    app.state.redis = redis
    yield app
    forget_apps()


def forget_apps() -> None:
    """FastAPI keeps what it learnt about each endpoint and dependency in module-level LRU
    caches (4,096 entries each) that hold the callables, and through their closures the
    whole app: an app per test kept every earlier one alive (about 8 MB each, 1.5 GB in a
    fuzzing run). One app per process never notices; a test process clears them."""
    for cached in vars(fastapi_dependency_models).values():
        if isinstance(cached, functools._lru_cache_wrapper):
            cached.cache_clear()


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


RunWorker = Callable[..., Awaitable[BurstResult]]


@pytest.fixture
def run_worker(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], redis: Any
) -> RunWorker:
    """Run real arq workers, one per pool, in burst mode over the test's queues until they
    are empty (the outbox relayed first, as the cron would). Takes ``redis``: the test's
    Redis database starts empty, whatever an earlier test left queued. A job that fails fails the
    test, unless the test says how many it expects (``expect_failures``)."""

    async def run(
        clock: Callable[[], datetime] | None = None, *, expect_failures: int = 0
    ) -> BurstResult:
        # max_jobs=1: jobs share the test's single connection.
        result = await burst(settings, sessionmaker, clock=clock, max_jobs=1)
        # A crashing job would otherwise pass every test that checks only what was not done.
        assert result.jobs_failed == expect_failures, (
            f"{result.jobs_failed} job(s) failed, {expect_failures} expected"
        )
        return result

    return run
