"""Living lab jobs: the sweep that lets unanswered invitations lapse at their deadline,
tells testers that a task opened, and reminds those who owe a task due within a day."""

from __future__ import annotations

from typing import Any

from service.lab import recruiting, tasks
from service.observability import JOB_OUTCOMES
from workers.context import now, transaction


async def lab_sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """One batch of each (a repeated run finds nothing more to do)."""
    async with transaction(ctx) as session:
        expired = await recruiting.expire_invitations(session, now(ctx))
        announced, reminded = await tasks.tell_testers(session, now(ctx))
    acted = expired or announced or reminded
    JOB_OUTCOMES.labels("lab_sweep", "acted" if acted else "idle").inc()
    return {"expired": expired, "announced": announced, "reminded": reminded}
