"""SLA jobs: the sweep (every few seconds, the source of truth), the deferred fast path
for one timer, and closing answered reports once their rating window has passed; all with
the worker's clock."""

from __future__ import annotations

import time
import uuid
from typing import Any

from service.feedback.ratings import close_expired
from service.observability import JOB_OUTCOMES, OUTBOX_BACKLOG, OUTBOX_OLDEST_SECONDS
from service.outbox.service import backlog
from service.sla import engine
from workers.context import now, outbox_job, transaction


async def sla_sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Plan unplanned rounds, flag moderation deadlines, fire due timers (batch-limited)."""
    async with transaction(ctx) as session:
        result = await engine.sweep(session, ctx["settings"], now(ctx))
    fired, more_due = result.fired, result.more_due
    # A burst of deadlines: fire on, a batch per transaction, for a bounded time (the next
    # sweep, on this worker or another, takes over; SKIP LOCKED shares the batches out).
    until = time.monotonic() + FIRE_SECONDS
    while more_due and time.monotonic() < until:
        async with transaction(ctx) as session:
            batch = await engine.fire_due(session, ctx["settings"], now(ctx))
        fired += batch.fired
        more_due = batch.claimed >= engine.FIRE_BATCH
    async with transaction(ctx) as session:
        count, oldest = await backlog(session, now(ctx))
    OUTBOX_BACKLOG.set(count)
    OUTBOX_OLDEST_SECONDS.set(oldest)
    JOB_OUTCOMES.labels("sla_sweep", "fired" if fired else "idle").inc()
    return {"planned": result.planned, "fired": fired, "moderation": result.moderation}


# How long one sweep goes on firing full batches before leaving the rest to the next.
FIRE_SECONDS = 5.0


@outbox_job
async def sla_fire(ctx: dict[str, Any], timer_id: str) -> bool:
    """Fire one timer at its time, unless it already fired, moved or became stale; with it
    a batch of whatever else is due, and in a burst further batches for a bounded time, as
    the sweep does. The relay hands the timers due within the same second to arq as one
    such job (``service.outbox.pools.COALESCED_SECONDS``)."""
    async with transaction(ctx) as session:
        result = await engine.fire_due(
            session, ctx["settings"], now(ctx), engine.FIRE_BATCH, first=uuid.UUID(timer_id)
        )
    more_due = result.claimed >= engine.FIRE_BATCH
    until = time.monotonic() + FIRE_SECONDS
    while more_due and time.monotonic() < until:
        async with transaction(ctx) as session:
            batch = await engine.fire_due(session, ctx["settings"], now(ctx))
        more_due = batch.claimed >= engine.FIRE_BATCH
    JOB_OUTCOMES.labels("sla_fire", "fired" if result.first_fired else "skipped").inc()
    return result.first_fired


async def close_rated_out(ctx: dict[str, Any]) -> int:
    """Close answered reports whose rating window has passed (each minute, in batches)."""
    closed = 0
    while True:
        async with transaction(ctx) as session:
            batch = await close_expired(session, now(ctx), limit=200)
        closed += batch
        if batch < 200:
            break
    JOB_OUTCOMES.labels("close_rated_out", "closed" if closed else "idle").inc()
    return closed
