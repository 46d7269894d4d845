"""Notification delivery jobs: email and webhooks."""

from __future__ import annotations

import uuid
from typing import Any

from arq import Retry

from service.mail.models import DeliveryStatus
from service.notifications.service import Outgoing, claim_for_sending, record_send, send
from service.notifications.webhooks import delivery as webhook_delivery
from service.observability import JOB_OUTCOMES
from workers.context import now, outbox_job, transaction


@outbox_job
async def deliver_email(ctx: dict[str, Any], message_id: str) -> str:
    """Send one queued email; retried with backoff while the SMTP server fails."""
    settings, message = ctx["settings"], uuid.UUID(message_id)
    # The claim is committed before the send, the outcome after it: a crash or a cut
    # database connection during the send cannot make two sends of one message at once.
    async with transaction(ctx) as session:
        claimed = await claim_for_sending(session, settings, message, now(ctx))
    if isinstance(claimed, Outgoing):
        error = await send(settings, claimed)
        async with transaction(ctx) as session:
            status: DeliveryStatus | None = await record_send(session, message, error, now(ctx))
    else:
        status = claimed
    outcome = status.value if status else "skipped"
    JOB_OUTCOMES.labels("deliver_email", outcome).inc()
    if status is DeliveryStatus.pending:
        raise Retry(defer=min(600, 5 * 2 ** ctx.get("job_try", 1)))
    return outcome


@outbox_job
async def deliver_webhook(ctx: dict[str, Any], delivery_id: str) -> str:
    """POST one event to one webhook endpoint; retried with exponential backoff and full
    jitter (the wait is kept on the delivery row, so a job handed over again early waits
    for it too)."""
    async with transaction(ctx) as session:
        outcome = await webhook_delivery.deliver(
            session, ctx["settings"], uuid.UUID(delivery_id), now(ctx)
        )
    JOB_OUTCOMES.labels("deliver_webhook", outcome.label).inc()
    if outcome.retry_in is not None:
        raise Retry(defer=outcome.retry_in)
    return outcome.label
