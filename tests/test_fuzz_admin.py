"""Every operation of the API, fuzzed as an admin (a bearer token): no 5xx, and successful
answers as documented. The anonymous run is tests/test_fuzz.py; how both work:
tests/fuzzing.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import schemathesis
from httpx import AsyncClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.config import Settings
from tests.fuzzing import (
    SHARED_FIXTURES,
    WORKFLOWS,
    Case,
    Known,
    check,
    exercise,
    existing_rows,
    fuzz_schema,
    send,
)

schema = fuzz_schema(anonymous=False)


@pytest.fixture
async def known(session: AsyncSession, settings: Settings) -> Known:
    return await existing_rows(session, settings)


# A pytest parameter gives each item its own node id (schemathesis puts the operation only
# in the item's name, which pytest 9 leaves out of the id, and xdist needs the ids apart).
@schema.parametrize()
@SHARED_FIXTURES
@pytest.mark.parametrize("caller", ["admin"])
async def test_admin(case: Case, caller: str, client: AsyncClient, known: Known) -> None:
    known.swap_ids(case)
    await exercise(case, client, known.admin_headers)


@pytest.fixture
async def event_loop_of_fixtures() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


@pytest.mark.skipif(WORKFLOWS == 0, reason="make fuzz walks workflows (MEIELINN_FUZZ_WORKFLOWS)")
def test_admin_workflows(
    client: AsyncClient,
    known: Known,
    connection: AsyncConnection,
    redis: Any,
    event_loop_of_fixtures: asyncio.AbstractEventLoop,
) -> None:
    """Sequences of calls where one answer's ids feed the next request (links schemathesis
    infers from the document), as the admin. A plain test: each call runs on the loop the
    client and the test's transaction live on, which is idle while this test runs. Each
    sequence starts from the same data (a savepoint rolled back, Redis emptied), so that
    Hypothesis can replay and shrink it."""
    run = event_loop_of_fixtures.run_until_complete

    class Workflows(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.savepoint = run(connection.begin_nested())

        def teardown(self) -> None:
            run(self.savepoint.rollback())
            run(redis.flushdb())

        def call(self, case: Case, **kwargs: Any) -> schemathesis.Response:
            response = run(send(case, client, known.admin_headers))
            return schemathesis.Response.from_any(response)

        def validate_response(
            self, response: schemathesis.Response, case: Case, *args: Any, **kwargs: Any
        ) -> None:
            check(case, response)

    Workflows.run(
        settings=hypothesis_settings(
            max_examples=WORKFLOWS,
            stateful_step_count=10,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
