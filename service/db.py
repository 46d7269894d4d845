"""Database access: the async engine, the per-request session and the shared metadata.

One request is one transaction: :func:`get_session` yields a session, and commits once
after the endpoint returned (or rolls back when it raised). Services never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, String, Table, func
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel import Field, SQLModel

from service.clock import system_clock
from service.config import Settings
from service.errors import AppError

# Deterministic constraint names, so that alembic can address them in later revisions.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


def timestamp(*, nullable: bool = False, default_now: bool = False, index: bool = False) -> Any:
    """A ``timestamptz`` field (UTC instants); ``default_now`` fills it at insert with the
    system time, for rows whose service does not stamp them with its own ``now``."""
    if default_now:
        return Field(
            default_factory=system_clock,
            sa_type=DateTime(timezone=True),
            nullable=nullable,
            index=index,
            sa_column_kwargs={"server_default": func.now()},
        )
    return Field(
        default=None if nullable else ...,
        sa_type=DateTime(timezone=True),
        nullable=nullable,
        index=index,
    )


def enum_field(default: Any = ..., *, length: int = 32, index: bool = False) -> Any:
    """A ``StrEnum`` field stored as plain text: new values need no ``ALTER TYPE``."""
    return Field(default=default, sa_type=String(length), index=index)


def uuid_pk() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a SQLModel class, for INSERT … ON CONFLICT and bulk statements."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def create_engine(
    settings: Settings,
    *,
    pre_ping: bool = True,
    url: str | None = None,
    read_only: bool = False,
) -> AsyncEngine:
    """An asyncpg engine with a bounded pool and the city's conventions (UTC sessions).

    ``pre_ping``: test every connection with a round trip when it leaves the pool. The API's
    engine goes without (``service.main``): the ping was a tenth of a report read. Without
    it, a connection the database dropped (a restart) is found dead by the request's first
    statement; SQLAlchemy then invalidates it and every pooled connection older than it, so
    that one request fails fast with a database error and the next ones connect anew.
    ``service.rawsql`` does the same for its statements. The worker keeps the ping: its
    jobs are few and retried, and a job's failure costs more than a round trip.

    ``url`` and ``read_only``: a replica's engine (``service.replicas``); its transactions
    are read-only, as a standby's are anyway, so that a write sent there by mistake fails
    the same way on any server.

    ``MEIELINN_DATABASE_POOLER=transaction`` (PgBouncer in transaction mode, which keeps no
    prepared statement beyond a transaction and forwards only a few startup parameters):
    asyncpg's statement cache and SQLAlchemy's are off, so asyncpg runs ``service.rawsql``'s
    statements unnamed and SQLAlchemy names each statement it prepares uniquely (no two
    clients of one server connection collide); ``statement_timeout`` is then the database
    role's (``ALTER ROLE … SET statement_timeout``), not a startup parameter."""
    connect_args: dict[str, Any] = {"server_settings": server_settings(settings, read_only)}
    if settings.database_pooler == "transaction":
        connect_args["statement_cache_size"] = 0
        connect_args["prepared_statement_cache_size"] = 0
        connect_args["prepared_statement_name_func"] = _unique_statement_name
    return create_async_engine(
        url or settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_pre_ping=pre_ping,
        # A failed statement's error would otherwise quote its parameters (emails, texts);
        # the log formatter withholds what the driver and server quote (service/log_privacy).
        hide_parameters=True,
        # A request waits this long for a connection, then answers 503 (service/errors.py).
        pool_timeout=settings.database_pool_timeout_seconds,
        connect_args=connect_args,
    )


def server_settings(settings: Settings, read_only: bool = False) -> dict[str, str]:
    """The session settings every connection starts with (the engine's, and the read pools'
    of ``service.rawsql``): UTC, the application's name, the statement timeout (unless a
    transaction-mode pooler forwards no such parameter), read-only on a replica."""
    found = {"timezone": "UTC", "application_name": "meielinn-replica" if read_only else "meielinn"}
    if settings.database_pooler != "transaction":
        found["statement_timeout"] = str(round(settings.database_statement_timeout_seconds * 1000))
        if read_only:
            found["default_transaction_read_only"] = "on"
    return found


def _unique_statement_name() -> str:
    return f"__meielinn_{uuid.uuid4().hex}__"


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session committed when the block ends without error, rolled back otherwise."""
    async with sessionmaker() as session:
        try:
            yield session
        except AppError as exc:
            if exc.keep_changes:
                await session.commit()
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session, committed once when the endpoint has returned."""
    async with transaction(request.app.state.sessionmaker) as session:
        yield session


# scope="function": commit before the response is sent, so a failed commit is an error
# response and never a success the database does not hold.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
