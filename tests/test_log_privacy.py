"""Database errors reach the log without the values they quote: not the bound parameters,
not the driver's "invalid input for query argument", not the server's duplicate-key DETAIL."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from service.db import SessionDep, create_engine
from service.observability import log_handler

EMAIL = "mari.maasikas@example.org"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the app's JSON log handler writes while the test runs."""
    stream = io.StringIO()
    handler = log_handler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def _failing_routes(app: FastAPI) -> None:
    async def bad_argument(session: SessionDep) -> None:
        # The driver cannot encode the text as an integer, and says which text.
        await session.execute(text("SELECT CAST(:email AS integer)"), {"email": EMAIL})

    async def duplicate(session: SessionDep) -> None:
        # The server's DETAIL names the duplicate key's value.
        for _ in range(2):
            await session.execute(text("INSERT INTO contact VALUES (:email)"), {"email": EMAIL})

    app.add_api_route("/test/bad-argument", bad_argument)
    app.add_api_route("/test/duplicate", duplicate)


async def test_database_errors_are_logged_without_the_values_they_quote(
    app: FastAPI, client: AsyncClient, session: AsyncSession, log_lines: io.StringIO
) -> None:
    await session.execute(text("CREATE TEMP TABLE contact (email text UNIQUE)"))
    _failing_routes(app)
    for path, sqlstate in (("/test/bad-argument", None), ("/test/duplicate", "23505")):
        response = await client.get(path)
        assert response.status_code == 500
        assert EMAIL not in response.text
        logged = log_lines.getvalue()
        assert "unhandled error" in logged and "database error" in logged, logged
        assert "[parameters:" not in logged
        assert EMAIL not in logged and "maasikas" not in logged.lower(), logged
        if sqlstate:
            assert f"sqlstate {sqlstate}" in logged and "constraint contact_email_key" in logged
        log_lines.seek(0)
        log_lines.truncate()

    # A worker's failed job: arq logs the exception as an argument of its message, and the
    # test's engine (unlike the app's) does not even hide the parameters.
    try:
        async with session.begin_nested():
            for _ in range(2):
                await session.execute(text("INSERT INTO contact VALUES (:email)"), {"email": EMAIL})
    except DBAPIError as exc:
        quoted = str(exc)  # what arq would have logged
        logging.getLogger("arq.worker").exception(
            "%6.2fs ! %s failed, %s: %s", 0.01, "deliver_email:1", type(exc).__name__, exc
        )
    else:
        pytest.fail("the duplicate key was inserted")
    assert EMAIL in quoted
    logged = log_lines.getvalue()
    assert "deliver_email:1 failed, IntegrityError: database error" in logged, logged
    assert EMAIL not in logged
    # Other errors keep their message.
    try:
        raise ValueError(f"not a database error: {EMAIL}")
    except ValueError:
        logging.getLogger("meielinn.errors").exception("unhandled error")
    assert EMAIL in log_lines.getvalue()


def test_the_engine_hides_bound_parameters(settings: Settings) -> None:
    engine = create_engine(settings)
    assert engine.sync_engine.hide_parameters
