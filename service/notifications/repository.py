"""SQL of notifications: events, the delivery log, the inbox and preferences."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Select, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.db import table_of
from service.notifications.models import (
    Channel,
    DeliveryStatus,
    NotificationDelivery,
    NotificationEvent,
    NotificationPreference,
    WebhookEndpoint,
)
from service.pagination import keyset_page


async def record_event(session: AsyncSession, values: dict[str, Any]) -> uuid.UUID:
    """The id of the event with ``values["event_key"]``, inserting it unless it exists.

    A concurrent transaction inserting the same key makes this wait for it, then find its
    row: the unique index decides, so two callers never both create the event."""
    table = table_of(NotificationEvent)
    inserted = (
        await session.execute(
            insert(table)
            .values(id=uuid.uuid4(), **values)
            .on_conflict_do_nothing(index_elements=["event_key"])
            .returning(table.c.id)
        )
    ).scalar_one_or_none()
    if inserted is not None:
        return uuid.UUID(str(inserted))
    existing = (
        await session.execute(
            select(col(NotificationEvent.id)).where(
                col(NotificationEvent.event_key) == values["event_key"]
            )
        )
    ).scalar_one()
    return uuid.UUID(str(existing))


async def turned_off(
    session: AsyncSession, event_type: str, user_ids: Sequence[uuid.UUID]
) -> set[tuple[uuid.UUID, Channel]]:
    """The (person, channel) pairs among ``user_ids`` whose owner turned ``event_type`` off."""
    if not user_ids:
        return set()
    rows = await session.execute(
        select(col(NotificationPreference.user_id), col(NotificationPreference.channel)).where(
            col(NotificationPreference.user_id).in_(user_ids),
            col(NotificationPreference.event_type) == event_type,
            col(NotificationPreference.enabled).is_(False),
        )
    )
    return {(user_id, Channel(channel)) for user_id, channel in rows.all()}


async def subscribed_webhooks(session: AsyncSession, event_type: str) -> list[uuid.UUID]:
    rows = await session.execute(
        select(col(WebhookEndpoint.id)).where(
            col(WebhookEndpoint.active).is_(True),
            func.array_position(col(WebhookEndpoint.event_types), event_type).is_not(None),
        )
    )
    return list(rows.scalars())


async def insert_deliveries(
    session: AsyncSession, rows: list[dict[str, Any]]
) -> Sequence[Row[Any]]:
    """Insert the delivery rows that do not exist yet; returns the ones inserted."""
    if not rows:
        return []
    table = table_of(NotificationDelivery)
    result = await session.execute(
        insert(table)
        .values(rows)
        .on_conflict_do_nothing(constraint="uq_notification_delivery_recipient_channel")
        .returning(table.c.id, table.c.channel, table.c.user_id, table.c.status)
    )
    return result.all()


async def link_email(
    session: AsyncSession, delivery_id: uuid.UUID, email_message_id: uuid.UUID
) -> None:
    await session.execute(
        update(NotificationDelivery)
        .where(col(NotificationDelivery.id) == delivery_id)
        .values(email_message_id=email_message_id)
    )


async def log_email_outcome(
    session: AsyncSession,
    email_message_id: uuid.UUID,
    *,
    status: DeliveryStatus,
    attempts: int,
    last_error: str | None,
    sent_at: datetime | None,
    now: datetime,
) -> None:
    """Copy what happened to an email message onto the delivery it was sent for."""
    await session.execute(
        update(NotificationDelivery)
        .where(col(NotificationDelivery.email_message_id) == email_message_id)
        .values(
            status=status,
            attempts=attempts,
            last_error=last_error,
            sent_at=sent_at,
            updated_at=now,
        )
    )


# --- the inbox ---------------------------------------------------------------------------


def _inbox(user_id: uuid.UUID) -> Any:
    return (
        col(NotificationDelivery.user_id) == user_id,
        col(NotificationDelivery.channel) == Channel.inbox,
    )


async def inbox_page(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    unread_only: bool,
    cursor: str | None,
    limit: int,
) -> tuple[list[Row[Any]], str | None]:
    """A page of a person's inbox, newest first: rows of (delivery, event)."""
    query = cast(
        Select[Any],
        select(NotificationDelivery, NotificationEvent)
        .join(NotificationEvent, col(NotificationEvent.id) == NotificationDelivery.event_id)
        .where(*_inbox(user_id)),
    )
    if unread_only:
        query = query.where(col(NotificationDelivery.read_at).is_(None))
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


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    count = (
        await session.execute(
            select(func.count()).where(
                *_inbox(user_id), col(NotificationDelivery.read_at).is_(None)
            )
        )
    ).scalar_one()
    return int(count)


async def inbox_entry(
    session: AsyncSession, user_id: uuid.UUID, delivery_id: uuid.UUID
) -> Row[NotificationDelivery, NotificationEvent] | None:
    """One (delivery, event) of this person's inbox; None for anyone else's."""
    row = (
        await session.execute(
            select(NotificationDelivery, NotificationEvent)
            .join(NotificationEvent, col(NotificationEvent.id) == NotificationDelivery.event_id)
            .where(*_inbox(user_id), col(NotificationDelivery.id) == delivery_id)
        )
    ).one_or_none()
    return row


async def mark_all_read(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> int:
    result = await session.execute(
        update(NotificationDelivery)
        .where(*_inbox(user_id), col(NotificationDelivery.read_at).is_(None))
        .values(read_at=now, updated_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- preferences -------------------------------------------------------------------------


async def preferences(session: AsyncSession, user_id: uuid.UUID) -> dict[tuple[str, Channel], bool]:
    rows = await session.execute(
        select(
            col(NotificationPreference.event_type),
            col(NotificationPreference.channel),
            col(NotificationPreference.enabled),
        ).where(col(NotificationPreference.user_id) == user_id)
    )
    return {(event_type, Channel(channel)): enabled for event_type, channel, enabled in rows.all()}


async def save_preference(
    session: AsyncSession,
    user_id: uuid.UUID,
    event_type: str,
    channel: Channel,
    enabled: bool,
    now: datetime,
) -> None:
    table = table_of(NotificationPreference)
    statement = insert(table).values(
        user_id=user_id, event_type=event_type, channel=channel, enabled=enabled, updated_at=now
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "event_type", "channel"],
            set_={"enabled": statement.excluded.enabled, "updated_at": now},
        )
    )
