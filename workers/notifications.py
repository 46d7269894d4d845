"""Email delivery jobs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from arq import Retry

from service.notifications.models import DeliveryStatus
from service.notifications.service import deliver
from service.observability import JOB_OUTCOMES
from workers.context import outbox_job, transaction


@outbox_job
async def deliver_email(ctx: dict[str, Any], message_id: str) -> str:
    """Send one queued email; retried with backoff while the SMTP server fails."""
    async with transaction(ctx) as session:
        status = await deliver(session, ctx["settings"], uuid.UUID(message_id), datetime.now(UTC))
    outcome = status.value if status else "skipped"
    JOB_OUTCOMES.labels("deliver_email", outcome).inc()
    if status is DeliveryStatus.pending:
        raise Retry(defer=min(600, 5 * 2 ** ctx.get("job_try", 1)))
    return outcome
