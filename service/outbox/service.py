"""Writing jobs to the outbox (in the business transaction) and relaying them to arq."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import table_of
from service.outbox.models import OutboxJob


def job_id(job_name: str, job_key: str) -> str:
    """The deterministic arq job id: arq refuses a second job with the same id."""
    return f"{job_name}:{job_key}"


async def add_job(session: AsyncSession, job_name: str, job_key: str, *arguments: Any) -> None:
    """Schedule ``job_name(*arguments)`` once per ``job_key``, if this transaction commits."""
    table = table_of(OutboxJob)
    await session.execute(
        insert(table)
        .values(job_name=job_name, job_key=job_key, arguments=list(arguments))
        .on_conflict_do_nothing(constraint="uq_outbox_job_name_key")
    )


async def relay(session: AsyncSession, redis: ArqRedis, now: datetime, batch: int = 200) -> int:
    """Enqueue pending outbox jobs; safe with many relays at once (SKIP LOCKED)."""
    rows = (
        await session.execute(
            select(OutboxJob)
            .where(OutboxJob.enqueued_at.is_(None))  # type: ignore[union-attr]
            .order_by(OutboxJob.id)  # type: ignore[arg-type]
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    ).scalars()
    relayed = []
    for job in rows:
        await redis.enqueue_job(
            job.job_name, *job.arguments, _job_id=job_id(job.job_name, job.job_key)
        )
        relayed.append(job.id)
    if relayed:
        await session.execute(
            update(OutboxJob)
            .where(OutboxJob.id.in_(relayed))  # type: ignore[union-attr]
            .values(enqueued_at=now)
        )
    return len(relayed)
