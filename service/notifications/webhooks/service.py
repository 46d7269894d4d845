"""Managing webhook endpoints (admins): create, change, disable, rotate the secret, delete,
and read their delivery log. Every change is in the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit.service import record as audit
from service.auth.actor import Actor
from service.config import Settings
from service.encryption import encrypt
from service.errors import InvalidInput, NotFound
from service.notifications.events import EVENT_TYPES
from service.notifications.models import (
    Channel,
    NotificationDelivery,
    NotificationEvent,
    WebhookEndpoint,
)
from service.notifications.schemas import WebhookCreate, WebhookUpdate
from service.notifications.webhooks.signing import hint_of, new_secret
from service.notifications.webhooks.targets import RefusedTarget, resolve
from service.pagination import keyset_page

# DNS lookups of a URL being saved: an admin's request should not hang on a slow resolver.
RESOLVE_TIMEOUT_SECONDS = 5.0


async def _check_url(settings: Settings, url: str) -> None:
    """422 unless ``url`` may receive webhooks now (checked again at every delivery)."""
    try:
        await resolve(
            url, allow_private=settings.webhook_allow_private, time_limit=RESOLVE_TIMEOUT_SECONDS
        )
    except RefusedTarget as exc:
        raise InvalidInput(
            f"This URL cannot receive webhooks: {exc}.", field="url", reason="refused_target"
        ) from exc


def _check_event_types(event_types: list[str]) -> list[str]:
    unknown = sorted(set(event_types) - EVENT_TYPES.keys())
    if unknown:
        raise InvalidInput(
            f"Unknown event types: {', '.join(unknown)}.",
            field="event_types",
            known=sorted(EVENT_TYPES),
        )
    return list(dict.fromkeys(event_types))


async def get_webhook(session: AsyncSession, webhook_id: uuid.UUID) -> WebhookEndpoint:
    webhook = await session.get(WebhookEndpoint, webhook_id)
    if webhook is None:
        raise NotFound("No such webhook.")
    return webhook


async def list_webhooks(session: AsyncSession) -> list[WebhookEndpoint]:
    rows = await session.execute(select(WebhookEndpoint).order_by(col(WebhookEndpoint.created_at)))
    return list(rows.scalars())


async def create_webhook(
    session: AsyncSession, actor: Actor, settings: Settings, body: WebhookCreate, now: datetime
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (the only time the secret is returned)."""
    event_types = _check_event_types(body.event_types)
    await _check_url(settings, body.url)
    secret = new_secret()
    webhook = WebhookEndpoint(
        url=body.url,
        description=body.description,
        event_types=event_types,
        secret_encrypted=encrypt(settings, secret),
        secret_hint=hint_of(secret),
        active=body.active,
        disabled_at=None if body.active else now,
        disabled_reason=None if body.active else "created disabled",
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(webhook)
    await session.flush()
    await _audit(session, actor, "webhook.created", webhook, url=webhook.url, events=event_types)
    return webhook, secret


async def update_webhook(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
    now: datetime,
) -> WebhookEndpoint:
    webhook = await get_webhook(session, webhook_id)
    changes: dict[str, Any] = {}
    if body.url is not None and body.url != webhook.url:
        await _check_url(settings, body.url)
        webhook.url = changes["url"] = body.url
    if body.event_types is not None:
        webhook.event_types = changes["event_types"] = _check_event_types(body.event_types)
    if body.description is not None:
        webhook.description = body.description
    if body.active is not None and body.active != webhook.active:
        changes["active"] = body.active
        webhook.active = body.active
        # Turned on again: a fresh start, the failures that disabled it are forgotten.
        webhook.consecutive_failures = 0
        webhook.disabled_at = None if body.active else now
        webhook.disabled_reason = None if body.active else "disabled by an admin"
    webhook.updated_at = now
    await _audit(session, actor, "webhook.updated", webhook, **changes)
    return webhook


async def rotate_secret(
    session: AsyncSession, actor: Actor, settings: Settings, webhook_id: uuid.UUID, now: datetime
) -> tuple[WebhookEndpoint, str]:
    """A new signing secret; deliveries from now on are signed with it."""
    webhook = await get_webhook(session, webhook_id)
    secret = new_secret()
    webhook.secret_encrypted = encrypt(settings, secret)
    webhook.secret_hint = hint_of(secret)
    webhook.updated_at = now
    await _audit(session, actor, "webhook.secret_rotated", webhook)
    return webhook, secret


async def delete_webhook(session: AsyncSession, actor: Actor, webhook_id: uuid.UUID) -> None:
    """Delete an endpoint; its delivery log goes with it, and pending deliveries stop."""
    webhook = await get_webhook(session, webhook_id)
    await _audit(session, actor, "webhook.deleted", webhook, url=webhook.url)
    await session.delete(webhook)


async def list_deliveries(
    session: AsyncSession, webhook_id: uuid.UUID, *, cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """A page of an endpoint's delivery log, newest first: rows of (delivery, event type)."""
    await get_webhook(session, webhook_id)
    query = cast(
        Select[Any],
        select(NotificationDelivery, col(NotificationEvent.event_type))
        .join(NotificationEvent, col(NotificationEvent.id) == NotificationDelivery.event_id)
        .where(
            col(NotificationDelivery.webhook_id) == webhook_id,
            col(NotificationDelivery.channel) == Channel.webhook,
        ),
    )
    return await keyset_page(
        session,
        query,
        col(NotificationDelivery.created_at),
        col(NotificationDelivery.id),
        cursor=cursor,
        limit=limit,
        ascending=False,
        key=lambda row: (row.NotificationDelivery.created_at, row.NotificationDelivery.id),
    )


async def _audit(
    session: AsyncSession, actor: Actor, action: str, webhook: WebhookEndpoint, **details: Any
) -> None:
    await audit(
        session,
        action,
        actor_user_id=actor.user_id,
        ip=actor.ip,
        subject_type="webhook",
        subject_id=webhook.id,
        **details,
    )
