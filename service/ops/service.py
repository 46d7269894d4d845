"""Operations services: recording worker heartbeats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import table_of
from service.ops.models import WorkerHeartbeat


async def record_heartbeat(session: AsyncSession, worker_name: str, now: datetime) -> int:
    """Upsert the worker's heartbeat; returns how many beats it has recorded so far."""
    table = table_of(WorkerHeartbeat)
    statement = (
        insert(table)
        .values(worker_name=worker_name, first_beat_at=now, last_beat_at=now, beats=1)
        .on_conflict_do_update(
            index_elements=[table.c.worker_name],
            set_={"last_beat_at": now, "beats": table.c.beats + 1},
        )
        .returning(table.c.beats)
    )
    return int((await session.execute(statement)).scalar_one())
