"""The outbox relay: moves committed jobs from PostgreSQL to the arq queue."""

from __future__ import annotations

from typing import Any

from service.outbox.service import relay
from workers.context import now, transaction


async def relay_outbox(ctx: dict[str, Any]) -> int:
    async with transaction(ctx) as session:
        return await relay(
            session, ctx["redis"], now(ctx), queue_base=ctx["settings"].arq_queue_name
        )
