"""Training jobs: diploma PDFs, the sweep that makes any a lost job left behind, and the
outreach emails of programmes."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from service.observability import JOB_OUTCOMES
from service.training import awards_repository, outreach
from service.training.diplomas import build_diploma
from workers.context import now, outbox_job, transaction

# Diplomas older than this without a PDF are made by the sweep (their job was lost).
SWEEP_AFTER = timedelta(minutes=2)
SWEEP_BATCH = 20


@outbox_job
async def make_diploma(ctx: dict[str, Any], diploma_id: str) -> bool:
    """Render and store one diploma's PDF (idempotent: a second run makes nothing)."""
    async with transaction(ctx) as session:
        made = await build_diploma(session, ctx["settings"], uuid.UUID(diploma_id), now(ctx))
    JOB_OUTCOMES.labels("make_diploma", "made" if made else "skipped").inc()
    return made


async def sweep_diplomas(ctx: dict[str, Any]) -> int:
    """Make the PDFs whose job was lost (Redis flushed, a worker killed mid-job)."""
    moment = now(ctx)
    async with transaction(ctx) as session:
        pending = await awards_repository.pending_diploma_ids(
            session, moment - SWEEP_AFTER, SWEEP_BATCH
        )
    made = 0
    for diploma_id in pending:
        async with transaction(ctx) as session:
            made += await build_diploma(session, ctx["settings"], diploma_id, moment)
    return made


@outbox_job
async def training_outreach(ctx: dict[str, Any], kind: str, subject_id: str) -> int:
    """Queue the emails of one outreach event (a programme published, a session changed,
    a place given, an award)."""
    async with transaction(ctx) as session:
        count = await outreach.send(session, ctx["settings"], kind, uuid.UUID(subject_id), now(ctx))
    JOB_OUTCOMES.labels("training_outreach", kind).inc()
    return count
