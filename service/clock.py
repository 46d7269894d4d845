"""The clock, as a dependency: routers take ``now: NowDep`` instead of reading the system
time, jobs read ``now(ctx)`` (``workers/context.py``) and services take ``now`` as an
argument, so tests move time by setting ``app.state.clock`` (a worker's: ``ctx["clock"]``).
Nothing else reads the system time: ruff's banned-api rule (TID251, pyproject.toml) refuses
``datetime.now``, ``datetime.utcnow``, ``date.today`` and ``time.time`` outside this module."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


async def request_now(request: Request) -> datetime:
    """The request's "now": one instant for everything the request does."""
    clock: Clock = getattr(request.app.state, "clock", system_clock)
    return clock()


NowDep = Annotated[datetime, Depends(request_now)]
