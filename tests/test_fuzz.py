"""Every operation of the API, fuzzed as an anonymous caller: no 5xx, and successful answers
as documented. The admin's run is tests/test_fuzz_admin.py; how both work: tests/fuzzing.py.
"""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from tests.fuzzing import SHARED_FIXTURES, Case, Known, exercise, existing_rows, fuzz_schema

schema = fuzz_schema(anonymous=True)


@pytest.fixture
async def known(session: AsyncSession, settings: Settings) -> Known:
    return await existing_rows(session, settings)


# A pytest parameter gives each item its own node id (schemathesis puts the operation only
# in the item's name, which pytest 9 leaves out of the id, and xdist needs the ids apart).
@schema.parametrize()
@SHARED_FIXTURES
@pytest.mark.parametrize("caller", ["anonymous"])
async def test_anonymous(case: Case, caller: str, client: AsyncClient, known: Known) -> None:
    known.swap_ids(case)
    await exercise(case, client, {})
