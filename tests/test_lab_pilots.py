"""Running a pilot: creating one (only for an idea decided `pilot`; bad input is a problem
document, never a 500), its life cycle as a transition table (illegal moves are 409), what
may change after the first draw, custom quotas, and diaries: an entry a day over the task's
period."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.models import Role
from service.config import Settings
from service.ideas.models import Idea
from service.lab.models import Participation
from tests.factories import bearer, make_user
from tests.idea_factories import idea_body, make_area, propose
from tests.lab_factories import lab_manager, make_panel, pilot_body, running_pilot, texts


async def test_a_pilot_of_an_idea_needs_the_committees_pilot_decision(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = bearer(settings, await make_user(session, settings, roles=((Role.admin, None),)))
    area = await make_area(client, session, settings, admin, f"lab-{uuid.uuid4().hex[:6]}")
    author = bearer(settings, await make_user(session, settings))
    idea = await propose(client, author, idea_body(area.id, "Heat meters read by phone app"))
    _, manager = await lab_manager(session, settings)
    refused = await client.post(
        "/v1/lab/pilots", json=pilot_body(idea_id=idea["id"]), headers=manager
    )
    assert refused.status_code == 422 and refused.json()["field"] == "idea_id"
    await session.execute(
        update(Idea)
        .where(col(Idea.id) == uuid.UUID(idea["id"]))
        .values(state="decided", decision="pilot")
    )
    created = await client.post(
        "/v1/lab/pilots", json=pilot_body(idea_id=idea["id"]), headers=manager
    )
    assert created.status_code == 201, created.text
    assert created.json()["idea_id"] == idea["id"] and created.json()["state"] == "draft"
    taken = await client.post(
        "/v1/lab/pilots", json=pilot_body(code=created.json()["code"]), headers=manager
    )
    assert taken.status_code == 409
    for wrong in (
        {"ends_on": "2020-01-01"},
        {"target_size": 0},
        {"dimensions": ["district", "district"]},
        {"dimensions": ["shoe_size"]},
        {"allocation": "custom"},
        {"district_ids": [str(uuid.uuid4())]},
    ):
        answer = await client.post("/v1/lab/pilots", json=pilot_body(**wrong), headers=manager)
        assert answer.status_code == 422, (wrong, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")


async def test_the_life_of_a_pilot_and_custom_quotas(
    client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    await make_panel(session, 48, now)
    _, manager = await lab_manager(session, settings)
    body = pilot_body(
        target_size=6,
        dimensions=["age_band"],
        allocation="custom",
        quotas={"18-29": 4, "65+": 2, "30-44": 0},
    )
    pilot = (await client.post("/v1/lab/pilots", json=body, headers=manager)).json()
    url = f"/v1/lab/pilots/{pilot['id']}"
    early = await client.post(f"{url}/transitions", json={"action": "start"}, headers=manager)
    assert early.status_code == 409 and early.json()["reason"] == "illegal_transition"
    drawn = await client.post(f"{url}/draws", json={"seed": 3}, headers=manager)
    assert drawn.status_code == 201
    quotas = {s["stratum"]: s["drawn"] for s in drawn.json()["strata"]}
    assert quotas == {"18-29": 4, "30-44": 0, "45-64": 0, "65+": 2}
    for change in ({"target_size": 10}, {"ends_on": "2099-01-01"}):
        fixed = await client.patch(url, json=change, headers=manager)
        assert fixed.status_code == 409 and fixed.json()["reason"] == "already_drawn"
    renamed = await client.patch(url, json={"title": "Smart meter app, round two"}, headers=manager)
    assert renamed.json()["title"] == "Smart meter app, round two"
    nulled = await client.patch(url, json={"title": None}, headers=manager)
    assert nulled.status_code == 422
    for action, state in (("start", "running"), ("finish", "finished")):
        moved = await client.post(f"{url}/transitions", json={"action": action}, headers=manager)
        assert moved.json()["state"] == state
    statuses = set(
        (
            await session.execute(
                select(col(Participation.status)).where(
                    col(Participation.pilot_id) == uuid.UUID(pilot["id"])
                )
            )
        ).scalars()
    )
    assert statuses == {"expired"}  # nobody answered the invitations before it finished
    closed = await client.post(f"{url}/draws", json={}, headers=manager)
    assert closed.status_code == 409
    cancel = await client.post(f"{url}/transitions", json={"action": "cancel"}, headers=manager)
    assert cancel.status_code == 409
    unknown = await client.post(f"{url}/transitions", json={"action": "explode"}, headers=manager)
    assert unknown.status_code == 422


async def test_a_diary_takes_an_entry_a_day(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    tester = await make_user(session, settings)
    running = await running_pilot(app, client, session, settings, [tester], now)
    diary = await client.post(
        f"/v1/lab/pilots/{running.pilot_id}/tasks",
        json={
            "kind": "diary",
            "title": texts("How did the app do today?"),
            "opens_at": (now - timedelta(days=3)).isoformat(),
            "due_at": (now + timedelta(days=10)).isoformat(),
            "questions": [{"kind": "likert", "text": texts("It helped me today")}],
        },
        headers=running.manager,
    )
    assert diary.status_code == 201, diary.text
    question = diary.json()["questions"][0]["id"]
    _, headers = running.testers[tester.id]
    url = f"/v1/me/lab/tasks/{diary.json()['id']}/responses"
    answer = {"answers": [{"question_id": question, "value": 3}]}
    today = await client.post(url, json=answer, headers=headers)
    assert today.status_code == 201 and today.json()["entry_on"] is not None
    again = await client.post(url, json=answer, headers=headers)
    assert again.status_code == 409
    yesterday = (now - timedelta(days=1)).date().isoformat()
    earlier = await client.post(url, json={**answer, "entry_on": yesterday}, headers=headers)
    assert earlier.status_code == 201, earlier.text
    ahead = (now + timedelta(days=2)).date().isoformat()
    future = await client.post(url, json={**answer, "entry_on": ahead}, headers=headers)
    assert future.status_code == 422
    survey = await client.post(
        f"/v1/me/lab/tasks/{running.task_id}/responses",
        json={"answers": [], "entry_on": yesterday},
        headers=headers,
    )
    assert survey.status_code == 422
    detail = await client.get(
        f"/v1/me/lab/participations/{running.testers[tester.id][0]}", headers=headers
    )
    (entries,) = [t for t in detail.json()["tasks"] if t["kind"] == "diary"]
    assert entries["entries"] == 2 and entries["answered"] is True
