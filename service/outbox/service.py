"""The transactional outbox: jobs written in the business transaction, relayed to arq, and
done only when the job itself says so.

* :func:`add_job` writes a row in the caller's transaction (once per ``job_key``), optionally
  with a ``run_at`` for deferred work.
* :func:`relay` (every second, any number of relays at once: ``SKIP LOCKED``) enqueues rows
  that are not done, whose ``run_at`` is near, and whose lease ran out, with a deterministic
  ``_job_id`` (arq refuses a second job with the same id while the first is queued or
  running) and ``_defer_until`` = ``run_at``; it takes a lease of :data:`LEASE` beyond
  ``run_at``.
* :func:`mark_done` is called by the job when its work is committed. A row whose job was lost
  (Redis flushed, worker killed) is enqueued again once its lease has run out, so work is
  delayed by at most the lease, never lost; jobs are idempotent, so a duplicate run is
  harmless.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.db import table_of
from service.outbox.models import OutboxJob
from service.outbox.pools import COALESCED_SECONDS, queue_of

# How long the relay trusts arq with a job before handing it over again.
LEASE = timedelta(seconds=60)
# Deferred rows are handed to arq this long before they are due (arq defers them).
HORIZON = timedelta(minutes=10)


def job_id(job_name: str, job_key: str) -> str:
    """The deterministic arq job id: arq refuses a second job with the same id."""
    return f"{job_name}:{job_key}"


async def add_job(
    session: AsyncSession,
    job_name: str,
    job_key: str,
    *arguments: Any,
    run_at: datetime | None = None,
) -> None:
    """Schedule ``job_name(*arguments)`` once per ``job_key``, if this transaction commits;
    not before ``run_at`` when given."""
    table = table_of(OutboxJob)
    values: dict[str, Any] = {
        "job_name": job_name,
        "job_key": job_key,
        "arguments": list(arguments),
    }
    if run_at is not None:
        values["run_at"] = run_at
    await session.execute(
        insert(table).values(**values).on_conflict_do_nothing(constraint="uq_outbox_job_name_key")
    )


async def add_jobs(session: AsyncSession, job_name: str, jobs: list[tuple[str, list[Any]]]) -> None:
    """Schedule ``job_name`` once per (``job_key``, arguments) of ``jobs`` in one statement,
    if this transaction commits (the set-based :func:`add_job`)."""
    if jobs:
        await session.execute(
            text(
                "INSERT INTO outbox_job (job_name, job_key, arguments) "
                "SELECT :name, j.key, CAST(j.arguments AS jsonb) "
                "FROM unnest(CAST(:keys AS text[]), CAST(:arguments AS text[])) "
                "AS j (key, arguments) "
                "ON CONFLICT ON CONSTRAINT uq_outbox_job_name_key DO NOTHING"
            ),
            {
                "name": job_name,
                "keys": [key for key, _ in jobs],
                "arguments": [json.dumps(arguments) for _, arguments in jobs],
            },
        )


async def mark_keys_done(
    session: AsyncSession, job_name: str, job_keys: list[str], now: datetime
) -> None:
    """Mark the rows of ``job_name`` with ``job_keys`` done: their work was done another way
    (the relay no longer hands them to arq; a job already queued finds nothing to do)."""
    if job_keys:
        # Rows the relay holds right now are left alone (it hands them to arq; their jobs
        # find nothing to do): waiting for the relay would hold up the caller.
        free = (
            select(col(OutboxJob.id))
            .where(
                col(OutboxJob.job_name) == job_name,
                col(OutboxJob.job_key).in_(job_keys),
                col(OutboxJob.done_at).is_(None),
            )
            .with_for_update(skip_locked=True)
        )
        await session.execute(
            update(OutboxJob)
            .where(col(OutboxJob.id).in_(free.scalar_subquery()))
            .values(done_at=now)
        )


async def relay(
    session: AsyncSession,
    redis: ArqRedis,
    now: datetime,
    batch: int = 1000,
    *,
    queue_base: str | None = None,
) -> int:
    """Enqueue the rows that are due (or nearly) and not leased, each in its pool's queue
    under ``queue_base`` (the configured ``arq_queue_name``; by default the client's own
    default queue); returns how many."""
    base = queue_base or redis.default_queue_name
    rows = (
        await session.execute(
            select(OutboxJob)
            .where(
                col(OutboxJob.done_at).is_(None),
                col(OutboxJob.run_at) <= now + HORIZON,
                or_(col(OutboxJob.leased_until).is_(None), col(OutboxJob.leased_until) < now),
            )
            .order_by(col(OutboxJob.run_at), col(OutboxJob.id))
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    ).scalars()
    relayed = []
    # Rows of a coalesced job (service.outbox.pools.COALESCED_SECONDS) due in the same
    # window go to arq as one job, run when the last of them is due, with the first's
    # arguments; every other row is a job of its own.
    groups: dict[tuple[str, Any], list[OutboxJob]] = {}
    for job in rows:
        window = COALESCED_SECONDS.get(job.job_name)
        bucket = int(job.run_at.timestamp()) // window if window else job.id
        groups.setdefault((job.job_name, bucket), []).append(job)
    for (name, bucket), jobs in groups.items():
        first, last = jobs[0], jobs[-1]
        defer = last.run_at if last.run_at > now else None
        if name in COALESCED_SECONDS:
            # Not any row's key: the rows are marked done by the work itself.
            arq_id = f"{name}:@{bucket}:{int(now.timestamp())}"
        else:
            arq_id = job_id(first.job_name, first.job_key)
        await redis.enqueue_job(
            name,
            *first.arguments,
            _job_id=arq_id,
            _defer_until=defer,
            _queue_name=queue_of(base, name),
        )
        relayed += [job.id for job in jobs]
    if relayed:
        await session.execute(
            update(OutboxJob)
            .where(col(OutboxJob.id).in_(relayed))
            .values(
                enqueued_at=now,
                attempts=OutboxJob.attempts + 1,
                leased_until=func.greatest(OutboxJob.run_at, now) + LEASE,
            )
        )
    return len(relayed)


async def mark_done(session: AsyncSession, arq_job_id: str | None, now: datetime) -> bool:
    """Mark the outbox row behind an arq job id done (False when there is none: cron jobs)."""
    if not arq_job_id or ":" not in arq_job_id:
        return False
    name, _, key = arq_job_id.partition(":")
    result = await session.execute(
        update(OutboxJob)
        .where(
            and_(col(OutboxJob.job_name) == name, col(OutboxJob.job_key) == key),
            col(OutboxJob.done_at).is_(None),
        )
        .values(done_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def backlog(session: AsyncSession, now: datetime) -> tuple[int, float]:
    """(rows due and not done, seconds the oldest of them is late), for the metrics."""
    row = (
        await session.execute(
            select(func.count(), func.min(OutboxJob.run_at)).where(
                col(OutboxJob.done_at).is_(None), col(OutboxJob.run_at) <= now
            )
        )
    ).one()
    oldest = row[1]
    return int(row[0]), max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
