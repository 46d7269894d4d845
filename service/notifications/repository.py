"""SQL of notifications: events, the delivery log, the inbox and preferences."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Select, func, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.db import table_of
from service.mail.models import DeliveryStatus
from service.notifications.models import (
    Channel,
    NotificationDelivery,
    NotificationEvent,
    NotificationPreference,
    WebhookEndpoint,
)
from service.pagination import keyset_page


async def record_events(session: AsyncSession, rows: list[dict[str, Any]]) -> dict[str, uuid.UUID]:
    """The ids of the events by ``event_key``, inserting those that do not exist yet, in one
    statement (constant text, arrays as parameters). A concurrent transaction inserting
    the same key makes this wait for it, then find its row: the unique index decides."""
    if not rows:
        return {}
    inserted = await session.execute(
        text(
            "INSERT INTO notification_event "
            "(id, event_key, event_type, template, values, report_id, legal, created_at) "
            "SELECT gen_random_uuid(), e.key, e.type, e.template, CAST(e.values AS jsonb), "
            "e.report_id, e.legal, e.created_at "
            "FROM unnest(CAST(:keys AS text[]), CAST(:types AS text[]), "
            "CAST(:templates AS text[]), CAST(:values AS text[]), CAST(:reports AS uuid[]), "
            "CAST(:legals AS boolean[]), CAST(:created AS timestamptz[])) "
            "AS e (key, type, template, values, report_id, legal, created_at) "
            "ON CONFLICT (event_key) DO NOTHING RETURNING event_key, id"
        ),
        {
            "keys": [row["event_key"] for row in rows],
            "types": [row["event_type"] for row in rows],
            "templates": [row["template"] for row in rows],
            "values": [json.dumps(row["values"]) for row in rows],
            "reports": [row["report_id"] for row in rows],
            "legals": [row["legal"] for row in rows],
            "created": [row["created_at"] for row in rows],
        },
    )
    ids = {key: uuid.UUID(str(id_)) for key, id_ in inserted.all()}
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
    """Insert the delivery rows that do not exist yet, in one statement; returns the ones
    inserted."""
    if not rows:
        return []
    result = await session.execute(
        text(
            "INSERT INTO notification_delivery (id, event_id, channel, user_id, webhook_id, "
            "template, status, attempts, last_error, created_at, updated_at, sent_at) "
            "SELECT d.id, d.event_id, d.channel, d.user_id, d.webhook_id, d.template, "
            "d.status, 0, d.last_error, d.created_at, d.created_at, d.sent_at "
            "FROM unnest(CAST(:ids AS uuid[]), CAST(:events AS uuid[]), "
            "CAST(:channels AS text[]), CAST(:users AS uuid[]), CAST(:webhooks AS uuid[]), "
            "CAST(:templates AS text[]), CAST(:statuses AS text[]), CAST(:errors AS text[]), "
            "CAST(:created AS timestamptz[]), CAST(:sent AS timestamptz[])) "
            "AS d (id, event_id, channel, user_id, webhook_id, template, status, last_error, "
            "created_at, sent_at) "
            "ON CONFLICT ON CONSTRAINT uq_notification_delivery_recipient_channel DO NOTHING "
            "RETURNING id, event_id, channel, user_id, status"
        ),
        {
            "ids": [row["id"] for row in rows],
            "events": [row["event_id"] for row in rows],
            "channels": [str(row["channel"]) for row in rows],
            "users": [row["user_id"] for row in rows],
            "webhooks": [row["webhook_id"] for row in rows],
            "templates": [row.get("template") for row in rows],
            "statuses": [str(row["status"]) for row in rows],
            "errors": [row["last_error"] for row in rows],
            "created": [row["created_at"] for row in rows],
            "sent": [row["sent_at"] for row in rows],
        },
    )
    return result.all()


async def link_emails(session: AsyncSession, delivery_ids: list[uuid.UUID]) -> None:
    """Link email deliveries to their messages, which carry the delivery's id."""
    if delivery_ids:
        await session.execute(
            text("UPDATE notification_delivery SET email_message_id = id WHERE id = ANY(:ids)"),
            {"ids": delivery_ids},
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
    # An inbox turned off for the event type still writes its row, skipped: not shown.
    return (
        col(NotificationDelivery.user_id) == user_id,
        col(NotificationDelivery.channel) == Channel.inbox,
        col(NotificationDelivery.status) != DeliveryStatus.skipped,
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
