"""Arranging department work: accepted reports at a given time, department ids and people
with department roles."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import Role, User
from service.city.models import Department
from service.config import Settings
from service.reports import moderation
from service.reports.models import Report
from service.reports.schemas import AcceptRequest
from tests.factories import KESKLINN, actor_of, file_report, make_user


async def department_id(session: AsyncSession, code: str) -> uuid.UUID:
    found = await session.scalar(select(col(Department.id)).where(col(Department.code) == code))
    assert found is not None
    return found


async def person(
    session: AsyncSession, settings: Settings, role: Role, department: str | None = None
) -> User:
    scope = await department_id(session, department) if department else None
    return await make_user(session, settings, roles=((role, scope),), name=f"{role} {department}")


async def accepted_report(
    session: AsyncSession,
    reporter: User,
    moderator: User,
    *,
    when: datetime | None = None,
    reason_code: str = "pothole",
    point: tuple[float, float] = KESKLINN,
    description: str = "A deep pothole by the crossing.",
    **changes: Any,
) -> Report:
    """A report filed and accepted at ``when`` (now by default); ``changes`` are set on the
    row afterwards (arranging data, as a worker or an earlier action would have left it)."""
    when = when or datetime.now(UTC)
    filed = await file_report(
        session, reporter, reason_code=reason_code, point=point, description=description, when=when
    )
    report = await moderation.accept(
        session,
        actor_of(moderator, (Role.moderator, None)),
        filed.id,
        AcceptRequest(),
        when,
        version=None,
    )
    for name, value in changes.items():
        setattr(report, name, value)
    await session.flush()
    return report
