"""Delivering one event to one webhook endpoint (the ``deliver_webhook`` job).

One attempt: check and resolve the URL (``targets``), POST the signed JSON body to the
resolved address with a short timeout, without following redirects, and record the outcome
on the delivery row (attempts, last error) and on the endpoint (consecutive failures). A 2xx
answer is success; anything else (another status, a timeout, a refused or unresolvable
host) is a failure, retried after an exponential backoff with full jitter until
``MEIELINN_WEBHOOK_MAX_ATTEMPTS``. After ``MEIELINN_WEBHOOK_DISABLE_AFTER_FAILURES``
failures in a row, whichever deliveries they were, the endpoint is disabled; its pending
deliveries are then skipped.

The delivery row is locked for the attempt, so two copies of the job never post at once,
and a row that is no longer pending is left alone: a duplicate job sends nothing.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service import __version__
from service.config import Settings
from service.encryption import UndecryptableSecret, decrypt
from service.mail.models import DeliveryStatus
from service.notifications.models import NotificationDelivery, NotificationEvent, WebhookEndpoint
from service.notifications.webhooks.signing import SIGNATURE_HEADER, signature_header
from service.notifications.webhooks.targets import RefusedTarget, Target, resolve

DISABLED = "the webhook is disabled"


@dataclass(frozen=True)
class Outcome:
    """What an attempt came to; ``retry_in`` seconds when the job should run again."""

    status: DeliveryStatus | None
    retry_in: float | None = None

    @property
    def label(self) -> str:
        return self.status.value if self.status else "nothing-to-do"


def body_of(event: NotificationEvent) -> bytes:
    """The JSON body for ``event``: the same bytes on every attempt."""
    payload = {
        "id": str(event.id),
        "type": event.event_type,
        "created_at": event.created_at.isoformat(),
        "report_id": str(event.report_id) if event.report_id else None,
        "legal": event.legal,
        "values": event.values,
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def backoff(settings: Settings, attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: full jitter, a random
    time up to base × 2^(attempts-1), capped (spreads retries of many deliveries apart)."""
    ceiling = min(
        settings.webhook_retry_max_seconds,
        settings.webhook_retry_base_seconds * 2 ** max(0, attempts - 1),
    )
    return random.uniform(0, ceiling)  # noqa: S311  (spreading load, not a secret)


async def post(target: Target, body: bytes, headers: dict[str, str], time_limit: float) -> int:
    """POST ``body`` to the checked address of ``target``; returns the status code.

    The connection goes to ``target.address`` (no second DNS lookup), with the original
    host in ``Host`` and as the TLS server name, so certificates are checked against it.
    Proxies from the environment are ignored, redirects not followed, the answer not read."""
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    async with httpx.AsyncClient(
        timeout=time_limit, follow_redirects=False, trust_env=False
    ) as client:
        request = client.build_request(
            "POST",
            target.pinned_url,
            content=body,
            headers={**headers, "Host": target.host_header},
            extensions=extensions,
        )
        # httpx's timeout bounds each read; this bounds the whole exchange.
        async with asyncio.timeout(time_limit):
            response = await client.send(request, stream=True)
            await response.aclose()
    return response.status_code


async def deliver(
    session: AsyncSession, settings: Settings, delivery_id: uuid.UUID, now: datetime
) -> Outcome:
    """Make one attempt at a webhook delivery, unless it is done or not yet due."""
    outcome = await _deliver(session, settings, delivery_id, now)
    await session.flush()
    return outcome


async def _deliver(
    session: AsyncSession, settings: Settings, delivery_id: uuid.UUID, now: datetime
) -> Outcome:
    row = (
        await session.execute(
            select(NotificationDelivery, NotificationEvent, WebhookEndpoint)
            .join(NotificationEvent, col(NotificationEvent.id) == NotificationDelivery.event_id)
            .join(WebhookEndpoint, col(WebhookEndpoint.id) == NotificationDelivery.webhook_id)
            .where(col(NotificationDelivery.id) == delivery_id)
            .with_for_update(of=NotificationDelivery)
        )
    ).one_or_none()
    if row is None:  # the endpoint was deleted, and its deliveries with it
        return Outcome(None)
    delivery, event, webhook = row
    if delivery.status != DeliveryStatus.pending:
        return Outcome(None)
    if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
        # Handed over before its time (the outbox relayed it again): wait for the backoff.
        return Outcome(DeliveryStatus.pending, (delivery.next_attempt_at - now).total_seconds())
    delivery.updated_at = now
    if not webhook.active:
        delivery.status = DeliveryStatus.skipped
        delivery.last_error = DISABLED
        return Outcome(delivery.status)
    delivery.attempts += 1
    error = await _attempt(settings, webhook, event, delivery, now)
    if error is None:
        delivery.status = DeliveryStatus.sent
        delivery.sent_at = now
        delivery.last_error = None
        delivery.next_attempt_at = None
        await _record_success(session, webhook.id, now)
        return Outcome(delivery.status)
    delivery.last_error = error[:500]
    failures = await _record_failure(session, webhook.id, now)
    if failures >= settings.webhook_disable_after_failures:
        await _disable(session, webhook.id, now, failures)
        delivery.status = DeliveryStatus.failed
        return Outcome(delivery.status)
    if delivery.attempts >= settings.webhook_max_attempts:
        delivery.status = DeliveryStatus.failed
        return Outcome(delivery.status)
    wait = backoff(settings, delivery.attempts)
    delivery.next_attempt_at = now + timedelta(seconds=wait)
    return Outcome(DeliveryStatus.pending, wait)


async def _attempt(
    settings: Settings,
    webhook: WebhookEndpoint,
    event: NotificationEvent,
    delivery: NotificationDelivery,
    now: datetime,
) -> str | None:
    """Post once; None on success, else what went wrong."""
    body = body_of(event)
    try:
        secret = decrypt(settings, webhook.secret_encrypted)
    except UndecryptableSecret as exc:
        return f"not signed: {exc}"
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"meielinn-webhooks/{__version__}",
        "Meielinn-Event-Type": event.event_type,
        "Meielinn-Delivery": str(delivery.id),
        "Meielinn-Attempt": str(delivery.attempts),
        SIGNATURE_HEADER: signature_header(secret, int(now.timestamp()), body),
    }
    time_limit = settings.webhook_timeout_seconds
    try:
        # Checked again now: what the host resolves to may have changed since it was saved.
        target = await resolve(
            webhook.url, allow_private=settings.webhook_allow_private, time_limit=time_limit
        )
        status = await post(target, body, headers, time_limit)
    except RefusedTarget as exc:
        return f"refused: {exc}"
    except (httpx.HTTPError, OSError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if 200 <= status < 300:
        return None
    return f"HTTP {status}"


async def _record_success(session: AsyncSession, webhook_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(WebhookEndpoint)
        .where(col(WebhookEndpoint.id) == webhook_id)
        .values(consecutive_failures=0, last_success_at=now)
    )


async def _record_failure(session: AsyncSession, webhook_id: uuid.UUID, now: datetime) -> int:
    """Count a failure on the endpoint (atomically: deliveries fail in parallel)."""
    failures = (
        await session.execute(
            update(WebhookEndpoint)
            .where(col(WebhookEndpoint.id) == webhook_id)
            .values(
                consecutive_failures=col(WebhookEndpoint.consecutive_failures) + 1,
                last_failure_at=now,
            )
            .returning(col(WebhookEndpoint.consecutive_failures))
        )
    ).scalar_one()
    return int(failures)


async def _disable(
    session: AsyncSession, webhook_id: uuid.UUID, now: datetime, failures: int
) -> None:
    await session.execute(
        update(WebhookEndpoint)
        .where(col(WebhookEndpoint.id) == webhook_id, col(WebhookEndpoint.active).is_(True))
        .values(
            active=False,
            disabled_at=now,
            disabled_reason=f"disabled after {failures} consecutive failed deliveries",
            updated_at=now,
        )
    )
