"""Every operation of the API, fuzzed as an admin (a bearer token): every answer as documented;
and workflows that follow the document's links. The anonymous run is tests/test_fuzz.py,
the resident's tests/test_fuzz_resident.py; how all three work: tests/fuzzing.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.config import Settings
from tests.fuzzing import (
    SHARED_FIXTURES,
    Case,
    Known,
    exercise,
    existing_rows,
    fuzz_schema,
    run_workflows,
)

schema = fuzz_schema("admin")


@pytest.fixture
async def known(session: AsyncSession, settings: Settings) -> Known:
    return await existing_rows(session, settings, "admin")


# A pytest parameter gives each item its own node id (schemathesis puts the operation only
# in the item's name, which pytest 9 leaves out of the id, and xdist needs the ids apart).
@schema.parametrize()
@SHARED_FIXTURES
@pytest.mark.parametrize("caller", ["admin"])
async def test_admin(case: Case, caller: str, client: AsyncClient, known: Known) -> None:
    await exercise(case, client, known)


@pytest.fixture
async def event_loop_of_fixtures() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def test_admin_workflows(
    client: AsyncClient,
    known: Known,
    connection: AsyncConnection,
    redis: Any,
    event_loop_of_fixtures: asyncio.AbstractEventLoop,
) -> None:
    """Calls chained by the links of the document (a report filed, fetched, changed …)."""
    run_workflows(schema, client, known, connection, redis, event_loop_of_fixtures)
