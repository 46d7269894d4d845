"""Privacy jobs: the daily removal of reporters' contact data past the retention period."""

from __future__ import annotations

from typing import Any

from service.observability import JOB_OUTCOMES
from service.reports.retention import remove_expired_contact_data
from workers.context import now, transaction


async def retention_sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Remove expired contact data, one batch per transaction, until none is left."""
    reports = contacts = 0
    while True:
        async with transaction(ctx) as session:
            batch = await remove_expired_contact_data(session, ctx["settings"], now(ctx))
        reports += batch.reports
        contacts += batch.contacts_erased
        if batch.reports == 0:
            break
    JOB_OUTCOMES.labels("retention_sweep", "removed" if reports else "nothing_due").inc()
    return {"reports": reports, "contacts_erased": contacts}
