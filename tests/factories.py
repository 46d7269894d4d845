"""Factories for test data, written through the same services the API uses."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import service as auth
from service.auth.actor import Actor
from service.auth.models import Role, RoleGrant, User
from service.auth.schemas import RegisterRequest
from service.auth.tokens import issue_access_token
from service.city.models import Department, DepartmentKind
from service.config import Settings

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


def actor_of(user: User, *grants: tuple[Role, uuid.UUID | None]) -> Actor:
    return Actor(
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        language=user.language,
        email_verified=user.email_verified_at is not None,
        grants=frozenset(grants),
    )
