"""Every operation of the API, fuzzed as an anonymous caller: every answer as documented.
The resident's and the admin's runs are tests/test_fuzz_resident.py and
tests/test_fuzz_admin.py; how all three work: tests/fuzzing.py.
"""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from tests.fuzzing import SHARED_FIXTURES, Case, Known, exercise, existing_rows, fuzz_schema

schema = fuzz_schema("anonymous")


@pytest.fixture
async def known(session: AsyncSession, settings: Settings) -> Known:
    return await existing_rows(session, settings, "anonymous")


# A pytest parameter gives each item its own node id (schemathesis puts the operation only
# in the item's name, which pytest 9 leaves out of the id, and xdist needs the ids apart).
@schema.parametrize()
@SHARED_FIXTURES
@pytest.mark.parametrize("caller", ["anonymous"])
async def test_anonymous(case: Case, caller: str, client: AsyncClient, known: Known) -> None:
    await exercise(case, client, known)
