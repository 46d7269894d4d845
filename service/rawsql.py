"""Hand-written SQL on the request's own connection, for the few hot read paths.

A statement runs on the asyncpg connection behind the request's session: asyncpg prepares it
once per connection (its statement cache) and returns plain records, with none of the ORM's
identity map, statement compilation or result processing.

When the session has not begun a transaction yet (an anonymous read), the statement runs on
its own, without BEGIN and COMMIT around it: one statement reads one consistent snapshot,
so a single-statement read needs no transaction, and it costs one round trip instead of
three. When the session is in a transaction already (it wrote something, or locked a row),
the statement runs inside it and sees what it wrote.

Reads that write nothing (an anonymous caller's, a resident's) need neither a session nor a
transaction: they run on a connection of the app's read pool (:func:`create_read_pool`,
:func:`reading`: plain asyncpg, no ORM session built, no commit, no reset when the
connection goes back) — :func:`fetch` and :func:`fetchrow` take either. A read replica's
pool takes its place for anonymous reads (``service.replicas``).

A connection lost under the statement (the database restarted) is handled as SQLAlchemy
handles it for its own statements: the connection and every pooled connection older than
it are invalidated, and the error is raised as SQLAlchemy's ``DBAPIError`` (with
``connection_invalidated`` set), so it is answered like any other database error.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

import asyncpg
from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.config import Settings
from service.db import server_settings, transaction

# A session (inside or outside its transaction), or a connection of the read pool.
Db: TypeAlias = AsyncSession | asyncpg.Connection | asyncpg.pool.PoolConnectionProxy

# Errors after which the connection cannot be used again.
_DISCONNECTS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    # The protocol left mid-operation by a connection the server ended (seen after
    # pg_terminate_backend): the connection cannot be used again either.
    asyncpg.exceptions.InternalClientError,
    ConnectionError,
    OSError,
)


async def _driver(session: AsyncSession) -> tuple[AsyncConnection, asyncpg.Connection]:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    return connection, driver


async def _failed(connection: AsyncConnection, sql: str, exc: BaseException) -> DBAPIError:
    invalidated = isinstance(exc, _DISCONNECTS)
    if invalidated:
        raw = await connection.get_raw_connection()
        # As SQLAlchemy does on a disconnect: this pool's connections made before now are
        # replaced on their next checkout, and this one is discarded.
        connection.sync_engine.pool._invalidate(raw, exc)
    kind = OperationalError if invalidated else DBAPIError
    return kind(sql, None, exc, connection_invalidated=invalidated)


def _pooled_failure(sql: str, exc: BaseException) -> DBAPIError:
    # A dropped connection is closed by asyncpg and replaced when the pool hands out the next.
    invalidated = isinstance(exc, _DISCONNECTS)
    kind = OperationalError if invalidated else DBAPIError
    return kind(sql, None, exc, connection_invalidated=invalidated)


async def fetch(session: Db, sql: str, *args: Any) -> list[asyncpg.Record]:
    """The rows of ``sql`` (``$1``-style parameters)."""
    if not isinstance(session, AsyncSession):
        try:
            pooled: list[asyncpg.Record] = await session.fetch(sql, *args)
        except (asyncpg.PostgresError, *_DISCONNECTS) as exc:
            raise _pooled_failure(sql, exc) from exc
        return pooled
    connection, driver = await _driver(session)
    try:
        rows: list[asyncpg.Record] = await driver.fetch(sql, *args)
    except (asyncpg.PostgresError, *_DISCONNECTS) as exc:
        raise await _failed(connection, sql, exc) from exc
    return rows


async def fetchrow(session: Db, sql: str, *args: Any) -> asyncpg.Record | None:
    """The first row of ``sql``, or None."""
    if not isinstance(session, AsyncSession):
        try:
            found: asyncpg.Record | None = await session.fetchrow(sql, *args)
        except (asyncpg.PostgresError, *_DISCONNECTS) as exc:
            raise _pooled_failure(sql, exc) from exc
        return found
    connection, driver = await _driver(session)
    try:
        row: asyncpg.Record | None = await driver.fetchrow(sql, *args)
    except (asyncpg.PostgresError, *_DISCONNECTS) as exc:
        raise await _failed(connection, sql, exc) from exc
    return row


async def _codecs(connection: asyncpg.Connection) -> None:
    """JSON as the engine's connections decode it (SQLAlchemy's asyncpg dialect), so a
    statement returns the same values on either kind of connection."""
    await connection.set_type_codec(
        "json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog", format="text"
    )
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog", format="text"
    )


class Statement:
    """A statement written with ``:name`` parameters, run with ``$n`` ones: the names in
    the order of their first use (a name used twice is one parameter), so a statement keeps
    readable names and still runs on a plain asyncpg connection. ``::type`` casts are left
    alone."""

    _NAME = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")

    def __init__(self, sql: str) -> None:
        self.names: list[str] = []

        def number(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.names:
                self.names.append(name)
            return f"${self.names.index(name) + 1}"

        self.sql = self._NAME.sub(number, sql)

    def args(self, values: dict[str, Any]) -> list[Any]:
        return [values[name] for name in self.names]


async def fetchval(session: Db, statement: Statement, values: dict[str, Any]) -> Any:
    """The first column of the first row of ``statement`` with ``values``, or None."""
    row = await fetchrow(session, statement.sql, *statement.args(values))
    return row[0] if row is not None else None


async def _keep(connection: asyncpg.Connection) -> None:
    """Nothing to reset when a read connection goes back to the pool: it only ever runs
    single statements outside a transaction (no session state, locks, cursors or
    listeners), so asyncpg's reset round trip (``RESET ALL`` and the rest) is skipped."""


async def create_read_pool(
    settings: Settings, *, url: str | None = None, read_only: bool = False
) -> asyncpg.Pool:
    """The read pool: plain asyncpg connections with the engine's conventions (UTC, the
    statement timeout), half the engine's pool in size (a read holds its connection for
    one statement, a fraction of a millisecond); connects lazily. ``url`` and
    ``read_only``: a replica's (``service.replicas``). Behind a transaction-mode pooler
    (``MEIELINN_DATABASE_POOLER``) its statement cache is off, as the engine's is."""
    dsn = make_url(url or settings.database_url).set(drivername="postgresql")
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn.render_as_string(hide_password=False),
        min_size=0,
        max_size=max(2, settings.database_pool_size // 2),
        init=_codecs,
        reset=_keep,
        statement_cache_size=0 if settings.database_pooler == "transaction" else 100,
        server_settings=server_settings(settings, read_only),
    )
    return pool


@asynccontextmanager
async def read_connection(pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[Db]:
    """A connection of the read pool for one request's reads. A pool with no connection free
    within the engine's pool timeout is answered as the engine's is (503, busy)."""
    try:
        connection = await pool.acquire(timeout=settings.database_pool_timeout_seconds)
    except TimeoutError as exc:
        raise PoolTimeoutError("read pool exhausted") from exc
    except (asyncpg.PostgresError, *_DISCONNECTS) as exc:
        raise _pooled_failure("connect", exc) from exc
    try:
        yield connection
    finally:
        await pool.release(connection)


@asynccontextmanager
async def reading(state: Any) -> AsyncIterator[Db]:
    """Where an anonymous caller's read runs: the app's read pool (``state.read_pool``,
    set up by the app's lifespan), or, when the app has none (an app under test, bound to
    the test's transaction), a session of the app's sessionmaker."""
    pool: asyncpg.Pool | None = getattr(state, "read_pool", None)
    if pool is None:
        async with transaction(state.sessionmaker) as session:
            yield session
    else:
        async with read_connection(pool, state.settings) as connection:
            yield connection
