"""Idea bank jobs: the automatic checks of a submission (stage 1), photo thumbnails, and
the sweep of expert reviews (reminders, lapses and re-assignment), all with the worker's
clock."""

from __future__ import annotations

import uuid
from typing import Any

from service.ideas import attachments, checks, reviews
from service.observability import JOB_OUTCOMES
from workers.context import now, outbox_job, transaction


@outbox_job
async def idea_checks(ctx: dict[str, Any], idea_id: str, attempt: int) -> bool:
    """Run the automatic checks of one submission (a repeated run finds nothing to do)."""
    async with transaction(ctx) as session:
        checked = await checks.run_checks(session, uuid.UUID(idea_id), int(attempt), now(ctx))
    JOB_OUTCOMES.labels("idea_checks", "checked" if checked else "skipped").inc()
    return checked


@outbox_job
async def make_idea_thumbnail(ctx: dict[str, Any], attachment_id: str) -> bool:
    async with transaction(ctx) as session:
        made = await attachments.build_thumbnail(session, ctx["settings"], uuid.UUID(attachment_id))
    JOB_OUTCOMES.labels("make_idea_thumbnail", "made" if made else "skipped").inc()
    return made


async def idea_review_sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Remind, lapse and re-assign expert reviews that are due (batch-limited)."""
    async with transaction(ctx) as session:
        result = await reviews.sweep(session, now(ctx))
    JOB_OUTCOMES.labels(
        "idea_review_sweep", "acted" if result.lapsed or result.reminded else "idle"
    ).inc()
    return {"reminded": result.reminded, "lapsed": result.lapsed, "assigned": result.assigned}
