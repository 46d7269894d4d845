"""Test data for training programmes, made through the HTTP API as a coordinator would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role, RoleGrant, User
from service.city.models import Building
from service.config import Settings
from tests.factories import bearer, make_user


class Clock:
    """The app's clock (``app.state.clock``), moved by the test."""

    def __init__(self, app: FastAPI, now: datetime) -> None:
        self.now = now
        app.state.clock = lambda: self.now

    def set(self, now: datetime) -> None:
        self.now = now


async def coordinator(session: AsyncSession, settings: Settings) -> tuple[User, dict[str, str]]:
    user = await make_user(session, settings, roles=((Role.coordinator, None),), name="Tiit Kask")
    return user, bearer(settings, user)


async def pilot_buildings(session: AsyncSession, count: int) -> list[uuid.UUID]:
    rows = await session.execute(
        select(Building.id).where(Building.is_pilot_area).order_by(Building.address).limit(count)
    )
    return list(rows.scalars())


async def outside_building(session: AsyncSession) -> uuid.UUID:
    found: uuid.UUID | None = await session.scalar(
        select(Building.id).where(~Building.is_pilot_area).order_by(Building.address).limit(1)
    )
    assert found is not None
    return found


async def create_programme(
    client: AsyncClient,
    headers: dict[str, str],
    building_ids: list[uuid.UUID],
    **changes: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": f"test-{uuid.uuid4().hex[:10]}",
        "title": "Smart House Training Program",
        "pilot_building_ids": [str(b) for b in building_ids],
        "min_sessions": 1,
    }
    body.update(changes)
    response = await client.post("/v1/training/programmes", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def add_session(
    client: AsyncClient,
    headers: dict[str, str],
    programme_id: str,
    starts_at: datetime,
    *,
    minutes: int = 90,
    topic: str = "Home expenses and living in a smart apartment",
    **changes: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "topic": topic,
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(minutes=minutes)).isoformat(),
        "venue": "Annelinna raamatukogu",
    }
    body.update(changes)
    response = await client.post(
        f"/v1/training/programmes/{programme_id}/sessions", json=body, headers=headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def open_programme(
    client: AsyncClient,
    headers: dict[str, str],
    building_ids: list[uuid.UUID],
    starts_at: datetime,
    *,
    sessions: int = 1,
    start: bool = True,
    **changes: Any,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A published (and started) programme with ``sessions`` weekly sessions."""
    programme = await create_programme(client, headers, building_ids, **changes)
    made = [
        await add_session(client, headers, programme["id"], starts_at + timedelta(days=7 * i))
        for i in range(sessions)
    ]
    for action in ("publish", "start") if start else ("publish",):
        response = await client.post(
            f"/v1/training/programmes/{programme['id']}/{action}", headers=headers
        )
        assert response.status_code == 200, response.text
    return programme, made


async def checkin_code(client: AsyncClient, headers: dict[str, str], session_id: str) -> str:
    response = await client.get(f"/v1/training/sessions/{session_id}/attendance", headers=headers)
    assert response.status_code == 200, response.text
    code: str = response.json()["checkin_code"]
    return code


async def make_ambassador(
    session: AsyncSession, settings: Settings, building_id: uuid.UUID, **kwargs: Any
) -> User:
    """A resident holding the ambassador role for ``building_id`` (as an award grants)."""
    user = await make_user(session, settings, **kwargs)
    session.add(RoleGrant(user_id=user.id, role=Role.ambassador, building_id=building_id))
    await session.flush()
    return user


SPRING_2019 = datetime(2019, 4, 8, 14, 30, tzinfo=UTC)  # 17:30 in Tartu


async def awarded_programme(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    participants: list[tuple[User, uuid.UUID]],
    **changes: Any,
) -> tuple[dict[str, Any], dict[str, str], list[dict[str, Any]]]:
    """A one-session programme everyone in ``participants`` (person, building) attended and
    was awarded by: the programme, its coordinator's headers and the awards."""
    clock = Clock(app, SPRING_2019 - timedelta(days=7))
    _, headers = await coordinator(session, settings)
    buildings = sorted({building for _, building in participants})
    programme, (training,) = await open_programme(
        client, headers, buildings, SPRING_2019, **changes
    )
    for person, building in participants:
        response = await client.post(
            f"/v1/training/programmes/{programme['id']}/enrolments",
            json={"building_id": str(building)},
            headers=bearer(settings, person),
        )
        assert response.status_code == 201, response.text
    clock.set(SPRING_2019 + timedelta(hours=2))
    roster = await client.put(
        f"/v1/training/sessions/{training['id']}/attendance",
        json={"user_ids": [str(person.id) for person, _ in participants]},
        headers=headers,
    )
    assert roster.status_code == 200, roster.text
    awarded = await client.post(
        f"/v1/training/programmes/{programme['id']}/awards", headers=headers
    )
    assert awarded.status_code == 200, awarded.text
    awards: list[dict[str, Any]] = awarded.json()["awarded"]
    assert len(awards) == len(participants)
    clock.set(datetime.now(UTC))
    app.state.clock = lambda: datetime.now(UTC)
    return programme, headers, awards
