"""SQL of ambassadors, diplomas, coverage and outreach (the programme side is in
``repository.py``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import User
from service.city.models import Building
from service.reports.models import Report
from service.training import repository
from service.training.models import (
    Ambassador,
    Diploma,
    Enrolment,
    EnrolmentStatus,
    MailingListMember,
    Programme,
    ReportConfirmation,
)

# --- ambassadors and diplomas -------------------------------------------------------------


async def ambassadors_of(session: AsyncSession, programme_id: uuid.UUID) -> list[Any]:
    rows: Any = await session.execute(
        select(
            Ambassador,
            Diploma,
            col(User.display_name).label("display_name"),
            col(Building.address).label("address"),
        )
        .join(Diploma, col(Diploma.ambassador_id) == Ambassador.id)
        .join(User, col(User.id) == Ambassador.user_id)
        .join(Building, col(Building.id) == Ambassador.building_id)
        .where(col(Ambassador.programme_id) == programme_id)
        .order_by(col(Ambassador.awarded_at), col(User.display_name))
    )
    return list(rows.all())


async def awarded_user_ids(session: AsyncSession, programme_id: uuid.UUID) -> set[uuid.UUID]:
    rows = await session.execute(
        select(col(Ambassador.user_id)).where(col(Ambassador.programme_id) == programme_id)
    )
    return set(rows.scalars())


async def ambassador(
    session: AsyncSession, ambassador_id: uuid.UUID, *, lock: bool = False
) -> Ambassador | None:
    statement = select(Ambassador).where(col(Ambassador.id) == ambassador_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def active_ambassadorship_elsewhere(session: AsyncSession, ambassador: Ambassador) -> bool:
    """Whether the person is still an active ambassador of the same building through
    another programme (then the building's role grant stays)."""
    found = await session.execute(
        select(col(Ambassador.id)).where(
            col(Ambassador.user_id) == ambassador.user_id,
            col(Ambassador.building_id) == ambassador.building_id,
            col(Ambassador.id) != ambassador.id,
            col(Ambassador.revoked_at).is_(None),
        )
    )
    return found.first() is not None


async def ambassadorships_of_user(session: AsyncSession, user_id: uuid.UUID) -> list[Any]:
    rows = await session.execute(
        select(Ambassador, Diploma)
        .join(Diploma, col(Diploma.ambassador_id) == Ambassador.id)
        .where(col(Ambassador.user_id) == user_id)
    )
    return list(rows.all())


async def diploma_of(session: AsyncSession, ambassador_id: uuid.UUID) -> Diploma | None:
    row = await session.execute(
        select(Diploma).where(col(Diploma.ambassador_id) == ambassador_id).with_for_update()
    )
    return row.scalar_one_or_none()


async def diploma_by_code(session: AsyncSession, code: str) -> Any:
    row = await session.execute(
        select(Diploma, Ambassador)
        .join(Ambassador, col(Ambassador.id) == Diploma.ambassador_id)
        .where(col(Diploma.code) == code)
    )
    return row.one_or_none()


async def diploma_for_update(session: AsyncSession, diploma_id: uuid.UUID) -> Diploma | None:
    """The diploma, unless another worker holds it (then None: that worker makes it)."""
    row = await session.execute(
        select(Diploma).where(col(Diploma.id) == diploma_id).with_for_update(skip_locked=True)
    )
    return row.scalar_one_or_none()


async def pending_diploma_ids(
    session: AsyncSession, before: datetime, limit: int
) -> list[uuid.UUID]:
    rows = await session.execute(
        select(col(Diploma.id))
        .where(
            col(Diploma.pdf_path).is_(None),
            col(Diploma.revoked_at).is_(None),
            col(Diploma.created_at) < before,
        )
        .order_by(col(Diploma.created_at))
        .limit(limit)
    )
    return list(rows.scalars())


async def public_ambassadors_of_building(
    session: AsyncSession, building_id: uuid.UUID
) -> list[Any]:
    rows: Any = await session.execute(
        select(
            col(User.display_name).label("display_name"),
            col(Ambassador.awarded_at).label("since"),
            col(Programme.title).label("programme_title"),
        )
        .join(User, col(User.id) == Ambassador.user_id)
        .join(Programme, col(Programme.id) == Ambassador.programme_id)
        .where(
            col(Ambassador.building_id) == building_id,
            col(Ambassador.revoked_at).is_(None),
            col(Ambassador.public),
        )
        .order_by(col(Ambassador.awarded_at))
    )
    return list(rows.all())


def _active_ambassador_in(building: Any) -> Any:
    return exists().where(
        col(Ambassador.building_id) == building, col(Ambassador.revoked_at).is_(None)
    )


async def coverage_rows(session: AsyncSession, area: Any) -> list[Any]:
    """The buildings of ``area`` (a condition on ``Building``) with their point and whether
    an active ambassador serves each."""
    rows = await session.execute(
        select(
            col(Building.id),
            col(Building.address),
            func.ST_Y(Building.point).label("lat"),
            func.ST_X(Building.point).label("lon"),
            _active_ambassador_in(Building.id).label("covered"),
        )
        .where(area)
        .order_by(col(Building.address))
    )
    return list(rows.all())


async def programme_engagement(session: AsyncSession, programme_id: uuid.UUID) -> tuple[int, int]:
    """(reports filed for neighbours, reports confirmed) by the programme's ambassadors."""
    awarded = select(col(Ambassador.user_id)).where(col(Ambassador.programme_id) == programme_id)
    helped = await session.scalar(
        select(func.count()).select_from(Report).where(col(Report.helped_by_id).in_(awarded))
    )
    confirmed = await session.scalar(
        select(func.count(func.distinct(ReportConfirmation.report_id))).where(
            col(ReportConfirmation.user_id).in_(awarded)
        )
    )
    return int(helped or 0), int(confirmed or 0)


# --- outreach -----------------------------------------------------------------------------


async def mailing_list_member(
    session: AsyncSession, user_id: uuid.UUID
) -> MailingListMember | None:
    return await session.get(MailingListMember, user_id)


async def mailing_list_of(session: AsyncSession, programme: Programme) -> list[User]:
    """Residents on the mailing list whose building is in the programme's pilot area."""
    rows = await session.execute(
        select(User)
        .join(MailingListMember, col(MailingListMember.user_id) == User.id)
        .join(Building, col(Building.id) == MailingListMember.building_id)
        .where(
            repository.pilot_condition(programme),
            col(User.disabled_at).is_(None),
            col(User.email_verified_at).is_not(None),
        )
        .order_by(col(User.id))
    )
    return list(rows.scalars())


async def participants_to_tell(session: AsyncSession, programme_id: uuid.UUID) -> list[User]:
    """People enrolled or waiting for a place."""
    rows = await session.execute(
        select(User)
        .join(Enrolment, col(Enrolment.user_id) == User.id)
        .where(
            col(Enrolment.programme_id) == programme_id,
            col(Enrolment.status).in_([EnrolmentStatus.enrolled, EnrolmentStatus.waitlisted]),
            col(User.disabled_at).is_(None),
        )
        .order_by(col(User.id))
    )
    return list(rows.scalars())
