"""Arranging feedback tests: the roads service's people and a pothole report at the stage a
test needs, made through the same services the API uses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import Role, User
from service.city.models import Department
from service.config import Settings
from service.feedback import responses
from service.feedback.schemas import ResponseCreate
from service.reports import moderation
from service.reports.models import EVENT_SEQ, Report, ReportEvent, ReportRound
from service.reports.schemas import AcceptRequest
from tests.factories import actor_of, file_report, make_user


async def department_id(session: AsyncSession, code: str) -> uuid.UUID:
    found = await session.scalar(select(Department).where(col(Department.code) == code))
    assert found is not None
    return found.id


@dataclass
class Cast:
    """Who takes part: a reporter, a moderator, staff and a supervisor of the roads service,
    staff of another department, and a resident with no part in the report."""

    reporter: User
    moderator: User
    staff: User
    supervisor: User
    other_staff: User
    stranger: User
    roads: uuid.UUID


async def cast(session: AsyncSession, settings: Settings) -> Cast:
    roads = await department_id(session, "roads")
    greenery = await department_id(session, "greenery")
    return Cast(
        reporter=await make_user(session, settings, name="Mari Reporter"),
        moderator=await make_user(session, settings, roles=((Role.moderator, None),)),
        staff=await make_user(session, settings, roles=((Role.staff, roads),), name="Kati Staff"),
        supervisor=await make_user(
            session, settings, roles=((Role.supervisor, roads),), name="Peeter Head"
        ),
        other_staff=await make_user(session, settings, roles=((Role.staff, greenery),)),
        stranger=await make_user(session, settings),
        roads=roads,
    )


async def accepted(
    session: AsyncSession,
    people: Cast,
    at: datetime,
    *,
    reason_code: str = "pothole",
) -> Report:
    """A report of the roads service, filed an hour before ``at`` and accepted at ``at``."""
    report = await file_report(
        session, people.reporter, reason_code=reason_code, when=at - timedelta(hours=1)
    )
    return await moderation.accept(
        session,
        actor_of(people.moderator, (Role.moderator, None)),
        report.id,
        AcceptRequest(),
        at,
        version=None,
    )


async def answered(
    session: AsyncSession, people: Cast, settings: Settings, at: datetime, **body: object
) -> Report:
    """A report accepted at ``at`` and answered ``fixed`` two hours later."""
    report = await accepted(session, people, at)
    await responses.answer(
        session,
        actor_of(people.staff, (Role.staff, people.roads)),
        report.id,
        ResponseCreate.model_validate({"outcome": "fixed", "text": "Patched.", **body}),
        at + timedelta(hours=2),
        settings,
    )
    return report


async def rounds_of(session: AsyncSession, report_id: uuid.UUID) -> list[ReportRound]:
    rows = await session.execute(
        select(ReportRound)
        .where(col(ReportRound.report_id) == report_id)
        .order_by(col(ReportRound.number))
        .execution_options(populate_existing=True)
    )
    return list(rows.scalars())


async def events_of(session: AsyncSession, report_id: uuid.UUID) -> list[ReportEvent]:
    rows = await session.execute(
        select(ReportEvent).where(col(ReportEvent.report_id) == report_id).order_by(EVENT_SEQ)
    )
    return list(rows.scalars())


async def fresh(session: AsyncSession, report: Report) -> Report:
    """The report as the database holds it now (after requests through the API)."""
    await session.refresh(report)
    return report
