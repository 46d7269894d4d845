"""The outbox relay: moves committed jobs from PostgreSQL to the arq queue."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from service.outbox.service import relay
from workers.context import transaction


async def relay_outbox(ctx: dict[str, Any]) -> int:
    async with transaction(ctx) as session:
        return await relay(session, ctx["redis"], datetime.now(UTC))
