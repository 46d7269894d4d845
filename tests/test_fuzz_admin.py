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
from sqlalchemy.ext.asyncio import AsyncSession

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
    client: AsyncClient, known: Known, event_loop_of_fixtures: asyncio.AbstractEventLoop
) -> None:
    """Sequences of calls where one answer's ids feed the next request (links schemathesis
    infers from the document), as the admin. A plain test: each call runs on the loop the
    client and the test's transaction live on, which is idle while this test runs."""
    loop = event_loop_of_fixtures

    class Workflows(schema.as_state_machine()):  # type: ignore[misc]
        def call(self, case: Case, **kwargs: Any) -> schemathesis.Response:
            response = loop.run_until_complete(send(case, client, known.admin_headers))
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
