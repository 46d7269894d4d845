"""A person's part of the reports: what they filed, supported, followed and wrote.

Erasure keeps the reports (the city's statistics count them) but takes the person out of
them: their name and address redacted from the report's own text, their consent to publish
that text in the open data withdrawn (it may hold a phone or flat number they typed), the
photos they uploaded deleted (the rows at once, the files by the worker's media sweep
within the hour: deleting files before the transaction commits could lose them to a
rollback), the contact details an Open311 client sent removed, their own words in the
timeline redacted, their subscriptions (which only serve to notify them) deleted, their
stored answers to Idempotency-Keys deleted. Supports stay, held by the anonymised account,
so "me too" counts stay true.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.idempotency import IdempotencyRecord
from service.privacy.registry import Erasure, Export, Owned, Person, PersonalData, redact, rows
from service.reports.models import (
    EVENT_SEQ,
    Report,
    ReportEvent,
    ReportPhoto,
    ReportSubscription,
    ReportSupport,
)

# Timeline events carrying contact data of the person who filed (Open311 ``first_name``…).
CONTACT_EVENTS = ("contact_details",)
# Event fields that hold a person's own words.
TEXT_FIELDS = ("answer", "text", "comment", "note")


async def _own_events(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    """What the person did on any report, and the contact details sent with their own."""
    return rows(
        await session.execute(
            select(
                col(ReportEvent.report_id),
                col(ReportEvent.at),
                col(ReportEvent.type),
                col(ReportEvent.data),
            )
            .join(Report, col(Report.id) == ReportEvent.report_id)
            .where(
                (col(ReportEvent.actor_id) == person.id)
                | (
                    (col(Report.reporter_id) == person.id)
                    & col(ReportEvent.type).in_(CONTACT_EVENTS)
                )
            )
            .order_by(EVENT_SEQ)
        )
    )


EXPORT: dict[str, Owned | Export] = {
    "filed": Owned(
        Report,
        owner="reporter_id",
        columns=(
            "id",
            "tracking_code",
            "state",
            "created_at",
            "closed_at",
            "address_text",
            "description",
            "attributes",
            "anonymous_public",
            "text_in_open_data",
            func.ST_Y(col(Report.location)).label("lat"),
            func.ST_X(col(Report.location)).label("lon"),
        ),
        order_by="created_at",
    ),
    "own_events": _own_events,
    "photos": Owned(
        ReportPhoto, owner="uploader_id", columns=("id", "report_id", "content_type", "created_at")
    ),
    "supported": Owned(ReportSupport, owner="user_id", columns=("report_id", "created_at")),
    "subscriptions": Owned(
        ReportSubscription, owner="user_id", columns=("report_id", "created_at")
    ),
}


def _redacted_data(data: dict[str, Any], person: Person) -> dict[str, Any]:
    return {
        key: redact(value, person) if key in TEXT_FIELDS and isinstance(value, str) else value
        for key, value in data.items()
    }


async def remove_contact_details(
    session: AsyncSession, report_ids: list[Any], erasure: Erasure
) -> int:
    """Empty the contact-detail events of ``report_ids`` and mark the reports as done."""
    if not report_ids:
        return 0
    result = await session.execute(
        update(ReportEvent)
        .where(col(ReportEvent.report_id).in_(report_ids))
        .where(col(ReportEvent.type).in_(CONTACT_EVENTS))
        .values(data={"removed": True})
    )
    await session.execute(
        update(Report).where(col(Report.id).in_(report_ids)).values(contact_removed_at=erasure.now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def erase(session: AsyncSession, person: Person, erasure: Erasure) -> int:
    changed = 0
    filed = list(
        await session.execute(
            select(col(Report.id), col(Report.description), col(Report.address_text)).where(
                col(Report.reporter_id) == person.id
            )
        )
    )
    for report_id, description, address_text in filed:
        await session.execute(
            update(Report)
            .where(col(Report.id) == report_id)
            .values(
                description=redact(description, person) or description,
                address_text=redact(address_text, person),
                anonymous_public=True,
                text_in_open_data=False,
            )
        )
        changed += 1
    photos = list(
        await session.execute(
            delete(ReportPhoto)
            .where(col(ReportPhoto.uploader_id) == person.id)
            .returning(col(ReportPhoto.report_id))
        )
    )
    for (report_id,) in photos:
        await session.execute(
            update(Report)
            .where(col(Report.id) == report_id)
            .values(photo_count=func.greatest(col(Report.photo_count) - 1, 0))
        )
    changed += len(photos)
    changed += await remove_contact_details(session, [r[0] for r in filed], erasure)
    own = list(
        await session.execute(
            select(col(ReportEvent.id), col(ReportEvent.data)).where(
                col(ReportEvent.actor_id) == person.id
            )
        )
    )
    for event_id, data in own:
        cleaned = _redacted_data(data, person)
        if cleaned != data:
            await session.execute(
                update(ReportEvent).where(col(ReportEvent.id) == event_id).values(data=cleaned)
            )
            changed += 1
    followed = list(
        await session.execute(
            delete(ReportSubscription)
            .where(col(ReportSubscription.user_id) == person.id)
            .returning(col(ReportSubscription.report_id))
        )
    )
    if followed:
        await session.execute(
            update(Report)
            .where(col(Report.id).in_([r[0] for r in followed]))
            .values(subscribers_count=func.greatest(col(Report.subscribers_count) - 1, 0))
        )
    changed += len(followed)
    stored = await session.execute(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.owner) == f"user:{person.id}")
    )
    return changed + int(getattr(stored, "rowcount", 0) or 0)


PERSONAL_DATA = PersonalData(section="reports", export=EXPORT, erase=erase)
