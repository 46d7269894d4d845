"""Demo accounts, one per role, all with the password :data:`DEMO_PASSWORD`. Refused when
``MEIELINN_ENV=production``: a city's production database must not hold a known password."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth import repository
from service.auth import service as auth
from service.auth.models import Role, RoleGrant, User
from service.auth.schemas import RegisterRequest
from service.city.models import Department
from service.config import Environment, Settings
from service.db import table_of

DEMO_PASSWORD = "meielinn-demo"  # noqa: S105 - documented demo credential, refused in production
DEMO_DOMAIN = "demo.meielinn.ee"
# role → (local part, display name, department code). The ambassador's role is scoped to
# a building: the demo 2019 training programme awards it (service.demo.training).
DEMO_ACCOUNTS: list[tuple[Role | None, str, str, str | None]] = [
    (None, "resident", "Mari Maasikas", None),
    (None, "ambassador", "Jaan Tamm", None),
    (Role.staff, "staff", "Kati Karu", "roads"),
    (Role.supervisor, "supervisor", "Peeter Paju", "roads"),
    (Role.moderator, "moderator", "Liis Lepp", None),
    (Role.coordinator, "coordinator", "Tiit Kask", None),
    # The idea bank: the project office, and an expert of every area's pool.
    (Role.idea_office, "office", "Olev Oja", None),
    (None, "expert", "Eeva Ekspert", None),
    # The living lab's manager: runs pilots with the test panel.
    (Role.lab_manager, "lab", "Laura Labor", None),
    (Role.admin, "admin", "Anne Admin", None),
]


class DemoRefused(Exception):
    """Demo data asked for where it must not be (``MEIELINN_ENV=production``)."""


def refuse_in_production(settings: Settings, what: str) -> None:
    if settings.env is Environment.production:
        raise DemoRefused(f"{what} are refused when MEIELINN_ENV=production")


async def seed_accounts(session: AsyncSession, settings: Settings, now: datetime) -> list[str]:
    """One verified account per role; returns the emails created now."""
    refuse_in_production(settings, "demo accounts")
    rows = await session.execute(select(col(Department.code), col(Department.id)))
    departments: dict[str, uuid.UUID] = dict(rows.all())
    created = []
    for role, local, name, department in DEMO_ACCOUNTS:
        email = f"{local}@{DEMO_DOMAIN}"
        user = await repository.user_by_email(session, email)
        if user is None:
            user = await auth.create_account(
                session,
                settings,
                RegisterRequest(email=email, password=DEMO_PASSWORD, display_name=name),
                verified_at=now,
            )
            await session.flush()
            created.append(email)
        if role is not None:
            await session.execute(
                insert(table_of(RoleGrant))
                .values(
                    id=uuid.uuid4(),
                    user_id=user.id,
                    role=role,
                    department_id=departments[department] if department else None,
                )
                .on_conflict_do_nothing()
            )
    return created


async def demo_residents(session: AsyncSession, count: int, now: datetime) -> list[uuid.UUID]:
    """Residents who file the demo reports. They cannot sign in (no password)."""
    table = table_of(User)
    rows = [
        {
            "id": uuid.uuid4(),
            "email": f"resident{number:02d}@{DEMO_DOMAIN}",
            "display_name": f"{rng_name(number)}",
            "language": "et" if number % 4 else "ru",
            "password_hash": "!",  # matches no password
            "email_verified_at": now,
        }
        for number in range(1, count + 1)
    ]
    await session.execute(insert(table).values(rows).on_conflict_do_nothing())
    found = await session.execute(
        select(col(User.id))
        .where(col(User.email).like(f"resident__@{DEMO_DOMAIN}"))
        .order_by(col(User.email))
    )
    return list(found.scalars())


FIRST_NAMES = [
    "Mari",
    "Jaan",
    "Kadri",
    "Toomas",
    "Liis",
    "Andres",
    "Olga",
    "Sergei",
    "Kersti",
    "Mart",
]
LAST_NAMES = ["Tamm", "Saar", "Sepp", "Mägi", "Kask", "Ivanova", "Rebane", "Ilves", "Kukk", "Lepik"]


def rng_name(number: int) -> str:
    return f"{FIRST_NAMES[number % 10]} {LAST_NAMES[(number // 10 + number) % 10]}"
