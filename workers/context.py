"""What a job gets from the worker: one transaction per unit of work."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service import db


def transaction(ctx: dict[str, Any]) -> AbstractAsyncContextManager[AsyncSession]:
    """The job's transaction, on the worker's (or the test's) sessionmaker."""
    return db.transaction(ctx["sessionmaker"])
