"""Factories for test data, written through the same services the API uses."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth import service as auth
from service.auth.actor import Actor
from service.auth.models import Role, RoleGrant, User
from service.auth.schemas import RegisterRequest
from service.auth.tokens import issue_access_token
from service.catalog.models import Reason
from service.city.models import Department, DepartmentKind
from service.config import Settings, get_settings
from service.reports import filing, moderation
from service.reports.models import Report
from service.reports.schemas import AcceptRequest, ReportCreate

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


async def make_user(
    session: AsyncSession,
    settings: Settings,
    *,
    email: str | None = None,
    verified: bool = True,
    roles: tuple[tuple[Role, uuid.UUID | None], ...] = (),
    name: str = "Test Person",
) -> User:
    number = next(_counter)
    user = await auth.create_account(
        session,
        settings,
        RegisterRequest(
            email=email or f"person{number}-{uuid.uuid4().hex[:6]}@example.org",
            password=PASSWORD,
            display_name=name,
        ),
        verified_at=datetime.now(UTC) if verified else None,
    )
    for role, department_id in roles:
        session.add(RoleGrant(user_id=user.id, role=role, department_id=department_id))
    await session.flush()
    return user


async def make_department(
    session: AsyncSession,
    *,
    code: str | None = None,
    parent_id: uuid.UUID | None = None,
    kind: DepartmentKind = DepartmentKind.department,
) -> Department:
    number = next(_counter)
    department = Department(
        code=code or f"dept-{number}-{uuid.uuid4().hex[:4]}",
        name=f"Department {number}",
        kind=kind,
        parent_id=parent_id,
        email=f"dept{number}@city.example",
    )
    session.add(department)
    await session.flush()
    return department


def bearer(settings: Settings, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_access_token(settings, user.id, datetime.now(UTC))}"}


@asynccontextmanager
async def client_from(app: FastAPI, address: str) -> AsyncIterator[AsyncClient]:
    """A client whose requests come from the client address ``address``."""
    transport = ASGITransport(app=app, raise_app_exceptions=False, client=(address, 40000))
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def actor_of(user: User, *grants: tuple[Role, uuid.UUID | None]) -> Actor:
    return Actor.for_user(user, grants)


KESKLINN = (58.3795, 26.7230)  # lat, lon inside the demo Kesklinn
ANNELINN = (58.3730, 26.7700)


async def reason_by_code(session: AsyncSession, code: str) -> Reason:
    reason = (await session.execute(select(Reason).where(col(Reason.code) == code))).scalar_one()
    return reason


async def file_report(
    session: AsyncSession,
    reporter: User,
    *,
    reason_code: str = "pothole",
    point: tuple[float, float] = KESKLINN,
    attributes: dict[str, Any] | None = None,
    description: str = "A deep pothole by the crossing.",
    anonymous_public: bool = False,
    when: datetime | None = None,
) -> Report:
    """A report filed through the service, as the API would."""
    reason = await reason_by_code(session, reason_code)
    if attributes is None:
        attributes = {"size": "medium"} if reason_code == "pothole" else {}
    filed = await filing.file_report(
        session,
        actor_of(reporter),
        ReportCreate(
            reason_id=reason.id,
            lat=point[0],
            lon=point[1],
            description=description,
            attributes=attributes,
            anonymous_public=anonymous_public,
        ),
        when or datetime.now(UTC),
        settings=get_settings().model_copy(update={"report_quota_per_day": 1000}),
    )
    return filed.report


async def accept_report(session: AsyncSession, moderator: User, report: Report) -> Report:
    return await moderation.accept(
        session,
        actor_of(moderator, (Role.moderator, None)),
        report.id,
        AcceptRequest(),
        datetime.now(UTC),
        version=None,  # arranging data: whatever the report's version now is
    )
