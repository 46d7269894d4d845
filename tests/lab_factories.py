"""Living lab test data: a panel written in bulk, pilots, and a running pilot with a survey
that testers answered."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import Role, User
from service.city.models import District
from service.config import Settings
from service.db import table_of
from service.lab import consent
from service.lab.models import AgeBand, PanelMember, Participation
from tests.factories import bearer, make_user

AGE_BANDS = list(AgeBand)


def texts(english: str) -> dict[str, str]:
    return {"et": f"{english} (et)", "en": english, "ru": f"{english} (ru)"}


async def district_ids(session: AsyncSession) -> dict[str, uuid.UUID]:
    rows = await session.execute(select(col(District.code), col(District.id)))
    return dict(rows.all())


async def make_panel(session: AsyncSession, count: int, now: datetime) -> list[uuid.UUID]:
    """``count`` verified panellists, spread over every district and the four age bands
    (person ``i``: district ``i mod districts``, age band ``i // districts mod 4``)."""
    districts = sorted((await district_ids(session)).items())
    tag = uuid.uuid4().hex[:6]
    users = [
        {
            "id": uuid.uuid4(),
            "email": f"panel{number}-{tag}@example.org",
            "display_name": f"Panellist Number{number}",
            "language": "et",
            "password_hash": "!",
            "email_verified_at": now,
        }
        for number in range(count)
    ]
    await session.execute(insert(table_of(User)).values(users))
    members = [
        {
            "user_id": user["id"],
            "consent_version": consent.CURRENT_VERSION,
            "consented_at": now,
            "joined_at": now,
            "updated_at": now,
            "age_band": AGE_BANDS[(number // len(districts)) % len(AGE_BANDS)],
            "household_size": number % 5 + 1,
            "devices": ["smartphone"] if number % 3 else ["computer"],
            "district_id": districts[number % len(districts)][1],
        }
        for number, user in enumerate(users)
    ]
    await session.execute(insert(table_of(PanelMember)).values(members))
    return [uuid.UUID(str(u["id"])) for u in users]


async def lab_manager(session: AsyncSession, settings: Settings) -> tuple[User, dict[str, str]]:
    user = await make_user(session, settings, roles=((Role.lab_manager, None),), name="Lea Labor")
    return user, bearer(settings, user)


def pilot_body(code: str | None = None, **changes: Any) -> dict[str, Any]:
    today = date.today()
    body: dict[str, Any] = {
        "code": code or f"pilot-{uuid.uuid4().hex[:8]}",
        "title": "Smart meter app",
        "description": "Try the app that reads your heat meter.",
        "organisation": "Targad Arvestid OÜ",
        "organisation_kind": "company",
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=30)).isoformat(),
        "target_size": 40,
        "dimensions": ["district", "age_band"],
    }
    body.update(changes)
    return body


async def drawn(session: AsyncSession, pilot_id: str | uuid.UUID) -> dict[uuid.UUID, str]:
    """Who the pilot's draws invited, with their strata."""
    rows = await session.execute(
        select(col(Participation.user_id), col(Participation.stratum)).where(
            col(Participation.pilot_id) == uuid.UUID(str(pilot_id))
        )
    )
    return {user_id: stratum for user_id, stratum in rows.all() if user_id is not None}


SURVEY_QUESTIONS: list[dict[str, Any]] = [
    {"kind": "likert", "text": texts("The app was easy to use")},
    {
        "kind": "single",
        "text": texts("Would you keep using it?"),
        "options": [
            {"code": "yes", "text": texts("Yes")},
            {"code": "no", "text": texts("No")},
        ],
    },
    {"kind": "number", "text": texts("Minutes a week"), "min_value": 0, "max_value": 600},
    {"kind": "text", "text": texts("Anything else?"), "required": False},
]


@dataclass
class RunningPilot:
    pilot_id: str
    task_id: str
    questions: list[str]
    manager: dict[str, str]
    # user id → (participation id, their headers), for testers who accepted.
    testers: dict[uuid.UUID, tuple[str, dict[str, str]]]


async def running_pilot(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    testers: list[User],
    now: datetime,
    *,
    dimensions: list[str] | None = None,
) -> RunningPilot:
    """A pilot that drew exactly ``testers`` (they must be the whole panel), all of whom
    accepted, running, with an open survey."""
    for user in testers:
        session.add(
            PanelMember(
                user_id=user.id,
                consent_version=consent.CURRENT_VERSION,
                consented_at=now,
                joined_at=now,
                updated_at=now,
            )
        )
    await session.flush()
    _, manager = await lab_manager(session, settings)
    body = pilot_body(target_size=len(testers), dimensions=dimensions or [])
    created = await client.post("/v1/lab/pilots", json=body, headers=manager)
    assert created.status_code == 201, created.text
    pilot_id = created.json()["id"]
    draw = await client.post(f"/v1/lab/pilots/{pilot_id}/draws", json={"seed": 7}, headers=manager)
    assert draw.status_code == 201, draw.text
    task = await client.post(
        f"/v1/lab/pilots/{pilot_id}/tasks",
        json={
            "kind": "survey",
            "title": texts("First impressions"),
            "opens_at": (now - timedelta(hours=1)).isoformat(),
            "due_at": (now + timedelta(days=7)).isoformat(),
            "questions": SURVEY_QUESTIONS,
        },
        headers=manager,
    )
    assert task.status_code == 201, task.text
    accepted: dict[uuid.UUID, tuple[str, dict[str, str]]] = {}
    for user in testers:
        participation = await session.scalar(
            select(col(Participation.id)).where(
                col(Participation.pilot_id) == uuid.UUID(pilot_id),
                col(Participation.user_id) == user.id,
            )
        )
        assert participation is not None
        headers = bearer(settings, user)
        answer = await client.post(
            f"/v1/me/lab/participations/{participation}/accept", headers=headers
        )
        assert answer.status_code == 200, answer.text
        accepted[user.id] = (str(participation), headers)
    started = await client.post(
        f"/v1/lab/pilots/{pilot_id}/transitions", json={"action": "start"}, headers=manager
    )
    assert started.status_code == 200, started.text
    return RunningPilot(
        pilot_id=pilot_id,
        task_id=task.json()["id"],
        questions=[q["id"] for q in task.json()["questions"]],
        manager=manager,
        testers=accepted,
    )


async def set_stratum(
    session: AsyncSession, pilot_id: str, user_id: uuid.UUID, stratum: str
) -> None:
    await session.execute(
        update(Participation)
        .where(
            col(Participation.pilot_id) == uuid.UUID(pilot_id),
            col(Participation.user_id) == user_id,
        )
        .values(stratum=stratum)
    )
