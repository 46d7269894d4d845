"""Hand-written SQL on the request's own connection, for the few hot read paths.

A statement runs on the asyncpg connection behind the request's session: asyncpg prepares it
once per connection (its statement cache) and returns plain records, with none of the ORM's
identity map, statement compilation or result processing.

When the session has not begun a transaction yet (an anonymous read), the statement runs on
its own, without BEGIN and COMMIT around it: one statement reads one consistent snapshot,
so a single-statement read needs no transaction, and it costs one round trip instead of
three. When the session is in a transaction already (it wrote something, or locked a row),
the statement runs inside it and sees what it wrote.

A connection lost under the statement (the database restarted) is handled as SQLAlchemy
handles it for its own statements: the connection and every pooled connection older than
it are invalidated, and the error is raised as SQLAlchemy's ``DBAPIError`` (with
``connection_invalidated`` set), so it is answered like any other database error.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

# Errors after which the connection cannot be used again.
_DISCONNECTS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
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


async def fetch(session: AsyncSession, sql: str, *args: Any) -> list[asyncpg.Record]:
    """The rows of ``sql`` (``$1``-style parameters)."""
    connection, driver = await _driver(session)
    try:
        rows: list[asyncpg.Record] = await driver.fetch(sql, *args)
    except (asyncpg.PostgresError, *_DISCONNECTS) as exc:
        raise await _failed(connection, sql, exc) from exc
    return rows


async def fetchrow(session: AsyncSession, sql: str, *args: Any) -> asyncpg.Record | None:
    """The first row of ``sql``, or None."""
    connection, driver = await _driver(session)
    try:
        row: asyncpg.Record | None = await driver.fetchrow(sql, *args)
    except (asyncpg.PostgresError, *_DISCONNECTS) as exc:
        raise await _failed(connection, sql, exc) from exc
    return row
