"""The in-app inbox: a person's ``inbox`` deliveries, rendered in their language when read.

Only the person it was delivered to can see or mark a notification; anyone else is told
it does not exist.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.errors import NotFound
from service.languages import Language
from service.mail.templates import render_without_greeting
from service.notifications import repository
from service.notifications.models import NotificationDelivery, NotificationEvent
from service.notifications.schemas import NotificationPage, NotificationPublic


def _rendered(
    event: NotificationEvent, language: Language, template: str | None = None
) -> tuple[str, str]:
    try:
        return render_without_greeting(template or event.template, language, **event.values)
    except (KeyError, IndexError, ValueError):
        # A template renamed or changed since the event: still show that something happened.
        return event.event_type.replace("_", " ").capitalize(), ""


def _entry(
    delivery: NotificationDelivery, event: NotificationEvent, actor: Actor
) -> NotificationPublic:
    subject, body = _rendered(event, actor.language, delivery.template)
    return NotificationPublic(
        id=delivery.id,
        event_type=event.event_type,
        report_id=event.report_id,
        legal=event.legal,
        subject=subject,
        body=body,
        created_at=delivery.created_at,
        read_at=delivery.read_at,
    )


async def list_notifications(
    session: AsyncSession, actor: Actor, *, unread_only: bool, cursor: str | None, limit: int
) -> NotificationPage:
    """A page of the actor's inbox, newest first, and how many are unread in all."""
    rows, next_cursor = await repository.inbox_page(
        session, actor.user_id, unread_only=unread_only, cursor=cursor, limit=limit
    )
    return NotificationPage(
        items=[_entry(row.NotificationDelivery, row.NotificationEvent, actor) for row in rows],
        next_cursor=next_cursor,
        unread_count=await repository.unread_count(session, actor.user_id),
    )


async def mark_read(
    session: AsyncSession, actor: Actor, notification_id: uuid.UUID, now: datetime
) -> NotificationPublic:
    """Mark one of the actor's notifications read (again: it keeps the first time)."""
    row = await repository.inbox_entry(session, actor.user_id, notification_id)
    if row is None:
        raise NotFound("No such notification.")
    delivery: NotificationDelivery = row.NotificationDelivery
    if delivery.read_at is None:
        delivery.read_at = now
        delivery.updated_at = now
    return _entry(delivery, row.NotificationEvent, actor)


async def mark_all_read(session: AsyncSession, actor: Actor, now: datetime) -> tuple[int, int]:
    """Mark the whole inbox read: (how many this marked, how many are unread now)."""
    marked = await repository.mark_all_read(session, actor.user_id, now)
    return marked, await repository.unread_count(session, actor.user_id)
