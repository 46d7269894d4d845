"""SQL of notifications: events, the delivery log, the inbox and preferences."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Select, func, select, update
from sqlalchemy.dialects import postgresql
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


async def record_events(session: AsyncSession, rows: list[dict[str, Any]]) -> dict[str, uuid.UUID]:
    """:func:`record_event` for many events (distinct keys): their ids by ``event_key``."""
    table = table_of(NotificationEvent)
    ids: dict[str, uuid.UUID] = {}
    for start in range(0, len(rows), 1000):
        chunk = [{"id": uuid.uuid4(), **row} for row in rows[start : start + 1000]]
        inserted = await session.execute(
            insert(table)
            .values(chunk)
            .on_conflict_do_nothing(index_elements=["event_key"])
            .returning(table.c.event_key, table.c.id)
        )
        ids.update({key: uuid.UUID(str(id_)) for key, id_ in inserted.all()})
    missing = [row["event_key"] for row in rows if row["event_key"] not in ids]
    if missing:
        existing = await session.execute(
            select(col(NotificationEvent.event_key), col(NotificationEvent.id)).where(
                col(NotificationEvent.event_key).in_(missing)
            )
        )
        ids.update({key: uuid.UUID(str(id_)) for key, id_ in existing.all()})
    return ids


async def turned_off_many(
    session: AsyncSession, event_types: Iterable[str], user_ids: Sequence[uuid.UUID]
) -> set[tuple[uuid.UUID, str, Channel]]:
    """The (person, event type, channel) among ``user_ids`` and ``event_types`` turned off."""
    if not user_ids:
        return set()
    rows = await session.execute(
        select(
            col(NotificationPreference.user_id),
            col(NotificationPreference.event_type),
            col(NotificationPreference.channel),
        ).where(
            col(NotificationPreference.user_id).in_(user_ids),
            col(NotificationPreference.event_type).in_(list(event_types)),
            col(NotificationPreference.enabled).is_(False),
        )
    )
    return {(user_id, event_type, Channel(channel)) for user_id, event_type, channel in rows.all()}


async def subscribed_webhooks_many(
    session: AsyncSession, event_types: Iterable[str]
) -> dict[str, list[uuid.UUID]]:
    """The active webhooks subscribed to each of ``event_types``."""
    wanted = list(event_types)
    rows = await session.execute(
        select(col(WebhookEndpoint.id), col(WebhookEndpoint.event_types)).where(
            col(WebhookEndpoint.active).is_(True),
            col(WebhookEndpoint.event_types).op("&&")(postgresql.array(wanted)),
        )
    )
    found: dict[str, list[uuid.UUID]] = {}
    for webhook_id, subscribed in rows.all():
        for event_type in wanted:
            if event_type in subscribed:
                found.setdefault(event_type, []).append(webhook_id)
    return found


async def insert_deliveries(
    session: AsyncSession, rows: list[dict[str, Any]]
) -> Sequence[Row[Any]]:
    """Insert the delivery rows that do not exist yet; returns the ones inserted."""
    table = table_of(NotificationDelivery)
    inserted: list[Row[Any]] = []
    for start in range(0, len(rows), 1000):
        result = await session.execute(
            insert(table)
            .values(rows[start : start + 1000])
            .on_conflict_do_nothing(constraint="uq_notification_delivery_recipient_channel")
            .returning(
                table.c.id, table.c.event_id, table.c.channel, table.c.user_id, table.c.status
            )
        )
        inserted += result.all()
    return inserted


async def link_emails(session: AsyncSession, delivery_ids: list[uuid.UUID]) -> None:
    """Link email deliveries to their messages, which carry the delivery's id."""
    if delivery_ids:
        await session.execute(
            update(NotificationDelivery)
            .where(col(NotificationDelivery.id).in_(delivery_ids))
            .values(email_message_id=NotificationDelivery.id)
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
