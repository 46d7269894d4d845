"""What a job gets from the worker: one transaction per unit of work, the clock, and the
rule that makes the outbox reliable: a job's outbox row is done when the job returns."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service import db
from service.clock import system_clock
from service.outbox.service import mark_done


def transaction(ctx: dict[str, Any]) -> AbstractAsyncContextManager[AsyncSession]:
    """The job's transaction, on the worker's (or the test's) sessionmaker."""
    return db.transaction(ctx["sessionmaker"])


def now(ctx: dict[str, Any]) -> datetime:
    """The worker's clock (tests hand in their own as ``ctx["clock"]``)."""
    clock: Callable[[], datetime] = ctx.get("clock", system_clock)
    return clock()


JobFunction = Callable[..., Awaitable[Any]]


def outbox_job(function: JobFunction) -> JobFunction:
    """A job relayed from the outbox: when it returns, its row is marked done in the job's
    own transaction. When it raises (``Retry`` included), the row stays, and the relay hands
    it to arq again after its lease; the job must therefore be idempotent."""

    @functools.wraps(function)
    async def run(ctx: dict[str, Any], *arguments: Any) -> Any:
        result = await function(ctx, *arguments)
        async with transaction(ctx) as session:
            await mark_done(session, ctx.get("job_id"), now(ctx))
        return result

    return run
