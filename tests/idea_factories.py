"""Test data of the idea bank: departments with a supervisor (the committee), an area made
through the admin API, its expert pool, and idea bodies that pass the default checks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role, User
from service.config import Settings
from tests.factories import KESKLINN, bearer, make_department, make_user

TEXT = "Residents of the block have asked for this for years, in writing and at meetings."


@dataclass
class Area:
    id: str
    department_id: uuid.UUID
    supervisor: User
    experts: list[User] = field(default_factory=list)


async def admin(session: AsyncSession, settings: Settings) -> dict[str, str]:
    user = await make_user(session, settings, roles=((Role.admin, None),), name="Anne Admin")
    return bearer(settings, user)


async def office(session: AsyncSession, settings: Settings) -> tuple[User, dict[str, str]]:
    user = await make_user(session, settings, roles=((Role.idea_office, None),), name="Olev Office")
    return user, bearer(settings, user)


async def make_area(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    admin_headers: dict[str, str],
    code: str,
    *,
    experts: int = 0,
    organisations: dict[int, str] | None = None,
    **changes: Any,
) -> Area:
    """An area of a new department, with its supervisor and ``experts`` pool members."""
    department = await make_department(session)
    supervisor = await make_user(
        session,
        settings,
        roles=((Role.supervisor, department.id),),
        name=f"Supervisor {code}",
    )
    response = await client.post(
        "/v1/idea-areas",
        json={
            "code": code,
            "name": code.title(),
            "department_id": str(department.id),
            **changes,
        },
        headers=admin_headers,
    )
    assert response.status_code == 201, response.text
    area = Area(response.json()["id"], department.id, supervisor)
    for number in range(experts):
        expert = await make_user(
            session,
            settings,
            email=f"expert-{code}-{number}-{uuid.uuid4().hex[:6]}@example.org",
            name=f"Expert {code.title()} Number{number}",
        )
        await add_expert(client, admin_headers, area.id, expert, (organisations or {}).get(number))
        area.experts.append(expert)
    return area


async def add_expert(
    client: AsyncClient,
    admin_headers: dict[str, str],
    area_id: str,
    user: User,
    organisation: str | None = None,
) -> None:
    response = await client.post(
        f"/v1/idea-areas/{area_id}/experts",
        json={"user_id": str(user.id), "organisation": organisation},
        headers=admin_headers,
    )
    assert response.status_code == 200, response.text


def idea_body(area_id: str, title: str, **changes: Any) -> dict[str, Any]:
    """An idea that passes the default checks (given a title of 20+ characters)."""
    return {
        "area_id": area_id,
        "title": title,
        "summary": f"{title}; {title}",
        "problem": TEXT,
        "solution": "Build it in the next season, with the residents' association.",
        "benefit": "Safer and pleasanter streets for everyone who lives nearby.",
        "cost_band": "10k_50k",
        "location": {"lat": KESKLINN[0], "lon": KESKLINN[1]},
        "tags": ["Street", "safety"],
        **changes,
    }


async def propose(
    client: AsyncClient, headers: dict[str, str], body: dict[str, Any], *, submit: bool = True
) -> dict[str, Any]:
    created = await client.post("/v1/ideas", json=body, headers=headers)
    assert created.status_code == 201, created.text
    if not submit:
        return dict(created.json())
    submitted = await client.post(f"/v1/ideas/{created.json()['id']}/submit", headers=headers)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["state"] == "submitted"
    return dict(submitted.json())
