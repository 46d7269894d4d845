"""A person's notifications: the emails sent to them, their in-app inbox and their
preferences. Erasure deletes all of it: they only served to reach the person (the event
rows stay, they describe what happened to a report, not to whom it was told)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.mail.models import EmailMessage
from service.notifications.models import (
    Channel,
    NotificationDelivery,
    NotificationEvent,
    NotificationPreference,
)
from service.privacy.registry import Erasure, Export, Owned, Person, PersonalData, rows


def _emails_of(person: Person) -> Any:
    return or_(
        col(EmailMessage.user_id) == person.id,
        func.lower(col(EmailMessage.recipient)) == person.email.lower(),
    )


async def _emails(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    return rows(
        await session.execute(
            select(
                col(EmailMessage.recipient),
                col(EmailMessage.template),
                col(EmailMessage.subject),
                col(EmailMessage.status),
                col(EmailMessage.created_at),
                col(EmailMessage.sent_at),
            )
            .where(_emails_of(person))
            .order_by(col(EmailMessage.created_at))
        )
    )


async def _inbox(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    return rows(
        await session.execute(
            select(
                col(NotificationEvent.event_type),
                col(NotificationEvent.values),
                col(NotificationEvent.report_id),
                col(NotificationDelivery.created_at),
                col(NotificationDelivery.read_at),
            )
            .join(NotificationEvent, col(NotificationEvent.id) == NotificationDelivery.event_id)
            .where(col(NotificationDelivery.user_id) == person.id)
            .where(col(NotificationDelivery.channel) == Channel.inbox)
            .order_by(col(NotificationDelivery.created_at))
        )
    )


EXPORT: dict[str, Owned | Export] = {
    "emails": _emails,
    "inbox": _inbox,
    "preferences": Owned(
        NotificationPreference, owner="user_id", columns=("event_type", "channel", "enabled")
    ),
}


async def erase(session: AsyncSession, person: Person, erasure: Erasure) -> int:
    changed = 0
    for statement in (
        delete(NotificationDelivery).where(col(NotificationDelivery.user_id) == person.id),
        delete(EmailMessage).where(_emails_of(person)),
        delete(NotificationPreference).where(col(NotificationPreference.user_id) == person.id),
    ):
        result = await session.execute(statement)
        changed += int(getattr(result, "rowcount", 0) or 0)
    return changed


PERSONAL_DATA = PersonalData(section="notifications", export=EXPORT, erase=erase)
