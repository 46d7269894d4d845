"""Report jobs: photo thumbnails and the daily clean-up of Idempotency-Key records."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from service import idempotency
from service.ideas.attachments import IDEA_FILES
from service.observability import JOB_OUTCOMES
from service.reports import mapview
from service.reports.photos import REPORT_FILES, build_thumbnail, sweep_orphans
from workers.context import now, outbox_job, transaction

# Every store of uploaded files, swept in one pass.
MEDIA_STORES = (REPORT_FILES, IDEA_FILES)


@outbox_job
async def make_thumbnail(ctx: dict[str, Any], photo_id: str) -> bool:
    """Write the thumbnail of one photo (idempotent: a second run rewrites the same file)."""
    async with transaction(ctx) as session:
        made = await build_thumbnail(session, ctx["settings"], uuid.UUID(photo_id))
    JOB_OUTCOMES.labels("make_thumbnail", "made" if made else "skipped").inc()
    return made


async def purge_idempotency_records(ctx: dict[str, Any]) -> int:
    async with transaction(ctx) as session:
        return await idempotency.purge_expired(session, now(ctx))


async def refresh_map_cells(ctx: dict[str, Any]) -> int:
    """Recount the map cells that changed reports touched (the map's clusters lag by this
    job's period); returns how many cells."""
    async with transaction(ctx) as session:
        return await mapview.refresh_cells(session)


async def sweep_media(ctx: dict[str, Any]) -> int:
    """Delete report photos and idea attachments no row refers to any more (hourly)."""
    async with transaction(ctx) as session:
        return await sweep_orphans(
            session, ctx["settings"], now(ctx), timedelta(hours=1), MEDIA_STORES
        )
