"""The worker's heartbeat: proves the worker path (Redis → arq → job → database) works."""

from __future__ import annotations

from typing import Any

from service.observability import JOB_OUTCOMES
from service.ops.service import record_heartbeat
from workers.context import now, transaction


async def heartbeat(ctx: dict[str, Any]) -> int:
    """Record that this worker is alive; returns its beat count."""
    async with transaction(ctx) as session:
        beats = await record_heartbeat(session, ctx["worker_name"], now(ctx))
    JOB_OUTCOMES.labels("heartbeat", "ok").inc()
    return beats
